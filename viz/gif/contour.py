"""The contour view of a GIF: drawn once as a picture, then read by ``viz.gif``'s frames.

Contour lines are not traced as curves: for every pixel the *level coordinate*
``t = (v − level₀) / Δlevel`` (``v`` = f, or log₁₀(f − f*) for log-spaced levels, exactly
the app's levels) is known, a level line passes where ``t`` is a whole number, and a
pixel's distance to it is ``|t − round(t)| / |∇t|`` in pixels. Turning that distance into
coverage gives anti-aliased lines of constant width in one vectorised pass — the same
lines the app's Plotly contour draws, coloured by level with the scene's colour scale.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

import viz.gif.raster as raster
from viz.gif.mover import Mover
from viz.scene import contour_levels
from viz.scene.geometry import MARGIN, axis_titles, floor_value, grid

REFERENCE = (620, 480)  # sizes below are in pixels at this size and scale with the panel
MAX_GRID = 360  # the surface is evaluated on at most this many points per axis
LINE_WIDTH = 1.1  # the app's contour line width
AXIS_COLOUR = (136, 136, 136)
TEXT_COLOUR = (68, 68, 68)
TITLE_GAP = 8  # between the y title and the widest y tick label ("y −0.25" read as one)


def _upsample(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resampling of a grid (rows = y, bottom row first) to pixel centres, top first."""
    gy, gx = values.shape
    fx = (np.arange(width) + 0.5) / width * (gx - 1)
    fy = (1.0 - (np.arange(height) + 0.5) / height) * (gy - 1)
    ix = np.clip(np.floor(fx).astype(int), 0, gx - 2)
    iy = np.clip(np.floor(fy).astype(int), 0, gy - 2)
    wx, wy = (fx - ix)[None, :], (fy - iy)[:, None]
    rows0, rows1 = values[iy], values[iy + 1]
    top = rows0[:, ix] * (1 - wx) + rows0[:, ix + 1] * wx
    bottom = rows1[:, ix] * (1 - wx) + rows1[:, ix + 1] * wx
    return top * (1 - wy) + bottom * wy


def level_field(surface, window, style, width: int, height: int):
    """``(t, n_levels)``: the level coordinate at each pixel centre of a width×height plot."""
    _, _, zz_app = grid(surface, window, 120)  # the app's grid: the same levels as the screen
    log = style.log_levels or surface.log_scale
    st = style if style.log_levels == log else replace(style, log_levels=log)
    base = floor_value(surface, zz_app)
    levels = contour_levels(zz_app, st, base)
    (x0, x1), (y0, y1) = window
    gx, gy = min(width, MAX_GRID), min(height, MAX_GRID)
    if gx == width and gy == height:  # pixel centres exactly
        xs = x0 + (np.arange(width) + 0.5) / width * (x1 - x0)
        ys = y1 - (np.arange(height) + 0.5) / height * (y1 - y0)
    else:
        xs, ys = np.linspace(x0, x1, gx), np.linspace(y0, y1, gy)
    xx, yy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        zz = np.asarray(surface.value(np.stack([xx, yy], axis=-1)), dtype=float)
        if log:
            v = np.log10(np.maximum(zz - base, 1e-300))
            lv = np.log10(np.maximum(levels - base, 1e-300))
        else:
            v, lv = zz, levels
    step = float(lv[1] - lv[0]) if len(lv) > 1 else 1.0
    t = (v - lv[0]) / (step or 1.0)
    t = np.where(np.isfinite(t), t, np.nan)
    if not (gx == width and gy == height):
        t = _upsample(t, width, height)
    return t, len(lv)


def draw_levels(
    t: np.ndarray, n_levels: int, scale: str, line_width: float, background, fade: float = 0.0
):
    """RGB picture of the level lines over ``background`` (anti-aliased, coloured by level
    on ``scale`` faded toward white by ``fade``)."""
    t = t.astype(np.float32)
    with np.errstate(all="ignore"):
        gy, gx = np.gradient(t)
        slope = np.hypot(gx, gy)
        k = np.rint(t)
        dist = np.abs(t - k) / slope
        cover = np.clip(line_width / 2 + 0.5 - dist, 0.0, 1.0)
    valid = np.isfinite(cover) & (k >= 0) & (k <= n_levels - 1) & (slope > 0)
    cover = np.where(valid, cover, 0.0)
    level_colours = raster.sample_scale(scale, (np.arange(n_levels) + 1) / (n_levels + 1), fade)
    colours = level_colours[np.where(valid, k, 0).astype(np.intp)]
    bg = np.asarray(background, dtype=float)
    out = bg * (1 - cover[..., None]) + colours * cover[..., None]
    return np.rint(out).astype(np.uint8)


