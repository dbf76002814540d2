"""Nesterov momentum: the gradient is taken where the velocity is about to carry W."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import Optimizer, RuleInfo, const, lr_spec, register, unit_spec
from optimizers.schedules import as_schedule


class NesterovState(NamedTuple):
    count: int
    v: np.ndarray


def nesterov(lr=0.01, momentum=0.9) -> Optimizer:
    r"""Nesterov's accelerated gradient in the notes' look-ahead form.

    .. math::
        W_{ahead} = W + \mu v \\
        v \leftarrow \mu v - \alpha \nabla_{W_{ahead}} \\
        W \leftarrow W + v

    The point drawn (and returned) is W, not W_ahead.

    Args:
      lr: α, a number or a schedule ``t -> α_t``.
      momentum: μ, how much of the velocity survives a step.
    """
    alpha, mu = as_schedule(lr), const(momentum)

    def init(params):
        return NesterovState(count=0, v=np.zeros_like(params, dtype=float))

    def step(params, state, surface):
        ahead = params + mu * state.v
        v = mu * state.v - alpha(state.count) * surface.grad(ahead)
        return params + v, NesterovState(state.count + 1, v)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="nesterov",
        label="NAG",
        colour="#CC79A7",
        latex=r"\begin{aligned} W_{ahead} &= W + \mu v \\"
        r" v &\leftarrow \mu v - \alpha \nabla_{W_{ahead}} \\ W &\leftarrow W + v \end{aligned}",
        factory=nesterov,
        hyper=(lr_spec(0.01, high=1.0), unit_spec("momentum", 0.9, r"\mu", "velocity kept")),
        description="Momentum that looks ahead: the gradient at W + μv corrects the velocity.",
    )
)
