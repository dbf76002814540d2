"""GIF export: what Pillow reads back (frames, size, loop, timing), that trails move the way
the trajectory goes, the option limits, and that the 3-D hidden-path test matches ray casting.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageSequence

from optimizers import get_optimizer, run
from viz.gif import (
    MAX_FRAMES,
    export_gif,
    frame_delays,
    frame_steps,
    iter_frames,
    render_gif_bytes,
    surface3d,
)
from viz.gif.contour import ContourPanel
from viz.gif.raster import font as raster_font
from viz.gif.raster import nice_ticks
from viz.gif.raster import rgb as raster_rgb
from viz.gif.surface3d import SurfacePanel
from viz.scene import RunSpec, Scene, get_preset
from viz.scene.geometry import axis_titles

RED, BLUE = "#ff0000", "#0000ff"


def one_run_scene(
    surface="quadratic", start=(-1.5, 1.2), steps=60, lr=0.03, colour=RED, **extra
) -> Scene:
    run_spec = RunSpec("sgd", {"lr": lr}, "SGD", colour)
    return Scene("t", "t", "", surface, start, steps, (run_spec,), **extra)


def two_run_scene() -> Scene:
    runs = (RunSpec("sgd", {"lr": 0.05}, "SGD", RED), RunSpec("momentum", {"lr": 0.01}, "M", BLUE))
    return Scene("t2", "t2", "", "saddle", (0.7, 0.3), 80, runs)


def read(data: bytes):
    return Image.open(io.BytesIO(data))


def rgb_frames(im) -> list[np.ndarray]:
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def colour_pixels(frame: np.ndarray, colour, tol=40) -> np.ndarray:
    """(x, y) of the pixels within ``tol`` of ``colour`` (each channel)."""
    diff = np.abs(frame.astype(int) - np.array(colour)).max(axis=-1)
    ys, xs = np.nonzero(diff <= tol)
    return np.stack([xs, ys], axis=1).astype(float)


# ----------------------------------------------------------------------------- the file


@pytest.mark.parametrize("view", ["contour", "3d", "both"])
def test_pillow_reads_frames_size_loop_and_duration(tmp_path, view):
    scene = one_run_scene(steps=50)
    size = (400, 240) if view == "both" else (240, 200)
    info = export_gif(scene, tmp_path / "a.gif", view=view, frames=24, fps=20, size=size)
    im = Image.open(tmp_path / "a.gif")
    assert im.n_frames == 24 == info.frames
    assert im.size == size == info.size
    assert im.info["loop"] == 0
    durations = []
    for frame in ImageSequence.Iterator(im):
        assert frame.size == size
        durations.append(frame.info["duration"])
    assert durations == [50] * 24  # 1000 / fps
    assert info.bytes == (tmp_path / "a.gif").stat().st_size


def test_delays_keep_the_rate_when_fps_does_not_divide_100():
    delays = frame_delays(30, 30)  # 33.3 ms per frame in 10 ms units
    assert set(delays) <= {3, 4}
    assert sum(delays) == 100  # 30 frames at 30 fps last exactly one second
    scene = one_run_scene(steps=40)
    im = read(render_gif_bytes(scene, frames=30, fps=30, size=(120, 100)))
    got = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert sum(got) == 1000 and set(got) <= {30, 40}


def test_frames_spread_over_the_run_with_the_last_step_shown():
    steps = frame_steps(1000, 120)
    assert len(steps) == 120 and steps[0] == 0 and steps[-1] == 1000
    assert np.all(np.diff(steps) > 0)
    assert np.ptp(np.diff(steps)) <= 1  # evenly spread: every k-th step, k varying by ≤ 1
    assert list(frame_steps(5, 50)) == [0, 1, 2, 3, 4, 5]  # never more frames than steps
    assert list(frame_steps(9, 1)) == [9]


def test_gif_holds_exactly_the_rendered_frames():
    """The changed-rectangle encoding (transparency, disposal) decodes to the full frames."""
    scene = two_run_scene()
    opts = {"view": "contour", "frames": 15, "size": (220, 180)}
    expected = [rgb for _, rgb in iter_frames(scene, **opts)]
    decoded = rgb_frames(read(render_gif_bytes(scene, fps=10, **opts)))
    assert len(decoded) == len(expected) == 15
    for want, got in zip(expected, decoded, strict=True):
        np.testing.assert_array_equal(got, want)


def test_later_frames_store_only_what_changed():
    scene = one_run_scene(steps=100)
    im = read(render_gif_bytes(scene, frames=40, size=(400, 300)))
    im.seek(20)
    x0, y0, x1, y1 = im.dispose_extent
    assert (x1 - x0) * (y1 - y0) < 0.1 * 400 * 300


def test_export_equals_bytes_and_reports_progress(tmp_path):
    scene = one_run_scene(steps=30)
    calls = []
    info = export_gif(
        scene,
        tmp_path / "p.gif",
        frames=10,
        size=(120, 100),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(k, 10) for k in range(1, 11)]
    assert (tmp_path / "p.gif").read_bytes() == render_gif_bytes(scene, frames=10, size=(120, 100))
    assert info.seconds > 0 and str(tmp_path / "p.gif") in str(info)


def test_defaults_come_from_the_scene():
    scene = one_run_scene(steps=30)  # style: 620×480, 25 fps
    im = read(render_gif_bytes(scene))
    assert im.size == (620, 480) and im.n_frames == 31 and im.info["duration"] == 40
    both = read(render_gif_bytes(scene, view="both", frames=3))
    assert both.size == (1240, 480)


def test_given_trajectories_are_drawn_instead_of_computed():
    scene = one_run_scene(steps=20)
    mirrored = run(get_optimizer("sgd", lr=0.03), scene.get_surface(), (1.5, -1.2), 20)
    a = rgb_frames(read(render_gif_bytes(scene, frames=5, size=(160, 120))))
    b = rgb_frames(
        read(render_gif_bytes(scene, frames=5, size=(160, 120), trajectories=[mirrored]))
    )
    assert not np.array_equal(a[-1], b[-1])
    with pytest.raises(ValueError, match="one per run"):
        render_gif_bytes(scene, trajectories=[mirrored, mirrored])


# ----------------------------------------------------------------------------- motion


def head_along(points: np.ndarray, direction: np.ndarray) -> float:
    """How far the run's pixels reach along ``direction``."""
    return float(np.max(points @ direction))


