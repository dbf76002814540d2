"""Phase diagrams: Distill's analytic momentum map, and the measured one agreeing with it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers import compiled, get_optimizer, run
from optimizers.budget import Budget, BudgetError
from optimizers.phase import (
    Axis,
    analytic,
    critical_damping,
    hessian_eigenvalues,
    measured_rate,
    momentum_matrix,
    momentum_rate,
    nesterov_matrix,
    nesterov_rate,
    optimum,
    parse_axis,
    phase_diagram,
)
from optimizers.tuning import batched_optimizer
from surfaces import get_surface

ALPHAS = np.geomspace(1e-3, 2.0, 37)
BETAS = np.linspace(0.0, 0.99, 23)


def spectral_radius(m: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def tolerance(m: np.ndarray) -> float:
    """A double root moves by √(rounding): near one (critical damping) both the closed
    form and LAPACK are good to ~1e-8 only."""
    disc = np.trace(m) ** 2 - 4 * np.linalg.det(m)
    return 1e-12 if abs(disc) > 1e-6 else 1e-7


# Analytic ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.2, 2.0, 10.0])
@pytest.mark.parametrize(
    ("matrix", "rate"), [(momentum_matrix, momentum_rate), (nesterov_matrix, nesterov_rate)]
)
def test_the_rate_is_the_spectral_radius_of_the_rules_matrix(matrix, rate, lam):
    for a in ALPHAS:
        for b in BETAS:
            r = matrix(a, b, lam)
            expected = spectral_radius(r)
            assert rate(a, b, [lam]) == pytest.approx(expected, rel=1e-9, abs=tolerance(r))


def test_R_is_one_step_of_optviz_momentum_in_distills_variables():
    """z = −v/α: optviz's (v, W) step is R acting on (z, W − W*) along an eigenvector."""
    lam, a, b = 3.0, 0.1, 0.7
    surface = get_surface("quadratic")  # f = x² + y²: λ = 2 both ways; use x only
    lam = 2.0
    opt = get_optimizer("momentum", lr=a, momentum=b)
    w = np.array([0.8, 0.0])
    state = opt.init(w)._replace(v=np.array([-0.05, 0.0]))
    w2, s2 = opt.step(w, state, surface)
    z, z2 = -state.v[0] / a, -s2.v[0] / a
    expected = momentum_matrix(a, b, lam) @ np.array([z, w[0]])
    np.testing.assert_allclose([z2, w2[0]], expected, rtol=1e-12, atol=1e-15)


def test_complex_regime_rate_is_sqrt_beta_because_det_R_is_beta():
    checked = 0
    for lam in (0.2, 2.0, 10.0):
        for a in ALPHAS:
            for b in BETAS:
                r = momentum_matrix(a, b, lam)
                assert np.linalg.det(r) == pytest.approx(b, abs=1e-12)
                sig = np.linalg.eigvals(r)
                if abs(sig[0].imag) > 1e-9:  # complex pair: the ripples regime
                    checked += 1
                    assert (1 + b - a * lam) ** 2 < 4 * b
                    assert momentum_rate(a, b, [lam]) == pytest.approx(math.sqrt(b), abs=1e-12)
                    assert abs(sig[0]) == pytest.approx(math.sqrt(b), abs=1e-12)
    assert checked > 100


def test_convergence_boundary_and_critical_damping():
    for lam in (0.2, 2.0, 10.0):
        for b in BETAS:
            edge = (2 + 2 * b) / lam  # αλ = 2 + 2β
            assert momentum_rate(edge * (1 - 1e-6), b, [lam]) < 1
            assert momentum_rate(edge * (1 + 1e-6), b, [lam]) > 1
        for a in ALPHAS[ALPHAS * lam < 4]:
            bc = float(critical_damping(a, lam))
            if bc >= 1:
                continue
            tr = 1 + bc - a * lam
            assert tr * tr - 4 * bc == pytest.approx(0.0, abs=1e-12)  # the roots meet


def test_nesterov_boundary():
    """NAG converges iff 0 < αλ < (2 + 2μ)/(1 + 2μ) (Jury's test on its matrix)."""
    for lam in (0.2, 2.0, 10.0):
        for mu in BETAS:
            edge = (2 + 2 * mu) / (1 + 2 * mu) / lam
            assert nesterov_rate(edge * (1 - 1e-6), mu, [lam]) < 1
            assert nesterov_rate(edge * (1 + 1e-6), mu, [lam]) > 1


