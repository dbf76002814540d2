"""Argument checks shared by the optimizer analyses (tuning, phase diagrams, maps), so that
a bad argument reads the same whichever of them refused it."""

from __future__ import annotations

import numpy as np


def whole(name: str, value, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number in [low, high] (bools refused);
    ``ValueError`` naming ``name`` and the bounds otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return int(value)
