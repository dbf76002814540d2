"""Convergence maps and learning-rate sweeps, and run()'s record="last" and monitor."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optimizers import get_optimizer, run
from optimizers.maps import (
    DIVERGED,
    MAX_GRID,
    MAX_STEPS,
    NOT_CONVERGED,
    STATIONARY,
    ConvergenceMap,
    convergence_map,
    lr_sweep,
)
from optimizers.run import MAX_POINTS
from optimizers.schedules import make_schedule
from surfaces import get_surface
from surfaces.base import Surface


def settled_since(points: np.ndarray, minima, tol: float, surface=None) -> int:
    """From a stored path: the step from which it stays within tol (-1 = not at the end)."""
    if minima:
        d2 = np.min(
            [(points[:, 0] - mx) ** 2 + (points[:, 1] - my) ** 2 for mx, my in minima], axis=0
        )
    else:
        g = surface.grad(points)
        d2 = g[:, 0] ** 2 + g[:, 1] ** 2
    out = np.flatnonzero(~(d2 <= tol * tol))
    if len(out) == 0:
        return 0
    return -1 if out[-1] == len(points) - 1 else int(out[-1] + 1)


def bowl_without_minima() -> Surface:
    """x² + y² that does not list its minimum: convergence by the gradient's norm."""
    return Surface(
        name="bowl_unlisted",
        label="Bowl",
        description="",
        latex="",
        f=lambda x, y: x * x + y * y,
        df=lambda x, y: (2 * x, 2 * y),
        d2f=lambda x, y: (2.0, 0.0, 2.0),
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )


# run(): record="last" and monitor -------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "hyper", "surface"),
    [
        ("adam", {"lr": 0.05}, "rosenbrock"),
        ("sgd", {"lr": 0.05}, "himmelblau"),  # some starts diverge
        ("momentum", {"lr": 0.01}, "beale"),
        ("newton", {}, "saddle"),
    ],
)
def test_record_last_and_monitor_match_the_stored_path(rule, hyper, surface):
    s = get_surface(surface)
    opt = get_optimizer(rule, **hyper)
    starts = np.random.default_rng(3).uniform(-3, 3, (64, 2))
    for start in (starts, starts[5], starts[11]):
        full = run(opt, s, start, 200)
        last = run(opt, s, start, 200, record="last")
        np.testing.assert_array_equal(last.points, full.points[[0, -1]])
        np.testing.assert_array_equal(last.losses, full.losses[[0, -1]])
        assert np.array_equal(np.asarray(last.diverged_at), np.asarray(full.diverged_at))
        seen = []

        def monitor(t, x, losses, alive, seen=seen):
            seen.append((t, np.array(x), np.array(losses), np.array(alive)))

        watched = run(opt, s, start, 200, monitor=monitor)
        np.testing.assert_array_equal(watched.points, full.points)
        np.testing.assert_array_equal(watched.losses, full.losses)
        assert np.array_equal(np.asarray(watched.diverged_at), np.asarray(full.diverged_at))
        div = np.asarray(-1 if full.diverged_at is None else full.diverged_at)
        for t, x, losses, alive in seen:
            # What the monitor saw is the path, before points after divergence are blanked.
            ok = (div < 0) | (t <= div)
            np.testing.assert_array_equal(np.where(ok, losses, np.nan), full.losses[t])
            np.testing.assert_array_equal(alive, (div < 0) | (t < div))
            assert x.shape == start.shape
        assert [t for t, *_ in seen] == list(range(len(seen)))


@pytest.mark.parametrize("surface", ["rosenbrock", "noisy_moons"])
def test_record_last_with_noise_and_mini_batches_matches_the_stored_path(surface):
    s = get_surface(surface)
    if surface == "noisy_moons":
        s = s.with_batch_size(16)
    opt = get_optimizer("momentum", lr=0.01)
    starts = np.stack([np.linspace(*s.x_range, 6), np.linspace(*s.y_range, 6)], axis=-1)
    full = run(opt, s, starts, 60, noise=0.5, seed=7)
    last = run(opt, s, starts, 60, noise=0.5, seed=7, record="last")
    np.testing.assert_array_equal(last.points, full.points[[0, -1]])
    np.testing.assert_array_equal(last.losses, full.losses[[0, -1]])
    np.testing.assert_array_equal(last.diverged_at, full.diverged_at)


