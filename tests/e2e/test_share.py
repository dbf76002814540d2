"""Share links in headless Chromium: a link opened in a second browser shows the same picture."""

from __future__ import annotations

import json
import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import pytest_setup_options
from tests.e2e.browser import until
from viz.ui import ids, share

pytestmark = pytest.mark.e2e

CONTOUR = f"document.querySelector('#{ids.CONTOUR} .js-plotly-plot')"
SURF = f"document.querySelector('#{ids.SURFACE3D} .js-plotly-plot')"
PICTURE = f"""
const S = window.dash_clientside.optviz.state, g = {CONTOUR}, s = {SURF};
if (!S || !S.runs || !g || !g._fullData || !s || !s._fullLayout) return null;
const c = g._fullData.find(t => t.type === 'contour');
if (!c) return null;
return {{
  runs: S.runs.map(r => [r.key, Array.from(r.x), Array.from(r.y)]),
  contour: [Array.from(c.x), Array.from(c.y), Array.from(c.z, r => Array.from(r))],
  camera: s._fullLayout.scene.camera,
}};
"""


def wait(driver, script, timeout=120.0):
    end = time.monotonic() + timeout
    value = None
    while time.monotonic() < end:
        value = driver.execute_script(script if "return" in script else f"return ({script});")
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for: {script[:200]} (last value {value!r})")


def css_id(id_):
    sel = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True, separators=(",", ":"))
    return f"[id='{sel}']"


def type_into(driver, id_, text):
    el = driver.find_element(By.CSS_SELECTOR, css_id(id_))
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(text, Keys.ENTER)


def set_props(driver, id_, props):
    driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], arguments[1]);", id_, props
    )


def link_of(driver):
    return driver.find_element(By.CSS_SELECTOR, css_id(ids.SHARE_LINK)).get_attribute("value")


def scene_of(link):
    """The Scene a link holds (None before the page has written one)."""
    got, msg = share.read("#" + link.split("#", 1)[1]) if link and "#" in link else (None, "")
    assert not msg
    return got


def run_of(scene, rule):
    return next((r for r in scene.runs if r.optimizer == rule), None)


