"""Newton's method: the gradient divided by the curvature, damped."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import HyperSpec, Optimizer, RuleInfo, lr_spec, register
from optimizers.schedules import as_schedule


class NewtonState(NamedTuple):
    count: int


def newton(lr=1.0, damping=0.0) -> Optimizer:
    r"""Damped Newton, the second-order method of the notes' last section.

    .. math:: W \leftarrow W - \alpha (H + \lambda I)^{-1} \nabla_W

    The 2×2 system is inverted exactly through its determinant, for any batch. A
    singular system gives an infinite or NaN step (``run`` reports the divergence),
    never an error or a warning. A surface without a Hessian raises ``ValueError``.
    """
    alpha = as_schedule(lr)

    def init(params):
        return NewtonState(count=0)

    def step(params, state, surface):
        if not getattr(surface, "has_hessian", True):
            name = getattr(surface, "name", "?")
            raise ValueError(f"newton needs a Hessian: surface '{name}' has none")
        g, h = surface.grad(params), surface.hessian(params)
        a, b = h[..., 0, 0] + damping, h[..., 0, 1]
        c, d = h[..., 1, 0], h[..., 1, 1] + damping
        delta = np.empty_like(g)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            det = a * d - b * c
            delta[..., 0] = (d * g[..., 0] - b * g[..., 1]) / det
            delta[..., 1] = (a * g[..., 1] - c * g[..., 0]) / det
            params = params - alpha(state.count) * delta
        return params, NewtonState(state.count + 1)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="newton",
        label="Newton",
        colour="#332288",
        latex=r"W \leftarrow W - \alpha (H + \lambda I)^{-1} \nabla_W",
        factory=newton,
        hyper=(
            lr_spec(1.0, low=1e-3, high=2.0),
            HyperSpec(
                "damping",
                0.0,
                0.0,
                10.0,
                symbol=r"\lambda",
                help="added to the Hessian's diagonal",
                min=0.0,
            ),
        ),
        description="Second order: divides the gradient by the local curvature H + λI.",
        second_order=True,
    )
)
