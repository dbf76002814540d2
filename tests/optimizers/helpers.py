"""Small surfaces the optimizer tests share."""

from __future__ import annotations

from surfaces.base import Surface


def no_hessian_surface(name: str = "flat_no_hessian") -> Surface:
    """The bowl x² + y² with its gradient but no Hessian (``d2f=None``)."""
    return Surface(
        name=name,
        label="No Hessian",
        description="",
        latex="",
        f=lambda x, y: x * x + y * y,
        df=lambda x, y: (2 * x, 2 * y),
        d2f=None,
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )


# Two trace colours a viewer tells apart at a glance: CIE76 ΔE in CIELAB (D65) of at least
# this (Okabe–Ito's closest pair, blue and sky blue, is 26).
DISTINCT_DELTA_E = 25.0


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two ``#rrggbb`` colours (sRGB → XYZ D65 → CIELAB)."""

    def lab(hex_colour: str) -> tuple[float, float, float]:
        h = hex_colour.lstrip("#")
        srgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, bl = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
        x = (0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047
        y = 0.2126 * r + 0.7152 * g + 0.0722 * bl
        z = (0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883

        def f(t: float) -> float:
            return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

        return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))

    return sum((p - q) ** 2 for p, q in zip(lab(a), lab(b), strict=True)) ** 0.5
