"""Argument checks shared by the optimizer analyses (tuning, phase diagrams, maps), so that
a bad argument reads the same whichever of them refused it."""

from __future__ import annotations

import math

import numpy as np

from surfaces import get_surface


def whole(name: str, value, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number in [low, high] (bools refused);
    ``ValueError`` naming ``name`` and the bounds otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return int(value)


def interval(name: str, value) -> tuple[float, float]:
    """``value`` as floats ``(low, high)``, both finite and low < high; ``ValueError``
    naming ``name`` otherwise."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with low < high, got {value!r}")
    return lo, hi


def positive(name: str, value) -> float:
    """``value`` as a finite float > 0; ``ValueError`` naming ``name`` otherwise."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def as_surface(surface):
    """``surface`` itself if it is one, else the registered surface of that name."""
    if isinstance(surface, str):
        try:
            return get_surface(surface)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    if not all(hasattr(surface, a) for a in ("value", "grad", "minima", "x_range")):
        raise ValueError(f"surface must be a Surface or a registered name, got {surface!r}")
    return surface
