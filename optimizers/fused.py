"""The per-coordinate rules as compiled scalar updates, fused with a surface's compiled
Formulas into one loop per (rule, surface). Imported only through
``optimizers.compiled``, which decides when a run takes this path; the rules' pure
step functions stay the specification, and these lines must give their bits exactly.

Each update takes one coordinate ``p``, its gradient ``g``, three state slots and the
rule's numbers ``h`` (fixed) and ``c`` (this step's: α_t and bias corrections), and
returns the new coordinate and slots. Each operation is written in the order numpy
evaluates the rule's expression (``a * b / c`` is ``(a * b) / c``), with no fastmath:
every operation is the same IEEE operation as on the pure path. The rules' √c + ε and
√(c + ε) are one expression, ``√(c + e_in) + e_out`` with the other ε at 0: adding
+0.0 to a square root or a sum of squares changes no bit.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import numba
import numpy as np
from numba.core import caching, config

_jit = numba.njit(error_model="numpy")  # x / 0 gives inf or NaN as in numpy, no exception


@_jit
def _same(p, s0, h):
    return p


@_jit
def sgd(p, g, s0, s1, s2, h, c):
    return p - c[0] * g, s0, s1, s2


@_jit
def momentum(p, g, v, s1, s2, h, c):
    v = h[0] * v - c[0] * g
    return p + v, v, s1, s2


@_jit
def _ahead(p, v, h):
    """Nesterov's look-ahead point W + μv, where its gradient is taken."""
    return p + h[0] * v


@_jit
def rmsprop(p, g, s, s1, s2, h, c):
    gamma, one_minus_gamma, e_in, e_out = h[0], h[1], h[2], h[3]
    s = gamma * s + one_minus_gamma * (g * g)
    return p - c[0] * g / (np.sqrt(s + e_in) + e_out), s, s1, s2


@_jit
def adagrad(p, g, s, s1, s2, h, c):
    e_in, e_out = h[0], h[1]
    s = s + g * g
    return p - c[0] * g / (np.sqrt(s + e_in) + e_out), s, s1, s2


@_jit
def adadelta(p, g, g2, dx2, s2, h, c):
    rho, one_minus_rho, e_in, e_out = h[0], h[1], h[2], h[3]
    g2 = rho * g2 + one_minus_rho * (g * g)
    delta = -(np.sqrt(dx2 + e_in) + e_out) / (np.sqrt(g2 + e_in) + e_out) * g
    dx2 = rho * dx2 + one_minus_rho * (delta * delta)
    return p + c[0] * delta, g2, dx2, s2


@_jit
def adam(p, g, m, v, s2, h, c):
    b1, b2, one_minus_b1, one_minus_b2, e_in, e_out = h[0], h[1], h[2], h[3], h[4], h[5]
    m = b1 * m + one_minus_b1 * g
    v = b2 * v + one_minus_b2 * (g * g)
    return p - c[0] * (m / c[1]) / (np.sqrt(v / c[2] + e_in) + e_out), m, v, s2


@_jit
def amsgrad(p, g, m, v, v_max, h, c):
    b1, b2, one_minus_b1, one_minus_b2, e_in, e_out = h[0], h[1], h[2], h[3], h[4], h[5]
    m = b1 * m + one_minus_b1 * g
    v = b2 * v + one_minus_b2 * (g * g)
    v_max = v if (v > v_max) | (v != v) else v_max  # np.maximum: a NaN wins
    return p - c[0] * (m / c[1]) / (np.sqrt(v_max / c[2] + e_in) + e_out), m, v, v_max


@_jit
def nadam(p, g, m, v, s2, h, c):
    b1, b2, one_minus_b1, one_minus_b2, e_in, e_out = h[0], h[1], h[2], h[3], h[4], h[5]
    m = b1 * m + one_minus_b1 * g
    v = b2 * v + one_minus_b2 * (g * g)
    m_hat = b1 * m / c[1] + one_minus_b1 * g / c[2]
    return p - c[0] * m_hat / (np.sqrt(v / c[3] + e_in) + e_out), m, v, s2


