"""The accuracy strip under a classifier's contour GIF (Radford's noisy moons)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageSequence

from viz.gif import accuracy, iter_frames, render_gif_bytes
from viz.gif.contour import ContourPanel
from viz.scene import get_preset


def frames_of(data: bytes) -> list[np.ndarray]:
    im = Image.open(io.BytesIO(data))
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def near(frame: np.ndarray, colour: str, tol: int = 40) -> np.ndarray:
    c = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.abs(frame.astype(int) - c).sum(axis=-1) < tol


def test_the_preset_gif_has_the_map_and_the_strip_under_it():
    scene = get_preset("radford-noisy-moons")
    data = render_gif_bytes(scene, view="contour", frames=scene.steps + 1)
    frames = frames_of(data)
    assert len(frames) == scene.steps + 1 == 201  # every step a frame
    h, w = frames[0].shape[:2]
    assert (w, h) == (620, 640)  # his 620×480 map, the strip under it
    strip = accuracy.strip_height(h)
    assert h - strip == 480
    first, last = frames[0][h - strip :], frames[-1][h - strip :]
    # The strip is drawn (frame, ticks, guide line) and each run's curve grows across it.
    assert (first < 250).any(axis=-1).mean() > 0.01
    for r in scene.resolved_runs():
        if r.colour == "#000000":  # black: the axes' text is near it too; measured below
            continue
        grown = near(last, r.colour).sum() - near(first, r.colour).sum()
        assert grown > 40, r.label  # the curves share the top line: most is overdrawn
    # Where a run's curve is at the last step: right edge, at the height of its accuracy.
    s = scene.get_surface()
    t = scene.compute()
    panel = accuracy.AccuracyPanel(
        scene,
        (w, strip),
        (0, h - strip),
        1.0,
        accuracy.lowest(accuracy.accuracy_paths(s, [(0, p.points) for p in t])),
    )
    x, y = panel.to_pixels(scene.steps, float(s.accuracy(t[0].points[-1])))
    y += h - strip
    box = frames[-1][int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5]
    assert (np.abs(box.astype(int) - 255).sum(axis=-1) > 100).any()  # a dot is there


def test_the_map_above_the_strip_is_the_map_alone():
    scene = get_preset("radford-noisy-moons")
    _, with_strip = next(iter_frames(scene, view="contour", frames=1))
    h = with_strip.shape[0]
    strip = accuracy.strip_height(h)
    panel = ContourPanel(scene, scene.resolved_runs(), (620, 480), (0, 0))
    # the static map (before any run moves) is the same picture as a map drawn on its own
    assert with_strip.shape[:2] == (640, 620) and h - strip == 480
    diff = np.abs(with_strip[:480].astype(int) - panel.background.astype(int)).sum(axis=-1)
    assert (diff > 60).mean() < 0.02  # only the runs' dots and the palette differ


def test_other_views_and_plain_surfaces_have_no_strip():
    scene = get_preset("radford-noisy-moons")
    assert not accuracy.has_strip(scene, "3d") and not accuracy.has_strip(scene, "both")
    assert not accuracy.has_strip(get_preset("radford-beale"), "contour")
    data = render_gif_bytes(scene, view="3d", frames=3)
    assert frames_of(data)[0].shape[:2] == (480, 620)
    # An explicit size is split: three quarters map, a quarter strip.
    data = render_gif_bytes(scene, view="contour", frames=3, size=(400, 400))
    assert frames_of(data)[0].shape[:2] == (400, 400)
