"""Tuning a fair race: against a brute-force dense search, deterministic, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from optimizers import OPTIMIZERS, compiled, get_optimizer, run, tuning
from optimizers.budget import Budget, BudgetError
from optimizers.tuning import (
    AREA_FLOOR,
    batched_optimizer,
    f_star,
    flatness,
    score_batch,
    start_grid,
    tune,
)
from surfaces import get_surface

RULES = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]
SURFACES = ["rosenbrock", "beale", "ravine", "quadratic", "himmelblau", "booth"]
STEPS, K = 300, 3  # 300 steps from a 3×3 grid of starts
DENSE = 1000  # rates of the brute-force search, log-spaced over the same range (≥ 8 × 64)
CROWD = 24  # trials within ±0.2 % of one lr, at most (before MIN_CELL: 108–116 of 256)
TOL = 1e-3  # of "steps": RMSprop's constant step never settles to 1e-6 on most of these

# Where the raw dense best is a lone lucky rate that 64 trials cannot be expected to hit:
# ≤ 5 of the 1,000 dense rates come within 5 % of it (asserted below); the rates next to
# it diverge or score up to 10¹⁰× worse, or it is the lowest tooth of a jagged curve.
# Tuned vs dense best (300 steps, 3×3 starts):
LUCKY = {
    ("rosenbrock", "momentum", "final"): "0.0074 vs 0.0063: 3 converging rates among diverging",
    ("rosenbrock", "nesterov", "final"): "0.0134 vs 0.0099: a lone rate next to diverging ones",
    ("rosenbrock", "adam", "final"): "0.024 vs 0.020 at 1.46 (rates next to it: 3× worse)",
    ("beale", "adam", "final"): "3.4e-7 vs 1.4e-8 at 1.75, next to it up to 10¹⁰× worse",
    ("quadratic", "momentum", "steps"): "63 vs 59: the steps jump by half an oscillation",
    ("himmelblau", "momentum", "final"): "5.9e-11 vs 5.3e-11 on a plateau jagged by ±20 %",
}


def dense_search(
    surface, rule: str, shift: float = 0.0, midpoints: bool = False
) -> dict[str, np.ndarray]:
    """Every objective at DENSE log-spaced rates over the rule's lr range (or at the
    DENSE − 1 midpoints between them), from the same starts (moved by ``shift`` × the
    window), computed here from the recorded losses."""
    spec = OPTIMIZERS[rule].spec("lr")
    lrs = np.geomspace(spec.low, spec.high, DENSE)
    if midpoints:
        lrs = np.sqrt(lrs[:-1] * lrs[1:])
    window = np.array([np.ptp(surface.x_range), np.ptp(surface.y_range)])
    starts = start_grid(surface, np.array(surface.start) + shift * window, K)
    opt = batched_optimizer(rule, None, {"lr": np.repeat(lrs, len(starts))})
    traj = run(opt, surface, np.tile(starts, (len(lrs), 1)), STEPS)
    d = traj.losses - f_star(surface)  # (steps + 1, rows); NaN after a divergence
    above = ~(d <= TOL)
    last_above = np.where(above.any(axis=0), STEPS - np.argmax(above[::-1], axis=0), -1)
    with np.errstate(invalid="ignore"):
        per_row = {
            "final": np.maximum(d[-(STEPS // 10) :].max(axis=0), AREA_FLOOR),  # last 10 %
            "steps": (last_above + 1).astype(float),
            "area": np.log10(np.maximum(d, AREA_FLOOR)).mean(axis=0),
        }
    diverged = traj.diverged_at >= 0
    return {
        k: np.where(diverged, np.inf, v).reshape(len(lrs), len(starts)).mean(axis=1)
        for k, v in per_row.items()
    }


@pytest.fixture(scope="module")
def dense():
    """The dense searches, each run once for all three objectives."""
    found = {}

    def get(surface: str, rule: str) -> dict[str, np.ndarray]:
        if (surface, rule) not in found:
            found[surface, rule] = dense_search(get_surface(surface), rule)
        return found[surface, rule]

    return get


# Lone rates that are luck, not a property of the rate: move the 3×3 starts by 1e-4 of
# the window and the same rate scores 2× worse, diverges, or 10⁴× worse.
CHAOTIC = [("rosenbrock", "momentum"), ("rosenbrock", "nesterov"), ("beale", "adam")]


@pytest.mark.parametrize("surface, rule", CHAOTIC)
def test_some_lone_dense_bests_do_not_survive_a_tiny_move_of_the_starts(surface, rule, dense):
    values = dense(surface, rule)["final"]
    best = int(np.argmin(values))
    moved = dense_search(get_surface(surface), rule, shift=1e-4)["final"]
    assert not within_5_percent(moved[best], values[best]), (moved[best], values[best])


def within_5_percent(value: float, best: float) -> bool:
    return value <= best + 0.05 * abs(best)


@pytest.mark.parametrize("objective", ["final", "steps", "area"])
@pytest.mark.parametrize("surface", SURFACES)
def test_tuning_is_within_5_percent_of_the_raw_dense_best_and_beats_the_defaults(
    surface, objective, dense
):
    s = get_surface(surface)
    tuning = tune(RULES, s, s.start, STEPS, objective=objective, trials=64, starts=K, tol=TOL)
    for r in tuning.rules:
        values = dense(surface, r.rule)[objective]
        best = values.min()
        case = (surface, r.rule, objective)
        if case in LUCKY:
            lone = np.sum([within_5_percent(v, best) for v in values]) <= 5
            assert lone, (case, LUCKY[case])
        else:
            assert within_5_percent(r.objective, best), (*case, r.objective, best)
        # Better than the default, unless no rate of the dense search beats it either
        # (all at the 1e-20 floor of f − f*, or none settling to tol within the steps).
        assert r.objective < r.default_objective or r.objective == r.default_objective == best
        assert len(r.trials_lr) <= 64
        assert len(np.unique(r.trials_lr)) == len(r.trials_lr)  # no rate tried twice


def test_the_dense_search_on_its_own_midpoints_misses_its_best_by_over_5_percent_too(dense):
    """How much of the 5 % is where the grid falls: the same brute force at the 999
    midpoints of its 1,000 rates misses their best by more than 5 % in more of the 108
    cases than the 64 trials do (the LUCKY ones), 3 of those among them, and in cases the
    64 trials meet (asserted above: the tuner splits its best cells finer than the grid)."""
    missed = []
    for surface in SURFACES:
        for rule in RULES:
            mid = dense_search(get_surface(surface), rule, midpoints=True)
            for objective in ("final", "steps", "area"):
                best = dense(surface, rule)[objective].min()
                if not within_5_percent(mid[objective].min(), best):
                    missed.append((surface, rule, objective))
    lucky = [c for c in missed if c in LUCKY]
    assert len(missed) > len(LUCKY) and len(lucky) >= 3, missed
    assert len(missed) - len(lucky) >= 5, missed


@pytest.mark.parametrize("surface", ["rosenbrock", "ravine", "quadratic", "booth"])
@pytest.mark.parametrize("objective", ["final", "steps", "area"])
def test_scores_on_the_compiled_loop_equal_the_monitors(surface, objective, monkeypatch):
    """score_batch takes the compiled loop where it is ready and scores the recorded
    losses afterwards: the same objectives, bit for bit, as the step-by-step monitor."""
    s = get_surface(surface)
    starts = start_grid(s, np.array(s.start), K)
    lrs = np.geomspace(1e-5, 2.0, 40)  # from crawling to diverging
    common = dict(objective=objective, tol=TOL, fstar=f_star(s))
    seen = []
    for rule in compiled.RULES:
        assert compiled.wait(batched_optimizer(rule, {}, {"lr": lrs}), s, timeout=600)
        fast = score_batch(rule, {}, {"lr": lrs}, s, starts, STEPS, **common)
        with monkeypatch.context() as m:
            m.setattr(compiled, "plan", lambda opt, surface: None)
            pure = score_batch(rule, {}, {"lr": lrs}, s, starts, STEPS, **common)
        assert np.array_equal(fast[0], pure[0]) and np.array_equal(fast[1], pure[1]), rule
        seen.append(fast[0])
    assert np.isinf(seen).any() and np.isfinite(seen).any()  # diverged and settled rows


def test_a_scored_batch_bigger_than_a_part_is_scored_in_parts(monkeypatch):
    s = get_surface("rosenbrock")
    starts = start_grid(s, np.array(s.start), K)
    lrs = np.geomspace(1e-4, 1.0, 30)
    common = dict(objective="area", tol=TOL, fstar=f_star(s))
    whole = score_batch("adam", {}, {"lr": lrs}, s, starts, STEPS, **common)
    monkeypatch.setattr(tuning, "SCORED_POINTS", 7 * (STEPS + 1))  # parts of 7 rows
    parts = score_batch("adam", {}, {"lr": lrs}, s, starts, STEPS, **common)
    assert np.array_equal(whole[0], parts[0]) and np.array_equal(whole[1], parts[1])


@pytest.mark.parametrize(
    "surface, objective, also",
    [("rosenbrock", "steps", None), ("ravine", "area", None), ("quadratic", "final", "momentum")],
)
def test_a_bigger_budget_tries_the_smaller_ones_trials_first_and_does_no_worse(
    surface, objective, also
):
    s = get_surface(surface)
    rules = ["sgd", "momentum", "adam"] if also is None else ["momentum"]
    kw = dict(objective=objective, starts=K, tol=TOL, also=also)
    small = tune(rules, s, s.start, STEPS, trials=64, **kw)
    big = tune(rules, s, s.start, STEPS, trials=256, **kw)
    for a, b in zip(small.rules, big.rules, strict=True):
        n = len(a.trials_lr)
        assert np.array_equal(b.trials_lr[:n], a.trials_lr)
        assert np.array_equal(b.trials_objective[:n], a.trials_objective)
        assert b.objective <= a.objective and len(b.trials_lr) > n
        if also is None:  # no plateau takes the budget: few trials within ±0.2 % of one lr
            u = np.log(b.trials_lr)
            crowd = (np.abs(u[:, None] - u[None, :]) <= tuning.MIN_CELL).sum(axis=1).max()
            assert crowd <= CROWD, crowd


def test_once_every_cell_is_settled_the_rest_of_the_budget_fills_the_widest_gaps():
    """The gaps of the stage-1 grid halved, farthest from every trial first (ties in grid
    order), then quartered once none is left; none once the spacing is under MIN_CELL."""
    u = np.append(np.linspace(0.0, 4.0, 5), [1.5, 2.6])  # the grid and two zoom points
    n = len(u)
    cells = tuning._Cells(u, np.zeros(n), np.full(n, 1.0), np.zeros(n), np.ones(n), np.ones(n))
    gaps = tuning._gaps(cells, (0.0, 4.0), (0.0, 0.0), 5, 1)
    # Level 1 (spacing 0.5): 0.5 and 3.5 are a spacing from any trial, 2.5 a fifth.
    np.testing.assert_array_equal(gaps[:, 0], [0.5, 3.5])
    np.testing.assert_array_equal(gaps[:, 2:], [[0.5, 0.0], [0.5, 0.0]])
    cells.add(gaps, np.ones(2), np.ones(2))
    gaps = tuning._gaps(cells, (0.0, 4.0), (0.0, 0.0), 5, 1)
    # Level 2 (spacing 0.25): 2.75 is 0.6 of it from 2.6 (2.5 only 0.4), the others 1.
    far = [0.25, 0.75, 1.25, 1.75, 2.25, 3.25, 3.75, 2.75]
    np.testing.assert_allclose(gaps[:, 0], far, rtol=0, atol=1e-15)
    assert np.all(gaps[:, 2] == 0.25)
    top = 4 * tuning.MIN_CELL  # level 1's spacing is MIN_CELL / 2
    narrow = tuning._Cells(np.linspace(0, top, 5), *[np.zeros(5)] * 3, *[np.ones(5)] * 2)
    assert len(tuning._gaps(narrow, (0.0, top), (0.0, 0.0), 5, 1)) == 0


@pytest.mark.parametrize("also", [None, "momentum"])
def test_every_rule_gets_its_whole_budget(also):
    """A search whose cells are all settled goes on in the gaps: 1,000 distinct trials."""
    t = tune(["momentum", "nesterov"], "rosenbrock", (-1.5, 2.0), 150, trials=1000, also=also)
    for r in t.rules:
        other = r.trials_lr if also is None else r.trials_other
        pairs = set(zip(r.trials_lr, other, strict=True))
        assert len(r.trials_lr) == len(pairs) == 1000


def test_a_range_with_no_gap_left_ends_the_search_and_its_budget_share():
    """On a range narrower than 32 × MIN_CELL in log lr, the first grid is all there is."""
    b = Budget(max_work=10**9, seconds=60)
    narrow = (0.01, 0.0101)
    t = tune(["momentum"], "rosenbrock", (-1.5, 2.0), 100, trials=200, lr_range=narrow, budget=b)
    assert len(t.rules[0].trials_lr) == 32
    assert b.planned == b.done == (32 + 1 + 2) * 100  # the default; the 2 moved starts


def test_final_is_the_largest_f_of_the_last_tenth_of_a_replayed_run():
    s = get_surface("ravine")
    t = tune(["momentum", "adam"], s, s.start, 200, objective="final", trials=16, starts=2)
    for r in t.rules:
        worst = []
        for p in start_grid(s, np.array(s.start), 2):
            traj = run(get_optimizer(r.rule, **r.hyper), s, p, 200)
            worst.append(max(traj.losses[-20:].max() - t.fstar, AREA_FLOOR))  # steps 181-200
        assert r.objective == pytest.approx(np.mean(worst), rel=1e-12)


def test_same_values_on_a_second_run_and_the_objective_is_the_replayed_one():
    s = get_surface("rosenbrock")
    kw = dict(objective="area", trials=32, starts=2, steps=200)
    a = tune(RULES, s, s.start, **kw)
    b = tune(RULES, s, s.start, **kw)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    # The tuned objective is what a plain run at the tuned values gives (mean over starts),
    # and the moved one likewise from the 2 × 4 starts moved by ±1e-4 of the window.
    window = np.array([np.ptp(s.x_range), np.ptp(s.y_range)])
    grid = start_grid(s, np.array(s.start), 2)
    for r in a.rules:
        for starts, value in [
            (grid, r.objective),
            (np.concatenate([grid + 1e-4 * window, grid - 1e-4 * window]), r.moved_objective),
        ]:
            total = 0.0
            for p in starts:
                traj = run(get_optimizer(r.rule, **r.hyper), s, p, 200)
                d = np.maximum(traj.losses - a.fstar, AREA_FLOOR)
                total += np.log10(d).mean() if traj.diverged_at is None else math.inf
            assert value == pytest.approx(total / len(starts), rel=1e-12)
    assert any(r.fragile for r in a.rules) and not all(r.fragile for r in a.rules)


def test_a_tuned_rate_at_the_edge_of_divergence_is_fragile():
    """On Rosenbrock SGD's fastest rate to tol diverges from starts 1e-4 of the window
    away (+inf): marked fragile; Adam's area is the same within 10 % there."""
    s = get_surface("rosenbrock")
    t = tune(["sgd", "adam"], s, s.start, STEPS, objective="steps", trials=64, starts=K, tol=TOL)
    sgd, adam = t.rules
    assert math.isfinite(sgd.objective) and sgd.moved_objective == math.inf and sgd.fragile
    assert not adam.fragile and adam.moved_objective <= adam.objective * 1.1
    assert t.to_dict()["rules"][0]["moved_objective"] is None  # JSON's "diverged"
    assert t.to_dict()["rules"][0]["fragile"] is True