# rule name -> (update, where its gradient is taken)
UPDATES = {
    "sgd": (sgd, _same),
    "momentum": (momentum, _same),
    "nesterov": (momentum, _ahead),
    "rmsprop": (rmsprop, _same),
    "adagrad": (adagrad, _same),
    "adadelta": (adadelta, _same),
    "adam": (adam, _same),
    "amsgrad": (amsgrad, _same),
    "nadam": (nadam, _same),
}


def kernel(rule: str, value, grad):
    """The fused loop of ``rule`` on the surface with compiled ``value`` and ``grad``.

    ``kernel(sp, h, hstride, lr, lstride, c, t0, x, y, sx0, sx1, sx2, sy0, sy1, sy2, points,
    losses, diverged, r2max)`` takes every start from step ``t0`` through the ``len(c)``
    steps whose numbers are ``c`` (rows α_t and bias corrections): coordinates ``x``, ``y``
    (B,) and three state slots per coordinate (B,) in place. Row i's fixed numbers are
    ``h[i * hstride]`` (one row for all, or one each) and its α is ``lr[i]`` where
    ``lstride`` is 1 (its own constant rate) or ``c[k, 0]`` where it is 0. It writes
    ``points[t0 + k + 1]`` (2B,: x, y
    of each start) and ``losses[t0 + k + 1]`` (and at t0 = 0 the start's loss), with
    run()'s verdicts: ``diverged[i]`` is the first step whose point
    is not finite, beyond √r2max, or has a loss that is not finite, and every point and
    loss after it is NaN. No branch depends on the data, so the loop over starts is
    vectorised (SIMD).
    """
    update, probe = UPDATES[rule]

    @_jit
    def advance(i, t, hs, cs, p, x, y, sx0, sx1, sx2, sy0, sy1, sy2, points, losses, diverged, r2):
        """Start i's step t with the numbers hs, cs."""
        px, py = x[i], y[i]
        gx, gy = grad(probe(px, sx0[i], hs), probe(py, sy0[i], hs), p)
        px, sx0[i], sx1[i], sx2[i] = update(px, gx, sx0[i], sx1[i], sx2[i], hs, cs)
        py, sy0[i], sy1[i], sy2[i] = update(py, gy, sy0[i], sy1[i], sy2[i], hs, cs)
        x[i], y[i] = px, py
        loss = value(px, py, p)
        d = diverged[i]
        alive = d < 0
        points[t, 2 * i] = px if alive else np.nan
        points[t, 2 * i + 1] = py if alive else np.nan
        losses[t, i] = loss if alive else np.nan
        ok = (px * px + py * py <= r2) & np.isfinite(loss)
        diverged[i] = t if alive & (not ok) else d

    def fused(
        sp, h, hstride, lr, lstride, c, t0, x, y, sx0, sx1, sx2, sy0, sy1, sy2, points, losses,
        diverged, r2max,
    ):  # fmt: skip
        n = x.shape[0]
        p = (sp[0], sp[1], sp[2])
        state = (x, y, sx0, sx1, sx2, sy0, sy1, sy2, points, losses, diverged, r2max)
        if t0 == 0:
            for i in range(n):
                loss = value(x[i], y[i], p)
                losses[0, i] = loss
                ok = (x[i] * x[i] + y[i] * y[i] <= r2max) & np.isfinite(loss)
                diverged[i] = -1 if ok else 0
        # Two loops. The common one (every row the same numbers) reads them once per step
        # and has advance()'s body written out: per-row reads, or a call (even one numba
        # inlines), cost it its vectorisation, 1.7× its time. Rows with their own numbers
        # (the tuner's trials, the phase diagram's cells) call advance().
        if hstride == 0 and lstride == 0:
            hs = (h[0, 0], h[0, 1], h[0, 2], h[0, 3], h[0, 4], h[0, 5])
            for k in range(c.shape[0]):
                cs = (c[k, 0], c[k, 1], c[k, 2], c[k, 3])
                t = t0 + k + 1
                for i in range(n):
                    px, py = x[i], y[i]
                    gx, gy = grad(probe(px, sx0[i], hs), probe(py, sy0[i], hs), p)
                    px, sx0[i], sx1[i], sx2[i] = update(px, gx, sx0[i], sx1[i], sx2[i], hs, cs)
                    py, sy0[i], sy1[i], sy2[i] = update(py, gy, sy0[i], sy1[i], sy2[i], hs, cs)
                    x[i], y[i] = px, py
                    loss = value(px, py, p)
                    d = diverged[i]
                    alive = d < 0
                    points[t, 2 * i] = px if alive else np.nan
                    points[t, 2 * i + 1] = py if alive else np.nan
                    losses[t, i] = loss if alive else np.nan
                    ok = (px * px + py * py <= r2max) & np.isfinite(loss)
                    diverged[i] = t if alive & (not ok) else d
        else:
            for k in range(c.shape[0]):
                for i in range(n):
                    j = i * hstride
                    hs = (h[j, 0], h[j, 1], h[j, 2], h[j, 3], h[j, 4], h[j, 5])
                    a = lr[i * lstride] if lstride == 1 else c[k, 0]  # index 0 when unused
                    cs = (a, c[k, 1], c[k, 2], c[k, 3])
                    advance(i, t0 + k + 1, hs, cs, p, *state)

    dispatcher = numba.njit(error_model="numpy")(fused)
    parts = [f.py_func for f in (update, probe, value, grad)]
    sources = sorted({__file__} | {inspect.getfile(f) for f in parts})
    _enable_cache(dispatcher, f"{rule}-{value.py_func.__name__}", parts, sources)
    return dispatcher