def test_monitor_stops_once_every_run_diverged():
    seen = []
    s = get_surface("quadratic")
    traj = run(
        get_optimizer("sgd", lr=100.0),
        s,
        [(1.0, 1.0), (0.5, -1)],
        300,
        record="last",
        monitor=lambda t, *_: seen.append(t),
    )
    assert (traj.diverged_at > 0).all() and np.isnan(traj.points[-1]).all()
    assert seen == list(range(int(traj.diverged_at.max()) + 1))


def test_run_rejects_bad_record_and_monitor():
    s, opt = get_surface("quadratic"), get_optimizer("sgd")
    with pytest.raises(ValueError, match="record must be 'all' or 'last'"):
        run(opt, s, (1.0, 1.0), 5, record="every")
    with pytest.raises(ValueError, match="monitor must be callable"):
        run(opt, s, (1.0, 1.0), 5, monitor=3)


# Convergence maps -----------------------------------------------------------------------


def test_himmelblau_starts_near_each_minimum_reach_it():
    s = get_surface("himmelblau")
    m = convergence_map("sgd", {"lr": 0.01}, s, n=41, steps=400, tol=1e-3)
    assert isinstance(m, ConvergenceMap) and m.outcome.shape == (41, 41)
    assert len(m.minima) == 4
    xx, yy = np.meshgrid(m.xs, m.ys)
    for k, (mx, my) in enumerate(m.minima):
        near = (xx - mx) ** 2 + (yy - my) ** 2 < 0.5**2
        assert near.sum() >= 3
        assert (m.outcome[near] == k).all()
        assert (m.steps_to_converge[near] >= 0).all()
    # Every minimum owns a basin, and nothing diverges at this rate.
    assert set(m.counts()) >= {0, 1, 2, 3}
    assert (m.diverged_at == -1).all()


@pytest.mark.parametrize(
    ("rule", "hyper", "surface"),
    [("sgd", {"lr": 0.01}, "himmelblau"), ("adam", {"lr": 0.05}, "rosenbrock")],
)
def test_map_pixels_equal_single_runs(rule, hyper, surface):
    s = get_surface(surface)
    m = convergence_map(rule, hyper, s, n=30, steps=300, tol=1e-2)
    opt = get_optimizer(rule, **hyper)
    rng = np.random.default_rng(0)
    for i, j in rng.integers(0, 30, (12, 2)):
        traj = run(opt, s, m.start_at(i, j), 300)
        assert m.final_loss[i, j] == traj.losses[-1] or (
            np.isnan(m.final_loss[i, j]) and np.isnan(traj.losses[-1])
        )
        assert m.diverged_at[i, j] == (-1 if traj.diverged_at is None else traj.diverged_at)
        since = settled_since(traj.points, s.minima, 1e-2)
        if traj.diverged_at is not None:
            assert m.outcome[i, j] == DIVERGED and m.steps_to_converge[i, j] == -1
        else:
            assert m.steps_to_converge[i, j] == since
            if since < 0:
                g = s.grad(traj.points[-1])
                flat = g[0] ** 2 + g[1] ** 2 <= 1e-2**2
                assert m.outcome[i, j] == (STATIONARY if flat else NOT_CONVERGED)
            else:
                mx, my = s.minima[m.outcome[i, j]]
                assert np.hypot(traj.points[-1, 0] - mx, traj.points[-1, 1] - my) <= 1e-2


@pytest.mark.parametrize(
    ("rule", "hyper", "surface", "sigma", "seed"),
    [
        ("sgd", {"lr": 0.01}, "himmelblau", 2.0, 7),
        ("nesterov", {"lr": 0.002}, "beale", 5.0, 3),  # two gradients per step
        ("adam", {"lr": 0.05}, "rosenbrock", 20.0, 0),
    ],
)
def test_noisy_map_pixels_equal_noisy_single_runs(rule, hyper, surface, sigma, seed):
    """With gradient noise, each pixel is the trajectory run() draws from that start with
    the same σ and seed: same final loss (bit for bit), divergence and steps to converge."""
    s = get_surface(surface)
    m = convergence_map(rule, hyper, s, n=20, steps=250, tol=5e-2, noise=sigma, seed=seed)
    quiet = convergence_map(rule, hyper, s, n=20, steps=250, tol=5e-2)
    assert (m.final_loss != quiet.final_loss).mean() > 0.9  # the noise changed the runs
    opt = get_optimizer(rule, **hyper)
    for i, j in np.random.default_rng(1).integers(0, 20, (10, 2)):
        traj = run(opt, s, m.start_at(i, j), 250, noise=sigma, seed=seed)
        assert m.final_loss[i, j] == traj.losses[-1] or (
            np.isnan(m.final_loss[i, j]) and np.isnan(traj.losses[-1])
        )
        assert m.diverged_at[i, j] == (-1 if traj.diverged_at is None else traj.diverged_at)
        if traj.diverged_at is None:
            assert m.steps_to_converge[i, j] == settled_since(traj.points, s.minima, 5e-2)
    other = convergence_map(rule, hyper, s, n=20, steps=250, tol=5e-2, noise=sigma, seed=seed + 1)
    assert (other.final_loss != m.final_loss).mean() > 0.9  # the seed is honoured


