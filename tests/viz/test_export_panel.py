"""The Export GIF panel's callback as a plain function: good exports, every bad input, slots."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import diskcache
import numpy as np
import pytest
from dash import no_update
from PIL import Image

from viz import figures, gif
from viz.scene import RADFORD_COLOURS, RADFORD_LABELS, get_preset
from viz.ui import callbacks, export_panel, ids, layout
from viz.ui.export_panel import BUSY, NO_SCENE, export, scene_from_state
from viz.ui.jobs import ExportSlots

CAMERA = {"eye": {"x": 1.9, "y": -0.4, "z": 0.7}, "up": {"x": 0, "y": 0, "z": 1}}


def turned(camera, preset="radford-beale") -> dict:
    """The page's camera store once the user turned the preset's 3-D view to ``camera``."""
    rev = figures.uirevision_3d(get_preset(preset).style)
    return {"camera": camera, "rev": rev, "user": True}


def page_state(preset="radford-beale", **changes):
    """What compute answers once the page has opened ``preset`` (its state store)."""
    sc = get_preset(preset)
    runs = layout.preset_runs(sc)
    base = {
        "surface": sc.surface,
        "optimizers": list(runs),
        "steps": str(sc.steps),
        "start_x": layout.fmt(sc.start[0]),
        "start_y": layout.fmt(sc.start[1]),
        "preset": {"preset": preset, "runs": runs},
    }
    base.update(changes)
    out = callbacks.compute(callbacks.Settings(**base))
    assert out.ok, out.messages
    return out


@pytest.fixture
def slots(tmp_path):
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        yield ExportSlots(cache, limit=2)


def opened(out) -> Image.Image:
    download = out[0]
    assert download["base64"] is True and download["type"] == "image/gif"
    return Image.open(io.BytesIO(base64.b64decode(download["content"])))


def durations(im) -> list[int]:
    out = []
    for i in range(im.n_frames):
        im.seek(i)
        out.append(im.info["duration"])
    return out


# ----------------------------------------------------------------------------- good exports


def test_good_export_is_a_looping_gif_of_the_chosen_size_frames_and_fps(slots):
    o = page_state()
    progress = []
    out = export(progress.append, 1, "contour", "40", "10", "400", "300", None, o.state, slots)
    im = opened(out)
    assert (im.n_frames, im.size, im.info["loop"]) == (40, (400, 300), 0)
    assert durations(im) == [100] * 40
    assert out[0]["filename"] == "optviz-beale-contour.gif"
    # no error anywhere; the status names the file
    assert out[1] == out[3] == out[4] == out[5] == ""
    assert out[2].startswith("✓ optviz-beale-contour.gif: 40 frames, 400×300, 10 fps")
    # progress: from 0 to all frames, never backwards, and the slot is free again
    done = [p[0] for p in progress]
    assert done[0] == 0 and done[-1] == 40 and done == sorted(done)
    assert all(p[1] == 40 and p[2] == f"frame {p[0]} / 40" for p in progress)
    assert slots.busy() == 0


def test_the_gif_is_the_scene_the_app_shows_with_the_users_camera(slots):
    o = page_state("radford-saddle")
    out = export(
        None, 1, "3d", "12", "", "240", "180", turned(CAMERA, "radford-saddle"), o.state, slots
    )
    data = base64.b64decode(out[0]["content"])
    scene = scene_from_state(o.state)
    # the same GIF as the renderer makes for that scene and camera; another camera differs
    assert data == gif.render_gif_bytes(scene, "3d", 12, None, (240, 180), CAMERA)
    assert data != gif.render_gif_bytes(scene, "3d", 12, None, (240, 180), None)
    # a camera the store holds for another scene's figure (Beale's, turned, before the
    # saddle was picked) is not the one on screen: the saddle's own 45°/45° is exported
    out = export(None, 1, "3d", "12", "", "240", "180", turned(CAMERA), o.state, slots)
    own = base64.b64decode(out[0]["content"])
    assert own == gif.render_gif_bytes(scene, "3d", 12, None, (240, 180), None) != data
    # the scene holds the preset's labels, colours and style, and the app's trajectories
    runs = scene.resolved_runs()
    assert [r.label for r in runs] == [RADFORD_LABELS[r.optimizer] for r in runs]
    assert [r.colour for r in runs] == [RADFORD_COLOURS[r.optimizer] for r in runs]
    assert scene.style == get_preset("radford-saddle").style
    for traj, shown in zip(scene.compute(), o.traj["runs"], strict=True):
        np.testing.assert_allclose(traj.points[:, 0], shown["x"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(traj.points[:, 1], shown["y"], rtol=1e-6, atol=1e-12)


def test_blank_choices_are_the_scenes_own_and_both_is_twice_as_wide(slots):
    o = page_state(steps="60")
    out = export(None, 1, "both", "", " ", "", "", None, o.state, slots)
    im = opened(out)
    w, h = get_preset("radford-beale").style.size
    assert (im.n_frames, im.size) == (61, (2 * w, h))  # every step when steps + 1 ≤ 200
    assert durations(im)[0] == 1000 // get_preset("radford-beale").style.fps
    assert out[0]["filename"] == "optviz-beale-both.gif"


def test_hand_picked_hyperparameters_and_start_are_exported(slots):
    o = page_state("radford-beale", hyper={"sgd": {"lr": "0.0005"}}, start_x="2", start_y="-1")
    scene = scene_from_state(o.state)
    sgd = next(r for r in scene.runs if r.optimizer == "sgd")
    assert sgd.hyper["lr"] == 0.0005 and scene.start == (2.0, -1.0)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("frames", "fps", "width", "height", "where", "text"),
    [
        ("1001", "", "", "", 3, "frames must be between 1 and 1,000, got 1,001"),
        ("0", "", "", "", 3, "frames must be between 1 and 1,000"),
        ("2.5", "", "", "", 3, "frames must be a whole number"),
        ("many", "", "", "", 3, "frames must be a number, got 'many'"),
        ("", "0", "", "", 4, "fps must be between 1 and 50"),
        ("", "nan", "", "", 4, "fps must be a finite number"),
        ("", "", "1921", "1080", 5, "size must be at most 1920×1080, got 1921×1080"),
        ("", "", "1920", "1081", 5, "size must be at most 1920×1080, got 1920×1081"),
        ("", "", "800", "", 5, "enter both width and height"),
        ("", "", "10", "10", 5, "size must be at least 64×64"),
    ],
)
def test_bad_choice_gets_its_message_next_to_it_and_nothing_else_changes(
    slots, frames, fps, width, height, where, text
):
    o = page_state()
    progress = []
    out = export(progress.append, 1, "contour", frames, fps, width, height, None, o.state, slots)
    assert out[0] is no_update  # no download
    assert text in out[where]
    assert all(out[i] == "" for i in (1, 2, 3, 4, 5) if i != where)
    assert progress == [] and slots.busy() == 0


def test_every_bad_choice_is_reported_at_once(slots):
    o = page_state()
    out = export(None, 1, "contour", "5000", "99", "4000", "100", None, o.state, slots)
    assert out[0] is no_update
    assert "frames" in out[3] and "fps" in out[4] and "size" in out[5]


def test_bad_camera_or_view_is_a_message(slots):
    o = page_state()
    flat = turned({"eye": {"x": 0, "y": 0, "z": 0}})
    out = export(None, 1, "3d", "", "", "", "", flat, o.state, slots)
    assert out[0] is no_update and out[1] == "3-D view: camera eye must differ from its center"
    out = export(None, 1, "sideways", "", "", "", "", None, o.state, slots)
    assert out[0] is no_update and "view must be one of contour, 3d, both" in out[1]


@pytest.mark.parametrize(
    "change",
    [
        None,
        {},
        {"s": "nope"},
        {"st": 10**9},
        {"st": "300; rm -rf /"},
        {"x": ["x", 1]},
        {"x": [1]},
        {"r": [{"o": "not-a-rule"}]},
        {"r": [{"o": "sgd", "h": {"lr": -1}}]},
        {"r": [{"o": "sgd", "h": {"lr": "1e400"}}]},
        {"r": [{"o": "sgd", "h": {"no_such": 1}}]},
        {"r": [{"o": "sgd", "h": [1, 2]}]},
        {"r": [{"o": "sgd", "c": "url(javascript:x)"}]},
    ],
)
def test_missing_or_tampered_scene_state_is_a_message_not_a_gif(slots, change):
    o = page_state()
    scene = {} if change is None else {**o.state["scene"], **change}
    state = None if change is None else ({} if change == {} else {**o.state, "scene": scene})
    out = export(None, 1, "contour", "", "", "", "", None, state, slots)
    assert out[0] is no_update and out[1] and out[2] == ""
    if change in (None, {}):
        assert out[1] == NO_SCENE
    assert slots.busy() == 0


def test_no_click_no_export(slots):
    o = page_state()
    assert export(None, 0, "contour", "", "", "", "", None, o.state, slots)[0] is no_update


# ----------------------------------------------------------------------------- slots


def test_busy_server_says_so_and_renders_nothing(slots):
    o = page_state()
    held = [slots.acquire(), slots.acquire()]  # two live jobs (this process)
    assert None not in held and slots.acquire() is None
    progress = []
    out = export(progress.append, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert out[0] is no_update and out[1] == BUSY and progress == []
    slots.release(held[0])
    out = export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert opened(out).n_frames == 5


def test_an_export_the_server_is_too_busy_for_runs_no_optimizer(slots, monkeypatch):
    """Under load most extra exports are refused: they must not cost the runs first."""
    o = page_state()
    held = [slots.acquire(), slots.acquire()]
    calls = []
    real = export_panel.Scene.compute
    monkeypatch.setattr(export_panel.Scene, "compute", lambda *a: calls.append(1) or real(*a))
    out = export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert out[1] == BUSY and calls == []
    slots.release(held[0])
    out = export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert opened(out).n_frames == 5 and calls == [1]


def test_a_failing_render_frees_its_slot(slots, monkeypatch):
    o = page_state()

    def boom(*a, **k):
        raise MemoryError("out of memory")

    monkeypatch.setattr(gif, "render_gif_bytes", boom)
    with pytest.raises(MemoryError):
        export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert slots.busy() == 0


# ----------------------------------------------------------------------------- issue 5 scenes


def assert_same_runs(scene_runs, shown_runs):
    for traj, shown in zip(scene_runs, shown_runs, strict=True):
        xs = np.array([np.nan if v is None else v for v in shown["x"]], float)
        np.testing.assert_allclose(traj.points[: len(xs), 0], xs, rtol=1e-6, atol=1e-12)


def test_own_function_schedule_and_noise_are_exported_as_the_app_runs_them(slots):
    from viz.scene import validate

    s = callbacks.Settings(
        surface=validate.CUSTOM,
        optimizers=["sgd", "adam"],
        steps="80",
        start_x="1.5",
        start_y="-1",
        expression="x**2 + 3*y**2 + sin(3*x)",
        x_range="-2, 2",
        y_range="-2, 2",
        schedule={"sgd": {"name": "step", "params": {"every": "20", "drop": "0.5"}}},
        noise={"adam": {"sigma": "0.5", "seed": "3"}},
    )
    o = callbacks.compute(s)
    assert o.ok, o.messages
    scene = export_panel.scene_from_state(o.state)
    runs = scene.compute()
    assert scene.get_surface().extra.get("expression") == "x**2 + 3*y**2 + sin(3*x)"
    assert_same_runs(runs, o.traj["runs"])  # schedule and noise included
    # without them the runs differ: the export does follow them
    plain = replace(
        scene, runs=tuple(replace(r, schedule=None, noise=0.0, seed=0) for r in scene.runs)
    ).compute()
    assert not np.allclose(plain[0].points, runs[0].points)
    assert not np.allclose(plain[1].points, runs[1].points)
    out = export(None, 1, "contour", "15", "", "", "", None, o.state, slots)
    data = base64.b64decode(out[0]["content"])
    assert data == gif.render_gif_bytes(scene, "contour", 15, trajectories=runs)
    assert out[0]["filename"] == "optviz-custom-contour.gif"


def test_a_tampered_expression_is_a_message(slots):
    o = page_state()
    scene = {**o.state["scene"], "s": "custom", "e": "__import__('os').system('x')"}
    state = {**o.state, "scene": {**scene, "w": [[-2, 2], [-2, 2]]}}
    out = export(None, 1, "contour", "", "", "", "", None, state, slots)
    assert out[0] is no_update and out[1]


def test_the_networks_mini_batches_are_exported(slots):
    o = page_state("radford-noisy-moons", batch_size="8", steps="30")
    assert o.state.get("batch_size") == 8
    scene = export_panel.scene_from_state(o.state)
    runs = scene.compute()
    assert_same_runs(runs, o.traj["runs"])
    full = replace(scene, batch_size=None).compute()
    assert not np.allclose(full[0].points, runs[0].points)


def test_each_page_gets_its_own_export_key():
    """Identical exports from two pages must not share a background result (Dash keys
    results by the callback's arguments), so every page load carries a fresh id."""

    def page_id(tree):
        found = []

        def walk(node):
            if getattr(node, "id", None) == ids.EXPORT_PAGE:
                found.append(node.data)
            children = getattr(node, "children", None)
            for child in children if isinstance(children, list | tuple) else [children]:
                if child is not None and not isinstance(child, str | int | float):
                    walk(child)

        walk(tree)
        assert len(found) == 1
        return found[0]

    first, second = page_id(layout.layout()), page_id(layout.layout())
    assert first and second and first != second


# ----------------------------------------------------------------------------- crash safety
# (the job manager's own crash safety: tests/viz/test_jobs.py)


def test_a_locked_slot_cache_is_a_busy_message_not_a_traceback(slots, monkeypatch):
    o = page_state()

    def locked(*a, **k):
        raise diskcache.Timeout

    monkeypatch.setattr(slots, "acquire", locked)
    out = export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert out[0] is no_update and out[1] == BUSY


# A web process where JAX's threads run (a page raced an optax rule here), asked to export
# a scene whose optax rule it has not compiled (another worker's page computed it): the
# real job function, forked by the app's own manager. JAX hangs compiling in such a fork,
# so the web process computes those runs before it forks and the job takes them.
_OPTAX_EXPORT = """
import json, os, sys, time
import numpy as np
from app import create_app
from optimizers import get_optimizer, run
from surfaces import get_surface
from viz.scene import Scene, link
from viz.ui import export_panel, jobs

if sys.argv[2] == "fails":  # here, in the web process; a job that computed would not fail
    web, compute = os.getpid(), Scene.compute

    def failing(self, budget=None):
        if os.getpid() == web:
            raise ValueError("the export budget ran out")
        return compute(self, budget)

    Scene.compute = failing
manager = jobs.make_manager()
create_app(background_callback_manager=manager)
run(get_optimizer("optax:sgd", lr=0.01), get_surface("booth"), np.array([[1.0, 2.0]]), 3)
scene = Scene.from_args("beale", [sys.argv[1]], {"lr": 0.02}, steps=40)
state = {"scene": link.scene_to_dict(scene)}
(job_fn,) = manager.func_registry.values()
args = [1, "contour", 8, 10, 200, 150, None, state, "page", "gif", [], ""]
pid = manager.call_job_fn("result", job_fn, args, {})
end = time.monotonic() + 60
while manager.handle.get("result") is None and time.monotonic() < end:
    time.sleep(0.1)
answer = manager.handle.get("result")
handed = len(export_panel._HANDED)
if answer is None:
    manager.terminate_job(pid)
print(json.dumps({"status": answer and answer[2], "msg": answer and answer[1], "handed": handed}))
"""


@pytest.mark.parametrize(
    ("rule", "parent"), [("optax:adamw", "computes"), ("sgd", "computes"), ("optax:adamw", "fails")]
)
def test_an_optax_scene_exports_from_a_process_where_jax_runs(rule, parent):
    """The job takes the web process's runs, or says the error that stopped them there
    (it does not compute them itself, with JAX), and JAX's fork warning is not printed."""
    pytest.importorskip("optax")
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _OPTAX_EXPORT, rule, parent],
        cwd=root,
        timeout=300,
        capture_output=True,
    )
    err = done.stderr.decode()
    assert done.returncode == 0, err[-2000:]
    assert "os.fork() was called" not in err
    out = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert out["handed"] == (1 if rule.startswith("optax:") else 0)  # only JAX's runs
    if parent == "fails":
        assert not out["status"] and out["msg"] == "the export budget ran out", out
    else:
        assert out["status"].startswith("✓ optviz-beale-contour.gif: 8 frames"), out
