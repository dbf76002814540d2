"""optax transformations as pure (init, step) pairs.

Importing this module switches JAX to 64-bit mode (``jax_enable_x64``): without it JAX
computes in float32 and a path would drift from the built-in rules after a few steps.
The flag is process-wide and must be set before any JAX array exists, so the adapter
sets it when it is first imported (``optimizers.library`` imports it lazily, the first
time an ``optax:`` rule is asked for).

A batch of B starts is ``jax.vmap``-ed over its first axis, so whole-parameter rules
(LAMB's trust ratio, LARS, Fromage) see each start's own (2,) point. JAX arrays are
immutable, so a step is pure by construction.

A rule named with its values (``valued_adapter``) is compiled once for all of them: its
float hyperparameters are arguments of the jitted step, not constants in it (compiling
took ~100 ms, ten times a 200-step run, for each new set of values a sweep, a tuning or
a phase diagram asked for). A rule whose construction cannot take them as JAX values
(it branches on one), or whose shared compile draws a path other than the constants'
compile (checked on its first use), is compiled per set of values, as a built
transformation is.

Such a rule also runs a batch whose rows each have their own floats (``rows_adapter``,
the values ``jax.vmap``-ed with the points): a sweep, a tuning round or a phase diagram
of any size is then one batch, as for the built-in rules (checked likewise, once).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, NamedTuple

import numpy as np

from optimizers.base import Optimizer, RuleFailed

INSTALL = "pip install 'optviz[optax]'"


def import_optax():
    """``(jax, optax)`` with 64-bit mode on, or ``ValueError`` saying how to install them."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import optax
    except ImportError:
        raise ValueError(f"optax is not installed: {INSTALL}") from None
    return jax, optax


class OptaxState(NamedTuple):
    count: int
    inner: Any  # the transformation's own state (a pytree of JAX arrays)


def _build(make_tx, label: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # construction notes (deprecations) aren't ours
            return make_tx()
    except Exception as exc:  # the library's own complaint, as one line
        raise RuleFailed(f"{label} cannot be built here: {_line(exc)}") from None


def adapter(make_tx, label: str) -> Optimizer:
    """The (init, step) pair of the ``GradientTransformation`` that ``make_tx()`` returns."""
    jax, optax = import_optax()
    tx = _build(make_tx, label)

    def one(g, s, p, _values):
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s

    def start(p, _values):
        return tx.init(p)

    return _pair(_jitted(jax, one, start), {}, label)


def valued_adapter(fn, kwargs: tuple, label: str) -> Optimizer:
    """The pair of ``fn(**dict(kwargs))``, compiled once for every value of its floats."""
    shared, values, make_tx = _shared_for(fn, kwargs, label)
    if shared is None:
        return adapter(make_tx, label)
    return _pair(shared, values, label)


def rows_adapter(fn, kwargs: tuple, columns: dict, label: str) -> Optimizer | None:
    """The pair of ``fn(**dict(kwargs))`` for a batch whose row k takes row k of each
    column (name -> (B,) floats) in place of that float: one compile and one batch for a
    whole sweep, tuning round or phase diagram. None where the rule is compiled per set
    of values or a column is not one of its floats; then each set runs on its own."""
    shared, values, make_tx = _shared_for(fn, kwargs, label)
    if shared is None or not set(columns) <= set(values):
        return None
    key = _key(fn, kwargs)
    with _lock:
        if key not in _ROWS:  # checked once per rule, as the shared compile is
            try:
                _ROWS[key] = _same_path(shared, values, adapter(make_tx, "probe"), by_row=True)
            except Exception:  # it complains at these values: one set at a time, as before
                _ROWS[key] = False
    if not _ROWS[key]:
        return None
    jnp = import_optax()[0].numpy
    rows = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in columns.items()}
    (b,) = {len(v) for v in rows.values()}
    full = {k: rows[k] if k in rows else np.full(b, float(v)) for k, v in values.items()}
    return _pair(shared, {k: jnp.asarray(v) for k, v in full.items()}, label, rows=b)


def _shared_for(fn, kwargs: tuple, label: str):
    """``(the rule's shared compile or None, its float values, make_tx)``."""
    jax, _ = import_optax()

    def make_tx():
        return fn(**dict(kwargs))

    _build(make_tx, label)  # its own complaints now, not mid-run
    static = tuple((k, v) for k, v in kwargs if not _traced(v))
    values = {k: jax.numpy.asarray(v, dtype=np.float64) for k, v in kwargs if _traced(v)}
    key = _key(fn, kwargs)
    with _lock:
        if key not in _SHARED:
            _SHARED[key] = _shared(fn, static, values, make_tx)
            if len(_SHARED) > SHARED_MAX:  # the oldest rule's compile (its adapters keep it)
                oldest = next(iter(_SHARED))
                del _SHARED[oldest]
                _ROWS.pop(oldest, None)
        shared = _SHARED[key]
    return shared, values, make_tx


def _traced(value) -> bool:
    return isinstance(value, float)


def _key(fn, kwargs: tuple) -> tuple:
    """(rule, its other arguments, the names of its floats): what one shared compile serves."""
    static = tuple((k, v) for k, v in kwargs if not _traced(v))
    return fn, static, tuple(k for k, v in kwargs if _traced(v))


