"""The analysis panels in the real app (headless Chromium): convergence map, lr sweep, network."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.browser import js, set_props, type_into, wait
from viz.scene import get_preset
from viz.ui import ids
from viz.ui.panels import network

pytestmark = pytest.mark.e2e

GRAPH = "document.querySelector('#{} .js-plotly-plot')"
SHOTS = os.environ.get("OPTVIZ_SHOTS")  # a directory: save screenshots there


def open_tab(duo, label):
    tab = duo.driver.find_element(
        By.XPATH, f"//*[@id='{ids.PANEL_TABS}']//*[normalize-space(text())='{label}']"
    )
    tab.click()


def shot(duo, name, id_):
    js(duo, "document.getElementById(arguments[0]).scrollIntoView({block: 'center'});", id_)
    time.sleep(0.5)
    if SHOTS:
        duo.driver.save_screenshot(str(Path(SHOTS) / name))


def trail(duo, prop):
    return js(
        duo,
        f"const g = {GRAPH.format(ids.CONTOUR_TOP)};"
        f"return g.data.filter(t => t.meta && t.meta.role === 'trail').map(t => t.{prop});",
    )


@pytest.fixture
def duo(app_page):
    app_page.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=30)
    n = len(get_preset("radford-beale").runs)  # the page opens on Radford's Beale
    wait(app_page, f"window.dash_clientside.optviz.state.runs.length === {n}")
    return app_page


def test_convergence_map_computes_and_a_pixel_click_sets_the_start(duo):
    open_tab(duo, "Convergence map")
    duo.wait_for_element(f"#{ids.MAP_BTN}")
    # bad grid size: a message at the panel, the placeholder figure stays
    type_into(duo, ids.MAP_N, "500")
    duo.find_element(f"#{ids.MAP_BTN}").click()
    duo.wait_for_contains_text(f"#{ids.MAP_MSG}", "between 2 and 200", timeout=30)
    assert js(duo, f"return {GRAPH.format(ids.MAP_GRAPH)}.data.length") == 0

    type_into(duo, ids.MAP_N, "40")
    type_into(duo, ids.MAP_STEPS, "300")
    duo.find_element(f"#{ids.MAP_BTN}").click()
    wait(
        duo,
        f"{GRAPH.format(ids.MAP_GRAPH)}.data.length > 0 && "
        f"{GRAPH.format(ids.MAP_GRAPH)}.data[0].type === 'image'",
    )
    # the map is one PNG picture, one pixel per start, drawn as an <image> in the plot
    size = wait(
        duo,
        f"(() => {{ const im = {GRAPH.format(ids.MAP_GRAPH)}.querySelector('image');"
        " if (!im || !im.getAttribute('href').startsWith('data:image/png')) return null;"
        " const p = new Image(); p.src = im.getAttribute('href');"
        " return p.complete && p.naturalWidth ? [p.naturalWidth, p.naturalHeight] : null; })()",
    )
    assert size == [40, 40]
    assert js(duo, f"return {GRAPH.format(ids.MAP_GRAPH)}.data[0].meta.n") == 40
    assert "between" not in duo.find_element(f"#{ids.MAP_MSG}").text  # the old message went
    assert "40×40 starts" in duo.find_element(f"#{ids.MAP_SUMMARY}").text
    shot(duo, "panel-convergence.png", ids.MAP_GRAPH)
    duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.MAP_COLOUR} input[value='steps']").click()
    wait(duo, f"{GRAPH.format(ids.MAP_GRAPH)}.data[0].name === 'steps'")
    shot(duo, "panel-convergence-steps.png", ids.MAP_GRAPH)
    duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.MAP_COLOUR} input[value='outcome']").click()
    wait(duo, f"{GRAPH.format(ids.MAP_GRAPH)}.data[0].name === 'outcome'")

    # click the centre of pixel (row 30, column 9): its start is (x0 + 9 dx, y0 + 30 dy)
    i, j = 30, 9
    target = js(
        duo,
        f"const g = {GRAPH.format(ids.MAP_GRAPH)}, L = g._fullLayout, h = g._fullData[0];"
        "const r = g.getBoundingClientRect();"
        f"const x = h.x0 + {j} * h.dx, y = h.y0 + {i} * h.dy;"
        "return {x: x, y: y, dx: Math.abs(h.dx), dy: Math.abs(h.dy),"
        " px: r.left + L._size.l + L.xaxis.l2p(x), py: r.top + L._size.t + L.yaxis.l2p(y)};",
    )
    before = trail(duo, "x[0]")
    actions = ActionChains(duo.driver)
    actions.w3c_actions.pointer_action.move_to_location(int(target["px"]), int(target["py"]))
    actions.w3c_actions.pointer_action.click()
    actions.perform()
    # the scene re-runs from the clicked pixel: every trail of the contour overlay starts there
    wait(
        duo,
        f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta && t.meta.role === "
        f"'trail')[0].x[0] !== {before[0]}",
    )
    xs, ys = trail(duo, "x[0]"), trail(duo, "y[0]")
    for x, y in zip(xs, ys, strict=True):
        assert abs(x - target["x"]) <= target["dx"] / 2 + 1e-9
        assert abs(y - target["y"]) <= target["dy"] / 2 + 1e-9
    # and the map's start marker follows (the image is not recomputed)
    wait(duo, f"{GRAPH.format(ids.MAP_GRAPH)}.data.slice(-1)[0].x[0] === {xs[0]}")


def test_lr_sweep_draws_one_curve_per_optimizer_in_its_colour(duo):
    open_tab(duo, "LR sweep")
    duo.wait_for_element(f"#{ids.SWEEP_BTN}")
    type_into(duo, ids.SWEEP_LO, "0.5")
    type_into(duo, ids.SWEEP_HI, "0.1")
    duo.find_element(f"#{ids.SWEEP_BTN}").click()
    duo.wait_for_contains_text(f"#{ids.SWEEP_MSG}", "lowest < highest", timeout=30)

    type_into(duo, ids.SWEEP_LO, "1e-4")
    type_into(duo, ids.SWEEP_HI, "1")
    type_into(duo, ids.SWEEP_COUNT, "16")
    duo.find_element(f"#{ids.SWEEP_BTN}").click()
    curves = f"{GRAPH.format(ids.SWEEP_GRAPH)}.data.filter(t => t.meta && t.meta.role === 'sweep')"
    wait(duo, f"{curves}.length > 0")
    got = js(
        duo,
        f"return {curves.replace('.data', '._fullData')}"
        ".map(t => [t.name, t.line.color, t.x.length]);",
    )
    want = js(
        duo,
        f"return {GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta && t.meta.role === "
        "'trail').map(t => [t.name, t.line.color]);",
    )
    assert [g[:2] for g in got] == want  # one curve per optimizer, its label and colour
    assert all(g[2] == 16 for g in got)
    shot(duo, "panel-sweep.png", ids.SWEEP_GRAPH)


def test_noisy_moons_accuracy_curves_and_a_boundary_that_follows_the_step(duo):
    sc = get_preset("radford-noisy-moons")
    set_props(duo, ids.PRESET, {"value": "radford-noisy-moons"})
    wait(
        duo,
        f"window.dash_clientside.optviz.state.runs.length === {len(sc.runs)} && "
        f"window.dash_clientside.optviz.state.steps === {sc.steps}",
        timeout=60,
    )
    open_tab(duo, "Network")
    # the runs are drawn from the preset list's answer as it arrives, the boxes just after
    wait(duo, f"document.getElementById('{ids.NET_BATCH}').value === '{sc.batch_size}'")
    acc = f"{GRAPH.format(ids.NET_CURVES)}.data.filter(t => t.meta && t.meta.role === 'accuracy')"
    wait(duo, f"{GRAPH.format(ids.NET_CURVES)} && {acc}.length === {len(sc.runs)}", timeout=60)
    ys = js(duo, f"return {acc}.map(t => t.y);")
    assert all(len(y) == sc.steps + 1 for y in ys)
    assert all(0 <= v <= 1 for y in ys for v in y if v is not None)
    b = GRAPH.format(ids.NET_BOUNDARY)
    wait(duo, f"{b} && {b}.layout.meta && {b}.layout.meta.steps.length > 1")
    assert js(duo, f"return {b}.data[0].type") == "contour"
    assert js(duo, f"return {b}._fullData[0].z.length") == js(
        duo, f"return {b}._fullData[0].y.length"
    )
    # the boundary follows the playback: to the end, then back to the start
    duo.find_element(f"#{ids.TO_END}").click()
    wait(duo, f"{b}.layout.annotations[0].text.endsWith('step {sc.steps}')")
    wait(duo, f"{b}.data[0].z === {b}.layout.meta.z[{b}.layout.meta.steps.length - 1]")
    shot(duo, "panel-network.png", ids.NET_BOUNDARY)
    duo.find_element(f"#{ids.TO_START}").click()
    wait(duo, f"{b}.layout.annotations[0].text.endsWith('step 0')")
    # a bad batch size: a message, the runs stay
    runs_before = js(duo, "return window.dash_clientside.optviz.state.runs.length")
    type_into(duo, ids.NET_BATCH, "0")
    duo.find_element(f"#{ids.NET_BATCH}").send_keys(Keys.ENTER)
    duo.wait_for_contains_text(f"#{ids.NET_BATCH_MSG}", "batch size", timeout=30)
    assert js(duo, "return window.dash_clientside.optviz.state.runs.length") == runs_before


def test_the_network_panel_is_sent_runs_only_in_a_network_scene(duo, monkeypatch):
    # Outside a network scene the panel's answer is its placeholder whatever the runs, so a
    # settings change must not upload them to it (a request of ~85 kB per change before).
    calls = []
    real = network.panel

    def counting(state, traj, key):
        calls.append(bool(isinstance(traj, dict) and traj.get("runs")))
        return real(state, traj, key)

    monkeypatch.setattr(network, "panel", counting)  # the callback looks it up per call
    curves = GRAPH.format(ids.NET_CURVES)
    text = f"{curves}.layout.annotations[0].text.replaceAll('<br>', ' ')"
    for value in ("0.0123", "0.0234"):
        js(duo, "window.__was = window.dash_clientside.optviz.state.data;")
        type_into(duo, ids.hyper("sgd", "lr"), value, enter=True)
        wait(duo, "window.dash_clientside.optviz.state.data !== window.__was")
    time.sleep(1.0)  # time for any follow-up request to arrive
    assert calls == []
    assert js(duo, f"return {text}") == network.NOT_NETWORK
    # a network scene: the runs reach the panel, which draws their accuracy
    set_props(duo, ids.PRESET, {"value": "radford-noisy-moons"})
    acc = f"{curves}.data.filter(t => t.meta && t.meta.role === 'accuracy').length"
    wait(duo, f"{curves} && {acc} > 0", timeout=60)
    assert calls and all(calls)
    # leaving it: one call without runs puts the placeholder back
    n = len(calls)
    set_props(duo, ids.PRESET, {"value": "radford-beale"})
    wait(duo, f"{curves}.layout.annotations && {text} === arguments[0]", 60, network.NOT_NETWORK)
    assert calls[n:] == [False]
