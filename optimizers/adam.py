"""Adam: momentum on the gradient, RMSprop on its square."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.base import (
    ADAM_MOMENTS_LATEX,
    BETA1,
    BETA2,
    EPS_IN_SQRT,
    HyperSpec,
    Optimizer,
    RuleInfo,
    const,
    eps_spec,
    lr_spec,
    register,
    rms,
)
from optimizers.schedules import as_schedule


class AdamState(NamedTuple):
    count: int
    m: np.ndarray
    v: np.ndarray


def adam(
    lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True, eps_in_sqrt=False
) -> Optimizer:
    r"""Adam (Kingma & Ba 2014), in the notes' symbols.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) \nabla_W \\
        v \leftarrow \beta_2 v + (1 - \beta_2) \nabla_W^2 \\
        W \leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \varepsilon},
        \quad \hat m = \frac{m}{1 - \beta_1^t}, \ \hat v = \frac{v}{1 - \beta_2^t}

    ``bias_correction=False`` gives the notes' short form ``m / (√v + ε)``.
    """
    alpha, b1, b2, eps = as_schedule(lr), const(beta1), const(beta2), const(eps)
    one_minus_b1, one_minus_b2 = const(1 - beta1), const(1 - beta2)

    def init(params):
        zeros = np.zeros_like(params, dtype=float)
        return AdamState(count=0, m=zeros, v=zeros.copy())

    def step(params, state, surface):
        g = surface.grad(params)
        m = b1 * state.m + one_minus_b1 * g
        v = b2 * state.v + one_minus_b2 * g**2
        t = state.count + 1
        if bias_correction:
            m_hat, v_hat = m / const(1 - beta1**t), v / const(1 - beta2**t)
        else:
            m_hat, v_hat = m, v
        params = params - alpha(state.count) * m_hat / rms(v_hat, eps, eps_in_sqrt)
        return params, AdamState(t, m, v)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="adam",
        label="Adam",
        colour="#56B4E9",
        latex=(
            r"\begin{aligned} "
            + ADAM_MOMENTS_LATEX
            + r" \hat m &= \tfrac{m}{1 - \beta_1^t}, \quad \hat v = \tfrac{v}{1 - \beta_2^t} \\"
            r" W &\leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \varepsilon}"
            r"\end{aligned}"
        ),
        factory=adam,
        hyper=(
            lr_spec(0.01),
            BETA1,
            BETA2,
            eps_spec(1e-8),
            HyperSpec("bias_correction", True, help="divide m, v by 1 − βᵗ"),
            EPS_IN_SQRT,
        ),
        description="Momentum plus per-coordinate scaling; bias-corrected.",
    )
)
