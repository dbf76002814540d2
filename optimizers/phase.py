r"""Phase diagrams: one rule over a grid of two hyperparameters, and Distill's analytic map.

**Momentum in Distill's form.** optviz's momentum is v ← μv − α∇f(W); W ← W + v.
Distill ("Why Momentum Really Works", Goh 2017) writes z ← βz + ∇f(w); w ← w − αz.
With z = −v/α (constant α) the two are the same iteration: z' = −(μv − α∇)/α = μz + ∇
and W' = W + v' = W − αz', so β = μ and α = α, and the points drawn are the same.

On f = ½ (w − w*)ᵀ A (w − w*), in A's eigenbasis (eigenvalue λ, coordinate x = w − w*,
y = z) one step is (y', x') = R (y, x) with

    R = [[β, λ], [−αβ, 1 − αλ]],   tr R = 1 + β − αλ,   det R = β(1 − αλ) + αβλ = β.

Its eigenvalues σ solve σ² − (1 + β − αλ)σ + β = 0. When they are complex ("ripples",
(1 + β − αλ)² < 4β) they are conjugate, so |σ|² = σσ̄ = det R = β and the rate is √β,
whatever α is. The iteration converges iff both |σ| < 1 (Jury: |tr| < 1 + det, det < 1),
i.e. for 0 ≤ β < 1: |1 + β − αλ| < 1 + β ⇔ 0 < αλ < 2 + 2β. The two roots meet
(critical damping) where (1 + β − αλ)² = 4β ⇔ √(αλ) = 1 ∓ √β ⇔ β = (1 − √(αλ))².
Over eigenvalues λ₁ ≤ … ≤ λₙ the rate is maxᵢ |σ|; it is smallest at
α* = (2 / (√λ₁ + √λₙ))², β* = ((√λₙ − √λ₁) / (√λₙ + √λ₁))², where it is √β*.

Nesterov (look-ahead form, W_a = W + μv; v' = μv − α∇f(W_a); W' = W + v') gives on (v, x)
R = [[μ(1 − αλ), −αλ], [μ(1 − αλ), 1 − αλ]]: tr = (1 + μ)(1 − αλ), det = μ(1 − αλ);
it converges iff 0 < αλ < (2 + 2μ)/(1 + 2μ).

**Measured rate.** f − f* of a linear iteration decays like ρ^(2k) (f is quadratic in x).
Per cell the maxima of f − f* over blocks of steps are kept (2 steps long up to step
100, then 10); their running
maximum from the end (the upper envelope, immune to an oscillation's zeros) is fitted by
least squares in log over the last two thirds of the steps where it is above
``RATE_FLOOR`` by a line of slope s, and ρ = exp(s / 2). (At a repeated root, critical
damping, f − f* ∝ k²ρ^(2k): the finite-step rate there is ρ·e^(1/k), above the asymptotic
one; fitting late steps keeps k large.) A cell that reaches f* exactly, or too fast to
give 3 blocks, has no measured rate (NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimizers.base import as_rule
from optimizers.budget import Budget, one_at_a_time, work
from optimizers.checks import as_surface, positive, whole
from optimizers.run import check_run_args
from optimizers.tuning import (
    MAX_STARTS,
    OBJECTIVES,
    Scores,
    f_star,
    numeric_spec,
    scored_run,
    start_grid,
)

MAX_CELLS = 200
MAX_STEPS = 2_000
# Blocks of 2 steps for the first 100 steps (fast cells reach the floor within tens of
# steps), then of 10.
FINE, FINE_UNTIL, BLOCK = 2, 100, 10
RATE_FLOOR = 1e-290


# Analytic --------------------------------------------------------------------------------


def _rate(tr, det):
    """max |σ| over the roots of σ² − tr σ + det = 0 (elementwise)."""
    tr, det = np.asarray(tr, float), np.asarray(det, float)
    disc = tr * tr - 4 * det
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(tr + root), np.abs(tr - root)) / 2
    return np.where(disc >= 0, real, np.sqrt(np.abs(det)))


def momentum_matrix(alpha: float, beta: float, lam: float) -> np.ndarray:
    """Distill's R for one eigenvalue λ: (z, w − w*) ↦ next, in λ's eigendirection."""
    return np.array([[beta, lam], [-alpha * beta, 1 - alpha * lam]])


def nesterov_matrix(alpha: float, mu: float, lam: float) -> np.ndarray:
    """The look-ahead Nesterov step on (v, w − w*) in λ's eigendirection."""
    a = 1 - alpha * lam
    return np.array([[mu * a, -alpha * lam], [mu * a, a]])