def test_a_second_hyperparameter_and_noise_replicas():
    s = get_surface("ravine")
    # the same request twice (for all three rules, then momentum alone): the same answer
    options = dict(
        objective="area",
        trials=40,
        also="momentum",
        also_range=(0.0, 0.95),
        noise=0.1,
        replicas=2,
    )
    t = tune(["momentum", "adam", "sgd"], s, s.start, 200, **options)
    mom, adam, sgd = t.rules
    assert mom.trials_other is not None and len(set(mom.trials_other)) > 3
    assert 0 <= mom.hyper["momentum"] <= 0.95
    assert adam.trials_other is None and sgd.trials_other is None  # no momentum: lr only
    assert all(len(r.trials_lr) <= 40 for r in t.rules)
    pairs = set(zip(mom.trials_lr, mom.trials_other, strict=True))
    assert len(pairs) == len(mom.trials_lr)  # no (lr, momentum) tried twice
    again = tune(["momentum"], s, s.start, 200, **options)
    assert again.rules[0].hyper == mom.hyper


def test_flatness_is_the_run_of_rates_within_10_percent_around_the_best():
    lrs = np.array([0.001, 0.01, 0.1, 1.0, 10.0])
    values = np.array([1.05, 2.0, 1.0, 1.08, np.inf])
    assert flatness(lrs, values, 2) == (0.1, 1.0)  # 0.001 is near but cut off by 0.01
    assert flatness(lrs[::-1], values[::-1], 2) == (0.1, 1.0)
    assert flatness(lrs, np.array([-10.0, -9.5, -8.0, -9.2, 1.0]), 0) == (0.001, 0.01)