class ContourPanel:
    """The contour map at ``size``, placed at ``origin`` in the GIF."""

    def __init__(self, scene, runs, size, origin, paths=(), avoid=()):
        self.scene, self.runs = scene, runs
        self.size, self.origin = tuple(size), tuple(origin)
        w, h = self.size
        self.u = u = min(w / REFERENCE[0], h / REFERENCE[1])
        self.style = style = scene.style
        surface = scene.get_surface()
        self.window = window = scene.window()
        right = round(MARGIN["r"] * u)
        top = round(MARGIN["t"] * u)
        bottom = max(round(MARGIN["b"] * u), self._bottom_needed())
        left = max(round(MARGIN["l"] * u), self._left_needed(surface, h - top - bottom))
        self.plot = (left, top, w - right, h - bottom)  # x0, y0, x1, y1 of the plot area
        pw, ph = w - left - right, h - top - bottom
        white = raster.rgb(style.background)
        canvas = np.empty((h, w, 3), dtype=np.uint8)
        canvas[:] = white
        t, n = level_field(surface, window, style, pw, ph)
        canvas[top : top + ph, left : left + pw] = draw_levels(
            t, n, style.colorscale, LINE_WIDTH * max(u, 0.75), white, style.line_fade
        )
        self.line_width = style.line_width * u
        self.dot_radius = style.dot_size / 2 * u + 1.0
        minima = [m for m in surface.minima if self._inside(m)]
        legend = self._place_legend(minima, paths, avoid)
        self.legend_at = legend[0] if legend else None  # (x0, y0, x1, y1) in panel pixels
        raster.draw_supersampled(canvas, lambda d, s: self._paint_static(d, s, minima, legend))
        self.background = canvas
        self.allowed = np.zeros((h, w), dtype=np.float32)
        self.allowed[top : h - bottom, left : w - right] = 1.0
        if legend:
            x0, y0, x1, y1 = (round(v) for v in legend[0])
            self.allowed[max(y0, 0) : y1 + 1, max(x0, 0) : x1 + 1] = 0.0

    # geometry -------------------------------------------------------------------------
    def _left_needed(self, surface, plot_height: int) -> int:
        """Pixels left of the plot that the y title and the widest y tick label take with
        their gaps (as ``_paint_static`` draws them): long labels (−0.125) widen the margin."""
        u = self.u
        ticks = raster.tick_text(self._y_ticks(plot_height))
        tick_font = raster.scaled_font(12, u)
        widest = max((tick_font.getlength(t) for t in ticks), default=0.0)
        title = axis_titles(surface)[1]
        title_font = raster.scaled_font(13, u)
        box = title_font.getbbox("Hg" if len(title) > 1 else title)
        across = box[3] - box[1] if len(title) > 1 else box[2] - box[0]  # upright or not
        return math.ceil(
            (4 if len(title) == 1 else 2) * u + across + TITLE_GAP * u + widest + 8 * u
        )

    def _x_title_at(self) -> float:
        """How far under the plot the x title's top is: under the tick labels (whose text
        keeps its 8 px floor however small the picture), 24 px at the reference size."""
        u = self.u
        labels = raster.scaled_font(12, u).size
        return max(24 * u, 7 * u + labels + 5 * u)

    def _bottom_needed(self) -> int:
        """Pixels under the plot that the tick labels and the x title take (at 480×360 the
        title ran into the labels and off the picture's foot)."""
        return math.ceil(self._x_title_at() + raster.scaled_font(13, self.u).size + 2)

    def _y_ticks(self, plot_height: float) -> np.ndarray:
        """The y axis's tick values for a plot this tall."""
        (y0, y1), u = self.window[1], self.u
        return raster.nice_ticks(y0, y1, max(int(plot_height / (60 * u)), 2))

    def _inside(self, p) -> bool:
        (x0, x1), (y0, y1) = self.window
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1

    def to_pixels(self, pts: np.ndarray) -> np.ndarray:
        """Data points ``(n, 2)`` -> panel pixel coordinates (float, top-left origin)."""
        (x0, x1), (y0, y1) = self.window
        px0, py0, px1, py1 = self.plot
        pts = np.asarray(pts, dtype=float)
        u = px0 + (pts[..., 0] - x0) / (x1 - x0) * (px1 - px0)
        v = py1 - (pts[..., 1] - y0) / (y1 - y0) * (py1 - py0)
        return np.stack([u, v], axis=-1)

    def mover(self, colour, points):
        return Mover.flat(self, self.to_pixels(points) + self.origin, colour)

    def point_alpha(self, mover, vertex: int) -> float:
        return 1.0

    # static parts -------------------------------------------------------------------
    def _place_legend(self, minima, paths, avoid):
        """The legend where it hides least, in a corner or along an edge of the plot: first
        no star, start, end dot (any part of one) or title/counter box (``avoid``), then the
        fewest points of the ``paths`` (data coordinates); Radford's top right on a tie."""
        u, (px0, py0, px1, py1) = self.u, self.plot
        first = legend_box(self.runs, u, px1 - 8 * u, py0 + 8 * u)
        if first is None:
            return None
        x0, y0, x1, y1 = first[0]
        bw, bh = x1 - x0, y1 - y0
        pts = [self.to_pixels(p) for p in paths]
        ends = [p[np.isfinite(p).all(axis=1)][-1:] for p in pts]
        marks = [  # (pixels, radius): what must stay whole
            (self.to_pixels(np.array(minima, dtype=float).reshape(-1, 2)), 13 * u),
            (self.to_pixels(np.array([self.scene.start_point()], dtype=float)), 6.5 * u),
            (np.concatenate(ends) if ends else np.empty((0, 2)), self.dot_radius),
        ]
        pts = np.concatenate(pts) if pts else np.empty((0, 2))
        pts = pts[np.isfinite(pts).all(axis=1)]

        def overlaps(right, top, box):
            a, b, c, d = box
            return a < right and right - bw < c and b < top + bh and top < d

        def clear(right, top, down):  # moved past a title or counter box in the way
            for box in avoid:
                if overlaps(right, top, box):
                    top = box[3] + 8 * u if down else box[1] - 8 * u - bh
            return right, top

        def hidden(corner):
            right, top = corner
            left, bottom = right - bw, top + bh

            def inside(p, r=0.0):
                across = (p[:, 0] >= left - r) & (p[:, 0] <= right + r)
                return int((across & (p[:, 1] >= top - r) & (p[:, 1] <= bottom + r)).sum())

            out = top < py0 or bottom > py1
            boxes = sum(overlaps(right, top, box) for box in avoid)
            return sum(inside(p, r) for p, r in marks) + boxes + out, inside(pts)

        # the corners first (top right first), then places along the plot's edges
        rights, tops = (px1 - 8 * u, px0 + 8 * u + bw), (py0 + 8 * u, py1 - 8 * u - bh)
        places = [(r, t) for r in rights for t in tops]
        for f in np.linspace(0, 1, 9)[1:-1]:
            places += [(rights[0] + f * (rights[1] - rights[0]), t) for t in tops]
            places += [(r, tops[0] + f * (tops[1] - tops[0])) for r in rights]
        spots = [clear(r, t, t == tops[0]) for r, t in places]
        return legend_box(self.runs, u, *min(spots, key=hidden))

    def _paint_static(self, draw, s, minima, legend) -> None:
        u, style = self.u, self.style
        px0, py0, px1, py1 = self.plot
        tick_font = raster.scaled_font(12, u, s)
        title_font = raster.scaled_font(13, u, s)
        # the start point: an open circle, as in the app
        start = self.scene.start_point()
        sx, sy = self.to_pixels(np.asarray(start, dtype=float))
        if self._inside(start):
            r = 6.5 * u
            draw.ellipse(
                ((sx - r) * s, (sy - r) * s, (sx + r) * s, (sy + r) * s),
                outline=(34, 34, 34, 255),
                width=max(round(2 * u * s), 1),
            )
        # a star at each minimum
        star_fill = (*raster.rgb(style.star_colour), 217)
        for m in minima:
            cx, cy = self.to_pixels(np.asarray(m, dtype=float))
            pts = raster.star_points(cx * s, cy * s, 13 * u * s, 5.5 * u * s)
            draw.polygon(pts, fill=star_fill, outline=(17, 17, 17, 255), width=max(s, 1))
        # axes: a frame, ticks outside, labels, titles
        frame = (*AXIS_COLOUR, 255)
        draw.rectangle((px0 * s, py0 * s, px1 * s - 1, py1 * s - 1), outline=frame, width=s)
        tick = 5 * u * s
        (x0, x1), (y0, _) = self.window
        text = (*TEXT_COLOUR, 255)
        xt = raster.nice_ticks(x0, x1, max(int((px1 - px0) / (80 * u)), 2))
        for value, label in zip(xt, raster.tick_text(xt), strict=True):
            x = self.to_pixels(np.array([value, y0]))[0] * s
            draw.line((x, py1 * s, x, py1 * s + tick), fill=frame, width=s)
            draw.text(
                (x, py1 * s + tick + 2 * u * s), label, fill=text, font=tick_font, anchor="mt"
            )
        yt = self._y_ticks(py1 - py0)
        for value, label in zip(yt, raster.tick_text(yt), strict=True):
            y = self.to_pixels(np.array([x0, value]))[1] * s
            draw.line((px0 * s - tick, y, px0 * s, y), fill=frame, width=s)
            draw.text(
                (px0 * s - tick - 3 * u * s, y), label, fill=text, font=tick_font, anchor="rm"
            )
        tx, ty = axis_titles(self.scene.get_surface())
        draw.text(
            ((px0 + px1) / 2 * s, (py1 + self._x_title_at()) * s),
            tx,
            fill=text,
            font=title_font,
            anchor="mt",
        )
        if len(ty) == 1:
            draw.text((4 * u * s, (py0 + py1) / 2 * s), ty, fill=text, font=title_font, anchor="lm")
        else:  # a longer title runs up the left edge, as on screen
            raster.text_up(draw, (2 * u * s, (py0 + py1) / 2 * s), ty, title_font, text)
        if legend:
            paint_legend(draw, s, self.runs, u, *legend)


