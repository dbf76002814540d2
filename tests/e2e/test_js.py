"""The browser JavaScript (assets/optviz-*.js) in headless Chromium: keys, number formats,
the request hook against Dash's real answers, the linked views, the private-field fast
path and its fallback."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.keys import Keys

from tests.e2e.browser import element, js, set_props, settle, wait
from viz.scene import get_preset
from viz.ui import ids, layout

pytestmark = pytest.mark.e2e

O = "window.dash_clientside.optviz"
GRAPH = "document.querySelector('#{} .js-plotly-plot')"


@pytest.fixture
def duo(app_page):
    n = len(get_preset("radford-beale").runs)  # the page opens on Radford's Beale
    wait(app_page, f"{O} && {O}.state && {O}.state.runs.length === {n}", timeout=60)
    wait(
        app_page,
        f"{GRAPH.format(ids.SURFACE3D_TOP)} && {GRAPH.format(ids.SURFACE3D_TOP)}.data"
        f" && {GRAPH.format(ids.SURFACE3D_TOP)}.data.length === {n + 2}",
    )
    return app_page


def errors(duo) -> list:
    return [
        e for e in duo.get_logs() or [] if e["level"] == "SEVERE" and e.get("source") != "rendering"
    ]


def playing(duo) -> bool:
    return js(duo, f"return {O}.state.playing;")


def k(duo) -> int:
    return js(duo, f"return {O}.state.k;")


def press(duo, key) -> None:
    """A key pressed on whatever has focus (as a user does)."""
    duo.driver.switch_to.active_element.send_keys(key)


def test_keys_work_after_the_scrub_or_a_playback_button_took_focus_not_in_a_text_box(duo):
    scrub = element(duo, ids.SCRUB)
    scrub.click()  # a click on the range: it takes focus (and shows the step clicked)
    assert js(duo, "return document.activeElement.id;") == ids.SCRUB
    press(duo, Keys.SPACE)
    wait(duo, f"{O}.state.playing === true", timeout=5)
    press(duo, Keys.SPACE)
    wait(duo, f"{O}.state.playing === false", timeout=5)
    # arrows step exactly once (the range's own arrow handling does not add a second)
    js(duo, f"{O}.show(100, true);")
    press(duo, Keys.ARROW_RIGHT)
    assert k(duo) == 101
    press(duo, Keys.ARROW_LEFT)
    press(duo, Keys.ARROW_LEFT)
    assert k(duo) == 99
    assert scrub.get_attribute("value") == "99"  # the range follows while it has focus
    press(duo, Keys.END)
    assert k(duo) == js(duo, f"return {O}.state.steps;")
    press(duo, Keys.HOME)
    assert k(duo) == 0

    # a playback button with focus: space plays/pauses once (no extra click of the button)
    step = element(duo, ids.STEP_FORWARD)
    step.click()
    wait(duo, f"{O}.state.k === 1", timeout=5)
    assert js(duo, "return document.activeElement.id;") == ids.STEP_FORWARD
    press(duo, Keys.SPACE)
    wait(duo, f"{O}.state.playing === true", timeout=5)
    time.sleep(0.5)  # a button's own space-click (on keyup) would step, which pauses
    assert playing(duo)
    press(duo, Keys.SPACE)
    wait(duo, f"{O}.state.playing === false", timeout=5)

    # typing into a text box: the space is text, playback stays as it was
    box = element(duo, ids.START_X)
    box.click()
    before, at = box.get_attribute("value"), k(duo)
    box.send_keys(Keys.END, " ")
    time.sleep(0.5)
    assert not playing(duo)
    assert box.get_attribute("value") == before + " "
    box.send_keys(Keys.ARROW_LEFT, Keys.HOME, Keys.END)  # the caret moves, not the step
    assert k(duo) == at
    assert not errors(duo)


def test_numbers_are_written_as_python_writes_them(duo):
    """The slider writes its value into the box as viz.ui.layout.fmt (%g) does: 1e-05, not
    0.00001 (or 0.0000)."""
    slider, box = ids.hyper_slider("sgd", "lr"), ids.hyper("sgd", "lr")
    set_props(duo, slider, {"value": -5})  # the log slider's lowest: α = 1e-5
    sel = json.dumps(box, sort_keys=True, separators=(",", ":"))
    wait(duo, f"document.getElementById({json.dumps(sel)}).value === '1e-05'", timeout=10)
    assert element(duo, box).get_attribute("value") == layout.fmt(1e-5)

    # the formatter itself, against Python's %g
    values = [
        1e-5,
        1.23e-5,
        1e-4,
        0.000123456789,
        0.001,
        0.5,
        1.0,
        10.0,
        123456.0,
        1234567.0,
        1e21,
        -2.5e-7,
        0.1 + 0.2,
        99999.95,
        0.0,
    ]
    for p in (3, 6):
        got = js(duo, f"return arguments[0].map((v) => {O}.internal.fmtG(v, {p}));", values)
        assert got == [f"{v:.{p}g}" for v in values]
    assert not errors(duo)


# Installed by the test: every answer of _dash-update-component after it, parsed from a
# clone of the response (so neither Dash nor the app's hook is disturbed).
CAPTURE = r"""
window.__answers = [];
const f0 = window.fetch;
window.fetch = function (url, opts) {
  return f0.apply(this, arguments).then(function (res) {
    if (String(url).indexOf('_dash-update-component') >= 0 && res.status === 200) {
      const body = String((opts && opts.body) || '');
      res.clone().json().then(function (a) { window.__answers.push({body: body, answer: a}); });
    }
    return res;
  });
};
"""


def test_request_hook_recognises_dashs_real_answer(duo):
    """The hook reads the recompute's answer as ``response[TRAJ].data`` with its runs. A
    real answer must have exactly that shape, and the hook must have recognised it and
    drawn from it; when Dash changes its payload, this fails (the app still works through
    ``load``, one frame later, which no other test would notice)."""
    js(duo, f"{O}.pause(); {O}.show({O}.state.steps, true);")
    js(duo, CAPTURE)
    before = js(duo, f"return Object.assign({{}}, {O}.requestHook);")
    box = element(duo, ids.hyper("sgd", "lr"))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0.0017", Keys.ENTER)
    wait(duo, f"{O}.requestHook.answers > {before['answers']}", timeout=20)
    found = wait(
        duo,
        "window.__answers.find((a) => a.answer && a.answer.response"
        f" && {json.dumps(ids.TRAJ)} in a.answer.response)",
        timeout=20,
    )
    answer = found["answer"]
    # the exact structure the hook depends on
    traj = answer["response"][ids.TRAJ]["data"]
    runs = traj["runs"]
    assert len(runs) == len(get_preset("radford-beale").runs)
    assert all({"x", "y", "z", "key"} <= set(r) for r in runs)
    assert {"contour_top", "surface_top", "steps"} <= set(traj)
    assert json.loads(found["body"])["output"].find(f"{ids.TRAJ}.data") >= 0
    # and the hook recognised it and drew from it (not left to Dash's slower path)
    hook = js(duo, f"return Object.assign({{}}, {O}.requestHook);")
    assert hook["requests"] > before["requests"]
    assert hook["recognised"] - before["recognised"] == hook["answers"] - before["answers"] >= 1
    assert hook["last"]["recognised"] is True
    assert hook["drawn"] > before["drawn"]
    sgd = next(r for r in runs if r["key"] == "sgd")
    assert js(duo, f"return {O}.state.runs.find((r) => r.key === 'sgd').x;") == sgd["x"]
    trail = (
        f"{GRAPH.format(ids.CONTOUR_TOP)}.data.find((t) => t.meta && t.meta.role === 'trail'"
        f" && t.meta.run === {O}.state.runs.findIndex((r) => r.key === 'sgd'))"
    )
    wait(duo, f"{trail}.x[{trail}.x.length - 1] === {sgd['x'][-1]}", timeout=10)
    assert not errors(duo)


def _listed_answer(duo, store: str) -> dict:
    """The newest answer that wrote ``store`` (the preset or surface list's own)."""
    return wait(
        duo,
        "window.__answers.slice().reverse().find((a) => a.answer && a.answer.response"
        " && arguments[0] in a.answer.response)",
        20,
        store,
    )


def test_a_preset_or_surface_choice_is_drawn_from_the_lists_own_answer(duo):
    """Choosing a preset or a surface: the list's callback answers with the scene's runs and
    the request hook draws them in both overlays as they arrive (``listed``); the recompute
    that the same choice starts finds that scene in the store and sends no runs again.
    When Dash's payload or the hook changes, this fails (the app would still draw the
    scene through ``load``, after the recompute, which no other test would notice)."""
    js(duo, CAPTURE)
    for store, dropdown, value in (
        (ids.PRESET_DRAWN, ids.PRESET, "himmelblau-basins"),
        (ids.SURFACE_DRAWN, ids.SURFACE, "booth"),
    ):
        before = js(duo, f"return {O}.requestHook.listed;")
        js(duo, "window.__answers = [];")
        set_props(duo, dropdown, {"value": value})
        wait(duo, f"{O}.requestHook.listed > {before}", timeout=30)
        runs = _listed_answer(duo, store)["answer"]["response"][ids.TRAJ]["data"]["runs"]
        if dropdown == ids.PRESET:
            assert [r["label"] for r in runs] == [
                r.resolved().label for r in get_preset(value).runs
            ]
        # the overlays hold those runs, drawn by the hook
        assert js(duo, f"return {O}.state.runs.map((r) => r.x[r.x.length - 1]);") == [
            r["x"][-1] for r in runs
        ]
        trail = (
            f"{GRAPH.format(ids.CONTOUR_TOP)}.data.find((t) => t.meta && t.meta.role === 'trail'"
            " && t.meta.run === 0)"
        )
        wait(duo, f"{trail} && {trail}.x.length > 0", timeout=10)
        # the recompute the choice starts: answered without runs (the same scene)
        found = wait(
            duo,
            "window.__answers.find((a) => JSON.parse(a.body).output.indexOf('..traj.data...')"
            " === 0)",
            30,
        )
        assert ids.TRAJ not in (found["answer"].get("response") or {})
        time.sleep(0.5)
        assert js(duo, f"return {O}.state.runs.map((r) => r.x[r.x.length - 1]);") == [
            r["x"][-1] for r in runs
        ]
    assert not errors(duo)


def test_overlays_follow_the_backgrounds_zoom_and_camera(duo):
    """The zoom and the camera are read from Plotly's public layout and event data."""
    bg2, top2 = GRAPH.format(ids.CONTOUR), GRAPH.format(ids.CONTOUR_TOP)
    bg3, top3 = GRAPH.format(ids.SURFACE3D), GRAPH.format(ids.SURFACE3D_TOP)
    # A figure Dash sends later re-plots the background: a zoom set by code (not the
    # user's, which uirevision keeps) would be undone, so start on a settled page.
    settle(duo)
    js(duo, f"{O}.internal.bindSync();")  # bound already once the overlays were drawn
    js(duo, f"Plotly.relayout({bg2}, {{'xaxis.range': [-1, 2], 'yaxis.range': [-0.5, 1.5]}});")
    wait(duo, f"JSON.stringify({top2}.layout.xaxis.range) === '[-1,2]'", timeout=10)
    assert js(duo, f"return {top2}.layout.yaxis.range;") == [-0.5, 1.5]
    cam = {
        "eye": {"x": 0.3, "y": -1.9, "z": 1.1},
        "up": {"x": 0, "y": 0, "z": 1},
        "center": {"x": 0, "y": 0, "z": 0},
    }
    js(duo, f"Plotly.relayout({bg3}, {{'scene.camera': arguments[0]}});", cam)
    wait(
        duo, f"{top3}.layout.scene.camera && {top3}.layout.scene.camera.eye.y === -1.9", timeout=15
    )
    got = js(duo, f"return {top3}.layout.scene.camera.eye;")
    assert got == pytest.approx(cam["eye"], abs=1e-9)
    # a new figure for the overlays (another preset's runs) keeps that camera
    set_props(duo, ids.PRESET, {"value": "radford-saddle"})
    sc = get_preset("radford-saddle")
    wait(
        duo,
        f"{O}.state.steps === {sc.steps} && {O}.state.runs.length === {len(sc.runs)}",
        timeout=30,
    )
    wait(duo, f"{top3}.layout.scene.camera && {top3}.layout.scene.camera.eye", timeout=15)
    assert not errors(duo)


def test_fast_path_is_taken_and_plotly_draws_when_private_fields_go(duo):
    """Today the contour's playback frames move the SVG directly (Plotly's private pixel
    maps); without them (a Plotly upgrade) the same steps are drawn through Plotly."""
    trails = (
        f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter((t) => t.meta && t.meta.role === 'trail')"
        ".map((t) => t.x.length)"
    )
    lengths = f"{O}.state.runs.map((r) => Math.min(r.x.length, arguments[0] + 1))"
    settle(duo)  # no late figure for the overlays while the draws are checked
    fast0 = js(duo, f"return {O}.internal.fastDraws || 0;")
    js(duo, f"{O}.show(50, true);")
    time.sleep(0.3)
    js(duo, f"{O}.draw2d({GRAPH.format(ids.CONTOUR_TOP)}, 60, 'fast');")
    assert js(duo, f"return {O}.internal.fastDraws || 0;") > fast0
    assert js(duo, f"return {trails};") == js(duo, f"return {lengths};", 60)

    # the private fields gone: every helper answers null, Plotly draws the step instead
    js(duo, f"{O}.internal.plotlyPrivate.pixelMaps = () => null;")
    js(duo, f"{O}.internal.plotlyPrivate.xPixel = () => null;")
    fast1 = js(duo, f"return {O}.internal.fastDraws;")
    js(duo, f"{O}.show(70, true);")
    driver = duo.driver
    driver.set_script_timeout(10)
    driver.execute_async_script(
        f"const done = arguments[arguments.length - 1];"
        f"{O}.draw2d({GRAPH.format(ids.CONTOUR_TOP)}, 80, 'fast').then(() => done(true));"
    )
    assert js(duo, f"return {O}.internal.fastDraws;") == fast1
    assert js(duo, f"return {trails};") == js(duo, f"return {lengths};", 80)
    # the loss plot's step marker, through relayout
    js(duo, f"{O}.show(90, true);")
    wait(duo, f"{GRAPH.format(ids.LOSS)}.layout.shapes[0].x0 === 90", timeout=10)
    assert not errors(duo)
