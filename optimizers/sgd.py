"""Stochastic gradient descent."""

from __future__ import annotations

from typing import NamedTuple

from optimizers.base import Optimizer, RuleInfo, lr_spec, register
from optimizers.schedules import as_schedule


class SGDState(NamedTuple):
    count: int


def sgd(lr=0.01) -> Optimizer:
    r"""Plain gradient descent, the notes' simplest rule.

    .. math:: W \leftarrow W - \alpha \nabla_W

    Args:
      lr: α, a number or a schedule ``t -> α_t``.
    """
    alpha = as_schedule(lr)

    def init(params):
        return SGDState(count=0)

    def step(params, state, surface):
        g = surface.grad(params)
        return params - alpha(state.count) * g, SGDState(state.count + 1)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="sgd",
        label="SGD",
        colour="#D55E00",
        latex=r"W \leftarrow W - \alpha \nabla_W",
        factory=sgd,
        hyper=(lr_spec(0.01),),
        description="Steps straight down the gradient, scaled by α.",
    )
)
