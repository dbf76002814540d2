"""Library rules (optimizers.library): torch.optim, pytorch-optimizer and optax adapters.

The equivalences are the README's mapping table ("Library rules"): each torch/optax rule
against the built-in rule of the same maths, at 1e-12 over 500 steps on Rosenbrock and
150 on Beale.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import optimizers
from optimizers import OPTIMIZERS, from_optax, from_torch, get_optimizer, library, run, tuning
from optimizers.budget import Budget, BudgetError, work
from surfaces import get_surface

pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")
pytest.importorskip("optax")

# (torch class, its hyperparameters, the built-in rule, its hyperparameters)
TORCH_EQUIVALENTS = [
    ("SGD", {"lr": 1e-3}, "sgd", {"lr": 1e-3}),
    ("SGD", {"lr": 1e-3, "momentum": 0.9}, "momentum", {"lr": 1e-3, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1}, "adagrad", {"lr": 0.1, "eps": 1e-10}),  # torch's ε is 1e-10
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}, "rmsprop", {"lr": 0.01, "decay": 0.9}),
    ("Adadelta", {"rho": 0.95}, "adadelta", {"lr": 1.0, "rho": 0.95, "eps": 1e-6}),
    ("Adam", {"lr": 0.01}, "adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}, "amsgrad", {"lr": 0.01}),
]
PATHS = [("rosenbrock", 500), ("beale", 150)]


def _slower(surface: str, hyper: dict) -> dict:
    """Plain SGD's lr of 1e-3 shoots off Beale's steep walls; 1e-4 stays on the map."""
    return {**hyper, "lr": 1e-4} if surface == "beale" and hyper.get("lr") == 1e-3 else hyper


@pytest.mark.parametrize(("surface", "steps"), PATHS)
@pytest.mark.parametrize(("cls", "theirs", "ours", "mine"), TORCH_EQUIVALENTS)
def test_torch_rule_equals_the_builtin_rule_of_the_same_maths(
    surface, steps, cls, theirs, ours, mine
):
    s = get_surface(surface)
    a = run(from_torch(cls, **_slower(surface, theirs)), s, s.start, steps)
    b = run(get_optimizer(ours, **_slower(surface, mine)), s, s.start, steps)
    assert a.diverged_at is None and b.diverged_at is None
    assert np.abs(a.points[-1] - a.points[0]).max() > 0.05  # it went somewhere
    np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.losses, b.losses, rtol=0, atol=1e-12)


def test_from_torch_takes_the_class_itself():
    import torch

    s = get_surface("rosenbrock")
    a = run(from_torch(torch.optim.Adam, lr=0.01), s, s.start, 100)
    b = run(get_optimizer("adam", lr=0.01), s, s.start, 100)
    np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-12)


def test_torch_nadam_decays_beta1_and_matches_none_of_ours():
    """torch's NAdam multiplies β₁ by a momentum decay schedule (ψ = 0.004): not our nadam."""
    s = get_surface("rosenbrock")
    a = run(from_torch("NAdam", lr=0.01), s, s.start, 100)
    b = run(get_optimizer("nadam", lr=0.01), s, s.start, 100)
    assert np.abs(a.points - b.points).max() > 1e-6
    c = run(from_torch("NAdam", lr=0.01, momentum_decay=0.0), s, s.start, 100)
    assert np.abs(c.points - a.points).max() > 0  # the decay is what moved it


@pytest.mark.parametrize(("surface", "steps"), PATHS)
@pytest.mark.parametrize(
    ("name", "theirs", "ours", "mine"),
    [("adam", {"lr": 0.01}, "adam", {"lr": 0.01}), ("sgd", {"lr": 1e-3}, "sgd", {"lr": 1e-3})],
)
def test_optax_rule_equals_the_builtin_rule(surface, steps, name, theirs, ours, mine):
    s = get_surface(surface)
    a = run(from_optax(name, **_slower(surface, theirs)), s, s.start, steps)
    b = run(get_optimizer(ours, **_slower(surface, mine)), s, s.start, steps)
    assert a.diverged_at is None
    np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-12)


