"""A title and a step counter drawn in the frames (``--title``, ``--counter``).

Both sit in small white boxes at the left of the first panel: the title near its top,
the counter near its bottom. The boxes are painted once into the static picture, and
trails and dots are masked out of them (as out of the legend), so the counter only has
to redraw its own box per frame.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

import viz.gif.raster as raster

REFERENCE = (620, 480)  # sizes below are in pixels of a panel this big, and scale with it
TEXT = (34, 34, 34)
BOX = (255, 255, 255)
MAX_TITLE = 120  # characters


def check_title(title) -> str | None:
    """The title to draw, or None; ``ValueError`` for anything but one short line of text."""
    if title is None:
        return None
    if not isinstance(title, str):
        raise ValueError(f"title must be text, got {type(title).__name__}")
    text = " ".join(title.split())
    if len(text) > MAX_TITLE:
        raise ValueError(f"title must be at most {MAX_TITLE} characters, got {len(text)}")
    return text or None


class Labels:
    """Where the title and the counter go in a ``size`` picture whose first panel is
    ``panel_size``, and how they look; ``steps`` is the last step (the counter's width)."""

    def __init__(self, size, panel_size, steps: int, title: str | None, counter: bool):
        w, h = size
        pw, ph = panel_size
        self.u = u = min(pw / REFERENCE[0], ph / REFERENCE[1])
        self.title, self.steps = title, int(steps)
        self.font = raster.scaled_font(13, u)
        self.pad = max(round(4 * u), 2)
        left = round(54 * u)
        self.title_box = None
        if title:
            tw = min(round(self.font.getlength(title)) + 2 * self.pad, pw - left - round(8 * u))
            top = round(18 * u)
            self.title_box = _clip((left, top, left + tw, top + self._h()), w, h)
        self.counter_box = None
        if counter:
            cw = round(self.font.getlength(self.text(self.steps))) + 2 * self.pad
            y1 = ph - round(48 * u)
            self.counter_box = _clip((left, y1 - self._h(), left + cw, y1), w, h)

    def _h(self) -> int:
        top, bottom = self.font.getbbox("Hg")[1], self.font.getbbox("Hg")[3]
        return bottom - top + 2 * self.pad

    def text(self, step: int) -> str:
        return f"step {int(step):,} / {self.steps:,}"

    def paint_static(self, canvas: np.ndarray, allowed: np.ndarray) -> None:
        """The title (and the counter's empty box) into the static picture; nothing that
        moves is drawn inside either box."""
        for box, text in ((self.title_box, self.title), (self.counter_box, "")):
            if box is None:
                continue
            x0, y0, x1, y1 = box
            canvas[y0:y1, x0:x1] = self.patch(box, text)
            allowed[y0:y1, x0:x1] = 0.0

    def patch(self, box, text: str) -> np.ndarray:
        """The RGB pixels of ``box`` holding ``text`` (anti-aliased, clipped to the box)."""
        x0, y0, x1, y1 = box
        mask = Image.new("L", (x1 - x0, y1 - y0), 0)
        top = self.font.getbbox("Hg")[1]
        ImageDraw.Draw(mask).text((self.pad, self.pad - top), text, fill=255, font=self.font)
        out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
        out[:] = BOX
        raster.blend(out, 0, 0, np.asarray(mask, dtype=np.float32) / 255.0, TEXT)
        return out

    def counter(self, step: int) -> np.ndarray | None:
        """The counter box's pixels for ``step`` (None without a counter)."""
        if self.counter_box is None:
            return None
        return self.patch(self.counter_box, self.text(step))


def _clip(box, w: int, h: int):
    return raster.clip_box(box, w, h)
