"""MP4, WebM, WebP and APNG from the GIF's renderer (issue 19 item 1), each read back.

Every file is decoded by a reader of its own (Pillow for the images, imageio-ffmpeg's
ffmpeg for the videos; see ``tests/viz/media.py``) and checked for frame count, size,
duration per frame and codec; its last frame is compared with the GIF's last frame.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
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
    # its folder stayed (nothing ran to remove it): the next export's sweep removes it
    formats.sweep_video_folders()
    assert not glob.glob(
        os.path.join(tempfile.gettempdir(), f"{formats.VIDEO_PREFIX}{child.pid}-*")
    )


def test_the_sweep_removes_only_our_dead_renderers_folders(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead, live = int(done.stdout), os.getpid()
    prefix = formats.VIDEO_PREFIX
    (tmp_path / f"{prefix}{dead}-a").mkdir()
    (tmp_path / f"{prefix}{dead}-a" / "out.mp4").write_bytes(b"x")
    (tmp_path / f"{prefix}{live}-b").mkdir()  # a renderer still at work
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep").write_bytes(b"x")
    (tmp_path / f"{prefix}{dead}-c").symlink_to(tmp_path / "victim")
    (tmp_path / f"{prefix}{dead}-d").write_bytes(b"x")  # not a folder
    (tmp_path / f"{prefix}99999999999999999999-e").mkdir()  # no pid of this machine
    assert formats.sweep_video_folders(str(tmp_path)) == 1
    left = sorted(p.name for p in tmp_path.iterdir())
    assert f"{prefix}{dead}-a" not in left and f"{prefix}{live}-b" in left
    assert (tmp_path / "victim" / "keep").exists() and f"{prefix}{dead}-c" in left


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


def _shown(y, cb, cr):
    """What a player shows (RGB 0..255 codes) for luma ``y`` and a block's Cb, Cr codes."""
    return np.clip(np.rint(_decode_nearest(y, cb, cr)), 0, 255)


