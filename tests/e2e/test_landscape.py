"""The network scene in the main page, in headless Chromium: pick it in the surface list,
change the widths and see the landscape and the paths redrawn in the main contour and
3-D views (axes named by the plane), the strip under them, and the share link reopening
the same picture in a second browser; bad widths are a message by the box."""

from __future__ import annotations

import time

import pytest
from selenium import webdriver

from tests.conftest import pytest_setup_options
from tests.e2e.browser import js, set_props, type_into, until, wait
from viz.scene import landscape as L
from viz.ui import ids

pytestmark = pytest.mark.e2e

GRAPH = "document.querySelector('#{} .js-plotly-plot')"
# What the main views show: the contour background's grid and axis titles, the 3-D
# scene's axis titles, the overlay's trails (the animation's data) and the strip's state.
PICTURE = f"""
const c = {GRAPH.format(ids.CONTOUR)}, s = {GRAPH.format(ids.SURFACE3D)};
const top = {GRAPH.format(ids.CONTOUR_TOP)}, strip = document.getElementById('{ids.NET_STRIP_BOX}');
if (!c || !c.data || !s || !s.data || !top || !top.data) return null;
const k = c.data.find(t => t.type === 'contour');
if (!k) return null;
const b = {GRAPH.format(ids.NET_BOUNDARIES)};
return {{
  x_title: c.layout.xaxis.title.text,
  y_title: c.layout.yaxis.title.text,
  x3d: s.layout.scene.xaxis.title.text,
  z: Array.from(k.z, r => Array.from(r)).slice(0, 3),
  trails: top.data.filter(t => t.meta && t.meta.role === 'trail')
                  .map(t => [t.name, Array.from(t.x), Array.from(t.y)]),
  note: document.getElementById('{ids.NETWORK_NOTE}').innerText,
  strip: !!strip && strip.style.display !== 'none',
  boundaries: b && b.layout.meta ? b.layout.meta.traces.length : 0,
}};
"""


def picture(driver):
    return driver.execute_script(PICTURE)


def weights(widths) -> str:
    return f"{L.LandscapeSpec(widths=widths).model.size:,} weights"


@pytest.fixture
def window_size():
    return (1280, 1000)


@pytest.fixture
def duo(app_page):
    app_page.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=30)
    return app_page


def test_network_scene_in_the_main_views_widths_redraw_and_the_link_reopens_it(duo):
    d1 = duo.driver
    set_props(duo, ids.SURFACE, {"value": "network"})  # picked by hand: its preset applies
    first = until(
        lambda: (p := picture(d1)) and weights((2, 16, 16, 1)) in p["note"] and p["trails"] and p
    )
    assert first["x_title"].startswith("PC1 (") and first["y_title"].startswith("PC2 (")
    assert first["x3d"] == first["x_title"]
    labels = ["SGD", "Momentum", "NAG", "Adagrad", "RMSprop", "Adam"]
    assert [t[0] for t in first["trails"]] == labels
    until(lambda: (p := picture(d1)) and p["strip"] and p["boundaries"] == 6)
    # the 2-D analysis panels say at once that they are not for this scene
    for btn in (ids.MAP_BTN, ids.SWEEP_BTN, "tune-btn", "phase-btn"):
        wait(duo, f"document.getElementById('{btn}').disabled === true")
    said = js(duo, f"return document.getElementById('{ids.MAP_MSG}').textContent")
    assert said.startswith("The network scene trains every weight")
    # the boxes are shown in place of the f(x, y) box, and the list kept "Network"
    assert js(duo, f"return document.getElementById('{ids.NETWORK_BOX}').style.display") == ""
    assert js(duo, f"return document.getElementById('{ids.EXPRESSION_BOX}').style.display") == (
        "none"
    )

    # Bad widths: a message by the box, the picture stays.
    type_into(duo, ids.NETWORK_WIDTHS, "2,0,1", enter=True)
    msg = wait(duo, f"document.getElementById('{ids.NETWORK_MSG}').innerText")
    assert "from 1" in msg
    kept = picture(d1)
    assert kept["z"] == first["z"] and [t[0] for t in kept["trails"]] == labels

    # New widths: the landscape and the paths are redrawn in the main views.
    type_into(duo, ids.NETWORK_WIDTHS, "2,8,8,1", enter=True)
    second = until(
        lambda: (
            (p := picture(d1))
            and weights((2, 8, 8, 1)) in p["note"]
            and [t[1] for t in p["trails"]] != [t[1] for t in first["trails"]]
            and p
        )
    )
    assert second["z"] != first["z"]
    assert wait(duo, f"document.getElementById('{ids.NETWORK_MSG}').innerText === ''")

    time.sleep(1.0)  # the link follows the last change
    shown = picture(d1)
    link = d1.find_element("id", ids.SHARE_LINK).get_attribute("value")
    assert link.startswith(duo.server_url) and "#v2=" in link

    # A second, fresh browser opens the link: the same network, the same picture.
    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.set_window_size(1280, 1000)
        d2.get(link)
        try:
            # the note comes with the landscape, the trails with the overlay just after it
            got = until(
                lambda: (
                    (p := picture(d2))
                    and weights((2, 8, 8, 1)) in p["note"]
                    and len(p["trails"]) == len(labels)
                    and p
                )
            )
        except AssertionError:
            d2.save_screenshot("/tmp/optviz-network-second-failed.png")
            raise
        assert got["z"] == shown["z"]
        assert (got["x_title"], got["y_title"]) == (shown["x_title"], shown["y_title"])
        assert [t[:2] for t in got["trails"]] == [t[:2] for t in shown["trails"]]
        assert d2.find_element("id", ids.NETWORK_WIDTHS).get_attribute("value") == "2,8,8,1"
        assert d2.find_element("id", ids.SHARE_MSG).text == ""
    finally:
        d2.quit()
