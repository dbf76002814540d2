"""Momentum: the gradient updates a velocity, the velocity moves the point."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import Optimizer, RuleInfo, const, lr_spec, register, unit_spec
from optimizers.schedules import as_schedule


class MomentumState(NamedTuple):
    count: int
    v: np.ndarray


def momentum(lr=0.01, momentum=0.9) -> Optimizer:
    r"""Classical momentum, as the notes write it.

    .. math::
        v \leftarrow \mu v - \alpha \nabla_W \\
        W \leftarrow W + v

    Args:
      lr: α, a number or a schedule ``t -> α_t``.
      momentum: μ, how much of the velocity survives a step.
    """
    alpha, mu = as_schedule(lr), const(momentum)

    def init(params):
        return MomentumState(count=0, v=np.zeros_like(params, dtype=float))

    def step(params, state, surface):
        v = mu * state.v - alpha(state.count) * surface.grad(params)
        return params + v, MomentumState(state.count + 1, v)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="momentum",
        label="Momentum",
        colour="#009E73",
        latex=r"\begin{aligned} v &\leftarrow \mu v - \alpha \nabla_W \\ W &\leftarrow W + v"
        r"\end{aligned}",
        factory=momentum,
        hyper=(lr_spec(0.01, high=1.0), unit_spec("momentum", 0.9, r"\mu", "velocity kept")),
        description="A ball rolling downhill: velocity builds up along steady slopes.",
    )
)
