"""One scene, one source of truth, in headless Chromium: a preset is the same whatever came
before it (and the same as the command line), and a message clears once its cause is gone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.browser import element, set_props, until, wait
from tests.e2e.browser import type_into as _type
from viz.scene import get_preset, link
from viz.ui import ids

pytestmark = pytest.mark.e2e
RUNS = "window.dash_clientside.optviz.state.runs"


def type_into(duo, id_, text):
    _type(duo, id_, text, enter=True)


def shown_scene(duo, name: str):
    """The scene the page shows once ``name`` has been applied (from its share link)."""

    def current():
        box = element(duo, ids.SHARE_LINK).get_attribute("value") or ""
        if "#" not in box:
            return None
        scene = link.scene_from_link(box)
        return scene if scene.name == name else None

    return until(current, 90.0)


def cards(duo) -> dict:
    """Every hyperparameter box and tick box in the optimizer cards: {id: value}."""
    return duo.driver.execute_script(
        """
        const out = {};
        document.querySelectorAll('.opt-card input').forEach(el => {
          if (!el.id) return;
          out[el.id] = el.type === 'checkbox' ? el.checked : el.value;
        });
        document.querySelectorAll('.opt-card .bool-control').forEach(el => {
          const box = el.querySelector('input');
          out[el.id] = box ? box.checked : null;
        });
        return out;
        """
    )


def open_preset(duo, name):
    set_props(duo, ids.PRESET, {"value": name})
    scene = shown_scene(duo, name)
    n = len(scene.runs)
    wait(duo, f"{RUNS}.length === {n} && {RUNS}.every(r => r.x.length === {scene.steps + 1})")
    wait(duo, f"document.querySelectorAll('.opt-card').length === {n}")
    return scene


def trajectory_json(*args) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "optviz_cli", "trajectory", *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def test_a_preset_after_another_is_the_preset_fresh_and_the_clis(app_page):
    wait(app_page, f"{RUNS}.length > 0")
    fresh = open_preset(app_page, "rosenbrock-race")
    fresh_cards = cards(app_page)
    fresh_runs = app_page.driver.execute_script(f"return {RUNS}.map(r => [r.key, r.loss]);")
    adadelta = next(r for r in fresh.runs if r.optimizer == "adadelta")
    assert adadelta.full_hyper()["eps"] == 1e-6  # the rule's default: the preset names none
    assert not next(r for r in fresh.runs if r.optimizer == "rmsprop").full_hyper()["eps_in_sqrt"]

    app_page.driver.refresh()
    wait(app_page, f"{RUNS}.length > 0")
    open_preset(app_page, "radford-saddle")  # eps 1e-6 ... and eps inside the root
    again = open_preset(app_page, "rosenbrock-race")
    assert link.scene_to_dict(again) == link.scene_to_dict(fresh)
    assert cards(app_page) == fresh_cards
    runs = app_page.driver.execute_script(f"return {RUNS}.map(r => [r.key, r.loss]);")
    assert runs == fresh_runs

    # The page's link and the preset give the command line the same runs.
    url = element(app_page, ids.SHARE_LINK).get_attribute("value")
    by_link = trajectory_json("--link", url)
    by_preset = trajectory_json("--preset", "rosenbrock-race")
    assert by_link["runs"] == by_preset["runs"]
    preset = get_preset("rosenbrock-race")
    assert [r["optimizer"] for r in by_link["runs"]] == [r.optimizer for r in preset.runs]

    # the preset as loaded has no "changed" badge; fewer steps put one before its note
    badge = f"document.getElementById('{ids.PRESET_CHANGED}').textContent"
    assert app_page.driver.execute_script(f"return {badge}") == ""
    type_into(app_page, ids.STEPS, "50")
    wait(app_page, f"{badge} === 'Changed: steps · '")


def test_a_function_with_no_value_anywhere_gets_a_message_that_clears(app_page):
    wait(app_page, f"{RUNS}.length > 0")
    for text in ("sqrt(-1-x**2)", "log(-1-x**2)"):
        type_into(app_page, ids.EXPRESSION, text)
        msg = wait(app_page, f"document.getElementById('{ids.EXPRESSION_MSG}').innerText")
        assert "no finite real value anywhere" in msg
        run_msg = element(app_page, ids.RUN_MSG).text
        assert "Something went wrong" not in run_msg
    type_into(app_page, ids.EXPRESSION, "(1-x)^2 + 100*(y-x^2)^2")
    wait(app_page, f"document.getElementById('{ids.EXPRESSION_MSG}').innerText === ''")
    wait(app_page, f"{RUNS}.length > 0 && {RUNS}[0].x[0] !== undefined")
    assert element(app_page, ids.RUN_MSG).text == ""


def test_a_surface_picked_by_hand_starts_at_its_own_start(app_page):
    from surfaces import SURFACES

    wait(app_page, f"{RUNS}.length > 0")
    for name in ("goldstein_price", "himmelblau"):
        set_props(app_page, ids.SURFACE, {"value": name})
        x, y = SURFACES[name].start
        wait(app_page, f"{RUNS}.length > 0 && {RUNS}.every(r => r.x[0] === {x} && r.y[0] === {y})")
        assert element(app_page, ids.START_X).get_attribute("value") == f"{x:.6g}"
        assert element(app_page, ids.START_Y).get_attribute("value") == f"{y:.6g}"
        assert element(app_page, ids.START_MSG).text == ""  # nothing clamped


SURFACES = [
    f"document.querySelector('#{ids.SURFACE3D} .js-plotly-plot')",
    f"document.querySelector('#{ids.SURFACE3D_TOP} .js-plotly-plot')",
]
EYES = (
    f"return [{', '.join(SURFACES)}]"
    ".map(g => g && g._fullLayout && g._fullLayout.scene.camera.eye);"
)
STATE = "window.dash_clientside.optviz.state"


def eyes_at(duo, eye: dict) -> bool:
    """Both 3-D graphs (the surface and the overlay of paths on it) look from ``eye``."""
    got = duo.driver.execute_script(EYES)
    return all(e and all(abs(e[k] - eye[k]) < 1e-6 for k in "xyz") for e in got)


def test_a_preset_opens_at_its_start_with_its_own_camera_on_screen_and_in_the_link(app_page):
    """After Beale, turned and playing, Radford's saddle opened at Beale's step, still
    playing, its paths drawn with Beale's camera over a surface seen from 45°/45° (they
    floated off it), and its link and export carried Beale's turned camera."""
    wait(app_page, f"{RUNS}.length > 0")
    turned = {"eye": {"x": 1.9, "y": -0.6, "z": 0.9}, "up": {"x": 0, "y": 0, "z": 1}}
    app_page.driver.execute_script(
        f"Plotly.relayout({SURFACES[0]}, {{'scene.camera': arguments[0]}});", turned
    )
    until(lambda: eyes_at(app_page, turned["eye"]))
    element(app_page, ids.PLAY).click()
    wait(app_page, f"{STATE}.playing && {STATE}.k > 20")

    saddle = open_preset(app_page, "radford-saddle")
    own = saddle.style.camera["eye"]
    until(lambda: eyes_at(app_page, own))
    assert app_page.driver.execute_script(f"return [{STATE}.playing, {STATE}.k]") == [False, 0]
    label = f"document.getElementById('{ids.STEP_LABEL}').textContent"
    wait(app_page, f"{label}.startsWith('step 0 / {saddle.steps}')")
    until(lambda: eyes_at(app_page, own))  # and they stay together
    shown = until(
        lambda: (
            (sc := shown_scene(app_page, "radford-saddle")).style.camera == saddle.style.camera
            and sc
        )
    )
    assert shown.style.camera["eye"] == own

    # back on Beale: its own default camera, not the turn made before the saddle
    beale = open_preset(app_page, "radford-beale")
    until(lambda: eyes_at(app_page, beale.style.camera["eye"]))
