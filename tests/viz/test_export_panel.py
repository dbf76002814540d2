"""The Export GIF panel's callback as a plain function: good exports, every bad input, slots."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import diskcache
import numpy as np
import psutil
import pytest
from dash import no_update
from PIL import Image

from viz import gif
from viz.scene import RADFORD_COLOURS, RADFORD_LABELS, get_preset
from viz.ui import callbacks, export_panel, ids, layout
from viz.ui.export_panel import BUSY, NO_SCENE, ExportSlots, export, scene_from_state

CAMERA = {"eye": {"x": 1.9, "y": -0.4, "z": 0.7}, "up": {"x": 0, "y": 0, "z": 1}}


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
    out = export(None, 1, "3d", "12", "", "240", "180", CAMERA, o.state, slots)
    data = base64.b64decode(out[0]["content"])
    scene = scene_from_state(o.state)
    # the same GIF as the renderer makes for that scene and camera; another camera differs
    assert data == gif.render_gif_bytes(scene, "3d", 12, None, (240, 180), CAMERA)
    assert data != gif.render_gif_bytes(scene, "3d", 12, None, (240, 180), None)
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
    flat = {"eye": {"x": 0, "y": 0, "z": 0}}
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


def test_a_slot_held_by_a_dead_process_is_taken_over(tmp_path):
    with diskcache.Cache(str(tmp_path / "c")) as cache:
        slots = ExportSlots(cache, limit=1)
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        cache.set(f"{slots.prefix}-0", int(dead.stdout))  # a job killed mid-way
        assert slots.busy() == 0
        key = slots.acquire()
        assert key is not None and cache.get(key) == os.getpid()
        assert slots.acquire() is None  # now really held (by a live process)


def test_a_failing_render_frees_its_slot(slots, monkeypatch):
    o = page_state()

    def boom(*a, **k):
        raise MemoryError("out of memory")

    monkeypatch.setattr(gif, "render_gif_bytes", boom)
    with pytest.raises(MemoryError):
        export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert slots.busy() == 0


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "x"))
    assert export_panel.cache_dir() == str(tmp_path / "x")
    manager = export_panel.make_manager()
    assert manager.handle.directory == str(tmp_path / "x")
    manager.handle.close()


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


def _job_writes_its_key(cache):
    def job(key, _progress_key, _args, _context):
        cache.set(key, "done")

    return job


def test_jobs_forked_while_other_threads_write_the_cache_can_write_it(tmp_path, monkeypatch):
    """A job forked while another thread of its worker is inside a cache write must not
    inherit that lock (SQLite's bookkeeping is per process): with Dash's own manager most
    such jobs could never write their result (1 of 20 did), and some hung holding the lock."""
    monkeypatch.setattr(export_panel, "CACHE_TIMEOUT", 3.0)
    manager = export_panel.make_manager(str(tmp_path / "c"))
    cache = manager.handle
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            with cache.transact():
                cache.set("busy", os.getpid())
                time.sleep(0.002)  # a write that takes a moment, as a poll's delete does

    writers = [threading.Thread(target=writer, daemon=True) for _ in range(3)]
    for t in writers:
        t.start()
    pids = []
    try:
        for i in range(12):
            pids.append(manager.call_job_fn(f"job-{i}", _job_writes_its_key(cache), (), {}))
            time.sleep(0.01)
        # The writers matter while the jobs are forked. Once they stop, a job with a clean
        # copy of the lock writes at once; one that inherited the lock never can. (Left
        # running, three threads re-taking the lock back to back starved a clean job's
        # SQLite busy wait past its timeout on a loaded machine: 3 runs in 5 failed.)
        stop.set()
        for t in writers:
            t.join(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(cache.get(f"job-{i}") == "done" for i in range(12)):
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for t in writers:
            t.join(timeout=10)
        for pid in pids:
            manager.terminate_job(pid)
    assert [cache.get(f"job-{i}") for i in range(12)] == ["done"] * 12


def test_a_job_that_vanishes_is_just_gone(tmp_path):
    manager = export_panel.make_manager(str(tmp_path / "c"))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(gone.stdout)
    assert manager.job_running(pid) is False
    manager.terminate_job(pid)  # no psutil.NoSuchProcess
    assert manager.terminate_unhealthy_job(pid) is True
    assert manager.get_result("no-such-key", pid) is manager.UNDEFINED


def test_a_result_written_just_before_the_job_exits_is_not_called_cancelled(tmp_path):
    """The poll looks for the result, then asks whether the job runs; a job that finished
    in between must still hand over its result (Dash answered 204, the GIF was lost)."""
    manager = export_panel.make_manager(str(tmp_path / "c"))
    pid = manager.call_job_fn("k", _job_writes_its_key(manager.handle), (), {})
    psutil.Process(pid).wait(timeout=20)
    real_get = manager.handle.get
    first = [True]

    def late_get(key, default=None, *args, **kwargs):
        if key == "k" and first[0]:  # the first look came just before the job wrote it
            first[0] = False
            return default
        return real_get(key, default, *args, **kwargs)

    manager.handle.get = late_get
    assert manager.get_result("k", pid) == "done"


def _job_writes_its_key_when(cache, go: Path):
    def job(key, _progress_key, _args, _context):
        while not go.exists():
            time.sleep(0.01)
        cache.set(key, "done")

    return job


def test_a_job_that_finishes_between_dashs_two_questions_is_not_called_cancelled(tmp_path):
    """Dash's poll asks get_result (nothing yet, the job runs), then job_running; a job
    that writes its result and exits in between was answered 204 and its GIF dropped.
    The same poll must hear "running", and the next one gets the result."""
    manager = export_panel.make_manager(str(tmp_path / "c"))
    go = tmp_path / "go"
    pid = manager.call_job_fn("k", _job_writes_its_key_when(manager.handle, go), (), {})
    assert manager.get_result("k", pid) is manager.UNDEFINED  # the poll's first question
    go.touch()
    psutil.Process(pid).wait(timeout=20)  # result written, job gone
    assert manager.job_running(pid) is True  # the same poll's second question
    assert manager.job_running(pid) is False  # afterwards: the truth
    assert manager.get_result("k", pid) == "done"  # the next poll


def _hold_the_cache_lock(directory: Path):
    """A process that keeps a write transaction open on the cache (a stale worker)."""
    code = (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(directory / 'cache.db')!r}, isolation_level=None)\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_startup_with_a_stale_lock_on_the_cache_does_not_hang(tmp_path, caplog):
    directory = tmp_path / "cache"
    export_panel.make_manager(str(directory)).handle.close()  # an earlier server's cache
    holder = _hold_the_cache_lock(directory)
    made = []
    try:
        t = threading.Thread(target=lambda: made.append(export_panel.make_manager(str(directory))))
        t.start()
        t.join(timeout=30)  # diskcache alone waits 60 s per statement, again and again
        assert not t.is_alive(), "make_manager blocked on the stale lock"
    finally:
        holder.kill()
        holder.wait()
    (manager,) = made
    assert manager.handle.directory != str(directory)  # a fresh one, said in the log
    assert "unusable" in caplog.text and str(directory) in caplog.text
    slots = ExportSlots(manager.handle, limit=1)
    assert slots.acquire() is not None  # and it works
    manager.handle.close()


def test_a_cache_that_is_not_a_database_does_not_stop_the_server(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir()
    (directory / "cache.db").write_bytes(b"not a database" * 100)
    manager = export_panel.make_manager(str(directory))
    assert manager.handle.directory != str(directory)
    manager.handle.set("x", 1)
    assert manager.handle.get("x") == 1


def test_a_locked_slot_cache_is_a_busy_message_not_a_traceback(slots, monkeypatch):
    o = page_state()

    def locked(*a, **k):
        raise diskcache.Timeout

    monkeypatch.setattr(slots, "acquire", locked)
    out = export(None, 1, "contour", "5", "", "", "", None, o.state, slots)
    assert out[0] is no_update and out[1] == BUSY


def test_export_jobs_run_at_a_lower_cpu_priority(tmp_path):
    manager = export_panel.make_manager(str(tmp_path / "c"))
    cache = manager.handle

    def job(key, _progress_key, _args, _context):
        cache.set(key, (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)))

    pid = manager.call_job_fn("nice", job, (), {})
    psutil.Process(pid).wait(timeout=20)
    nice, policy = cache.get("nice")
    assert nice == os.getpriority(os.PRIO_PROCESS, 0) + export_panel.JOB_NICE
    assert policy == os.SCHED_IDLE  # only CPU time that no callback wants
