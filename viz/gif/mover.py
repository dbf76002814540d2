"""What both GIF panels draw per run: the pixel path and which part of it is visible."""

from __future__ import annotations

import numpy as np

HIDDEN_ALPHA = 0.3  # 3-D: path pieces behind the surface are drawn this faint


class Mover:
    """One run as drawn in one panel: pixel path, per-piece visibility, step → vertex."""

    def __init__(self, panel, pixels, seg_alpha, vertex_of_step, colour, width, radius):
        self.panel = panel
        self.pix = pixels  # (m, 2), NaN where not drawable
        self.seg_alpha = seg_alpha  # (m - 1,), opacity of segment i → i + 1
        self.vertex_of_step = vertex_of_step  # (steps + 1,)
        self.colour = np.asarray(colour, dtype=np.float32)
        self.width, self.radius = width, radius
        self.drawn = 0  # vertices up to this one are in the canvas
        self.vertex_alpha = None  # per-vertex opacity (3-D: faint where hidden)
        self.offview = None  # per-vertex: outside the 3-D box (no dot drawn there)
        self._last = None

    @classmethod
    def flat(cls, panel, pixels: np.ndarray, colour) -> Mover:
        """A run in a flat panel (contour map, accuracy strip): every piece fully visible,
        vertex k is step k, drawn at the panel's ``line_width`` and ``dot_radius``."""
        n = len(pixels)
        return cls(
            panel,
            pixels,
            np.ones(max(n - 1, 0)),
            np.arange(n),
            colour,
            panel.line_width,
            panel.dot_radius,
        )

    def last_finite(self, upto: int) -> int | None:
        """The last drawable vertex at or before ``upto`` (where the dot stays)."""
        if self._last is None:
            idx = np.where(np.isfinite(self.pix).all(axis=1), np.arange(len(self.pix)), -1)
            self._last = np.maximum.accumulate(idx) if len(idx) else idx
        v = int(self._last[upto]) if len(self._last) else -1
        return None if v < 0 else v
