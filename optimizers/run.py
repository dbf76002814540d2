"""run(): the one loop over steps, for one start or a batch of B starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimizers import compiled
from optimizers.base import OPTIMIZERS, Optimizer
from optimizers.budget import TICK_BATCH, TICK_EVERY, Budget

DIVERGENCE_RADIUS = 1e6
MAX_STEPS = 1_000_000
MAX_POINTS = 100_000_000  # (steps + 1) × B, about 1.6 GB of float64 points


@dataclass(frozen=True)
class Trajectory:
    """A run's path. Shapes: ``points (steps+1, 2)`` or ``(steps+1, B, 2)``.

    ``diverged_at`` is ``None``/an int for one start, an int array (-1 = never) for B.
    Points and losses after the step of divergence are NaN.
    """

    points: np.ndarray
    losses: np.ndarray
    diverged_at: int | np.ndarray | None


class Noisy:
    """An oracle whose gradient carries seeded Gaussian noise (the notes' stochastic gradient).

    ``shared``: one (2,) draw per gradient, added to every row of a batch (what one start
    would draw; ``optimizers.maps`` gives every pixel its own trajectory's noise).
    ``rows``: draws for that many rows, repeated down the batch (groups of rows that are
    the same starts with other hyperparameters see the same noise: what each group run
    on its own would draw)."""

    def __init__(
        self,
        surface,
        scale: float,
        rng: np.random.Generator,
        shared: bool = False,
        rows: int | None = None,
    ):
        self._surface, self._scale, self._rng, self._shared = surface, scale, rng, shared
        self._rows = rows

    def grad(self, p):
        g = self._surface.grad(p)
        if self._rows is not None and g.ndim == 2:
            draw = self._rng.standard_normal((self._rows, g.shape[-1]))
            return g + self._scale * np.tile(draw, (g.shape[0] // self._rows, 1))
        return g + self._scale * self._rng.standard_normal(
            g.shape[-1:] if self._shared else g.shape
        )

    def __getattr__(self, name):
        return getattr(self._surface, name)


def check_run_args(start, steps, noise, seed=0) -> tuple[np.ndarray, int, float]:
    """Validated ``(start, steps, noise)``; ``ValueError`` naming the problem otherwise."""
    try:
        start = np.array(start, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"start must be a point (x, y), got {start!r}") from None
    if start.ndim not in (1, 2) or start.shape[-1] != 2:
        raise ValueError(f"start must have shape (2,) or (B, 2), got {start.shape}")
    if start.size == 0:
        raise ValueError("start must hold at least one point")
    if not np.isfinite(start).all():
        raise ValueError("start must be finite")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise ValueError(f"steps must be a whole number, got {steps!r}")
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 0 and {MAX_STEPS:,}, got {steps}")
    batch = 1 if start.ndim == 1 else start.shape[0]
    if (steps + 1) * batch > MAX_POINTS:
        raise ValueError(f"steps × starts must stay under {MAX_POINTS:,}")
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be a number, got {noise!r}") from None
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
    return start, int(steps), noise


def check_oracle(opt: Optimizer, surface) -> None:
    """``ValueError`` before any step if ``opt`` needs what ``surface`` lacks (a Hessian)."""
    info = OPTIMIZERS.get(opt.name)
    if info is not None and info.second_order and not getattr(surface, "has_hessian", True):
        name = getattr(surface, "name", "?")
        raise ValueError(f"{opt.name} needs a Hessian: surface '{name}' has none")


def run(
    opt: Optimizer,
    surface,
    start,
    steps: int,
    noise: float = 0.0,
    seed: int = 0,
    *,
    record: str = "all",
    monitor: Monitor | None = None,
    budget: Budget | None = None,
    noise_rows: int | None = None,
) -> Trajectory:
    """Apply ``opt`` to ``surface`` from ``start`` for ``steps`` steps.

    A run is diverged at the first step whose point or loss is not finite or whose
    point lies farther than 1e6 from the origin; it stops being updated there.

    ``start`` is one point ``(2,)`` or B points ``(B, 2)``, run as one vectorised batch
    whose rows equal B separate runs exactly (without noise). ``noise`` adds
    ``noise · N(0, 1)`` to each gradient coordinate, drawn from ``seed``; a batch draws
    its own noise, so with noise its rows are not the separate runs, unless
    ``noise_rows`` = R: B is groups of R rows, each group drawing what R rows run on
    their own draw (a tuning's trials over the same starts see the same noise). Numpy's floating
    point warnings are silenced: overflow is reported through ``diverged_at``.

    ``record="last"`` keeps only steps 0 and ``steps``: ``points`` and ``losses`` then
    have a first axis of length 2 (start, end), with the values and ``diverged_at`` that
    ``record="all"`` gives at those steps, without holding (steps + 1) × B points.
    ``monitor(t, points, losses, alive)``, if given, is called for t = 0, 1, … after t
    steps (until every run has diverged) with the current points, their losses and a
    boolean mask (0-d for one start) of the runs not diverged up to step t. It must not
    modify them. Both check divergence step by step instead of afterwards.

    ``budget`` (:class:`optimizers.budget.Budget`), if given, is ticked every step of a
    batch of ``TICK_BATCH`` starts or more, else every ``TICK_EVERY`` steps: past its
    deadline (or once its client has gone) the run stops with its ``BudgetError``. It
    never changes a result that is returned.

    A run that records every step of a registered per-coordinate rule on an analytic
    surface, without noise or monitor, goes through one compiled loop where it is ready
    (:mod:`optimizers.compiled`), with the same results bit for bit.
    """
    if record not in ("all", "last"):
        raise ValueError(f"record must be 'all' or 'last', got {record!r}")
    if monitor is not None and not callable(monitor):
        raise ValueError(f"monitor must be callable, got {monitor!r}")
    if budget is not None and not callable(getattr(budget, "tick", None)):
        raise ValueError(f"budget must be a Budget, got {budget!r}")
    start, steps, noise = check_run_args(start, steps, noise, seed)
    if noise_rows is not None and (
        start.ndim != 2 or noise_rows < 1 or start.shape[0] % noise_rows
    ):
        raise ValueError(f"noise_rows must divide the batch's {len(start)} rows, got {noise_rows}")
    check_oracle(opt, surface)
    fusable = record == "all" and monitor is None and not noise
    batch = start.shape[0] if start.ndim == 2 else None
    fusable = fusable and compiled.rows(opt) in (None, batch)  # columns: one value per start
    plan = compiled.plan(opt, surface) if fusable else None
    alpha = compiled.learning_rates(opt.hyper["lr"], steps) if plan is not None else None
    if alpha is not None:
        return _run_fused(plan, alpha, start, steps, budget)
    single = start.ndim == 1
    rng = np.random.default_rng(seed)
    keep = record == "all"
    # Rows after the last step taken are set to NaN below; the rest are all written.
    points = np.empty((steps + 1 if keep else 2, *start.shape))
    # Single starts go through the rule as shape (2,), as a user would call it.
    x = start.copy()
    state = opt.init(x)
    points[0] = x
    last = steps
    step, oracle_at = opt.step, surface.oracle  # looked up once: this loop is the hot path
    watch = None if keep and monitor is None else _Watch(surface, start, steps, keep, monitor)
    tick = None if budget is None else budget.tick
    # Look at the clock when t & every == every: each step of a large batch, else now and then.
    every = TICK_EVERY - 1 if single or start.shape[0] < TICK_BATCH else 0
    span = (every + 1) * (1 if single else start.shape[0])  # point-steps between two ticks
    with np.errstate(all="ignore"):
        if watch is not None and watch(0, x):
            last = 0
            steps_run = 0
        else:
            steps_run = steps
        for t in range(steps_run):
            oracle = oracle_at(t, rng)
            if noise:
                oracle = Noisy(oracle, noise, rng, rows=noise_rows)
            x, state = step(x, state, oracle)
            if keep:
                points[t + 1] = x
            if watch is not None:
                if watch(t + 1, x):  # every run has diverged
                    last = t + 1
                    break
            # Stop early once every run has left the finite world (checked now and then).
            elif t & 31 == 31 and _far_or_nan(x).all():
                last = t + 1
                break
            if tick is not None and t & every == every:
                tick(span)
        if tick is not None and last & every:  # the steps done since the last tick
            tick((last & every) * span // (every + 1))
        if keep:
            points[last + 1 :] = np.nan
        if watch is None:
            full_losses = np.empty(points.shape[:-1])
            full_losses[last + 1 :] = np.nan
            diverged = _stored_verdicts(surface, points[: last + 1], full_losses[: last + 1])
    if watch is None:
        idx = np.arange(steps + 1).reshape((-1,) + (1,) * (points.ndim - 2))
    else:
        full_losses, diverged = watch.losses, watch.diverged
        if not keep:
            points[1] = x
            full_losses[1] = watch.loss
        idx = (np.arange(steps + 1) if keep else np.array([0, steps])).reshape(
            (-1,) + (1,) * (points.ndim - 2)
        )
    if (diverged >= 0).any():
        after = (diverged >= 0) & (idx > diverged)
        points[after] = np.nan
        full_losses[after] = np.nan
    if single:
        d = int(diverged)
        return Trajectory(points, full_losses, None if d < 0 else d)
    return Trajectory(points, full_losses, diverged.astype(np.int64))


# Point-steps of the fused loop between two looks at the budget's clock (~0.1 ms).
FUSED_CHUNK = 1 << 16


def _run_fused(plan: compiled.Plan, alpha: list[float], start, steps: int, budget) -> Trajectory:
    """run() on the fused loop: the same trajectory, computed step by step in chunks."""
    starts = start.reshape(-1, 2)
    batch = starts.shape[0]
    points = np.empty((steps + 1, batch, 2))
    losses = np.empty((steps + 1, batch))
    diverged = np.empty(batch, dtype=np.int64)
    points[0] = starts
    # Coordinates and state slots one array each: no two may overlap, which is what lets the
    # compiler vectorise the loop over starts; points as (steps + 1, 2B) rows for the same.
    x, y, *state = starts[:, 0].copy(), starts[:, 1].copy(), *np.zeros((6, batch))
    rows = points.reshape(steps + 1, 2 * batch)
    chunk = max(1, FUSED_CHUNK // batch)
    if budget is not None:  # a request already cancelled runs nothing
        budget.tick()
    t0 = 0
    while True:  # at least once: step 0's loss and verdict
        n = min(chunk, steps - t0)
        c = plan.per_step(alpha[t0 : t0 + n], t0)
        plan.loop(*plan.args(), c, t0, x, y, *state, rows, losses, diverged, _R2)
        t0 += n
        if budget is not None:
            budget.tick(n * batch)
        if t0 >= steps:
            break
    if start.ndim == 1:
        d = int(diverged[0])
        return Trajectory(points[:, 0], losses[:, 0], None if d < 0 else d)
    return Trajectory(points, losses, diverged)


_R2 = DIVERGENCE_RADIUS**2

Monitor = Callable[[int, np.ndarray, np.ndarray, np.ndarray], object]


class _Watch:
    """Divergence checked step by step, for ``record="last"`` and monitors: same verdicts
    as run()'s check of the stored path afterwards, without storing it."""

    def __init__(self, surface, start, steps: int, keep: bool, monitor):
        shape = start.shape[:-1]
        self._value, self._monitor, self._keep = surface.value, monitor, keep
        self.alive = np.ones(shape, dtype=bool)
        self.diverged = np.full(shape, -1, dtype=np.int64)
        self.losses = np.full((steps + 1 if keep else 2, *shape), np.nan)
        self.loss = None

    def __call__(self, t: int, x: np.ndarray) -> bool:
        """Check step ``t``; True once every run has diverged."""
        # One point goes through value() as a batch of one, as the stored path does: a
        # lone point's scalar arithmetic can differ in the last bit.
        loss = self._value(x[None])[0] if x.ndim == 1 else self._value(x)
        ok = ~_far_or_nan(x) & np.isfinite(loss)
        fresh = self.alive & ~ok
        if fresh.any():
            self.diverged[fresh] = t
            self.alive &= ok
        if self._keep:
            self.losses[t] = loss
        elif t == 0:
            self.losses[0] = loss
        self.loss = loss
        if self._monitor is not None:
            self._monitor(t, x, loss, self.alive)
        return not self.alive.any()


# Points per chunk of the stored-path check: its float temporaries (8 bytes a point) stay
# under glibc's default 128 KiB mmap threshold, so they reuse heap memory instead of each
# being page-faulted in from the kernel (at 32k points, 3x slower) even where
# optimizers.memory leaves the allocator alone, and they stay in cache.
CHECK_POINTS = 15_000


def _stored_verdicts(surface, points: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Fill ``losses`` (same leading shape) with the points' values; return each run's first bad
    step (not finite, or beyond the radius), -1 where there is none.

    Chunks of a few steps: the same numbers as one pass over the whole path, without its
    (steps+1)×B temporaries (each a fresh allocation of 40 MB for 10,000 × 500 points,
    paid for in page faults and cache misses). Under ``np.errstate(all="ignore")``.
    """
    per_step = points[0].size // 2
    rows = max(1, CHECK_POINTS // per_step)
    diverged = np.full(points.shape[1:-1], -1, dtype=np.int64)
    for s in range(0, len(points), rows):
        part = points[s : s + rows]
        loss = surface.value(part)
        losses[s : s + rows] = loss
        # The usual chunk has no bad point: three reductions say so (min and max are NaN if
        # any coordinate is; every |coordinate| ≤ R/√2 puts every point within R; a sum of
        # losses is finite only if each is) before the per-point test, which only a chunk
        # with a candidate needs.
        if part.min() >= _BOX_MIN and part.max() <= _BOX_MAX and np.isfinite(loss.sum()):
            continue
        bad = _far_or_nan(part) | ~np.isfinite(loss)
        hit = bad.any(axis=0)
        if hit.any():
            diverged = np.where(hit & (diverged < 0), s + bad.argmax(axis=0), diverged)
    return diverged


# A box inside the divergence disc: a point whose coordinates both lie in it is within it.
_BOX_MAX = DIVERGENCE_RADIUS / np.sqrt(2) * (1 - 1e-12)
_BOX_MIN = -_BOX_MAX


def _far_or_nan(p: np.ndarray) -> np.ndarray:
    """Per point: not finite, or farther than the divergence radius from the origin.

    Call it under ``np.errstate(all="ignore")`` (squares overflow); entering one here
    would cost more than the check itself.
    """
    r2 = p[..., 0] ** 2 + p[..., 1] ** 2
    return ~(r2 <= DIVERGENCE_RADIUS**2)  # NaN compares False, so NaN counts as bad
