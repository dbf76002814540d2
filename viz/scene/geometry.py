"""Geometry both renderers share (Plotly figures and GIF frames): the value grid over a
window, the display floor, the 3-D height (f or log f) and its range, the plot margins.

Pure numpy; cached per (surface, window), since surfaces are immutable.
"""

from __future__ import annotations

import functools

import numpy as np

from surfaces import Surface
from viz.scene.model import Style

MARGIN = {"l": 46, "r": 12, "t": 12, "b": 40}  # the 2-D plot's margins, screen and GIF alike
SCENE_ASPECT = {"x": 1.0, "y": 1.0, "z": 0.7}


@functools.lru_cache(maxsize=32)
def _grid(surface: Surface, window: tuple, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = window
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    xx, yy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        zz = np.asarray(surface.value(np.stack([xx, yy], axis=-1)), dtype=float)
    return xs, ys, zz


def grid(surface: Surface, window, n: int = 100):
    """Axis vectors and values of ``surface`` on an ``n``×``n`` grid over ``window``."""
    window = tuple(tuple(float(v) for v in r) for r in window)
    return _grid(surface, window, n)


def floor_value(surface: Surface, zz: np.ndarray) -> float:
    """The lowest value the display uses as its base: the known minimum, else the grid's."""
    finite = zz[np.isfinite(zz)]
    lo = float(finite.min()) if finite.size else 0.0
    m = surface.min_value
    return lo if m is None else min(lo, m)


@functools.lru_cache(maxsize=64)
def _floor_of_window(surface: Surface, window: tuple) -> float:
    return floor_value(surface, grid(surface, window, 60)[2])


def window_floor(surface: Surface, window) -> float:
    """``floor_value`` of the 60×60 grid over ``window``, computed once per surface/window."""
    return _floor_of_window(surface, tuple(tuple(float(v) for v in r) for r in window))


@functools.lru_cache(maxsize=64)
def _values_of_window(surface: Surface, window: tuple) -> tuple[float, float] | None:
    zz = grid(surface, window, 60)[2]
    finite = zz[np.isfinite(zz)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def value_range(surface: Surface, window) -> tuple[float, float] | None:
    """The finite values' (min, max) on the 60×60 grid over ``window`` (cached), or None."""
    return _values_of_window(surface, tuple(tuple(float(v) for v in r) for r in window))


def log_view(surface: Surface, style: Style | None = None) -> bool:
    """Read on a log scale: the surface says so, or the scene's contour levels are log-spaced."""
    return bool(surface.log_scale or (style is not None and style.log_levels))


def display_z(surface: Surface, values, base: float, style: Style | None = None) -> np.ndarray:
    """Height drawn in 3-D: f, or log₁₀(1 + f − f*) ("log f") for surfaces read on a log scale."""
    v = np.asarray(values, dtype=float)
    if log_view(surface, style):
        with np.errstate(all="ignore"):
            return np.log10(1.0 + np.maximum(v - base, 0.0))
    return v


def axis_titles(surface: Surface) -> tuple[str, str]:
    """The two plane axes' titles: "x", "y", or what the surface names them (the network
    scene's PC1/PC2 with their explained variance, or its random directions a, b)."""
    axes = surface.extra.get("axes")
    return tuple(axes) if axes else ("x", "y")


def z_title(surface: Surface, style: Style | None = None) -> str:
    return "log f" if log_view(surface, style) else "f"


def z_range(surface: Surface, window, style: Style) -> tuple[float, float]:
    if style.z_range is not None:
        return tuple(style.z_range)
    return _z_range(
        surface, tuple(tuple(float(v) for v in r) for r in window), log_view(surface, style)
    )


@functools.lru_cache(maxsize=64)
def _z_range(surface: Surface, window: tuple, log: bool) -> tuple[float, float]:
    """z_range's grid part: it only depends on the surface and window (once per scene)."""
    style = Style(log_levels=log)
    _, _, zz = grid(surface, window, 60)
    dz = display_z(surface, zz, floor_value(surface, zz), style)
    finite = dz[np.isfinite(dz)]
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.02 * (hi - lo or 1.0)
    return lo - pad, hi + pad