def test_share_link_round_trip_in_a_second_browser(app_page):
    d1 = app_page.driver
    wait(d1, "window.dash_clientside.optviz.state.runs.length > 0")

    set_props(d1, ids.OPTIMIZERS, {"value": ["sgd", "adam"]})
    wait(d1, "window.dash_clientside.optviz.state.runs.map(r => r.key).join() === 'sgd,adam'")
    type_into(d1, ids.EXPRESSION, "x**2 + 3*y**2 + sin(3*x)")
    type_into(d1, ids.STEPS, "150")
    type_into(d1, ids.START_X, "1.5")
    type_into(d1, ids.START_Y, "-1.25")
    set_props(d1, ids.sched("sgd"), {"value": "step"})
    wait(d1, f"document.querySelector({json.dumps(css_id(ids.sched_param('sgd', 'every')))})")
    type_into(d1, ids.sched_param("sgd", "every"), "30")
    # One change at a time, each seen in the link, as a user sees the picture update.
    until(lambda: (sc := scene_of(link_of(d1))) and run_of(sc, "sgd").schedule)
    type_into(d1, ids.noise("adam"), "0.05")
    until(lambda: (sc := scene_of(link_of(d1))) and run_of(sc, "adam").noise)
    type_into(d1, ids.noise_seed("adam"), "7")
    type_into(d1, ids.TOLERANCE, "0.01")
    cam = {"eye": {"x": 1.7, "y": -0.9, "z": 0.8}, "up": {"x": 0, "y": 0, "z": 1}}
    d1.execute_script(f"Plotly.relayout({SURF}, {{'scene.camera': arguments[0]}});", cam)

    def complete():
        sc = scene_of(link_of(d1))
        return (
            sc
            and sc.surface_name == "custom"
            and [r.optimizer for r in sc.runs] == ["sgd", "adam"]
            and sc.steps == 150
            and sc.start == (1.5, -1.25)
            and (run_of(sc, "sgd").schedule or ("", {}))[1].get("every") == 30
            and (run_of(sc, "adam").noise, run_of(sc, "adam").seed) == (0.05, 7)
            and sc.tolerance == 0.01
            and abs(sc.style.camera["eye"]["x"] - 1.7) < 1e-6
            and sc
        )

    try:
        until(complete)
    except AssertionError:
        d1.save_screenshot("/tmp/optviz-share-first.png")
        raise AssertionError(f"link never complete: {scene_of(link_of(d1))}") from None
    link = link_of(d1)
    assert link.startswith(app_page.server_url) and "#v2=" in link
    assert d1.current_url.endswith(link.split("#", 1)[1])  # the address bar holds it too
    first = wait(d1, PICTURE)
    assert len(first["runs"][0][1]) == 151  # 150 steps of SGD + the start
    assert first["runs"][0][1][0] == 1.5 and first["runs"][0][2][0] == -1.25

    # A second, fresh browser (its own profile) opens the copied link on the same server.
    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.get(link)
        wait(d2, "window.dash_clientside.optviz.state.runs.map(r => r.key).join() === 'sgd,adam'")
        wait(d2, "window.dash_clientside.optviz.state.runs[0].x.length === 151")
        try:
            second = until(
                lambda: (p := d2.execute_script(PICTURE)) and p["runs"] == first["runs"] and p
            )
        except AssertionError:
            d2.save_screenshot("/tmp/optviz-share-second-failed.png")
            p = d2.execute_script(PICTURE) or {"runs": []}
            diff = [
                (a[0], b[0], len(a[1]), len(b[1]), a[1][:3], b[1][:3])
                for a, b in zip(first["runs"], p["runs"], strict=False)
            ]
            raise AssertionError(f"second browser differs: {diff}; link {scene_of(link)}") from None
        assert second["runs"] == first["runs"]  # trajectories, schedule and noise included
        assert second["contour"] == first["contour"]  # the same f(x, y) on the same window
        for k in "xyz":
            assert second["camera"]["eye"][k] == pytest.approx(cam["eye"][k], abs=1e-9)
        expr = d2.find_element(By.CSS_SELECTOR, css_id(ids.EXPRESSION)).get_attribute("value")
        assert expr == "x**2 + 3*y**2 + sin(3*x)"
        d2.save_screenshot("/tmp/optviz-share-second.png")
    finally:
        d2.quit()


def test_malformed_link_gives_message_and_default_scene(app_page):
    d = app_page.driver
    d.get(app_page.server_url + "/#v1=%%%not-base64%%%")
    wait(d, "window.dash_clientside.optviz.state.runs.length > 0")
    msg = wait(d, f"document.getElementById('{ids.SHARE_MSG}').innerText")
    assert "could not be read" in msg and "scene on the page is kept" in msg
    assert d.find_element(By.CSS_SELECTOR, css_id(ids.SURFACE)).text.strip() != ""
    keys = d.execute_script("return window.dash_clientside.optviz.state.runs.map(r => r.key);")
    from viz.ui import layout

    assert keys == layout.initial()["selected"]  # the default scene


