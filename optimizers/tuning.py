"""A fair race: every rule tuned with the same budget, objective and starts, as batches.

Objectives (all minimised; ``f*`` is :func:`f_star`; a diverged run scores +inf):

- ``"final"``: the largest f − f* over the last 10 % of the steps (:func:`final_window`;
  30 of 300), f − f* under 1e-20 counting as 1e-20. Not f − f* at the last step alone: an
  oscillating run (momentum, a rate near the edge of stability) passes near the minimum
  once per swing, and a rate whose last step happens to fall on such a pass would win by
  the phase of its oscillation, not by having converged (on the ravine and Booth the
  rates 1 % from such a lucky one score 100× and 250× worse). 10 % holds at least a full
  swing of momentum's oscillation at its default μ = 0.9 (period 2π/θ with
  cos θ = (1 + μ − αλ)/(2√μ): 9 steps at αλ = 0.5, 20 at αλ = 0.1) and is still the end
  of the run. Below 1e-20 the runs differ by the rounding of the point near the minimum
  (1e-16 relative), not by converging.
- ``"steps"``: the first step from which f − f* ≤ ``tol`` holds to the end;
  ``steps + 1`` if that never happens (ties are broken by the final f − f*).
- ``"area"``: the area under log₁₀(f − f*) per step, i.e. the mean of
  log₁₀(max(f − f*, 1e-20)) over steps 0 … ``steps`` (fast and deep both count).

A trial's objective is the mean over its starts (the scene's start, or a k×k grid of
starts around it) and its noise replicas; one diverged start makes the trial +inf.

Search (deterministic, no random numbers), with a budget of N trials per rule:

1. stage 1: about N/2 trials on a log grid of lr over the range (× a linear grid of the
   second hyperparameter, if one is tuned: n₂ = max(2, ⌊√(N/2)⌋ // 2 + 1) values). Each
   trial owns a cell: ± one grid spacing around it.
2. zoom rounds spend the rest, splitting the cells of the local optima (a trial better
   than every other trial inside its cell): round 1 the best 4 with one new lr per side
   (± half the spacing), round 2 the best 2 likewise, then the best one with two per
   side (± ⅓ and ⅔) until the budget is spent; a split cell shrinks to the new spacing,
   so the best rate's cell keeps shrinking (÷ 2, ÷ 2, then ÷ 3 per round: after N = 64,
   32 + 8 + 4 + 5 × 4 trials, to 1/1000 of the grid's spacing). A kinked objective needs
   that: near the best rate f − f* ∝ ρ(lr)^(2T) with ρ V-shaped, so 5 % of f needs lr to
   about 1e-4. With a second hyperparameter each split also takes its values ± half its
   spacing (8 new points per cell). A point two split cells share is tried once, and a
   local optimum is split no more once its cell is under ±0.2 % of lr or its neighbours
   on both sides are within 2 % of it: the budget goes on to the next one.
3. once no local optimum is left to split, the rest of the budget fills the gaps: the
   stage-1 grid with its spacing halved (then quartered, …), its points farthest from
   every trial first, each with a cell of ± that spacing, which the zoom rounds split
   again where one turns out best in its cell. So every rule gets its whole budget; only
   an lr range narrower than about N × 0.2 % in log lr (a factor of 7 at N = 1,000) can
   run out of points.

Then the tuned values are run once more from the same starts moved by ±1e-4 of the
window (both ways, 2 × k² starts): ``moved_objective``. A tuned rate at the edge of
divergence or on a chaotic tooth scores much worse there, or diverges (``fragile``: worse
by more than 10 % of the objective), so the table can say that the tuned objective
belongs to these exact starts rather than to the values.

Each stage of each rule is ONE vectorised :func:`optimizers.run.run`: the hyperparameters
are per-row columns broadcast against the (B, 2) batch (see :func:`batched_optimizer`),
so row k equals the single run with row k's values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from optimizers import compiled
from optimizers.base import Optimizer, RuleInfo, as_rule
from optimizers.budget import Budget, BudgetError, charged, one_at_a_time, work
from optimizers.checks import as_surface, interval, positive, whole
from optimizers.run import check_run_args, run

OBJECTIVES = ("final", "steps", "area")
AREA_FLOOR = 1e-20  # f − f* below this counts as this in the area and the final f − f*
MAX_TRIALS = 1_000  # per rule
MAX_STARTS = 5  # k of the k×k start grid
MAX_REPLICAS = 8  # noise replicas per start
MAX_STEPS = 5_000
FLAT_WITHIN = 0.10  # flatness: the lr range whose objective is within 10 % of the best
MOVE = 1e-4  # of the window: how far the moved starts are from the tuned ones
# Rules whose hyperparameter enters as a flat (B,) column (Newton adds damping to the
# Hessian's (B,) entries); every other hyperparameter is a (B, 1) column.
_FLAT = {("newton", "damping")}


def f_star(surface) -> float:
    """The surface's minimum value; without listed minima, the lowest value on a 201×201
    grid over its display window (a run that goes lower counts as f − f* = 0)."""
    if surface.minima:
        return float(min(surface.value(np.array(m, dtype=float)) for m in surface.minima))
    _, _, zz = surface.grid(201)
    with np.errstate(all="ignore"):
        finite = zz[np.isfinite(zz)]
    return float(finite.min()) if finite.size else 0.0


def numeric_spec(rule: str | RuleInfo, name: str):
    """The spec of a numeric hyperparameter of ``rule``; ``ValueError`` saying which exist."""
    info = as_rule(rule)
    names = [h.name for h in info.hyper if not h.is_bool]
    if name not in names:
        raise ValueError(
            f"{info.name} has no hyperparameter {name!r} to vary (it has: {', '.join(names)})"
        )
    return info.spec(name)


def batched_optimizer(
    rule: str | RuleInfo, fixed: dict | None, columns: dict[str, np.ndarray]
) -> Optimizer:
    """``rule`` with ``fixed`` hyperparameters and per-row ``columns`` (each of length B).

    Every value is checked by the rule's own spec first; the rule's factory then gets the
    columns as arrays, which its pure step broadcasts against the (B, 2) batch, so row k
    is the single run with row k's values. ``lr`` goes in as a constant schedule. A rule
    whose factory takes one number per hyperparameter gets them through its ``columns``
    (an optax rule's floats), else ``ValueError``.
    """
    info = as_rule(rule)
    values = info.checked({k: v for k, v in (fixed or {}).items() if k not in columns})
    for key, column in columns.items():
        spec = numeric_spec(info, key)
        column = np.asarray(column, dtype=float)
        for v in np.unique(column):
            spec.check(float(v), info.name)
        flat = (info.name, key) in _FLAT
        values[key] = column if flat or not info.per_row else column[:, None]
    if not info.per_row:
        opt = info.columns(values, columns) if info.columns else None
        if opt is None:
            raise ValueError(f"{info.name} takes one number per hyperparameter, not a column")
        return opt._replace(name=info.name, hyper=values)
    lr = values.pop("lr")
    if isinstance(lr, np.ndarray):
        alpha = lambda t, a=lr: a  # noqa: E731 - a constant schedule of B rates
    elif callable(lr):
        alpha = lr
    else:
        alpha = float(lr)
    opt = info.factory(lr=alpha, **values)
    return opt._replace(name=info.name, hyper={**values, "lr": lr})


def final_window(steps: int) -> int:
    """How many of the last steps the final f − f* is the largest over: the last 10 % of
    the steps (at least the last one)."""
    return max(1, math.ceil(steps / 10))


class Scores:
    """run()'s monitor: per row, what the objectives need, step by step.

    ``last_above``: the last step with f − f* > tol; ``area``: Σ log₁₀(max(f − f*, floor));
    ``final``: the largest f − f* over the last :func:`final_window` steps; ``edges``: if
    given, the first step of each block: the maximum of f − f* over each block is kept in
    ``blocks`` (the phase diagram's convergence rate is fitted to them).
    """

    def __init__(self, fstar: float, tol: float, rows: int, steps: int, edges=None, area=True):
        self.fstar, self.tol, self.with_area = fstar, tol, area
        self.tail = steps + 1 - final_window(steps)  # the final window's first step
        edges = np.asarray([] if edges is None else edges, dtype=np.int64)
        self.edges = edges[edges <= steps]
        ends = np.append(self.edges[1:] - 1, steps)
        self._index = {int(e): i for i, e in enumerate(self.edges)}
        self._ends = {int(e): i for i, e in enumerate(ends)}
        self.last_above = np.full(rows, -1, dtype=np.int64)
        self.area = np.zeros(rows)
        self.final = np.full(rows, np.nan)
        self.blocks = np.full((len(self.edges), rows), np.nan)
        self._peak = np.zeros(rows)

    def __call__(self, t: int, x, losses, alive) -> None:
        d = losses - self.fstar
        np.copyto(self.last_above, t, where=~(d <= self.tol))  # NaN counts as above
        if self.with_area:
            self.area += np.log10(np.maximum(d, AREA_FLOOR))
        if t == self.tail:
            self.final = d.copy()
        elif t > self.tail:
            np.maximum(self.final, d, out=self.final)  # NaN (diverged) stays NaN
        if len(self.edges):
            if t in self._index:
                self._peak = d.copy()
            else:
                np.maximum(self._peak, d, out=self._peak)
            if t in self._ends:
                self.blocks[self._ends[t]] = self._peak

    def take(self, losses: np.ndarray, rows: slice | np.ndarray) -> None:
        """For ``rows``, what calling this monitor at every step gives, from their recorded
        ``losses`` (steps + 1, rows) at once: the same numbers for every row that did not
        diverge (the sums run step by step, each log10 on one step's row, as above)."""
        d = losses - self.fstar
        above = ~(d <= self.tol)  # NaN counts as above
        last = len(d) - 1 - np.argmax(above[::-1], axis=0)
        self.last_above[rows] = np.where(above.any(axis=0), last, -1)
        if self.with_area:
            area = np.zeros(d.shape[1])
            for row in d:
                area += np.log10(np.maximum(row, AREA_FLOOR))
            self.area[rows] = area
        self.final[rows] = np.maximum.reduce(d[self.tail :], axis=0)
        ends = np.append(self.edges[1:], len(d))[: len(self.edges)]
        for i, (a, b) in enumerate(zip(self.edges, ends, strict=True)):
            self.blocks[i, rows] = np.maximum.reduce(d[a:b], axis=0)

    def objectives(self, steps: int, diverged: np.ndarray) -> dict[str, np.ndarray]:
        """Per row: each objective (+inf where diverged)."""
        final = np.where(diverged, np.inf, np.maximum(self.final, AREA_FLOOR))
        reached = np.where(self.last_above < steps, self.last_above + 1, steps + 1)
        return {
            "final": final,
            "steps": np.where(diverged, np.inf, reached.astype(float)),
            "area": np.where(diverged, np.inf, self.area / (steps + 1)),
        }


def start_grid(surface, start, k: int, spread: float = 0.05) -> np.ndarray:
    """A k×k grid of starts centred on ``start``, ``spread`` × the window apart."""
    k = whole("starts", k, 1, MAX_STARTS)
    point = np.asarray(start, dtype=float)
    if k == 1:
        return point[None].copy()
    offsets = np.arange(k) - (k - 1) / 2
    dx = spread * (surface.x_range[1] - surface.x_range[0])
    dy = spread * (surface.y_range[1] - surface.y_range[0])
    xs, ys = point[0] + offsets * dx, point[1] + offsets * dy
    return np.stack([np.tile(xs, k), np.repeat(ys, k)], axis=-1)


# Point-steps recorded at once when the compiled loop scores a batch (48 MB of points
# and losses): bigger batches go through it in parts of this many rows × steps.
SCORED_POINTS = 1 << 21


def scored_run(rule, fixed, columns, surface, batch, steps, scores, noise, seed, budget, per):
    """The rows of ``batch`` (each with its values of ``columns``) run with ``scores`` as
    monitor: ONE vectorised run. Where the compiled loop is ready (no noise), it runs in
    parts that record their losses and ``scores`` takes them; the scores are the same.
    ``batch`` is sets of ``per`` rows (the same starts) that see the same noise draws
    (``seed``'s, as ``per`` rows run alone): a fair race, and a score that does not depend
    on the other trials of its batch. A rule that cannot take these columns
    (``RuleInfo.batches``: a torch rule) runs one batch per set of values instead.
    Returns each row's step of divergence (-1: none)."""
    info = as_rule(rule)
    if not info.batches(fixed, columns):
        return _looped_run(rule, fixed, columns, surface, batch, steps, scores, noise, seed, budget)
    opt = batched_optimizer(rule, fixed, columns)
    if noise or compiled.plan(opt, surface) is None:
        costed = charged(budget, info.step_work(len(batch)), len(batch))
        traj = run(
            opt,
            surface,
            batch,
            steps,
            noise,
            seed,
            record="last",
            monitor=scores,
            budget=costed,
            noise_rows=per if noise else None,
        )
        return traj.diverged_at
    part = max(1, SCORED_POINTS // (steps + 1))
    diverged = np.empty(len(batch), dtype=np.int64)
    for a in range(0, len(batch), part):
        rows = slice(a, a + part)
        some = batched_optimizer(rule, fixed, {k: v[rows] for k, v in columns.items()})
        traj = run(some, surface, batch[rows], steps, budget=budget)
        scores.take(traj.losses, rows)
        diverged[rows] = traj.diverged_at
    return diverged


def _looped_run(rule, fixed, columns, surface, batch, steps, scores, noise, seed, budget):
    """scored_run for a rule that takes one number per hyperparameter: the rows that share
    their values are one batch, run with those values (as its single runs would be)."""
    info = as_rule(rule)
    keys = list(columns)
    table = np.stack([np.asarray(columns[k], dtype=float) for k in keys], axis=1)
    sets, which = np.unique(table, axis=0, return_inverse=True)
    for values in sets:  # every value is checked before the first run
        for k, v in zip(keys, values, strict=True):
            numeric_spec(info, k).check(float(v), info.name)
    diverged = np.empty(len(batch), dtype=np.int64)
    for i, values in enumerate(sets):
        rows = np.flatnonzero(which.ravel() == i)
        opt = info.build(**{**(fixed or {}), **dict(zip(keys, map(float, values), strict=True))})
        costed = charged(budget, info.step_work(len(rows)), len(rows))
        traj = run(opt, surface, batch[rows], steps, noise, seed, budget=costed)
        scores.take(traj.losses, rows)
        diverged[rows] = traj.diverged_at
    return diverged


def score_batch(
    rule: str | RuleInfo,
    fixed: dict,
    columns: dict[str, np.ndarray],
    surface,
    starts: np.ndarray,
    steps: int,
    *,
    objective: str,
    tol: float,
    fstar: float,
    noise: float = 0.0,
    replicas: int = 1,
    seed: int = 0,
    budget: Budget | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Objective and final f − f* per trial (columns of length T), over every start and
    replica: ONE run() of T × starts × replicas rows. Row order: trial-major."""
    trials = len(next(iter(columns.values())))
    per = len(starts) * replicas
    rows = {k: np.repeat(np.asarray(v, dtype=float), per) for k, v in columns.items()}
    batch = np.tile(np.repeat(starts, replicas, axis=0), (trials, 1))
    scores = Scores(fstar, tol, len(batch), steps, area=objective == "area")
    diverged = scored_run(
        rule, fixed, rows, surface, batch, steps, scores, noise, seed, budget, per
    )
    obj = scores.objectives(steps, diverged >= 0)
    with np.errstate(invalid="ignore"):
        value = obj[objective].reshape(trials, per).mean(axis=1)
        final = obj["final"].reshape(trials, per).mean(axis=1)
    return value, final


@dataclass(frozen=True, eq=False)
class RuleTuning:
    """One rule's result. ``hyper``: its full tuned hyperparameters; ``trials_*``: every
    trial, in the order run; ``flat``: the (low, high) lr range within 10 % of the best
    (among the trials at the tuned value of the second hyperparameter)."""

    rule: str
    hyper: dict
    objective: float
    default_hyper: dict
    default_objective: float
    flat: tuple[float, float]
    trials_lr: np.ndarray
    trials_other: np.ndarray | None
    trials_objective: np.ndarray
    moved_objective: float  # the tuned values from the starts moved by ±MOVE × the window

    @property
    def kept_default(self) -> bool:
        """Whether no trial beat the default race: the tuned values are the defaults."""
        return self.hyper == self.default_hyper

    @property
    def fragile(self) -> bool:
        """Whether the moved starts score worse by more than 10 % of the objective (or
        diverge): the tuned objective is luck of the exact starts."""
        b, m = self.objective, self.moved_objective
        return math.isfinite(b) and not m <= b + FLAT_WITHIN * abs(b)

    def to_dict(self) -> dict:
        return {
            "optimizer": self.rule,
            "hyper": {k: _jsonable(v) for k, v in self.hyper.items()},
            "objective": _jsonable(self.objective),
            "default_hyper": {k: _jsonable(v) for k, v in self.default_hyper.items()},
            "default_objective": _jsonable(self.default_objective),
            "flat_lr": [_jsonable(self.flat[0]), _jsonable(self.flat[1])],
            "trials": len(self.trials_lr),
            "moved_objective": _jsonable(self.moved_objective),
            "fragile": self.fragile,
            "kept_default": self.kept_default,
        }


@dataclass(frozen=True, eq=False)
class Tuning:
    """A tuned race: the scene it was tuned on and each rule's result."""

    surface: str
    start: tuple[float, float]
    steps: int
    objective: str
    trials: int
    starts: int
    other: str | None
    tol: float
    fstar: float
    noise: float
    seed: int
    rules: list[RuleTuning] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "surface": self.surface,
            "start": list(self.start),
            "steps": self.steps,
            "objective": self.objective,
            "budget": self.trials,
            "starts": self.starts,
            "also": self.other,
            "tol": self.tol,
            "f_star": self.fstar,
            "noise": self.noise,
            "seed": self.seed,
            "rules": [r.to_dict() for r in self.rules],
        }


def _jsonable(v):
    if isinstance(v, bool | str) or v is None:
        return v
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, int | float):
        return float(v) if math.isfinite(v) else None
    return v


def _range(name: str, value, spec, log: bool) -> tuple[float, float]:
    if value is None:
        value = (spec.low, spec.high)
    lo, hi = interval(f"{name} range", value)
    if log and lo <= 0:
        raise ValueError(f"{name} range must be > 0 on a log axis, got {value!r}")
    spec.check(lo)
    spec.check(hi)
    return lo, hi


def tune(
    rules: Sequence[str | tuple[str, dict]],
    surface,
    start,
    steps: int = 500,
    *,
    objective: str = "final",
    trials: int = 64,
    lr_range=None,
    also: str | None = None,
    also_range=None,
    starts: int = 1,
    spread: float = 0.05,
    noise: float = 0.0,
    replicas: int = 1,
    seed: int = 0,
    tol: float = 1e-6,
    budget: Budget | None = None,
) -> Tuning:
    """Tune each rule's lr (and ``also``, a second hyperparameter, where the rule has it)
    on ``surface`` from ``start``; every rule gets the same ``trials`` and objective.

    ``rules``: names or ``(name, hyper)``: ``hyper`` are the values not tuned (and the
    "default race" the tuned one is compared with). A name may be another library's
    rule (``"torch:Adam"``: one batch per trial, ``budget.work``) and a ``RuleInfo`` a
    typed rule (``typed.rule_info``). ``lr_range``: (low, high) on a log
    axis, by default each rule's slider range; ``also_range`` likewise, linear.
    ``starts``: k of the k×k grid of starts, ``spread`` × the window apart;
    ``replicas``: rows per start with their own gradient noise (``noise`` > 0), all
    drawn from ``seed``. Bad input raises ``ValueError`` before anything runs;
    ``budget`` is checked against the most work the searches can take
    (:func:`tuning_work`) and its deadline is ticked inside every run.
    """
    surface = as_surface(surface)
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    trials = whole("budget (trials per rule)", trials, 2, MAX_TRIALS)
    steps = whole("steps", steps, 1, MAX_STEPS)
    replicas = whole("replicas", replicas, 1, MAX_REPLICAS)
    point, steps, noise = check_run_args(start, steps, noise, seed)
    if point.shape != (2,):
        raise ValueError(f"start must be one point (x, y), got shape {point.shape}")
    tol = positive("tol", tol)
    if also == "lr":
        raise ValueError("lr is always tuned: also names a second hyperparameter (momentum, …)")
    if also is None and also_range is not None:
        raise ValueError("also_range is the range of also: name the hyperparameter it is for")
    if isinstance(rules, str):
        rules = [rules]
    chosen = []
    for choice in rules:
        alone = isinstance(choice, str | RuleInfo)
        rule, hyper = (choice, {}) if alone else (choice[0], dict(choice[1]))
        info = as_rule(rule)
        name = info.name
        default = info.build(**hyper).hyper  # checks the fixed values
        if callable(default.get("lr")):
            raise ValueError(f"{name}: tuning needs a constant lr, not a schedule")
        lr_spec = info.spec("lr")
        lrs = _range(f"{name}.lr", lr_range, lr_spec, log=True)
        other = None
        if also is not None and also in [h.name for h in info.hyper]:
            spec = numeric_spec(info, also)
            other = (also, _range(f"{name}.{also}", also_range, spec, log=False))
        chosen.append((info, default, lrs, other))
    if not chosen:
        raise ValueError("choose at least one optimizer to tune")
    if also is not None and not any(c[3] for c in chosen):
        if len(chosen) == 1:
            numeric_spec(chosen[0][0], also)  # "<rule> has no hyperparameter ..."
        raise ValueError(f"none of the chosen optimizers has a hyperparameter {also!r}")
    grid = start_grid(surface, point, starts, spread)
    window = np.array([np.ptp(surface.x_range), np.ptp(surface.y_range)])
    moved = np.concatenate([grid + MOVE * window, grid - MOVE * window])
    per = len(grid) * replicas
    if any(o for *_, o in chosen) and trials < 4:
        raise ValueError(
            f"tuning a second hyperparameter needs a budget of at least 4 trials per rule "
            f"(2 values of each), got {trials}"
        )
    if budget is not None:
        parts = [budget_part(info, d, per, o[0] if o else None) for info, d, _, o in chosen]
        check_budget(budget, parts, trials, steps, "rules")
    fstar = f_star(surface)
    common = dict(
        objective=objective,
        tol=tol,
        fstar=fstar,
        noise=noise,
        replicas=replicas,
        seed=int(seed),
        budget=budget,
    )
    results = []
    for i, (info, default, lrs, other) in enumerate(chosen):
        results.append(
            _tune_rule(info, default, lrs, other, surface, (grid, moved), steps, trials, common)
        )
        if budget is not None:  # a range with no gap left ends under its budget
            left = trials - len(results[-1].trials_lr)
            budget.unplan(
                work(left, per, steps, 0 if parts[i][2] else info.step_cost, info.row_cost)
            )
    return Tuning(
        surface=getattr(surface, "name", ""),
        start=(float(point[0]), float(point[1])),
        steps=steps,
        objective=objective,
        trials=trials,
        starts=math.isqrt(len(grid)),
        other=also,
        tol=tol,
        fstar=fstar,
        noise=noise,
        seed=int(seed),
        rules=results,
    )


def first_grid(trials: int, two: bool) -> tuple[int, int]:
    """(lr values, values of the second hyperparameter) of a search's first grid: about
    half the budget, the same grid for any budget of PREFIX trials or more."""
    first = min(trials, PREFIX)
    n_other = max(2, math.isqrt(first // 2) // 2 + 1) if two else 1
    return max(2, math.ceil(first / 2) // n_other), n_other


def tuning_work(info: RuleInfo, rows: int, batched: bool, two: bool, trials: int, steps: int):
    """The most point-steps a rule's search can take (``budget.work``): its trials and the
    default race, ``rows`` starts each, then the tuned values from the moved starts. Sets
    of values that share a batch pay ``step_cost`` once per batch: the first grid with the
    default race is one, and a later round runs only with a new trial, so at most
    1 + trials − (first grid) of them; otherwise once per set. A rule that steps each
    start on its own pays ``row_cost`` per row as well."""
    n1, n_other = first_grid(trials, two)
    batches = 1 + max(0, trials - n1 * n_other) if batched else trials + 1
    return (
        (trials + 1) * rows * (1 + info.row_cost) * steps
        + batches * info.step_cost * steps
        + work(1, 2 * rows, steps, info.step_cost, info.row_cost)
    )


def budget_part(info: RuleInfo, hyper: dict, rows: int, also: str | None) -> tuple:
    """One rule's entry of :func:`check_budget`: its info, its ``rows`` per trial, whether
    its trials (over lr and ``also``, the second hyperparameter it tunes) share batches,
    and whether it tunes one."""
    keys = ("lr", also) if also else ("lr",)
    return info, rows, info.batches(hyper, keys), also is not None


def check_budget(
    budget: Budget,
    parts: Sequence[tuple[RuleInfo, int, bool, bool]],
    trials: int,
    steps: int,
    noun: str,
) -> None:
    """Check a tuning of ``trials`` per rule against ``budget`` before anything runs.

    ``parts``: per rule, :func:`budget_part` (the rows a trial runs: starts × replicas);
    see :func:`tuning_work`. ``noun``: what the parts are, plural ("rules"). The message
    names the most trials that fit."""

    def total(t: int) -> int:
        return sum(tuning_work(*part, t, steps) for part in parts)

    most = 1  # every budget up to ``most`` fits (in 2-D the bound is not monotone)
    while most < MAX_TRIALS and total(most + 1) <= budget.max_work:
        most += 1
    rounds = [info for info, _, batched, _ in parts if batched]
    alone = [info for info, _, batched, _ in parts if not batched]
    rows = max(part[1] for part in parts)
    named = f"{len(parts)} {noun if len(parts) > 1 else noun[:-1]}"
    try:
        budget.check(
            total(trials),
            f"tuning ({named} × {trials:,} trials × {rows} starts × {steps:,} steps"
            f"{one_at_a_time(alone)}{one_at_a_time(rounds, 'round of its search')})",
            "use fewer trials, starts or steps"
            + (f" (at most {most:,} trials at these starts and steps)" if most >= 2 else ""),
        )
    except BudgetError as exc:
        if most < 2:
            raise
        # what to do first, the accounting after it
        first = f"Use at most {most:,} trials per rule here ({trials:,} asked). "
        raise BudgetError(first + str(exc), "work") from None


def _order(value: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Trial indices best first: by objective, ties by final f − f*, then by position."""
    return np.lexsort((np.arange(len(value)), final, value))


# The zoom rounds: how many local optima rounds 1, 2, … split (the last entry repeats)
# and into how many points per side in log lr (each cell's half-width shrinks by that + 1).
ZOOM = ((4, 1), (2, 1), (1, 2))
# Budgets of this many trials or more start from the same grid and go on in the same
# rounds: a bigger budget tries the smaller one's trials first, so it can only do better.
PREFIX = 64
# A cell narrower than this in log lr (±0.2 % of lr) is not split again: the budget goes
# to the next local optimum instead of a plateau (at 256 trials, 100 went to one lr).
MIN_CELL = 0.002
# A local optimum whose neighbours on both sides are within 2 % of it is not split again
# either: on a smooth optimum 20 of 64 trials went to lr's fifth digit (Beale, Nesterov)
# while a dip 13 % deeper, 23 % away in lr, was never probed.
SETTLED = 0.02


def _settled(c, u, values, inside) -> bool:
    """Whether trial c's basin is resolved: its cell holds trials on both sides of it,
    all within SETTLED of its value, so splitting it further is unlikely to gain 5 %."""
    left = inside & (u < u[c])
    right = inside & (u > u[c])
    if not left.any() or not right.any():
        return False
    near = values[inside]
    return bool(np.all(np.abs(near - values[c]) <= SETTLED * abs(values[c])))


def _in_cell(du, do, hu, ho) -> np.ndarray:
    """Whether offsets (du, do) from a trial fall inside its cell of half-widths (hu, ho)."""
    return (np.abs(du) <= hu * (1 + 1e-9)) & (np.abs(do) <= ho * (1 + 1e-9))


class _Cells:
    """Every trial's cell and what the search knows of it: whether the trial is the best
    inside its own cell (|Δ log lr| ≤ hu, |Δ other| ≤ ho), and whether it is settled.

    Only the cells a round touched are looked at again (the split ones, the new trials and
    the cells the new trials fell in): the rest keep their answers, as adding a trial
    elsewhere changes neither what is inside a cell nor the order of the trials in it."""

    def __init__(self, u, o, hu, ho, values, finals):
        self.u, self.o, self.hu, self.ho, self.values, self.finals = u, o, hu, ho, values, finals
        self.best = np.zeros(len(u), dtype=bool)
        self.settled = np.zeros(len(u), dtype=bool)
        self.dirty = np.arange(len(u))

    def _inside(self, c) -> np.ndarray:
        return _in_cell(self.u - self.u[c], self.o - self.o[c], self.hu[c], self.ho[c])

    def local_optima(self, k: int) -> np.ndarray:
        """Up to k finite trials whose cells are still at least MIN_CELL wide and not
        settled, best first: the local optima found so far (each the best of the trials
        inside its own cell), else the best of the other trials (a big budget goes on)."""
        order = _order(self.values, self.finals)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        live = np.isfinite(self.values) & (self.hu >= MIN_CELL)
        for c in self.dirty[live[self.dirty]]:
            inside = self._inside(c)
            self.best[c] = rank[inside].min() == rank[c]
            self.settled[c] = _settled(c, self.u, self.values, inside)
        self.dirty = np.zeros(0, dtype=np.int64)
        open_ = order[live[order] & ~self.settled[order]]
        optima = open_[self.best[open_]]
        return (optima if len(optima) else open_)[:k]

    def split(self, c, hu: float, ho: float) -> None:
        self.hu[c], self.ho[c] = hu, ho
        self.dirty = np.append(self.dirty, c)

    def add(self, new: np.ndarray, values, finals) -> None:
        """New trials (rows u, o, hu, ho) and their objectives."""
        n = len(self.u)
        fell_in = _in_cell(
            self.u[:, None] - new[:, 0],
            self.o[:, None] - new[:, 1],
            self.hu[:, None],
            self.ho[:, None],
        )
        self.dirty = np.concatenate(
            [self.dirty, np.flatnonzero(fell_in.any(axis=1)), np.arange(n, n + len(new))]
        )
        self.u, self.o = np.append(self.u, new[:, 0]), np.append(self.o, new[:, 1])
        self.hu, self.ho = np.append(self.hu, new[:, 2]), np.append(self.ho, new[:, 3])
        self.values, self.finals = np.append(self.values, values), np.append(self.finals, finals)
        self.best = np.append(self.best, np.zeros(len(new), dtype=bool))
        self.settled = np.append(self.settled, np.zeros(len(new), dtype=bool))


def _unseen(new: np.ndarray, u: np.ndarray, o: np.ndarray) -> np.ndarray:
    """The rows (u, o, hu, ho) of ``new`` that no trial, earlier or in ``new``, has
    probed yet: two neighbouring cells split in the same round share points."""
    keep = np.zeros(len(new), dtype=bool)
    for i, (a, b, h, g) in enumerate(new):
        pu, po = np.append(u, new[keep, 0]), np.append(o, new[keep, 1])
        keep[i] = not np.any((np.abs(pu - a) <= 1e-6 * h) & (np.abs(po - b) <= 1e-6 * g))
    return new[keep]


def _gaps(cells, u_range, o_range, n1: int, n_other: int) -> np.ndarray:
    """Rows (u, o, hu, ho) of the points of the coarsest refinement of the stage-1 grid
    (spacing ÷ 2, ÷ 4, …) that still has points at least half a spacing from every trial,
    farthest first (ties in grid order); none once its spacing in log lr is under
    MIN_CELL. Each new point's cell is ± that spacing."""
    span_u, span_o = u_range[1] - u_range[0], o_range[1] - o_range[0]
    level = 1
    while True:
        nu = (n1 - 1) * 2**level + 1
        su = span_u / (nu - 1)
        if su < MIN_CELL:
            return np.zeros((0, 4))
        no = (n_other - 1) * 2**level + 1 if n_other > 1 else 1
        so = span_o / (no - 1) if no > 1 else 0.0
        gu = np.repeat(np.linspace(*u_range, nu), no)
        go = np.tile(np.linspace(*o_range, no), nu)
        far = np.abs(gu[:, None] - cells.u) / su
        if so:
            far = np.maximum(far, np.abs(go[:, None] - cells.o) / so)
        far = far.min(axis=1)
        order = np.lexsort((np.arange(len(far)), -far))
        order = order[far[order] >= 0.5]
        if len(order):
            return np.column_stack(
                [gu[order], go[order], np.full(len(order), su), np.full(len(order), so)]
            )
        level += 1


def _tune_rule(info, default, lrs, other, surface, starts, steps, trials, common) -> RuleTuning:
    grid, moved = starts  # the starts tuned on, and the same moved by ±MOVE × the window
    fixed = {k: v for k, v in default.items() if k != "lr"}
    key = other[0] if other else None
    n1, n_other = first_grid(trials, other is not None)
    o_range = other[1] if other else (0.0, 0.0)
    u_range = (math.log(lrs[0]), math.log(lrs[1]))
    # Every trial: lr, u = log lr, o = the other value, and (hu, ho) the half-widths of
    # its cell, the box around it that no trial has probed inside yet.
    tried_lr = np.repeat(np.geomspace(*lrs, n1), n_other)
    tried_o = np.tile(np.linspace(*o_range, n_other) if other else np.zeros(1), n1)
    u = np.log(tried_lr)
    hu = np.full(len(u), (u_range[1] - u_range[0]) / (n1 - 1))
    ho = np.full(len(u), (o_range[1] - o_range[0]) / (n_other - 1) if other else 0.0)
    # Stage 1 plus the default race, as one batch: the default is its last row.
    cols = {"lr": np.append(tried_lr, default["lr"])}
    if other:
        cols[key] = np.append(tried_o, default[key])
    value, final = score_batch(info, fixed, cols, surface, grid, steps, **common)
    default_objective, default_final = float(value[-1]), final[-1]
    cells = _Cells(u, tried_o, hu, ho, value[:-1], final[:-1])
    p = 1 if other else 0  # other values per side of a cell
    for r in range(trials):  # each round adds ≥ 1 trial or splits ≥ 1 cell, or stops
        left = trials - len(cells.u)
        if left <= 0:
            break
        k, q = ZOOM[min(r, len(ZOOM) - 1)]
        # The cell's grid of (2q + 1) × (2p + 1) points, nearest first, minus its centre.
        du = np.repeat(np.arange(-q, q + 1) / (q + 1), 2 * p + 1)
        do = np.tile(np.arange(-p, p + 1) / (p + 1), 2 * q + 1)
        near = np.lexsort((do, du, np.abs(du) + np.abs(do)))[1:]
        chosen = cells.local_optima(k)
        if not len(chosen):  # every cell settled: the rest fills the widest gaps
            new = _gaps(cells, u_range, o_range, n1, n_other)[:left]
            if not len(new):
                break
        else:
            new = []  # (u, o, half-widths) of the new points, best cell first
            for c in chosen:
                cu = cells.u[c] + du[near] * cells.hu[c]
                co = cells.o[c] + do[near] * cells.ho[c]
                keep = (cu >= u_range[0]) & (cu <= u_range[1])
                keep &= (co >= o_range[0]) & (co <= o_range[1])
                h, g = cells.hu[c] / (q + 1), cells.ho[c] / (p + 1)
                cells.split(c, h, g)
                new += [(a, b, h, g) for a, b in zip(cu[keep], co[keep], strict=True)]
            new = _unseen(np.array(new).reshape(-1, 4), cells.u, cells.o)[:left]
            if not len(new):
                continue
        lr_new = np.clip(np.exp(new[:, 0]), *lrs)
        cols = {"lr": lr_new}
        if other:
            cols[key] = new[:, 1]
        v, f = score_batch(info, fixed, cols, surface, grid, steps, **common)
        tried_lr = np.append(tried_lr, lr_new)
        cells.add(new, v, f)
    values, finals, tried_o = cells.values, cells.finals, cells.o
    best = int(_order(values, finals)[0])
    # The default race is scored too: where no trial beats it, the default is the answer
    # (a small budget over two hyperparameters can miss every value as good).
    lr_all, o_all = np.append(tried_lr, default["lr"]), np.append(tried_o, default.get(key, 0))
    v_all, f_all = np.append(values, default_objective), np.append(finals, default_final)
    if _order(v_all[[best, -1]], f_all[[best, -1]])[0] == 1:
        best = len(v_all) - 1
    tuned = dict(default)
    tuned["lr"] = float(lr_all[best])
    cols = {"lr": lr_all[best : best + 1]}
    if other:
        tuned[key] = float(o_all[best])
        cols[key] = o_all[best : best + 1]
    moved_value, _ = score_batch(info, fixed, cols, surface, moved, steps, **common)
    return RuleTuning(
        rule=info.name,
        hyper=tuned,
        objective=float(v_all[best]),
        default_hyper=dict(default),
        default_objective=default_objective,
        flat=flatness(lr_all, v_all, best, o_all if other else None),
        trials_lr=tried_lr,
        trials_other=tried_o if other else None,
        trials_objective=values,
        moved_objective=float(moved_value[0]),
    )


def flatness(lrs, values, best: int, others=None) -> tuple[float, float]:
    """The (lowest, highest) lr of the run of trials around the best, in lr order, whose
    objective is within 10 % of the best's (of |best| for a negative objective), among
    the trials that share the best's other value."""
    b = values[best]
    if not math.isfinite(b):
        return (math.nan, math.nan)
    same = np.ones(len(lrs), bool) if others is None else others == others[best]
    idx = np.flatnonzero(same)
    idx = idx[np.argsort(lrs[idx], kind="stable")]
    near = values[idx] <= b + FLAT_WITHIN * abs(b)  # +inf (diverged) is never near
    at = int(np.flatnonzero(idx == best)[0])
    lo = hi = at
    while lo > 0 and near[lo - 1]:
        lo -= 1
    while hi < len(idx) - 1 and near[hi + 1]:
        hi += 1
    return float(lrs[idx[lo]]), float(lrs[idx[hi]])
