"""Properties every rule keeps on every registered surface.

Purity, batching (B starts = B single runs, bit for bit), Newton's one-step minimum of a
quadratic, and a hypothesis search over learning rates and starts for raised errors,
printed warnings and unflagged non-finite runs. Surfaces come from the SURFACES
registry at collection time, so newly added surfaces are covered without edits here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
from optimizers import OPTIMIZERS, get_optimizer, run
from optimizers.run import DIVERGENCE_RADIUS
from surfaces import SURFACES, get_surface
from surfaces.base import Surface

RULES = optimizers.RULES
SURFACE_NAMES = sorted(SURFACES)


def window(s):
    return np.array([s.x_range[0], s.y_range[0]]), np.array([s.x_range[1], s.y_range[1]])


def arrays_of(state):
    return [x for x in state if isinstance(x, np.ndarray)]


def usable(rule: str, surface) -> bool:
    return not (OPTIMIZERS[rule].second_order and not surface.has_hessian)


# --- purity -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("shape", [(2,), (4, 2)])
def test_step_is_pure(rule, shape):
    s = get_surface("rosenbrock")
    opt = get_optimizer(rule, lr=1e-3)
    params = np.random.default_rng(0).uniform(-1, 1, shape)
    state = opt.init(params)
    for _ in range(3):  # a state with non-zero arrays
        params, state = opt.step(params, state, s)
    params_before, state_before = params.copy(), [np.copy(a) for a in arrays_of(state)]
    count_before = state.count

    p1, s1 = opt.step(params, state, s)
    p2, s2 = opt.step(params, state, s)

    # Inputs untouched.
    assert np.array_equal(params, params_before)
    for a, b in zip(arrays_of(state), state_before, strict=True):
        assert np.array_equal(a, b)
    assert state.count == count_before == 3
    # Same inputs, same outputs.
    assert np.array_equal(p1, p2) and s1.count == s2.count == 4
    for a, b in zip(arrays_of(s1), arrays_of(s2), strict=True):
        assert np.array_equal(a, b)
    # Outputs are new arrays: changing them cannot reach the inputs.
    for out in [p1, *arrays_of(s1)]:
        assert not np.shares_memory(out, params)
        assert not any(np.shares_memory(out, a) for a in arrays_of(state))
    assert p1.shape == shape and all(a.shape == shape for a in arrays_of(s1))


@pytest.mark.parametrize("rule", RULES)
def test_init_does_not_keep_params(rule):
    params = np.array([0.5, -0.5])
    state = get_optimizer(rule).init(params)
    assert not any(np.shares_memory(a, params) for a in arrays_of(state))
    # Distinct state arrays do not alias each other either.
    arrs = arrays_of(state)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrs) for b in arrs[i + 1 :])


# --- batching ---------------------------------------------------------------------------


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
def test_a_point_alone_evaluates_as_in_a_batch(surface_name):
    """What batching rests on: value, gradient and Hessian of one (2,) point equal, bit for
    bit, its row in a batch. A last-bit difference is enough for a chaotic run (Newton at
    α = 1) to part ways after a few steps: long valley's Hessian used ``u ** 1.5``, which
    numpy computes with libm's pow for a scalar and a SIMD pow for an array (1 ulp apart
    on about 5 % of points on an AVX-512 machine); it now uses ``u * sqrt(u)``, whose two
    operations are correctly rounded on either path."""
    s = SURFACES[surface_name]
    lo, hi = window(s)
    points = np.random.default_rng(3).uniform(lo, hi, (400, 2))
    with np.errstate(all="ignore"):
        fns = [s.value, s.grad] + ([s.hessian] if s.has_hessian else [])
        for fn in fns:
            batch = fn(points)
            alone = np.array([fn(p) for p in points])
            assert np.array_equal(alone, batch, equal_nan=True), fn.__name__


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
@pytest.mark.parametrize("rule", RULES)
def test_batch_equals_single_runs(rule, surface_name):
    s = SURFACES[surface_name]
    if not usable(rule, s):
        with pytest.raises(ValueError, match="needs a Hessian"):
            run(get_optimizer(rule), s, s.start, 5)
        return
    lo, hi = window(s)
    starts = np.vstack([s.start, np.random.default_rng(7).uniform(lo, hi, (3, 2))])
    for opt in (get_optimizer(rule), get_optimizer(rule, lr=OPTIMIZERS[rule].hyper[0].high)):
        batch = run(opt, s, starts, 60)
        for i, start in enumerate(starts):
            one = run(opt, s, start, 60)
            assert np.array_equal(one.points, batch.points[:, i], equal_nan=True), (opt.hyper, i)
            assert np.array_equal(one.losses, batch.losses[:, i], equal_nan=True)
            assert (-1 if one.diverged_at is None else one.diverged_at) == batch.diverged_at[i]


# --- Newton -----------------------------------------------------------------------------


def quadratic_surface(a11, a12, a22, b1, b2):
    """½WᵀAW − bᵀW, minimum at A⁻¹b."""
    return Surface(
        name="pd_quadratic",
        label="",
        description="",
        latex="",
        f=lambda x, y: 0.5 * (a11 * x * x + 2 * a12 * x * y + a22 * y * y) - b1 * x - b2 * y,
        df=lambda x, y: (a11 * x + a12 * y - b1, a12 * x + a22 * y - b2),
        d2f=lambda x, y: (a11 + 0 * x, a12 + 0 * x, a22 + 0 * x),
        x_range=(-10.0, 10.0),
        y_range=(-10.0, 10.0),
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    lam1=st.floats(0.01, 100.0),
    lam2=st.floats(0.01, 100.0),
    angle=st.floats(0.0, math.pi),
    b=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    start=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
)
def test_newton_minimises_any_positive_definite_quadratic_in_one_step(lam1, lam2, angle, b, start):
    c, s_ = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s_], [s_, c]])
    A = rot @ np.diag([lam1, lam2]) @ rot.T
    minimum = np.linalg.solve(A, b)
    surface = quadratic_surface(A[0, 0], A[0, 1], A[1, 1], *b)
    opt = get_optimizer("newton", lr=1.0, damping=0.0)
    p, _ = opt.step(np.array(start), opt.init(np.zeros(2)), surface)
    cond = max(lam1, lam2) / min(lam1, lam2)
    scale = 1.0 + np.abs(start).max() + np.abs(minimum).max()
    np.testing.assert_allclose(p, minimum, rtol=0, atol=1e-13 * cond * scale)


@pytest.mark.parametrize("name", ["quadratic", "ravine", "booth"])
def test_newton_one_step_on_the_registered_quadratics(name):
    s = get_surface(name)
    traj = run(get_optimizer("newton", lr=1.0, damping=0.0), s, s.start, 1)
    np.testing.assert_allclose(traj.points[1], s.minima[0], rtol=0, atol=1e-12)
    # and from many starts at once
    lo, hi = window(s)
    starts = np.random.default_rng(1).uniform(lo, hi, (50, 2))
    batch = run(get_optimizer("newton", lr=1.0, damping=0.0), s, starts, 1)
    np.testing.assert_allclose(batch.points[1], np.broadcast_to(s.minima[0], (50, 2)), atol=1e-12)


def test_newton_on_a_singular_system_neither_raises_nor_warns():
    plane = Surface(
        name="plane",
        label="",
        description="",
        latex="",
        f=lambda x, y: x + y,
        df=lambda x, y: (1.0 + 0 * x, 1.0 + 0 * y),
        d2f=lambda x, y: (0 * x, 0 * x, 0 * x),  # H = 0: singular without damping
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )
    opt = get_optimizer("newton")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, _ = opt.step(np.array([0.1, 0.2]), opt.init(np.zeros(2)), plane)
        assert not np.isfinite(p).any()
        traj = run(opt, plane, [(0.1, 0.2), (0.3, 0.4)], 5)
    assert traj.diverged_at.tolist() == [1, 1]
    # Damping makes the same system solvable: (0 + λI)⁻¹∇ = ∇/λ.
    p, _ = get_optimizer("newton", damping=2.0).step(
        np.array([0.1, 0.2]), opt.init(np.zeros(2)), plane
    )
    np.testing.assert_allclose(p, [0.1 - 0.5, 0.2 - 0.5], rtol=1e-15)


# --- no rule on no surface raises or warns ----------------------------------------------


def check_finite_or_flagged(points, losses, d, steps):
    """Finite (and inside the radius) up to the end, or flagged at d with NaN after it."""
    end = steps + 1 if d is None or d < 0 else d
    assert np.isfinite(points[:end]).all() and np.isfinite(losses[:end]).all()
    assert (np.hypot(points[:end, 0], points[:end, 1]) <= DIVERGENCE_RADIUS).all()
    if end <= steps:
        assert end >= 1  # starts are finite and inside the window
        assert np.isnan(points[end + 1 :]).all() and np.isnan(losses[end + 1 :]).all()
        bad_point = not np.isfinite(points[end]).all() or np.hypot(*points[end]) > 1e6
        assert bad_point or not np.isfinite(losses[end])


STEPS = 60


def check_run(opt, s, starts, noise=0.0):
    """One start alone and all as a batch: no error, no warning, finite or flagged."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = run(opt, s, starts[0], STEPS, noise=noise, seed=1)
        many = run(opt, s, starts, STEPS, noise=noise, seed=1)
    check_finite_or_flagged(one.points, one.losses, one.diverged_at, STEPS)
    for i in range(len(starts)):
        check_finite_or_flagged(many.points[:, i], many.losses[:, i], many.diverged_at[i], STEPS)


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
@pytest.mark.parametrize("rule", RULES)
def test_extreme_lrs_from_the_corners(rule, surface_name):
    """The two ends of the searched range, from the default start and the window's corners."""
    s = SURFACES[surface_name]
    if not usable(rule, s):
        return  # the refusal is checked in test_batch_equals_single_runs
    lo, hi = window(s)
    starts = np.array([s.start, lo, hi, (lo[0], hi[1]), (hi[0], lo[1])], dtype=float)
    for lr in (1e-6, 1e3):
        check_run(get_optimizer(rule, lr=lr), s, starts)


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
@pytest.mark.parametrize("rule", RULES)
@settings(max_examples=4, deadline=None, derandomize=True)
@given(data=st.data())
def test_no_rule_raises_or_warns_for_any_lr(rule, surface_name, data):
    s = SURFACES[surface_name]
    lo, hi = window(s)
    lr = 10 ** data.draw(st.floats(-6.0, 3.0), label="log10 lr")
    hyper = {"lr": lr}
    names = {h.name for h in OPTIMIZERS[rule].hyper}
    for flag in ("eps_in_sqrt", "bias_correction"):
        if flag in names:
            hyper[flag] = data.draw(st.booleans(), label=flag)
    noise = data.draw(st.sampled_from([0.0, 0.0, 0.1, 10.0]), label="noise")
    unit = st.floats(0.0, 1.0)
    starts = lo + (hi - lo) * np.array(
        data.draw(st.lists(st.tuples(unit, unit), min_size=3, max_size=3), label="starts")
    )
    opt = get_optimizer(rule, **hyper)
    if not usable(rule, s):
        with pytest.raises(ValueError, match="needs a Hessian"):
            run(opt, s, starts[0], STEPS)
        return
    check_run(opt, s, starts, noise)
