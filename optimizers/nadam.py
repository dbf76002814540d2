"""Nadam: Adam whose momentum looks ahead like Nesterov's."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import (
    ADAM_MOMENTS_LATEX,
    BETA1,
    BETA2,
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


class NadamState(NamedTuple):
    count: int
    m: np.ndarray
    v: np.ndarray


def nadam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, eps_in_sqrt=False) -> Optimizer:
    r"""Nadam (Dozat 2016, Algorithm 2 with a constant β₁), in the notes' symbols.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) \nabla_W \\
        v \leftarrow \beta_2 v + (1 - \beta_2) \nabla_W^2 \\
        \hat m = \frac{\beta_1 m}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) \nabla_W}{1 - \beta_1^t},
        \quad \hat v = \frac{v}{1 - \beta_2^t} \\
        W \leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \varepsilon}

    t counts updates from 1. The look-ahead is in m̂: next step's momentum plus this gradient.
    """
    alpha, b1, b2, eps = as_schedule(lr), const(beta1), const(beta2), const(eps)
    one_minus_b1, one_minus_b2 = const(1 - beta1), const(1 - beta2)

    def init(params):
        zeros = np.zeros_like(params, dtype=float)
        return NadamState(count=0, m=zeros, v=zeros.copy())

    def step(params, state, surface):
        g = surface.grad(params)
        m = b1 * state.m + one_minus_b1 * g
        v = b2 * state.v + one_minus_b2 * g**2
        t = state.count + 1
        m_hat = b1 * m / const(1 - beta1 ** (t + 1)) + one_minus_b1 * g / const(1 - beta1**t)
        v_hat = v / const(1 - beta2**t)
        params = params - alpha(state.count) * m_hat / rms(v_hat, eps, eps_in_sqrt)
        return params, NadamState(t, m, v)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="nadam",
        label="Nadam",
        colour="#882255",
        latex=(
            r"\begin{aligned} "
            + ADAM_MOMENTS_LATEX
            + r" \hat m &= \tfrac{\beta_1 m}{1-\beta_1^{t+1}} + \tfrac{(1-\beta_1)\nabla_W}"
            r"{1-\beta_1^t}, \quad \hat v = \tfrac{v}{1-\beta_2^t} \\"
            r" W &\leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \varepsilon} \end{aligned}"
        ),
        factory=nadam,
        hyper=(
            lr_spec(0.01, low=1e-4, high=1.0),
            BETA1,
            BETA2,
            eps_spec(1e-8),
            EPS_IN_SQRT,
        ),
        description="Adam with Nesterov's look-ahead folded into its momentum.",
    )
)
