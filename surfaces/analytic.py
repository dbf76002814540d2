"""Analytic landscapes: each declares value, gradient and Hessian side by side.

Every function takes coordinate arrays ``x, y`` of one shape. Gradients return
``(fx, fy)``; Hessians ``(fxx, fxy, fyy)``.
"""

from __future__ import annotations

import numpy as np

from surfaces.base import Surface


def quadratic() -> Surface:
    return Surface(
        name="quadratic",
        label="Quadratic bowl",
        description="An isotropic bowl: every rule's easiest case.",
        latex=r"f(x, y) = x^2 + y^2",
        f=lambda x, y: x**2 + y**2,
        df=lambda x, y: (2 * x, 2 * y),
        d2f=lambda x, y: (2.0, 0.0, 2.0),
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0),),
        start=(-1.5, 1.2),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    return Surface(
        name="rosenbrock",
        label="Rosenbrock",
        description="A curved, flat-bottomed banana valley; the minimum sits at its far end.",
        latex=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
        f=lambda x, y: (a - x) ** 2 + b * (y - x**2) ** 2,
        df=lambda x, y: (-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)),
        d2f=lambda x, y: (2 - 4 * b * (y - x**2) + 8 * b * x**2, -4 * b * x, 2 * b + 0 * x),
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        minima=((a, a * a),),
        start=(-1.5, 2.0),
        log_scale=True,
    )


def saddle() -> Surface:
    return Surface(
        name="saddle",
        label="Saddle",
        description="A saddle point at the origin: up along x, down along y.",
        latex=r"f(x, y) = x^2 - y^2",
        f=lambda x, y: x**2 - y**2,
        df=lambda x, y: (2 * x, -2 * y),
        d2f=lambda x, y: (2.0, 0.0, -2.0),
        x_range=(-1.5, 1.0),
        y_range=(-1.5, 1.0),
        minima=(),
        start=(0.7, 1e-5),
    )


ALL = [quadratic, rosenbrock, saddle]
