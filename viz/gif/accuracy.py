"""The accuracy strip of a classifier's GIF: each run's whole-data accuracy against step.

Radford's noisy-moons animation has a chart under the contour map plotting accuracy;
this panel is that chart. It is a panel like the contour map (``origin``, ``background``,
``allowed``, ``mover``): its static picture (frame, ticks, the 80 % line) is drawn once
and each run's curve grows frame by frame with a dot at the current step, drawn by the
same animator as the trails on the map, so the two move in lockstep.
"""

from __future__ import annotations

import math

import numpy as np

import viz.gif.raster as raster
from viz.gif.contour import AXIS_COLOUR, TEXT_COLOUR
from viz.gif.mover import Mover

SHARE = 4  # the strip is a quarter of the picture's height (the map three quarters)
MARGIN = {"l": 46, "r": 12, "t": 8, "b": 30}  # at the reference size; "l" as the map's
GUIDE = 0.8  # a faint line at 80 % accuracy, the level the README's captions count to
GUIDE_COLOUR = (200, 200, 200)


def has_strip(scene, view: str) -> bool:
    """Whether a GIF of ``scene`` in ``view`` carries the strip: a classifier's contour map."""
    if view != "contour" or scene.network is not None:
        return False
    return hasattr(scene.get_surface(), "accuracy")


def strip_height(total: int) -> int:
    """Pixels of a ``total``-high picture that go to the strip."""
    return max(round(total / SHARE), 40)


def lowest(curves: list[np.ndarray]) -> float:
    """The strip's bottom: 0 %, or the lowest accuracy drawn rounded down to 10 % (≤ 50 %)."""
    finite = [float(np.nanmin(c)) for c in curves if np.isfinite(c).any()]
    if not finite:
        return 0.0
    return min(0.5, max(0.0, np.floor(min(finite) * 10 - 1e-9) / 10))


def accuracy_paths(surface, paths: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
    """Each path's accuracy on the whole data set, per step (NaN where the run diverged)."""
    with np.errstate(all="ignore"):
        return [np.asarray(surface.accuracy(pts), dtype=float) for _, pts in paths]


class AccuracyPanel:
    """Accuracy (0–100 %) against step 0…``steps``, at ``size``, placed at ``origin``."""

    def __init__(self, scene, size, origin, u: float, low: float = 0.0):
        self.size, self.origin = tuple(size), tuple(origin)
        self.low = float(low)  # the accuracy at the strip's bottom edge (the top is 100 %)
        self.steps = int(scene.steps)
        w, h = self.size
        self.u = u
        self.font_px = max(round(11 * u), raster.MIN_TEXT_PX)  # tick labels, in the picture
        widest = raster.scaled_font(11, u).getlength("100%")
        left = max(round(MARGIN["l"] * u), math.ceil(widest + 8 * u + 2))  # "100%" whole
        right = round(MARGIN["r"] * u)
        top, bottom = round(MARGIN["t"] * u), round(MARGIN["b"] * u)
        self.plot = (left, top, w - right, h - bottom)
        canvas = np.empty((h, w, 3), dtype=np.uint8)
        canvas[:] = raster.rgb(scene.style.background)
        raster.draw_supersampled(canvas, self._paint_static)
        self.background = canvas
        self.allowed = np.zeros((h, w), dtype=np.float32)
        px0, py0, px1, py1 = self.plot
        pad = max(round(6 * u), 2)  # room for a dot at 0 % or 100 %, or at step 0
        self.allowed[max(py0 - pad, 0) : py1 + pad, max(px0 - pad, 0) : px1 + pad] = 1.0
        self.line_width = max(scene.style.line_width * u * 0.8, 1.0)
        self.dot_radius = scene.style.dot_size / 2 * u * 0.8 + 1.0

    def to_pixels(self, step: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
        """(step, accuracy) -> panel pixel coordinates (float, top-left origin)."""
        px0, py0, px1, py1 = self.plot
        x = px0 + np.asarray(step, dtype=float) / max(self.steps, 1) * (px1 - px0)
        y = py1 - (np.asarray(accuracy, dtype=float) - self.low) / (1 - self.low) * (py1 - py0)
        return np.stack([x, y], axis=-1)

    def mover(self, colour, accuracy: np.ndarray) -> Mover:
        """The run's curve: vertex k is step k, so the animator grows it with the map's trails."""
        return Mover.flat(
            self, self.to_pixels(np.arange(len(accuracy)), accuracy) + self.origin, colour
        )

    def point_alpha(self, mover, vertex: int) -> float:
        return 1.0

    def _paint_static(self, draw, s) -> None:
        u = self.u
        px0, py0, px1, py1 = self.plot
        tick_font = raster.scaled_font(11, u, s)
        frame = (*AXIS_COLOUR, 255)
        text = (*TEXT_COLOUR, 255)
        gy = self.to_pixels(0, GUIDE)[1]
        draw.line((px0 * s, gy * s, px1 * s, gy * s), fill=(*GUIDE_COLOUR, 255), width=s)
        draw.rectangle((px0 * s, py0 * s, px1 * s - 1, py1 * s - 1), outline=frame, width=s)
        tick = 4 * u * s
        for value in sorted({self.low, GUIDE, 1.0}):
            y = self.to_pixels(0, value)[1] * s
            draw.line((px0 * s - tick, y, px0 * s, y), fill=frame, width=s)
            draw.text(
                (px0 * s - tick - 2 * u * s, y),
                f"{value:.0%}",
                fill=text,
                font=tick_font,
                anchor="rm",
            )
        room = max(80 * u, 4 * self.font_px)  # a label's width and a gap, at least
        xt = raster.nice_ticks(0, self.steps, max(int((px1 - px0) / room), 2))
        for value in xt:
            x = self.to_pixels(value, 0)[0] * s
            draw.line((x, py1 * s, x, py1 * s + tick), fill=frame, width=s)
            draw.text(
                (x, py1 * s + tick + u * s), f"{int(value)}", fill=text, font=tick_font, anchor="mt"
            )
        if py1 - py0 < 6 * self.font_px:
            return  # too short a strip for its caption over the curves
        draw.text(
            ((px0 + 6 * u) * s, (py0 + 4 * u) * s),
            "accuracy on all the data, per step",
            fill=text,
            font=tick_font,
            anchor="lt",
        )
