"""The network landscape's maths: backprop against finite differences, the PCA and random
planes, projections, the grid, and the plane as a Surface."""

from __future__ import annotations

import numpy as np
import pytest

from surfaces.landscape import (
    DATASETS,
    PlaneSurface,
    batched_loss,
    filter_normalise,
    grid_loss,
    make_data,
    pca_plane,
    project,
    random_plane,
)
from surfaces.network import MLP

SHAPES = [(2, 16, 16, 1), (2, 5, 1), (2, 8, 4, 3, 1), (2, 1)]


def central(model, theta, X, y, h=1e-6):
    fd = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        fd[k] = (model.loss(theta + e, X, y) - model.loss(theta - e, X, y)) / (2 * h)
    return fd


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("widths", SHAPES)
@pytest.mark.parametrize("data", ["moons", "spirals"])
def test_backprop_equals_finite_differences(widths, activation, data):
    X, y = make_data(data, 60, 0.2, seed=1)
    model = MLP(widths, activation)
    # biases away from zero so that no ReLU sits at its kink within h of a sample
    theta = model.init(np.random.default_rng(2)) + 0.1 * np.random.default_rng(3).standard_normal(
        model.size
    )
    _, g = model.backprop(theta, X, y)
    fd = central(model, theta, X, y)
    assert np.linalg.norm(g - fd) <= 1e-6 * np.linalg.norm(g)


@pytest.mark.parametrize("name", DATASETS)
def test_data_sets_are_seeded_balanced_and_two_class(name):
    X, y = make_data(name, 101, 0.1, seed=5)
    X2, y2 = make_data(name, 101, 0.1, seed=5)
    X3, _ = make_data(name, 101, 0.1, seed=6)
    assert X.shape == (101, 2) and y.shape == (101,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert 20 < y.sum() < 81


def test_noise_free_circles_have_their_radii_and_xor_its_quadrants():
    X, y = make_data("circles", 200, 0.0, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 1], 0.5, atol=1e-12)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-12)
    X, y = make_data("xor", 200, 0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(float))


@pytest.mark.parametrize(
    ("args", "message"),
    [(("blobs",), "unknown data set"), (("moons", 1), "n must"), (("xor", 10, -1.0), "noise")],
)
def test_make_data_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        make_data(*args)


@pytest.fixture
def walk():
    """Three 'runs' of 40 vectors in 30 dimensions drifting mostly along two directions."""
    rng = np.random.default_rng(0)
    P = 30
    u, v = rng.standard_normal(P), rng.standard_normal(P)
    t = np.linspace(0, 1, 40)[:, None]
    runs = [
        5 * t * u + 2 * np.sin(3 * t + k) * v + 0.05 * rng.standard_normal((40, P))
        for k in range(3)
    ]
    return np.concatenate(runs), runs[0][-1]


def test_pca_directions_are_orthonormal_with_the_svds_explained_variance(walk):
    thetas, ref = walk
    plane = pca_plane(thetas, ref)
    B = np.stack([plane.d1, plane.d2])
    np.testing.assert_allclose(B @ B.T, np.eye(2), atol=1e-12)
    s = np.linalg.svd(thetas - ref, compute_uv=False)
    np.testing.assert_allclose(plane.explained, s[:2] ** 2 / np.sum(s**2), rtol=1e-10)
    _, _, vt = np.linalg.svd(thetas - ref)
    # the same directions as the SVD's, up to sign
    np.testing.assert_allclose(abs(vt[0] @ plane.d1), 1.0, atol=1e-10)
    np.testing.assert_allclose(abs(vt[1] @ plane.d2), 1.0, atol=1e-10)
    assert plane.explained[0] >= plane.explained[1] > 0
    assert plane.explained[0] + plane.explained[1] > 0.95  # two directions carry the walk


def test_pca_of_fewer_vectors_than_weights_is_the_svds_from_the_small_gram_matrix():
    """Two rules × 21 vectors of a 12,737-weight net: the P×P eigenproblem took minutes and
    GBs; the 42×42 one gives the same directions (up to sign, fixed: larger end up)."""
    rng = np.random.default_rng(3)
    P = 12_737
    u, v = rng.standard_normal(P), rng.standard_normal(P)
    t = np.linspace(0, 1, 21)[:, None]
    thetas = np.concatenate(
        [3 * t * u + np.sin(2 * t + k) * v + 0.01 * rng.standard_normal((21, P)) for k in (0, 1)]
    )
    ref = thetas[20]
    plane = pca_plane(thetas, ref)
    _, s, vt = np.linalg.svd(thetas - ref, full_matrices=False)
    for d, w in ((plane.d1, vt[0]), (plane.d2, vt[1])):
        np.testing.assert_allclose(abs(w @ d), 1.0, atol=1e-10)
        np.testing.assert_allclose(np.linalg.norm(d), 1.0, atol=1e-12)
        assert d[np.argmax(np.abs(d))] > 0
    np.testing.assert_allclose(plane.explained, s[:2] ** 2 / np.sum(s**2), rtol=1e-10)


def test_pca_leaves_out_diverged_rows_and_refuses_a_line(walk):
    thetas, ref = walk
    with_nan = np.concatenate([thetas, np.full((5, thetas.shape[1]), np.nan)])
    a, b = pca_plane(thetas, ref), pca_plane(with_nan, ref)
    np.testing.assert_allclose(a.explained, b.explained, rtol=1e-12)
    line = ref + np.linspace(0, 1, 10)[:, None] * np.ones(thetas.shape[1])
    with pytest.raises(ValueError, match="fewer than two directions"):
        pca_plane(line, ref)