# _key -> the rule's jitted functions, or None (compiled per set of values)
_SHARED: dict = {}
SHARED_MAX = 64
# _key -> whether its row-wise compile draws the constants' compile's path (rows_adapter)
_ROWS: dict = {}
_lock = threading.Lock()


def _shared(fn, static: tuple, values: dict, make_tx):
    """The jitted functions of ``fn`` with its floats as arguments, or None when its
    construction cannot take them as JAX values (it branches on one), or when the path
    they draw differs from the one compiled with the floats as constants (XLA may then
    simplify differently: Fromage's 1/√(1 + lr²) moved by 2e-14), checked at ``values``."""
    jax, optax = import_optax()

    def make(values):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(**dict(static), **values)

    def one(g, s, p, values):
        updates, s = make(values).update(g, s, p)
        return optax.apply_updates(p, updates), s

    def start(p, values):
        return make(values).init(p)

    probe = {k: jax.ShapeDtypeStruct((), np.float64) for k in values}
    point = jax.ShapeDtypeStruct((2,), np.float64)
    try:
        state = jax.eval_shape(start, point, probe)
        jax.eval_shape(one, point, state, point, probe)
    except Exception:  # it branches on a value (or cannot trace): compiled per set of values
        return None
    shared = _jitted(jax, one, start)
    try:
        same = _same_path(shared, values, adapter(make_tx, "probe"))
    except Exception:  # the library complains at these values: leave it to the real run
        return None
    return shared if same else None


# A few starts and steps on a bowl whose gradient is not a multiple of the point: what the
# shared compile is checked on against the constants' compile.
_PROBE_STARTS = np.array([[1.5, -2.0], [-0.3, 0.7], [4.0, 0.05]])
_PROBE_STEPS = 12


def _same_path(shared, values: dict, fixed: Optimizer, by_row: bool = False) -> bool:
    """Whether the shared compile (``by_row``: its row-wise one) at ``values`` draws the
    same probe paths as ``fixed``, bit for bit."""
    if by_row:
        n = len(_PROBE_STARTS)
        values = {k: np.full(n, float(v)) for k, v in values.items()}
    ours = _pair(shared, values, "probe", rows=n if by_row else 0)
    a, b = _PROBE_STARTS.copy(), _PROBE_STARTS.copy()
    sa, sb = ours.init(a), fixed.init(b)
    for _ in range(_PROBE_STEPS):
        a, sa = ours.step(a, sa, _PROBE_BOWL)
        b, sb = fixed.step(b, sb, _PROBE_BOWL)
        if not np.array_equal(a, b, equal_nan=True):
            return False
    return True


class _Bowl:
    @staticmethod
    def grad(x):
        return np.stack([2.0 * x[..., 0] + np.sin(x[..., 1]), 20.0 * x[..., 1]], axis=-1)


_PROBE_BOWL = _Bowl()


def _jitted(jax, one, start):
    """(step of one point, of a batch, init of one point, of a batch), values shared; and
    the step and init of a batch whose rows each have their own values (``rows_adapter``).
    ``jax.jit`` compiles on first use, so the row-wise pair costs nothing until asked for."""
    return (
        jax.jit(one),
        jax.jit(jax.vmap(one, in_axes=(0, 0, 0, None))),
        jax.jit(start),
        jax.jit(jax.vmap(start, in_axes=(0, None))),
        jax.jit(jax.vmap(one)),
        jax.jit(jax.vmap(start)),
    )


def _pair(jitted, values: dict, label: str, rows: int = 0) -> Optimizer:
    """The (init, step) pair over ``values``; with ``rows``, they are (rows,) columns and
    the pair takes only a batch of that many points."""
    jax, _ = import_optax()
    jnp = jax.numpy
    single, batch, init_one, init_batch, row_step, row_init = jitted

    def pick(x) -> tuple:
        """(init, step) for points ``x``."""
        if not rows:
            return (init_one, single) if x.ndim == 1 else (init_batch, batch)
        if x.shape != (rows, 2):
            raise ValueError(f"{label} has values for {rows} points, got points of shape {x.shape}")
        return row_init, row_step

    def init(params):
        x = jnp.asarray(np.array(params, dtype=np.float64))
        start = pick(x)[0]
        try:
            return OptaxState(0, start(x, values))
        except Exception as exc:  # the library's own complaint, as one line
            raise RuleFailed(f"{label} cannot start here: {_line(exc)}") from None

    def step(params, state, surface):
        x = np.array(params, dtype=np.float64)
        g = np.array(surface.grad(x), dtype=np.float64)
        one = pick(x)[1]
        try:
            p, inner = one(jnp.asarray(g), state.inner, x, values)
        except Exception as exc:  # the library's own complaint, as one line
            raise RuleFailed(f"{label} failed at step {state.count + 1}: {_line(exc)}") from None
        return np.array(p, dtype=np.float64), OptaxState(state.count + 1, inner)

    return Optimizer(init, step)


def _line(exc: BaseException) -> str:
    """An exception's message on one line (JAX's note on its traceback left out)."""
    text = str(exc).split("\n-----", 1)[0]
    return (" ".join(text.split()) or type(exc).__name__)[:300]
