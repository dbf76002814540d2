"""The network landscape tab in headless Chromium: compute, change the widths and see the
landscape and paths redrawn, scrub the step, and reopen the share link in a second browser."""

from __future__ import annotations

import json
import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from app import create_app
from tests.conftest import pytest_setup_options
from tests.e2e.browser import free_port, js, set_props, type_into, until, wait
from viz.scene import landscape as L
from viz.ui import ids
from viz.ui.panels import landscape as P

pytestmark = pytest.mark.e2e

GRAPH = "document.querySelector('#{} .js-plotly-plot')"
PICTURE = f"""
const g = {GRAPH.format(P.CONTOUR)}, s = {GRAPH.format(P.SURFACE)};
if (!g || !g.data || !s || !s.data) return null;
const c = g._fullData && g._fullData.find(t => t.type === 'contour');
if (!c) return null;
return {{
  weights: g.layout.meta && g.layout.meta.weights,
  explained: g.layout.meta && g.layout.meta.explained,
  z: Array.from(c.z, r => Array.from(r)),
  trails: g.data.filter(t => t.meta && t.meta.role === 'trail')
               .map(t => [t.meta.rule, Array.from(t.x), Array.from(t.y)]),
  surface: s.data.length,
}};
"""


def picture(driver):
    return driver.execute_script(PICTURE)


def open_tab(driver):
    driver.find_element(
        By.XPATH, f"//*[@id='{ids.PANEL_TABS}']//*[normalize-space(text())='Network landscape']"
    ).click()


def compute(duo):
    duo.driver.find_element(By.ID, P.GO).click()


def weights(widths):
    return L.LandscapeSpec(widths=widths).model.size


@pytest.fixture
def duo(dash_duo):
    dash_duo.driver.set_window_size(1280, 900)
    dash_duo.start_server(create_app(), port=free_port())
    dash_duo.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=30)
    return dash_duo


def test_widths_change_redraws_landscape_and_paths_and_the_link_reopens_it(duo):
    d1 = duo.driver
    open_tab(d1)
    duo.wait_for_element(f"#{P.GO}")
    set_props(duo, P.OPTS, {"value": ["sgd", "adam"]})
    type_into(duo, P.STEPS, "120", enter=True)
    type_into(duo, P.GRID, "25", enter=True)
    compute(duo)
    n16 = weights((2, 16, 16, 1))
    first = until(lambda: (p := picture(d1)) and p["weights"] == n16 and p)
    assert [t[0] for t in first["trails"]] == ["sgd", "adam"]
    assert all(len(t[1]) == 121 for t in first["trails"])  # the whole path at the last step
    assert len(first["z"]) == 25 and len(first["z"][0]) == 25
    assert first["surface"] == 2 + 2 * 2  # surface, θ_ref, trail and dot per rule
    ev = wait(duo, f"document.getElementById('{P.EV}').innerText")
    assert "PC1 explains" in ev and f"{n16:,} weights" in ev
    # the table and the projection check carry one row / three traces per rule
    rows = d1.find_elements(By.CSS_SELECTOR, f"#{P.TABLE} tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["SGD", "Adam"]
    check = js(duo, f"return {GRAPH.format(P.CHECK)}.data.map(t => t.meta.role);")
    assert check == ["true", "plane", "distance"] * 2

    # Change the widths: the landscape and the paths are redrawn for the new network.
    type_into(duo, P.WIDTHS, "2,8,8,1", enter=True)
    compute(duo)
    n8 = weights((2, 8, 8, 1))
    second = until(lambda: (p := picture(d1)) and p["weights"] == n8 and p)
    assert second["z"] != first["z"]
    assert [t[1] for t in second["trails"]] != [t[1] for t in first["trails"]]
    assert f"{n8:,} weights" in js(duo, f"return document.getElementById('{P.EV}').innerText;")

    # The step slider moves the paths (clientside) and the boundaries (server) together.
    set_props(duo, P.STEP, {"value": 30})
    wait(
        duo,
        f"{GRAPH.format(P.CONTOUR)}.data.filter(t => t.meta && t.meta.role === 'trail')"
        ".every(t => t.x.length === 31)",
    )
    wait(duo, f"{GRAPH.format(P.BOUNDARY)}.layout.meta.step === 30")
    set_props(duo, P.STEP, {"value": 120})
    wait(
        duo,
        f"{GRAPH.format(P.CONTOUR)}.data.filter(t => t.meta && t.meta.role === 'trail')"
        ".every(t => t.x.length === 121)",
    )
    shown = picture(d1)
    link = d1.find_element(By.ID, P.LINK).get_attribute("value")
    assert link.startswith(duo.server_url) and "#net1=" in link

    # A second, fresh browser opens the link: the same network, the same picture.
    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.set_window_size(1280, 900)
        d2.get(link)
        try:
            got = until(lambda: (p := picture(d2)) and p["weights"] == n8 and p)
        except AssertionError:
            d2.save_screenshot("/tmp/optviz-landscape-second-failed.png")
            raise
        assert got["z"] == shown["z"]
        assert got["trails"] == shown["trails"]
        assert got["explained"] == shown["explained"]
        assert d2.find_element(By.ID, P.WIDTHS).get_attribute("value") == "2,8,8,1"
        # the link opened the tab itself, and the main scene's reader said nothing
        pane = d2.execute_script(
            "return document.getElementById(arguments[0]).style.visibility;",
            json.dumps(ids.panel_pane("landscape"), sort_keys=True, separators=(",", ":")),
        )
        assert pane != "hidden"
        time.sleep(0.5)
        assert d2.find_element(By.ID, ids.SHARE_MSG).text == ""
    finally:
        d2.quit()


def test_bad_widths_and_a_bad_link_give_a_message_and_keep_the_picture(duo):
    d = duo.driver
    open_tab(d)
    duo.wait_for_element(f"#{P.GO}")
    type_into(duo, P.WIDTHS, "2,100000,1", enter=True)
    compute(duo)
    msg = wait(duo, f"document.getElementById('{P.MSG}').innerText")
    assert "at most 64 units" in msg
    assert picture(d) is None  # nothing drawn
    d.get("about:blank")  # a fresh load of the page with a damaged network link
    d.get(duo.server_url + "/#net1=%%%")
    box = f"document.getElementById('{P.MSG}')"
    msg = wait(duo, f"{box} && {box}.textContent", 60)
    assert "could not be read" in msg and "base64url" in msg
    assert picture(d) is None