@pytest.mark.parametrize("kind", ["pca", "random"])
def test_projections_are_the_least_squares_coordinates_and_distances(walk, kind):
    thetas, ref = walk
    if kind == "pca":
        plane = pca_plane(thetas, ref)
    else:
        rng = np.random.default_rng(1)
        plane = pca_plane(thetas, ref)._replace(
            d1=rng.standard_normal(ref.size), d2=rng.standard_normal(ref.size), kind="random"
        )
    coords, dist = project(plane, thetas)
    B = np.stack([plane.d1, plane.d2], axis=1)
    lsq = np.linalg.lstsq(B, (thetas - ref).T, rcond=None)[0].T
    np.testing.assert_allclose(coords, lsq, rtol=1e-9, atol=1e-12)
    resid = (thetas - ref) - lsq @ B.T
    np.testing.assert_allclose(dist, np.linalg.norm(resid, axis=1), rtol=1e-9, atol=1e-12)
    # a vector in the plane projects onto itself at distance 0
    c, d = project(plane, plane.at(0.3, -1.2))
    np.testing.assert_allclose(c, [0.3, -1.2], atol=1e-12)
    assert d < 1e-12


@pytest.mark.parametrize("widths", [(2, 16, 16, 1), (2, 3, 7, 1)])
def test_filter_normalised_directions_have_each_units_norm_and_no_bias(widths):
    model = MLP(widths, "tanh")
    theta = model.init(np.random.default_rng(4)) + 0.3
    plane = random_plane(model, theta, seed=9)
    for d in (plane.d1, plane.d2):
        for (Wd, bd), (Wt, _) in zip(model.unpack(d), model.unpack(theta), strict=True):
            np.testing.assert_allclose(
                np.linalg.norm(Wd, axis=1), np.linalg.norm(Wt, axis=1), rtol=1e-12
            )
            assert np.all(bd == 0)
    assert not np.allclose(plane.d1, plane.d2)
    again = random_plane(model, theta, seed=9)
    np.testing.assert_array_equal(plane.d1, again.d1)
    assert plane.explained is None


def test_filter_normalise_keeps_a_zero_row_zero():
    model = MLP((2, 3, 1), "tanh")
    theta = np.arange(model.size, dtype=float)
    d = np.ones(model.size)
    d[:2] = 0.0  # the first unit's incoming weights
    out = filter_normalise(model, d, theta)
    assert np.all(out[:2] == 0)


def test_grid_loss_is_the_loss_at_each_grid_point_and_the_plane_surface_agrees():
    X, y = make_data("moons", 80, 0.2, seed=0)
    model = MLP((2, 6, 1), "tanh")
    theta = model.init(np.random.default_rng(0))
    plane = random_plane(model, theta, seed=1)
    a, b = np.linspace(-1, 1, 7), np.linspace(-2, 2, 5)
    z = grid_loss(model, plane, a, b, X, y)
    assert z.shape == (5, 7)
    for i, bi in enumerate(b):
        for j, aj in enumerate(a):
            assert z[i, j] == pytest.approx(model.loss(plane.at(aj, bi), X, y), rel=1e-12)
    s = PlaneSurface.build(
        model,
        plane,
        X,
        y,
        name="p",
        label="p",
        description="",
        latex="",
        x_range=(-1, 1),
        y_range=(-2, 2),
    )
    np.testing.assert_allclose(s.value(np.array([a[2], b[3]])), z[3, 2], rtol=1e-12)
    # the Surface's gradient is backprop projected on the directions: finite differences
    p, h = np.array([0.2, -0.4]), 1e-6
    fd = [(s.value(p + e) - s.value(p - e)) / (2 * h) for e in (np.array([h, 0]), np.array([0, h]))]
    np.testing.assert_allclose(s.grad(p), fd, rtol=1e-6)


def test_batched_loss_gives_nan_for_non_finite_vectors_only():
    X, y = make_data("xor", 50, 0.1, seed=0)
    model = MLP((2, 4, 1), "relu")
    thetas = np.stack([model.init(np.random.default_rng(k)) for k in range(3)])
    thetas[1, 0] = np.nan
    out = batched_loss(model, thetas, X, y)
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()
    assert out[2] == pytest.approx(model.loss(thetas[2], X, y), rel=1e-12)


def test_grid_surface_is_exact_at_the_nodes_and_linear_between():
    from surfaces.landscape import grid_surface

    a, b = np.linspace(-1, 2, 4), np.linspace(0, 1, 3)
    A, B = np.meshgrid(a, b)
    z = 3 * A - 2 * B + A * B  # bilinear: reproduced everywhere
    s = grid_surface(a, b, z, name="g", label="g", description="", latex="")
    p = np.stack([A, B], -1)
    np.testing.assert_allclose(s.value(p), z, rtol=0, atol=1e-12)
    q = np.array([[0.3, 0.7], [1.9, 0.05]])
    np.testing.assert_allclose(
        s.value(q), 3 * q[:, 0] - 2 * q[:, 1] + q[:, 0] * q[:, 1], atol=1e-12
    )
    np.testing.assert_allclose(s.grad(np.array([0.3, 0.7])), [3 + 0.7, -2 + 0.3], atol=1e-12)
    assert s.x_range == (-1.0, 2.0) and s.y_range == (0.0, 1.0)


def test_batched_accuracy_is_the_share_classified_right():
    from surfaces.landscape import batched_eval

    X, y = make_data("circles", 70, 0.1, seed=2)
    model = MLP((2, 5, 1), "tanh")
    thetas = np.stack([model.init(np.random.default_rng(k)) for k in range(4)])
    loss, acc = batched_eval(model, thetas, X, y)
    for k in range(4):
        prob = model.predict(thetas[k], X)
        assert acc[k] == ((prob > 0.5) == (y > 0.5)).mean()
        assert loss[k] == pytest.approx(model.loss(thetas[k], X, y), rel=1e-12)
