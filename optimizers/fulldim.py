"""Training a network in full dimension with the optviz rules, unchanged.

``optimizers.run`` draws 2-D points; a network's parameter vector has P entries. The
rules' ``init``/``step`` are element-wise, so they take a ``(P,)`` vector as they take a
``(2,)`` point, given an oracle whose ``grad`` returns ``(P,)``: :class:`Oracle`, the
gradient of the mean cross-entropy by the notes' backpropagation
(:meth:`surfaces.network.MLP.backprop`), on the full data set or on a seeded mini-batch
drawn once per step (the notes' stochastic gradient).

Divergence follows ``optimizers.run``: the first step whose vector is not finite or lies
farther than 1e6 from the origin; rows after it are NaN. A budget's ``tick`` is called
every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizers.base import OPTIMIZERS, Optimizer
from optimizers.run import DIVERGENCE_RADIUS
from surfaces.network import MLP


class Oracle:
    """``grad(theta) -> (P,)``: backprop on ``X``, ``y`` (the rows a step sees)."""

    def __init__(self, model: MLP, X: np.ndarray, y: np.ndarray):
        self.model, self.X, self.y = model, X, y

    def grad(self, theta):
        return self.model.backprop(theta, self.X, self.y, loss=False)[1]


@dataclass(frozen=True)
class FullRun:
    """One rule's run: ``thetas (steps + 1, P)``; ``diverged_at`` None or the step."""

    thetas: np.ndarray
    diverged_at: int | None


def check_rule(opt: Optimizer) -> None:
    """``ValueError`` for a rule that needs what a network's oracle lacks (a Hessian)."""
    info = OPTIMIZERS.get(opt.name)
    if info is not None and info.second_order:
        raise ValueError(
            f"{opt.name} needs the Hessian, a P×P matrix of the network: not offered here"
        )


def train(
    opt: Optimizer,
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    theta0: np.ndarray,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    tick=None,
) -> FullRun:
    """``steps`` steps of ``opt`` from ``theta0``: full batch, or mini-batches of
    ``batch_size`` rows drawn without replacement from ``seed`` (the same draws for every
    rule given the same seed). Inputs are not modified."""
    check_rule(opt)
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    theta = np.array(theta0, dtype=float)
    n = len(y)
    full = Oracle(model, X, y)
    mini = batch_size is not None and batch_size < n
    rng = np.random.default_rng(seed)
    thetas = np.full((steps + 1, theta.size), np.nan)
    thetas[0] = theta
    state = opt.init(theta)
    diverged = None
    with np.errstate(all="ignore"):
        for t in range(steps):
            if mini:
                idx = rng.choice(n, size=batch_size, replace=False)
                oracle = Oracle(model, X[idx], y[idx])
            else:
                oracle = full
            theta, state = opt.step(theta, state, oracle)
            if not np.isfinite(theta).all() or np.linalg.norm(theta) > DIVERGENCE_RADIUS:
                diverged = t + 1
                break
            thetas[t + 1] = theta
            if tick is not None:
                tick()
    return FullRun(thetas, diverged)