def _planes_420(frame):
    """yuv_planes of an RGB frame as (Y, Cb, Cr), the chroma repeated over its 2×2 pixels."""
    h, w = frame.shape[:2]
    data = np.frombuffer(formats.yuv_planes(*paletted(frame), True), dtype=np.uint8).astype(float)
    n = h * w // 4
    up = lambda c: np.repeat(np.repeat(c.reshape(h // 2, w // 2), 2, 0), 2, 1)  # noqa: E731
    return data[: h * w].reshape(h, w), up(data[h * w : h * w + n]), up(data[h * w + n :])


def _best_luma_error(frame, cb, cr):
    """Per pixel, the least absolute error (summed over R, G, B) of all 220 luma codes
    with the given chroma, by brute force."""
    values = np.arange(16, 236, dtype=float)[:, None, None]
    return np.abs(_shown(values, cb, cr) - frame).sum(axis=-1).min(axis=0)


def test_each_420_luma_is_the_closest_for_its_blocks_colour():
    """yuv420p: every pixel's luma shows, with its 2×2 block's shared colour, the least
    absolute error of all 220 codes (brute force; float32 rounding: one step at most)."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)  # 96 colours, 2 more below
    frame[4] = (200, 0, 0)  # a thin red line on white
    frame[5] = 255
    y, cb, cr = _planes_420(frame)
    mine = np.abs(_shown(y, cb, cr) - frame).sum(axis=-1)
    best = _best_luma_error(frame, cb, cr)
    assert (mine <= best + 1).all()
    assert (mine == best).mean() > 0.9


def _usual_chroma(rgb):
    """BT.709 Cb, Cr codes of RGB 0..255 (..., 3), unrounded."""
    y = rgb @ np.array([0.2126, 0.7152, 0.0722]) / 255
    return 128 + 224 * (rgb[..., 2] / 255 - y) / 1.8556, 128 + 224 * (
        rgb[..., 0] / 255 - y
    ) / 1.5748


def _mean_colour_error(frame):
    """The absolute error of the previous 4:2:0 conversion: each 2×2 block's mean colour,
    each pixel's least-squares luma."""
    h, w = frame.shape[:2]
    ucb, ucr = _usual_chroma(frame.astype(float))
    mean = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731
    up = lambda c: np.repeat(np.repeat(c, 2, 0), 2, 1)  # noqa: E731
    cb, cr = up(np.rint(mean(ucb))), up(np.rint(mean(ucr)))
    shift = _decode_nearest(16.0, cb, cr) - _decode_nearest(16.0, 128.0, 128.0)
    y = np.clip(np.rint(16 + 219 * ((frame - shift).mean(axis=-1) / 255)), 16, 235)
    return np.abs(_shown(y, cb, cr) - frame).sum()


@pytest.mark.parametrize(
    "block",
    [
        [(200, 0, 0), (255, 255, 255), (255, 255, 255), (255, 255, 255)],  # a line's corner
        [(200, 0, 0), (200, 0, 0), (255, 255, 255), (255, 255, 255)],  # a line across
        [(250, 230, 0), (255, 255, 255), (255, 255, 255), (40, 160, 255)],  # two lines
        [(30, 60, 200), (30, 60, 200), (30, 60, 200), (255, 255, 255)],
    ],
)
def test_each_420_block_colour_is_one_of_its_pixels_nearest(block):
    """A 2×2 block's shared colour is, by brute force over its pixels' own colours (each
    pixel with its best luma), the nearest (sum of absolute differences) but for the
    favour given to saturated colours, and nearer than the previous conversion (mean
    colour, least-squares luma). A red line beside white stays red."""
    frame = np.array(block, dtype=np.uint8).reshape(2, 2, 3)
    y, cb, cr = _planes_420(frame)
    shown = _shown(y, cb, cr)
    mine = np.abs(shown - frame).sum()
    ucb, ucr = _usual_chroma(np.asarray(block, dtype=float))
    errors = [
        _best_luma_error(frame, np.full((2, 2), np.rint(b)), np.full((2, 2), np.rint(r))).sum()
        for b, r in zip(ucb, ucr, strict=True)
    ]
    saturation = np.hypot(ucb - 128, ucr - 128)
    assert min(errors) <= mine <= min(errors) + 2.0 * np.ptp(saturation) + 1
    assert mine < _mean_colour_error(frame)
    if block[0] == (200, 0, 0):
        assert shown[0, 0, 0] > shown[0, 0, 1:].max() + 100, shown[0, 0]


def test_a_420_line_beside_white_is_nearer_than_with_the_mean_colour():
    """One-pixel lines on white (a red diagonal: 1 red + 3 white per block, and a blue
    column): the chosen colours show them nearer than the previous conversion did."""
    frame = np.full((8, 8, 3), 255, dtype=np.uint8)
    frame[np.arange(8), np.arange(8)] = (200, 0, 0)
    frame[:, 5] = (0, 90, 200)
    y, cb, cr = _planes_420(frame)
    assert np.abs(_shown(y, cb, cr) - frame).sum() < 0.9 * _mean_colour_error(frame)


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


def test_a_videos_frames_converted_with_the_memo_equal_each_frame_alone():
    """The memo reuses the previous frame's choice for unchanged blocks only: every frame's
    planes equal those of the frame converted on its own (a line moving over a pattern)."""
    rng = np.random.default_rng(3)
    palette = rng.integers(0, 256, (12, 3)).astype(np.uint8)
    base = rng.integers(0, 12, (40, 60)).astype(np.uint8)
    memo: dict = {}
    for k in range(6):
        indices = base.copy()
        indices[10 + k : 13 + k, 5 : 50 - k] = (k * 5) % 12  # a moving, shrinking stroke
        alone = formats.yuv_planes(indices, palette, True)
        assert formats.yuv_planes(indices, palette, True, memo) == alone
    assert memo["quad"].shape == (20, 30, 4)  # it was used, frame after frame
    other = palette[::-1].copy()  # another palette: nothing reused
    assert formats.yuv_planes(base, other, True, memo) == formats.yuv_planes(base, other, True)


def test_a_classifier_map_draws_its_counter_and_title_too(tmp_path):
    """Radford's noisy moons (a map over its accuracy strip): the title is drawn and the
    counter counts, as in any other contour export."""
    from viz.gif import accuracy
    from viz.gif.labels import Labels

    moons = replace(get_preset("radford-noisy-moons"), steps=30)
    size = (320, 330)
    assert accuracy.has_strip(moons, "contour")
    labels = Labels(size, (size[0], size[1] - accuracy.strip_height(size[1])), 30, "Moons", True)
    last = {}
    for title in (None, "Moons"):
        path = tmp_path / f"{title}.apng"
        options = {"view": "contour", "frames": 2, "size": size}
        gif.export_file(moons, path, title=title, counter=title is not None, **options)
        last[title] = read(path).last
    for x0, y0, x1, y1 in (labels.title_box, labels.counter_box):
        assert not np.array_equal(last[None][y0:y1, x0:x1], last["Moons"][y0:y1, x0:x1])
