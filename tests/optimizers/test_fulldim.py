"""Full-dimension training with the optviz rules, unchanged: the rules' steps on (P,) vectors."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers import get_optimizer
from optimizers.budget import Budget, BudgetError
from optimizers.fulldim import Oracle, train
from surfaces.landscape import make_data
from surfaces.network import MLP


@pytest.fixture
def problem():
    X, y = make_data("moons", 120, 0.2, seed=0)
    model = MLP((2, 8, 8, 1), "tanh")
    return model, X, y, model.init(np.random.default_rng(0))


def test_sgd_is_theta_minus_lr_times_the_backprop_gradient(problem):
    model, X, y, theta0 = problem
    run = train(get_optimizer("sgd", lr=0.3), model, X, y, theta0, 3)
    theta = theta0.copy()
    for t in range(3):
        theta = theta - 0.3 * model.backprop(theta, X, y)[1]
        np.testing.assert_allclose(run.thetas[t + 1], theta, rtol=0, atol=1e-12)


def test_adam_in_full_dimension_matches_its_formula(problem):
    model, X, y, theta0 = problem
    run = train(get_optimizer("adam", lr=0.02), model, X, y, theta0, 4)
    theta, m, v = theta0.copy(), 0 * theta0, 0 * theta0
    for t in range(1, 5):
        g = model.backprop(theta, X, y)[1]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - 0.02 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(run.thetas[-1], theta, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_training_is_deterministic_and_lowers_the_loss(problem, rule):
    model, X, y, theta0 = problem
    lr = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1}.get(rule, 0.02)
    a = train(get_optimizer(rule, lr=lr), model, X, y, theta0, 60, batch_size=32, seed=3)
    b = train(get_optimizer(rule, lr=lr), model, X, y, theta0, 60, batch_size=32, seed=3)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    c = train(get_optimizer(rule, lr=lr), model, X, y, theta0, 60, batch_size=32, seed=4)
    assert not np.array_equal(a.thetas, c.thetas)  # another seed, other mini-batches
    assert model.loss(a.thetas[-1], X, y) < model.loss(theta0, X, y)
    assert a.diverged_at is None


def test_inputs_are_not_modified_and_mini_batches_differ_from_full(problem):
    model, X, y, theta0 = problem
    keep = theta0.copy(), X.copy(), y.copy()
    full = train(get_optimizer("sgd", lr=0.5), model, X, y, theta0, 5)
    mini = train(get_optimizer("sgd", lr=0.5), model, X, y, theta0, 5, batch_size=10)
    for a, b in zip(keep, (theta0, X, y), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(full.thetas[1], mini.thetas[1])


def test_divergence_stops_the_run_and_leaves_nan(problem):
    model, X, y, theta0 = problem
    run = train(get_optimizer("sgd", lr=1e5), model, X, y, theta0 * 50, 50)
    assert run.diverged_at is not None
    assert np.isnan(run.thetas[run.diverged_at :]).all()
    assert np.isfinite(run.thetas[: run.diverged_at]).all()


def test_newton_is_refused_with_a_message(problem):
    model, X, y, theta0 = problem
    with pytest.raises(ValueError, match="Hessian"):
        train(get_optimizer("newton"), model, X, y, theta0, 3)


def test_the_deadline_stops_training(problem):
    model, X, y, theta0 = problem
    b = Budget(10**9, 1e-9)
    with pytest.raises(BudgetError, match="stopped after"):
        train(get_optimizer("sgd"), model, X, y, theta0, 100, tick=b.tick)


def test_oracle_gradient_is_backprops(problem):
    model, X, y, theta0 = problem
    np.testing.assert_array_equal(Oracle(model, X, y).grad(theta0), model.backprop(theta0, X, y)[1])


@pytest.mark.parametrize("batch", [None, 24])
def test_lock_step_runs_equal_each_rule_alone(problem, batch):
    from optimizers.fulldim import train_many

    model, X, y, theta0 = problem
    names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "lion"]
    opts = [get_optimizer(n) for n in names]
    together = train_many(opts, model, X, y, theta0, 40, batch_size=batch, seed=2)
    for opt, run in zip(opts, together, strict=True):
        alone = _unbatched(opt, model, X, y, theta0, 40, batch, 2)
        np.testing.assert_allclose(run.thetas, alone, rtol=0, atol=1e-12)


def _unbatched(opt, model, X, y, theta0, steps, batch, seed):
    """The rule stepped alone, one backprop per gradient (the reference)."""
    rng = np.random.default_rng(seed)
    theta, state = theta0.copy(), opt.init(theta0.copy())
    out = [theta]
    for _ in range(steps):
        if batch is None:
            oracle = Oracle(model, X, y)
        else:
            idx = rng.choice(len(y), size=batch, replace=False)
            oracle = Oracle(model, X[idx], y[idx])
        theta, state = opt.step(theta, state, oracle)
        out.append(theta)
    return np.array(out)


def test_a_diverging_rule_leaves_the_others_running(problem):
    from optimizers.fulldim import train_many

    model, X, y, theta0 = problem
    runs = train_many(
        [get_optimizer("sgd", lr=1e6), get_optimizer("adam", lr=0.02)],
        model,
        X,
        y,
        theta0 * 30,
        30,
    )
    assert runs[0].diverged_at is not None and runs[1].diverged_at is None
    assert np.isfinite(runs[1].thetas).all()
