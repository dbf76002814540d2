"""optimizers.budget: a cap on work before anything runs, a deadline inside the loops."""

from __future__ import annotations

import time

import numpy as np
import pytest

from optimizers import OPTIMIZERS, RULES, compiled, get_optimizer, maps, run, tuning
from optimizers.budget import LIMITS, TICK_BATCH, TICK_EVERY, Budget, BudgetError
from surfaces import SURFACES, get_surface

HUGE = 10**15


class Counted:
    """A surface that counts its gradient calls (a tripwire for "nothing ran")."""

    def __init__(self, surface):
        self._surface, self.grads = surface, 0

    def grad(self, p):
        self.grads += 1
        return self._surface.grad(p)

    def oracle(self, step, rng):
        return self

    def __getattr__(self, name):
        return getattr(self._surface, name)


def cancel_after(ticks: int):
    """A ``cancelled()`` that says the client has gone from its ``ticks + 1``-th call on."""
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > ticks

    return cancelled, calls


# ----------------------------------------------------------------------------- the object


def test_work_over_the_cap_is_refused_with_what_to_change():
    b = Budget(max_work=20_000_000, seconds=10)
    b.check(20_000_000, "the sweep", "use fewer rates")  # at the cap: fine
    with pytest.raises(BudgetError) as err:
        b.check(
            480 * 200 * 2000,
            "the sweep (480 rules × 200 rates × 2,000 steps)",
            "use fewer rates, steps or optimizers",
        )
    assert str(err.value) == (
        "the sweep (480 rules × 200 rates × 2,000 steps) asks for 192,000,000 steps; "
        "the limit is 20,000,000: use fewer rates, steps or optimizers"
    )
    assert isinstance(err.value, ValueError) and err.value.reason == "work"


def test_tick_raises_once_the_deadline_has_passed_naming_the_request():
    b = Budget(HUGE, seconds=0.05)
    b.check(10, "the map (10×10 starts × 100 steps)", "use a smaller grid or fewer steps")
    b.tick()  # within the deadline: nothing
    time.sleep(0.06)
    with pytest.raises(BudgetError, match=r"^stopped after 0\.\d s: the map \(10×10") as err:
        b.tick()
    assert "limit of 0.05 s: use a smaller grid or fewer steps" in str(err.value)
    assert err.value.reason == "deadline"


def test_tick_raises_when_the_client_has_gone():
    gone = False
    b = Budget(HUGE, seconds=60, cancelled=lambda: gone)
    b.tick()
    gone = True
    with pytest.raises(BudgetError, match="cancelled") as err:
        b.tick()
    assert err.value.reason == "cancelled"


@pytest.mark.parametrize(
    "args, text",
    [
        ((-1, 1.0), "max_work"),
        ((1.5, 1.0), "max_work"),
        ((True, 1.0), "max_work"),
        ((10, 0), "seconds"),
        ((10, "5"), "seconds"),
        ((10, 1.0, "yes"), "cancelled"),
    ],
)
def test_bad_budgets_are_refused(args, text):
    with pytest.raises(ValueError, match=text):
        Budget(*args)


def test_every_kind_of_request_has_a_budget_and_an_unknown_kind_is_refused():
    for kind in ("recompute", "map", "sweep", "export", "link"):
        b = Budget.of(kind)
        assert (b.max_work, b.seconds) == (LIMITS[kind].max_work, LIMITS[kind].seconds)
        assert b.seconds < 60  # below the server's worker timeout
    with pytest.raises(ValueError, match="unknown kind"):
        Budget.of("mine")


def test_the_honest_maxima_fit_and_the_audits_requests_do_not():
    Budget.of("map").check(200 * 200 * maps.MAX_STEPS, "map", "")  # the map's own maxima
    Budget.of("map").check(200 * 200 * 500, "map", "")
    Budget.of("sweep").check(12 * 200 * maps.MAX_STEPS, "sweep", "")  # the panel's maxima
    Budget.of("recompute").check(12 * 5000, "scene", "")  # viz.scene.validate's maxima
    Budget.of("recompute").check(12 * 5000 * 2001, "scene", "")  # ... of library rules
    with pytest.raises(BudgetError):
        Budget.of("sweep").check(480 * 200 * 2000, "sweep", "")
    with pytest.raises(BudgetError):
        Budget.of("recompute").check(13 * 5000 * 2001, "scene", "")


# ----------------------------------------------------------------------------- run()


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("record", ["all", "last"])
def test_a_budget_never_changes_a_result(rule, record):
    s = get_surface("beale")
    lo, hi = np.array([s.x_range[0], s.y_range[0]]), np.array([s.x_range[1], s.y_range[1]])
    starts = np.random.default_rng(1).uniform(lo, hi, (TICK_BATCH + 4, 2))
    lr = OPTIMIZERS[rule].hyper[0].high  # some runs diverge too
    for start in (s.start, starts):
        for opt in (get_optimizer(rule), get_optimizer(rule, lr=lr)):
            plain = run(opt, s, start, 120, record=record)
            budgeted = run(opt, s, start, 120, record=record, budget=Budget(HUGE, 60))
            assert np.array_equal(plain.points, budgeted.points, equal_nan=True)
            assert np.array_equal(plain.losses, budgeted.losses, equal_nan=True)
            if isinstance(plain.diverged_at, np.ndarray):
                assert np.array_equal(plain.diverged_at, budgeted.diverged_at)
            else:
                assert plain.diverged_at == budgeted.diverged_at


