"""What the surfaces built on a data set share (``surfaces.logistic``, ``surfaces.network``):
read-only data, a checked ``batch_size``, the oracle that draws a mini-batch, and the
window around the minimum."""

from __future__ import annotations

import dataclasses

import numpy as np

from surfaces.base import Array, Surface


def frozen(a) -> Array:
    """A read-only float copy: a registered surface's data cannot be changed by accident."""
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def window(mx: float, my: float, span: float) -> dict:
    """A surface's ``x_range``, ``y_range``, ``minima`` and ``start``: the square ``±span``
    around its minimum ``(mx, my)`` (to 2 decimals), the start 80 % of the way to the
    upper left corner."""
    return {
        "x_range": (round(mx - span, 2), round(mx + span, 2)),
        "y_range": (round(my - span, 2), round(my + span, 2)),
        "minima": ((float(mx), float(my)),),
        "start": (round(mx - 0.8 * span, 2), round(my + 0.8 * span, 2)),
    }


def check_batch_size(batch_size) -> int | None:
    """``batch_size`` as an int ≥ 1, or ``None`` (full batch); ``ValueError`` otherwise."""
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise ValueError(f"batch_size must be a whole number, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    return int(batch_size)


def batch_oracle(surface, step: int, rng: np.random.Generator | None, functions) -> Surface:
    """What a rule sees at ``step`` of a surface with fields ``X``, ``labels`` and
    ``batch_size``: the surface itself (full batch), or the same surface on ``batch_size``
    samples drawn without replacement by ``rng`` (default: seeded by ``step``), its
    ``f, df, d2f`` from ``functions(X, labels)``."""
    n = len(surface.labels)
    if surface.batch_size is None or surface.batch_size >= n:
        return surface
    rng = rng if rng is not None else np.random.default_rng(step)
    idx = rng.choice(n, size=surface.batch_size, replace=False)
    X, labels = frozen(surface.X[idx]), frozen(surface.labels[idx])
    f, df, d2f = functions(X, labels)
    return dataclasses.replace(surface, f=f, df=df, d2f=d2f, X=X, labels=labels, batch_size=None)
