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
    if fmt == "mp4":
        assert m.size == (SIZE[0] + 1, SIZE[1] + 1)  # yuv420p: even
        assert m.pix_fmt.startswith("yuv420p(tv, bt709")
    elif fmt == "webm":
        assert m.size == SIZE  # 4:4:4 takes any size
        assert m.pix_fmt.startswith("yuv444p(tv, bt709")
    else:
        assert m.size == SIZE
    assert m.durations_ms == pytest.approx([1000 / FPS] * FRAMES)


@pytest.mark.parametrize("fmt", ["apng", "webp", "mp4", "webm"])
def test_the_last_frame_is_the_gifs(exported, fmt):
    ref = read(exported["gif"]).last
    last = read(exported[fmt]).last
    diff = mad(last, ref)
    assert (diff < TOLERANCE[fmt]).all(), diff
    if fmt == "mp4":  # the added column and row copy the last ones
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


# BT.709's limited-range values of pure colours (Y, Cb, Cr), as tables of the standard
# list them: Y = 16 + 219 (0.2126 R + 0.7152 G + 0.0722 B), Cb and Cr 128 ± 224/2 at most
BT709 = {
    (255, 0, 0): (63, 102, 240),
    (0, 255, 0): (173, 42, 26),
    (0, 0, 255): (32, 240, 118),
    (255, 255, 255): (235, 128, 128),
    (0, 0, 0): (16, 128, 128),
}


def paletted(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An RGB frame as (indices, colours), the renderer's form of a frame."""
    colours, inverse = np.unique(frame.reshape(-1, 3), axis=0, return_inverse=True)
    return inverse.reshape(frame.shape[:2]).astype(np.uint8), colours


@pytest.mark.parametrize("subsample", [False, True])
def test_flat_colours_become_bt709_limited_range(subsample):
    colours = np.array(list(BT709), dtype=np.uint8)
    frame = np.repeat(np.repeat(colours[None], 2, axis=0), 2, axis=1)  # 2×2 of each
    h, w = frame.shape[:2]
    data = np.frombuffer(formats.yuv_planes(*paletted(frame), subsample), dtype=np.uint8)
    cw, ch = (w // 2, h // 2) if subsample else (w, h)
    assert data.size == w * h + 2 * cw * ch
    y = data[: w * h].reshape(h, w)[0, ::2]
    cb = data[w * h : w * h + cw * ch].reshape(ch, cw)[0, :: cw // len(colours)]
    cr = data[w * h + cw * ch :].reshape(ch, cw)[0, :: cw // len(colours)]
    assert list(zip(y.tolist(), cb.tolist(), cr.tolist(), strict=True)) == list(BT709.values())


def _decode_nearest(y, cb, cr):
    """RGB (0..255, unrounded) that BT.709 gives for luma ``y`` and its block's colour."""
    yy, u, v = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
    r, b = yy + 1.5748 * v, yy + 1.8556 * u
    g = (yy - 0.2126 * r - 0.0722 * b) / 0.7152
    return np.stack([r, g, b], axis=-1) * 255


def test_each_420_luma_is_the_closest_for_its_blocks_colour():
    """yuv420p: every pixel's luma is, within rounding, the one of all 220 that decodes
    (with its 2×2 block's shared colour) nearest to the pixel's RGB, by brute force; on a
    red line against white that is nearer than the usual luma."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)  # 96 colours, 2 more below
    frame[4] = (200, 0, 0)  # a thin red line on white
    frame[5] = 255
    data = np.frombuffer(formats.yuv_planes(*paletted(frame), True), dtype=np.uint8).astype(float)
    y = data[:96].reshape(8, 12)
    cb = np.repeat(np.repeat(data[96:120].reshape(4, 6), 2, 0), 2, 1)
    cr = np.repeat(np.repeat(data[120:].reshape(4, 6), 2, 0), 2, 1)
    values = np.arange(16, 236, dtype=float)[:, None, None]
    err = ((_decode_nearest(values, cb, cr) - frame) ** 2).sum(axis=-1)  # (220, 8, 12)
    assert (np.abs(y - 16 - err.argmin(axis=0)) <= 1).all()  # rounding: at most one step
    assert (y - 16 == err.argmin(axis=0)).mean() > 0.6  # mostly exactly the best
    mine = ((_decode_nearest(y, cb, cr) - frame) ** 2).sum(axis=-1)[4:6]
    usual = np.rint(16 + 219 * (frame @ np.array([0.2126, 0.7152, 0.0722]) / 255))
    assert mine.sum() < ((_decode_nearest(usual, cb, cr) - frame) ** 2).sum(axis=-1)[4:6].sum()


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_a_video_is_tagged_and_read_back_with_its_matrix(tmp_path, fmt):
    """Flat colours come back within 3/255 when read through the file's BT.709 tag;
    read as BT.601 (what an untagged small video is taken for) they would be ~20 off."""
    colours = np.array([*list(BT709)[:3], (255, 200, 0), (40, 160, 255)], dtype=np.uint8)
    frame = np.repeat(np.repeat(colours[None], 32, axis=0), 32, axis=1)  # 32 × 160
    path = tmp_path / f"flat.{fmt}"
    with open(path, "wb") as fp:
        assert formats.encode_video(fmt, fp, iter([paletted(frame)] * 3), (160, 32), 10) == 3
    m = read(path)
    assert "bt709" in m.pix_fmt
    centres = m.last[16, 16::32].astype(int)
    assert np.abs(centres - colours).max() <= 3, centres


def test_delays_in_ms_follow_the_fps():
    assert formats.frame_delays_ms(3, 30) == [33, 34, 33]
    assert sum(formats.frame_delays_ms(300, 30)) == 10_000
