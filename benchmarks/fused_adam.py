"""The batched Adam row's yardstick: the same run as one hand-fused compiled loop.

optviz steps a batch with the notes' formulas as numpy array expressions, one pass over
the batch per operation. This is the other way to write it: one compiled loop (numba,
one core) that takes each start through the gradient, the Adam update, the stored point,
its loss and the divergence check while its numbers sit in registers. It does exactly
run()'s work (its points and losses equal run()'s bit for bit; a benchmark asserts so
before timing it), so its time is about the best any implementation of this run could
do here, and tells how far the numpy passes are from that.

It is a benchmark yardstick, not a second implementation of the rule: optviz never
calls it.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from optimizers.run import DIVERGENCE_RADIUS


def _kernel(points, losses, diverged, lr, beta1, beta2, one_minus_b1, one_minus_b2, c1, c2, eps):
    """Adam on Rosenbrock (a = 1, b = 100), each operation in adam.py's and
    surfaces.analytic's order (their ``x**2`` is numpy's ``x * x``)."""
    steps, batch = points.shape[0] - 1, points.shape[1]
    r2_max = DIVERGENCE_RADIUS**2
    m = np.zeros((batch, 2))
    v = np.zeros((batch, 2))
    for i in range(batch):
        x, y = points[0, i, 0], points[0, i, 1]
        losses[0, i] = (1.0 - x) * (1.0 - x) + 100.0 * ((y - x * x) * (y - x * x))
        if not (np.isfinite(losses[0, i]) and x * x + y * y <= r2_max):
            diverged[i] = 0
    for t in range(steps):
        for i in range(batch):
            x, y = points[t, i, 0], points[t, i, 1]
            r = y - x * x
            gx = -2.0 * (1.0 - x) - 400.0 * x * r
            gy = 200.0 * r
            mx = beta1 * m[i, 0] + one_minus_b1 * gx
            my = beta1 * m[i, 1] + one_minus_b1 * gy
            vx = beta2 * v[i, 0] + one_minus_b2 * (gx * gx)
            vy = beta2 * v[i, 1] + one_minus_b2 * (gy * gy)
            m[i, 0], m[i, 1], v[i, 0], v[i, 1] = mx, my, vx, vy
            x = x - lr * (mx / c1[t]) / (np.sqrt(vx / c2[t]) + eps)
            y = y - lr * (my / c1[t]) / (np.sqrt(vy / c2[t]) + eps)
            points[t + 1, i, 0], points[t + 1, i, 1] = x, y
            loss = (1.0 - x) * (1.0 - x) + 100.0 * ((y - x * x) * (y - x * x))
            losses[t + 1, i] = loss
            if diverged[i] < 0 and not (np.isfinite(loss) and x * x + y * y <= r2_max):
                diverged[i] = t + 1


_compiled = None


def available() -> bool:
    """Whether numba is installed (the `bench` extra); it is imported only when used."""
    return importlib.util.find_spec("numba") is not None


def fused_adam(starts: np.ndarray, steps: int, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
    """``(points, losses, diverged)`` of Adam from ``starts`` (B, 2) on Rosenbrock.

    Runs that diverge keep being stepped (run() stops updating them); the benchmark's
    batch has none, and its bit-for-bit check would fail if it had.
    """
    global _compiled
    if _compiled is None:
        import numba

        _compiled = numba.njit(cache=True, error_model="numpy")(_kernel)
    points = np.empty((steps + 1, *starts.shape))
    points[0] = starts
    losses = np.empty(points.shape[:-1])
    diverged = np.full(starts.shape[0], -1, dtype=np.int64)
    # The bias corrections as adam.py computes them: Python floats, 1 − βᵗ.
    c1 = np.array([1 - beta1**t for t in range(1, steps + 1)])
    c2 = np.array([1 - beta2**t for t in range(1, steps + 1)])
    with np.errstate(all="ignore"):
        _compiled(points, losses, diverged, lr, beta1, beta2, 1 - beta1, 1 - beta2, c1, c2, eps)
    return points, losses, diverged