def momentum_rate(alpha, beta, lams) -> np.ndarray:
    """max over λ of max |σ(R)|, broadcast over ``alpha`` and ``beta``."""
    alpha, beta = np.asarray(alpha, float), np.asarray(beta, float)
    return np.max([_rate(1 + beta - alpha * lam, beta) for lam in lams], axis=0)


def nesterov_rate(alpha, mu, lams) -> np.ndarray:
    alpha, mu = np.asarray(alpha, float), np.asarray(mu, float)
    out = []
    for lam in lams:
        a = 1 - alpha * lam
        out.append(_rate((1 + mu) * a, mu * a))
    return np.max(out, axis=0)


def critical_damping(alpha, lam: float) -> np.ndarray:
    """β = (1 − √(αλ))²: the two roots of R meet; below it they are real, above complex."""
    return (1 - np.sqrt(np.asarray(alpha, float) * lam)) ** 2


def momentum_boundary(alpha, lam: float) -> np.ndarray:
    """The least β that converges at α: αλ < 2 + 2β ⇔ β > αλ/2 − 1."""
    return np.asarray(alpha, float) * lam / 2 - 1


def convergence_boundary(rule: str, alpha, lam: float) -> np.ndarray:
    """The least β that converges at α for ``rule`` (momentum: :func:`momentum_boundary`;
    nesterov: αλ(1 + 2μ) = 2 + 2μ ⇔ μ = (αλ − 2) / (2 − 2αλ), NaN where αλ ≤ 1)."""
    if rule == "momentum":
        return momentum_boundary(alpha, lam)
    al = np.asarray(alpha, float) * lam
    with np.errstate(all="ignore"):
        return np.where(al > 1, (al - 2) / (2 - 2 * al), np.nan)


def optimum(lams) -> tuple[float, float, float]:
    """(α*, β*, rate*) for eigenvalues λ₁ … λₙ > 0: Distill's optimal parameters."""
    l1, ln = math.sqrt(min(lams)), math.sqrt(max(lams))
    beta = ((ln - l1) / (ln + l1)) ** 2
    return (2 / (l1 + ln)) ** 2, beta, math.sqrt(beta)


def hessian_eigenvalues(surface) -> tuple[float, ...] | None:
    """The exact Hessian's eigenvalues at the surface's (first listed) minimum, ascending;
    None without a minimum or a Hessian, or if any is ≤ 0 (no quadratic model there)."""
    if not surface.minima or not getattr(surface, "has_hessian", True):
        return None
    h = surface.hessian(np.array(surface.minima[0], dtype=float))
    lams = np.linalg.eigvalsh(h)
    if not np.all(np.isfinite(lams)) or lams.min() <= 0:
        return None
    return tuple(float(v) for v in lams)


@dataclass(frozen=True, eq=False)
class Analytic:
    """Distill's map for (lr, momentum) axes: the rate per cell and the curves to draw.

    ``rate``: (ny, nx) over the diagram's cells (NaN-free). ``boundary``: per λₙ, β on
    the x grid where αλₙ = 2 + 2β; ``critical``: per λ, β = (1 − √(αλ))² on the x grid.
    """

    rule: str
    lams: tuple[float, ...]
    rate: np.ndarray
    boundary: np.ndarray
    critical: tuple[np.ndarray, ...]
    alpha_star: float
    beta_star: float
    rate_star: float


