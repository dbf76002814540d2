"""Radford's noisy moons: the data against scikit-learn's, the logistic loss's closed forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizers import get_optimizer, run
from surfaces import SURFACES, get_surface
from surfaces.logistic import CENTRE, LogisticSurface, logistic_moons, minimum
from surfaces.network import make_moons

sklearn_datasets = pytest.importorskip("sklearn.datasets")  # in the test extra: always here


# --- the data: the same recipe as scikit-learn's make_moons -----------------------------


def _class_stats(X, y):
    return [(X[y == c].mean(axis=0), X[y == c].std(axis=0)) for c in (0, 1)]


@pytest.mark.parametrize("noise", [0.05, 0.25, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_make_moons_statistics_match_scikit_learn(noise, seed):
    n = 4000
    X, y = make_moons(n, noise=noise, seed=seed)
    Xs, ys = sklearn_datasets.make_moons(n_samples=n, noise=noise, random_state=seed)
    assert X.shape == Xs.shape
    for c in (0, 1):  # the same number of points per class
        assert (y == c).sum() == (ys == c).sum()
    # Per-class means and spreads agree to sampling error: the mean of 2,000 points with
    # a spread under 0.9 moves by ~0.02 between two draws; 0.06 is three of those.
    for (m, sd), (ms, sds) in zip(_class_stats(X, y), _class_stats(Xs, ys), strict=True):
        np.testing.assert_allclose(m, ms, atol=0.06)
        np.testing.assert_allclose(sd, sds, atol=0.06)
    # The noise itself: distances to the clean arcs spread like it (where it is small
    # enough that the nearest arc is the point's own).
    if noise <= 0.25:
        for data, labels in ((X, y), (Xs, ys)):
            up = data[labels == 0]
            r = np.hypot(up[:, 0], up[:, 1]) - 1
            assert abs(r.std() - noise) < 0.15 * noise


def test_clean_moons_are_scikit_learns_points():
    for n in (10, 51, 200):
        X, y = make_moons(n, noise=0.0, seed=3)
        Xs, ys = sklearn_datasets.make_moons(n_samples=n, noise=None, shuffle=False)
        for c in (0, 1):  # the same points per class, in any order
            a = X[y == c][np.lexsort(X[y == c].round(9).T)]
            b = Xs[ys == c][np.lexsort(Xs[ys == c].round(9).T)]
            # 0.5 − sin t here, (1 − sin t) − 0.5 there: equal to the last bit or two
            np.testing.assert_allclose(a, b, atol=1e-15 * 4)


def test_the_centre_is_the_clean_moons_mean():
    X, _ = make_moons(400, noise=0.0)
    np.testing.assert_allclose(X.mean(axis=0), CENTRE, atol=1e-12)


# --- the loss and its closed forms --------------------------------------------------------


@pytest.fixture(scope="module")
def moons() -> LogisticSurface:
    return get_surface("logistic_moons")


def points(s, k=7, seed=0):
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = s.x_range, s.y_range
    return np.stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)], axis=-1)


def by_sample(s, w):
    """Loss, gradient and Hessian at ``w`` summed sample by sample in plain Python."""
    loss, g, H = 0.0, np.zeros(2), np.zeros((2, 2))
    for x, y in zip(s.X, s.labels, strict=True):
        xt = x - np.asarray(s.centre)
        z = float(w @ xt)
        p = 1.0 / (1.0 + np.exp(-z))
        loss += np.log1p(np.exp(z)) - y * z
        g += (p - y) * xt
        H += p * (1 - p) * np.outer(xt, xt)
    n = len(s.labels)
    return loss / n, g / n, H / n


def test_registered_with_its_data(moons):
    assert SURFACES["logistic_moons"] is moons
    assert moons.X.shape == (200, 2) and moons.labels.shape == (200,)
    X, y = make_moons(200, 0.25, 0)
    np.testing.assert_array_equal(moons.X, X)
    np.testing.assert_array_equal(moons.labels, y)
    with pytest.raises(ValueError):
        moons.X[0, 0] = 1.0  # read-only


def test_value_gradient_and_hessian_equal_their_closed_forms(moons):
    for w in points(moons):
        loss, g, H = by_sample(moons, w)
        np.testing.assert_allclose(moons.value(w), loss, rtol=1e-12)
        np.testing.assert_allclose(moons.grad(w), g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(moons.hessian(w), H, rtol=1e-12, atol=1e-15)


def test_batched_points_equal_single_ones(moons):
    pts = points(moons, 12).reshape(3, 4, 2)
    v, g, H = moons.value(pts), moons.grad(pts), moons.hessian(pts)
    assert v.shape == (3, 4) and g.shape == (3, 4, 2) and H.shape == (3, 4, 2, 2)
    for idx in np.ndindex(3, 4):
        np.testing.assert_allclose(v[idx], moons.value(pts[idx]), rtol=1e-13)
        np.testing.assert_allclose(g[idx], moons.grad(pts[idx]), rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(H[idx], moons.hessian(pts[idx]), rtol=1e-13, atol=1e-16)


def test_a_large_grid_goes_through_in_chunks_with_the_same_values(moons):
    xs = np.linspace(*moons.x_range, 90)
    ys = np.linspace(*moons.y_range, 80)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    v = moons.value(grid)
    assert v.shape == (80, 90)
    for i, j in ((0, 0), (40, 45), (79, 89)):
        np.testing.assert_allclose(v[i, j], by_sample(moons, grid[i, j])[0], rtol=1e-12)


def test_gradient_and_hessian_equal_finite_differences(moons):
    h = 1e-6
    for w in points(moons, seed=1):
        fd_g = np.array(
            [(moons.value(w + h * e) - moons.value(w - h * e)) / (2 * h) for e in np.eye(2)]
        )
        np.testing.assert_allclose(moons.grad(w), fd_g, rtol=1e-6, atol=1e-9)
        fd_H = np.array(
            [(moons.grad(w + h * e) - moons.grad(w - h * e)) / (2 * h) for e in np.eye(2)]
        )
        np.testing.assert_allclose(moons.hessian(w), fd_H, rtol=1e-6, atol=1e-9)


def test_extreme_weights_stay_finite(moons):
    w = np.array([[1e4, -1e4], [-800.0, 900.0]])
    assert np.isfinite(moons.value(w)).all()
    assert np.isfinite(moons.grad(w)).all()
    assert np.isfinite(moons.hessian(w)).all()


def test_the_minimum_is_where_the_gradient_vanishes_and_the_loss_is_convex(moons):
    m = np.array(moons.minima[0])
    assert np.abs(moons.grad(m)).max() < 1e-12
    assert (np.linalg.eigvalsh(moons.hessian(points(moons, 30))) > 0).all()
    x0, x1 = moons.x_range
    assert x0 < m[0] < x1 and moons.start != tuple(m)


def test_no_bias_costs_almost_nothing_once_the_inputs_are_centred(moons):
    """The README's bias numbers: the best bias of the centred model is near zero."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    m = np.array(moons.minima[0])
    fit = linear_model.LogisticRegression(C=1e10, tol=1e-12, max_iter=10_000)
    fit.fit(moons.X - np.asarray(CENTRE), moons.labels)
    np.testing.assert_allclose(fit.coef_[0], m, rtol=0.05)  # the same weights, nearly
    assert abs(fit.intercept_[0]) < 0.1 * np.linalg.norm(m)
    acc_bias = fit.score(moons.X - np.asarray(CENTRE), moons.labels)
    assert abs(float(moons.accuracy(m)) - acc_bias) <= 0.01
    # Without centring, the best line through the origin does worse than through the centre.
    raw = LogisticSurface.build(
        moons.X, moons.labels, centre=(0.0, 0.0), name="", label="", description="", latex="",
        x_range=(-1, 1), y_range=(-1, 1),
    )  # fmt: skip
    assert raw.value(minimum(raw)) > moons.value(m) + 1e-3
    # ... and the README says so with these numbers.
    z = (moons.X - np.asarray(CENTRE)) @ fit.coef_[0] + fit.intercept_[0]
    loss_bias = float(np.mean(np.logaddexp(0, z) - moons.labels * z))
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    r = minimum(raw)
    for said in (
        f"the best free bias is {fit.intercept_[0]:.3f}, its loss {loss_bias:.4f} against "
        f"{float(moons.value(m)):.4f} without, and both classify {acc_bias:.0%} of the points",
        f"(loss {float(raw.value(r)):.4f}, {float(raw.accuracy(r)):.0%})",
    ):
        assert said.replace("%", " %") in readme, said