@pytest.mark.parametrize(
    "batch, first_tick",
    [(None, TICK_EVERY), (TICK_BATCH - 1, TICK_EVERY), (TICK_BATCH, 1)],
)
def test_run_ticks_inside_its_loop(batch, first_tick):
    # Cancelled at the first tick: run() stops right after the step that ticks, so the
    # steps taken say how often it looks (each step of a large batch, else now and then).
    s = Counted(get_surface("quadratic"))
    start = s.start if batch is None else np.tile(s.start, (batch, 1))
    cancelled, calls = cancel_after(0)
    with pytest.raises(BudgetError, match="cancelled"):
        run(get_optimizer("sgd"), s, start, 500, budget=Budget(HUGE, 60, cancelled))
    assert (s.grads, len(calls)) == (first_tick, 1)


def test_a_run_past_its_deadline_stops_within_a_few_steps():
    s = Counted(get_surface("rosenbrock"))
    b = Budget(HUGE, seconds=1e-9)
    with pytest.raises(BudgetError, match="stopped after"):
        run(get_optimizer("adam"), s, s.start, 1_000_000, budget=b)
    assert s.grads == TICK_EVERY


def test_a_bad_budget_argument_is_a_message():
    with pytest.raises(ValueError, match="budget must be a Budget"):
        run(get_optimizer("sgd"), get_surface("quadratic"), (1.0, 1.0), 5, budget=5)


# ----------------------------------------------------------------------------- maps


def test_maps_and_sweeps_are_unchanged_by_a_budget():
    m0 = maps.convergence_map("adam", {"lr": 0.05}, "himmelblau", n=30, steps=300)
    m1 = maps.convergence_map(
        "adam", {"lr": 0.05}, "himmelblau", n=30, steps=300, budget=Budget(HUGE, 60)
    )
    for f in ("outcome", "steps_to_converge", "final_loss", "diverged_at"):
        assert np.array_equal(getattr(m0, f), getattr(m1, f), equal_nan=True), f
    assert m0.steps_run == m1.steps_run
    rules = ["sgd", ("momentum", {"momentum": 0.5}), "newton"]
    lrs = np.geomspace(1e-3, 2, 40)
    c0 = maps.lr_sweep(rules, "beale", (1.0, 1.0), lrs, steps=200)
    c1 = maps.lr_sweep(rules, "beale", (1.0, 1.0), lrs, steps=200, budget=Budget(HUGE, 60))
    for a, b in zip(c0, c1, strict=True):
        for f in ("final_loss", "steps_to_converge", "diverged", "diverged_at"):
            assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True), f


def test_a_sweep_over_its_cap_is_refused_before_any_rule_is_built_or_run():
    s = Counted(get_surface("rosenbrock"))
    rules = [("adam", {"beta1": "not a number"})] * 480  # building them would fail
    with pytest.raises(BudgetError, match=r"480 rules × 200 rates × 2,000 steps"):
        maps.lr_sweep(
            rules, s, s.start, np.geomspace(1e-4, 1, 200), steps=2000, budget=Budget.of("sweep")
        )
    assert s.grads == 0


def test_a_map_over_its_cap_is_refused_before_anything_runs():
    s = Counted(get_surface("himmelblau"))
    with pytest.raises(BudgetError, match=r"the map \(200×200 starts × 2,000 steps\)"):
        maps.convergence_map("sgd", {}, s, n=200, steps=2000, budget=Budget(1_000_000, 60))
    assert s.grads == 0


def test_maps_and_sweeps_tick_inside_their_loops():
    # A client that goes after 5 ticks: the map (a batch of 400) stops after 5 steps, the
    # sweep (batches of 10 rates) within its first rule, after 5 × TICK_EVERY steps.
    s = Counted(get_surface("himmelblau"))
    cancelled, _ = cancel_after(5)
    with pytest.raises(BudgetError, match="cancelled"):
        maps.convergence_map("sgd", {}, s, n=20, steps=2000, budget=Budget(HUGE, 60, cancelled))
    assert s.grads == 6
    s = Counted(get_surface("himmelblau"))
    cancelled, _ = cancel_after(5)
    with pytest.raises(BudgetError, match="cancelled"):
        maps.lr_sweep(
            ["sgd", "adam"],
            s,
            (0.0, 0.0),
            np.geomspace(1e-4, 1e-2, 10),
            steps=2000,
            budget=Budget(HUGE, 60, cancelled),
        )
    assert s.grads == 6 * TICK_EVERY


