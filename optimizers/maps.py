"""Many runs at once: convergence maps over a grid of starts, learning-rate sweeps.

Both go through :func:`optimizers.run.run` as one batch with ``record="last"`` and a
per-step monitor, so a 200×200 map never holds 500 × 40,000 points.

Convergence, for both: a run has converged from the first step after which it stays
within ``tol`` (Euclidean distance) of one of the surface's minima, up to the last step.
On a surface that lists no minima (saddles), "within ``tol`` of a minimum" becomes "the
gradient's norm is at most ``tol``". A run that passes near a minimum and leaves again
has not converged. A map also tells apart runs that end away from every listed minimum
where the gradient's norm is at most ``tol`` and, on a surface with a Hessian, Newton's
method from the end finds a stationary point within ``tol`` (``STATIONARY``: a saddle, or
a local minimum, which are not listed), from runs still crawling along a flat valley.

>>> from optimizers.maps import convergence_map
>>> m = convergence_map("sgd", {"lr": 0.01}, "himmelblau", n=4, steps=300)
>>> m.outcome.shape
(4, 4)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optimizers.base import RuleInfo, as_rule
from optimizers.budget import Budget, charged, one_at_a_time, work
from optimizers.checks import as_surface, interval, positive, whole
from optimizers.run import Noisy, check_run_args, run
from optimizers.schedules import Schedule

NOT_CONVERGED = -1  # outcome: no minimum reached within tol by the last step (or still moving)
DIVERGED = -2  # outcome: the run diverged (run()'s definition)
STATIONARY = -3  # outcome: ends within tol of a stationary point that is no listed minimum
NEWTON_STEPS = 30  # of the search for that stationary point from a run's end
MAX_GRID = 200
MAX_STEPS = 2_000  # × 200² starts stays under run()'s MAX_POINTS
MAX_LRS = 1_000


@dataclass(frozen=True, eq=False)
class ConvergenceMap:
    """Where each start of a grid ends. Arrays are ``(n, n)``: row ``i`` is ``ys[i]``,
    column ``j`` is ``xs[j]`` (the layout of a heatmap's ``z`` and of ``np.meshgrid``).

    ``outcome``: index into ``minima`` of the minimum reached, ``NOT_CONVERGED`` (-1),
    ``DIVERGED`` (-2) or ``STATIONARY`` (-3: stopped where the gradient's norm is at most
    ``tol``, within ``tol`` of a stationary point that is no listed minimum — a local
    minimum, a saddle — where the surface has a Hessian to find it by).
    ``steps_to_converge``: the step from which the run stays within
    ``tol`` (-1 = never). ``final_loss``: loss after ``steps`` steps (NaN if diverged).
    ``diverged_at``: run()'s step of divergence (-1 = never).
    ``steps_run``: the steps run, fewer than ``steps`` when the map stopped early (see
    :func:`convergence_map`); ``noise``/``seed``: the gradient noise every start saw.
    """

    rule: str
    hyper: dict
    surface: str
    xs: np.ndarray
    ys: np.ndarray
    outcome: np.ndarray
    steps_to_converge: np.ndarray
    final_loss: np.ndarray
    diverged_at: np.ndarray
    minima: tuple[tuple[float, float], ...]
    steps: int
    tol: float
    steps_run: int = -1  # steps actually run (fewer when stopped early); -1: all of them
    noise: float = 0.0
    seed: int = 0

    @property
    def n(self) -> int:
        return len(self.xs)

    def start_at(self, i: int, j: int) -> tuple[float, float]:
        """The start of pixel (row ``i``, column ``j``)."""
        return float(self.xs[j]), float(self.ys[i])

    def pixel_of(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the pixel whose start is nearest to (x, y)."""
        return int(np.abs(self.ys - y).argmin()), int(np.abs(self.xs - x).argmin())

    def counts(self) -> dict[int, int]:
        """How many pixels have each outcome."""
        values, counts = np.unique(self.outcome, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


@dataclass(frozen=True, eq=False)
class SweepCurve:
    """One rule's learning-rate sweep; arrays are indexed like ``lrs``."""

    rule: str
    hyper: dict  # the other hyperparameters (lr is what varies)
    lrs: np.ndarray
    final_loss: np.ndarray  # NaN where diverged
    steps_to_converge: np.ndarray  # -1 = never (see the module docstring)
    diverged: np.ndarray  # bool
    diverged_at: np.ndarray  # -1 = never


class _Settle:
    """Monitor for run(): per run, the last step at which it was not within tol.

    Comparisons with NaN are False, so a NaN point counts as within; run() flags such
    runs as diverged and the results mask them.
    """

    def __init__(self, surface, tol: float, shape: tuple[int, ...]):
        self._minima = [(float(m[0]), float(m[1])) for m in surface.minima]
        self._grad = surface.grad
        self._hessian = surface.hessian if getattr(surface, "has_hessian", False) else None
        self._tol2 = tol * tol
        self.last_out = np.full(shape, -1, dtype=np.int64)

    def _critical_near(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Whether Newton's method on ∇f = 0 from each point ``x`` (its gradient ``g``)
        finds a stationary point within tol of it: the run stopped there (a saddle, a
        local minimum), rather than crawling down a flat valley with a small gradient."""
        y = x.copy()
        for _ in range(NEWTON_STEPS):
            gy, h = self._grad(y), self._hessian(y)
            a, b, c, d = h[:, 0, 0], h[:, 0, 1], h[:, 1, 0], h[:, 1, 1]
            det = a * d - b * c
            step = np.stack([d * gy[:, 0] - b * gy[:, 1], a * gy[:, 1] - c * gy[:, 0]], -1)
            y = y - np.where((det != 0)[:, None], step / det[:, None], 0.0)
        gy = self._grad(y)
        small = np.sqrt(_norm2(gy[:, 0], gy[:, 1])) <= np.maximum(
            1e-6 * np.sqrt(_norm2(g[:, 0], g[:, 1])), 1e-10
        )
        return small & (_norm2(y[:, 0] - x[:, 0], y[:, 1] - x[:, 1]) <= self._tol2)

    def _dist2(self, x: np.ndarray) -> np.ndarray:
        """Squared distance to the nearest minimum, or squared gradient norm.

        Column by column and in place: numpy broadcasts a (2,) point against (B, 2)
        with an inner loop of length 2, many times slower than whole columns.
        """
        if not self._minima:
            g = self._grad(x)
            return _norm2(g[..., 0], g[..., 1])
        best = None
        for mx, my in self._minima:
            d2 = _norm2(x[..., 0] - mx, x[..., 1] - my)
            best = d2 if best is None else np.minimum(best, d2, out=best)
        return best

    def __call__(self, t: int, x: np.ndarray, losses, alive) -> None:
        np.copyto(self.last_out, t, where=self._dist2(x) > self._tol2)

    def result(self, final: np.ndarray, steps: int, diverged_at: np.ndarray):
        """``(outcome, steps_to_converge)`` from the final points and run()'s verdicts."""
        settled = self.last_out < steps
        since = np.where(settled, self.last_out + 1, -1)
        if self._minima:
            ms = np.array(self._minima)
            with np.errstate(invalid="ignore"):
                nearest = (((final[..., None, :] - ms) ** 2).sum(-1)).argmin(-1)
            outcome = np.where(settled, nearest, NOT_CONVERGED)
        else:
            outcome = np.full(since.shape, NOT_CONVERGED)
        with np.errstate(all="ignore"):
            g = self._grad(final)
            flat = (outcome == NOT_CONVERGED) & (_norm2(g[..., 0], g[..., 1]) <= self._tol2)
            if self._hessian is not None and flat.any():
                flat[flat] = self._critical_near(final[flat], g[flat])
        outcome[flat] = STATIONARY
        diverged = diverged_at >= 0
        outcome[diverged] = DIVERGED
        since[diverged] = -1
        return outcome.astype(np.int64), since.astype(np.int64)


class _Stop(Exception):
    """Raised by the map's monitor to end run() early; the monitor holds the results."""


class _MapScan(_Settle):
    """The map's monitor: ``_Settle``, plus what run() would return, kept step by step so
    the map can stop early (``hold`` > 0: once every run has diverged or stayed within
    tol of a listed minimum for ``hold`` steps), plus the loss check run() makes.

    The surface run() sees (``_MapSurface``) reports a loss only to say whether the
    point is finite; the surface's real loss is computed here every ``LOSS_EVERY`` steps
    and at the end, and a run whose real loss is not finite there has diverged at that
    step (for the listed surfaces, whose losses are finite wherever the point is, this
    is run()'s verdict exactly).
    """

    LOSS_EVERY = 8

    def __init__(self, surface, tol: float, shape: tuple[int, ...], hold: int):
        super().__init__(surface, tol, shape)
        self._value = surface.value
        self._hold = hold if surface.minima else 0  # a saddle's floor is not a minimum
        self.diverged_at = np.full(shape, -1, dtype=np.int64)
        self.x = None
        self.t = 0

    def __call__(self, t: int, x: np.ndarray, losses, alive) -> None:
        super().__call__(t, x, losses, alive)
        self.x, self.t = x, t
        fresh = None
        if not alive.all():  # cheap while nothing has diverged
            fresh = ~alive & (self.diverged_at < 0)
        if t % self.LOSS_EVERY == 0:
            bad = (self.diverged_at < 0) & ~np.isfinite(self._value(x))
            fresh = bad if fresh is None else fresh | bad
        if fresh is not None and fresh.any():
            self.diverged_at[fresh] = t
        if self._hold and t >= self._hold and t % 4 == 0:
            done = (self.diverged_at >= 0) | (self.last_out <= t - self._hold)
            if done.all():
                raise _Stop

    def finish(self):
        """``(final points, final losses, diverged_at)`` at the last step run."""
        with np.errstate(all="ignore"):
            loss = self._value(self.x)
        fresh = (self.diverged_at < 0) & ~np.isfinite(loss)
        self.diverged_at[fresh] = self.t
        gone = self.diverged_at >= 0
        loss = np.where(gone, np.nan, loss)
        final = np.where(gone[..., None], np.nan, self.x)  # as run() leaves diverged runs
        return final, loss, self.diverged_at


class _MapSurface:
    """The surface as run() sees it for a map.

    ``value``: zeros. run() checks each step's loss only to tell divergence; its check of
    the point itself (finite, within the radius) does that here, and the real loss is
    ``_MapScan``'s. ``oracle``: the surface's (mini-batches included), with gradient
    noise ``sigma · N(0, 1)`` drawn as run() draws it for ONE start — one (2,) draw per
    gradient, from the same generator — and added to every start's gradient, so each
    pixel sees exactly the noise of a trajectory run from it with the same seed.
    """

    def __init__(self, surface, sigma: float):
        self._surface, self._sigma = surface, sigma
        self._zeros = None

    def value(self, p):
        shape = p.shape[:-1]
        if self._zeros is None or self._zeros.shape != shape:
            self._zeros = np.zeros(shape)  # run() only reads it (a non-finite point is
        return self._zeros  # caught by run()'s own check of the point)

    def oracle(self, step: int, rng):
        inner = self._surface.oracle(step, rng)
        return inner if not self._sigma else Noisy(inner, self._sigma, rng, shared=True)

    def __getattr__(self, name):
        return getattr(self._surface, name)


def _norm2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a² + b², reusing a new ``a`` when there is one."""
    out = a * a
    out += b * b
    return out


def _window(name: str, value, default) -> tuple[float, float]:
    if value is None:
        value = default
    return interval(name, value)


def convergence_map(
    rule: str,
    hyper: dict | None,
    surface,
    n: int = 200,
    steps: int = 500,
    tol: float = 1e-2,
    x_range=None,
    y_range=None,
    *,
    noise: float = 0.0,
    seed: int = 0,
    stop_early: bool = False,
    budget: Budget | None = None,
) -> ConvergenceMap:
    """Run ``rule`` from every start of an ``n``×``n`` grid over the window, as one batch.

    ``surface`` is a Surface or a registered name; the window defaults to the
    surface's. ``hyper`` are the rule's hyperparameters (a schedule for ``lr`` works).
    ``noise``/``seed``: gradient noise as ``run(..., noise=, seed=)`` draws it for one
    start; every pixel gets that same draw, so a pixel equals the trajectory run from
    its start with that seed (the mini-batches of a network surface, drawn from the
    same generator, are shared the same way).

    ``stop_early``: stop once every run has diverged or has stayed within ``tol`` of a
    listed minimum for ``max(20, steps // 5)`` steps (never on a surface without listed
    minima, where "within tol" means a small gradient, as near a saddle). Outcomes and
    steps to converge then assume such runs stay; ``final_loss`` is the loss at the
    last step run (``steps_run``). Bad arguments raise ``ValueError`` before anything runs.

    ``budget``: its cap is checked against n² × steps before anything runs and its
    deadline inside the loop (``optimizers.budget``); either raises ``BudgetError``.
    ``rule``: a name (another library's too) or a typed rule's ``RuleInfo``.
    """
    surface = as_surface(surface)
    n = whole("n", n, 2, MAX_GRID)
    steps = whole("steps", steps, 1, MAX_STEPS)
    tol = positive("tol", tol)
    x_range = _window("x_range", x_range, surface.x_range)
    y_range = _window("y_range", y_range, surface.y_range)
    if seed is None:
        raise ValueError("seed must be a whole number ≥ 0, got None")
    _, _, noise = check_run_args((0.0, 0.0), 0, noise, seed)  # run()'s own checks
    info = as_rule(rule)
    opt = info.build(**dict(hyper or {}))
    if budget is not None:
        # the largest grid that fits: rows × (1 + row_cost) + step_cost per step
        side = math.isqrt(max(0, budget.max_work // steps - info.step_cost) // (1 + info.row_cost))
        budget.check(
            work(1, n * n, steps, info.step_cost, info.row_cost),
            f"the map ({n}×{n} starts × {steps:,} steps{one_at_a_time([info], None)})",
            "use a smaller grid or fewer steps"
            + (f" (at most {side}×{side} starts at these steps)" if side >= 2 else ""),
        )
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    starts = np.empty((n * n, 2))
    starts[:, 0] = np.tile(xs, n)
    starts[:, 1] = np.repeat(ys, n)
    scan = _MapScan(surface, tol, (n * n,), max(20, steps // 5) if stop_early else 0)
    with contextlib.suppress(_Stop):  # the monitor holds what run() would return
        run(
            opt,
            _MapSurface(surface, noise),
            starts,
            steps,
            seed=int(seed),
            record="last",
            monitor=scan,
            budget=charged(budget, info.step_work(n * n), n * n),
        )
    final, final_loss, diverged_at = scan.finish()
    outcome, since = scan.result(final, scan.t, diverged_at)
    return ConvergenceMap(
        rule=info.name,
        hyper=opt.hyper,
        surface=getattr(surface, "name", ""),
        xs=xs,
        ys=ys,
        outcome=outcome.reshape(n, n),
        steps_to_converge=since.reshape(n, n),
        final_loss=final_loss.reshape(n, n),
        diverged_at=diverged_at.reshape(n, n),
        minima=tuple(tuple(float(c) for c in m) for m in surface.minima),
        steps=steps,
        tol=tol,
        steps_run=scan.t,
        noise=noise,
        seed=int(seed),
    )


RuleChoice = str | tuple[str, dict] | tuple[str, dict, Callable[[float], Schedule]]


def lr_sweep(
    rules: Sequence[RuleChoice],
    surface,
    start,
    lrs,
    steps: int = 500,
    tol: float = 1e-2,
    *,
    budget: Budget | None = None,
) -> list[SweepCurve]:
    """Final loss, steps to converge and divergence against the learning rate, per rule.

    Each rule is ``name``, ``(name, hyper)`` or ``(name, hyper, schedule)``, where
    ``schedule(lr0)`` builds the schedule for a starting rate, e.g.
    ``lambda lr: make_schedule("cosine", lr, total=500)``; an ``lr`` in ``hyper`` is
    ignored (it is what varies). One run() per rule: ``len(lrs)`` copies of ``start`` as
    one batch, the rule's α a column of rates, so row k equals the single run at
    ``lrs[k]`` exactly. A rule that takes one number per hyperparameter (another
    library's) runs once per rate instead; a typed rule is given as its ``RuleInfo``.

    ``budget``: its cap is checked against rules × rates × steps before anything runs
    (before the rules are built) and its deadline inside each rule's loop
    (``optimizers.budget``); either raises ``BudgetError``.
    """
    surface = as_surface(surface)
    steps = whole("steps", steps, 1, MAX_STEPS)
    tol = positive("tol", tol)
    try:
        lrs = np.array(lrs, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"lrs must be a list of numbers, got {lrs!r}") from None
    if lrs.ndim != 1 or not 1 <= len(lrs) <= MAX_LRS:
        raise ValueError(f"lrs must be a flat list of 1 to {MAX_LRS:,} rates")
    try:
        point = np.array(start, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"start must be a point (x, y), got {start!r}") from None
    if point.shape != (2,):
        raise ValueError(f"start must be one point (x, y), got shape {point.shape}")
    if isinstance(rules, str | tuple):
        raise ValueError("rules must be a list of rules, e.g. [('adam', {'lr': 0.01})]")
    try:
        rules = list(rules)
    except TypeError:
        raise ValueError(f"rules must be a list of rules, got {rules!r}") from None
    choices = [_choice(c) for c in rules]  # names resolved; no rule is built yet
    # A library rule without a schedule may still take the rates as one batch (optax's).
    one = [
        info.per_row or (schedule is None and info.batches(hyper, ("lr",)))
        for info, hyper, schedule in choices
    ]
    if budget is not None:
        together = [c[0] for c, b in zip(choices, one, strict=True) if b]
        alone = [c[0] for c, b in zip(choices, one, strict=True) if not b]
        budget.check(
            sum(work(1, len(lrs), steps, i.step_cost, i.row_cost) for i in together)
            + sum(work(len(lrs), 1, steps, i.step_cost, i.row_cost) for i in alone),
            f"the sweep ({len(rules):,} rules × {len(lrs):,} rates × {steps:,} steps"
            f"{one_at_a_time(alone)}{one_at_a_time(together, None)})",
            "use fewer rates, steps or optimizers",
        )
    jobs = []
    for (info, hyper, schedule), batched in zip(choices, one, strict=True):
        spec = info.spec("lr")
        rates = [spec.check(v, info.name) for v in lrs]  # everything is checked first
        hyper = {k: v for k, v in hyper.items() if k != "lr"}
        if not info.per_row:  # one batch of every rate, or one run per rate
            if batched:
                opts = [info.columns(info.build(**hyper).hyper, {"lr": np.array(rates)})]
            else:
                alphas = rates if schedule is None else [_one(schedule, r) for r in rates]
                opts = [info.build(lr=a, **hyper) for a in alphas]
            jobs.append((info, hyper, opts))
            continue
        if schedule is None:
            column = np.array(rates)[:, None]
            alpha = lambda t, a=column: a  # noqa: E731 - a constant "schedule" of B rates
        else:
            alpha = _batched(schedule, rates)
        jobs.append((info, hyper, [info.build(lr=alpha, **hyper)]))
    curves = []
    for info, hyper, opts in jobs:
        rows = len(lrs) // len(opts)  # all the rates in one batch, or one each
        costed = charged(budget, info.step_work(rows), rows)
        ends = [_settled(opt, surface, point, rows, steps, tol, costed) for opt in opts]
        final, since, at = (np.concatenate(parts) for parts in zip(*ends, strict=True))
        curves.append(
            SweepCurve(
                rule=info.name,
                hyper=hyper,
                lrs=lrs.copy(),
                final_loss=final,
                steps_to_converge=since,
                diverged=at >= 0,
                diverged_at=at,
            )
        )
    return curves


def _settled(opt, surface, point, rows: int, steps: int, tol: float, budget):
    """(final loss, steps to converge, step of divergence) of ``rows`` copies of ``point``
    (``budget``: what the run ticks, :func:`optimizers.budget.charged`)."""
    settle = _Settle(surface, tol, (rows,))
    starts = np.broadcast_to(point, (rows, 2))
    traj = run(opt, surface, starts, steps, record="last", monitor=settle, budget=budget)
    _, since = settle.result(traj.points[-1], steps, traj.diverged_at)
    return traj.losses[-1], since, traj.diverged_at


def _choice(choice) -> tuple[RuleInfo, dict, Callable | None]:
    if isinstance(choice, str | RuleInfo):
        return as_rule(choice), {}, None
    if not isinstance(choice, tuple | list) or len(choice) not in (2, 3):
        raise ValueError(
            f"each rule must be name, (name, hyper) or (name, hyper, schedule): got {choice!r}"
        )
    info, hyper = as_rule(choice[0]), choice[1] or {}
    if not isinstance(hyper, dict):
        raise ValueError(f"{info.name}: hyperparameters must be a dict, got {hyper!r}")
    schedule = choice[2] if len(choice) == 3 else None
    if schedule is not None and not callable(schedule):
        raise ValueError(
            f"{info.name}: schedule must be a callable lr0 -> schedule, got {schedule!r}"
        )
    return info, dict(hyper), schedule


def _one(schedule: Callable[[float], Schedule], rate: float) -> Schedule:
    """The schedule ``schedule(rate)``; ``ValueError`` if it cannot be built."""
    try:
        each = schedule(rate)
    except TypeError as exc:
        raise ValueError(f"schedule(lr0) could not be built: {exc}") from None
    if not callable(each):
        raise ValueError("schedule(lr0) must return a schedule (a callable t -> rate)")
    return each


def _batched(schedule: Callable[[float], Schedule], rates: list[float]) -> Schedule:
    """One schedule per rate, evaluated together as a column: α_t for every row."""
    each = [_one(schedule, r) for r in rates]
    return lambda t: np.array([s(t) for s in each], dtype=float)[:, None]