def test_optax_adapter_turns_on_jax_64_bit_mode():
    import jax

    opt = from_optax("adam", lr=0.01)
    assert jax.config.jax_enable_x64
    state = opt.init(np.array([1.0, 2.0]))
    assert state.inner[0].mu.dtype == np.float64


def test_from_optax_takes_a_factory_or_a_built_transformation():
    import optax

    s = get_surface("beale")
    a = run(from_optax(optax.adam, lr=0.01), s, s.start, 50)
    b = run(from_optax(optax.adam(0.01)), s, s.start, 50)
    c = run(get_optimizer("adam", lr=0.01), s, s.start, 50)
    np.testing.assert_allclose(a.points, c.points, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.points, c.points, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="takes no hyperparameters"):
        from_optax(optax.adam(0.01), lr=0.1)


@pytest.mark.parametrize("name", ["torch:Adam", "pytorch_optimizer:Lamb", "optax:lamb"])
def test_step_is_pure_and_can_branch_from_an_old_state(name):
    s = get_surface("rosenbrock")
    opt = get_optimizer(name)
    x0 = np.array([-1.5, 2.0])
    keep = x0.copy()
    s0 = opt.init(x0)
    x1, s1 = opt.step(x0, s0, s)
    x2, _ = opt.step(x1, s1, s)
    # Back to the first state: the same step again, whatever the optimizer did since.
    y1, _ = opt.step(x0, s0, s)
    y2, _ = opt.step(x1, s1, s)
    np.testing.assert_array_equal(x0, keep)
    np.testing.assert_array_equal(x1, y1)
    np.testing.assert_array_equal(x2, y2)
    assert not np.array_equal(x1, x2)


@pytest.mark.parametrize("name", ["torch:Adam", "pytorch_optimizer:Lamb", "optax:lamb"])
def test_a_batch_of_starts_equals_separate_runs(name):
    s = get_surface("rosenbrock")
    starts = np.array([[-1.5, 2.0], [0.5, -0.5], [1.5, 1.5]])
    opt = get_optimizer(name)
    batch = run(opt, s, starts, 60)
    for i, st in enumerate(starts):
        one = run(opt, s, st, 60)
        np.testing.assert_allclose(batch.points[:, i], one.points, rtol=0, atol=1e-12)


def test_divergence_is_detected():
    s = get_surface("rosenbrock")
    tr = run(get_optimizer("torch:SGD", lr=1.0), s, s.start, 50)
    assert isinstance(tr.diverged_at, int) and tr.diverged_at < 50
    assert np.isnan(tr.points[-1]).all()
    batch = run(get_optimizer("torch:SGD", lr=1.0), s, np.array([s.start, (1.0, 1.0)]), 50)
    assert batch.diverged_at[0] >= 0 and batch.diverged_at[1] == -1


def test_names_resolve_through_get_optimizer_and_the_registry():
    opt = get_optimizer("torch:Adam", lr=0.02, beta1=0.8)
    assert opt.name == "torch:Adam" and opt.hyper["lr"] == 0.02 and opt.hyper["beta1"] == 0.8
    assert "torch:Adam" in OPTIMIZERS and "pytorch_optimizer:lamb" in OPTIMIZERS
    assert "torch:NoSuchRule" not in OPTIMIZERS
    assert "torch:Adam" not in list(OPTIMIZERS)  # iterating lists the built-in rules only
    assert OPTIMIZERS["pytorch_optimizer:Lamb"].label == "pytorch_optimizer:Lamb"
    assert library.canonical("pytorch_optimizer:lamb") == "pytorch_optimizer:Lamb"
    assert from_torch("Lamb").name == "pytorch_optimizer:Lamb"  # a bare name falls through
    with pytest.raises(ValueError, match="has no rule 'NoSuchRule'"):
        get_optimizer("torch:NoSuchRule")
    with pytest.raises(ValueError, match="unknown optimizer"):
        get_optimizer("nosuchlib:Adam")
    with pytest.raises(ValueError, match=r"torch:Adam\.lr must be > 0"):
        get_optimizer("torch:Adam", lr=-1)
    with pytest.raises(ValueError, match="has no hyperparameter 'momentum'"):
        get_optimizer("torch:Adam", momentum=0.9)


