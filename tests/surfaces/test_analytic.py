"""The analytic surfaces: exact derivatives, minima, shapes, and no numpy warnings.

Every test over surfaces is parametrised over the registry, so a surface added to
``surfaces.analytic.ALL`` is checked without touching this file.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from optimizers import OPTIMIZERS, get_optimizer, run
from surfaces import SURFACES, get_surface

NAMES = sorted(SURFACES)

# Global minimum values known from the literature (or in closed form).
KNOWN_MIN_VALUES = {
    "quadratic": 0.0,
    "ravine": 0.0,
    "long_valley": 0.0,
    "rosenbrock": 0.0,
    "beale": 0.0,
    "himmelblau": 0.0,
    "booth": 0.0,
    "rastrigin": 0.0,
    "ackley": 0.0,
    "goldstein_price": 3.0,
    "six_hump_camel": -1.0316284534898774,
    "styblinski_tang": -39.16616570377142 * 2,
    "mccormick": -math.pi / 3 - math.sqrt(3) / 2,
}
REQUIRED = set(KNOWN_MIN_VALUES) | {"saddle", "monkey_saddle"}


def random_points(s, n=24, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([s.x_range[0], s.y_range[0]])
    hi = np.array([s.x_range[1], s.y_range[1]])
    return lo + (hi - lo) * rng.random((n, 2))


def step_size(s):
    # A five-point stencil has error O(h⁴) + O(ε/h): h ≈ 2e-4 of the window balances both.
    return 2e-4 * max(np.ptp(s.x_range), np.ptp(s.y_range))


def five_point(fn, p, h):
    """Central differences of ``fn`` at the points ``p`` (n, 2) along x and y: (n, 2, ...)."""
    cols = []
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        d = (fn(p - 2 * e) - 8 * fn(p - e) + 8 * fn(p + e) - fn(p + 2 * e)) / (12 * h)
        cols.append(d)
    return np.stack(cols, axis=1)


def test_registry_has_the_required_surfaces():
    assert set(SURFACES) >= REQUIRED, REQUIRED - set(SURFACES)
    assert len(SURFACES) >= 14


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    s = get_surface(name)
    assert s.name == name
    assert s.label and s.latex
    assert s.description and "\n" not in s.description
    for lo, hi in (s.x_range, s.y_range):
        assert lo < hi
    for x, y in (s.start, *s.minima):
        assert s.x_range[0] <= x <= s.x_range[1]
        assert s.y_range[0] <= y <= s.y_range[1]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    s = get_surface(name)
    p = random_points(s)
    h = step_size(s)
    g = s.grad(p)
    fd = five_point(s.value, p, h)
    # Norm-relative error; the floor (1e-9 of the value's size) only matters where the
    # gradient nearly vanishes, and stays far below the 1e-6 a wrong formula would miss.
    floor = 1e-9 * (1.0 + np.abs(s.value(p)))
    err = np.linalg.norm(g - fd, axis=-1) / np.maximum(np.linalg.norm(g, axis=-1), floor)
    assert err.max() <= 1e-6, (p[err.argmax()], g[err.argmax()], fd[err.argmax()])


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_and_is_symmetric(name):
    s = get_surface(name)
    p = random_points(s, seed=1)
    h = step_size(s)
    hess = s.hessian(p)
    np.testing.assert_array_equal(hess, np.swapaxes(hess, -1, -2))
    # Column j of the finite-difference Hessian is ∂grad/∂x_j; both off-diagonal entries
    # come from different derivatives, so they check fxy against ∂fx/∂y and ∂fy/∂x.
    fd = np.swapaxes(five_point(s.grad, p, h), 1, 2)
    floor = 1e-9 * (1.0 + np.linalg.norm(s.grad(p), axis=-1))
    err = np.linalg.norm(hess - fd, axis=(1, 2)) / np.maximum(
        np.linalg.norm(hess, axis=(1, 2)), floor
    )
    assert err.max() <= 1e-6, (p[err.argmax()], hess[err.argmax()], fd[err.argmax()])


@pytest.mark.parametrize("name", NAMES)
def test_minima_are_stationary_global_and_have_the_listed_value(name):
    s = get_surface(name)
    if not s.minima:
        assert s.min_value is None
        return
    m = np.array(s.minima, dtype=float)
    hess = s.hessian(m)
    # Rounding the minimum to doubles moves the gradient by about ‖H‖·ε·|m|.
    scale = 1.0 + np.linalg.norm(hess, ord=2, axis=(1, 2)) * (1.0 + np.linalg.norm(m, axis=-1))
    assert (np.linalg.norm(s.grad(m), axis=-1) <= 1e-9 * scale).all(), s.grad(m)
    assert (np.linalg.eigvalsh(hess) >= -1e-9).all(), "a listed minimum is not a minimum"
    values = s.value(m)
    tol = 1e-12 * (1.0 + abs(s.min_value))
    # Several listed minima are all global: they share one value.
    np.testing.assert_allclose(values, s.min_value, rtol=0, atol=tol)
    if name in KNOWN_MIN_VALUES:
        assert s.min_value == pytest.approx(KNOWN_MIN_VALUES[name], rel=0, abs=tol)
    # No point of a fine grid over the window lies below the listed minimum.
    _, _, zz = s.grid(301)
    assert zz.min() >= s.min_value - tol


def test_minima_locations_known_from_the_literature():
    # Styblinski-Tang: each coordinate is the smallest root of 2t³ − 16t + 2.5 = 0,
    # solved here by Newton from -3 independently of the surface's own polishing.
    t = -3.0
    for _ in range(50):
        t -= (2 * t**3 - 16 * t + 2.5) / (6 * t**2 - 16)
    np.testing.assert_allclose(get_surface("styblinski_tang").minima, [(t, t)], rtol=1e-15)
    assert t == pytest.approx(-2.903534, abs=1e-6)
    # McCormick: x − y = 1 and x + y = −2π/3.
    mc = get_surface("mccormick").minima
    np.testing.assert_allclose(mc, [(0.5 - math.pi / 3, -0.5 - math.pi / 3)], rtol=1e-15)
    np.testing.assert_allclose(mc, [(-0.54719, -1.54719)], atol=1e-5)
    assert get_surface("beale").minima == ((3.0, 0.5),)
    assert get_surface("rosenbrock").minima == ((1.0, 1.0),)
    assert get_surface("booth").minima == ((1.0, 3.0),)
    assert get_surface("goldstein_price").minima == ((0.0, -1.0),)
    himmelblau = sorted(get_surface("himmelblau").minima)
    expected = sorted(
        [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)]
    )
    assert np.allclose(himmelblau, expected, atol=1e-6)
    camel = sorted(get_surface("six_hump_camel").minima)
    assert np.allclose(camel, [(-0.0898, 0.7126), (0.0898, -0.7126)], atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
def test_shapes(name, shape):
    s = get_surface(name)
    p = random_points(s, n=int(np.prod(shape)), seed=3).reshape(*shape, 2)
    assert s.value(p).shape == shape
    assert s.grad(p).shape == (*shape, 2)
    assert s.hessian(p).shape == (*shape, 2, 2)
    # Batched and one-by-one evaluation agree exactly.
    flat = p.reshape(-1, 2)
    one = np.array([s.value(q) for q in flat]).reshape(shape)
    np.testing.assert_array_equal(s.value(p), one)


@pytest.mark.parametrize("name", NAMES)
def test_no_floating_point_warnings_in_and_around_the_window(name):
    s = get_surface(name)
    # Three times the window around its centre, plus the exact origin and minima.
    (x0, x1), (y0, y1) = s.x_range, s.y_range
    cx, cy, wx, wy = (x0 + x1) / 2, (y0 + y1) / 2, 1.5 * (x1 - x0), 1.5 * (y1 - y0)
    xx, yy = np.meshgrid(np.linspace(cx - wx, cx + wx, 121), np.linspace(cy - wy, cy + wy, 121))
    extra = np.array([(0.0, 0.0), (1e-300, 0.0), (0.0, -5e-324), *s.minima, s.start])
    p = np.concatenate([np.stack([xx, yy], axis=-1).reshape(-1, 2), extra])
    with warnings.catch_warnings(), np.errstate(divide="raise", over="raise", invalid="raise"):
        warnings.simplefilter("error")
        results = (s.value(p), s.grad(p), s.hessian(p))
    for r in results:
        assert np.isfinite(r).all()


def test_ackley_is_finite_at_its_kink():
    s = get_surface("ackley")
    origin = np.zeros(2)
    assert s.value(origin) == 0.0
    np.testing.assert_array_equal(s.grad(origin), [0.0, 0.0])  # the subgradient at the kink
    assert np.isfinite(s.hessian(origin)).all()
    # Just off the kink the cone's gradient has its true size, 2·√2·… pointing outward.
    g = s.grad(np.array([1e-12, 0.0]))
    assert g[0] == pytest.approx(2 * math.sqrt(2), rel=1e-9)


def test_ravine_is_ill_conditioned_and_not_axis_aligned():
    s = get_surface("ravine")
    eigval, eigvec = np.linalg.eigh(s.hessian(np.zeros(2)))
    assert eigval[1] / eigval[0] >= 50 - 1e-9
    along = eigvec[:, 0]
    assert max(abs(along)) < 0.99  # the valley's floor is at an angle to both axes


def test_get_surface_unknown_name_names_the_choices():
    with pytest.raises(KeyError) as info:
        get_surface("nope")
    message = str(info.value)
    assert "nope" in message
    for name in SURFACES:
        assert name in message


def test_long_valley_behaves_as_documented():
    """SGD crawls along the floor; an adaptive rule runs down it, at one shared α."""
    s = get_surface("long_valley")
    adaptive = "rmsprop" if "rmsprop" in OPTIMIZERS else "adam"
    steps, lr = 200, 0.01
    x_span = np.ptp(s.x_range)
    sgd = run(get_optimizer("sgd", lr=lr), s, s.start, steps).points
    ada = run(get_optimizer(adaptive, lr=lr), s, s.start, steps).points
    sgd_progress = sgd[-1, 0] - s.start[0]
    ada_progress = ada[-1, 0] - s.start[0]
    # SGD settles onto the floor but gets almost nowhere along it.
    assert abs(sgd[-1, 1]) < 1e-3
    assert 0 < sgd_progress < 0.03 * x_span
    # The adaptive rule goes a long way down the floor, many times farther than SGD,
    # and after its first steps it stays on the floor.
    assert ada_progress > 0.25 * x_span
    assert ada_progress > 10 * sgd_progress
    assert np.abs(ada[steps // 2 :, 1]).max() < 0.1 * np.ptp(s.y_range)