def test_noisy_map_on_mini_batches_equals_single_runs():
    """The network surface's mini-batches and the noise come from one generator, as in run()."""
    s = get_surface("noisy_moons").with_batch_size(16)
    m = convergence_map("sgd", {"lr": 0.5}, s, n=5, steps=30, tol=1e-2, noise=0.3, seed=4)
    for i, j in ((0, 0), (2, 3), (4, 1)):
        traj = run(get_optimizer("sgd", lr=0.5), s, m.start_at(i, j), 30, noise=0.3, seed=4)
        assert m.final_loss[i, j] == traj.losses[-1]


@pytest.mark.parametrize(
    ("rule", "hyper", "surface"),
    [
        ("sgd", {"lr": 0.01}, "himmelblau"),
        ("momentum", {"lr": 0.002}, "himmelblau"),
        ("sgd", {"lr": 0.1}, "quadratic"),
        ("adagrad", {"lr": 0.5}, "himmelblau"),
    ],
)
def test_stopping_early_keeps_every_outcome_and_step(rule, hyper, surface):
    full = convergence_map(rule, hyper, surface, n=30, steps=600, tol=1e-2)
    early = convergence_map(rule, hyper, surface, n=30, steps=600, tol=1e-2, stop_early=True)
    assert early.steps_run < full.steps_run == 600  # it did stop early
    np.testing.assert_array_equal(early.outcome, full.outcome)
    np.testing.assert_array_equal(early.steps_to_converge, full.steps_to_converge)
    np.testing.assert_array_equal(early.diverged_at, full.diverged_at)


def test_no_early_stop_without_listed_minima():
    # Near a saddle the gradient is small for a while: "within tol" there is no verdict.
    m = convergence_map("sgd", {"lr": 0.05}, bowl_without_minima(), n=6, steps=300, stop_early=True)
    assert m.steps_run == 300


