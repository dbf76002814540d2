"""The real app in headless Chromium (dash.testing's dash_duo): data and DOM, not frame rates."""

from __future__ import annotations

import json
import math
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.browser import js, set_props, wait
from viz.scene import RADFORD_COLOURS, RADFORD_LABELS, get_preset
from viz.ui import callbacks, ids, layout

pytestmark = pytest.mark.e2e

GRAPH = "document.querySelector('#{} .js-plotly-plot')"


def trail_lengths(duo, graph=ids.CONTOUR_TOP, role="trail"):
    return js(
        duo,
        f"const g = {GRAPH.format(graph)}; if (!g || !g.data) return null;"
        f"return g.data.filter(t => t.meta && t.meta.role === '{role}').map(t => t.x.length);",
    )


def state(duo, key):
    return js(duo, f"return window.dash_clientside.optviz.state.{key};")


def by_id(duo, id_):
    sel = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True, separators=(",", ":"))
    return duo.driver.find_element(By.CSS_SELECTOR, f"[id='{sel}']")


def type_into(duo, id_, text):
    el = by_id(duo, id_)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(text, Keys.ENTER)


def ready(duo, runs):
    wait(duo, f"window.dash_clientside.optviz.state.runs.length === {runs}")
    wait(
        duo,
        f"{GRAPH.format(ids.CONTOUR)} && {GRAPH.format(ids.CONTOUR)}.data"
        " && " + GRAPH.format(ids.CONTOUR) + ".data[0].type === 'contour'",
    )
    wait(
        duo,
        f"{GRAPH.format(ids.SURFACE3D_TOP)} && {GRAPH.format(ids.SURFACE3D_TOP)}.data"
        f" && {GRAPH.format(ids.SURFACE3D_TOP)}.data.length === {runs + 2}",
    )


def until(check, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def errors(duo) -> list:
    """Browser errors, leaving out SVG attribute complaints from graphs laid out hidden."""
    return [
        e for e in duo.get_logs() or [] if e["level"] == "SEVERE" and e.get("source") != "rendering"
    ]


@pytest.fixture
def duo(app_page):
    app_page.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=60)
    return app_page


def test_pick_play_pause_scrub_step_and_click(duo):
    ready(duo, len(get_preset("radford-beale").runs))  # the page opens on Radford's Beale
    set_props(duo, ids.PRESET, {"value": ""})
    set_props(duo, ids.SURFACE, {"value": "quadratic"})
    set_props(duo, ids.OPTIMIZERS, {"value": ["sgd", "adam"]})
    wait(duo, "window.dash_clientside.optviz.state.runs.map(r => r.key).join() === 'sgd,adam'")
    type_into(duo, ids.START_X, "-1.5")
    type_into(duo, ids.START_Y, "1.2")
    type_into(duo, ids.STEPS, "400")
    wait(duo, "window.dash_clientside.optviz.state.steps === 400")
    ready(duo, 2)
    duo.wait_for_text_to_equal(f"#{ids.STEP_LABEL}", "step 0 / 400")

    # play: the trails grow on both views
    by_id(duo, ids.PLAY).click()
    wait(duo, "window.dash_clientside.optviz.state.k > 40")
    wait(
        duo,
        f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta.role === 'trail')"
        ".every(t => t.x.length > 20)",
    )
    wait(
        duo,
        f"{GRAPH.format(ids.SURFACE3D_TOP)}.data.filter(t => t.meta.role === 'path')"
        ".every(t => t.x.length > 20)",
    )

    # pause: nothing moves any more, both views show the same step
    by_id(duo, ids.PLAY).click()
    time.sleep(0.3)
    k = state(duo, "k")
    time.sleep(0.5)
    assert state(duo, "k") == k and state(duo, "playing") is False
    assert trail_lengths(duo) == [k + 1, k + 1]
    assert trail_lengths(duo, ids.SURFACE3D_TOP, "path") == [k + 1, k + 1]
    assert duo.find_element(f"#{ids.STEP_LABEL}").text == f"step {k} / 400"

    # scrub to step 123, then step forward twice and back once
    js(
        duo,
        "const s = document.getElementById(arguments[0]); s.value = 123;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
        ids.SCRUB,
    )
    wait(duo, f"{GRAPH.format(ids.CONTOUR_TOP)}.data[1].x.length === 124")
    assert trail_lengths(duo, ids.SURFACE3D_TOP, "path") == [124, 124]
    for button in (ids.STEP_FORWARD, ids.STEP_FORWARD, ids.STEP_BACK):
        by_id(duo, button).click()
    wait(duo, "window.dash_clientside.optviz.state.k === 124")
    wait(duo, f"{GRAPH.format(ids.CONTOUR_TOP)}.data[1].x.length === 125")

    # the trail is the run's own path: the server's points, in order
    xs = js(duo, f"return {GRAPH.format(ids.CONTOUR_TOP)}.data[1].x;")
    assert xs == state(duo, "runs[0].x.slice(0, 125)")

    # click on the contour map: the start moves there and the runs restart from it
    graph = duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.CONTOUR} .nsewdrag")
    # from the centre of the plot area: 40 px right, 30 px up
    ActionChains(duo.driver).move_to_element(graph).move_by_offset(40, -30).pause(
        0.3
    ).click().perform()
    wait(duo, f"document.getElementById('{ids.START_X}').value !== '-1.5'")
    x0 = float(by_id(duo, ids.START_X).get_attribute("value"))
    y0 = float(by_id(duo, ids.START_Y).get_attribute("value"))
    assert 0 < x0 < 2 and 0 < y0 < 2  # right of and above the centre of [-2, 2]²
    wait(duo, f"Math.abs(window.dash_clientside.optviz.state.runs[0].x[0] - {x0}) < 1e-9")
    start = js(duo, f"return {GRAPH.format(ids.CONTOUR_TOP)}.data[0];")
    assert start["x"] == [x0] and start["y"] == [y0]
    assert not errors(duo)


