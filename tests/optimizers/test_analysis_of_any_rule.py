"""Tuning, phase diagrams, LR sweeps and convergence maps of every kind of rule: a typed
rule takes per-row columns as a built-in one does (row k is the single run with row k's
values, matrices included) and gives what the same built-in rule gives, bit for bit;
another library's rule runs one batch per set of values and scores each trial as its
single run would; the budget counts that rule's steps at their cost."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers import get_optimizer, maps, run, tuning
from optimizers.base import as_rule
from optimizers.budget import Budget, BudgetError, work
from optimizers.phase import phase_diagram
from optimizers.tuning import batched_optimizer, f_star, score_batch, start_grid, tune
from optimizers.typed import rule_info
from surfaces import get_surface

# The notes' momentum and Nesterov, typed: the same floating-point operations as the
# built-in rules (tests/optimizers/test_typed_rules.py holds them equal run by run).
MOMENTUM = "momentum = 0.9\nv = momentum * v - lr * g\nW = W + v"
NESTEROV = "momentum = 0.9\nv = momentum * v - lr * grad(W + momentum * v)\nW = W + v"


def typed(text: str, name: str = "mine"):
    info = rule_info(text, name)
    assert info.per_row and info.step_cost == 0  # one batch for all the trials
    return info


# Rules whose numbers meet points and 2×2 matrices every way the grammar allows: as
# operands, in augmented assignments, in element-wise functions and as matrix state.
MATRIX_RULES = [
    "damp = 0.5\nW = W - lr * solve(H + damp * I, g)",
    "damp = 0.5\nA = H * lr + damp\nA += damp * I\nW = W - A @ g * 0.01",
    "c = 2.0\nB = clip(H, -c, c) / (c + 1)\nW = W - lr * (B @ g)",
    "mu = 0.9\nM = mu * M + (1 - mu) * H\nM -= 0.001 * I * mu\nW = W - lr * solve(M + I, g)",
    "rho = 0.9\nk = k * rho + 1\nS = min(H, k) ** 1 - rho\nW = W - lr * (S @ g) / k",
    "beta = 0.8\nv = beta * v + (1 - beta) * g**2\nW = W - lr * g / (sqrt(v) + 1e-8)",
]


@pytest.mark.parametrize("text", MATRIX_RULES)
def test_a_typed_rules_row_k_is_its_single_run_with_row_ks_values(text):
    info = typed(text)
    (name, spec), *_ = [(h.name, h) for h in info.hyper if h.name != "lr"]
    s = get_surface("beale")
    lrs = np.array([1e-4, 3e-3, 1e-2, 3e-2, 0.2])
    others = np.linspace(spec.default * 0.5, spec.default, len(lrs))
    starts = (
        np.tile(np.array(s.start, dtype=float), (len(lrs), 1)) + np.linspace(0, 0.3, 5)[:, None]
    )
    batch = run(batched_optimizer(info, {}, {"lr": lrs, name: others}), s, starts, 60)
    for k in range(len(lrs)):
        one = run(info.build(lr=float(lrs[k]), **{name: float(others[k])}), s, starts[k], 60)
        assert np.array_equal(batch.points[:, k], one.points, equal_nan=True), (text, k)
        assert np.array_equal(batch.losses[:, k], one.losses, equal_nan=True), (text, k)


@pytest.mark.parametrize("objective", ["final", "steps", "area"])
@pytest.mark.parametrize(("surface", "text", "builtin"), [
    ("ravine", MOMENTUM, "momentum"),
    ("rosenbrock", NESTEROV, "nesterov"),
])  # fmt: skip
def test_tuning_a_typed_rule_is_tuning_the_same_builtin_one(surface, text, builtin, objective):
    s = get_surface(surface)
    kw = dict(objective=objective, trials=24, starts=2, tol=1e-3, lr_range=(1e-4, 0.5))
    kw.update(also="momentum", also_range=(0.0, 0.99))
    mine = tune([typed(text)], s, s.start, 120, **kw).rules[0]
    ref = tune([builtin], s, s.start, 120, **kw).rules[0]
    assert mine.rule == "mine"
    assert np.array_equal(mine.trials_lr, ref.trials_lr)
    assert np.array_equal(mine.trials_other, ref.trials_other)
    assert np.array_equal(mine.trials_objective, ref.trials_objective)
    assert mine.hyper == ref.hyper and mine.objective == ref.objective
    assert mine.default_objective == ref.default_objective


def test_a_phase_diagram_of_a_typed_rule_is_the_builtin_ones():
    s = get_surface("ravine")
    axes = ("lr:0.001:1:log", "momentum:0:0.99")
    mine = phase_diagram(typed(MOMENTUM), s, *axes, cells=9, steps=150)
    ref = phase_diagram("momentum", s, *axes, cells=9, steps=150)
    assert mine.rule == "mine"
    for a, b in [(mine.value, ref.value), (mine.rate, ref.rate), (mine.diverged, ref.diverged)]:
        assert np.array_equal(a, b, equal_nan=True)
    assert 0 < mine.diverged.sum() < mine.diverged.size  # both regimes are in the map


def test_an_lr_sweep_and_a_map_of_a_typed_rule_are_the_builtin_ones():
    s = get_surface("beale")
    lrs = np.geomspace(1e-4, 0.1, 12)
    mine = maps.lr_sweep([(typed(MOMENTUM), {"momentum": 0.8})], s, s.start, lrs, steps=200)[0]
    ref = maps.lr_sweep([("momentum", {"momentum": 0.8})], s, s.start, lrs, steps=200)[0]
    assert mine.rule == "mine"
    assert np.array_equal(mine.final_loss, ref.final_loss, equal_nan=True)
    assert np.array_equal(mine.steps_to_converge, ref.steps_to_converge)
    assert np.array_equal(mine.diverged_at, ref.diverged_at)
    assert mine.diverged.any() and not mine.diverged.all()
    a = maps.convergence_map(typed(MOMENTUM), {"lr": 1e-3}, s, n=12, steps=200)
    b = maps.convergence_map("momentum", {"lr": 1e-3}, s, n=12, steps=200)
    assert a.rule == "mine"
    assert np.array_equal(a.outcome, b.outcome)
    assert np.array_equal(a.final_loss, b.final_loss, equal_nan=True)


def test_a_library_rules_trials_score_as_their_single_runs():
    pytest.importorskip("torch")
    s = get_surface("rosenbrock")
    starts = start_grid(s, np.array(s.start), 2)
    lrs = np.array([1e-3, 1e-2, 0.1, 3.0])
    value, final = score_batch(
        "torch:Adam", {}, {"lr": lrs}, s, starts, 80, objective="area", tol=1e-3, fstar=f_star(s)
    )
    for k, lr in enumerate(lrs):
        traj = run(get_optimizer("torch:Adam", lr=float(lr)), s, starts, 80)
        d = np.log10(np.maximum(traj.losses - f_star(s), tuning.AREA_FLOOR)).mean(axis=0)
        want = np.inf if (traj.diverged_at >= 0).any() else d.mean()
        assert value[k] == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert np.isfinite(final[k]) == np.isfinite(want)
    tuned = tune(["torch:Adam"], s, s.start, 80, objective="area", trials=12).rules[0]
    assert tuned.rule == "torch:Adam" and tuned.objective < tuned.default_objective
    with pytest.raises(ValueError, match="one number per hyperparameter"):
        batched_optimizer("torch:Adam", {}, {"lr": lrs})
    assert as_rule("torch:Adam").step_cost == 2_000  # counted by the budget


def test_a_rule_that_is_not_elementwise_runs_a_batch_of_one_as_its_point():
    pytest.importorskip("pytorch_optimizer")
    s = get_surface("rosenbrock")
    opt = get_optimizer("pytorch_optimizer:Lamb", lr=0.01)  # a trust ratio over the whole point
    one = run(opt, s, np.array(s.start, dtype=float), 30)
    batch = run(opt, s, np.array([s.start], dtype=float), 30)
    assert np.array_equal(batch.points[:, 0], one.points)


def test_a_rule_that_steps_each_start_on_its_own_pays_its_cost_per_start():
    """pytorch-optimizer's rules step each start with an optimizer of its own (a trust
    ratio spans the whole parameter), at 70-270 µs a start: maps, tunings, phase diagrams
    and sweeps count ``row_cost`` per start, say so, name what fits, and tick what they
    counted (at 2,000 once per batch a 200×200 map was let through, then ran 27 s)."""
    pytest.importorskip("pytorch_optimizer")
    lamb, adam = as_rule("pytorch_optimizer:Lamb"), as_rule("torch:Adam")
    assert (lamb.step_cost, lamb.row_cost) == (0, 2_000)  # a library step per start
    assert (adam.step_cost, adam.row_cost) == (2_000, 0)  # one for the whole batch
    assert lamb.step_work(9) == work(1, 9, 1, 0, 2_000) == 9 * 2_001
    assert adam.step_work(9) == work(1, 9, 1, 2_000) == 9 + 2_000
    s = get_surface("rosenbrock")
    said = "pytorch_optimizer:Lamb steps each start on its own: a start's step counts 2,000 more"
    fits = Budget(work(1, 9, 20, 0, 2_000), 60.0)  # a map of 3×3 starts × 20 steps
    maps.convergence_map("pytorch_optimizer:Lamb", {}, s, n=3, steps=20, budget=fits)
    assert fits.done == fits.planned  # its ticks added up to what the check counted
    with pytest.raises(BudgetError) as refused:
        maps.convergence_map(
            "pytorch_optimizer:Lamb", {}, s, n=4, steps=20, budget=Budget(fits.max_work, 60.0)
        )
    assert said in str(refused.value) and "(at most 3×3 starts at these steps)" in str(
        refused.value
    )
    cap = tuning.tuning_work(lamb, 4, False, False, 6, 20)  # 2×2 starts, 6 trials
    assert cap == (6 + 1) * 4 * 2_001 * 20 + work(1, 2 * 4, 20, 0, 2_000)
    tune(["pytorch_optimizer:Lamb"], s, s.start, 20, trials=6, starts=2, budget=Budget(cap, 60))
    with pytest.raises(BudgetError, match="at most 5 trials") as refused:
        tune(["pytorch_optimizer:Lamb"], s, s.start, 20, trials=6, starts=2,
             budget=Budget(cap - 1, 60))  # fmt: skip
    assert said in str(refused.value)
    cells = work(9, 4, 20, 0, 2_000)  # 3×3 cells of 2×2 starts
    phase_diagram("pytorch_optimizer:Lamb", s, "lr:1e-3:0.1:log", "beta1:0.5:0.95", 3, 20,
                  starts=2, budget=Budget(cells, 60))  # fmt: skip
    with pytest.raises(BudgetError, match=r"at most 3×3 cells at these starts"):
        phase_diagram("pytorch_optimizer:Lamb", s, "lr:1e-3:0.1:log", "beta1:0.5:0.95", 4, 20,
                      starts=2, budget=Budget(cells, 60))  # fmt: skip


def test_a_library_rule_whose_trials_share_batches_pays_its_step_cost_once_per_round():
    """optax's values are columns of one batch: its search pays step_cost for the first
    grid with the default race (one batch), each later round (at most one per trial past
    the first grid's 4) and the moved starts, not once per trial as a torch rule does."""
    pytest.importorskip("optax")
    s = get_surface("ravine")
    assert as_rule("optax:sgd").batches({}, ("lr",))
    cost = as_rule("optax:sgd").step_cost
    trials = work(8 + 1, 1, 20) + (1 + 8 - 4) * cost * 20  # 1 start, 20 steps
    cap = trials + work(1, 2, 20, cost)  # and the moved starts
    assert cap < work(8 + 1, 1, 20, cost) + work(1, 2, 20, cost)  # a torch rule's count
    tune(["optax:sgd"], s, s.start, 20, trials=8, budget=Budget(cap, 60.0))
    with pytest.raises(BudgetError, match=r"each round of its search on its own.*at most 7 "):
        tune(["optax:sgd"], s, s.start, 20, trials=8, budget=Budget(cap - 1, 60.0))


def test_the_budget_counts_a_library_rules_steps_at_their_cost():
    pytest.importorskip("torch")
    assert work(10, 9, 100) == 10 * 9 * 100
    assert work(10, 9, 100, step_cost=2_000) == 10 * (9 + 2_000) * 100
    assert typed(MOMENTUM).step_cost == 0  # typed rules run in one batch, as built-in ones
    s = get_surface("ravine")
    cap = work(13, 1, 100, step_cost=2_000)  # one library rule, 12 trials + the default
    moved = work(1, 2, 100, step_cost=2_000)  # and its tuned values from the moved starts
    tune(["torch:SGD"], s, s.start, 100, trials=12, budget=Budget(cap + moved, 60.0))
    short = Budget(cap + moved - 1, 60.0)
    with pytest.raises(
        BudgetError, match=r"^Use at most 11 trials per rule here .*use fewer trials.*\(at most 11"
    ):
        tune(["torch:SGD"], s, s.start, 100, trials=12, budget=short)
    tune(["torch:SGD"], s, s.start, 100, trials=11, budget=short)  # the most it names fits
    alone = "torch:SGD runs each set of values on its own: each of its steps counts 2,000 more"
    with pytest.raises(BudgetError, match="use fewer trials") as refused:
        tune(["torch:SGD", "sgd"], s, s.start, 100, trials=12, budget=Budget(cap + moved, 60.0))
    assert alone in str(refused.value)  # why a size fine for built-in rules is not here
    with pytest.raises(BudgetError, match="use fewer cells") as refused:
        phase_diagram(
            "torch:SGD", s, "lr:0.001:1:log", "momentum:0:0.9", 10, 100, budget=Budget(cap, 60)
        )
    assert alone in str(refused.value) and "(at most 3×3 cells at these starts and steps)" in str(
        refused.value
    )  # 9 cells of 2,001 point-steps fit in 13 × 2,001; 16 do not
    phase_diagram(
        "torch:SGD", s, "lr:0.001:1:log", "momentum:0:0.9", 3, 100, budget=Budget(cap, 60)
    )
    with pytest.raises(BudgetError) as refused:
        phase_diagram(
            "momentum", s, "lr:0.001:1:log", "momentum:0:0.9", 200, 100, budget=Budget(cap, 60)
        )
    assert "on its own" not in str(refused.value)