def test_a_missing_library_says_how_to_install_it(monkeypatch):
    real = library._import
    monkeypatch.setattr(library, "_import", lambda p: None if p == "optax" else real(p))
    with pytest.raises(ValueError, match=r"pip install 'optviz\[optax\]'"):
        library.resolve("optax:adamw")


def test_specs_come_from_the_signature():
    info = OPTIMIZERS["torch:Adam"]
    lr = info.spec("lr")
    assert lr.log and lr.default == 0.001 and not lr.typed
    assert info.spec("beta1").default == 0.9 and info.spec("beta2").default == 0.999
    assert info.spec("beta1").typed and info.spec("eps").typed
    assert info.spec("amsgrad").is_bool
    names = {h.name for h in info.hyper}
    assert not names & {"foreach", "fused", "maximize", "capturable", "differentiable"}
    assert OPTIMIZERS["optax:adamw"].spec("lr").log  # optax's learning_rate is our lr
    assert info.colour != OPTIMIZERS["torch:AdamW"].colour


def test_closure_rules_work_and_refused_rules_say_why():
    s = get_surface("rosenbrock")
    tr = run(get_optimizer("torch:LBFGS", lr=0.5), s, s.start, 10)
    assert tr.diverged_at is None and tr.losses[-1] < 1e-6  # a line search on the exact grad
    refused = library.refused()
    for name in ("pytorch_optimizer:LOMO", "pytorch_optimizer:Muon", "optax:lbfgs"):
        assert refused[name]
        with pytest.raises(ValueError, match=f"{name} (is refused|failed at step 1)"):
            run(get_optimizer(name), s, s.start, 5)
    assert "needs the model" in refused["pytorch_optimizer:LOMO"]
    assert "matrix-shaped" in refused["pytorch_optimizer:Muon"]


def test_a_step_that_would_evaluate_f_without_end_is_stopped_with_why():
    """LBFGS with max_iter = 10⁹ and no tolerance line-searched inside one step, where no
    deadline reaches: a server thread held for good. At most MAX_EVALUATIONS per step."""
    from optimizers.base import RuleFailed
    from optimizers.library import torch_rules

    s = get_surface("rastrigin")
    opt = get_optimizer("torch:LBFGS", max_iter=10**9, tolerance_grad=0.0, tolerance_change=0.0)
    with pytest.raises(RuleFailed, match="more than 100 times in one step; lower its max_iter"):
        run(opt, s, s.start, 3)
    assert torch_rules.MAX_EVALUATIONS == 100
    # its defaults (20 iterations, 25 evaluations) are well inside
    tr = run(get_optimizer("torch:LBFGS"), s, s.start, 5)
    assert np.isfinite(tr.losses).all()


def test_hessian_rules_get_the_exact_diagonal():
    """AdaHessian with the exact diag(H) on a quadratic bowl, by hand: its first step."""
    import torch
    from pytorch_optimizer import AdaHessian

    s = get_surface("quadratic")
    x0 = np.array(s.start, dtype=float)
    opt = get_optimizer("pytorch_optimizer:AdaHessian", lr=0.1)
    x1, _ = opt.step(x0, opt.init(x0), s)
    p = torch.tensor(x0, requires_grad=True)
    ref = AdaHessian([p], lr=0.1)
    p.grad = torch.from_numpy(s.grad(x0))
    ref.step(hessian=[torch.from_numpy(np.diagonal(s.hessian(x0)).copy())])
    np.testing.assert_array_equal(x1, p.detach().numpy())
    assert "pytorch_optimizer:AdaHessian" not in library.refused()
    assert "pytorch_optimizer:SophiaH" not in library.refused()


