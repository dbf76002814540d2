"""run(): shapes, divergence, noise and argument checking."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from optimizers import get_optimizer, run
from optimizers.run import DIVERGENCE_RADIUS, MAX_STEPS
from optimizers.tuning import batched_optimizer
from surfaces import get_surface
from surfaces.base import Surface
from surfaces.expression import from_expression
from tests.optimizers.helpers import no_hessian_surface


def test_shapes_single_and_batch():
    s = get_surface("rosenbrock")
    opt = get_optimizer("adam", lr=0.01)
    one = run(opt, s, (-1.5, 2.0), 25)
    assert one.points.shape == (26, 2) and one.losses.shape == (26,)
    assert one.diverged_at is None
    assert np.array_equal(one.points[0], [-1.5, 2.0])
    np.testing.assert_array_equal(one.losses, s.value(one.points))
    many = run(opt, s, [(-1.5, 2.0), (0.5, 0.5), (1.0, 1.0)], 25)
    assert many.points.shape == (26, 3, 2) and many.losses.shape == (26, 3)
    assert many.diverged_at.shape == (3,) and many.diverged_at.dtype == np.int64
    assert (many.diverged_at == -1).all()


def test_zero_steps_is_the_start():
    traj = run(get_optimizer("sgd"), get_surface("quadratic"), (0.3, -0.4), 0)
    assert traj.points.shape == (1, 2) and traj.diverged_at is None
    assert traj.losses[0] == pytest.approx(0.25, rel=1e-15)


def test_divergence_by_distance_then_nan():
    """SGD on x² − y² multiplies y by 1 + 2α per step: it leaves the 1e6 ball at a known step."""
    lr, x0, y0 = 0.6, 0.5, 1.0
    expected = next(
        t
        for t in range(1, 100)
        if math.hypot(x0 * (1 - 2 * lr) ** t, y0 * (1 + 2 * lr) ** t) > DIVERGENCE_RADIUS
    )
    traj = run(get_optimizer("sgd", lr=lr), get_surface("saddle"), (x0, y0), 60)
    assert traj.diverged_at == expected
    assert np.isfinite(traj.points[: expected + 1]).all()  # the far point itself is kept
    assert np.isnan(traj.points[expected + 1 :]).all()
    assert np.isnan(traj.losses[expected + 1 :]).all()
    assert np.isfinite(traj.losses[:expected]).all()


def test_divergence_by_non_finite_loss():
    """A point that stays small but whose loss is NaN (√x for x < 0) is a divergence too."""
    s = Surface(
        name="root",
        label="",
        description="",
        latex="",
        f=lambda x, y: np.sqrt(x) + 0 * y,
        df=lambda x, y: (1.0 + 0 * x, 0 * y),
        d2f=None,
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
    )
    # x: 1, 0.7, 0.4, 0.1, −0.2 → the loss is NaN from step 4 on.
    traj = run(get_optimizer("sgd", lr=0.3), s, (1.0, 0.0), 10)
    assert traj.diverged_at == 4
    assert np.isfinite(traj.points[4]).all() and np.isnan(traj.points[5:]).all()


def test_batch_divergence_is_per_start():
    s = get_surface("saddle")
    starts = [(0.5, 1.0), (0.5, 0.0), (0.5, 1e-3)]
    traj = run(get_optimizer("sgd", lr=0.6), s, starts, 40)
    singles = [run(get_optimizer("sgd", lr=0.6), s, p, 40).diverged_at for p in starts]
    assert traj.diverged_at.tolist() == [-1 if d is None else d for d in singles]
    assert traj.diverged_at[1] == -1 and traj.diverged_at[0] < traj.diverged_at[2]
    assert np.isfinite(traj.points[:, 1]).all()


@pytest.mark.parametrize("check_points", [1, 7, 40])
def test_the_stored_path_checked_in_chunks_gives_the_same_verdicts(monkeypatch, check_points):
    # Divergence at many different steps (saddle, rising lr), checked a few steps at a
    # time: every chunk boundary must give the verdicts of one pass over the whole path.
    module = sys.modules["optimizers.run"]  # the module: `optimizers.run` is also the function
    s = get_surface("saddle")
    starts = np.stack([np.full(12, 0.5), np.geomspace(1e-9, 1.0, 12)], axis=-1)
    opt = get_optimizer("sgd", lr=0.6)
    whole = run(opt, s, starts, 60)
    monkeypatch.setattr(module, "CHECK_POINTS", check_points)
    chunked = run(opt, s, starts, 60)
    assert len(set(whole.diverged_at.tolist())) > 6  # many different steps
    np.testing.assert_array_equal(chunked.diverged_at, whole.diverged_at)
    np.testing.assert_array_equal(chunked.points, whole.points)
    np.testing.assert_array_equal(chunked.losses, whole.losses)
    for k, d in enumerate(whole.diverged_at):
        single = run(opt, s, starts[k], 60).diverged_at
        assert (-1 if single is None else single) == d


def test_everything_diverged_stops_early_but_keeps_shapes():
    traj = run(get_optimizer("sgd", lr=100.0), get_surface("rosenbrock"), [(-1.5, 2.0)] * 3, 500)
    assert traj.points.shape == (501, 3, 2)
    assert (traj.diverged_at > 0).all() and (traj.diverged_at < 20).all()
    assert np.isnan(traj.points[-1]).all()


def test_noise_is_seeded():
    s, opt = get_surface("quadratic"), get_optimizer("sgd", lr=0.05)
    a = run(opt, s, (1.0, 1.0), 50, noise=0.5, seed=3)
    b = run(opt, s, (1.0, 1.0), 50, noise=0.5, seed=3)
    c = run(opt, s, (1.0, 1.0), 50, noise=0.5, seed=4)
    clean = run(opt, s, (1.0, 1.0), 50, noise=0.0, seed=3)
    assert np.array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    assert not np.array_equal(a.points, clean.points)
    assert np.array_equal(clean.points, run(opt, s, (1.0, 1.0), 50, seed=99).points)


def test_groups_of_rows_that_share_noise_each_draw_what_they_draw_alone():
    """noise_rows=R: a batch of 3 groups of R rows (the same starts, other rates) gives
    each group the noise R rows run alone draw, so each group is that run bit for bit."""
    s = get_surface("rosenbrock")
    starts = np.array([[-1.5, 2.0], [0.5, -0.5]])
    rates = batched_optimizer("sgd", {}, {"lr": np.repeat([1e-4, 3e-4, 1e-3], 2)})
    batch = run(rates, s, np.tile(starts, (3, 1)), 40, noise=0.7,
                seed=5, noise_rows=2)  # fmt: skip
    for k, lr in enumerate((1e-4, 3e-4, 1e-3)):
        alone = run(get_optimizer("sgd", lr=lr), s, starts, 40, noise=0.7, seed=5)
        assert np.array_equal(batch.points[:, 2 * k : 2 * k + 2], alone.points)
    mixed = run(rates, s, np.tile(starts, (3, 1)), 40, noise=0.7, seed=5)
    assert not np.array_equal(mixed.points[:, 2:4], batch.points[:, 2:4])  # each row its own
    for bad in (4, 0):
        with pytest.raises(ValueError, match="noise_rows must divide"):
            run(get_optimizer("sgd"), s, np.tile(starts, (3, 1)), 5, noise=0.7, noise_rows=bad)


def test_noise_is_gaussian_with_the_given_scale():
    """With α = 1 on a flat surface, SGD's steps are exactly minus the noise."""
    flat = Surface(
        name="flat",
        label="",
        description="",
        latex="",
        f=lambda x, y: 0 * x,
        df=lambda x, y: (0 * x, 0 * y),
        d2f=None,
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )
    traj = run(get_optimizer("sgd", lr=1.0), flat, (0.0, 0.0), 4000, noise=0.3, seed=1)
    steps = -np.diff(traj.points, axis=0)
    assert abs(steps.mean()) < 0.02 and abs(steps.std() - 0.3) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": -3}, "steps"),
        ({"steps": 10**12}, "steps"),
        ({"steps": MAX_STEPS + 1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": "10"}, "steps"),
        ({"start": (math.nan, 0.0)}, "finite"),
        ({"start": (math.inf, 0.0)}, "finite"),
        ({"start": (1.0, 2.0, 3.0)}, "shape"),
        ({"start": [[1.0, 2.0, 3.0]]}, "shape"),
        ({"start": [[[1.0, 2.0]]]}, "shape"),
        ({"start": "a,b"}, "start"),
        ({"start": np.empty((0, 2))}, "at least one"),
        ({"noise": -1.0}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"noise": "loud"}, "noise"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"start": (0.5, 0.5), "steps": 10, "noise": 0.0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        run(get_optimizer("sgd"), get_surface("quadratic"), **args)


def test_newton_without_a_hessian_fails_before_the_first_step():
    s = no_hessian_surface()
    opt = get_optimizer("newton")
    with pytest.raises(
        ValueError, match="newton needs a Hessian: surface 'flat_no_hessian' has none"
    ):
        run(opt, s, (0.5, 0.5), 10)
    with pytest.raises(ValueError, match="newton needs a Hessian"):
        opt.step(np.array([0.5, 0.5]), opt.init(np.zeros(2)), s)
    # First-order rules do not care.
    assert run(get_optimizer("adam"), s, (0.5, 0.5), 10).diverged_at is None


def test_start_is_not_modified():
    start = np.array([[-1.5, 2.0], [0.5, 0.5]])
    before = start.copy()
    run(get_optimizer("momentum"), get_surface("rosenbrock"), start, 20)
    assert np.array_equal(start, before)


def test_a_single_run_is_the_rule_stepped_by_hand():
    s, opt = get_surface("beale"), get_optimizer("nadam", lr=0.05)
    traj = run(opt, s, (1.0, 1.5), 30)
    p = np.array([1.0, 1.5])
    state = opt.init(p)
    for k in range(1, 31):
        p, state = opt.step(p, state, s)
        assert np.array_equal(traj.points[k], p)


def test_a_hundred_thousand_starts_in_one_batch():
    s = get_surface("himmelblau")
    starts = np.random.default_rng(0).uniform(-5, 5, (100_000, 2))
    traj = run(get_optimizer("adam", lr=0.1), s, starts, 3)
    assert traj.points.shape == (4, 100_000, 2) and traj.diverged_at.shape == (100_000,)
    for i in (0, 4_321, 99_999):  # rows are the separate runs
        one = run(get_optimizer("adam", lr=0.1), s, starts[i], 3)
        assert np.array_equal(one.points, traj.points[:, i])


@pytest.mark.parametrize(
    "bad_point",
    [
        (0.75 * DIVERGENCE_RADIUS, -0.75 * DIVERGENCE_RADIUS),  # each coordinate < R, r > R
        (0.7 * DIVERGENCE_RADIUS, 0.7 * DIVERGENCE_RADIUS),  # r = 0.99 R: within
        (math.nan, 0.0),
        (0.0, math.inf),
        (-1.0, 0.5),  # a point the surface has no finite loss at (log of a negative)
    ],
)
def test_the_quick_all_good_test_of_a_chunk_misses_no_bad_point(monkeypatch, bad_point):
    # The stored-path check first asks of a whole chunk whether it can hold a bad point;
    # each kind of bad point, alone in a chunk of good ones, must still be found, and a
    # point near the edge but within the radius must not be.
    module = sys.modules["optimizers.run"]
    monkeypatch.setattr(module, "CHECK_POINTS", 6)  # chunks of 3 steps × 2 runs
    s = from_expression("log(x) + y**2")
    points = np.full((10, 2, 2), 0.5)
    points[7, 1] = bad_point
    losses = np.empty((10, 2))
    with np.errstate(all="ignore"):
        diverged = module._stored_verdicts(s, points, losses)
        expected = module._far_or_nan(points[7, 1]) or not np.isfinite(s.value(points[7, 1]))
    assert diverged.tolist() == [-1, 7 if expected else -1]
    assert expected == (bad_point[0] != 0.7 * DIVERGENCE_RADIUS)
