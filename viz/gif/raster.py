"""Pixel helpers shared by the GIF renderers: colours, fonts, anti-aliased drawing.

Everything draws into numpy RGB arrays (``uint8``, shape ``(h, w, 3)``). Shapes are
drawn by Pillow's ``ImageDraw`` into a coverage mask at ``SUPERSAMPLE`` times the
resolution and box-filtered down, which gives anti-aliased edges; the mask is then
blended into the picture with the shape's colour.
"""

from __future__ import annotations

import functools
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viz.scene import colours

SUPERSAMPLE = 3


# --------------------------------------------------------------------------- colours


def rgb(colour: str) -> tuple[int, int, int]:
    """``'#rrggbb'``, ``'#rgb'``, ``'rgb(r, g, b)'``/``'rgba(...)'`` or a CSS name -> (r, g, b)."""
    text = colour.strip()
    match = re.fullmatch(r"rgba?\(([^)]*)\)", text)
    if match:
        parts = [float(v) for v in match.group(1).split(",")[:3]]
        return tuple(round(v) for v in parts)  # type: ignore[return-value]
    from PIL import ImageColor

    return ImageColor.getrgb(text)[:3]  # type: ignore[return-value]


@functools.lru_cache(maxsize=32)
def colorscale(name: str, fade: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A style's colour scale as (positions, rgb float array), the stops the screen uses."""
    scale = colours.scale(name, fade)
    pos = np.array([float(p) for p, _ in scale])
    cols = np.array([rgb(c) for _, c in scale], dtype=float)
    return pos, cols


def sample_scale(name: str, t, fade: float = 0.0) -> np.ndarray:
    """Colours of the scale ``name`` (``fade`` toward white) at ``t`` in [0, 1] (any shape)
    -> float RGB ``(..., 3)``."""
    pos, cols = colorscale(name, fade)
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    return np.stack([np.interp(t, pos, cols[:, k]) for k in range(3)], axis=-1)


# ----------------------------------------------------------------------------- fonts

_FONT_PLACES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian: fonts-dejavu-core
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


@functools.lru_cache(maxsize=1)
def _font_file() -> str | None:
    for place in _FONT_PLACES:
        if os.path.exists(place):
            return place
    try:  # matplotlib ships DejaVu Sans in its package data
        import matplotlib

        place = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
        if os.path.exists(place):
            return place
    except ImportError:
        pass
    return None


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (the face of Radford's matplotlib frames) when present, else Pillow's own."""
    place = _font_file()
    if place:
        return ImageFont.truetype(place, size)
    return ImageFont.load_default(size=size)


MIN_TEXT_PX = 8  # the smallest text a frame holds, in the picture's own pixels


def scaled_font(size: float, u: float, s: int = 1):
    """``font`` of ``size`` px at the reference panel, scaled by ``u`` and drawn at ``s``×
    supersampling, never under ``MIN_TEXT_PX`` in the picture."""
    return font(max(round(size * u * s), MIN_TEXT_PX * s))


def minus(text: str) -> str:
    """Typographic minus signs, as matplotlib writes tick labels (only with DejaVu)."""
    return text.replace("-", "\u2212") if _font_file() else text


# --------------------------------------------------------------------------- drawing


def blend(canvas: np.ndarray, x0: int, y0: int, cover: np.ndarray, colour) -> None:
    """Blend ``colour`` into ``canvas`` at (x0, y0) with per-pixel opacity ``cover`` in [0, 1]."""
    h, w = cover.shape
    region = canvas[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    col = np.asarray(colour, dtype=np.float32)
    region += (col - region) * cover[..., None]
    canvas[y0 : y0 + h, x0 : x0 + w] = np.rint(region).astype(np.uint8)


def clip_box(box, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Integer box (x0, y0, x1, y1) clipped to the picture; None when it is empty."""
    x0, y0, x1, y1 = box
    x0, y0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    x1, y1 = min(int(np.ceil(x1)), width), min(int(np.ceil(y1)), height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def polyline_cover(points: np.ndarray, width: float, box) -> np.ndarray:
    """Anti-aliased coverage of a round-capped polyline inside ``box``, float32 in [0, 1].

    Exact when small: each pixel's distance d to the nearest segment gives the coverage
    clip(width/2 + 1/2 − d, 0, 1). Pieces with many segments over a large box are drawn
    by Pillow at 2× instead (``polyline_mask``), which costs less there.
    """
    x0, y0, x1, y1 = box
    pts = np.asarray(points, dtype=np.float32)
    a, b = (pts[:-1], pts[1:]) if len(pts) > 1 else (pts, pts)
    if (x1 - x0) * (y1 - y0) * len(a) > 65536:
        return polyline_mask(points, width, box, 2)
    px = np.arange(x0, x1, dtype=np.float32)[None, :, None] + 0.5
    py = np.arange(y0, y1, dtype=np.float32)[:, None, None] + 0.5
    ab = b - a
    length2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    t = ((px - a[:, 0]) * ab[:, 0] + (py - a[:, 1]) * ab[:, 1]) / length2
    t = np.clip(t, 0.0, 1.0)
    dx = px - a[:, 0] - t * ab[:, 0]
    dy = py - a[:, 1] - t * ab[:, 1]
    d = np.sqrt((dx * dx + dy * dy).min(axis=2))
    return np.clip(width / 2 + 0.5 - d, 0.0, 1.0)


def polyline_mask(points: np.ndarray, width: float, box, s: int = SUPERSAMPLE) -> np.ndarray:
    """Anti-aliased coverage (float32 in [0, 1]) of a round-capped polyline inside ``box``."""
    x0, y0, x1, y1 = box
    mask = Image.new("L", ((x1 - x0) * s, (y1 - y0) * s), 0)
    draw = ImageDraw.Draw(mask)
    pts = (np.asarray(points, dtype=float) - (x0, y0)) * s
    w = max(width * s, 1.0)
    if len(pts) > 1:
        draw.line(pts.reshape(-1).tolist(), fill=255, width=round(w), joint="curve")
    r = w / 2
    for cx, cy in (pts[0], pts[-1]):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    return np.asarray(mask.reduce(s), dtype=np.float32) / 255.0


def disc_masks(cx: float, cy: float, radius: float, edge: float, box):
    """Coverage of a disc and of its interior ``edge`` pixels inside the rim (a dot's fill)."""
    x0, y0, x1, y1 = box
    s = SUPERSAMPLE
    outer = Image.new("L", ((x1 - x0) * s, (y1 - y0) * s), 0)
    inner = Image.new("L", outer.size, 0)
    px, py = (cx - x0) * s, (cy - y0) * s
    r_out, r_in = radius * s, max(radius - edge, 0.0) * s
    ImageDraw.Draw(outer).ellipse((px - r_out, py - r_out, px + r_out, py + r_out), fill=255)
    ImageDraw.Draw(inner).ellipse((px - r_in, py - r_in, px + r_in, py + r_in), fill=255)
    return (
        np.asarray(outer.reduce(s), dtype=np.float32) / 255.0,
        np.asarray(inner.reduce(s), dtype=np.float32) / 255.0,
    )


def dot_sprite(cx: float, cy: float, radius: float):
    """A dot's (rim-and-fill, fill) coverage and its top-left pixel, cached per ¼-pixel offset."""
    ix, iy = int(np.floor(cx)), int(np.floor(cy))
    fx, fy = int((cx - ix) * 4), int((cy - iy) * 4)
    outer, inner = _dot(round(radius * 4), fx, fy)
    half = outer.shape[0] // 2
    return outer, inner, (ix - half, iy - half)


@functools.lru_cache(maxsize=512)
def _dot(r4: int, fx: int, fy: int):
    radius = r4 / 4
    half = int(np.ceil(radius)) + 1
    box = (0, 0, 2 * half + 1, 2 * half + 1)
    cx, cy = half + (fx + 0.5) / 4, half + (fy + 0.5) / 4
    return disc_masks(cx, cy, radius, max(1.0, radius / 5), box)


def star_points(cx: float, cy: float, r_out: float, r_in: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star pointing up."""
    angles = -np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r_out, r_in)
    return list(zip(cx + radii * np.cos(angles), cy + radii * np.sin(angles), strict=True))


def draw_supersampled(canvas: np.ndarray, paint) -> None:
    """Run ``paint(draw, s)`` on an RGBA layer at SUPERSAMPLE× and composite it onto ``canvas``.

    ``paint`` receives an ``ImageDraw`` and the scale factor and draws with coordinates
    multiplied by it. Used for the static parts (star, legend, axes), drawn once.
    """
    h, w = canvas.shape[:2]
    s = SUPERSAMPLE
    layer = Image.new("RGBA", (w * s, h * s), (0, 0, 0, 0))
    paint(ImageDraw.Draw(layer), s)
    small = np.asarray(layer.resize((w, h), Image.Resampling.BOX), dtype=np.float32)
    alpha = small[..., 3:] / 255.0  # Pillow resizes RGBA with premultiplied alpha
    colour = small[..., :3]
    out = canvas.astype(np.float32) * (1 - alpha) + colour * alpha
    canvas[:] = np.rint(out).astype(np.uint8)


def text_up(draw, xy, text: str, font, fill) -> None:
    """``text`` reading upwards (rotated 90°), its left edge at ``xy[0]``, centred on
    ``xy[1]``: a y-axis title longer than a letter."""
    box = font.getbbox(text)
    mask = Image.new("L", (box[2] - box[0] + 2, box[3] - box[1] + 2), 0)
    ImageDraw.Draw(mask).text((1 - box[0], 1 - box[1]), text, fill=255, font=font)
    up = mask.rotate(90, expand=True)
    draw.bitmap((round(xy[0]), round(xy[1] - up.height / 2)), up, fill=fill)


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) inside [lo, hi], about ``count`` of them."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = mag * min((m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10)
    first = np.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step


def tick_text(values: np.ndarray) -> list[str]:
    """Labels with as many decimals as the tick step needs, matplotlib style."""
    if len(values) > 1:
        step = float(np.min(np.diff(values)))
        decimals = max(0, int(np.ceil(-np.log10(step) - 1e-9))) if step > 0 else 1
        if step > 0 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
            decimals += 1
    else:
        decimals = 1
    return [minus(f"{v + 0.0:.{decimals}f}") for v in values]