@pytest.mark.parametrize("view", ["contour", "3d"])
def test_trail_pixels_move_in_the_trajectory_direction(view):
    """The red run's pixels advance along its projected path and its head sits on it."""
    scene = one_run_scene(steps=60, lr=0.02)
    size = (320, 260)
    runs = scene.resolved_runs()
    camera = {"eye": {"x": -1.0, "y": -1.2, "z": 2.2}}  # from high up: the whole bowl shows
    if view == "contour":
        panel = ContourPanel(scene, runs, size, (0, 0))
    else:
        panel = SurfacePanel(scene, runs, size, (0, 0), camera)
    traj = scene.compute()[0].points
    pix = panel.mover((255, 0, 0), traj).pix
    steps_shown = frame_steps(scene.steps, 8)
    ends = pix[panel.mover((255, 0, 0), traj).vertex_of_step[steps_shown]]
    frames = rgb_frames(
        read(render_gif_bytes(scene, view=view, frames=8, size=size, camera=camera))
    )
    assert len(frames) == 8
    direction = ends[-1] - ends[0]
    direction /= np.linalg.norm(direction)
    reach = []
    for frame, end in zip(frames, ends, strict=True):
        red = colour_pixels(frame, (255, 0, 0))
        red = red[panel.allowed[red[:, 1].astype(int), red[:, 0].astype(int)] > 0]  # no legend
        assert len(red) > 0
        reach.append(head_along(red, direction))
        # the head of the red pixels is at the frame's current point (within a dot radius)
        nearest = np.min(np.hypot(*(red - end).T))
        assert nearest < 2.0
    assert all(b > a for a, b in itertools.pairwise(reach)), reach
    expected = ends @ direction
    np.testing.assert_allclose(np.array(reach) - expected, reach[0] - expected[0], atol=3.0)