# --- mini-batches and accuracy --------------------------------------------------------------


def test_mini_batches_are_seeded_samples_of_the_data(moons):
    b = moons.with_batch_size(16)
    assert moons.oracle(0, np.random.default_rng(0)) is moons  # full batch
    o1 = b.oracle(3, np.random.default_rng(5))
    o2 = b.oracle(3, np.random.default_rng(5))
    np.testing.assert_array_equal(o1.X, o2.X)
    assert o1.X.shape == (16, 2)
    rows = {tuple(r) for r in moons.X}
    assert all(tuple(r) in rows for r in o1.X) and len({tuple(r) for r in o1.X}) == 16
    w = np.array(moons.start)
    _, g, _ = by_sample(o1, w)  # the batch's own loss, same closed form
    np.testing.assert_allclose(o1.grad(w), g, rtol=1e-12)
    assert not np.allclose(o1.grad(w), moons.grad(w))
    with pytest.raises(ValueError, match="batch_size"):
        moons.with_batch_size(0)
    with pytest.raises(ValueError, match="batch_size"):
        moons.with_batch_size(2.5)


def test_a_run_on_mini_batches_is_reproducible_and_differs_from_full_batch(moons):
    opt = get_optimizer("sgd", lr=1.0)
    start = np.array(moons.start)
    a = run(opt, moons.with_batch_size(32), start, 30, seed=4)
    b = run(opt, moons.with_batch_size(32), start, 30, seed=4)
    full = run(opt, moons, start, 30)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.allclose(a.points, full.points)
    np.testing.assert_allclose(a.losses, moons.value(a.points), rtol=1e-13)  # full-data loss