def test_bad_learning_rate_shows_a_message_and_keeps_the_runs(duo):
    sc = get_preset("radford-beale")
    ready(duo, len(sc.runs))
    before = state(duo, "runs[0].x.slice()")
    lr = ids.hyper("sgd", "lr")
    msg = ids.hyper_msg("sgd", "lr")
    for bad, words in (("-1", "must be > 0"), ("abc", "must be a number"), ("1e308", "must be ≤")):
        type_into(duo, lr, bad)
        until(lambda w=words: w in by_id(duo, msg).text)
        assert "SGD" in by_id(duo, msg).text
        assert state(duo, "runs[0].x") == before  # previous valid state kept
    js(  # show step 150 (of 200): the new run must be drawn there, not from step 0
        duo,
        "const s = document.getElementById(arguments[0]); s.value = 150;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
        ids.SCRUB,
    )
    wait(duo, "window.dash_clientside.optviz.state.k === 150")
    type_into(duo, lr, "0.002")
    until(lambda: by_id(duo, msg).text == "")
    wait(duo, f"window.dash_clientside.optviz.state.runs[0].x[5] !== {before[5]}")
    # only a run changed: both views draw it in place, at the step they were showing
    k = state(duo, "k")
    assert k == 150
    n = min(k + 1, len(state(duo, "runs[0].x")))
    trail = f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta.role === 'trail')[0]"
    path = f"{GRAPH.format(ids.SURFACE3D_TOP)}.data.filter(t => t.meta.role === 'path')[0]"
    wait(duo, f"{trail}.x.length === {n} && {trail}.x[{n - 1}] !== {before[n - 1]}")
    assert js(duo, f"return {trail}.x;") == state(duo, f"runs[0].x.slice(0, {n})")
    assert js(duo, f"return {trail}.y;") == state(duo, f"runs[0].y.slice(0, {n})")
    wait(duo, f"{path}.x.filter(v => v !== null).length > 0")
    drawn3d = js(duo, f"return {path}.x.filter(v => v !== null);")
    assert drawn3d[-1] == state(duo, f"runs[0].x[{n - 1}]")
    # empty selection: a message next to the multi-select, the runs stay
    set_props(duo, ids.OPTIMIZERS, {"value": []})
    duo.wait_for_text_to_equal(f"#{ids.OPTIMIZERS_MSG}", "choose at least one optimizer")
    assert state(duo, "runs.length") == len(sc.runs)
    assert not errors(duo)


def _server_run(lr: str) -> dict:
    """The default scene's SGD run and its final loss, as the server computes them for α."""
    out = callbacks.compute(callbacks.initial_settings({"sgd": lr}))
    assert out.ok, out.messages
    return next(r for r in out.traj["runs"] if r["key"] == "sgd")


