r"""Radford's noisy moons as he made it: a logistic regression's loss over its two weights.

The data are scikit-learn's noisy two moons (:func:`surfaces.network.make_moons`, the
same recipe in numpy, seeded). The model classifies a point :math:`x \in \mathbb{R}^2`
by :math:`\hat y = \sigma(w^T (x - c))` with the two weights :math:`w = (w_1, w_2)` the
landscape's coordinates, and the loss is the mean binary cross-entropy over the data

.. math::
   C(w) = \frac{1}{N}\sum_n \operatorname{softplus}(z_n) - y_n z_n,
   \qquad z_n = w^T \tilde x_n, \quad \tilde x_n = x_n - c,

with its exact derivatives, :math:`r_n = \sigma(z_n) - y_n` and
:math:`s_n = \sigma(z_n)(1 - \sigma(z_n))`:

.. math::
   \nabla C = \frac{1}{N}\sum_n r_n \tilde x_n, \qquad
   \nabla^2 C = \frac{1}{N}\sum_n s_n \tilde x_n \tilde x_n^T .

**No bias.** The inputs are centred on :math:`c = (1/2, 1/4)`, the centre of the two
clean half circles (the mean of the noise-free data, the same for every seed), and the
model has no bias: the decision line :math:`w^T(x - c) = 0` passes through the middle of
the picture, where the best line of a balanced two-class problem nearly passes. The two
weights are then the whole model, so the contour is the whole loss and the paths are
the whole training; a fixed, non-zero bias would be a third parameter hidden from the
picture; the raw, uncentred data with no bias force the line through the origin — the
centre of the upper arc, beside the lower moon's tip — and fit worse (the README's numbers).

The landscape (``value``, ``grad``, ``hessian``) is the full-data loss; with
``with_batch_size(b)`` an optimizer's step sees the same loss on ``b`` samples drawn
without replacement from the run's seeded generator (:meth:`oracle`): the notes'
stochastic gradient :math:`\nabla_W C(X_B, Y_B)`. :meth:`accuracy` is always the whole
data set's.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from surfaces.base import Surface
from surfaces.dataset import batch_oracle, check_batch_size, frozen, window
from surfaces.network import make_moons

Array = np.ndarray
CENTRE = (0.5, 0.25)  # the middle of the two clean half circles: their mean for every n
CHUNK_ELEMENTS = 1 << 16  # points × samples per pass: temporaries stay in cache (512 KB)


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^−z) without overflow: e^−|z| never exceeds 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: Array) -> Array:
    """log(1 + e^z), stable: max(z, 0) + log1p(e^−|z|)."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _functions(Xc: Array, labels: Array):
    """``f``, ``df``, ``d2f`` of the mean cross-entropy on centred inputs ``Xc (N, 2)``.

    Element-wise products and row sums, no matrix products: a point alone then gives
    bit for bit what it gives inside a batch (BLAS kernels differ with the batch's shape).
    """
    n = len(labels)
    x0, x1 = (np.ascontiguousarray(c) for c in Xc.T)
    chunk = max(1, CHUNK_ELEMENTS // n)

    def per_point(x, y, what, width: int) -> Array:
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        px, py = x.reshape(-1, 1), y.reshape(-1, 1)
        out = np.empty((len(px), width))
        with np.errstate(all="ignore"):
            for s in range(0, len(px), chunk):
                z = px[s : s + chunk] * x0 + py[s : s + chunk] * x1  # (points, N)
                out[s : s + chunk] = what(z)
        return out.reshape(*x.shape, width)

    def mean(a: Array) -> Array:
        return a.sum(axis=-1) / n

    def f(x, y):
        return per_point(x, y, lambda z: mean(softplus(z) - z * labels)[:, None], 1)[..., 0]

    def df(x, y):
        def grad(z):
            r = sigmoid(z) - labels
            return np.stack([mean(r * x0), mean(r * x1)], axis=-1)

        g = per_point(x, y, grad, 2)
        return g[..., 0], g[..., 1]

    def d2f(x, y):
        def hess(z):
            p = sigmoid(z)
            w = p * (1.0 - p)
            return np.stack([mean(w * x0 * x0), mean(w * x0 * x1), mean(w * x1 * x1)], axis=-1)

        h = per_point(x, y, hess, 3)
        return h[..., 0], h[..., 1], h[..., 2]

    return f, df, d2f


@dataclasses.dataclass(frozen=True, eq=False)
class LogisticSurface(Surface):
    """The full-data cross-entropy of ``σ(w·(x − centre))`` over ``w = (x, y)``.

    ``X`` are the raw inputs ``(N, 2)``, ``labels`` the classes 0/1; optimizer steps see
    mini-batches of ``batch_size`` samples (``None``: the full batch) through
    :meth:`oracle`. Also what the app's Network panel reads: :meth:`accuracy`,
    :meth:`decision_boundary`, :meth:`data_window`.
    """

    X: Array | None = None
    labels: Array | None = None
    centre: tuple[float, float] = CENTRE
    batch_size: int | None = None

    @classmethod
    def build(cls, X, labels, centre=CENTRE, **fields) -> LogisticSurface:
        X, labels = frozen(X), frozen(labels)
        f, df, d2f = _functions(X - np.asarray(centre, dtype=float), labels)
        return cls(
            f=f, df=df, d2f=d2f, X=X, labels=labels, centre=tuple(map(float, centre)), **fields
        )

    def with_batch_size(self, batch_size: int | None) -> LogisticSurface:
        """The same surface whose optimizer steps see mini-batches of ``batch_size``."""
        return dataclasses.replace(self, batch_size=check_batch_size(batch_size))

    def oracle(self, step: int, rng: np.random.Generator | None) -> Surface:
        """Full batch, or the loss on ``batch_size`` samples drawn without replacement."""
        centre = np.asarray(self.centre)
        return batch_oracle(self, step, rng, lambda X, labels: _functions(X - centre, labels))

    def logits(self, p, inputs=None) -> Array:
        """``w·(x − centre)`` for weights ``p (..., 2)`` and inputs ``(M, 2)``: ``(..., M)``."""
        p = np.asarray(p, dtype=float)
        if p.shape[-1:] != (2,):
            raise ValueError(f"points must have shape (..., 2), got {p.shape}")
        inputs = self.X if inputs is None else np.asarray(inputs, dtype=float)
        return p @ (inputs - np.asarray(self.centre)).T

    def accuracy(self, p) -> Array:
        """Fraction of the whole data set classified right at each point ``p (..., 2)``.

        Class 1 is predicted where σ(z) > 1/2, i.e. z > 0; NaN where ``p`` is not finite.
        """
        p = np.asarray(p, dtype=float)
        with np.errstate(all="ignore"):
            right = (self.logits(np.nan_to_num(p)) > 0) == (self.labels > 0.5)
        out = right.mean(axis=-1)
        out = np.where(np.isfinite(p).all(axis=-1), out, np.nan)
        return out

    def data_window(self, pad: float = 0.5) -> tuple[tuple[float, float], tuple[float, float]]:
        lo, hi = self.X.min(axis=0) - pad, self.X.max(axis=0) + pad
        return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))

    def decision_boundary(self, p, grid: int = 100) -> tuple[Array, Array, Array]:
        """Class-1 probability over the input plane at weights ``p``: ``(xs, ys, prob)``.

        As :meth:`surfaces.network.NetworkSurface.decision_boundary`: ``prob`` is
        ``(grid, grid)`` for one point, ``(K, grid, grid)`` for ``K`` points, indexed
        ``[..., row = y, column = x]``; its 0.5 level is the line ``w·(x − c) = 0``.
        """
        if (
            isinstance(grid, bool)
            or not isinstance(grid, int | np.integer)
            or not (2 <= grid <= 1000)
        ):
            raise ValueError(f"grid must be a whole number from 2 to 1000, got {grid!r}")
        p = np.asarray(p, dtype=float)
        if p.ndim > 2 or p.shape[-1:] != (2,) or math.prod(p.shape[:-1]) * grid * grid > 5e7:
            raise ValueError("decision_boundary takes a point (x, y) or a list of points")
        (x0, x1), (y0, y1) = self.data_window()
        xs, ys = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
        xx, yy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            prob = sigmoid(self.logits(p, np.stack([xx.ravel(), yy.ravel()], axis=-1)))
        return xs, ys, prob.reshape(*p.shape[:-1], grid, grid)