def analytic(rule: str, surface, x: str, xs, y: str, ys) -> Analytic | None:
    """Distill's regions for a momentum/nesterov diagram over lr × momentum (either way
    round) on a surface with a minimum and a positive definite Hessian there; else None."""
    if rule not in ("momentum", "nesterov") or {x, y} != {"lr", "momentum"}:
        return None
    lams = hessian_eigenvalues(surface)
    if lams is None:
        return None
    alphas = np.asarray(xs if x == "lr" else ys, float)
    betas = np.asarray(ys if y == "momentum" else xs, float)
    aa, bb = np.meshgrid(alphas, betas)  # (n_beta, n_alpha)
    rates = momentum_rate(aa, bb, lams) if rule == "momentum" else nesterov_rate(aa, bb, lams)
    if x != "lr":
        rates = rates.T
    a_star, b_star, r_star = optimum(lams)
    boundary = convergence_boundary(rule, alphas, lams[-1])
    return Analytic(
        rule=rule,
        lams=lams,
        rate=rates,
        boundary=boundary,
        critical=tuple(critical_damping(alphas, lam) for lam in lams),
        alpha_star=a_star,
        beta_star=b_star,
        rate_star=r_star,
    )


# Measured --------------------------------------------------------------------------------


def block_edges(steps: int) -> np.ndarray:
    """The first step of each block of the measured rate's fit."""
    return np.r_[np.arange(0, FINE_UNTIL, FINE), np.arange(FINE_UNTIL, steps + 1, BLOCK)]


RATE_COLUMNS = 4096  # columns fitted at once: a few MB of temporaries, reused


