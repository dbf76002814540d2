"""AMSGrad: Adam whose denominator never shrinks."""

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


class AMSGradState(NamedTuple):
    count: int
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


def amsgrad(
    lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True, eps_in_sqrt=False
) -> Optimizer:
    r"""AMSGrad (Reddi, Kale & Kumar 2018, Algorithm 2), in the notes' symbols.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) \nabla_W \\
        v \leftarrow \beta_2 v + (1 - \beta_2) \nabla_W^2 \\
        \hat v_{max} \leftarrow \max(\hat v_{max}, v) \\
        W \leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v_{max} / (1 - \beta_2^t)} + \varepsilon}

    With ``bias_correction`` m̂ = m / (1 − β₁ᵗ) and the maximum is divided by 1 − β₂ᵗ
    (as PyTorch does); without it, the paper's m / √v̂_max (plus ε).
    """
    alpha, b1, b2, eps = as_schedule(lr), const(beta1), const(beta2), const(eps)
    one_minus_b1, one_minus_b2 = const(1 - beta1), const(1 - beta2)

    def init(params):
        zeros = np.zeros_like(params, dtype=float)
        return AMSGradState(count=0, m=zeros, v=zeros.copy(), v_max=zeros.copy())

    def step(params, state, surface):
        g = surface.grad(params)
        m = b1 * state.m + one_minus_b1 * g
        v = b2 * state.v + one_minus_b2 * g**2
        v_max = np.maximum(state.v_max, v)
        t = state.count + 1
        if bias_correction:
            m_hat, v_hat = m / const(1 - beta1**t), v_max / const(1 - beta2**t)
        else:
            m_hat, v_hat = m, v_max
        params = params - alpha(state.count) * m_hat / rms(v_hat, eps, eps_in_sqrt)
        return params, AMSGradState(t, m, v, v_max)

    return Optimizer(init, step)


register(
    RuleInfo(
        name="amsgrad",
        label="AMSGrad",
        colour="#999933",
        latex=(
            r"\begin{aligned} " + ADAM_MOMENTS_LATEX + r" v_{max} &\leftarrow \max(v_{max}, v) \\"
            r" \hat m &= \tfrac{m}{1 - \beta_1^t}, \quad \hat v = \tfrac{v_{max}}{1 - \beta_2^t} \\"
            r" W &\leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \varepsilon}"
            r"\end{aligned}"
        ),
        factory=amsgrad,
        hyper=(
            lr_spec(0.01, low=1e-4, high=1.0),
            BETA1,
            BETA2,
            eps_spec(1e-8),
            HyperSpec("bias_correction", True, help="divide m, v̂_max by 1 − βᵗ"),
            EPS_IN_SQRT,
        ),
        description="Adam that keeps the largest v seen, so steps never grow back.",
    )
)