def minimum(surface: LogisticSurface, p0=(0.0, 0.0), steps: int = 50) -> Array:
    """The loss's minimum by Newton's method (the loss is convex; the moons overlap, so
    the minimum is finite)."""
    p = np.array(p0, dtype=float)
    for _ in range(steps):
        step = np.linalg.solve(surface.hessian(p), surface.grad(p))
        p = p - step
        if np.abs(step).max() < 1e-14:
            break
    return p


def logistic_moons(
    n: int = 200,
    noise: float = 0.25,
    seed: int = 0,
    batch_size: int | None = None,
    span: float = 6.0,
) -> LogisticSurface:
    """Radford's noisy moons: logistic regression on :func:`make_moons` ``(n, noise, seed)``.

    The window is ``±span`` around the minimum; the start sits where the line points
    the wrong way (accuracy well under 50 %).
    """
    X, labels = make_moons(n, noise, seed)
    probe = LogisticSurface.build(
        X, labels, name="", label="", description="", latex="", x_range=(-1, 1), y_range=(-1, 1)
    )
    mx, my = minimum(probe)
    return LogisticSurface.build(
        X,
        labels,
        name="logistic_moons",
        label="Noisy moons (logistic regression)",
        description=(
            f"Mean cross-entropy of a logistic regression σ(w·(x − c)) on {n} noisy two-moons "
            f"points (noise {noise}), over its two weights; inputs centred on c = (0.5, 0.25), "
            "no bias."
        ),
        latex=(
            r"C(w_1, w_2) = \frac{1}{N}\sum_{n} \log\big(1 + e^{z_n}\big) - y_n z_n,"
            r"\quad z_n = w^T (x_n - c)"
        ),
        **window(mx, my, span),
        log_scale=False,
        extra={"n": n, "noise": noise, "seed": seed, "centre": CENTRE},
        batch_size=batch_size,
    )
