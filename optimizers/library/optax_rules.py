"""optax transformations as pure (init, step) pairs.

Importing this module switches JAX to 64-bit mode (``jax_enable_x64``): without it JAX
computes in float32 and a path would drift from the built-in rules after a few steps.
The flag is process-wide and must be set before any JAX array exists, so the adapter
sets it when it is first imported (``optimizers.library`` imports it lazily, the first
time an ``optax:`` rule is asked for).

A batch of B starts is ``jax.vmap``-ed over its first axis, so whole-parameter rules
(LAMB's trust ratio, LARS, Fromage) see each start's own (2,) point. JAX arrays are
immutable, so a step is pure by construction.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from optimizers.base import Optimizer

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


def adapter(make_tx, label: str) -> Optimizer:
    """The (init, step) pair of the ``GradientTransformation`` that ``make_tx()`` returns."""
    jax, optax = import_optax()
    jnp = jax.numpy
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # construction notes (deprecations) aren't ours
            tx = make_tx()
    except Exception as exc:  # the library's own complaint, as one line
        raise ValueError(f"{label} cannot be built here: {_line(exc)}") from None

    def one(g, s, p):
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s

    single, batch = jax.jit(one), jax.jit(jax.vmap(one))
    init_one, init_batch = jax.jit(tx.init), jax.jit(jax.vmap(tx.init))

    def init(params):
        x = jnp.asarray(np.array(params, dtype=np.float64))
        try:
            return OptaxState(0, (init_one if x.ndim == 1 else init_batch)(x))
        except Exception as exc:  # the library's own complaint, as one line
            raise ValueError(f"{label} cannot start here: {_line(exc)}") from None

    def step(params, state, surface):
        x = np.array(params, dtype=np.float64)
        g = np.array(surface.grad(x), dtype=np.float64)
        try:
            p, inner = (single if x.ndim == 1 else batch)(jnp.asarray(g), state.inner, x)
        except Exception as exc:  # the library's own complaint, as one line
            raise ValueError(f"{label} failed at step {state.count + 1}: {_line(exc)}") from None
        return np.array(p, dtype=np.float64), OptaxState(state.count + 1, inner)

    return Optimizer(init, step)


def _line(exc: BaseException) -> str:
    """An exception's message on one line (JAX's note on its traceback left out)."""
    text = str(exc).split("\n-----", 1)[0]
    return (" ".join(text.split()) or type(exc).__name__)[:300]
