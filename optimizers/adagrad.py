"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients."""

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
)
from optimizers.schedules import as_schedule


class AdagradState(NamedTuple):
    count: int
    c: np.ndarray


def adagrad(lr=0.1, eps=1e-8, eps_in_sqrt=False) -> Optimizer:
    r"""Adagrad (Duchi, Hazan & Singer 2011), as the notes write it.

    .. math::
        c \leftarrow c + \nabla_W^2 \\
        W \leftarrow W - \alpha \frac{\nabla_W}{\sqrt{c} + \varepsilon}

    Args:
      lr: α, a number or a schedule ``t -> α_t``.
      eps: ε in the denominator.
      eps_in_sqrt: use √(c + ε) instead of √c + ε (Radford's code).
    """
    alpha, eps = as_schedule(lr), const(eps)

    def init(params):
        return AdagradState(count=0, c=np.zeros_like(params, dtype=float))

    def step(params, state, surface):
        g = surface.grad(params)
        c = state.c + g**2
        params = params - alpha(state.count) * g / rms(c, eps, eps_in_sqrt)
        return params, AdagradState(state.count + 1, c)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="adagrad",
        label="Adagrad",
        colour="#0072B2",
        latex=r"\begin{aligned} c &\leftarrow c + \nabla_W^2 \\"
        r" W &\leftarrow W - \alpha \frac{\nabla_W}{\sqrt{c} + \varepsilon} \end{aligned}",
        factory=adagrad,
        hyper=(lr_spec(0.1, low=1e-4, high=2.0), eps_spec(1e-8), EPS_IN_SQRT),
        description="Per-coordinate steps that shrink with the sum of past squared gradients.",
    )
)
