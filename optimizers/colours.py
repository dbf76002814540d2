"""Trace colours that a viewer tells apart: the CIE76 colour difference, and the rule for
new rules' colours (a library rule's, a typed rule's) to stay clear of the others.

Two colours count as distinct when ΔE ≥ ``DISTINCT`` in CIELAB: the closest pair of the
Okabe–Ito colours the notes' rules use (blue and sky blue) is 26 apart.
"""

from __future__ import annotations

import colorsys
import re

DISTINCT = 25.0
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_GOLDEN_ANGLE = 137.508  # degrees: successive hues spread evenly round the circle


def rgb_of(colour: str) -> tuple[int, int, int]:
    """The 0-255 channels of a ``#rrggbb`` colour."""
    h = colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a ``#rrggbb`` sRGB colour."""
    srgb = [c / 255 for c in rgb_of(colour)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a: str, b: str) -> float:
    """The CIE76 difference of two ``#rrggbb`` colours."""
    return sum((p - q) ** 2 for p, q in zip(lab(a), lab(b), strict=True)) ** 0.5


def clear_of(colour: str, taken) -> bool:
    """Whether ``colour`` is distinct from every ``#rrggbb`` colour in ``taken`` (a colour
    named otherwise, which a hand-built scene may hold, is not compared)."""
    return all(delta_e(colour, t) >= DISTINCT for t in taken if _HEX.fullmatch(str(t)))


def hue_of(colour: str) -> float:
    """The hue in degrees of a ``#rrggbb`` colour."""
    r, g, b = (c / 255 for c in rgb_of(colour))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def hue_colour(hue: float) -> str:
    """The trace colour of a hue in degrees (lightness 0.42, saturation 0.7)."""
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, 0.42, 0.7)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def hue_clear_of(hue: float, taken) -> str:
    """The colour of ``hue``, or of the first hue a golden angle on (then the next...)
    clear of ``taken``; the first one if none is."""
    for i in range(64):
        colour = hue_colour(hue + i * _GOLDEN_ANGLE)
        if clear_of(colour, taken):
            return colour
    return hue_colour(hue)