def test_optimum_is_the_best_cell_of_a_dense_grid():
    lams = (0.2, 10.0)
    a_star, b_star, r_star = optimum(lams)
    assert a_star == pytest.approx((2 / (math.sqrt(0.2) + math.sqrt(10))) ** 2, rel=1e-12)
    assert momentum_rate(a_star, b_star, lams) == pytest.approx(r_star, rel=1e-9)
    aa, bb = np.meshgrid(np.geomspace(0.01, 1, 801), np.linspace(0, 0.999, 801))
    assert momentum_rate(aa, bb, lams).min() >= r_star - 1e-6


def test_hessian_eigenvalues_at_the_minimum():
    assert hessian_eigenvalues(get_surface("ravine")) == pytest.approx((0.2, 10.0), rel=1e-12)
    assert hessian_eigenvalues(get_surface("quadratic")) == pytest.approx((2.0, 2.0))
    r = hessian_eigenvalues(get_surface("rosenbrock"))  # not quadratic: at (1, 1)
    h = get_surface("rosenbrock").hessian(np.array([1.0, 1.0]))
    assert r == pytest.approx(tuple(np.linalg.eigvalsh(h)), rel=1e-12)
    assert hessian_eigenvalues(get_surface("saddle")) is None


# Batched hyperparameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "columns"),
    [
        ("momentum", {"lr": [0.01, 0.05, 0.002], "momentum": [0.5, 0.9, 0.0]}),
        ("nesterov", {"lr": [0.01, 0.05, 0.002], "momentum": [0.5, 0.9, 0.0]}),
        ("adam", {"lr": [0.1, 0.01, 0.3], "beta2": [0.9, 0.99, 0.999]}),
        ("rmsprop", {"lr": [0.1, 0.01, 0.3], "decay": [0.5, 0.9, 0.99]}),
        ("newton", {"lr": [0.5, 1.0, 0.1], "damping": [0.0, 1.0, 0.1]}),
    ],
)
def test_batched_rows_equal_single_runs(rule, columns):
    surface = get_surface("rosenbrock")
    start = np.array([-1.2, 1.0])
    opt = batched_optimizer(rule, {}, {k: np.array(v) for k, v in columns.items()})
    batch = run(opt, surface, np.tile(start, (3, 1)), 40)
    for k in range(3):
        one = run(get_optimizer(rule, **{n: v[k] for n, v in columns.items()}), surface, start, 40)
        np.testing.assert_allclose(batch.points[:, k], one.points, rtol=1e-12, atol=1e-15)


# Measured ---------------------------------------------------------------------------------


def test_measured_rate_of_a_pure_geometric_decay():
    edges = np.arange(0, 200, 10)
    t = np.arange(200)
    rho = np.array([0.5, 0.9, 0.99])
    f = rho[None, :] ** (2 * t[:, None])
    blocks = np.array([f[e : e + 10].max(axis=0) for e in edges])
    np.testing.assert_allclose(measured_rate(blocks, edges), rho, rtol=1e-10)


@pytest.fixture(scope="module", params=[("quadratic", 4.0), ("ravine", 1.0)])
def diagram(request):
    """α up to past the boundary αλₙ = 2 + 2β of every β (λₙ = 2 and 10)."""
    name, lr_max = request.param
    surface = get_surface(name)
    m = phase_diagram(
        "momentum",
        surface,
        f"lr:1e-4:{lr_max}:log",
        "momentum:0:0.99",
        cells=120,
        steps=500,
        budget=Budget.of("phase"),
    )
    return m, analytic("momentum", surface, "lr", m.xs, "momentum", m.ys)


def test_measured_rate_agrees_with_distill_within_2_percent(diagram):
    m, an = diagram
    converging = (an.rate < 1) & ~m.diverged
    assert converging.sum() > 0.6 * m.rate.size
    measured = converging & np.isfinite(m.rate)
    assert measured.sum() >= 0.999 * converging.sum()  # all but a cell reaching f* exactly
    rel = np.abs(m.rate - an.rate) / an.rate
    assert rel[measured].max() <= 0.02


