"""RMSprop: Adagrad with a decaying average of squared gradients instead of a sum."""

from __future__ import annotations

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


class RMSpropState(NamedTuple):
    count: int
    c: np.ndarray


def rmsprop(lr=0.01, decay=0.9, eps=1e-8, eps_in_sqrt=False) -> Optimizer:
    r"""RMSprop (Tieleman & Hinton 2012), as the notes write it.

    .. math::
        c \leftarrow \gamma c + (1 - \gamma) \nabla_W^2 \\
        W \leftarrow W - \alpha \frac{\nabla_W}{\sqrt{c} + \varepsilon}

    Args:
      lr: α, a number or a schedule ``t -> α_t``.
      decay: γ, the weight of the past in the running mean of ∇².
      eps: ε in the denominator.
      eps_in_sqrt: use √(c + ε) instead of √c + ε (Radford's code).
    """
    alpha, gamma, eps = as_schedule(lr), const(decay), const(eps)
    one_minus_gamma = const(1 - decay)

    def init(params):
        return RMSpropState(count=0, c=np.zeros_like(params, dtype=float))

    def step(params, state, surface):
        g = surface.grad(params)
        c = gamma * state.c + one_minus_gamma * g**2
        params = params - alpha(state.count) * g / rms(c, eps, eps_in_sqrt)
        return params, RMSpropState(state.count + 1, c)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="rmsprop",
        label="RMSprop",
        colour="#000000",
        latex=r"\begin{aligned} c &\leftarrow \gamma c + (1-\gamma)\nabla_W^2 \\"
        r" W &\leftarrow W - \alpha \frac{\nabla_W}{\sqrt{c} + \varepsilon} \end{aligned}",
        factory=rmsprop,
        hyper=(
            lr_spec(0.01, low=1e-4, high=1.0),
            unit_spec("decay", 0.9, r"\gamma", "weight of the past in the mean of ∇²"),
            eps_spec(1e-8),
            EPS_IN_SQRT,
        ),
        description="Steps scaled by a running root-mean-square of recent gradients.",
    )
)
