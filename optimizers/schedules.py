"""Learning-rate schedules: callables ``step_index -> float``.

The notes' three decays (step, exponential, 1/t), plus cosine and linear warm-up.
``t`` counts steps from 0 (the first update uses ``schedule(0)``). Every factory
checks its parameters and raises ``ValueError`` naming the bad one.

``SCHEDULE_SPECS`` describes each schedule's parameters (besides α₀) with a slider
range, so the UI builds its controls from it; ``make_schedule`` builds one by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Schedule = Callable[[int], float]


def _number(
    name: str, value, low: float = -math.inf, low_open: bool = False, high: float = math.inf
) -> float:
    """``value`` as a finite float within the bounds; ``ValueError`` naming ``name`` if not."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if x < low or (low_open and x == low):
        raise ValueError(f"{name} must be {'>' if low_open else '≥'} {low:g}, got {x:g}")
    if x > high:
        raise ValueError(f"{name} must be ≤ {high:g}, got {x:g}")
    return x


def _count(name: str, value) -> int:
    """``value`` as a whole number ≥ 1."""
    x = _number(name, value, low=1)
    if x != int(x):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(x)


def _lr(lr) -> float:
    return _number("lr", lr, low=0.0, low_open=True)


def constant(lr: float) -> Schedule:
    """α_t = α₀."""
    lr = _lr(lr)
    return lambda t: lr


def step_decay(lr: float, drop: float = 0.5, every: int = 100) -> Schedule:
    """α_t = α₀ · drop^⌊t / every⌋ (the notes' step decay)."""
    lr, drop = _lr(lr), _number("drop", drop, low=0.0, low_open=True, high=1.0)
    every = _count("every", every)
    return lambda t: lr * drop ** (t // every)


def exponential(lr: float, k: float = 0.01) -> Schedule:
    """α_t = α₀ e^{−kt} (the notes' exponential decay)."""
    lr, k = _lr(lr), _number("k", k, low=0.0)
    return lambda t: lr * math.exp(-k * t)


def inverse_time(lr: float, k: float = 0.01) -> Schedule:
    """α_t = α₀ / (1 + kt) (the notes' 1/t decay)."""
    lr, k = _lr(lr), _number("k", k, low=0.0)
    return lambda t: lr / (1.0 + k * t)


def cosine(lr: float, total: int = 1000, lr_min: float = 0.0) -> Schedule:
    """α_t = α_min + ½(α₀ − α_min)(1 + cos(π min(t, T)/T))."""
    lr, total = _lr(lr), _count("total", total)
    lr_min = _number("lr_min", lr_min, low=0.0, high=lr)
    return lambda t: lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * min(t, total) / total))


def warmup(lr: float, steps: int = 100, after: Schedule | None = None) -> Schedule:
    """α_t rises linearly from α₀/steps to α₀ over ``steps`` steps, then follows ``after``."""
    lr, steps = _lr(lr), _count("steps", steps)
    if after is not None and not callable(after):
        raise ValueError(f"after must be a schedule (a callable), got {after!r}")
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


@dataclass(frozen=True)
class ScheduleParam:
    """One parameter of a schedule, besides α₀: its default and slider range."""

    name: str
    default: float
    low: float
    high: float
    log: bool = False
    integer: bool = False
    help: str = ""


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as the UI shows it: label, formula and parameters."""

    name: str
    label: str
    latex: str
    params: tuple[ScheduleParam, ...] = ()

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


SCHEDULE_SPECS: dict[str, ScheduleSpec] = {
    s.name: s
    for s in (
        ScheduleSpec("constant", "Constant", r"\alpha_t = \alpha_0"),
        ScheduleSpec(
            "step",
            "Step decay",
            r"\alpha_t = \alpha_0 \, d^{\lfloor t / n \rfloor}",
            (
                ScheduleParam("drop", 0.5, 0.05, 1.0, help="factor d applied every n steps"),
                ScheduleParam("every", 100, 1, 1000, log=True, integer=True, help="n steps"),
            ),
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            r"\alpha_t = \alpha_0 e^{-kt}",
            (ScheduleParam("k", 0.01, 1e-4, 0.1, log=True, help="decay rate k per step"),),
        ),
        ScheduleSpec(
            "inverse_time",
            "1/t decay",
            r"\alpha_t = \frac{\alpha_0}{1 + kt}",
            (ScheduleParam("k", 0.01, 1e-4, 1.0, log=True, help="decay rate k per step"),),
        ),
        ScheduleSpec(
            "cosine",
            "Cosine",
            r"\alpha_t = \alpha_{min} + \tfrac12(\alpha_0 - \alpha_{min})"
            r"(1 + \cos(\pi \min(t, T) / T))",
            (
                ScheduleParam(
                    "total", 1000, 1, 10000, log=True, integer=True, help="steps T to reach α_min"
                ),
                ScheduleParam("lr_min", 0.0, 0.0, 0.1, help="α_min, the final rate"),
            ),
        ),
        ScheduleSpec(
            "warmup",
            "Linear warm-up",
            r"\alpha_t = \alpha_0 \min(1, (t + 1) / n)",
            (
                ScheduleParam(
                    "steps", 100, 1, 1000, log=True, integer=True, help="n steps to reach α₀"
                ),
            ),
        ),
    )
}


def make_schedule(name: str, lr: float, **params) -> Schedule:
    """The schedule ``name`` from α₀ = ``lr`` and its parameters; ``ValueError`` if bad."""
    if name not in SCHEDULE_SPECS:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    known = SCHEDULE_SPECS[name].defaults()
    for key in params:
        if key not in known:
            names = ", ".join(known) or "none"
            raise ValueError(f"schedule {name!r} has no parameter {key!r} (it has: {names})")
    return SCHEDULES[name](lr, **{**known, **params})


def as_schedule(lr: float | Schedule) -> Schedule:
    """A schedule from a number (constant) or a callable (as it is)."""
    if callable(lr):
        return lr
    value = np.asarray(_number("lr", lr))  # 0-d: multiplies arrays faster than a float does
    return lambda t: value
