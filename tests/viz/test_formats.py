"""MP4, WebM, WebP and APNG from the GIF's renderer (issue 19 item 1), each read back.

Every file is decoded by a reader of its own (Pillow for the images, imageio-ffmpeg's
ffmpeg for the videos; see ``tests/viz/media.py``) and checked for frame count, size,
duration per frame and codec; its last frame is compared with the GIF's last frame.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil
import pytest

from optimizers.budget import Budget, BudgetError
from tests.viz.media import mad, read
from viz import gif
from viz.gif import formats
from viz.scene import get_preset

FRAMES, FPS = 12, 20
SIZE = (331, 161)  # odd on purpose: the videos get one more column and row
OPTIONS = {"view": "both", "frames": FRAMES, "fps": FPS, "size": SIZE}
TOLERANCE = {"gif": 0, "apng": 3, "webp": 3, "mp4": 8, "webm": 8}  # in 1/255
KIND = {"gif": "GIF", "apng": "PNG", "webp": "WEBP", "mp4": "h264", "webm": "vp9"}


@pytest.fixture(scope="module")
def scene():
    return replace(get_preset("radford-saddle"), steps=30)


@pytest.fixture(scope="module")
def exported(scene, tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    trajectories = scene.compute()
    out = {}
    for fmt, f in formats.FORMATS.items():
        path = folder / f"saddle{f.extension}"
        info = gif.export_file(
            scene, path, trajectories=trajectories, counter=True, title="Saddle", **OPTIONS
        )
        assert info.format == fmt and info.bytes == path.stat().st_size
        out[fmt] = path
    return out


@pytest.mark.parametrize("fmt", ["gif", "apng", "webp", "mp4", "webm"])
def test_each_format_reads_back_with_its_frames_size_timing_and_codec(exported, fmt):
    m = read(exported[fmt])
    assert m.kind == KIND[fmt]
    assert m.frames == FRAMES
    if fmt in ("mp4", "webm"):
        assert m.size == (SIZE[0] + 1, SIZE[1] + 1)  # yuv420p: even
        assert m.pix_fmt.startswith("yuv420p")
    else:
        assert m.size == SIZE
    assert m.durations_ms == pytest.approx([1000 / FPS] * FRAMES)


@pytest.mark.parametrize("fmt", ["apng", "webp", "mp4", "webm"])
def test_the_last_frame_is_the_gifs(exported, fmt):
    ref = read(exported["gif"]).last
    last = read(exported[fmt]).last
    diff = mad(last, ref)
    assert (diff < TOLERANCE[fmt]).all(), diff
    if fmt in ("mp4", "webm"):  # the added column and row copy the last ones
        assert mad(last[:, -1:], last[:, -2:-1]).max() < TOLERANCE[fmt]


def test_the_comparison_can_fail(exported, scene, tmp_path):
    """A video of another moment (the first step, counter and all) is far from the GIF's
    last frame, so the check above has teeth."""
    path = tmp_path / "one.mp4"
    gif.export_file(
        replace(scene, steps=0), path, counter=True, title="Saddle", **{**OPTIONS, "frames": 1}
    )
    diff = mad(read(path).last, read(exported["gif"]).last)
    assert diff.max() > 1.0, diff


def test_the_counter_and_title_are_drawn(scene):
    plain = formats.render(scene, "apng", **OPTIONS)
    labelled = formats.render(scene, "apng", counter=True, title="Saddle", **OPTIONS)
    assert plain != labelled
    a = gif.iter_frames(scene, "both", FRAMES, SIZE)
    first = next(a)[1]
    assert first.shape == (SIZE[1], SIZE[0], 3)


def test_the_counter_changes_with_the_step(scene, tmp_path):
    """Two one-frame exports at different steps differ inside the counter's box only
    when the counter is on (the dots are masked out of it)."""
    from viz.gif.labels import Labels

    labels = Labels(SIZE, (SIZE[0] // 2, SIZE[1]), 30, None, True)
    x0, y0, x1, y1 = labels.counter_box
    assert not np.array_equal(labels.counter(3)[..., 0], labels.counter(30)[..., 0])
    shots = {}
    for steps in (3, 30):
        path = tmp_path / f"s{steps}.apng"
        gif.export_file(replace(scene, steps=steps), path, counter=True, **{**OPTIONS, "frames": 1})
        shots[steps] = read(path).last[y0:y1, x0:x1]
    assert not np.array_equal(shots[3], shots[30])


def test_unknown_extension_is_refused_with_the_list(scene, tmp_path):
    with pytest.raises(ValueError, match=r"\.avi.*\.gif, \.mp4, \.webm, \.webp, \.apng"):
        gif.export_file(scene, tmp_path / "x.avi", **OPTIONS)
    with pytest.raises(ValueError, match="no extension"):
        formats.format_of(tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("title", ["x" * 121, 3])
def test_a_bad_title_is_refused(scene, title):
    with pytest.raises(ValueError, match="title"):
        formats.render(scene, "gif", title=title, **OPTIONS)


def _ffmpeg_children():
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in os.path.basename(p.exe()) and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


@pytest.mark.parametrize("fmt", ["mp4", "webm", "webp"])
def test_a_cancel_stops_the_render_and_kills_ffmpeg(scene, tmp_path, fmt):
    seen = []

    def progress(done, total):
        seen.append(_ffmpeg_children())

    asked = iter(range(10**6))
    budget = Budget(10**12, 60.0, cancelled=lambda: next(asked) >= 3)
    path = tmp_path / f"x.{fmt}"
    with pytest.raises(BudgetError) as info:
        gif.export_file(scene, path, progress=progress, budget=budget, **OPTIONS)
    assert info.value.reason == "cancelled"
    assert len(seen) == 3
    if fmt != "webp":
        assert all(seen), "ffmpeg ran while the frames were made"
        for p in seen[-1]:
            assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
    assert _ffmpeg_children() == []
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_a_deadline_stops_the_render(scene, tmp_path):
    budget = Budget(10**12, 0.001)
    time.sleep(0.01)
    with pytest.raises(BudgetError, match="stopped after") as info:
        formats.render(scene, "mp4", budget=budget, **OPTIONS)
    assert info.value.reason == "deadline"
    assert _ffmpeg_children() == []


def test_too_many_pixels_are_refused_before_any_frame(scene):
    with pytest.raises(BudgetError, match="use fewer frames or a smaller size"):
        formats.render(scene, "mp4", budget=Budget(1000, 60.0), **OPTIONS)


def test_ffmpeg_dies_with_a_killed_renderer(tmp_path):
    """A job process killed mid-render (the app's cancel, a crash) takes ffmpeg with it."""
    script = textwrap.dedent(
        """
        import os, sys, psutil
        from dataclasses import replace
        from viz.gif import formats
        from viz.scene import get_preset
        sc = replace(get_preset("radford-saddle"), steps=2000)
        def progress(done, total):
            if done == 2:
                kids = [p.pid for p in psutil.Process().children() if "ffmpeg" in p.name()]
                print(kids[0], flush=True)
        formats.render(sc, "mp4", view="both", frames=1000, size=(1920, 1080),
                       progress=progress)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pid = int(child.stdout.readline())
        ffmpeg = psutil.Process(pid)
        assert ffmpeg.is_running()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        ffmpeg.wait(10)  # raises TimeoutExpired if it outlived its parent
    finally:
        if child.poll() is None:
            child.kill()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_delays_in_ms_follow_the_fps():
    assert formats.frame_delays_ms(3, 30) == [33, 34, 33]
    assert sum(formats.frame_delays_ms(300, 30)) == 10_000