def test_noise_and_seed_validation():
    for kwargs, text in (
        ({"noise": -1}, "noise must be a finite number"),
        ({"noise": "x"}, "noise must be a number"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
    ):
        with pytest.raises(ValueError, match=text):
            convergence_map("sgd", None, "quadratic", n=4, steps=5, **kwargs)


def test_quadratic_all_converge():
    m = convergence_map("sgd", {"lr": 0.1}, "quadratic", n=20, steps=200)
    assert (m.outcome == 0).all()
    assert (m.steps_to_converge >= 0).all() and (m.steps_to_converge < 200).all()
    # Farther starts take longer: the corner against the pixel nearest the centre.
    i, j = m.pixel_of(0.0, 0.0)
    assert m.steps_to_converge[0, 0] > m.steps_to_converge[i, j]
    assert np.nanmax(m.final_loss) < 1e-4


def test_local_minima_are_stationary_not_unconverged():
    # Rastrigin lists only its global minimum; SGD with a small rate stops in the
    # nearest egg-crate cup.
    s = get_surface("rastrigin")
    m = convergence_map("sgd", {"lr": 0.002}, s, n=9, steps=400, tol=1e-3)
    for i in range(9):
        for j in range(9):
            traj = run(get_optimizer("sgd", lr=0.002), s, m.start_at(i, j), 400)
            end = traj.points[-1]
            g = s.grad(end)
            at_global = np.hypot(*end) <= 1e-3
            flat = g[0] ** 2 + g[1] ** 2 <= 1e-6
            expected = 0 if at_global else STATIONARY if flat else NOT_CONVERGED
            assert m.outcome[i, j] == expected, (i, j, end)
    assert (m.outcome == STATIONARY).sum() > 40  # most starts stop in a local cup


def test_huge_lr_all_diverged_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = convergence_map("sgd", {"lr": 1e3}, "quadratic", n=10, steps=100)
    assert (m.outcome == DIVERGED).all()
    assert (m.steps_to_converge == -1).all()
    assert (m.diverged_at > 0).all()
    assert np.isnan(m.final_loss).all()
    assert m.counts() == {DIVERGED: 100}


def test_surface_without_minima_converges_by_gradient_norm():
    s = bowl_without_minima()
    m = convergence_map("sgd", {"lr": 0.05}, s, n=8, steps=300, tol=1e-3)
    assert (m.outcome == STATIONARY).all()  # stopped, but at no listed minimum
    assert (m.steps_to_converge > 0).all()
    for i, j in [(0, 0), (3, 5), (7, 2)]:
        traj = run(get_optimizer("sgd", lr=0.05), s, m.start_at(i, j), 300)
        assert m.steps_to_converge[i, j] == settled_since(traj.points, (), 1e-3, s)


def test_window_and_pixels():
    m = convergence_map("adam", None, "rosenbrock", n=5, steps=10, x_range=(0, 1), y_range=(2, 3))
    np.testing.assert_array_equal(m.xs, np.linspace(0, 1, 5))
    np.testing.assert_array_equal(m.ys, np.linspace(2, 3, 5))
    assert m.start_at(1, 3) == (0.75, 2.25)
    assert m.pixel_of(0.74, 2.26) == (1, 3)
    assert m.hyper["lr"] == 0.01 and m.rule == "adam" and m.surface == "rosenbrock"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 1}, "n must be between 2 and 200"),
        ({"n": 201}, "n must be between 2 and 200"),
        ({"n": 2.5}, "n must be a whole number"),
        ({"steps": 0}, "steps must be between 1 and 2,000"),
        ({"steps": 10**6}, "steps must be between 1 and 2,000"),
        ({"tol": 0}, "tol must be a finite number > 0"),
        ({"tol": float("nan")}, "tol must be a finite number > 0"),
        ({"tol": "small"}, "tol must be a number"),
        ({"x_range": (1, 1)}, "x_range must be finite with low < high"),
        ({"y_range": (0, np.inf)}, "y_range must be finite with low < high"),
        ({"x_range": 3}, "x_range must be a pair"),
        ({"rule": "adamw"}, "unknown optimizer 'adamw'"),
        ({"hyper": {"lr": -1}}, "adam.lr must be > 0"),
        ({"hyper": {"gamma": 1}}, "adam has no hyperparameter 'gamma'"),
        ({"surface": "nowhere"}, "unknown surface 'nowhere'"),
    ],
)
def test_map_validation(kwargs, message):
    args = {"rule": "adam", "hyper": {}, "surface": "rosenbrock", "n": 10, "steps": 10}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        convergence_map(**args)


def test_largest_map_fits_run_limits():
    # The biggest map convergence_map accepts is one that run() accepts as one batch.
    assert MAX_GRID**2 * (MAX_STEPS + 1) <= MAX_POINTS


def test_map_newton_needs_a_hessian():
    s = bowl_without_minima()
    s = Surface(**{**s.__dict__, "d2f": None})
    with pytest.raises(ValueError, match="newton needs a Hessian"):
        convergence_map("newton", {}, s, n=4, steps=5)


# Learning-rate sweeps -------------------------------------------------------------------

SWEEP_RULES = [
    ("sgd", {}),
    ("momentum", {"momentum": 0.8}),
    ("nesterov", {}),
    ("adagrad", {}),
    ("rmsprop", {}),
    ("adadelta", {}),
    ("adam", {"beta1": 0.8}),
    ("nadam", {}),
    ("amsgrad", {}),
    ("lion", {}),
    ("newton", {"damping": 0.1}),
]


def test_sweep_equals_one_run_per_lr():
    s = get_surface("rosenbrock")
    lrs = np.geomspace(1e-4, 1, 13)
    curves = lr_sweep(SWEEP_RULES, s, (-1.5, 2.0), lrs, steps=150, tol=1e-1)
    assert [c.rule for c in curves] == [r for r, _ in SWEEP_RULES]
    some_diverged = False
    for (rule, hyper), curve in zip(SWEEP_RULES, curves, strict=True):
        assert curve.hyper == hyper
        np.testing.assert_array_equal(curve.lrs, lrs)
        for k, lr in enumerate(lrs):
            traj = run(get_optimizer(rule, lr=lr, **hyper), s, (-1.5, 2.0), 150)
            div = -1 if traj.diverged_at is None else traj.diverged_at
            assert curve.diverged_at[k] == div and curve.diverged[k] == (div >= 0)
            final = traj.losses[-1]
            assert curve.final_loss[k] == final or (
                np.isnan(final) and np.isnan(curve.final_loss[k])
            ), (rule, lr)
            expected = -1 if div >= 0 else settled_since(traj.points, s.minima, 1e-1)
            assert curve.steps_to_converge[k] == expected, (rule, lr)
            some_diverged |= div >= 0
    assert some_diverged  # the range reaches rates that blow up


