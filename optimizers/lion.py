"""Lion: a step of fixed size per coordinate, in the sign of an interpolated momentum."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import Optimizer, RuleInfo, const, lr_spec, register, unit_spec
from optimizers.schedules import as_schedule


class LionState(NamedTuple):
    count: int
    m: np.ndarray


def lion(lr=0.01, beta1=0.9, beta2=0.99) -> Optimizer:
    r"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Program 1).

    .. math::
        u = \operatorname{sign}(\beta_1 m + (1 - \beta_1) \nabla_W) \\
        W \leftarrow W - \alpha u \\
        m \leftarrow \beta_2 m + (1 - \beta_2) \nabla_W

    Without the paper's weight decay (λ = 0): a landscape has no weights to shrink.
    """
    alpha, b1, b2 = as_schedule(lr), const(beta1), const(beta2)
    one_minus_b1, one_minus_b2 = const(1 - beta1), const(1 - beta2)

    def init(params):
        return LionState(count=0, m=np.zeros_like(params, dtype=float))

    def step(params, state, surface):
        g = surface.grad(params)
        u = np.sign(b1 * state.m + one_minus_b1 * g)
        m = b2 * state.m + one_minus_b2 * g
        return params - alpha(state.count) * u, LionState(state.count + 1, m)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="lion",
        label="Lion",
        colour="#661100",  # from Tol's 12-colour scheme: far from Momentum's green
        latex=(
            r"\begin{aligned} W &\leftarrow W - \alpha\,"
            r"\operatorname{sign}(\beta_1 m + (1-\beta_1)\nabla_W) \\"
            r" m &\leftarrow \beta_2 m + (1-\beta_2)\nabla_W \end{aligned}"
        ),
        factory=lion,
        hyper=(
            lr_spec(0.01, low=1e-4, high=1.0),
            unit_spec("beta1", 0.9, r"\beta_1", "weight of m in the step's direction"),
            unit_spec("beta2", 0.99, r"\beta_2", "decay of the momentum m"),
        ),
        description="Moves every coordinate by exactly α, in the sign of a momentum.",
    )
)