# The cache: compiled kernels kept on disk so that a new process loads them in
# milliseconds instead of compiling them for seconds. numba reads its index with pickle,
# so it only ever reads a directory that this user alone can write (see cache_dir()).
_cache_dir: Path | None = None


def use_cache(path: Path | None) -> None:
    """Keep compiled kernels in ``path`` (a private directory), or nowhere (None)."""
    global _cache_dir
    _cache_dir = path


def _enable_cache(dispatcher, label: str, parts: list, sources: list[str]) -> None:
    if _cache_dir is None or config.CACHE_LOCATOR_CLASSES:
        return  # no private directory, or the user chose numba's locators: compile in memory
    names = tuple(f"{f.__module__}.{f.__qualname__}" for f in parts)
    stamp = hashlib.sha256(b"".join(Path(f).read_bytes() for f in sources)).hexdigest()

    class Locator(caching._CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file  # numba's warnings point there

        def ensure_cache_path(self):
            pass  # made and checked by optimizers.compiled

        def get_cache_path(self):
            return str(_cache_dir)

        def get_source_stamp(self):
            return stamp  # every source the kernel was built from, by content

        def get_disambiguator(self):
            return label

        @classmethod
        def from_function(cls, py_func, py_file):
            return cls(py_func, py_file)

    class Impl(caching.CompileResultCacheImpl):
        _locator_classes = (Locator,)

    class Cache(caching.FunctionCache):
        _impl_class = Impl

        def _index_key(self, sig, codegen):
            # numba keys a closure by pickling its cells, here dispatchers whose pickle
            # holds a random id: the functions' names and sources (the stamp) say it all.
            return (sig, codegen.magic_tuple(), names)

    dispatcher._cache = Cache(dispatcher.py_func)


def private_files(path: Path) -> None:
    """Files numba wrote into the cache: this user's only (numba follows the umask)."""
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            os.chmod(entry.path, 0o600)