def test_available_lists_every_library_rule_with_its_source():
    names = library.available()
    assert names["torch:Adam"].startswith("torch.optim ")
    assert names["pytorch_optimizer:Lamb"].startswith("pytorch-optimizer ")
    assert names["optax:adamw"].startswith("optax ")
    import pytorch_optimizer

    registry = {
        pytorch_optimizer.load_optimizer(k) for k in pytorch_optimizer.get_supported_optimizers()
    }
    assert sum(n.startswith("pytorch_optimizer:") for n in names) == len(registry)
    assert optimizers.available is library.available


def _recorded(monkeypatch) -> dict:
    """The (fn, kwargs) each optax rule's adapter is built from, by name."""
    from optimizers.library import optax_rules

    seen, real = {}, optax_rules.valued_adapter

    def record(fn, kwargs, label):
        seen[label] = (fn, kwargs)
        return real(fn, kwargs, label)

    monkeypatch.setattr(optax_rules, "valued_adapter", record)
    library._optax_adapter.cache_clear()
    return seen


def test_an_optax_rule_is_compiled_once_for_all_its_values(monkeypatch):
    """A sweep, a tuning or a phase diagram asks for many sets of values: the floats are
    arguments of one compiled step, and each set still draws its own path."""
    from optimizers.library import optax_rules

    seen = _recorded(monkeypatch)
    s = get_surface("beale")
    paths = [run(get_optimizer("optax:adamw", lr=lr, b1=b1), s, s.start, 50).points
             for lr, b1 in [(0.01, 0.9), (0.02, 0.9), (0.01, 0.8)]]  # fmt: skip
    fn = seen["optax:adamw"][0]
    assert len([k for k, v in optax_rules._SHARED.items() if k[0] is fn and v]) == 1
    assert not np.array_equal(paths[0], paths[1]) and not np.array_equal(paths[0], paths[2])


def test_optax_rules_compiled_for_all_values_draw_the_paths_of_their_constants(monkeypatch):
    """Every drawable optax rule, at its defaults and at other values: the shared compile
    draws what optax compiled with the values as constants draws, to 1e-12 (bit for bit
    but for RAdam's last bit at some values); a rule where XLA simplifies the constants'
    compile otherwise (Fromage, Adafactor) is found and compiled per set of values."""
    from optimizers.library import optax_rules

    seen = _recorded(monkeypatch)
    s = get_surface("booth")
    starts = np.array([[-1.5, 2.0], [1.2, -0.5], [0.3, 0.3]])
    per_values = []
    for name in [n for n in library.drawable() if n.startswith("optax:")]:
        info = OPTIMIZERS[name]
        defaults = info.build().hyper
        for scale in (1.0, 0.83):
            hyper = {k: v * scale if isinstance(v, float) else v for k, v in defaults.items()}
            ours = run(info.build(**hyper), s, starts, 40)
            fn, kwargs = seen[name]
            constants = optax_rules.adapter(lambda f=fn, kw=kwargs: f(**dict(kw)), name)
            theirs = run(constants, s, starts, 40)
            np.testing.assert_allclose(ours.points, theirs.points, rtol=0, atol=1e-12)
        floats = tuple(k for k, v in kwargs if isinstance(v, float))
        static = tuple((k, v) for k, v in kwargs if not isinstance(v, float))
        if optax_rules._SHARED[(fn, static, floats)] is None:
            per_values.append(name)
    assert per_values == ["optax:adadelta", "optax:adafactor", "optax:fromage"]