def test_typed_value_moves_its_slider_and_a_moved_slider_writes_the_box(duo):
    """A typed α is drawn as the answer arrives (both overlays), then the page catches up:
    the stores, the results table and the slider (log10 α) follow; a moved slider writes
    the box, which recomputes. Text that is not a number leaves the slider where it is."""
    sc = get_preset("radford-beale")
    ready(duo, len(sc.runs))
    js(duo, "const o = window.dash_clientside.optviz; o.pause(); o.show(o.state.steps, true);")
    lr, slider = ids.hyper("sgd", "lr"), ids.hyper_slider("sgd", "lr")
    knob = f"document.getElementById('{json.dumps(slider, sort_keys=True, separators=(',', ':'))}')"
    at = f"parseFloat({knob}.querySelector('[aria-valuenow]').getAttribute('aria-valuenow'))"
    wait(duo, f"{knob} && Math.abs({at} + 3) < 1e-12")  # the scene's α = 0.001
    arrived = state(duo, "counters.arrived || 0")

    type_into(duo, lr, "0.002")
    want = _server_run("0.002")
    trail = f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta.role === 'trail')[0]"
    wait(duo, f"{trail}.x[{trail}.x.length - 1] === {want['x'][-1]}")
    wait(duo, f"Math.abs({at} - Math.log10(0.002)) < 1e-12")
    assert state(duo, "counters.arrived") == arrived + 1  # drawn on arrival, once
    assert state(duo, "arrived === window.dash_clientside.optviz.state.data")
    final = f"{float(want['loss'][-1]):.3g}"
    cells = f"[...document.querySelectorAll('#{ids.RESULTS} tbody tr')].map(r => r.innerText)"
    row = f"t.startsWith({json.dumps(want['label'])}) && t.includes('{final}')"
    wait(duo, f"{cells}.some(t => {row})")
    assert by_id(duo, lr).get_attribute("value") == "0.002"

    # the slider, moved with the keyboard (one step of 0.01 in log10 α): the box follows
    handle = by_id(duo, slider).find_element(By.CSS_SELECTOR, "[role=slider]")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    moved = js(duo, f"return {at};")
    assert moved == pytest.approx(math.log10(0.002) + 0.01, abs=0.006)
    shown = f"{10**moved:.3g}"
    until(lambda: by_id(duo, lr).get_attribute("value") == shown)
    want = _server_run(shown)
    wait(duo, f"{trail}.x[{trail}.x.length - 1] === {want['x'][-1]}")

    type_into(duo, lr, "abc")
    until(lambda: "must be a number" in by_id(duo, ids.hyper_msg("sgd", "lr")).text)
    time.sleep(1.2)  # longer than the slider's own wait for an answer
    assert js(duo, f"return {at};") == moved
    assert not errors(duo)


def test_pause_then_end_draws_the_last_step_in_both_views(duo):
    """An exact draw asked for while the contour's previous one is in flight (pause, then
    End at once) is drawn after it, not dropped."""
    sc = get_preset("radford-beale")
    ready(duo, len(sc.runs))
    js(duo, "window.dash_clientside.optviz.play();")
    wait(duo, "window.dash_clientside.optviz.state.k > 20")
    js(duo, "const o = window.dash_clientside.optviz; o.pause(); o.show(o.state.steps, true);")
    steps = state(duo, "steps")
    lengths = [min(steps + 1, n) for n in state(duo, "runs.map(r => r.x.length)")]
    trails = f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta && t.meta.role === 'trail')"
    want = json.dumps(lengths, separators=(",", ":"))
    wait(duo, f"JSON.stringify({trails}.map(t => t.x.length)) === '{want}'", timeout=10)
    assert js(duo, f"return {trails}[0].x;") == state(duo, f"runs[0].x.slice(0, {lengths[0]})")
    assert not errors(duo)


def test_each_radford_preset_loads_with_his_labels_and_colours(duo):
    ready(duo, len(get_preset("radford-beale").runs))
    for name in ("radford-long-valley", "radford-beale", "radford-saddle"):
        sc = get_preset(name)
        set_props(duo, ids.PRESET, {"value": name})
        wait(
            duo,
            f"window.dash_clientside.optviz.state.steps === {sc.steps} &&"
            f" window.dash_clientside.optviz.state.runs.length === {len(sc.runs)}",
        )
        ready(duo, len(sc.runs))
        wait(duo, f"{GRAPH.format(ids.CONTOUR_TOP)}.data[0].x[0] === {sc.start[0]}")
        labels = [r.resolved().label for r in sc.runs]
        colours = js(
            duo,
            f"return {GRAPH.format(ids.CONTOUR_TOP)}.data"
            ".filter(t => t.meta.role === 'trail').map(t => t.line.color);",
        )
        assert colours == [RADFORD_COLOURS[r.optimizer] for r in sc.runs]
        assert labels == [RADFORD_LABELS[r.optimizer] for r in sc.runs]
        # the runs are the preset's own (its hyperparameters, not the previous scene's)
        want = callbacks.compute(
            callbacks.Settings(
                sc.surface,
                list(layout.preset_runs(sc)),
                str(sc.steps),
                *map(str, sc.start),
                preset={"preset": name, "runs": layout.preset_runs(sc)},
            )
        )
        got = state(duo, "runs.map(r => r.x.slice(0, 20))")
        assert got == [r["x"][:20] for r in want.traj["runs"]]
        legend = duo.find_element(f"#{ids.LEGEND}").text
        assert all(label in legend for label in labels)
        bg = js(duo, f"return {GRAPH.format(ids.CONTOUR)}.layout;")
        assert bg["paper_bgcolor"] == "#ffffff"
        assert "Radford" in duo.find_element(f"#{ids.PRESET}").text
