"""Every rule against two steps computed by hand from its formula, in plain Python floats.

The surfaces have gradients that differ per coordinate (a rotated quadratic and
Rosenbrock), and α follows a schedule, so a step that mixes up coordinates, reads the
wrong step index or reorders the formula shows up at 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers import get_optimizer
from surfaces import get_surface
from surfaces.base import Surface

RTOL, ATOL = 1e-12, 1e-14


def rotated_grad(x, y):
    return 3 * x + y, x + 2 * y


def rotated_hess(x, y):
    return 3.0, 1.0, 2.0


ROTATED = Surface(
    name="rotated",
    label="Rotated quadratic",
    description="½(3x² + 2xy + 2y²): its axes are not the coordinate axes.",
    latex="",
    f=lambda x, y: 0.5 * (3 * x * x + 2 * x * y + 2 * y * y),
    df=rotated_grad,
    d2f=rotated_hess,
    x_range=(-2.0, 2.0),
    y_range=(-2.0, 2.0),
)


def rosen_grad(x, y):
    return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


def rosen_hess(x, y):
    return 2 - 400 * (y - x * x) + 800 * x * x, -400 * x, 200.0


# (surface, its gradient and Hessian in plain floats, start)
CASES = {
    "rotated": (ROTATED, rotated_grad, rotated_hess, (1.0, -2.0)),
    "rosenbrock": (get_surface("rosenbrock"), rosen_grad, rosen_hess, (-0.8, 1.3)),
}


def alpha(t):
    """The schedule every hand computation uses: t = 0 for the first step."""
    return 0.05 / (1 + t)


def two_steps(opt, surface, start):
    """Points after one and two calls of ``step``, plus the final state."""
    p = np.array(start, dtype=float)
    state = opt.init(p)
    out = []
    for _ in range(2):
        p, state = opt.step(p, state, surface)
        out.append(p)
    return out, state


def check(points, expected):
    for got, want in zip(points, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def denominator(c, eps, eps_in_sqrt):
    return math.sqrt(c + eps) if eps_in_sqrt else math.sqrt(c) + eps


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


def test_sgd(case):
    surface, grad, _, (x, y) = case
    W, expected = [x, y], []
    for t in range(2):
        g = grad(*W)
        W = [W[i] - alpha(t) * g[i] for i in range(2)]
        expected.append(W)
    check(two_steps(get_optimizer("sgd", lr=alpha), surface, (x, y))[0], expected)


def test_momentum(case):
    surface, grad, _, (x, y) = case
    mu, W, v, expected = 0.8, [x, y], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        v = [mu * v[i] - alpha(t) * g[i] for i in range(2)]
        W = [W[i] + v[i] for i in range(2)]
        expected.append(W)
    points, state = two_steps(get_optimizer("momentum", lr=alpha, momentum=mu), surface, (x, y))
    check(points, expected)
    np.testing.assert_allclose(state.v, v, rtol=RTOL, atol=ATOL)


def test_nesterov(case):
    surface, grad, _, (x, y) = case
    mu, W, v, expected, aheads = 0.8, [x, y], [0.0, 0.0], [], []
    for t in range(2):
        ahead = [W[i] + mu * v[i] for i in range(2)]
        aheads.append(ahead)
        g = grad(*ahead)
        v = [mu * v[i] - alpha(t) * g[i] for i in range(2)]
        W = [W[i] + v[i] for i in range(2)]
        expected.append(W)

    class Recording:
        """The surface, noting where the rule asks for gradients."""

        def __init__(self):
            self.asked = []

        def grad(self, p):
            self.asked.append(np.array(p))
            return surface.grad(p)

    oracle = Recording()
    points, _ = two_steps(get_optimizer("nesterov", lr=alpha, momentum=mu), oracle, (x, y))
    check(points, expected)
    # The gradient is taken at the look-ahead point, which differs from W on step 2.
    check(oracle.asked, aheads)
    assert not np.allclose(aheads[1], expected[0])


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_adagrad(case, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    eps, W, c, expected = 0.1, [x, y], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        c = [c[i] + g[i] * g[i] for i in range(2)]
        W = [W[i] - alpha(t) * g[i] / denominator(c[i], eps, eps_in_sqrt) for i in range(2)]
        expected.append(W)
    opt = get_optimizer("adagrad", lr=alpha, eps=eps, eps_in_sqrt=eps_in_sqrt)
    points, state = two_steps(opt, surface, (x, y))
    check(points, expected)
    np.testing.assert_allclose(state.c, c, rtol=RTOL)


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_rmsprop(case, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    gamma, eps, W, c, expected = 0.7, 0.1, [x, y], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        c = [gamma * c[i] + (1 - gamma) * g[i] * g[i] for i in range(2)]
        W = [W[i] - alpha(t) * g[i] / denominator(c[i], eps, eps_in_sqrt) for i in range(2)]
        expected.append(W)
    opt = get_optimizer("rmsprop", lr=alpha, decay=gamma, eps=eps, eps_in_sqrt=eps_in_sqrt)
    check(two_steps(opt, surface, (x, y))[0], expected)


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_adadelta(case, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    rho, eps, W, Eg2, Edx2, expected = 0.9, 1e-3, [x, y], [0.0, 0.0], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        Eg2 = [rho * Eg2[i] + (1 - rho) * g[i] * g[i] for i in range(2)]
        delta = [
            -denominator(Edx2[i], eps, eps_in_sqrt) / denominator(Eg2[i], eps, eps_in_sqrt) * g[i]
            for i in range(2)
        ]
        Edx2 = [rho * Edx2[i] + (1 - rho) * delta[i] * delta[i] for i in range(2)]
        W = [W[i] + alpha(t) * delta[i] for i in range(2)]
        expected.append(W)
    opt = get_optimizer("adadelta", lr=alpha, rho=rho, eps=eps, eps_in_sqrt=eps_in_sqrt)
    points, state = two_steps(opt, surface, (x, y))
    check(points, expected)
    np.testing.assert_allclose(state.dx2, Edx2, rtol=RTOL)


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_adam(case, bias_correction, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    b1, b2, eps = 0.8, 0.9, 0.1
    W, m, v, expected = [x, y], [0.0, 0.0], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        m = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        v = [b2 * v[i] + (1 - b2) * g[i] * g[i] for i in range(2)]
        k = t + 1  # Adam's t counts updates from 1
        for i in range(2):
            m_hat = m[i] / (1 - b1**k) if bias_correction else m[i]
            v_hat = v[i] / (1 - b2**k) if bias_correction else v[i]
            W[i] = W[i] - alpha(t) * m_hat / denominator(v_hat, eps, eps_in_sqrt)
        expected.append(list(W))
    opt = get_optimizer(
        "adam",
        lr=alpha,
        beta1=b1,
        beta2=b2,
        eps=eps,
        bias_correction=bias_correction,
        eps_in_sqrt=eps_in_sqrt,
    )
    check(two_steps(opt, surface, (x, y))[0], expected)


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_nadam(case, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    b1, b2, eps = 0.8, 0.9, 0.1
    W, m, v, expected = [x, y], [0.0, 0.0], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        k = t + 1
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            m_hat = b1 * m[i] / (1 - b1 ** (k + 1)) + (1 - b1) * g[i] / (1 - b1**k)
            v_hat = v[i] / (1 - b2**k)
            W[i] = W[i] - alpha(t) * m_hat / denominator(v_hat, eps, eps_in_sqrt)
        expected.append(list(W))
    opt = get_optimizer("nadam", lr=alpha, beta1=b1, beta2=b2, eps=eps, eps_in_sqrt=eps_in_sqrt)
    check(two_steps(opt, surface, (x, y))[0], expected)


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_amsgrad(case, bias_correction, eps_in_sqrt):
    surface, grad, _, (x, y) = case
    b1, b2, eps = 0.8, 0.9, 0.1
    # A running maximum already above v in x and below it in y: both branches of max.
    W, m, v, v_max, expected = [x, y], [0.0, 0.0], [0.0, 0.0], [1e6, 0.0], []
    for t in range(2):
        g = grad(*W)
        k = t + 1
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            v_max[i] = max(v_max[i], v[i])
            m_hat = m[i] / (1 - b1**k) if bias_correction else m[i]
            v_hat = v_max[i] / (1 - b2**k) if bias_correction else v_max[i]
            W[i] = W[i] - alpha(t) * m_hat / denominator(v_hat, eps, eps_in_sqrt)
        expected.append(list(W))
    opt = get_optimizer(
        "amsgrad",
        lr=alpha,
        beta1=b1,
        beta2=b2,
        eps=eps,
        bias_correction=bias_correction,
        eps_in_sqrt=eps_in_sqrt,
    )
    p = np.array([x, y])
    state = opt.init(p)._replace(v_max=np.array([1e6, 0.0]))
    points = []
    for _ in range(2):
        p, state = opt.step(p, state, surface)
        points.append(p)
    check(points, expected)
    assert state.v_max[0] == 1e6 and state.v_max[1] == state.v[1] > 0
    np.testing.assert_allclose(state.v_max, v_max, rtol=RTOL)


def test_lion(case):
    surface, grad, _, (x, y) = case
    b1, b2, W, m, expected = 0.8, 0.95, [x, y], [0.0, 0.0], []
    for t in range(2):
        g = grad(*W)
        for i in range(2):
            c = b1 * m[i] + (1 - b1) * g[i]
            W[i] = W[i] - alpha(t) * math.copysign(1.0, c) if c else W[i]
            m[i] = b2 * m[i] + (1 - b2) * g[i]
        expected.append(list(W))
    opt = get_optimizer("lion", lr=alpha, beta1=b1, beta2=b2)
    points, state = two_steps(opt, surface, (x, y))
    check(points, expected)
    np.testing.assert_allclose(state.m, m, rtol=RTOL)


@pytest.mark.parametrize("damping", [0.0, 0.5])
def test_newton(case, damping):
    surface, grad, hess, (x, y) = case
    W, expected = [x, y], []
    for t in range(2):
        gx, gy = grad(*W)
        hxx, hxy, hyy = hess(*W)
        a, b, c, d = hxx + damping, hxy, hxy, hyy + damping
        det = a * d - b * c
        step = ((d * gx - b * gy) / det, (a * gy - c * gx) / det)  # Cramer's rule
        W = [W[i] - 14 * alpha(t) * step[i] for i in range(2)]
        expected.append(W)
    opt = get_optimizer("newton", lr=lambda t: 14 * alpha(t), damping=damping)
    check(two_steps(opt, surface, (x, y))[0], expected)


def test_number_lr_is_a_constant_schedule(case):
    """``lr=0.05`` and ``lr=lambda t: 0.05`` are the same rule."""
    surface, _, _, start = case
    for name in ("sgd", "adam", "adadelta", "lion"):
        by_number = two_steps(get_optimizer(name, lr=0.05), surface, start)[0]
        by_schedule = two_steps(get_optimizer(name, lr=lambda t: 0.05), surface, start)[0]
        assert np.array_equal(by_number, by_schedule)