def test_both_views_move_in_lockstep():
    scene = one_run_scene(steps=40, lr=0.03)
    w, h = 480, 200
    camera = {"eye": {"x": -1.0, "y": -1.2, "z": 2.2}}
    frames = rgb_frames(
        read(render_gif_bytes(scene, view="both", frames=5, size=(w, h), camera=camera))
    )
    left_counts, right_counts = [], []
    for f in frames:
        left_counts.append(len(colour_pixels(f[:, : w // 2 - 60], (255, 0, 0))))  # not its legend
        right_counts.append(len(colour_pixels(f[h // 3 :, w // 2 :], (255, 0, 0))))
    # each half's trail grows frame after frame, together
    assert all(b > a for a, b in itertools.pairwise(left_counts))
    assert all(b > a for a, b in itertools.pairwise(right_counts))


def test_frames_where_nothing_moves_are_kept():
    """A run sitting at the minimum: identical frames stay frames (the clock keeps time)."""
    scene = one_run_scene(start=(0.0, 0.0), steps=30)
    im = read(render_gif_bytes(scene, frames=12, fps=10, size=(160, 120)))
    assert im.n_frames == 12
    frames = rgb_frames(im)
    assert all(np.array_equal(frames[0], f) for f in frames[1:])
    assert sum(f.info["duration"] for f in ImageSequence.Iterator(im)) == 1200


def test_orthographic_camera_is_honoured():
    scene = one_run_scene(steps=20)
    eye = {"x": -1.2, "y": -1.4, "z": 1.0}
    persp = rgb_frames(
        read(render_gif_bytes(scene, view="3d", frames=2, size=(200, 160), camera={"eye": eye}))
    )
    ortho = rgb_frames(
        read(
            render_gif_bytes(
                scene,
                view="3d",
                frames=2,
                size=(200, 160),
                camera={"eye": eye, "projection": {"type": "orthographic"}},
            )
        )
    )
    assert not np.array_equal(persp[-1], ortho[-1])
    # in an orthographic view the box's parallel vertical edges stay parallel on screen
    panel = SurfacePanel(
        scene,
        scene.resolved_runs(),
        (200, 160),
        (0, 0),
        {"eye": eye, "projection": {"type": "orthographic"}},
    )
    c = panel.cam(panel.corners)  # corners ordered x, y, z in (-1, 1)
    edges = c[1::2] - c[0::2]  # each corner's vertical edge (z from -1 to 1)
    np.testing.assert_allclose(edges, np.broadcast_to(edges[0], edges.shape), atol=1e-6)


def test_a_diverging_run_still_exports():
    scene = one_run_scene(steps=40, lr=5.0)  # SGD blows up on the bowl
    im = read(render_gif_bytes(scene, frames=10, size=(160, 120)))
    assert im.n_frames == 10


# ----------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frames": MAX_FRAMES + 1}, "frames must be between 1 and 1,000"),
        ({"frames": 0}, "frames must be between 1 and 1,000"),
        ({"frames": 2.5}, "frames must be a whole number"),
        ({"size": (4000, 3000)}, "size must be at most 1920×1080"),
        ({"size": (1921, 600)}, "size must be at most 1920×1080"),
        ({"size": (20, 20)}, "size must be at least 64×64"),
        ({"size": "big"}, "size must be"),
        ({"fps": 0}, "fps must be between 1 and 50"),
        ({"fps": 120}, "fps must be between 1 and 50"),
        ({"view": "side"}, "view must be one of contour, 3d, both"),
        ({"camera": {"eye": {"x": 0, "y": 0}}}, "camera eye must have numbers"),
        ({"camera": {"eye": {"x": 0, "y": 0, "z": 0}}}, "camera eye must differ"),
    ],
)
def test_bad_options_raise_a_clear_error_and_write_nothing(tmp_path, kwargs, message):
    scene = one_run_scene(steps=1500)
    target = tmp_path / "never.gif"
    with pytest.raises(ValueError, match=message):
        export_gif(scene, target, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_the_largest_allowed_options_are_accepted(tmp_path):
    scene = one_run_scene(steps=1200)
    info = export_gif(scene, tmp_path / "big.gif", frames=1000, size=(1920, 1080), fps=50)
    im = Image.open(tmp_path / "big.gif")
    assert im.n_frames == info.frames == 1000 and im.size == (1920, 1080)
    assert im.info["duration"] == 20


# ----------------------------------------------------------------------------- 3-D


def ray_hidden(panel: SurfacePanel, box_pt: np.ndarray, samples: int = 400) -> bool:
    """Ray casting: does the segment eye → point cross the surface before reaching it?"""
    eye = panel.cam.eye
    ts = np.linspace(0.0, 0.97, samples)
    ray = eye + ts[:, None] * (box_pt - eye)
    (x0, x1), (y0, y1) = panel.window
    x = (ray[:, 0] / (2 * panel.half[0]) + 0.5) * (x1 - x0) + x0
    y = (ray[:, 1] / (2 * panel.half[1]) + 0.5) * (y1 - y0) + y0
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    z = panel.to_box(x, y, panel.surface.value(np.stack([x, y], -1)))[:, 2]
    above = ray[:, 2] - z
    sign = np.sign(above[inside])
    return bool(np.any(sign != sign[-1])) if sign.size else False


def test_hidden_path_pieces_agree_with_ray_casting():
    """Points on the saddle seen from a low camera: hidden or not, as a ray would tell."""
    scene = one_run_scene(surface="saddle", start=(0.7, 1e-5))
    camera = {"eye": {"x": 2.0, "y": 0.4, "z": 0.25}}
    panel = SurfacePanel(scene, scene.resolved_runs(), (320, 260), (0, 0), camera)
    rng = np.random.default_rng(1)
    pts = rng.uniform((-1.4, -1.4), (0.9, 0.9), (300, 2))
    z = panel.surface.value(pts)
    box = panel.to_box(pts[:, 0], pts[:, 1], z)
    ok = np.all(np.abs(box) <= panel.half, axis=1)
    box = box[ok]
    ours = ~panel._visible(box, panel.cam(box))
    truth = np.array([ray_hidden(panel, b) for b in box])
    assert truth.sum() > 20 and (~truth).sum() > 20  # the camera sees both kinds
    assert np.mean(ours == truth) > 0.93


def test_export_gif_never_writes_through_a_planted_part_file_or_over_a_device(tmp_path):
    """The library path writes as safely as the CLI (viz.files): a symlink planted at the
    old predictable ``F.part`` is never followed, and a FIFO at ``F`` is refused."""
    import os

    from viz.files import UnsafeTarget

    scene = one_run_scene()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    target = tmp_path / "x.gif"
    os.symlink(outside, f"{target}.part")
    info = export_gif(scene, target, frames=3)
    assert outside.read_text() == "keep me" and target.stat().st_size == info.bytes
    fifo = tmp_path / "pipe.gif"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeTarget, match="not a regular file"):
        export_gif(scene, fifo, frames=3)


# ----------------------------------------------------------------------------- the legend


def _legend_panel(scene, size=(800, 600), avoid=()):
    runs = scene.resolved_runs()
    paths = [t.points for t in scene.compute()]
    return ContourPanel(scene, runs, size, (0, 0), paths, avoid), paths


def _covered(box, pixels) -> np.ndarray:
    x0, y0, x1, y1 = box
    return (pixels[:, 0] >= x0) & (pixels[:, 0] <= x1) & (pixels[:, 1] >= y0) & (pixels[:, 1] <= y1)


@pytest.mark.parametrize("name", ["radford-long-valley", "radford-beale"])
def test_the_legend_stays_top_right_where_it_hides_nothing(name):
    panel, _ = _legend_panel(get_preset(name))
    _, y0, x1, _ = panel.legend_at
    assert x1 == pytest.approx(panel.plot[2] - 8 * panel.u)  # Radford's corner
    assert y0 == pytest.approx(panel.plot[1] + 8 * panel.u)


def test_the_legend_moves_off_the_minimum_a_run_ends_in():
    scene = get_preset("himmelblau-basins")  # every corner holds a minimum; Lion's is top right
    panel, paths = _legend_panel(scene)
    ends = panel.to_pixels(np.array([p[-1] for p in paths]))
    assert not _covered(panel.legend_at, ends).any()
    top_right = panel.to_pixels(np.array([3.0, 2.0]))
    frame = list(iter_frames(scene, "contour", frames=2, size=(800, 600)))[-1][1]
    x, y = np.rint(top_right).astype(int)
    lion = scene.resolved_runs()[-1]
    assert lion.optimizer == "lion"
    assert len(colour_pixels(frame[y - 20 : y + 20, x - 20 : x + 20], raster_rgb(lion.colour))) > 0


def test_eleven_runs_leave_the_star_and_every_end_dot_whole():
    """rosenbrock-race's legend is 11 rows tall: its edge ran through the star at (1, 1)
    and Newton's last dot. Now no part of a star or end dot is under it."""
    scene = get_preset("rosenbrock-race")
    panel, paths = _legend_panel(scene)
    x0, y0, x1, y1 = panel.legend_at
    star = panel.to_pixels(np.array([1.0, 1.0]))
    ends = panel.to_pixels(np.array([p[np.isfinite(p).all(axis=1)][-1] for p in paths]))
    for (x, y), r in [(star, 13 * panel.u), *((e, panel.dot_radius) for e in ends)]:
        assert x + r < x0 or x - r > x1 or y + r < y0 or y - r > y1, (x, y, r)


def test_the_legend_keeps_clear_of_the_title_and_counter():
    scene = get_preset("himmelblau-basins")
    title, counter = (68, 18, 300, 40), (68, 500, 200, 522)
    panel, paths = _legend_panel(scene, avoid=(title, counter))
    x0, y0, x1, y1 = panel.legend_at
    for a, b, c, d in (title, counter):
        assert not (a < x1 and x0 < c and b < y1 and y0 < d)
    ends = panel.to_pixels(np.array([p[-1] for p in paths]))
    assert not _covered(panel.legend_at, ends).any()


def _title_and_label_columns(scene, size=(800, 600)):
    """(the y title's last inked column, the tick labels' first) in the first frame, each
    read in rows where only it is drawn."""
    frame = next(iter_frames(scene, "contour", frames=1, size=size))[1]
    panel = ContourPanel(scene, scene.resolved_runs(), size, (0, 0))
    x0, y0, _, y1 = panel.plot
    u = panel.u
    ink = frame[:, : round(x0 - 7 * u)].max(axis=-1) < 140  # text, not the tick marks
    title = axis_titles(scene.get_surface())[1]
    half = raster_font(max(round(13 * u), 8)).getlength(title) / 2 + 2
    middle = (y0 + y1) / 2
    (lo, hi), ticks = scene.window()[1], []
    ticks = [panel.to_pixels(np.array([0.0, v]))[1] for v in nice_ticks(lo, hi, 8)]
    rows = np.arange(y0, y1)
    near_tick = np.min(np.abs(rows[:, None] - np.array(ticks)[None, :]), axis=1) <= 10 * u
    in_title = np.abs(rows - middle) <= half
    title_cols = np.flatnonzero(ink[rows[in_title & ~near_tick]].any(axis=0))
    label_cols = np.flatnonzero(ink[rows[near_tick & ~in_title]].any(axis=0))
    return title_cols.max(), label_cols.min(), panel


@pytest.mark.parametrize("plane", ["pca", "random"])
def test_the_y_title_keeps_clear_of_long_tick_labels(plane):
    """A network plane's ticks read −0.125 and its title is "b (random)": the margin
    widens so that blank columns separate them."""
    spec = replace(get_preset("network-moons").network, plane=plane, steps=40, grid=24)
    title_end, labels_start, _ = _title_and_label_columns(Scene.of_network(spec))
    assert labels_start - title_end >= 2


def test_a_run_that_diverges_off_the_3d_box_leaves_no_dot_behind():
    """SGD α = 0.12 on lr-too-high leaves the box, then diverges at step 84: its dot must
    not jump back to the last point it had inside the box (step 3, on the far peak)."""
    scene = get_preset("lr-too-high")
    runs, trajs = scene.resolved_runs(), scene.compute()
    i = next(k for k, t in enumerate(trajs) if t.diverged_at is not None)
    panel = SurfacePanel(scene, runs, (800, 600), (0, 0), scene.style.camera)
    mover = panel.mover((255, 0, 0), trajs[i].points)
    after = mover.vertex_of_step[trajs[i].diverged_at + 1 :]
    assert mover.offview[after].all()
    steady = panel.mover((255, 0, 0), trajs[0].points)  # one that converges keeps its dot
    assert trajs[0].diverged_at is None and not steady.offview[steady.vertex_of_step[-1]]
    flat = ContourPanel(scene, runs, (800, 600), (0, 0)).mover((255, 0, 0), trajs[i].points)
    x0, y0, x1, y1 = flat.panel.plot  # the contour view: its last point is off the map too
    x, y = flat.pix[flat.last_finite(len(flat.pix) - 1)]
    assert not (x0 <= x <= x1 and y0 <= y <= y1)


def test_tick_labels_of_a_small_export_are_still_8_pixels():
    """At 320×240 the tick labels were drawn at 8 px in the 2× supersampled layer, 4 px in
    the picture (an unreadable smudge); the floor is now the picture's 8 px."""
    scene = get_preset("radford-beale")
    frame = next(iter_frames(scene, "contour", frames=1, size=(320, 240)))[1]
    panel = ContourPanel(scene, scene.resolved_runs(), (320, 240), (0, 0))
    _, _, _, y1 = panel.plot
    x = round(panel.to_pixels(np.array([2.0, 0.0]))[0])  # the label "2" under its tick
    label = frame[y1 + 3 : y1 + 20, x - 4 : x + 5]
    rows = np.flatnonzero((label.max(axis=-1) < 170).any(axis=1))
    assert rows.max() - rows.min() + 1 >= 5


@pytest.mark.parametrize("preset", ["rosenbrock-race", "radford-saddle"])
def test_3d_tick_labels_of_two_axes_keep_apart_where_the_axes_meet(preset):
    """Where the x and y axes meet, their first labels stood side by side ("−1 −2",
    "1.0 1.0"), read as one; a label too close to another axis' is now left out."""
    scene = get_preset(preset)
    panel = SurfacePanel(scene, scene.resolved_runs(), (800, 600), (0, 0), scene.style.camera)
    gap = surface3d.LABEL_GAP * panel.u
    assert {a for a, *_ in panel.labels} == {0, 1, 2}
    for i, (a, _, p) in enumerate(panel.labels):
        for b, _, q in panel.labels[i + 1 :]:
            dx = max(q[0] - p[2], p[0] - q[2])
            dy = max(q[1] - p[3], p[1] - q[3])
            assert a == b or max(dx, dy) >= gap, (a, b, p, q)
    per_axis = [sum(a == k for a, *_ in panel.labels) for k in range(3)]
    assert min(per_axis) >= 3  # each axis keeps most of its labels


@pytest.mark.parametrize("size", [(240, 360), (320, 240), (620, 480), (640, 720)])
def test_axis_titles_keep_clear_of_tick_labels_and_inside_the_picture(size):
    """At 480×360 with both views the x title ran into the tick labels (their 8 px floor)
    and off the picture's foot; at 1280×720, "y" stood 2 px from "−0.25"."""
    from viz.gif import contour, raster

    scene = get_preset("network-moons")
    panel = ContourPanel(scene, scene.resolved_runs(), size, (0, 0))
    u, (x0, _, _, y1) = panel.u, panel.plot
    labels = raster.scaled_font(12, u).size
    title_top = y1 + panel._x_title_at()
    assert title_top >= y1 + 7 * u + labels + 4 * u  # under the labels, with a gap
    assert title_top + raster.scaled_font(13, u).size <= size[1]  # inside the picture
    widest = max(
        raster.scaled_font(12, u).getlength(t)
        for t in raster.tick_text(panel._y_ticks(y1 - panel.plot[1]))
    )
    assert x0 - 8 * u - widest >= contour.TITLE_GAP * u  # room for the y title's gap
