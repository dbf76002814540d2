"""The Surface type: a 2-D loss landscape with its exact derivatives.

A surface is three vectorised functions of points ``p`` with shape ``(..., 2)``:
``value -> (...)``, ``grad -> (..., 2)``, ``hessian -> (..., 2, 2)``, plus what a
viewer needs to draw it (window, minima, start, formula).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray
Fn = Callable[[Array, Array], Array]


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss landscape f(x, y) with exact gradient and Hessian.

    ``f``, ``df`` and ``d2f`` take the coordinate arrays ``x`` and ``y`` (same
    shape) and return the value, the pair ``(fx, fy)`` and the triple
    ``(fxx, fxy, fyy)``; the methods below stack them into the contract's shapes.
    ``hessian`` is ``None`` for a surface that has none (Newton then refuses it).
    """

    name: str
    label: str
    description: str
    latex: str
    f: Fn
    df: Callable[[Array, Array], tuple[Array, Array]]
    d2f: Callable[[Array, Array], tuple[Array, Array, Array]] | None
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    minima: tuple[tuple[float, float], ...] = ()
    start: tuple[float, float] = (0.0, 0.0)
    log_scale: bool = False  # contour levels spaced in log(f - min) read better
    extra: dict = field(default_factory=dict)

    def value(self, p) -> Array:
        x, y = _split(p)
        v = np.asarray(self.f(x, y), dtype=float)
        # A constant term (e.g. "3") still gives one value per point.
        return v if v.shape == np.shape(x) else np.broadcast_to(v, np.shape(x)).copy()

    def grad(self, p) -> Array:
        if p.__class__ is np.ndarray and p.shape == (2,) and p.dtype == float:
            # One point, the hot path of a single run (a rule's every step): plain
            # indexing into a fresh (2,) costs a fifth of the general case's (..., 2) fill.
            fx, fy = self.df(_Coord(p[0]), _Coord(p[1]))
            out = np.empty(2)
            out[0] = fx
            out[1] = fy
            return out
        x, y = _split(p, point=True)
        fx, fy = self.df(x, y)
        out = np.empty((*x.shape, 2))  # filled in place: cheaper than stack for one point
        out[..., 0] = fx
        out[..., 1] = fy
        return out

    def hessian(self, p) -> Array:
        if self.d2f is None:
            raise ValueError(f"surface '{self.name}' has no Hessian")
        x, y = _split(p, point=True)
        fxx, fxy, fyy = self.d2f(x, y)
        out = np.empty((*x.shape, 2, 2))
        out[..., 0, 0] = fxx
        out[..., 0, 1] = out[..., 1, 0] = fxy
        out[..., 1, 1] = fyy
        return out

    @property
    def has_hessian(self) -> bool:
        return self.d2f is not None

    def oracle(self, step: int, rng: np.random.Generator | None) -> Surface:
        """The surface a rule sees at ``step``: itself, unless it samples mini-batches."""
        return self

    def grid(self, n: int = 100) -> tuple[Array, Array, Array]:
        """Axis vectors and values on an ``n``-by-``n`` grid over the display window."""
        xs = np.linspace(*self.x_range, n)
        ys = np.linspace(*self.y_range, n)
        xx, yy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            zz = self.value(np.stack([xx, yy], axis=-1))
        return xs, ys, zz

    @property
    def min_value(self) -> float | None:
        if not self.minima:
            return None
        return float(min(self.value(np.array(m, dtype=float)) for m in self.minima))


def _split(p, point: bool = False) -> tuple[Array, Array]:
    if point and p.__class__ is np.ndarray and p.shape == (2,) and p.dtype == float:
        return _Coord(p[0]), _Coord(p[1])  # the common case first, without asarray
    p = np.asarray(p, dtype=float)
    if p.shape[-1:] != (2,):
        raise ValueError(f"points must have shape (..., 2), got {p.shape}")
    if point and p.shape == (2,):  # one point: scalars are ~5× faster than 0-d arrays
        return _Coord(p[0]), _Coord(p[1])
    return p[..., 0], p[..., 1]


class Formula:
    """``f`` or ``df`` of a surface written as plain arithmetic of ``(x, y, params)``.

    ``fn(x, y, params)`` may use only + − × ÷, squares (``x**2`` or ``x * x``) and
    ``np.sqrt``, each correctly rounded, so that it gives the same bits elementwise on
    arrays, on scalars and compiled (the fused loops of ``optimizers.fused``). Calling it
    is calling ``fn`` with the surface's numbers.
    """

    __slots__ = ("fn", "params")

    def __init__(self, fn: Callable, params: tuple[float, ...] = ()):
        self.fn, self.params = fn, tuple(float(v) for v in params)

    def __call__(self, x, y):
        return self.fn(x, y, self.params)


def formulas(surface) -> tuple[Callable, Callable, tuple[float, ...]] | None:
    """``(value_fn, grad_fn, params)`` where both ``f`` and ``df`` of ``surface`` are
    Formulas with the same numbers and its oracle is itself (no mini-batches); else None."""
    if type(surface) is not Surface:
        return None
    f, df = surface.f, surface.df
    if not (isinstance(f, Formula) and isinstance(df, Formula)) or f.params != df.params:
        return None
    return f.fn, df.fn, f.params


class _Coord(np.float64):
    """One coordinate of one point, as a scalar that squares the way an array does.

    numpy computes ``a ** 2`` on an array (0-d included) as ``a * a`` but on a scalar
    as ``pow(a, 2)``, which can differ in the last bit. With this, a point evaluated
    alone gives exactly what it gives inside a batch, at scalar speed, wherever powers
    apply to x and y themselves (every analytic surface). A power of an intermediate
    scalar, ``(x - y)**2``, is still ``pow``: as it already was with 0-d arrays.
    """

    __slots__ = ()

    def __pow__(self, n, mod=None):
        if n.__class__ in (int, float) and n == 2:
            return self * self
        return np.asarray(self, dtype=float) ** n  # what a 0-d array does
