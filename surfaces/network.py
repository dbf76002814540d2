r"""A real network's loss: a small classifier on noisy two moons, over two of its weights.

Radford's "noisy moons" animation shows a classifier trained on mini-batches of
scikit-learn's two-moons data; here the data set is generated with numpy
(:func:`make_moons`) and the classifier is a small multi-layer perceptron
(:class:`MLP`). Its loss, as a function of two chosen weights with every other weight
held fixed, is a :class:`~surfaces.base.Surface` like any other.

The network follows the notes (``reference/backprop-and-optimizers.txt``). Layers
``l = 1 … L``; the input is :math:`x^1`, each layer computes

.. math:: x^{l+1} = f^l(z^l), \qquad z^l = b^l + W^l x^l,

and the loss is the mean binary cross-entropy :math:`C` of the output
:math:`x^{L+1} = \sigma(z^L)`. Backpropagation, as the notes write it, with
:math:`\delta^l = \partial C / \partial z^l`:

.. math::
   \delta^L &= (f^L)' \circ \nabla_{x^{L+1}} C = \tfrac{1}{N}(x^{L+1} - y)
             \quad\text{(sigmoid and cross-entropy: the factors cancel)} \\
   \delta^{l-1} &= (f^{l-1})' \circ (W^l)^T \delta^l \\
   \nabla_{W^l} C &= \delta^l (x^l)^T, \qquad \nabla_{b^l} C = \delta^l
   \quad\text{(summed over the batch; the } 1/N \text{ makes it the batch mean)}

Everything is vectorised over many parameter vectors at once (leading axes of
``theta``), so a 100×100 grid of the landscape is one batched forward and backward
pass. The Hessian of the two-weight surface is the central finite difference of the
backprop gradient (step :data:`HESSIAN_STEP`, error ≈ 1e-9 relative), symmetrised.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from surfaces.base import Surface
from surfaces.dataset import batch_oracle, check_batch_size, frozen, window

Array = np.ndarray
HESSIAN_STEP = 1e-5
CHUNK = 256  # at most this many parameter vectors per batched pass; bounds memory on large grids
# ... and at most this many bytes in a pass's widest array (vectors × samples × units × 8).
# At or above glibc's mmap threshold (128 KiB) every such temporary is fresh memory from
# the kernel, page-faulted in and unmapped again: at 256 vectors of the 200-sample moons
# (1.2 MB arrays) a 100×100 gradient took ~45,000 page faults and half its time in them,
# and `1 - a*a` on a 259 KB array took 40× what it takes on a 130 KB one. Under it, none,
# whether or not optimizers.memory has raised the threshold (and the chunk stays in cache).
CHUNK_BYTES = 120 * 1024


def _chunk(model: MLP, samples: int) -> int:
    """Parameter vectors per batched pass for ``samples`` samples through ``model``."""
    return max(1, min(CHUNK, CHUNK_BYTES // (8 * samples * max(model.widths))))


# --- data ---------------------------------------------------------------------------


def make_moons(n: int = 200, noise: float = 0.25, seed: int = 0) -> tuple[Array, Array]:
    """Two interleaved half circles with Gaussian noise: ``X (n, 2)``, labels ``y (n,)``.

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc
    ``(1 - cos t, 1/2 - sin t)``, ``t`` evenly spaced over ``[0, π]``; each point then
    moves by ``noise`` times a standard normal draw. The rows are shuffled. Seeded:
    the same ``(n, noise, seed)`` gives the same arrays.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be a whole number ≥ 2, got {n!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    order = rng.permutation(n)
    return X[order], y[order]


# --- the network ----------------------------------------------------------------------


def _sigmoid(z: Array) -> Array:
    # exp(-z) overflows to inf for z < -709, and 1 / (1 + inf) = 0 is the right answer.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


# name -> (f, f' written in terms of a = f(z)): backprop needs no z of hidden layers.
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float)),
    "identity": (lambda z: z, lambda a: np.ones_like(a)),
}


class Known(NamedTuple):
    """A forward pass already done for ``theta0``, reusable for parameters that differ
    from ``theta0`` only in rows ``rows`` of ``W^layer``/``b^layer`` (and later layers).

    Layers before ``layer`` are copied; in ``layer`` only the changed units are
    recomputed. Same numbers as a full pass, far fewer ``tanh`` calls on a grid.
    """

    layer: int
    rows: tuple[int, ...]
    xs: list[Array]
    zs: list[Array]