def test_measured_divergence_boundary_is_within_one_cell_of_2_plus_2_beta(diagram):
    m, an = diagram
    lam = an.lams[-1]
    for i, beta in enumerate(m.ys):
        predicted = int(np.argmax(m.xs * lam >= 2 + 2 * beta))  # first α past the boundary
        measured = int(np.argmax(m.diverged[i]))
        assert m.diverged[i].any()
        assert abs(measured - predicted) <= 1, (beta, measured, predicted)
        assert not m.diverged[i, : max(predicted - 1, 0)].any()


def test_diagram_cells_equal_single_runs():
    m = phase_diagram("momentum", "ravine", "lr:0.01:0.5:log", "momentum:0:0.9", cells=(4, 3))
    surface = get_surface("ravine")
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        opt = get_optimizer("momentum", **m.cell_hyper(i, j))
        traj = run(opt, surface, surface.start, 500)
        if traj.diverged_at is None:
            # final f − f*: the largest over the last 10 % of the steps (50 of 500)
            tail = np.maximum(traj.losses[-50:].max() - m.fstar, 1e-20)
            assert m.final[i, j] == pytest.approx(tail, rel=1e-12)
        else:
            assert m.diverged[i, j]


def test_diagram_is_deterministic_and_averages_a_start_grid():
    kw = dict(cells=5, steps=200, starts=3)
    a = phase_diagram("adam", "rosenbrock", "lr:1e-3:0.5:log", "beta2:0.9:0.999", **kw)
    b = phase_diagram("adam", "rosenbrock", "lr:1e-3:0.5:log", "beta2:0.9:0.999", **kw)
    np.testing.assert_array_equal(a.value, b.value)
    assert a.value.shape == (5, 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(x="beta1:0:0.9"), "momentum has no hyperparameter 'beta1'"),
        (dict(x="lr:1e-4"), "name:low:high"),
        (dict(x="lr:0:1:log"), "log axis needs low > 0"),
        (dict(x="lr:1e-4:1:cube"), "scale is log or lin"),
        (dict(y="lr:1e-3:1"), "different hyperparameters"),
        (dict(cells=201), "cells must be between 2 and 200"),
        (dict(objective="best"), "objective must be one of"),
        (dict(y="momentum:0:1"), "momentum must be < 1"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, message):
    args = {"x": "lr:1e-4:1:log", "y": "momentum:0:0.99", "cells": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        phase_diagram("momentum", "quadratic", args.pop("x"), args.pop("y"), **args)


def test_budget_is_checked_before_running():
    with pytest.raises(BudgetError, match=r"the phase diagram .* asks for"):
        phase_diagram(
            "momentum",
            "quadratic",
            Axis("lr", 1e-3, 1, True),
            parse_axis("momentum:0:0.9"),
            cells=200,
            steps=2000,
            starts=3,
            budget=Budget.of("phase"),
        )


@pytest.mark.parametrize(
    "rule, x, y",
    [
        ("momentum", "lr:1e-4:1:log", "momentum:0:0.99"),
        ("nesterov", "lr:1e-4:1:log", "momentum:0:0.99"),
        ("rmsprop", "lr:1e-4:1:log", "decay:0.1:0.99"),
        ("adadelta", "lr:0.1:10:log", "rho:0.5:0.99"),
    ],
)
def test_the_compiled_loop_draws_the_same_map(rule, x, y, monkeypatch):
    """Cells with their own values take the compiled loop where it is ready: every
    objective and measured rate as on the pure path, bit for bit."""
    s = get_surface("ravine")
    assert compiled.wait(get_optimizer(rule), s, timeout=600)
    fast = phase_diagram(rule, s, x, y, cells=40, steps=300, starts=2, objective="area")
    monkeypatch.setattr(compiled, "plan", lambda opt, surface: None)
    pure = phase_diagram(rule, s, x, y, cells=40, steps=300, starts=2, objective="area")
    for k in ("value", "final", "steps_to_tol", "area", "rate", "diverged"):
        assert np.array_equal(getattr(fast, k), getattr(pure, k), equal_nan=True), k
    assert np.isfinite(fast.rate).any()
    assert fast.diverged.any() == (rule in ("momentum", "nesterov"))  # large α·λ diverges
