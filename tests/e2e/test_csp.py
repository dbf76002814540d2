"""Issue 15 item 8 in real Chromium: the page works under its Content-Security-Policy.

The policy allows only this server's scripts and the page's own inline scripts (by hash),
no 'unsafe-eval'. Loaded in the browser, the default scene must draw (contour, 3-D
surface, every run, the MathJax formulas) with no CSP violation reported, while a script
injected into the page is refused: the policy is really in force.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.e2e.browser import js, wait
from viz.scene import get_preset
from viz.ui import ids

pytestmark = pytest.mark.e2e

LOAD = 120.0  # seconds: the machine is shared and often busy
GRAPH = "document.querySelector('#{} .js-plotly-plot')"

# Installed before any script of the page runs: every CSP violation the page reports.
_RECORD = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push([e.violatedDirective, e.blockedURI, (e.sample || '').slice(0, 80)]);
});
"""


@pytest.fixture
def page(app_page):
    # (the script stays with this test's tab: the next test gets a new one)
    app_page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD})
    app_page.driver.get(app_page.server_url)  # again, now with the recorder in place
    return app_page


def test_the_default_scene_draws_under_the_policy_without_violations(page):
    with urllib.request.urlopen(page.server_url, timeout=30) as r:
        policy = r.headers["Content-Security-Policy"]
    assert policy and "'unsafe-eval'" not in policy and "frame-ancestors 'self'" in policy

    n = len(get_preset("radford-beale").runs)  # the page opens on Radford's Beale
    wait(page, f"!!{GRAPH.format(ids.CONTOUR_TOP)}", LOAD)
    wait(page, f"window.dash_clientside.optviz.state.runs.length === {n}", LOAD)
    wait(page, f"!!({GRAPH.format(ids.SURFACE3D)} && {GRAPH.format(ids.SURFACE3D)}._fullLayout)")
    # Plotly drew: the contour's SVG has its lines, the 3-D scene its WebGL canvas.
    assert js(page, f"return {GRAPH.format(ids.CONTOUR_TOP)}.querySelectorAll('path').length")
    assert js(page, f"return {GRAPH.format(ids.SURFACE3D)}.querySelectorAll('canvas').length")
    # MathJax typeset the update rules (dcc.Markdown mathjax=True)
    wait(page, "document.querySelectorAll('mjx-container').length > 0", LOAD)

    assert js(page, "return window.__csp") == []
    severe = [e for e in page.get_logs() or [] if "Content Security Policy" in e["message"]]
    assert severe == []


def test_the_policy_refuses_a_script_injected_into_the_page(page):
    wait(page, f"!!{GRAPH.format(ids.CONTOUR_TOP)}", LOAD)
    ran = js(
        page,
        """
        var s = document.createElement('script');
        s.textContent = 'window.__injected = 1;';
        document.body.appendChild(s);
        return window.__injected === 1;
        """,
    )
    # (eval is not tried here: WebDriver's own scripts run outside the page's policy)
    assert ran is False
    wait(page, "window.__csp.length >= 1", 10)
    directives = {v[0] for v in js(page, "return window.__csp")}
    assert directives <= {"script-src-elem", "script-src"}, directives
