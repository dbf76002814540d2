"""Adadelta: step sizes in the units of W, from running means of ∇² and of past steps."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from optimizers.base import (
    EPS_IN_SQRT,
    Optimizer,
    RuleInfo,
    const,
    eps_spec,
    lr_spec,
    register,
    rms,
    unit_spec,
)
from optimizers.schedules import as_schedule


class AdadeltaState(NamedTuple):
    count: int
    g2: np.ndarray  # E[∇²]
    dx2: np.ndarray  # E[Δ²]


def adadelta(lr=1.0, rho=0.95, eps=1e-6, eps_in_sqrt=True) -> Optimizer:
    r"""Adadelta (Zeiler 2012, Algorithm 1), in the notes' symbols.

    .. math::
        E[\nabla^2] \leftarrow \rho E[\nabla^2] + (1 - \rho) \nabla_W^2 \\
        \Delta = -\frac{\sqrt{E[\Delta^2] + \varepsilon}}{\sqrt{E[\nabla^2] + \varepsilon}}
            \nabla_W \\
        E[\Delta^2] \leftarrow \rho E[\Delta^2] + (1 - \rho) \Delta^2 \\
        W \leftarrow W + \alpha \Delta

    Zeiler's ε sits inside the roots, so ``eps_in_sqrt`` defaults to True here;
    False gives √E + ε like the notes' other adaptive rules. Zeiler has α = 1.
    """
    alpha, eps, one_minus_rho, rho = as_schedule(lr), const(eps), const(1 - rho), const(rho)

    def init(params):
        zeros = np.zeros_like(params, dtype=float)
        return AdadeltaState(count=0, g2=zeros, dx2=zeros.copy())

    def step(params, state, surface):
        g = surface.grad(params)
        g2 = rho * state.g2 + one_minus_rho * g**2
        delta = -rms(state.dx2, eps, eps_in_sqrt) / rms(g2, eps, eps_in_sqrt) * g
        dx2 = rho * state.dx2 + one_minus_rho * delta**2
        return params + alpha(state.count) * delta, AdadeltaState(state.count + 1, g2, dx2)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="adadelta",
        label="Adadelta",
        colour="#E69F00",
        latex=(
            r"\begin{aligned} E[\nabla^2] &\leftarrow \rho E[\nabla^2] + (1-\rho)\nabla_W^2 \\"
            r" \Delta &= -\frac{\sqrt{E[\Delta^2] + \varepsilon}}"
            r"{\sqrt{E[\nabla^2] + \varepsilon}} \nabla_W \\"
            r" E[\Delta^2] &\leftarrow \rho E[\Delta^2] + (1-\rho)\Delta^2 \\"
            r" W &\leftarrow W + \alpha \Delta \end{aligned}"
        ),
        factory=adadelta,
        hyper=(
            lr_spec(1.0, low=1e-3, high=10.0),
            unit_spec("rho", 0.95, r"\rho", "weight of the past in both running means"),
            eps_spec(1e-6),
            replace(EPS_IN_SQRT, default=True),
        ),
        description="No global step size needed: steps come in the units of W.",
    )
)