def test_f_star_with_and_without_minima():
    assert f_star(get_surface("rosenbrock")) == 0.0
    saddle = get_surface("saddle")
    _, _, zz = saddle.grid(201)
    assert f_star(saddle) == zz.min()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(trials=10**9), "budget \\(trials per rule\\) must be between 2 and 1,000"),
        (dict(rules=["momentum"], also="beta2"), "momentum has no hyperparameter 'beta2'"),
        (dict(also="bias_correction", rules=["adam"]), "adam has no hyperparameter"),
        (dict(objective="best"), "objective must be one of final, steps, area"),
        (dict(rules=["nope"]), "unknown optimizer 'nope'"),
        (dict(starts=9), "starts must be between 1 and 5"),
        (dict(lr_range=(1.0, 0.1)), "low < high"),
        (dict(lr_range=(0.0, 0.1)), "must be > 0"),
        (dict(rules=[("sgd", {"lr": -1})]), "sgd.lr must be > 0"),
        (dict(tol=0), "tol must be a finite number > 0"),
        (dict(rules=["adam"], also="beta2", trials=3), "at least 4 trials per rule"),
        (dict(also="lr"), "lr is always tuned"),
        (dict(also_range=(0.5, 0.9)), "also_range is the range of also"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, message):
    args = {"rules": ["sgd", "adam"], **kwargs}
    with pytest.raises(ValueError, match=message):
        tune(args.pop("rules"), "rosenbrock", (-1.5, 2.0), 100, **args)