def test_modest_sweeps_complete_within_the_sweeps_budget():
    for name in ("rosenbrock", "beale", "ackley", "long_valley"):
        s = SURFACES[name]
        curves = maps.lr_sweep(
            ["newton", "adam"],
            s,
            s.start,
            np.geomspace(1e-3, 1, 20),
            100,
            budget=Budget.of("sweep"),
        )
        assert len(curves) == 2


# ----------------------------------------------------------------------------- progress


def reports(monkeypatch) -> tuple[list, Budget]:
    """A budget that reports at every tick, and the list of its (fraction, seconds)."""
    monkeypatch.setattr("optimizers.budget.REPORT_EVERY", 0.0)
    heard: list = []
    return heard, Budget(HUGE, 60, report=lambda f, s: heard.append((f, s)))


def test_a_map_reports_the_share_of_its_steps_done_step_by_step(monkeypatch):
    heard, b = reports(monkeypatch)
    m = maps.convergence_map("sgd", {}, "himmelblau", n=20, steps=300, stop_early=False, budget=b)
    assert b.planned == 20 * 20 * 300 and m.steps_run == 300
    fractions = [f for f, _ in heard]
    # a batch of 400 starts ticks every step: 1/300, 2/300, …, 1
    np.testing.assert_allclose(fractions, np.arange(1, 301) / 300, rtol=0, atol=1e-12)
    seconds = [s for _, s in heard]
    assert seconds == sorted(seconds) and seconds[0] >= 0


def test_the_compiled_loop_and_a_library_rule_report_their_work_too(monkeypatch):
    heard, b = reports(monkeypatch)
    s = get_surface("rosenbrock")
    b.check(5000 * 300, "a batch", "less")
    run(get_optimizer("adam"), s, np.tile(s.start, (5000, 1)), 300, budget=b)  # fused
    fractions = [f for f, _ in heard]
    assert len(fractions) >= 10 and fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0, abs=1e-12)  # the last chunk counted too
    heard, b = reports(monkeypatch)
    b.check(9 * 300, "a small batch", "less")  # one chunk, and 300 = 9 × 32 + 12 steps
    run(get_optimizer("adam"), s, np.tile(s.start, (9, 1)), 300, budget=b)
    assert [f for f, _ in heard][-1] == pytest.approx(1.0, abs=1e-12)
    heard, b = reports(monkeypatch)
    b.check(9 * 300, "the pure path", "less")
    mccormick = get_surface("mccormick")  # no compiled loop (a sine): the step-by-step path
    assert compiled.plan(get_optimizer("adam"), mccormick) is None
    run(get_optimizer("adam"), mccormick, np.tile((1.0, 0.5), (9, 1)), 300, budget=b)
    assert [f for f, _ in heard][-1] == pytest.approx(1.0, abs=1e-12)
    heard, b = reports(monkeypatch)
    # torch's SGD, one batch per rate: its step cost counts as the check counted it
    maps.lr_sweep(["torch:SGD"], s, s.start, np.geomspace(1e-4, 1e-3, 3), steps=64, budget=b)
    assert [f for f, _ in heard][-1] == pytest.approx(1.0, abs=1e-12)


def test_progress_is_zero_before_a_check_and_never_past_one():
    b = Budget(HUGE, 60)
    b.tick(500)
    assert b.progress == 0.0
    b.check(1000, "it", "less")
    b.tick(400)
    assert b.progress == pytest.approx(0.4, abs=1e-12)
    b.tick(10_000)
    assert b.progress == 1.0
    with pytest.raises(ValueError, match="report must be callable"):
        Budget(HUGE, 60, report=5)


def test_a_tuning_search_that_ends_early_still_reports_its_work_done(monkeypatch):
    """On an lr range of 1 % the first grid (32 rates) leaves no gap to fill, long before
    1,000 trials; the work the searches will not do leaves the plan, so the bar ends full
    (not at 70 of 2,006 runs)."""
    heard, b = reports(monkeypatch)
    s = get_surface("rosenbrock")
    narrow = (0.001, 0.00101)
    t = tuning.tune(["sgd", "adam"], s, s.start, 150, trials=1000, lr_range=narrow, budget=b)
    assert [len(r.trials_lr) for r in t.rules] == [32, 32]
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions)
    # 32 trials, the default and 2 moved starts per rule; the last report before the unplan
    assert fractions[-1] == pytest.approx(70 / (35 + 1003), rel=1e-12)
    assert b.planned == b.done == 2 * 35 * 150 and b.progress == 1.0


def test_unplanned_work_leaves_the_share_of_what_is_left():
    b = Budget(HUGE, 60)
    b.check(1000, "it", "less")
    b.tick(300)
    b.unplan(400)
    assert b.progress == pytest.approx(0.5, abs=1e-12)
    b.unplan(10_000)  # never below what is done
    assert b.progress == 1.0