def test_share_link_carries_the_mini_batch_size(app_page):
    """Radford's noisy moons trains on 32 samples a step; a link made with 16 reopens on 16
    (the box says so and the paths are the 16-sample ones), not on the preset's 32."""
    d1 = app_page.driver
    wait(d1, "window.dash_clientside.optviz.state.runs.length > 0")
    set_props(d1, ids.PRESET, {"value": "radford-noisy-moons"})
    until(lambda: (sc := scene_of(link_of(d1))) and sc.name == "radford-noisy-moons" and sc)
    until(lambda: scene_of(link_of(d1)).batch_size == 32)
    preset_runs = wait(d1, PICTURE)["runs"]
    set_props(d1, ids.NET_BATCH, {"value": "16"})
    until(lambda: scene_of(link_of(d1)).batch_size == 16)
    first = until(lambda: (p := d1.execute_script(PICTURE)) and p["runs"] != preset_runs and p)
    link = link_of(d1)

    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.get(link)
        n = len(first["runs"])
        wait(d2, f"window.dash_clientside.optviz.state.runs.length === {n}")
        try:
            second = until(
                lambda: (p := d2.execute_script(PICTURE)) and p["runs"] == first["runs"] and p
            )
        except AssertionError:
            d2.save_screenshot("/tmp/optviz-share-batch-failed.png")
            raise AssertionError(f"second browser differs; its link {link_of(d2)}") from None
        assert second["runs"] != preset_runs  # the 16-sample paths, not the preset's
        time.sleep(1.0)  # nothing applies the preset's 32 afterwards
        assert d2.execute_script(PICTURE)["runs"] == first["runs"]
        assert scene_of(link_of(d2)).batch_size == 16
        d2.find_element(
            By.XPATH, f"//*[@id='{ids.PANEL_TABS}']//*[normalize-space(text())='Network']"
        ).click()
        box = wait(d2, f"document.getElementById('{ids.NET_BATCH}')")
        assert box.get_attribute("value") == "16"
    finally:
        d2.quit()


STEP = f"((document.getElementById('{ids.STEP_LABEL}') || {{}}).innerText || '')"
LEGEND = (
    "Array.from(document.querySelectorAll('#legend .chip:not(.muted)'))"
    ".map(c => [c.querySelector('.chip-label').innerText,"
    " getComputedStyle(c.querySelector('.chip-dot')).backgroundColor])"
)


def seek(driver, k):
    """Move the playback to step k as a user does: the scrub slider."""
    driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = String(arguments[1]);"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
        ids.SCRUB,
        k,
    )


def test_a_link_at_step_57_reopens_at_57_with_radfords_colours_and_labels(app_page):
    d1 = app_page.driver
    wait(d1, "window.dash_clientside.optviz.state.runs.length > 0")
    set_props(d1, ids.PRESET, {"value": "radford-saddle"})
    until(lambda: (sc := scene_of(link_of(d1))) and sc.name == "radford-saddle")
    wait(d1, "window.dash_clientside.optviz.state.runs.length === 6")
    seek(d1, 57)
    until(lambda: link_of(d1).endswith("&k=57"))
    legend = wait(d1, LEGEND)
    assert [a for a, _ in legend] == ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "Rmsprop"]
    assert legend[0][1] == "rgb(255, 0, 0)"  # Radford's red SGD
    link = link_of(d1)
    assert d1.current_url.endswith(link.split("#", 1)[1])

    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.get(link)
        until(lambda: d2.execute_script(f"return {STEP};").startswith("step 57 / 200"))
        assert wait(d2, LEGEND) == legend
        sc = scene_of(link_of(d2))
        assert sc.name == "radford-saddle" and sc.runs[5].label == "Rmsprop"
        assert sc.runs[0].colour == "#ff0000"
        time.sleep(1.0)  # and it stays there
        assert d2.execute_script(f"return {STEP};").startswith("step 57 / 200")
    finally:
        d2.quit()


def test_a_link_pasted_into_an_open_tab_is_applied(app_page):
    from viz.scene import get_preset, link

    d = app_page.driver
    wait(d, "window.dash_clientside.optviz.state.runs.length > 0")
    their = link.scene_to_link(get_preset("lr-too-high"), app_page.server_url + "/")
    d.execute_script("window.location.hash = arguments[0];", their.split("#", 1)[1])
    until(lambda: (sc := scene_of(link_of(d))) and sc.name == "lr-too-high")
    wait(d, "window.dash_clientside.optviz.state.runs.length === 3")
    labels = [a for a, _ in wait(d, LEGEND)]
    assert labels == ["SGD α = 0.02", "SGD α = 0.1", "SGD α = 0.12"]
    # a label with its value in it follows a value typed in the card
    type_into(d, ids.hyper("sgd@1", "lr"), "0.05")
    until(lambda: d.execute_script(f"return {LEGEND};")[0][0] == "SGD α = 0.05")
    title = d.find_element(By.CSS_SELECTOR, css_id(ids.card_title("sgd@1")))
    assert title.text == "SGD α = 0.05"