SIZES = [(n, None) for n in (2, 5, 16, 63, 64, 100, 256)] + [
    (n, "momentum") for n in (4, 5, 16, 63, 64, 100, 256)
]


@pytest.mark.parametrize(("trials", "also"), SIZES)
@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau"])
def test_a_search_runs_no_more_batches_than_its_budget_counts(surface, trials, also, monkeypatch):
    """A library rule's batch costs step_cost a step, and the budget counts one batch for
    the first grid with the default race, one per later round (each has a new trial) and
    one for the moved starts: 2 + trials − (first grid)."""
    calls = []
    real = tuning.score_batch

    def counted(*args, **kwargs):
        calls.append(len(next(iter(args[2].values()))))  # the sets of values in the batch
        return real(*args, **kwargs)

    monkeypatch.setattr(tuning, "score_batch", counted)
    s = get_surface(surface)
    t = tune(["momentum"], s, s.start, 60, trials=trials, also=also, starts=1).rules[0]
    n1, n_other = tuning.first_grid(trials, also is not None)
    assert calls[0] == n1 * n_other + 1 and calls[-1] == 1  # first grid + default; moved
    assert len(calls) <= 2 + trials - n1 * n_other
    assert sum(calls) - 2 == len(t.trials_lr) <= trials


def test_budget_work_cap_before_and_deadline_inside():
    with pytest.raises(BudgetError, match=r"tuning .* asks for .*use fewer trials"):
        tune(
            RULES, "rosenbrock", (-1.5, 2.0), 5000, trials=1000, starts=5, budget=Budget.of("tune")
        )
    late = Budget(max_work=10**9, seconds=1e-9)
    with pytest.raises(BudgetError) as err:
        tune(["adam"], "rosenbrock", (-1.5, 2.0), 500, trials=64, budget=late)
    assert err.value.reason == "deadline"


