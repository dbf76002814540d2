r"""A real network's loss landscape (Li, Xu, Taylor, Studer & Goldstein, 2018).

A small MLP (:class:`surfaces.network.MLP`: the notes' layers and backpropagation) is
trained in full dimension elsewhere (``optimizers.fulldim``); this module holds what is
pure numpy around it:

- seeded 2-D data sets (:func:`make_data`: moons, circles, spirals, XOR);
- the plane all runs are drawn in, through a reference vector :math:`\theta_{ref}`:
  :func:`pca_plane` (the first two right singular vectors of the matrix whose rows are
  every run's :math:`\theta_i - \theta_{ref}`, and the share of
  :math:`\sum_k s_k^2` each explains) or :func:`random_plane` (two seeded Gaussian
  directions with Li et al.'s filter normalisation: each output unit's incoming weights
  rescaled to the norm of the same weights in :math:`\theta_{ref}`, biases zeroed);
- :func:`project`: a parameter vector's least-squares coordinates ``(a, b)`` in the plane
  and its distance from it;
- :func:`grid_loss`: the loss over a grid of the plane, one batched forward pass;
- :class:`PlaneSurface`: the same loss as a :class:`~surfaces.base.Surface` over
  ``(a, b)``, so every view that draws a surface draws the plane.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from surfaces.base import Surface
from surfaces.network import MLP, bce, make_moons

Array = np.ndarray
DATASETS = ("moons", "circles", "spirals", "xor")
# Widest temporary of one batched pass (vectors × samples × units × 8 bytes): 20 vectors of
# the 2-16-16-1 net on 200 points; measured 0.7 s for 5,400 vectors against 0.85-1.2 s at
# 2 MiB and 0.8-1.3 s at 64 KiB (one BLAS thread, loaded 2-core VM).
CHUNK_BYTES = 512 * 1024


# --- data ---------------------------------------------------------------------------


def make_data(name: str, n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[Array, Array]:
    """A seeded two-class data set in the plane: ``X (n, 2)``, labels ``y (n,)`` in {0, 1}.

    - ``moons``: two interleaved half circles (:func:`surfaces.network.make_moons`);
    - ``circles``: a circle of radius 1 around one of radius 1/2 (class 1 inside);
    - ``spirals``: two arms ``r = t``, angle ``3πt`` and ``3πt + π``, ``t ∈ [0.1, 1]``;
    - ``xor``: uniform on ``[-1, 1]²``, class 1 where ``x·y > 0``.

    Every point then moves by ``noise`` times a standard normal draw; rows are shuffled.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be a whole number ≥ 2, got {n!r}")
    if not (isinstance(noise, int | float) and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    if name == "moons":
        return make_moons(int(n), float(noise), seed)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    if name == "circles":
        t = rng.uniform(0.0, 2 * np.pi, n)
        r = np.where(y > 0, 0.5, 1.0)
        X = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    elif name == "spirals":
        t = rng.uniform(0.1, 1.0, n)
        angle = 3 * np.pi * t + np.pi * y
        X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    else:  # xor
        X = rng.uniform(-1.0, 1.0, (n, 2))
        y = (X[:, 0] * X[:, 1] > 0).astype(float)
    X = X + noise * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


# --- the plane ----------------------------------------------------------------------


class Plane(NamedTuple):
    """The plane ``θ_ref + a·d1 + b·d2``; ``explained`` is PCA's share per direction
    (``None`` for random directions)."""

    ref: Array  # (P,)
    d1: Array  # (P,)
    d2: Array  # (P,)
    kind: str  # "pca" | "random"
    explained: tuple[float, float] | None = None

    def at(self, a, b) -> Array:
        """Parameter vectors at plane coordinates ``a``, ``b`` (broadcast): ``(..., P)``."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        return self.ref + a[..., None] * self.d1 + b[..., None] * self.d2


def pca_plane(thetas: Array, ref: Array) -> Plane:
    """The first two principal directions of the rows ``thetas (M, P)`` around ``ref``.

    ``D = thetas − ref`` (rows with a non-finite entry left out, as Li et al. take the
    differences to the final vector, not to the mean); ``D = U S Vᵀ``; the directions are
    the first two rows of ``Vᵀ`` (eigenvectors of ``DᵀD``); direction k explains
    ``s_k² / Σ s²`` of ``‖D‖²``. A second direction under 1e-6 of the first: no plane.
    """
    thetas = np.asarray(thetas, dtype=float)
    ref = np.asarray(ref, dtype=float)
    D = thetas - ref
    D = D[np.isfinite(D).all(axis=1)]
    if D.shape[1] < 2:
        raise ValueError("the network needs at least two weights for a plane")
    if len(D) < 2:
        raise ValueError("the runs hold fewer than two finite vectors: no PCA plane")
    # The right singular vectors of D are the eigenvectors of its Gram matrix DᵀD, and
    # s_k² its eigenvalues: one P×P symmetric eigenproblem (a 1,806×337 SVD costs 5-15×).
    # With fewer vectors than weights, the M×M matrix DDᵀ has the same s_k², and its
    # eigenvectors u_k give v_k = Dᵀu_k / s_k (12,737 weights: P³ took minutes and GBs).
    wide = len(D) < D.shape[1]
    evals, evecs = np.linalg.eigh(D @ D.T if wide else D.T @ D)
    s2 = np.clip(evals[::-1], 0.0, None)
    total = float(np.sum(s2))
    if total <= 0 or s2[1] <= 1e-12 * s2[0]:
        raise ValueError(
            "the runs moved along fewer than two directions: no PCA plane "
            "(use more steps, another optimizer, or the random plane)"
        )
    if wide:
        d1, d2 = (D.T @ evecs[:, -k] / np.sqrt(s2[k - 1]) for k in (1, 2))
        # eigh's sign is arbitrary: the larger end of each direction points up
        d1, d2 = (d if d[np.argmax(np.abs(d))] > 0 else -d for d in (d1, d2))
    else:
        d1, d2 = evecs[:, -1].copy(), evecs[:, -2].copy()
    explained = (float(s2[0] / total), float(s2[1] / total))
    return Plane(ref.copy(), d1, d2, "pca", explained)


def filter_normalise(model: MLP, direction: Array, theta: Array) -> Array:
    """Li et al.'s filter normalisation for an MLP: each output unit's row of ``W^l`` in
    ``direction`` rescaled to the norm of the same row in ``theta``; biases zeroed."""
    d = np.array(direction, dtype=float)
    out = np.zeros_like(d)
    for (Wd, _), (Wt, _), (w, _, _) in zip(
        model.unpack(d), model.unpack(theta), model._slices, strict=True
    ):
        nd = np.linalg.norm(Wd, axis=1, keepdims=True)
        nt = np.linalg.norm(Wt, axis=1, keepdims=True)
        rows = np.where(nd > 0, Wd * nt / np.where(nd > 0, nd, 1.0), 0.0)
        out[w] = rows.reshape(-1)
    return out


def random_plane(model: MLP, ref: Array, seed: int = 0) -> Plane:
    """Two seeded Gaussian directions, each filter-normalised to ``ref`` (Li et al. 2018)."""
    rng = np.random.default_rng(seed)
    ref = np.asarray(ref, dtype=float)
    d1 = filter_normalise(model, rng.standard_normal(model.size), ref)
    d2 = filter_normalise(model, rng.standard_normal(model.size), ref)
    if not (np.linalg.norm(d1) > 0 and np.linalg.norm(d2) > 0):
        raise ValueError("the reference network has no weights to normalise to (all zero)")
    return Plane(ref.copy(), d1, d2, "random", None)


def project(plane: Plane, thetas: Array) -> tuple[Array, Array]:
    """``(coords (..., 2), distance (...))``: least-squares ``(a, b)`` of each vector in the
    plane (for orthonormal directions, the dot products) and its distance from the plane."""
    thetas = np.asarray(thetas, dtype=float)
    B = np.stack([plane.d1, plane.d2], axis=1)  # (P, 2)
    D = (thetas - plane.ref).reshape(-1, len(plane.ref))
    # Normal equations on the 2×2 Gram matrix: the least-squares coordinates of every row.
    coords = np.linalg.solve(B.T @ B, B.T @ D.T).T
    dist = np.linalg.norm(D - coords @ B.T, axis=1)
    return coords.reshape(*thetas.shape[:-1], 2), dist.reshape(thetas.shape[:-1])


# --- the loss over the plane ----------------------------------------------------------


def chunk_size(model: MLP, samples: int) -> int:
    """Parameter vectors per batched pass (bounds the widest temporary to CHUNK_BYTES)."""
    return max(1, CHUNK_BYTES // (8 * samples * max(model.widths)))


def batched_loss(model: MLP, thetas: Array, X: Array, y: Array, tick=None) -> Array:
    """Full-data loss of every vector in ``thetas (..., P)``, chunked; ``tick()`` between
    chunks (a budget's deadline); NaN where a vector is not finite."""
    return batched_eval(model, thetas, X, y, tick)[0]


def batched_eval(model: MLP, thetas: Array, X: Array, y: Array, tick=None):
    """``(loss, accuracy)`` on the whole data of every vector in ``thetas (..., P)``, one
    forward pass per chunk; ``tick()`` between chunks; NaN where a vector is not finite."""
    thetas = np.asarray(thetas, dtype=float)
    y = np.asarray(y, dtype=float)
    flat = thetas.reshape(-1, thetas.shape[-1])
    loss, acc = np.full(len(flat), np.nan), np.full(len(flat), np.nan)
    idx = np.flatnonzero(np.isfinite(flat).all(axis=1))
    step = chunk_size(model, len(y))
    positive = y > 0.5
    with np.errstate(all="ignore"):
        for s in range(0, len(idx), step):
            part = idx[s : s + step]
            logits = model.forward(flat[part], X)[1][-1][..., 0]
            loss[part] = bce(logits, y)
            acc[part] = ((logits > 0) == positive).mean(axis=-1)  # σ(z) > 1/2 ⇔ z > 0
            if tick is not None:
                tick()
    return loss.reshape(thetas.shape[:-1]), acc.reshape(thetas.shape[:-1])


def grid_loss(model: MLP, plane: Plane, a: Array, b: Array, X, y, tick=None) -> Array:
    """The loss at ``θ_ref + a_j d1 + b_i d2``: ``z[i, j]`` (rows = b, like a contour's z)."""
    A, Bm = np.meshgrid(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return batched_loss(model, plane.at(A, Bm), X, y, tick)


@dataclasses.dataclass(frozen=True, eq=False)
class PlaneSurface(Surface):
    """The loss over the plane's coordinates ``(a, b)`` as a Surface: value by the forward
    pass, gradient by backpropagation projected on the directions; no Hessian."""

    model: MLP | None = None
    plane: Plane | None = None
    X: Array | None = None
    labels: Array | None = None

    @classmethod
    def build(cls, model: MLP, plane: Plane, X, labels, **fields) -> PlaneSurface:
        X, labels = np.array(X, dtype=float), np.array(labels, dtype=float)

        def f(a, b):
            return batched_loss(model, plane.at(a, b), X, labels)

        def df(a, b):
            _, g = model.backprop(plane.at(a, b), X, labels, loss=False)
            return g @ plane.d1, g @ plane.d2

        return cls(f=f, df=df, d2f=None, model=model, plane=plane, X=X, labels=labels, **fields)


def grid_surface(a: Array, b: Array, z: Array, **fields) -> Surface:
    """The loss known on the grid ``z[i, j]`` at ``(a[j], b[i])``, bilinear between the
    nodes (exact at them): what a renderer that samples many points (a GIF's pixels) reads
    instead of running the network at each. Gradient: the interpolant's own slopes."""
    a, b, z = (np.array(v, dtype=float) for v in (a, b, z))

    def locate(v, nodes):
        i = np.clip(np.searchsorted(nodes, v, side="right") - 1, 0, len(nodes) - 2)
        w = (v - nodes[i]) / (nodes[i + 1] - nodes[i])
        return i, np.clip(w, 0.0, 1.0)

    def parts(x, y):
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        j, u = locate(x, a)
        i, v = locate(y, b)
        return i, j, u, v, z[i, j], z[i, j + 1], z[i + 1, j], z[i + 1, j + 1]

    def f(x, y):
        _, _, u, v, z00, z01, z10, z11 = parts(x, y)
        return (1 - v) * ((1 - u) * z00 + u * z01) + v * ((1 - u) * z10 + u * z11)

    def df(x, y):
        i, j, u, v, z00, z01, z10, z11 = parts(x, y)
        da, db = a[j + 1] - a[j], b[i + 1] - b[i]
        fx = ((1 - v) * (z01 - z00) + v * (z11 - z10)) / da
        fy = ((1 - u) * (z10 - z00) + u * (z11 - z01)) / db
        return fx, fy

    fields.setdefault("x_range", (float(a[0]), float(a[-1])))
    fields.setdefault("y_range", (float(b[0]), float(b[-1])))
    return Surface(f=f, df=df, d2f=None, **fields)
