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


class _Recorder:
    """Pass 1 of a lock-step: notes where a rule asks for its gradient (zeros returned)."""

    def __init__(self):
        self.points: list[np.ndarray] = []

    def grad(self, theta):
        self.points.append(np.array(theta, dtype=float))
        return np.zeros_like(theta, dtype=float)


class _Replay:
    """Pass 2: the gradients computed for the recorded points, in order; any other point
    (a rule whose second request depends on its first answer) is computed on the spot."""

    def __init__(self, points, grads, oracle: Oracle):
        self.points, self.grads, self.oracle, self.i = points, grads, oracle, 0

    def grad(self, theta):
        i, self.i = self.i, self.i + 1
        if i < len(self.points) and np.array_equal(theta, self.points[i]):
            return self.grads[i].copy()
        return self.oracle.grad(theta)


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
    """``steps`` steps of ``opt`` from ``theta0`` (see :func:`train_many`)."""
    return train_many([opt], model, X, y, theta0, steps, batch_size, seed, tick)[0]


def train_many(
    opts,
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    theta0: np.ndarray,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    tick=None,
) -> list[FullRun]:
    """``steps`` steps of each rule in ``opts`` from ``theta0``: full batch, or mini-batches
    of ``batch_size`` rows drawn without replacement from ``seed`` (every rule sees the
    same draws). Inputs are not modified.

    The rules run in lock-step so that their gradients are one batched backprop per step:
    each step runs once with an oracle that records where the rule asks for its gradient,
    the gradients at all those points are computed together, and the step runs again,
    answered from them. Steps are pure, so the second run asks for the same points and
    returns what the rule alone would (a rule asking for another point gets it computed).
    """
    opts = list(opts)
    for opt in opts:
        check_rule(opt)
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    theta_start = np.array(theta0, dtype=float)
    n = len(y)
    mini = batch_size is not None and batch_size < n
    rng = np.random.default_rng(seed)
    thetas = [np.full((steps + 1, theta_start.size), np.nan) for _ in opts]
    params = [theta_start.copy() for _ in opts]
    states = [opt.init(theta_start.copy()) for opt in opts]
    diverged: list[int | None] = [None] * len(opts)
    for path in thetas:
        path[0] = theta_start
    full = Oracle(model, X, y)
    with np.errstate(all="ignore"):
        for t in range(steps):
            alive = [i for i in range(len(opts)) if diverged[i] is None]
            if not alive:
                break
            if mini:
                idx = rng.choice(n, size=batch_size, replace=False)
                oracle = Oracle(model, X[idx], y[idx])
            else:
                oracle = full
            recorders = {}
            for i in alive:
                recorders[i] = _Recorder()
                opts[i].step(params[i], states[i], recorders[i])
            points = [p for i in alive for p in recorders[i].points]
            grads = oracle.grad(np.stack(points)) if points else []
            k = 0
            for i in alive:
                m = len(recorders[i].points)
                replay = _Replay(recorders[i].points, grads[k : k + m], oracle)
                k += m
                theta, states[i] = opts[i].step(params[i], states[i], replay)
                if not np.isfinite(theta).all() or np.linalg.norm(theta) > DIVERGENCE_RADIUS:
                    diverged[i] = t + 1
                    continue
                params[i] = theta
                thetas[i][t + 1] = theta
            if tick is not None:
                tick()
    return [FullRun(path, d) for path, d in zip(thetas, diverged, strict=True)]