@pytest.mark.parametrize("seed", range(5))
def test_the_search_keeps_the_same_answers_as_looking_at_every_cell_again(seed):
    """Cells looked at again only where a round touched them choose the same trials to
    split as cells all looked at afresh, round after round (ties, +inf, two dimensions)."""
    rng = np.random.default_rng(seed)
    n = 16
    u, o = np.sort(rng.uniform(0, 4, n)), rng.choice([0.0, 0.5, 1.0], n)
    values = rng.choice([1.0, 1.01, 2.0, 3.0, np.inf], n)
    cells = tuning._Cells(u, o, np.full(n, 0.5), np.full(n, 0.5), values, rng.uniform(0, 1, n))
    for _ in range(40):
        fresh = tuning._Cells(
            cells.u, cells.o, cells.hu.copy(), cells.ho.copy(), cells.values, cells.finals
        )
        chosen = cells.local_optima(3)
        np.testing.assert_array_equal(chosen, fresh.local_optima(3))
        if not len(chosen):
            break
        new = []
        for c in chosen:
            h, g = cells.hu[c] / 2, cells.ho[c] / 2
            cells.split(c, h, g)
            new += [
                (cells.u[c] + d * h, cells.o[c] + e * g, h, g) for d in (-1, 1) for e in (-1, 1)
            ]
        new = np.array(new)[rng.random(len(new)) < 0.5]  # some are dropped (seen, off range)
        cells.add(new, rng.choice([1.0, 1.005, 1.5, np.inf], len(new)), rng.uniform(0, 1, len(new)))
    assert len(cells.u) > n + 20  # the search went on for many rounds


