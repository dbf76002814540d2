"""Animated GIFs of a scene: the contour map, the 3-D surface, or both side by side.

How it is fast: each view's static picture (contour lines, or the shaded surface with its
axes, the star, the legend) is drawn ONCE (``viz.gif.contour``, ``viz.gif.surface3d``).
The frames then only add what moves: every run's trail grows by the steps since the
previous frame (drawn once into a persistent canvas, anti-aliased) and each run's dot
is drawn on a copy. Colours are mapped to ONE shared palette built from the background
and the run colours (no dithering), and each frame stores only the rectangle that
changed, with unchanged pixels inside it transparent, so files stay small. Frames are
streamed to the file as they are made: memory stays at a few frames whatever the length.

``export_gif`` writes a file, ``render_gif_bytes`` returns the bytes (the app's download).
"""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import GifImagePlugin, Image

import viz.gif.accuracy as accuracy
import viz.gif.raster as raster
from viz import files
from viz.gif.contour import ContourPanel
from viz.gif.labels import Labels, check_title
from viz.gif.mover import Mover
from viz.gif.surface3d import SurfacePanel

MAX_FRAMES = 1000
MAX_SIZE = (1920, 1080)
MIN_SIZE = (64, 64)
MIN_FPS, MAX_FPS = 1, 50  # browsers play GIF delays under 20 ms as 100 ms
DEFAULT_MAX_FRAMES = 200
VIEWS = ("contour", "3d", "both")
TRANSPARENT = 255  # palette index reserved for "unchanged" pixels in frame rectangles
DOT_EDGE = (34, 34, 34)  # the dark rim of each run's dot

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportInfo:
    """What an export wrote."""

    path: str | None
    view: str
    frames: int
    size: tuple[int, int]
    fps: int
    bytes: int
    seconds: float

    def __str__(self) -> str:
        w, h = self.size
        where = self.path or "<memory>"
        return (
            f"{where}: {self.frames} frames, {w}×{h}, {self.fps} fps, "
            f"{self.bytes / 1024:.0f} KiB in {self.seconds:.2f} s"
        )


# ----------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class _Options:
    view: str
    frames: int
    fps: int
    size: tuple[int, int]
    camera: dict
    title: str | None = None  # drawn in the frame (viz.gif.labels)
    counter: bool = False  # a step counter drawn in the frame


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def check_options(
    scene, view=None, frames=None, fps=None, size=None, camera=None, title=None, counter=False
) -> _Options:
    """Validated export options, defaults filled in from the scene; ``ValueError`` otherwise."""
    view = scene.view if view is None else view
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    steps = int(scene.steps)
    if frames is None:
        frames = min(steps + 1, DEFAULT_MAX_FRAMES)
    frames = _whole("frames", frames)
    if not 1 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between 1 and {MAX_FRAMES:,}, got {frames:,}")
    fps = scene.style.fps if fps is None else fps
    fps = _whole("fps", fps)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(
            f"fps must be between {MIN_FPS} and {MAX_FPS} (GIF players slow faster ones "
            f"down), got {fps}"
        )
    if size is None:
        w, h = scene.style.size
        size = (2 * w, h) if view == "both" else (w, h)
        if accuracy.has_strip(scene, view):  # the map keeps its size, the strip goes under
            size = (w, h + accuracy.strip_height(round(h * accuracy.SHARE / (accuracy.SHARE - 1))))
    try:
        w, h = (_whole("size", v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height) in pixels, got {size!r}") from None
    if w > MAX_SIZE[0] or h > MAX_SIZE[1]:
        raise ValueError(f"size must be at most {MAX_SIZE[0]}×{MAX_SIZE[1]}, got {w}×{h}")
    min_w = MIN_SIZE[0] * (2 if view == "both" else 1)
    if w < min_w or h < MIN_SIZE[1]:
        raise ValueError(f"size must be at least {min_w}×{MIN_SIZE[1]} for {view}, got {w}×{h}")
    camera = scene.style.camera if camera is None else camera
    _check_camera(camera)
    if not isinstance(counter, bool):
        raise ValueError(f"counter must be True or False, got {counter!r}")
    title = check_title(title)
    return _Options(view, min(frames, steps + 1), fps, (w, h), camera, title, counter)


def _check_camera(camera) -> None:
    if not isinstance(camera, dict) or not isinstance(camera.get("eye"), dict):
        raise ValueError("camera must be a dict with an 'eye' {x, y, z} (Plotly's camera)")
    for part in ("eye", "up", "center"):
        vec = camera.get(part)
        if vec is None:
            continue
        try:
            vals = [float(vec[k]) for k in ("x", "y", "z")]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"camera {part} must have numbers x, y and z, got {vec!r}") from None
        if not all(np.isfinite(vals)):
            raise ValueError(f"camera {part} must be finite, got {vec!r}")
    eye = np.array([float(camera["eye"][k]) for k in "xyz"])
    centre = camera.get("center") or {"x": 0, "y": 0, "z": 0}
    if np.linalg.norm(eye - [float(centre[k]) for k in "xyz"]) < 1e-9:
        raise ValueError("camera eye must differ from its center")