def test_sweep_with_a_schedule_equals_single_runs():
    s = get_surface("himmelblau")
    lrs = [0.001, 0.003, 0.005, 0.03]

    def cosine(lr):
        return make_schedule("cosine", lr, total=150)

    (curve,) = lr_sweep([("momentum", {"lr": 5.0}, cosine)], s, (0.0, 0.0), lrs, steps=200)
    for k, lr in enumerate(lrs):
        traj = run(get_optimizer("momentum", lr=cosine(lr)), s, (0.0, 0.0), 200)
        np.testing.assert_array_equal(curve.final_loss[k], traj.losses[-1])
        assert curve.diverged_at[k] == (-1 if traj.diverged_at is None else traj.diverged_at)
        if traj.diverged_at is None:
            assert curve.steps_to_converge[k] == settled_since(traj.points, s.minima, 1e-2)
    assert curve.steps_to_converge.max() > 0 and curve.diverged.any()
    assert curve.hyper == {}  # lr is what the sweep varies


def test_sweep_accepts_a_bare_name_and_a_list_choice():
    a, b = lr_sweep(["sgd", ["adam", {"beta1": 0.5}]], "quadratic", (1.0, 1.0), [0.1], steps=5)
    assert (a.rule, b.rule, b.hyper) == ("sgd", "adam", {"beta1": 0.5})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lrs": []}, "lrs must be a flat list of 1 to 1,000 rates"),
        ({"lrs": [[0.1, 0.2]]}, "lrs must be a flat list"),
        ({"lrs": ["fast"]}, "lrs must be a list of numbers"),
        ({"lrs": [0.1, -1.0]}, "sgd.lr must be > 0"),
        ({"lrs": [0.1, np.inf]}, "sgd.lr must be a finite number"),
        ({"start": (1, 2, 3)}, "start must be one point"),
        ({"start": "here"}, "start must be a point"),
        ({"steps": 0}, "steps must be between 1 and 2,000"),
        ({"tol": -1}, "tol must be a finite number > 0"),
        ({"rules": "sgd"}, "rules must be a list of rules"),
        ({"rules": [("sgd", {}), ("nope", {})]}, "unknown optimizer 'nope'"),
        ({"rules": [("sgd", 3)]}, "hyperparameters must be a dict"),
        ({"rules": [("sgd", {"momentum": 0.9})]}, "sgd has no hyperparameter 'momentum'"),
        ({"rules": [("sgd", {}, "cosine")]}, "schedule must be a callable"),
        ({"rules": [("sgd",)]}, "each rule must be name"),
        ({"surface": 42}, "surface must be a Surface or a registered name"),
    ],
)
def test_sweep_validation(kwargs, message):
    args = {"rules": [("sgd", {})], "surface": "quadratic", "start": (1.0, 1.0), "lrs": [0.1]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        lr_sweep(**args)


def test_runs_crawling_down_a_flat_valley_have_not_stopped_elsewhere():
    """Rosenbrock's one stationary point is its listed minimum: Adam's runs still crawling
    along the banana's floor after 2,000 steps, with a gradient under tol, are still
    moving (10 % of a 200×200 map were "stopped elsewhere" when a small gradient was
    enough). A run that does stop at a saddle, Beale's at (0, 1), is told apart."""
    s = get_surface("rosenbrock")
    m = convergence_map("adam", {}, s, n=40, steps=2000, tol=0.04)
    assert not (m.outcome == STATIONARY).any()
    slow = 0
    for i, j in list(zip(*np.nonzero(m.outcome == NOT_CONVERGED), strict=True))[::10]:
        end = run(get_optimizer("adam"), s, m.start_at(i, j), 2000).points[-1]
        g = s.grad(end)
        slow += bool(np.hypot(*g) <= 0.04 and np.hypot(end[0] - 1, end[1] - 1) > 0.04)
    assert slow >= 3  # crawlers a gradient test alone would have called stopped
    beale = get_surface("beale")
    np.testing.assert_allclose(beale.grad(np.array([0.0, 1.0])), 0.0, atol=1e-12)
    m = convergence_map("sgd", {"lr": 0.001}, beale, n=3, steps=100, tol=0.01,
                        x_range=(-1, 1), y_range=(0, 2))  # fmt: skip
    assert m.start_at(1, 1) == (0.0, 1.0) and m.outcome[1, 1] == STATIONARY