def test_where_no_trial_beats_the_default_race_the_default_is_kept():
    """16 trials over lr × momentum for NAG on Radford's Beale (area) miss every value as
    good as the preset's: tuning returned a worse one (-2.30 against -2.53) and the
    "tuned" race lost to the default. The default race is scored anyway: it is kept."""
    s = get_surface("beale")
    nag = ("nesterov", {"lr": 0.003, "momentum": 0.9})
    r = tune([nag], s, (1.0, 1.5), 200, objective="area", trials=16, also="momentum").rules[0]
    assert (r.trials_objective > r.default_objective).all()  # no trial beat it
    assert r.kept_default and r.hyper == r.default_hyper
    assert r.objective == r.default_objective and r.to_dict()["kept_default"]
    wide = tune([nag], s, (1.0, 1.5), 200, objective="area", trials=64).rules[0]
    assert wide.objective < wide.default_objective and not wide.kept_default


def test_with_noise_every_trial_sees_the_draws_its_replay_sees():
    """Trials over the same starts draw the same gradient noise (the seed's draws for
    those rows): a tuned objective is what replaying the tuned race scores, and the
    default's score does not depend on the budget. Before, a row's noise depended on
    its place in the batch: Momentum's tuned area −2.14 replayed as −1.36."""
    s, start = get_surface("beale"), (1.0, 1.5)
    common = dict(objective="area", noise=0.5, seed=1)
    small = tune(["momentum", "adam"], s, start, 200, trials=16, **common)
    big = tune(["momentum", "adam"], s, start, 200, trials=40, **common)
    for a, b in zip(small.rules, big.rules, strict=True):
        assert a.default_objective == b.default_objective  # the same draws at any budget
        for r in (a, b):
            replay = run(
                get_optimizer(r.rule, **r.hyper), s, np.array(start), 200, noise=0.5, seed=1
            )
            d = replay.losses - f_star(s)
            area = np.log10(np.maximum(d, AREA_FLOOR)).mean()
            assert r.objective == pytest.approx(area, rel=1e-12, abs=1e-12)
