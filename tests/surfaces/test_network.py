"""The noisy-moons network: data, backpropagation against finite differences, the surface."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from optimizers import get_optimizer, run
from surfaces import SURFACES, get_surface
from surfaces.network import MLP, NetworkSurface, make_moons, noisy_moons

# --- data ---------------------------------------------------------------------------


def test_make_moons_shapes_balance_and_seeding():
    X, y = make_moons(101, noise=0.2, seed=3)
    assert X.shape == (101, 2)
    assert y.shape == (101,)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert (y == 0).sum() == 50 and (y == 1).sum() == 51
    X2, y2 = make_moons(101, noise=0.2, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_moons(101, noise=0.2, seed=4)
    assert not np.array_equal(X, X3)


def test_make_moons_without_noise_lies_on_the_two_half_circles():
    X, y = make_moons(60, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(1 - lower[:, 0], 0.5 - lower[:, 1]), 1.0, rtol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()


def test_make_moons_noise_moves_points_by_about_noise():
    X1, y1 = make_moons(2000, noise=0.1, seed=1)
    # The distance of the upper class to its arc spreads like the noise's scale.
    r = np.hypot(X1[y1 == 0, 0], X1[y1 == 0, 1]) - 1
    assert 0.07 < r.std() < 0.13


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n": 1}, "n must be"), ({"n": 2.5}, "n must be"), ({"noise": -1}, "noise must be")],
)
def test_make_moons_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_moons(**kwargs)


# --- backpropagation ----------------------------------------------------------------


SHAPES = [
    ([2, 1], "tanh"),  # logistic regression: Radford's original
    ([2, 4, 1], "tanh"),
    ([2, 4, 1], "sigmoid"),
    ([2, 8, 8, 1], "tanh"),
    ([2, 8, 8, 1], "relu"),
    ([2, 5, 3, 1], "sigmoid"),
    ([3, 6, 1], "identity"),
    ([2, 16, 1], "relu"),
]


def setup(widths, activation, seed=0, n=40):
    rng = np.random.default_rng(seed)
    model = MLP(widths, activation)
    X = rng.standard_normal((n, widths[0]))
    y = (rng.random(n) < 0.5).astype(float)
    theta = model.init(rng) + 0.3 * rng.standard_normal(model.size)  # non-zero biases too
    return model, X, y, theta


def central_differences(model, theta, X, y, h):
    """Five-point central differences: error O(h⁴) + O(ε/h), ~1e-12 at h = 1e-3."""
    fd = np.empty(model.size)
    for k in range(model.size):
        e = np.zeros(model.size)
        e[k] = h
        f = [model.loss(theta + m * e, X, y) for m in (-2, -1, 1, 2)]
        fd[k] = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h)
    return fd


def kinks_crossed(model, theta, X, h):
    """Per parameter: does ±h or ±2h flip a ReLU unit (where differences are invalid)?"""
    if model.activation != "relu":
        return np.zeros(model.size, dtype=bool)
    base = [a > 0 for a in model.forward(theta, X)[0][1:-1]]
    out = np.zeros(model.size, dtype=bool)
    for k in range(model.size):
        for step in (-2, -1, 1, 2):
            e = np.zeros(model.size)
            e[k] = step * h
            after = [a > 0 for a in model.forward(theta + e, X)[0][1:-1]]
            out[k] |= any((a != b).any() for a, b in zip(base, after, strict=True))
    return out


def relative_errors(g, fd):
    """Per entry |g − fd| / max(|g|, |fd|), with a floor of 1e-6 of the largest entry."""
    floor = 1e-6 * np.abs(g).max()
    return np.abs(g - fd) / np.maximum(np.maximum(np.abs(g), np.abs(fd)), floor)


@pytest.mark.parametrize(("widths", "activation"), SHAPES)
def test_backprop_equals_central_differences_for_every_parameter(widths, activation):
    model, X, y, theta = setup(widths, activation)
    loss, g = model.backprop(theta, X, y)
    assert g.shape == (model.size,)
    assert loss == pytest.approx(model.loss(theta, X, y), rel=1e-15)
    h = 1e-3
    fd = central_differences(model, theta, X, y, h)
    valid = ~kinks_crossed(model, theta, X, h)
    assert valid.sum() >= 0.95 * model.size  # the check covers (nearly) every parameter
    err = relative_errors(g, fd)[valid]
    assert err.max() <= 1e-6, (model.names()[int(np.argmax(err))], err.max())
    assert np.abs(g).max() > 1e-3  # a real gradient, not zeros matching zeros


@pytest.mark.parametrize(("widths", "activation"), SHAPES[:4])
def test_backprop_of_a_batch_of_networks_equals_one_at_a_time(widths, activation):
    model, X, y, theta = setup(widths, activation, seed=1)
    thetas = theta + 0.5 * np.random.default_rng(2).standard_normal((3, 2, model.size))
    losses, grads = model.backprop(thetas, X, y)
    assert losses.shape == (3, 2)
    assert grads.shape == (3, 2, model.size)
    for idx in np.ndindex(3, 2):
        one_loss, one_grad = model.backprop(thetas[idx], X, y)
        np.testing.assert_allclose(losses[idx], one_loss, rtol=1e-13)
        np.testing.assert_allclose(grads[idx], one_grad, rtol=1e-12, atol=1e-15)


def test_backprop_follows_the_notes_delta_recursion_on_a_hand_sized_net():
    """A 2-2-1 tanh net written out by hand: δ², δ¹, ∇W = δ xᵀ for one sample."""
    model = MLP([2, 2, 1], "tanh")
    theta = np.array([0.3, -0.2, 0.5, 0.1, 0.05, -0.1, 0.7, -0.4, 0.2])
    W1, b1 = theta[:4].reshape(2, 2), theta[4:6]
    W2, b2 = theta[6:8].reshape(1, 2), theta[8:9]
    x1 = np.array([0.6, -1.2])
    label = 1.0
    x2 = np.tanh(b1 + W1 @ x1)
    x3 = 1 / (1 + np.exp(-(b2 + W2 @ x2)))
    d2 = x3 - label  # δ^L for sigmoid + cross-entropy, N = 1
    d1 = (1 - x2**2) * (W2.T @ d2)  # δ^{l-1} = (f^{l-1})' ∘ (W^l)^T δ^l
    want = np.concatenate([np.outer(d1, x1).ravel(), d1, np.outer(d2, x2).ravel(), d2])
    _, g = model.backprop(theta, x1[None, :], np.array([label]))
    np.testing.assert_allclose(g, want, rtol=1e-14, atol=1e-16)


def test_loss_is_stable_for_huge_logits():
    model = MLP([2, 1])
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    y = np.array([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good = model.loss(np.array([1000.0, 0.0, 0.0]), X, y)
        bad, g = model.backprop(np.array([-1000.0, 0.0, 0.0]), X, y)
    assert good == pytest.approx(0.0, abs=1e-300)
    assert bad == pytest.approx(1000.0, rel=1e-12)
    np.testing.assert_allclose(g, [-1.0, 0.0, 0.0], atol=1e-12)


def test_known_pass_equals_the_full_pass():
    model, X, y, theta = setup([2, 5, 3, 1], "tanh", seed=3)
    for pair in [(0, 1), (3, 12), (10, 20), (model.size - 2, model.size - 1), (0, model.size - 1)]:
        known = model.known(theta, X, pair)
        thetas = np.broadcast_to(theta, (4, model.size)).copy()
        thetas[:, pair[0]] += np.linspace(-1, 1, 4)
        thetas[:, pair[1]] -= np.linspace(-2, 2, 4)
        full_loss, full_grad = model.backprop(thetas, X, y)
        fast_loss, fast_grad = model.backprop(thetas, X, y, known)
        np.testing.assert_allclose(fast_loss, full_loss, rtol=1e-13)
        np.testing.assert_allclose(fast_grad, full_grad, rtol=1e-12, atol=1e-15)


def test_backprop_without_the_loss_gives_the_same_gradient():
    model, X, y, theta = setup([2, 5, 3, 1], "tanh", seed=4)
    thetas = theta + np.linspace(-1, 1, 6)[:, None]
    loss, grad = model.backprop(thetas, X, y)
    none, same = model.backprop(thetas, X, y, loss=False)
    assert none is None
    np.testing.assert_array_equal(same, grad)
    np.testing.assert_allclose(loss, model.loss(thetas, X, y), rtol=1e-13)


def test_chunks_stay_under_the_mmap_threshold_and_cover_the_batch(moons):
    from surfaces.network import CHUNK_BYTES, _chunk

    n = len(moons.labels)
    chunk = _chunk(moons.model, n)
    assert chunk >= 1 and chunk * n * max(moons.model.widths) * 8 <= CHUNK_BYTES < 128 * 1024
    assert _chunk(MLP([2, 4096, 1]), 10_000) == 1  # never zero, however wide
    # A batch spanning several chunks (and a partial last one) equals each point alone.
    p = np.stack(np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-2, 2, 2 * chunk // 7 + 2)), -1)
    assert p[..., 0].size > 2 * chunk
    grads, values = moons.grad(p), moons.value(p)
    for idx in np.ndindex(p.shape[:-1]):
        np.testing.assert_array_equal(moons.grad(p[idx]), grads[idx])
        np.testing.assert_array_equal(moons.value(p[idx]), values[idx])


def test_parameter_names_and_locations():
    model = MLP([2, 3, 1])
    names = model.names()
    assert len(names) == model.size == 2 * 3 + 3 + 3 + 1
    assert names[:3] == ["W1[0,0]", "W1[0,1]", "W1[1,0]"]
    assert names[6:9] == ["b1[0]", "b1[1]", "b1[2]"]
    assert names[-1] == "b2[0]"
    assert model.locate(model.index("W1[2,1]")) == (1, 2)
    assert model.locate(model.index("b1[1]")) == (1, 1)
    assert model.locate(model.index("W2[0,2]")) == (2, 0)
    W1, b1 = model.unpack(np.arange(model.size, dtype=float))[0]
    assert W1[2, 1] == model.index("W1[2,1]")
    assert b1[1] == model.index("b1[1]")


@pytest.mark.parametrize(
    ("widths", "activation", "message"),
    [
        ([2], "tanh", "widths must be"),
        ([2, 3, 2], "tanh", "widths must be"),
        ([2, 0, 1], "tanh", "widths must be"),
        ([2, 3, 1], "swish", "unknown activation 'swish'"),
    ],
)
def test_mlp_refuses_bad_shapes(widths, activation, message):
    with pytest.raises(ValueError, match=message):
        MLP(widths, activation)


def test_unknown_weight_name_is_refused():
    with pytest.raises(ValueError, match="has no parameter 'W9"):
        noisy_moons(weights=("W9[0,0]", "W1[0,1]"))
    with pytest.raises(ValueError, match="two different weights"):
        noisy_moons(weights=("W1[0,0]", "W1[0,0]"))


# --- the surface ------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons():
    return get_surface("noisy_moons")


def window_points(s, n=30, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([s.x_range[0], s.y_range[0]])
    hi = np.array([s.x_range[1], s.y_range[1]])
    return lo + (hi - lo) * rng.random((n, 2))


def test_registered_with_window_minimum_and_start(moons):
    assert isinstance(moons, NetworkSurface)
    assert SURFACES["noisy_moons"] is moons
    assert moons.has_hessian
    (mx, my), (sx, sy) = moons.minima[0], moons.start
    for x, y in ((mx, my), (sx, sy)):
        assert moons.x_range[0] < x < moons.x_range[1]
        assert moons.y_range[0] < y < moons.y_range[1]
    assert np.linalg.norm(moons.grad(moons.minima[0])) < 1e-9
    assert (np.linalg.eigvalsh(moons.hessian(moons.minima[0])) > 0).all()
    _, _, zz = moons.grid(60)
    assert zz.min() >= moons.min_value - 1e-12
    assert moons.value(moons.start) > moons.min_value + 0.5  # a long way down to go
    assert moons.accuracy(moons.start) < moons.accuracy(moons.minima[0]) - 0.1


def test_surface_grad_is_backprop_of_the_two_weights(moons):
    p = window_points(moons)
    i, j = moons.pair
    _, g = moons.model.backprop(moons.params(p), moons.X, moons.labels)
    np.testing.assert_allclose(moons.grad(p), g[:, [i, j]], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        moons.value(p), moons.model.loss(moons.params(p), moons.X, moons.labels), rtol=1e-13
    )


def test_surface_grad_and_hessian_match_finite_differences(moons):
    p = window_points(moons, seed=1)
    h = 1e-5
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    fd_grad = np.stack(
        [
            (moons.value(p + ex) - moons.value(p - ex)) / (2 * h),
            (moons.value(p + ey) - moons.value(p - ey)) / (2 * h),
        ],
        axis=-1,
    )
    err = relative_errors(moons.grad(p).ravel(), fd_grad.ravel())
    assert err.max() <= 1e-6
    # The Hessian (central differences of the backprop gradient) against second
    # differences of the loss itself: an independent route, so a looser tolerance.
    hh = 1e-4
    fxx = (moons.value(p + hh * ex / h) - 2 * moons.value(p) + moons.value(p - hh * ex / h)) / hh**2
    H = moons.hessian(p)
    np.testing.assert_allclose(H[:, 0, 0], fxx, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(H[:, 0, 1], H[:, 1, 0])


def test_the_whole_window_evaluates_without_warnings(moons):
    xs = np.linspace(moons.x_range[0] - 1e3, moons.x_range[1] + 1e3, 40)
    p = np.stack(np.meshgrid(xs, xs), axis=-1)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        v, g, h = moons.value(p), moons.grad(p), moons.hessian(p)
    assert v.shape == (40, 40) and g.shape == (40, 40, 2) and h.shape == (40, 40, 2, 2)
    assert np.isfinite(v).all() and np.isfinite(g).all() and np.isfinite(h).all()


def test_minibatch_oracle_is_seeded_and_differs_from_the_full_batch(moons):
    mb = moons.with_batch_size(16)
    p = np.array(moons.start)
    a = mb.oracle(0, np.random.default_rng(5))
    b = mb.oracle(0, np.random.default_rng(5))
    c = mb.oracle(0, np.random.default_rng(6))
    assert len(a.labels) == 16
    np.testing.assert_array_equal(a.grad(p), b.grad(p))
    assert not np.allclose(a.grad(p), c.grad(p))
    assert not np.allclose(a.grad(p), moons.grad(p))
    # It is the notes' SGD gradient: backprop on exactly the sampled rows.
    idx = np.random.default_rng(5).choice(len(moons.labels), size=16, replace=False)
    _, g = moons.model.backprop(moons.params(p), moons.X[idx], moons.labels[idx])
    np.testing.assert_allclose(a.grad(p), g[list(moons.pair)], rtol=1e-12)
    # Full batch (the default, or a batch as large as the data) is the surface itself.
    assert moons.oracle(0, np.random.default_rng(5)) is moons
    full = moons.with_batch_size(len(moons.labels))
    assert full.oracle(3, np.random.default_rng(5)) is full


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_with_batch_size_refuses_bad_sizes(moons, bad):
    with pytest.raises(ValueError, match="batch_size"):
        moons.with_batch_size(bad)


def test_minibatch_runs_are_reproducible_and_seed_dependent(moons):
    mb = moons.with_batch_size(32)
    opt = get_optimizer("sgd", lr=1.0)
    one = run(opt, mb, mb.start, 40, seed=1)
    two = run(opt, mb, mb.start, 40, seed=1)
    other = run(opt, mb, mb.start, 40, seed=2)
    full = run(opt, moons, moons.start, 40)
    np.testing.assert_array_equal(one.points, two.points)
    assert not np.allclose(one.points[-1], other.points[-1])
    assert not np.allclose(one.points[-1], full.points[-1])


@pytest.mark.parametrize(
    ("rule", "lr", "batch"),
    [("sgd", 1.0, None), ("adam", 0.1, None), ("sgd", 1.0, 32), ("adam", 0.1, 32)],
)
def test_optimizers_reduce_the_loss_and_raise_the_accuracy(moons, rule, lr, batch):
    s = moons.with_batch_size(batch)
    traj = run(get_optimizer(rule, lr=lr), s, s.start, 300, seed=0)
    assert traj.diverged_at is None
    losses = moons.value(traj.points)  # the full-batch loss along the path
    accuracy = moons.accuracy(traj.points)
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy[-1] >= accuracy[0] + 0.1
    assert accuracy[-1] >= 0.9
    assert losses[-1] < moons.min_value + 0.05


def test_accuracy_and_decision_boundary(moons):
    acc = moons.accuracy(window_points(moons).reshape(5, 6, 2))
    assert acc.shape == (5, 6)
    assert ((acc >= 0) & (acc <= 1)).all()
    xs, ys, prob = moons.decision_boundary(moons.minima[0], grid=50)
    assert xs.shape == (50,) and ys.shape == (50,) and prob.shape == (50, 50)
    assert ((prob >= 0) & (prob <= 1)).all()
    assert xs[0] < moons.X[:, 0].min() and xs[-1] > moons.X[:, 0].max()
    assert ys[0] < moons.X[:, 1].min() and ys[-1] > moons.X[:, 1].max()
    # The grid's probabilities agree with the network's prediction at the same inputs.
    inputs = np.array([[xs[3], ys[7]], [xs[40], ys[12]]])
    want = moons.model.predict(moons.params(np.array(moons.minima[0])), inputs)
    np.testing.assert_allclose([prob[7, 3], prob[12, 40]], want, rtol=1e-12)
    # Both classes are present: the boundary crosses the plane.
    assert prob.min() < 0.1 and prob.max() > 0.9
    # A whole trajectory at once equals one point at a time.
    path = window_points(moons, n=4)
    _, _, probs = moons.decision_boundary(path, grid=20)
    assert probs.shape == (4, 20, 20)
    for k in range(4):
        np.testing.assert_allclose(
            probs[k], moons.decision_boundary(path[k], grid=20)[2], rtol=1e-13
        )
    with pytest.raises(ValueError, match="a point"):
        moons.decision_boundary(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="grid"):
        moons.decision_boundary(moons.start, grid=1)


def test_other_network_shapes_make_surfaces_too():
    s = noisy_moons(widths=(2, 1), weights=("W1[0,0]", "W1[0,1]"), train_steps=100)
    assert s.model.size == 3
    p = window_points(s, n=10)
    h = 1e-5
    ex = np.array([h, 0.0])
    fd = (s.value(p + ex) - s.value(p - ex)) / (2 * h)
    assert relative_errors(s.grad(p)[:, 0], fd).max() <= 1e-6
    deep = noisy_moons(
        widths=(2, 4, 4, 1), activation="relu", weights=("W2[1,0]", "b3[0]"), train_steps=50
    )
    assert deep.value(deep.start) > deep.min_value


def test_surface_modules_import_neither_dash_nor_plotly():
    import subprocess
    import sys

    code = (
        "import sys, surfaces, surfaces.expression, surfaces.network\n"
        "surfaces.from_expression('x*y')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dash', 'plotly'))\n"
        "print(bad)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=root,
    )
    assert out.stdout.strip() == "[]"


def test_non_finite_points_give_nan_or_saturated_values_without_warnings(moons):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nan = np.array(np.nan)
        assert np.isnan(moons.f(nan, np.array(1.0)))
        assert np.isnan(moons.df(nan, np.array(1.0))).all()
        assert np.isfinite(moons.f(np.array(np.inf), np.array(0.0)))  # tanh saturates
        acc = moons.accuracy(np.array([[np.nan, 1.0], [np.inf, 0.0], list(moons.start)]))
    assert np.isnan(acc[:2]).all() and 0 < acc[2] <= 1


def test_the_surface_data_is_read_only(moons):
    for array in (moons.theta, moons.X, moons.labels):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    batch = moons.with_batch_size(8).oracle(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="read-only"):
        batch.X[0, 0] = 0.0