def frame_steps(steps: int, frames: int) -> np.ndarray:
    """The step shown by each frame: spread evenly over the run, first and last included."""
    n = min(frames, steps + 1)
    if n == 1:
        return np.array([steps])
    return np.unique(np.rint(np.linspace(0, steps, n)).astype(int))


def frame_delays(frames: int, fps: int) -> list[int]:
    """Per-frame delays in GIF centiseconds whose running total follows 100/fps per frame."""
    ends = np.rint(np.arange(1, frames + 1) * 100.0 / fps).astype(int)
    return np.diff(ends, prepend=0).tolist()


# ----------------------------------------------------------------------------- palette


class Palette:
    """One palette for the whole GIF, and the mapping of colours to its entries.

    The background's own colours (median cut, no dithering) fill the palette but for the
    entries kept for what moves (run colours, their blends, the dots' rim). Colours map
    to their nearest entry through a lookup table over 6-bit RGB, filled on demand.
    """

    def __init__(self, background: np.ndarray, extra: Sequence[Sequence[int]]):
        extra = np.unique(np.asarray(extra, dtype=np.uint8).reshape(-1, 3), axis=0)
        room = 255 - len(extra)
        flat = background.reshape(-1, 3)
        stride = max(1, len(flat) // 65536) | 1  # a sample is enough to place the colours
        sample = flat[::stride][None]
        quant = Image.fromarray(np.ascontiguousarray(sample), "RGB").quantize(
            colors=room, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        used = len(quant.getcolors(256) or [])
        base = np.asarray(quant.getpalette()[: 3 * used], dtype=np.uint8).reshape(-1, 3)
        cols = np.concatenate([base, extra])[:255]
        self.colours = cols
        self._cols = cols.astype(np.float32)
        self._norm = (self._cols**2).sum(axis=1)
        self._lut = np.full(1 << 18, 255, dtype=np.uint8)  # 255: not looked up yet
        self.background = self._exact(background)
        flat = np.zeros((256, 3), dtype=np.uint8)
        flat[: len(cols)] = cols
        self.bytes = flat.tobytes()

    def _closest(self, colours: np.ndarray) -> np.ndarray:
        out = np.empty(len(colours), dtype=np.uint8)
        for i in range(0, len(colours), 4096):
            chunk = colours[i : i + 4096].astype(np.float32)
            out[i : i + 4096] = np.argmin(self._norm[None, :] - 2.0 * chunk @ self._cols.T, axis=1)
        return out

    def _exact(self, pixels: np.ndarray) -> np.ndarray:
        """Nearest entries computed for every distinct colour (the background, once)."""
        p = pixels.astype(np.int32)
        key = (p[..., 0] << 16) | (p[..., 1] << 8) | p[..., 2]
        uniq, inverse = np.unique(key, return_inverse=True)
        colours = np.stack([uniq >> 16, (uniq >> 8) & 255, uniq & 255], axis=1)
        return self._closest(colours)[inverse].reshape(key.shape)

    def learn(self, colours: Sequence[Sequence[int]], steps: int = 17) -> None:
        """Fill the lookup table for each of ``colours`` blended over every palette entry."""
        a = np.linspace(0.0, 1.0, steps)[None, :, None, None]
        over = np.asarray(colours, dtype=np.float32)[:, None, None, :]
        mixed = self._cols[None, None, :, :] * (1 - a) + over * a
        self.nearest(np.rint(mixed).astype(np.uint8).reshape(-1, 3))

    def nearest(self, pixels: np.ndarray) -> np.ndarray:
        """Index of the closest palette colour for each RGB pixel ``(..., 3)``."""
        p = pixels.astype(np.int32) >> 2
        key = (p[..., 0] << 12) | (p[..., 1] << 6) | p[..., 2]
        out = self._lut[key]
        missing = out == 255
        if missing.any():
            new = key[missing]
            if len(new) > 64:
                new = np.unique(new)
            centre = np.stack([new >> 12, (new >> 6) & 63, new & 63], axis=1) * 4.0 + 1.5
            self._lut[new] = self._closest(centre)
            out = self._lut[key]
        return out


def extra_colours(colours: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Palette entries for what moves: each run colour, its blends with white, the dot rim."""
    out = [DOT_EDGE, (255, 255, 255)]
    for c in colours:
        c = np.asarray(c, dtype=float)
        for a in (1.0, 0.8, 0.6, 0.45, 0.3, 0.15):
            out.append(tuple(np.rint(c * a + 255 * (1 - a)).astype(int)))
        out.append(tuple(np.rint(c * 0.5 + np.asarray(DOT_EDGE) * 0.5).astype(int)))
    return out


# ----------------------------------------------------------------------------- GIF file


class GifStream:
    """Writes a looping GIF frame by frame: one global palette, changed rectangles only.

    The container (header, palette, loop extension, frame headers) is written here;
    each rectangle's pixels are LZW-compressed by Pillow's GIF encoder.
    """

    def __init__(self, fp, size: tuple[int, int], palette_bytes: bytes):
        self.fp, self.size, self.previous = fp, size, None
        w, h = size
        fp.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + palette_bytes)
        fp.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00")  # loop=0
        self.frames = 0

    def add(self, frame: np.ndarray, delay_cs: int, hint=None) -> None:
        """Append ``frame`` (palette indices, ``(h, w)`` uint8) shown for ``delay_cs``.

        ``hint`` (x0, y0, x1, y1) bounds where it may differ from the previous frame.
        """
        if self.previous is None:
            box, rect = (0, 0, *self.size), frame
            params = {"duration": delay_cs * 10, "disposal": 1}
        else:
            x0, y0, x1, y1 = hint or (0, 0, *self.size)
            changed = frame[y0:y1, x0:x1] != self.previous[y0:y1, x0:x1]
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            if rows.size == 0:  # nothing moved: one transparent pixel keeps the frame
                box = (0, 0, 1, 1)
                rect = np.full((1, 1), TRANSPARENT, dtype=np.uint8)
            else:
                box = tuple(
                    int(v)
                    for v in (x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1)
                )
                sub = changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
                rect = np.where(sub, frame[box[1] : box[3], box[0] : box[2]], TRANSPARENT)
            params = {"duration": delay_cs * 10, "disposal": 1, "transparency": TRANSPARENT}
        img = Image.fromarray(np.ascontiguousarray(rect, dtype=np.uint8), "L")
        for chunk in GifImagePlugin.getdata(img, offset=box[:2], **params):
            self.fp.write(chunk)
        self.previous = frame
        self.frames += 1

    def close(self) -> None:
        self.fp.write(b";")


# ----------------------------------------------------------------------------- animation


def _clip_segments(p: np.ndarray, q: np.ndarray, rect) -> tuple[np.ndarray, np.ndarray]:
    """Liang–Barsky: parameters (t0, t1) of each segment p→q inside ``rect``; t0 ≥ t1: outside."""
    x0, y0, x1, y1 = rect
    d = q - p
    t0, t1 = np.zeros(len(p)), np.ones(len(p))
    for dk, pk, lo, hi in ((d[:, 0], p[:, 0], x0, x1), (d[:, 1], p[:, 1], y0, y1)):
        with np.errstate(divide="ignore", invalid="ignore"):
            ta, tb = (lo - pk) / dk, (hi - pk) / dk
        enter, leave = np.minimum(ta, tb), np.maximum(ta, tb)
        flat = dk == 0
        inside = (pk >= lo) & (pk <= hi)
        enter = np.where(flat, np.where(inside, -np.inf, np.inf), enter)
        leave = np.where(flat, np.where(inside, np.inf, -np.inf), leave)
        t0, t1 = np.maximum(t0, enter), np.minimum(t1, leave)
    return t0, t1


def _pieces(pts: np.ndarray, alpha: np.ndarray, rect):
    """Split a polyline into drawable pieces: finite, inside ``rect``, one opacity each."""
    x0, y0, x1, y1 = rect
    if (
        len(pts) > 1
        and np.all(alpha == alpha[0])
        and alpha[0] > 0
        and np.all(np.isfinite(pts))
        and pts[:, 0].min() >= x0
        and pts[:, 0].max() <= x1
        and pts[:, 1].min() >= y0
        and pts[:, 1].max() <= y1
    ):  # the usual case: one piece, all inside
        return [(pts, float(alpha[0]))]
    p, q = pts[:-1], pts[1:]
    ok = np.isfinite(p).all(axis=1) & np.isfinite(q).all(axis=1) & (alpha > 0)
    t0, t1 = _clip_segments(np.nan_to_num(p), np.nan_to_num(q), rect)
    ok &= t0 < t1
    idx = np.flatnonzero(ok)
    out = []
    start = None
    for n, i in enumerate(idx):
        a = p[i] + t0[i] * (q[i] - p[i])
        b = p[i] + t1[i] * (q[i] - p[i])
        joined = (
            start is not None
            and idx[n - 1] == i - 1
            and t1[i - 1] >= 1.0
            and t0[i] <= 0.0
            and alpha[i] == alpha[i - 1]
        )
        if joined:
            start[0].append(b)
        else:
            if start is not None:
                out.append((np.array(start[0]), start[1]))
            start = ([a, b], float(alpha[i]))
    if start is not None:
        out.append((np.array(start[0]), start[1]))
    return out


class Animator:
    """Draws frames: the panels' backgrounds once, then trails and dots as they move."""

    def __init__(self, panels, movers: list[Mover], size, labels: Labels | None = None):
        w, h = size
        self.size = size
        self.canvas = np.zeros((h, w, 3), dtype=np.uint8)
        self.allowed = np.zeros((h, w), dtype=np.float32)
        for panel in panels:
            x0, y0 = panel.origin
            ph, pw = panel.background.shape[:2]
            self.canvas[y0 : y0 + ph, x0 : x0 + pw] = panel.background
            self.allowed[y0 : y0 + ph, x0 : x0 + pw] = panel.allowed
        self.labels = labels
        if labels is not None:  # the title, the counter's box: static, nothing moves in them
            labels.paint_static(self.canvas, self.allowed)
        self.movers = movers
        colours = [tuple(int(c) for c in m.colour) for m in movers]
        self.palette = Palette(self.canvas, extra_colours(colours))
        self.palette.learn([*colours, DOT_EDGE])
        self.indices = self.palette.background.copy()
        self.canvas = self.palette.colours[self.indices]  # what the palette can show
        self.dots_rgb = self.canvas.copy()
        self.last_boxes: list[tuple[int, int, int, int]] = []

    def _paint(self, canvas, indices, box, cover, colour) -> None:
        x0, y0, x1, y1 = box
        # coverage in 16ths over colours snapped to the palette: every blend is one the
        # palette has learned, so the lookup table answers without searching
        cover = np.rint(cover * self.allowed[y0:y1, x0:x1] * 16.0)
        hit = cover > 0
        if not hit.any():
            return
        rgb, idx = canvas[y0:y1, x0:x1], indices[y0:y1, x0:x1]
        under = rgb[hit].astype(np.float32)
        a = (cover[hit] / 16.0)[:, None]
        mixed = np.rint(under + (np.asarray(colour, dtype=np.float32) - under) * a)
        picked = self.palette.nearest(mixed.astype(np.uint8))
        idx[hit] = picked
        rgb[hit] = self.palette.colours[picked]

    def frame(self, step: int) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
        """Palette indices of the frame showing ``step`` and the box where it changed."""
        w, h = self.size
        stale = list(self.last_boxes)  # last frame's dots, to be wiped
        for m in self.movers:  # grow the trails in the persistent canvas
            upto = int(m.vertex_of_step[step])
            if upto <= m.drawn:
                continue
            pad = m.width + 2
            ox, oy = m.panel.origin
            pw, ph = m.panel.size
            rect = (ox - pad, oy - pad, ox + pw + pad, oy + ph + pad)
            seg = m.seg_alpha[m.drawn : upto]
            for pts, alpha in _pieces(m.pix[m.drawn : upto + 1], seg, rect):
                lo, hi = pts.min(axis=0) - pad, pts.max(axis=0) + pad
                box = raster.clip_box((*lo, *hi), w, h)
                if box is None:
                    continue
                cover = raster.polyline_cover(pts, m.width, box)
                if alpha != 1.0:
                    cover *= alpha
                self._paint(self.canvas, self.indices, box, cover, m.colour)
                stale.append(box)
            m.drawn = upto
        frame = self.indices.copy()
        for x0, y0, x1, y1 in stale:  # the dots' picture starts from the canvas again
            self.dots_rgb[y0:y1, x0:x1] = self.canvas[y0:y1, x0:x1]
        dot_boxes = []
        for m in self.movers:  # the dots, drawn over a copy
            now = int(m.vertex_of_step[step])
            if m.offview is not None and m.offview[now]:
                continue  # it left the 3-D box: out of the picture, as on screen
            v = m.last_finite(now)
            if v is None:
                continue
            cx, cy = m.pix[v]
            outer, inner, (bx, by) = raster.dot_sprite(cx, cy, m.radius)
            sh, sw = outer.shape
            box = raster.clip_box((bx, by, bx + sw, by + sh), w, h)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            cut = (slice(y0 - by, y1 - by), slice(x0 - bx, x1 - bx))
            alpha = m.panel.point_alpha(m, v)
            self._paint(self.dots_rgb, frame, box, outer[cut] * alpha, DOT_EDGE)
            self._paint(self.dots_rgb, frame, box, inner[cut] * alpha, m.colour)
            dot_boxes.append(box)
        self.last_boxes = dot_boxes
        boxes = stale + dot_boxes
        patch = self.labels.counter(step) if self.labels is not None else None
        if patch is not None:  # the counter: its box redrawn, in palette colours
            x0, y0, x1, y1 = self.labels.counter_box
            frame[y0:y1, x0:x1] = self.palette.nearest(patch)
            boxes.append(self.labels.counter_box)
        if not boxes:
            return frame, (0, 0, 1, 1)
        xs0, ys0, xs1, ys1 = zip(*boxes, strict=True)
        return frame, (min(xs0), min(ys0), max(xs1), max(ys1))


def _trajectories(scene, trajectories):
    if trajectories is None:
        return scene.compute()
    trajectories = list(trajectories)
    if len(trajectories) != len(scene.runs):
        raise ValueError(
            f"trajectories: expected one per run ({len(scene.runs)}), got {len(trajectories)}"
        )
    out = []
    for t in trajectories:
        pts = np.asarray(getattr(t, "points", t), dtype=float)
        if pts.ndim not in (2, 3) or pts.shape[-1] != 2 or len(pts) != scene.steps + 1:
            raise ValueError(
                f"trajectories: each must hold steps + 1 = {scene.steps + 1} points (x, y), "
                f"got shape {pts.shape}"
            )
        out.append(pts)
    return out


def _paths(trajectories) -> list[tuple[int, np.ndarray]]:
    """(run index, points (steps + 1, 2)) for every path; B starts give B paths."""
    out = []
    for i, t in enumerate(trajectories):
        pts = np.asarray(getattr(t, "points", t), dtype=float)
        if pts.ndim == 3:
            out += [(i, pts[:, b]) for b in range(pts.shape[1])]
        else:
            out.append((i, pts))
    return out


def _build(scene, opts: _Options, trajectories):
    w, h = opts.size
    runs = scene.resolved_runs()
    paths = _paths(_trajectories(scene, trajectories))
    flat = [p for _, p in paths]
    strip = accuracy.strip_height(h) if accuracy.has_strip(scene, opts.view) else 0
    first = (w // 2, h) if opts.view == "both" else (w, h - strip)
    labels = None
    if opts.title or opts.counter:
        labels = Labels((w, h), first, scene.steps, opts.title, opts.counter)
    boxes = [b for b in (labels.title_box, labels.counter_box) if b] if labels else []
    if opts.view == "3d":
        panels = [SurfacePanel(scene, runs, first, (0, 0), opts.camera)]
    else:
        panels = [ContourPanel(scene, runs, first, (0, 0), flat, boxes)]
    if opts.view == "both":
        panels.append(
            SurfacePanel(scene, runs, (w - first[0], h), (first[0], 0), opts.camera, legend=False)
        )
    movers = [panel.mover(raster.rgb(runs[i].colour), pts) for panel in panels for i, pts in paths]
    if strip:  # a classifier: under the map, each run's accuracy (Radford's noisy moons)
        curves = accuracy.accuracy_paths(scene.get_surface(), paths)
        chart = accuracy.AccuracyPanel(
            scene, (w, strip), (0, h - strip), panels[0].u, accuracy.lowest(curves)
        )
        movers += [
            chart.mover(raster.rgb(runs[i].colour), acc)
            for (i, _), acc in zip(paths, curves, strict=True)
        ]
        panels.append(chart)
    return Animator(panels, movers, (w, h), labels)


def iter_frames(
    scene,
    view: str | None = None,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    camera: dict | None = None,
    trajectories=None,
):
    """Yield ``(step, rgb)`` for each frame, exactly the pixels the GIF holds (a preview)."""
    opts = check_options(scene, view, frames, None, size, camera)
    animator = _build(scene, opts, trajectories)
    for step in frame_steps(scene.steps, opts.frames):
        frame, _ = animator.frame(int(step))
        yield int(step), animator.palette.colours[frame]


def frames_of(scene, opts: _Options, trajectories=None, progress=None, budget=None):
    """``(animator, indices, hint)`` for each frame; ``budget`` (``optimizers.budget``):
    its cap checked on frames × pixels before anything, its deadline ticked per frame."""
    w, h = opts.size
    if budget is not None:
        budget.check(
            opts.frames * w * h,
            f"this export ({opts.frames:,} frames of {w}×{h})",
            "use fewer frames or a smaller size",
        )
    animator = _build(scene, opts, trajectories)
    steps = frame_steps(scene.steps, opts.frames)
    for n, step in enumerate(steps):
        if budget is not None:
            budget.tick()
        frame, hint = animator.frame(int(step))
        yield animator, frame, hint
        if progress is not None:
            progress(n + 1, len(steps))


def stream_frames(scene, opts: _Options, trajectories, progress, budget, open_stream, delays):
    """Feed every frame to a palette stream (``GifStream``, ``formats.ApngStream``): the
    stream is ``open_stream(animator)``, opened at the first frame (it needs the palette),
    frame ``n`` lasts ``delays[n]`` (the stream's unit). Returns the frames written."""
    stream = None
    for n, (animator, frame, hint) in enumerate(
        frames_of(scene, opts, trajectories, progress, budget)
    ):
        if stream is None:
            stream = open_stream(animator)
        stream.add(frame, delays[n], hint)
    stream.close()
    return stream.frames


def _render(scene, fp, opts: _Options, progress: Progress | None, trajectories, budget=None):
    delays = frame_delays(len(frame_steps(scene.steps, opts.frames)), opts.fps)
    return stream_frames(
        scene,
        opts,
        trajectories,
        progress,
        budget,
        lambda animator: GifStream(fp, opts.size, animator.palette.bytes),
        delays,
    )


def to_bytes(write) -> bytes:
    """What ``write(fp)`` writes, as bytes (the app's downloads)."""
    buf = io.BytesIO()
    write(buf)
    return buf.getvalue()


def to_file(path: str, write) -> tuple[int, int]:
    """Run ``write(fp) -> frames`` into ``path`` safely (``viz.files``: never through a
    link, nor over a device; the file appears only when complete): (frames, bytes)."""
    written = []
    nbytes = files.write_replacing(path, lambda fp: written.append(write(fp)))
    return written[0], nbytes


def render_gif_bytes(
    scene,
    view: str | None = None,
    frames: int | None = None,
    fps: int | None = None,
    size: tuple[int, int] | None = None,
    camera: dict | None = None,
    progress: Progress | None = None,
    trajectories=None,
    title: str | None = None,
    counter: bool = False,
    budget=None,
) -> bytes:
    """The GIF of ``scene`` as bytes (see ``export_gif`` for the arguments)."""
    opts = check_options(scene, view, frames, fps, size, camera, title, counter)
    return to_bytes(lambda fp: _render(scene, fp, opts, progress, trajectories, budget))


def export_gif(
    scene,
    path,
    view: str | None = None,
    frames: int | None = None,
    fps: int | None = None,
    size: tuple[int, int] | None = None,
    camera: dict | None = None,
    progress: Progress | None = None,
    trajectories=None,
    title: str | None = None,
    counter: bool = False,
    budget=None,
) -> ExportInfo:
    """Write the animation of ``scene`` to ``path`` as a GIF that loops forever.

    Args:
      scene: a ``viz.scene.Scene`` (colours, labels, levels, ranges, size, fps, camera).
      view: ``"contour"``, ``"3d"`` or ``"both"`` (side by side, in lockstep); default
        the scene's.
      frames: how many frames (1–1,000), spread evenly over the run, the last step always
        shown; default all steps up to 200. Never more than steps + 1.
      fps: frames per second (1–50); default the scene's. Each frame lasts 1000/fps ms.
      size: (width, height) of the whole GIF, at most 1920×1080; default the scene's size
        (twice as wide for ``both``).
      camera: a Plotly camera dict (``eye``, optional ``up``/``center``) for the 3-D view;
        default the scene's. The app passes the camera the user chose.
      progress: called as ``progress(frames_done, frames_total)`` after each frame.
      trajectories: the runs' ``Trajectory`` objects (or point arrays), if already
        computed; default ``scene.compute()``.
      title: one line drawn at the top left of the frame; counter: draw "step k / N".
      budget: an ``optimizers.budget.Budget`` ticked once per frame (``BudgetError``).

    Returns:
      An ``ExportInfo``. Bad options raise ``ValueError`` before anything is written; the
      file appears only when complete, and only where a regular file may be written
      (``viz.files``: a symlink, device or folder at ``path`` is ``UnsafeTarget``).
    """
    t0 = time.perf_counter()
    opts = check_options(scene, view, frames, fps, size, camera, title, counter)
    path = os.fspath(path)
    count, nbytes = to_file(
        path, lambda fp: _render(scene, fp, opts, progress, trajectories, budget)
    )
    return ExportInfo(
        path=path,
        view=opts.view,
        frames=count,
        size=opts.size,
        fps=opts.fps,
        bytes=nbytes,
        seconds=time.perf_counter() - t0,
    )