def test_optax_rules_take_a_value_per_row_and_draw_each_rows_own_path():
    """Every drawable optax rule with a shared compile runs rows with their own floats as
    ONE batch (sweeps, tunings, phase diagrams); row k draws the path of a run with row
    k's values, to 1e-12. Adafactor and Fromage, compiled per set of values, do not."""
    s = get_surface("booth")
    start = np.array([-1.5, 2.0])
    one_at_a_time = []
    for name in [n for n in library.drawable() if n.startswith("optax:")]:
        info = OPTIMIZERS[name]
        defaults = info.build().hyper
        names = [k for k, v in defaults.items() if isinstance(v, float)][:2]  # lr first
        if not info.batches({}, names):
            one_at_a_time.append(name)
            continue
        rows = [(0.7, 1.0), (1.0, 0.9), (1.3, 0.8), (0.5, 0.95)]
        cols = {
            k: np.array([defaults[k] * (r[i] if defaults[k] else r[i] - 0.5) for r in rows])
            for i, k in enumerate(names)
        }
        batch = run(tuning.batched_optimizer(info, {}, cols), s, np.tile(start, (4, 1)), 40)
        for i in range(len(rows)):
            alone = run(info.build(**{k: float(c[i]) for k, c in cols.items()}), s, start, 40)
            np.testing.assert_allclose(batch.points[:, i], alone.points, rtol=0, atol=1e-12)
        with pytest.raises(ValueError, match="has values for 4 points"):
            run(tuning.batched_optimizer(info, {}, cols), s, np.tile(start, (3, 1)), 2)
    assert one_at_a_time == ["optax:adadelta", "optax:adafactor", "optax:fromage"]


