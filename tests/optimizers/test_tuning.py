"""Tuning a fair race: against a brute-force dense search, deterministic, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from optimizers import OPTIMIZERS, get_optimizer, run
from optimizers.budget import Budget, BudgetError
from optimizers.tuning import (
    AREA_FLOOR,
    f_star,
    flatness,
    score_batch,
    start_grid,
    tune,
)
from surfaces import get_surface

RULES = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]
STEPS = 300
DENSE = 1000  # rates of the brute-force search, log-spaced over the same range


def dense_search(rule_result, surface, tuning) -> np.ndarray:
    """The objective at DENSE log-spaced rates over the rule's lr range, same starts."""
    spec = OPTIMIZERS[rule_result.rule].spec("lr")
    lrs = np.geomspace(spec.low, spec.high, DENSE)
    fixed = {k: v for k, v in rule_result.default_hyper.items() if k != "lr"}
    grid = start_grid(surface, np.array(tuning.start), tuning.starts)
    values, _ = score_batch(
        rule_result.rule,
        fixed,
        {"lr": lrs},
        surface,
        grid,
        tuning.steps,
        objective=tuning.objective,
        tol=tuning.tol,
        fstar=tuning.fstar,
    )
    return values


def within_5_percent(value: float, best: float) -> bool:
    return value <= best + 0.05 * abs(best)


@pytest.mark.parametrize(
    ("surface", "objective", "tol"),
    [
        ("rosenbrock", "area", 1e-6),
        ("beale", "area", 1e-6),
        ("ravine", "area", 1e-6),
        ("quadratic", "area", 1e-6),
        ("ravine", "steps", 1e-3),  # RMSprop's constant step never settles to 1e-6 here
        ("beale", "steps", 1e-3),
    ],
)
def test_tuning_is_within_5_percent_of_a_dense_search_and_beats_the_defaults(
    surface, objective, tol
):
    s = get_surface(surface)
    tuning = tune(RULES, s, s.start, STEPS, objective=objective, trials=64, starts=3, tol=tol)
    for r in tuning.rules:
        dense = dense_search(r, s, tuning)
        assert within_5_percent(r.objective, dense.min()), (r.rule, r.objective, dense.min())
        assert r.objective < r.default_objective, r.rule
        assert len(r.trials_lr) <= 64


@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau", "booth"])
def test_final_f_is_within_5_percent_of_the_dense_searchs_robust_optimum(surface):
    """On f − f* after 300 steps the dense search's very best is often one lucky rate: no
    other rate within ±2 grid points (±0.7 %) of it comes close (e.g. 8.9e-13 there and
    2.2e-12 next to it). Tuning is compared with the best objective that holds over 5
    neighbouring rates of the dense grid."""
    s = get_surface(surface)
    tuning = tune(RULES, s, s.start, STEPS, objective="final", trials=64, starts=3)
    for r in tuning.rules:
        dense = dense_search(r, s, tuning)
        robust = sliding_window_view(dense, 5).max(axis=1).min()
        assert within_5_percent(r.objective, robust), (r.rule, r.objective, robust)


def test_same_values_on_a_second_run_and_the_objective_is_the_replayed_one():
    s = get_surface("rosenbrock")
    kw = dict(objective="area", trials=32, starts=2, steps=200)
    a = tune(RULES, s, s.start, **kw)
    b = tune(RULES, s, s.start, **kw)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    # The tuned objective is what a plain run at the tuned values gives (mean over starts).
    for r in a.rules:
        total = 0.0
        for p in start_grid(s, np.array(s.start), 2):
            traj = run(get_optimizer(r.rule, **r.hyper), s, p, 200)
            d = np.maximum(traj.losses - a.fstar, AREA_FLOOR)
            total += np.log10(d).mean()
        assert r.objective == pytest.approx(total / 4, rel=1e-12)


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
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, message):
    args = {"rules": ["sgd", "adam"], **kwargs}
    with pytest.raises(ValueError, match=message):
        tune(args.pop("rules"), "rosenbrock", (-1.5, 2.0), 100, **args)


def test_budget_work_cap_before_and_deadline_inside():
    with pytest.raises(BudgetError, match=r"tuning .* asks for .*use fewer trials"):
        tune(
            RULES, "rosenbrock", (-1.5, 2.0), 5000, trials=1000, starts=5, budget=Budget.of("tune")
        )
    late = Budget(max_work=10**9, seconds=1e-9)
    with pytest.raises(BudgetError) as err:
        tune(["adam"], "rosenbrock", (-1.5, 2.0), 500, trials=64, budget=late)
    assert err.value.reason == "deadline"
