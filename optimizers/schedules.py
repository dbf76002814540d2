"""Learning-rate schedules: callables ``step_index -> float``.

The notes' three decays (step, exponential, 1/t), plus cosine and linear warm-up.
``t`` counts steps from 0 (the first update uses ``schedule(0)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

Schedule = Callable[[int], float]


def constant(lr: float) -> Schedule:
    """α_t = α₀."""
    return lambda t: lr


def step_decay(lr: float, drop: float = 0.5, every: int = 100) -> Schedule:
    """α_t = α₀ · drop^⌊t / every⌋ (the notes' step decay)."""
    return lambda t: lr * drop ** (t // every)


def exponential(lr: float, k: float = 0.01) -> Schedule:
    """α_t = α₀ e^{−kt} (the notes' exponential decay)."""
    return lambda t: lr * math.exp(-k * t)


def inverse_time(lr: float, k: float = 0.01) -> Schedule:
    """α_t = α₀ / (1 + kt) (the notes' 1/t decay)."""
    return lambda t: lr / (1.0 + k * t)


def cosine(lr: float, total: int = 1000, lr_min: float = 0.0) -> Schedule:
    """α_t = α_min + ½(α₀ − α_min)(1 + cos(π min(t, T)/T))."""
    return lambda t: lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * min(t, total) / total))


def warmup(lr: float, steps: int = 100, after: Schedule | None = None) -> Schedule:
    """α_t rises linearly from α₀/steps to α₀ over ``steps`` steps, then follows ``after``."""
    then = after or constant(lr)

    def schedule(t: int) -> float:
        return lr * (t + 1) / steps if t < steps else then(t - steps)

    return schedule


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step": step_decay,
    "exponential": exponential,
    "inverse_time": inverse_time,
    "cosine": cosine,
    "warmup": warmup,
}


def as_schedule(lr: float | Schedule) -> Schedule:
    """A schedule from a number (constant) or a callable (as it is)."""
    if callable(lr):
        return lr
    value = float(lr)
    return lambda t: value