def test_an_optax_phase_diagram_is_one_batch_and_maps_what_one_at_a_time_maps(monkeypatch):
    """The same map whether the cells run as one batch or one run each; a 200×200 map of
    an optax rule now fits the phase diagram's budget (one batch: its cost counted once)."""
    from optimizers.phase import phase_diagram

    s = get_surface("rosenbrock")
    kw = dict(x="lr:1e-3:0.5:log", y="b1:0.5:0.95", cells=(6, 5), steps=60)
    batched = phase_diagram("optax:adamw", s, **kw)
    info = OPTIMIZERS["optax:adamw"]
    monkeypatch.setitem(OPTIMIZERS._found, "optax:adamw", replace(info, columns=None))
    looped = phase_diagram("optax:adamw", s, **kw)
    np.testing.assert_allclose(batched.final, looped.final, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(batched.diverged, looped.diverged)
    monkeypatch.undo()
    fits = Budget(work(1, 30, 60, step_cost=2_000), 60.0)  # one batch of the 30 cells
    phase_diagram("optax:adamw", s, **kw, budget=fits)
    big = phase_diagram("optax:adamw", s, "lr:1e-4:1:log", "b1:0:0.99", 200, 200,
                        budget=Budget.of("phase"))  # fmt: skip
    with pytest.raises(BudgetError) as refused:  # one point-step short of that batch
        phase_diagram("optax:adamw", s, "lr:1e-4:1:log", "b1:0:0.99", 200, 200,
                      budget=Budget(work(1, 40_000, 200, step_cost=2_000) - 1, 60.0))  # fmt: skip
    assert "; a step of optax:adamw counts 2,000 more than its rows)" in str(refused.value)
    assert "(at most 199×199 cells at these starts and steps)" in str(refused.value)
    corners = phase_diagram("optax:adamw", s, "lr:1e-4:1:log", "b1:0:0.99", 2, 200)
    np.testing.assert_allclose(big.value[::199, ::199], corners.value, rtol=1e-12, atol=0)
    assert np.ptp(big.value) > 1  # the corners differ: each cell ran with its own values


def test_an_optax_sweep_and_tuning_run_their_rates_as_one_batch_with_the_same_answers(
    monkeypatch,
):
    from optimizers.maps import lr_sweep

    s = get_surface("beale")
    lrs = np.geomspace(1e-3, 3.0, 24)
    info = OPTIMIZERS["optax:adamw"]

    def both(fn):
        batched = fn()
        monkeypatch.setitem(OPTIMIZERS._found, "optax:adamw", replace(info, columns=None))
        looped = fn()
        monkeypatch.undo()
        return batched, looped

    a, b = both(lambda: lr_sweep(["optax:adamw"], s, s.start, lrs, 150)[0])
    np.testing.assert_allclose(a.final_loss, b.final_loss, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(a.steps_to_converge, b.steps_to_converge)
    a, b = both(lambda: tuning.tune(["optax:adamw"], s, s.start, 150, trials=16, starts=2).rules[0])
    np.testing.assert_array_equal(a.trials_lr, b.trials_lr)
    np.testing.assert_allclose(a.trials_objective, b.trials_objective, rtol=1e-12, atol=0)
    # A sweep of 200 rates is one batch: its 2,000 per step counted once, not 200 times.
    lr_sweep(["optax:adamw"], s, s.start, np.geomspace(1e-3, 3.0, 200), 150,
             budget=Budget(work(1, 200, 150, step_cost=2_000), 60.0))  # fmt: skip
    # 16 trials: at most 9 batches (the first grid of 8 with the default race, then one
    # round per trial), plus the moved starts' batch: 10 batches' cost do not fit in 9.
    with pytest.raises(BudgetError) as refused:
        tuning.tune(["optax:adamw", "sgd"], s, s.start, 150, trials=16,
                    budget=Budget(work(9, 1, 150, step_cost=2_000), 60.0))  # fmt: skip
    assert "optax:adamw runs each round of its search on its own" in str(refused.value)


def test_optax_none_defaults_are_numbers_that_can_be_set():
    """optax's adadelta with learning_rate=None adds its update (every path climbed) and no
    lr could be set; sgd's momentum=None hid momentum. As numbers: the same rule, settable."""
    import optax

    s = get_surface("beale")
    ours = run(get_optimizer("optax:adadelta"), s, s.start, 50)
    theirs = run(get_optimizer("torch:Adadelta", lr=1.0, rho=0.9, eps=1e-6), s, s.start, 50)
    np.testing.assert_allclose(ours.points, theirs.points, rtol=0, atol=1e-12)
    assert ours.losses[-1] < ours.losses[0]
    factor = run(get_optimizer("optax:adafactor"), s, s.start, 50).points
    as_is = run(from_optax(optax.adafactor()), s, s.start, 50).points  # learning_rate=None
    np.testing.assert_allclose(factor, as_is, rtol=0, atol=1e-12)
    plain = run(get_optimizer("optax:sgd", lr=1e-3), s, s.start, 50).points
    np.testing.assert_array_equal(plain, run(from_optax(optax.sgd(1e-3)), s, s.start, 50).points)
    heavy = run(get_optimizer("optax:sgd", lr=1e-3, momentum=0.9), s, s.start, 50).points
    built = run(from_optax(optax.sgd(1e-3, momentum=0.9)), s, s.start, 50).points
    np.testing.assert_array_equal(heavy, built)
    assert not np.allclose(heavy, plain)


def test_optax_rules_made_as_partials_are_offered_and_taken():
    """optax.nadam is functools.partial(adam, nesterov=True): not offered, and from_optax
    of it raised AttributeError ('partial' has no __name__)."""
    import optax

    assert {"optax:nadam", "optax:nadamw"} <= set(library.available())
    s = get_surface("beale")
    opt = from_optax(optax.nadam)
    assert opt.name == "optax:nadam"
    np.testing.assert_array_equal(
        run(opt, s, s.start, 20).points, run(get_optimizer("optax:nadam"), s, s.start, 20).points
    )


def test_a_library_count_is_tuned_and_mapped_from_1():
    """Ranger's k (lookahead every k steps, default 6) ranged from 0, which the tuner then
    tried and Ranger refused ("k must be positive"); torch SGD's momentum (an int 0) still
    ranges from 0."""
    ranger = {h.name: h for h in OPTIMIZERS.find("pytorch_optimizer:Ranger").hyper}
    assert (ranger["k"].low, ranger["k"].high) == (1.0, 12.0)
    sgd = {h.name: h for h in OPTIMIZERS.find("torch:SGD").hyper}
    assert sgd["momentum"].low == 0.0
    s = get_surface("beale")
    (found,) = tuning.tune(["pytorch_optimizer:Ranger"], s, s.start, 30, trials=8, also="k").rules
    assert found.hyper["k"] >= 1