class MLP:
    """A fully connected classifier: ``widths = [n_in, h_1, …, 1]``, sigmoid output.

    ``activation`` is the hidden layers' ``f^l`` (``tanh``, ``sigmoid``, ``relu`` or
    ``identity``); the last layer is always the sigmoid, the loss the mean binary
    cross-entropy. Parameters live in one flat vector ``theta`` (layer by layer,
    ``W^l`` row-major then ``b^l``); any leading axes of ``theta`` are a batch of
    networks evaluated together.
    """

    def __init__(self, widths: Sequence[int], activation: str = "tanh"):
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1 or widths[-1] != 1:
            raise ValueError(f"widths must be [inputs, hidden..., 1] with each ≥ 1, got {widths}")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
            )
        self.widths = widths
        self.activation = activation
        self.layers = len(widths) - 1  # L
        self._slices: list[tuple[slice, tuple[int, int], slice]] = []
        start = 0
        for n_in, n_out in itertools.pairwise(widths):
            w = slice(start, start + n_out * n_in)
            b = slice(w.stop, w.stop + n_out)
            self._slices.append((w, (n_out, n_in), b))
            start = b.stop
        self.size = start

    def __repr__(self) -> str:
        return f"MLP({list(self.widths)}, activation={self.activation!r})"

    def names(self) -> list[str]:
        """A name per entry of ``theta``: ``W1[0,1]`` is row 0, column 1 of :math:`W^1`."""
        out = []
        for l, (_, (n_out, n_in), _) in enumerate(self._slices, start=1):
            out += [f"W{l}[{i},{j}]" for i in range(n_out) for j in range(n_in)]
            out += [f"b{l}[{i}]" for i in range(n_out)]
        return out

    def index(self, name: str) -> int:
        names = self.names()
        if name not in names:
            raise ValueError(f"{self!r} has no parameter {name!r} (e.g. {names[0]}, {names[-1]})")
        return names.index(name)

    def init(self, rng: np.random.Generator) -> Array:
        """Seeded Glorot-normal weights and zero biases."""
        theta = np.zeros(self.size)
        for w, (n_out, n_in), _ in self._slices:
            theta[w] = rng.standard_normal(n_out * n_in) * np.sqrt(2.0 / (n_in + n_out))
        return theta

    def unpack(self, theta: Array) -> list[tuple[Array, Array]]:
        """``[(W^1, b^1), …]`` as views: ``W^l (..., out, in)``, ``b^l (..., out)``."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape[-1:] != (self.size,):
            raise ValueError(f"theta must have shape (..., {self.size}), got {theta.shape}")
        lead = theta.shape[:-1]
        return [
            (theta[..., w].reshape(*lead, *shape), theta[..., b]) for w, shape, b in self._slices
        ]

    def forward(
        self, theta: Array, X: Array, known: Known | None = None
    ) -> tuple[list[Array], list[Array]]:
        """Every layer's input and pre-activation: ``xs = [x^1 … x^{L+1}]``, ``zs = [z^1 … z^L]``.

        Samples are rows: ``x^l`` has shape ``(..., N, n_l)``, so ``z^l = x^l (W^l)^T + b^l``
        is the notes' ``b^l + W^l x^l`` for every sample at once. With ``known``, hidden
        layers' ``z`` entries may be ``None`` (backprop needs only ``a = f(z)``).
        """
        f_hidden = ACTIVATIONS[self.activation][0]
        xs, zs = [np.asarray(X, dtype=float)], []
        for l, (W, b) in enumerate(self.unpack(theta), start=1):
            f = _sigmoid if l == self.layers else f_hidden
            if known is not None and l < known.layer:
                z, a = known.zs[l - 1], known.xs[l]
            elif known is not None and l == known.layer:
                rows = list(known.rows)
                lead = W.shape[:-2]
                z_rows = xs[-1] @ np.swapaxes(W[..., rows, :], -1, -2) + b[..., None, rows]
                shape = (*lead, *known.zs[l - 1].shape[-2:])
                a = np.broadcast_to(known.xs[l], shape).copy()
                a[..., rows] = f(z_rows)
                if l == self.layers:  # the logits are needed; hidden z are not (f' uses a)
                    z = np.broadcast_to(known.zs[l - 1], shape).copy()
                    z[..., rows] = z_rows
                else:
                    z = None
            else:
                z = xs[-1] @ np.swapaxes(W, -1, -2) + b[..., None, :]
                a = f(z)
            zs.append(z)
            xs.append(a)
        return xs, zs

    def known(self, theta0: Array, X: Array, changing: Sequence[int]) -> Known:
        """The reusable pass at ``theta0`` for parameters changing at indices ``changing``."""
        layer, rows = self.layers + 1, set()
        for k in changing:
            l, row = self.locate(k)
            if l < layer:
                layer, rows = l, set()
            if l == layer:
                rows.add(row)
        xs, zs = self.forward(theta0, X)
        return Known(layer, tuple(sorted(rows)), xs, zs)

    def locate(self, k: int) -> tuple[int, int]:
        """(layer ``l``, output row) that parameter ``k`` belongs to."""
        for l, (w, (_, n_in), b) in enumerate(self._slices, start=1):
            if w.start <= k < w.stop:
                return l, (k - w.start) // n_in
            if b.start <= k < b.stop:
                return l, k - b.start
        raise IndexError(f"parameter index {k} out of range (size {self.size})")

    def loss(self, theta: Array, X: Array, y: Array, known: Known | None = None) -> Array:
        """Mean binary cross-entropy, shape ``theta.shape[:-1]``."""
        _, zs = self.forward(theta, X, known)
        return bce(zs[-1][..., 0], y)

    def predict(self, theta: Array, X: Array) -> Array:
        """Probability of class 1 per sample, shape ``(..., N)``."""
        return self.forward(theta, X)[0][-1][..., 0]

    def backprop(
        self, theta: Array, X: Array, y: Array, known: Known | None = None, loss: bool = True
    ) -> tuple[Array | None, Array]:
        """``(loss, gradient)``: the loss ``(...)`` and ``∇_theta C`` ``(..., size)``.

        ``loss=False`` returns ``None`` for the loss, not computed (the gradient alone
        needs no logarithm or exponential of the output).
        """
        theta = np.asarray(theta, dtype=float)
        y = np.asarray(y, dtype=float)
        params = self.unpack(theta)
        xs, zs = self.forward(theta, X, known)
        n = y.shape[-1]
        f_prime = ACTIVATIONS[self.activation][1]
        grad = np.empty(np.broadcast_shapes(theta.shape, (*xs[-1].shape[:-2], self.size)))
        # δ^L = σ'(z^L) ∘ ∇_{x^{L+1}} C = (x^{L+1} - y) / N for the sigmoid with cross-entropy.
        delta = (xs[-1] - y[..., None]) / n
        # The sum over samples as the product 1ᵀδ: numpy's sum over the middle axis of
        # (..., N, units) runs its reduction a few units at a time, ~40× slower.
        ones = np.ones(delta.shape[-2])
        for l in range(self.layers, 0, -1):
            w, _, b = self._slices[l - 1]
            x_l = xs[l - 1]
            # ∇W^l = δ^l (x^l)^T and ∇b^l = δ^l, summed over the samples (rows).
            gW = np.swapaxes(delta, -1, -2) @ x_l
            grad[..., w] = gW.reshape(*gW.shape[:-2], -1)
            grad[..., b] = ones @ delta
            if l > 1:
                # δ^{l-1} = (f^{l-1})' ∘ (W^l)^T δ^l
                W = params[l - 1][0]
                delta = f_prime(xs[l - 1]) * (delta @ W)
        return (bce(zs[-1][..., 0], y) if loss else None), grad


def bce(z: Array, y: Array) -> Array:
    """Mean over samples of −y log σ(z) − (1−y) log(1−σ(z)), from the logits (stable)."""
    # −log σ(z) = softplus(−z), −log(1−σ(z)) = softplus(z); softplus(z) − y z covers both.
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return (softplus - y * z).mean(axis=-1)


def train(
    model: MLP,
    X: Array,
    y: Array,
    theta: Array,
    steps: int = 2000,
    lr: float = 0.05,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> Array:
    """Full-batch Adam on ``theta`` (used once to pick the fixed weights of the scene)."""
    theta = np.array(theta, dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        _, g = model.backprop(theta, X, y)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return theta


# --- the surface --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class NetworkSurface(Surface):
    """The loss over two weights ``(theta[i], theta[j]) = (x, y)``, all others fixed.

    ``value`` and ``grad`` use the whole data set; :meth:`oracle` hands an optimizer
    the same landscape on a mini-batch of ``batch_size`` samples drawn with its rng
    (``None``: full batch).
    """

    model: MLP | None = None
    theta: Array | None = None  # the fixed weights; entries i and j are replaced
    pair: tuple[int, int] = (0, 1)
    X: Array | None = None
    labels: Array | None = None
    batch_size: int | None = None

    @classmethod
    def build(
        cls, model: MLP, theta: Array, pair: tuple[int, int], X: Array, labels: Array, **fields
    ) -> NetworkSurface:
        theta, X, labels = (frozen(a) for a in (theta, X, labels))
        f, df, d2f = _functions(model, theta, pair, X, labels)
        return cls(
            f=f, df=df, d2f=d2f, model=model, theta=theta, pair=pair, X=X, labels=labels, **fields
        )

    def with_batch_size(self, batch_size: int | None) -> NetworkSurface:
        """The same surface whose optimizer steps see mini-batches of ``batch_size``."""
        return dataclasses.replace(self, batch_size=check_batch_size(batch_size))

    def oracle(self, step: int, rng: np.random.Generator | None) -> Surface:
        """Full batch, or the landscape on ``batch_size`` samples drawn without replacement."""
        return batch_oracle(
            self,
            step,
            rng,
            lambda X, labels: _functions(self.model, self.theta, self.pair, X, labels),
        )

    def params(self, p) -> Array:
        """The full parameter vectors at points ``p (..., 2)``: shape ``(..., size)``."""
        p = np.asarray(p, dtype=float)
        if p.shape[-1:] != (2,):
            raise ValueError(f"points must have shape (..., 2), got {p.shape}")
        return _embed(self.theta, self.pair, p[..., 0], p[..., 1])

    def accuracy(self, p) -> Array:
        """Fraction of the whole data set classified right at each point ``p (..., 2)``."""
        theta = self.params(p)
        out = np.empty(theta.shape[:-1])
        flat_theta, flat_out = theta.reshape(-1, theta.shape[-1]), out.reshape(-1)
        chunk = _chunk(self.model, len(self.labels))
        for s in range(0, len(flat_theta), chunk):
            with np.errstate(all="ignore"):
                prob = self.model.predict(flat_theta[s : s + chunk], self.X)
            flat_out[s : s + chunk] = ((prob > 0.5) == (self.labels > 0.5)).mean(axis=-1)
        out[~np.isfinite(theta).all(axis=-1)] = np.nan  # no classifier there
        return out

    def data_window(self, pad: float = 0.5) -> tuple[tuple[float, float], tuple[float, float]]:
        lo, hi = self.X.min(axis=0) - pad, self.X.max(axis=0) + pad
        return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))

    def decision_boundary(self, p, grid: int = 100) -> tuple[Array, Array, Array]:
        """Class-1 probability over the input plane at ``p``: ``(xs, ys, prob)``.

        ``xs (grid,)``, ``ys (grid,)`` cover the data with a margin; ``prob`` is
        ``(grid, grid)`` for one point ``p (2,)``, ``(K, grid, grid)`` for ``K`` points
        (say, every step of a trajectory), indexed ``[..., row = y, column = x]`` like a
        contour's ``z``; the 0.5 level is the decision boundary.
        """
        if (
            isinstance(grid, bool)
            or not isinstance(grid, int | np.integer)
            or not (2 <= grid <= 1000)
        ):
            raise ValueError(f"grid must be a whole number from 2 to 1000, got {grid!r}")
        theta = self.params(p)
        if theta.ndim > 2 or math.prod(theta.shape[:-1]) * grid * grid > 50_000_000:
            raise ValueError("decision_boundary takes a point (x, y) or a list of points")
        (x0, x1), (y0, y1) = self.data_window()
        xs, ys = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
        xx, yy = np.meshgrid(xs, ys)
        inputs = np.stack([xx.ravel(), yy.ravel()], axis=-1)
        with np.errstate(all="ignore"):
            prob = self.model.predict(theta, inputs)
        return xs, ys, prob.reshape(*theta.shape[:-1], grid, grid)


def _embed(theta: Array, pair: tuple[int, int], x: Array, y: Array) -> Array:
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    full = np.broadcast_to(theta, (*x.shape, theta.shape[-1])).copy()
    full[..., pair[0]] = x
    full[..., pair[1]] = y
    return full


def _functions(model: MLP, theta: Array, pair: tuple[int, int], X: Array, labels: Array):
    """``f``, ``df`` and ``d2f`` of the two-weight slice on the data ``(X, labels)``."""
    i, j = pair
    known = model.known(theta, X, pair)
    chunk = _chunk(model, len(labels))

    def batched(x, y, what: Callable[[Array], Array], width: int) -> Array:
        full = _embed(theta, pair, x, y)
        flat = full.reshape(-1, full.shape[-1])
        out = np.empty((len(flat), width))
        with np.errstate(all="ignore"):
            for s in range(0, len(flat), chunk):
                out[s : s + chunk] = what(flat[s : s + chunk]).reshape(-1, width)
        return out.reshape(*full.shape[:-1], width)

    def f(x, y):
        return batched(x, y, lambda t: model.loss(t, X, labels, known), 1)[..., 0]

    def df(x, y):
        g = batched(x, y, lambda t: model.backprop(t, X, labels, known, False)[1][:, [i, j]], 2)
        return g[..., 0], g[..., 1]

    def d2f(x, y):
        # Central differences of the backprop gradient, symmetrised.
        h = HESSIAN_STEP
        gxp, gxm = np.stack(df(x + h, y), -1), np.stack(df(x - h, y), -1)
        gyp, gym = np.stack(df(x, y + h), -1), np.stack(df(x, y - h), -1)
        row_x = (gxp - gxm) / (2 * h)
        row_y = (gyp - gym) / (2 * h)
        return row_x[..., 0], 0.5 * (row_x[..., 1] + row_y[..., 0]), row_y[..., 1]

    return f, df, d2f


# --- the registered scene -------------------------------------------------------------


def noisy_moons(
    n: int = 200,
    noise: float = 0.25,
    seed: int = 0,
    widths: Sequence[int] = (2, 3, 1),
    activation: str = "tanh",
    weights: tuple[str, str] = ("W1[0,0]", "W1[0,1]"),
    batch_size: int | None = None,
    train_steps: int = 300,
    span: float = 5.0,
) -> NetworkSurface:
    """Radford's noisy moons: a classifier's loss over two of its weights.

    The data set is :func:`make_moons` ``(n, noise, seed)``. The network is seeded
    (``seed``) and trained full-batch with Adam for ``train_steps`` steps, so the fixed
    weights belong to a classifier that works; the two ``weights`` (named as in
    :meth:`MLP.names`) are then free. The slice's minimum is found by Newton steps
    from the trained values; the window spans ``±span`` around it, the start sits in
    its upper-left part where the classifier is poor. (Radford's original was a
    logistic regression: ``widths=(2, 1)``.)
    """
    X, labels = make_moons(n, noise, seed)
    model = MLP(widths, activation)
    theta = train(model, X, labels, model.init(np.random.default_rng(seed)), train_steps, 0.1)
    pair = (model.index(weights[0]), model.index(weights[1]))
    if pair[0] == pair[1]:
        raise ValueError("choose two different weights")
    probe = NetworkSurface.build(
        model,
        theta,
        pair,
        X,
        labels,
        name="",
        label="",
        description="",
        latex="",
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )
    best = _slice_minimum(probe, theta[list(pair)])
    (mx, my), r = best, float(span)
    a, b = weights
    return NetworkSurface.build(
        model,
        theta,
        pair,
        X,
        labels,
        name="noisy_moons",
        label="Noisy moons (network loss)",
        description=(
            f"Cross-entropy of a {'-'.join(map(str, widths))} {activation} classifier on "
            f"{n} noisy two-moons points, over {a} and {b}; every other weight fixed."
        ),
        latex=(
            r"C(w_1, w_2) = -\frac{1}{N}\sum_{n} \big[y_n \log \hat y_n + (1 - y_n)"
            r"\log(1 - \hat y_n)\big]"
        ),
        **window(mx, my, r),
        log_scale=True,
        extra={"weights": (a, b), "n": n, "noise": noise, "seed": seed},
        batch_size=batch_size,
    )


def _slice_minimum(surface: NetworkSurface, p0: Array, steps: int = 20) -> Array:
    """Newton's method on the two-weight slice from ``p0`` (the trained values)."""
    p = np.array(p0, dtype=float)
    for _ in range(steps):
        g = surface.grad(p)
        H = surface.hessian(p)
        if not np.all(np.linalg.eigvalsh(H) > 0):
            break
        step = np.linalg.solve(H, g)
        p = p - step
        if np.abs(step).max() < 1e-12:
            break
    return p