def legend_box(runs, u: float, right: float, top: float):
    """Where the legend goes (its top-right corner at ``right``, ``top``) and how it is laid out."""
    if not runs:
        return None
    f = raster.scaled_font(14, u)
    pad, sample, gap = 7 * u, 30 * u, 8 * u
    row = max(f.getbbox("Hg")[3] - f.getbbox("Hg")[1], 1) + 9 * u
    text_w = max(f.getlength(r.label) for r in runs)
    bw = pad + sample + gap + text_w + pad
    bh = 2 * pad + row * len(runs) - 4 * u
    return (right - bw, top, right, top + bh), f, pad, sample, gap, row


def paint_legend(draw, s, runs, u, box, f, pad, sample, gap, row) -> None:
    """Radford's legend: a white box, a line sample in each run's colour, its label."""
    x0, y0, x1, y1 = box
    big = raster.font(max(round(f.size * s), 8)) if hasattr(f, "size") else f
    draw.rectangle(
        (x0 * s, y0 * s, x1 * s, y1 * s), fill=(255, 255, 255, 255), outline=(0, 0, 0, 255), width=s
    )
    for i, r in enumerate(runs):
        cy = y0 + pad + row * i + (row - 4 * u) / 2
        colour = (*raster.rgb(r.colour), 255)
        draw.line(
            ((x0 + pad) * s, cy * s, (x0 + pad + sample) * s, cy * s),
            fill=colour,
            width=max(round(3 * u * s), 1),
        )
        draw.text(
            ((x0 + pad + sample + gap) * s, cy * s),
            r.label,
            fill=(0, 0, 0, 255),
            font=big,
            anchor="lm",
        )