def test_accuracy_is_the_whole_data_sets(moons):
    pts = points(moons, 10)
    acc = moons.accuracy(pts)
    for w, a in zip(pts, acc, strict=True):
        z = (moons.X - np.asarray(CENTRE)) @ w
        assert a == np.mean((z > 0) == (moons.labels == 1))
    # The line's direction alone decides it (no bias): scaling w changes nothing.
    np.testing.assert_array_equal(moons.accuracy(3.0 * pts), acc)
    out = moons.accuracy(np.array([[np.nan, 1.0], [np.inf, 0.0], list(moons.start)]))
    assert np.isnan(out[:2]).all() and np.isfinite(out[2])
    assert moons.accuracy(moons.minima[0]) > 0.85 > 0.5 > moons.accuracy(moons.start)


def test_decision_boundary_is_the_line_through_the_centre(moons):
    w = np.array(moons.minima[0])
    xs, ys, prob = moons.decision_boundary(w, grid=41)
    assert prob.shape == (41, 41)
    xx, yy = np.meshgrid(xs, ys)
    z = w[0] * (xx - CENTRE[0]) + w[1] * (yy - CENTRE[1])
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-z)), rtol=1e-12)
    _, _, probs = moons.decision_boundary(np.stack([w, -w]), grid=11)
    assert probs.shape == (2, 11, 11)
    np.testing.assert_allclose(probs[0] + probs[1], 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="grid"):
        moons.decision_boundary(w, grid=1)


def test_other_data_sizes_and_noise_build():
    s = logistic_moons(n=100, noise=0.1, seed=2, batch_size=10)
    assert s.batch_size == 10 and s.X.shape == (100, 2)
    assert np.abs(s.grad(np.array(s.minima[0]))).max() < 1e-12