def measured_rate(blocks: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per column of ``blocks`` (maxima of f − f* over blocks starting at ``edges``,
    (n_blocks, rows)): the rate ρ with f − f* ∝ ρ^(2k), fitted to the upper envelope (see
    the module's docstring) over the last two thirds of the steps where it is valid."""
    # In slices of columns, row by row and through matrix products: a 200×200 diagram of
    # 2,000 steps (241 × 40,000 blocks) took 0.7 s in one piece, mostly fresh memory.
    parts = [
        _fitted_rate(blocks[:, a : a + RATE_COLUMNS], edges)
        for a in range(0, blocks.shape[1], RATE_COLUMNS)
    ]
    return np.concatenate(parts) if parts else np.empty(0)


def _fitted_rate(blocks: np.ndarray, edges: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        env = np.array(blocks, dtype=float)  # max over this block and later
        for i in range(len(env) - 2, -1, -1):
            np.fmax(env[i], env[i + 1], out=env[i])
        ok = (env > RATE_FLOOR) & (env < np.inf)  # not NaN (diverged), inf or exact zeros
        y = np.log(env, out=env, where=ok)  # only read where ok
    t = np.asarray(edges[: len(blocks)], dtype=float)
    count = ok.sum(axis=0)  # the valid blocks are a prefix: env is non-increasing
    last = t[np.maximum(count - 1, 0)]  # the first step of the last valid block
    w = (t[:, None] >= last / 3) & ok
    wf, wy = w.astype(float), np.where(w, y, 0.0)
    s0, s1, s2 = wf.sum(0), t @ wf, (t * t) @ wf
    sy, sty = wy.sum(0), t @ wy
    with np.errstate(all="ignore"):
        slope = (s0 * sty - s1 * sy) / (s0 * s2 - s1 * s1)
        rate = np.exp(slope / 2)
    return np.where((s0 >= 3) & np.isfinite(rate), rate, np.nan)


def _mean_rate(rate: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the measured rates, NaN where a start has none."""
    return rate.mean(axis=-1)  # a NaN anywhere (no measured rate) stays NaN


@dataclass(frozen=True, eq=False)
class PhaseMap:
    """One rule over an (ny, nx) grid of two hyperparameters: row i is ``ys[i]``, column j
    ``xs[j]``. ``value``: the chosen objective (+inf where diverged); ``diverged``: any of
    the cell's starts diverged; ``rate``: the measured convergence rate (NaN: none)."""

    rule: str
    surface: str
    x: str
    y: str
    xs: np.ndarray
    ys: np.ndarray
    x_log: bool
    y_log: bool
    objective: str
    value: np.ndarray
    final: np.ndarray
    steps_to_tol: np.ndarray
    area: np.ndarray
    diverged: np.ndarray
    rate: np.ndarray
    hyper: dict
    start: tuple[float, float]
    steps: int
    tol: float
    fstar: float

    def cell_hyper(self, i: int, j: int) -> dict:
        """The hyperparameters of cell (row ``i``, column ``j``)."""
        return {**self.hyper, self.x: float(self.xs[j]), self.y: float(self.ys[i])}

    def to_dict(self) -> dict:
        def grid(a):
            return [[None if not math.isfinite(v) else float(v) for v in row] for row in a]

        return {
            "optimizer": self.rule,
            "surface": self.surface,
            "x": {"name": self.x, "log": self.x_log, "values": self.xs.tolist()},
            "y": {"name": self.y, "log": self.y_log, "values": self.ys.tolist()},
            "objective": self.objective,
            "value": grid(self.value),
            "diverged": self.diverged.astype(int).tolist(),
            "rate": grid(self.rate),
            "hyper": {k: v for k, v in self.hyper.items() if not callable(v)},
            "start": list(self.start),
            "steps": self.steps,
            "tol": self.tol,
            "f_star": self.fstar,
        }


@dataclass(frozen=True)
class Axis:
    """One axis of a diagram: a hyperparameter, its range and its scale."""

    name: str
    low: float
    high: float
    log: bool = False

    def values(self, n: int) -> np.ndarray:
        return (
            np.geomspace(self.low, self.high, n)
            if self.log
            else np.linspace(self.low, self.high, n)
        )


def parse_axis(text: str) -> Axis:
    """``name:low:high[:log|lin]``, e.g. ``lr:1e-4:1:log`` or ``momentum:0:0.99``."""
    parts = str(text).strip().split(":")
    if len(parts) not in (3, 4) or not parts[0]:
        raise ValueError(f"an axis is name:low:high[:log|lin], e.g. lr:1e-4:1:log; got {text!r}")
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"axis {parts[0]}: low and high must be numbers, got {text!r}") from None
    scale = parts[3] if len(parts) == 4 else "lin"
    if scale not in ("log", "lin"):
        raise ValueError(f"axis {parts[0]}: the scale is log or lin, got {scale!r}")
    return Axis(parts[0], low, high, scale == "log")


def _check_axis(rule, axis: Axis) -> Axis:
    if not isinstance(axis, Axis):
        axis = parse_axis(axis)
    spec = numeric_spec(rule, axis.name)
    if not (math.isfinite(axis.low) and math.isfinite(axis.high) and axis.low < axis.high):
        raise ValueError(f"axis {axis.name}: needs finite low < high, got {axis.low}, {axis.high}")
    if axis.log and axis.low <= 0:
        raise ValueError(f"axis {axis.name}: a log axis needs low > 0, got {axis.low:g}")
    spec.check(axis.low, as_rule(rule).name)
    spec.check(axis.high, as_rule(rule).name)
    return axis


def phase_diagram(
    rule,
    surface,
    x: Axis | str,
    y: Axis | str,
    cells: int | tuple[int, int] = 100,
    steps: int = 500,
    *,
    start=None,
    hyper: dict | None = None,
    objective: str = "final",
    starts: int = 1,
    spread: float = 0.05,
    tol: float = 1e-6,
    noise: float = 0.0,
    seed: int = 0,
    budget: Budget | None = None,
) -> PhaseMap:
    """Run ``rule`` once per cell (per start of the start set) as ONE batch; ``x``/``y``
    are :class:`Axis` or ``"name:low:high[:log]"``; ``cells`` is n or (nx, ny), each at
    most 200. ``rule``: a name (a torch rule's: one batch per cell) or a typed
    rule's ``RuleInfo``. Bad input raises ``ValueError`` before anything runs;
    ``budget`` is checked against cells × starts × steps (``budget.work``) and ticked
    inside the run."""
    surface = as_surface(surface)
    rule = as_rule(rule)
    x, y = _check_axis(rule, x), _check_axis(rule, y)
    if x.name == y.name:
        raise ValueError(f"the two axes must be different hyperparameters, both are {x.name!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    nx, ny = (cells, cells) if not isinstance(cells, tuple | list) else cells
    nx, ny = whole("cells", nx, 2, MAX_CELLS), whole("cells", ny, 2, MAX_CELLS)
    steps = whole("steps", steps, 1, MAX_STEPS)
    point, steps, noise = check_run_args(
        surface.start if start is None else start, steps, noise, seed
    )
    if point.shape != (2,):
        raise ValueError(f"start must be one point (x, y), got shape {point.shape}")
    starts = whole("starts", starts, 1, MAX_STARTS)
    tol = positive("tol", tol)
    fixed = rule.build(**(hyper or {})).hyper
    grid = start_grid(surface, point, starts, spread)
    per = len(grid)
    if budget is not None:
        costs = rule.step_cost, rule.row_cost
        if rule.batches(fixed, (x.name, y.name)):  # one batch of every cell
            cells = max(0, budget.max_work // steps - rule.step_cost) // (per * (1 + rule.row_cost))
            asked, why = work(1, nx * ny * per, steps, *costs), one_at_a_time([rule], None)
        else:  # one batch per cell
            cells = budget.max_work // (rule.step_work(per) * steps)
            asked, why = work(nx * ny, per, steps, *costs), one_at_a_time([rule])
        side = math.isqrt(cells)
        budget.check(
            asked,
            f"the phase diagram ({nx}×{ny} cells × {per} starts × {steps:,} steps{why})",
            "use fewer cells, starts or steps"
            + (f" (at most {side}×{side} cells at these starts and steps)" if side >= 2 else ""),
        )
    xs, ys = x.values(nx), y.values(ny)
    cols = {
        x.name: np.repeat(np.tile(xs, ny), per),
        y.name: np.repeat(np.repeat(ys, nx), per),
    }
    others = {k: v for k, v in fixed.items() if k not in cols}
    batch = np.tile(grid, (nx * ny, 1))
    fstar = f_star(surface)
    edges = block_edges(steps)
    scores = Scores(fstar, tol, len(batch), steps, edges=edges)
    at = scored_run(rule, others, cols, surface, batch, steps, scores, noise, seed, budget, per)
    diverged = at >= 0
    obj = scores.objectives(steps, diverged)
    rate = np.where(diverged, np.nan, measured_rate(scores.blocks, scores.edges))  # none
    shape = (ny, nx, per)
    with np.errstate(invalid="ignore"):
        mean = {k: v.reshape(shape).mean(axis=2) for k, v in obj.items()}
    rates = _mean_rate(rate.reshape(shape))
    return PhaseMap(
        rule=rule.name,
        surface=getattr(surface, "name", ""),
        x=x.name,
        y=y.name,
        xs=xs,
        ys=ys,
        x_log=x.log,
        y_log=y.log,
        objective=objective,
        value=mean[objective],
        final=mean["final"],
        steps_to_tol=mean["steps"],
        area=mean["area"],
        diverged=diverged.reshape(shape).any(axis=2),
        rate=rates,
        hyper={k: v for k, v in fixed.items() if k not in (x.name, y.name)},
        start=(float(point[0]), float(point[1])),
        steps=steps,
        tol=tol,
        fstar=fstar,
    )
