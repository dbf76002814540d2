"""Analytic landscapes: each declares value, gradient and Hessian side by side.

Every function takes coordinate arrays ``x, y`` of one shape. Gradients return
``(fx, fy)``; Hessians ``(fxx, fxy, fyy)``. Each factory returns a ``Surface``; ``ALL``
lists the factories in the order the UI shows them.

Minima are the global minima only (all of them where there are several). Where a
minimum has no closed form it is written as a literature value and refined here with a
few Newton steps on the exact gradient and Hessian, so it is exact to double precision.
"""

from __future__ import annotations

import math

import numpy as np

from surfaces.base import Formula, Surface

TAU = 2.0 * np.pi


def _polish(df, d2f, guess, iters: int = 8) -> tuple[float, float]:
    """A stationary point near ``guess``, refined by Newton steps on the exact derivatives."""
    x, y = float(guess[0]), float(guess[1])
    for _ in range(iters):
        fx, fy = (float(v) for v in df(x, y))
        fxx, fxy, fyy = (float(v) for v in d2f(x, y))
        det = fxx * fyy - fxy * fxy
        x, y = x - (fyy * fx - fxy * fy) / det, y - (fxx * fy - fxy * fx) / det
    return (x, y)


# The surfaces whose f and df are Formulas (plain arithmetic of x, y and their numbers p):
# module-level functions, so that surfaces.compiled compiles these very lines.


def quadratic_value(x, y, p):
    return x**2 + y**2


def quadratic_grad(x, y, p):
    return 2 * x, 2 * y


def ravine_value(x, y, p):
    hxx, hxy, hyy = p[0], p[1], p[2]
    return 0.5 * (hxx * x * x + 2 * hxy * x * y + hyy * y * y)


def ravine_grad(x, y, p):
    hxx, hxy, hyy = p[0], p[1], p[2]
    return hxx * x + hxy * y, hxy * x + hyy * y


def long_valley_value(x, y, p):
    wall, slope, x_min = p[0], p[1], p[2]
    d = x - x_min
    return wall * y * y + slope * (np.sqrt(1.0 + d * d) - 1.0)


def long_valley_grad(x, y, p):
    wall, slope, x_min = p[0], p[1], p[2]
    d = x - x_min
    return slope * d / np.sqrt(1.0 + d * d), 2.0 * wall * y


def rosenbrock_value(x, y, p):
    a, b = p[0], p[1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


def rosenbrock_grad(x, y, p):
    a, b = p[0], p[1]
    r = y - x**2  # the valley's residual, shared by both partials (the hot path of a batch)
    return -2 * (a - x) - 4 * b * x * r, 2 * b * r


def saddle_value(x, y, p):
    return x**2 - y**2


def saddle_grad(x, y, p):
    return 2 * x, -2 * y


def himmelblau_value(x, y, p):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def himmelblau_grad(x, y, p):
    u, w = x**2 + y - 11, x + y**2 - 7
    return 4 * x * u + 2 * w, 2 * u + 4 * y * w


def booth_value(x, y, p):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def booth_grad(x, y, p):
    return 10 * x + 8 * y - 34, 8 * x + 10 * y - 38


def beale_value(x, y, p):
    y2 = y * y
    return (p[0] - x + x * y) ** 2 + (p[1] - x + x * y2) ** 2 + (p[2] - x + x * (y2 * y)) ** 2


def beale_grad(x, y, p):
    # t_k = c_k − x + x·yᵏ: ∂t/∂x = yᵏ − 1, ∂t/∂y = k·x·yᵏ⁻¹ (powers as products)
    y2 = y * y
    y3 = y2 * y
    t1, t2, t3 = p[0] - x + x * y, p[1] - x + x * y2, p[2] - x + x * y3
    fx = 2 * t1 * (y - 1) + 2 * t2 * (y2 - 1) + 2 * t3 * (y3 - 1)
    fy = 2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y2
    return fx, fy


def monkey_saddle_value(x, y, p):
    return x * x * x - 3 * x * y**2


def monkey_saddle_grad(x, y, p):
    return 3 * x**2 - 3 * y**2, -6 * x * y


def goldstein_price_value(x, y, p):
    # f = A·B with A = 1 + a²P, B = 30 + b²Q (a = x+y+1, b = 2x−3y)
    a = x + y + 1
    pp = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
    b = 2 * x - 3 * y
    q = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
    return (1 + a * a * pp) * (30 + b * b * q)


def goldstein_price_grad(x, y, p):
    a = x + y + 1
    pp = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
    pd = -14 + 6 * x + 6 * y  # ∂P/∂x = ∂P/∂y
    b = 2 * x - 3 * y
    q = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
    qx, qy = -32 + 24 * x - 36 * y, 48 - 36 * x + 54 * y
    big_a, big_b = 1 + a * a * pp, 30 + b * b * q
    ax = 2 * a * pp + a * a * pd  # = ∂A/∂y
    bx, by = 4 * b * q + b * b * qx, -6 * b * q + b * b * qy
    return ax * big_b + big_a * bx, ax * big_b + big_a * by


def quadratic() -> Surface:
    return Surface(
        name="quadratic",
        label="Quadratic bowl",
        description="An isotropic bowl: every rule's easiest case.",
        latex=r"f(x, y) = x^2 + y^2",
        f=Formula(quadratic_value),
        df=Formula(quadratic_grad),
        d2f=lambda x, y: (2.0, 0.0, 2.0),
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0),),
        start=(-1.5, 1.2),
    )


def ravine(condition: float = 50.0, angle_deg: float = 30.0) -> Surface:
    """f = ½ pᵀ A p with A's eigenvalues 10/condition (along the valley) and 10 (across).

    The valley's floor runs at ``angle_deg`` to the x axis, so a rule that scales each
    coordinate separately (Adagrad, RMSprop, Adam) gets no help from the axes.
    """
    theta = math.radians(angle_deg)
    c, s = math.cos(theta), math.sin(theta)
    lam_across, lam_along = 10.0, 10.0 / condition
    # A = λ_along·e eᵀ + λ_across·n nᵀ with e = (c, s) along the floor, n = (−s, c) across.
    hxx = lam_along * c * c + lam_across * s * s
    hxy = (lam_along - lam_across) * c * s
    hyy = lam_along * s * s + lam_across * c * c
    # Start far up the valley, a little off its floor: along −2.6, across +0.6.
    start = (round(-2.6 * c - 0.6 * s, 2), round(-2.6 * s + 0.6 * c, 2))
    return Surface(
        name="ravine",
        label="Ravine",
        description=(
            f"An ill-conditioned bowl (condition number {condition:g}) whose valley runs "
            f"at {angle_deg:g}° to the axes."
        ),
        latex=(
            r"f = \tfrac12\left(\lambda_1 u^2 + \lambda_2 v^2\right),\ "
            r"u = x\cos\theta + y\sin\theta,\ v = -x\sin\theta + y\cos\theta,\ "
            rf"\lambda_1 = {lam_along:g},\ \lambda_2 = {lam_across:g},\ "
            rf"\theta = {angle_deg:g}^\circ"
        ),
        f=Formula(ravine_value, (hxx, hxy, hyy)),
        df=Formula(ravine_grad, (hxx, hxy, hyy)),
        d2f=lambda x, y: (hxx, hxy, hyy),
        x_range=(-3.0, 3.0),
        y_range=(-3.0, 3.0),
        minima=((0.0, 0.0),),
        start=start,
        log_scale=True,  # linear levels would leave the floor's long ellipses off the window
        extra={"condition": condition, "angle_deg": angle_deg},
    )


def long_valley(wall: float = 10.0, slope: float = 0.05, x_min: float = 2.0) -> Surface:
    r"""Radford's long valley: a trough steep across (y) and nearly flat along its floor (x).

    .. math:: f(x, y) = a\,y^2 + b\left(\sqrt{1 + (x - x^*)^2} - 1\right)

    with a = ``wall`` = 10, b = ``slope`` = 0.05, x* = 2. Far from x* the floor falls at
    the constant gentle slope b (the square root is a smooth |x − x*|, rounded within
    about 1 of the minimum), while the walls rise with curvature 2a = 20.

    Why these numbers: from the start (−2.5, 0.3) the gradient across the valley is
    about 120 times the one along it. With one α for every rule, 2aα < 2 keeps SGD
    stable across the trough, and SGD's step along the floor is then only αb — with
    Radford-like α = 0.01 it moves about 0.1 along the floor in 200 steps. Momentum
    and NAG (μ = 0.9) swing across the trough (the heavy ball is oscillatory whenever
    2aα > (1 − √μ)²) while their velocity along the floor builds to αb/(1 − μ). The
    adaptive rules (Adagrad, RMSprop, Adadelta, Adam) divide each coordinate by its
    own gradient scale, so the tiny along-floor gradient gives a full-sized step:
    RMSprop and Adam move about α per step, ≈ 1/b = 20 times SGD, straight down the
    floor once the across-gradient has settled.
    """

    def d2f(x, y):
        d = x - x_min
        u = 1.0 + d * d
        # u·√u, not u ** 1.5: a numpy scalar's ** is libm's pow and an array's a SIMD pow
        # that can differ in the last bit, so one point and a batch would part ways.
        return slope / (u * np.sqrt(u)), 0.0, 2.0 * wall

    return Surface(
        name="long_valley",
        label="Long valley",
        description="Radford's long valley: a trough steep across, nearly flat along its floor.",
        latex=(
            rf"f(x, y) = {wall:g}\,y^2"
            rf" + {slope:g}\left(\sqrt{{1 + (x - {x_min:g})^2}} - 1\right)"
        ),
        f=Formula(long_valley_value, (wall, slope, x_min)),
        df=Formula(long_valley_grad, (wall, slope, x_min)),
        d2f=d2f,
        x_range=(-3.0, 3.0),
        y_range=(-1.0, 1.0),
        minima=((x_min, 0.0),),
        start=(-2.5, 0.3),
        log_scale=True,
        extra={"wall": wall, "slope": slope},
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    return Surface(
        name="rosenbrock",
        label="Rosenbrock",
        description="A curved, flat-bottomed banana valley; the minimum sits at its far end.",
        latex=rf"f(x, y) = ({a:g} - x)^2 + {b:g}\,(y - x^2)^2",
        f=Formula(rosenbrock_value, (a, b)),
        df=Formula(rosenbrock_grad, (a, b)),
        d2f=lambda x, y: (2 - 4 * b * (y - x**2) + 8 * b * x**2, -4 * b * x, 2 * b + 0 * x),
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        minima=((a, a * a),),
        start=(-1.5, 2.0),
        log_scale=True,
    )


def beale() -> Surface:
    """Beale's function: three squared residuals t_k = c_k − x + x·yᵏ, c = (1.5, 2.25, 2.625)."""
    cs = (1.5, 2.25, 2.625)

    def d2f(x, y):
        # Sum of squares: H = 2 Σ (∇t ∇tᵀ + t ∇²t), with ∂²t/∂x² = 0,
        # ∂²t/∂x∂y = k·yᵏ⁻¹ and ∂²t/∂y² = k(k−1)·x·yᵏ⁻².
        fxx = fxy = fyy = 0.0
        for k, c in enumerate(cs, 1):
            t = c - x + x * y**k
            tx, ty = y**k - 1, k * x * y ** (k - 1)
            txy = k * y ** (k - 1)
            tyy = k * (k - 1) * x * y ** (k - 2) if k >= 2 else 0.0
            fxx = fxx + 2 * tx * tx
            fxy = fxy + 2 * (tx * ty + t * txy)
            fyy = fyy + 2 * (ty * ty + t * tyy)
        return fxx, fxy, fyy

    return Surface(
        name="beale",
        label="Beale",
        description="Flat plateaus and steep walls around narrow arms; Radford's second scene.",
        latex=(r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"),
        f=Formula(beale_value, cs),
        df=Formula(beale_grad, cs),
        d2f=d2f,
        x_range=(-4.5, 4.5),
        y_range=(-4.5, 4.5),
        minima=((3.0, 0.5),),
        start=(1.0, 1.5),
        log_scale=True,
    )


def saddle() -> Surface:
    return Surface(
        name="saddle",
        label="Saddle",
        description="A saddle point at the origin: up along x, down along y.",
        latex=r"f(x, y) = x^2 - y^2",
        f=Formula(saddle_value),
        df=Formula(saddle_grad),
        d2f=lambda x, y: (2.0, 0.0, -2.0),
        x_range=(-1.5, 1.0),
        y_range=(-1.5, 1.0),
        minima=(),
        start=(0.7, 1e-5),
    )


def monkey_saddle() -> Surface:
    return Surface(
        name="monkey_saddle",
        label="Monkey saddle",
        description="Three valleys meet at a flat saddle: the gradient vanishes to second order.",
        latex=r"f(x, y) = x^3 - 3xy^2",
        f=Formula(monkey_saddle_value),
        df=Formula(monkey_saddle_grad),
        d2f=lambda x, y: (6 * x, -6 * y, -6 * x),
        x_range=(-1.5, 1.5),
        y_range=(-1.5, 1.5),
        minima=(),
        start=(0.8, 1e-3),
    )


def himmelblau() -> Surface:
    df = Formula(himmelblau_grad)

    def d2f(x, y):
        u, w = x**2 + y - 11, x + y**2 - 7
        return 4 * u + 8 * x**2 + 2, 4 * x + 4 * y, 2 + 4 * w + 8 * y**2

    guesses = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127))
    return Surface(
        name="himmelblau",
        label="Himmelblau",
        description="Four equal minima: where a rule ends up depends on where it starts.",
        latex=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        f=Formula(himmelblau_value),
        df=df,
        d2f=d2f,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=tuple(_polish(df, d2f, g) for g in guesses),
        start=(0.0, 0.0),
        log_scale=True,
    )


def booth() -> Surface:
    return Surface(
        name="booth",
        label="Booth",
        description="A tilted elongated bowl (condition number 9) with its minimum at (1, 3).",
        latex=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
        f=Formula(booth_value),
        df=Formula(booth_grad),
        d2f=lambda x, y: (10.0, 8.0, 10.0),
        x_range=(-4.0, 6.0),
        y_range=(-2.0, 8.0),
        minima=((1.0, 3.0),),
        start=(-3.0, 6.0),
    )


def mccormick() -> Surface:
    # ∂f/∂x − ∂f/∂y = 4(x − y) − 4 = 0 and cos(x + y) = −½ with sin(x + y) < 0 (a minimum):
    # x + y = −2π/3, x − y = 1.
    xm, ym = 0.5 - math.pi / 3, -0.5 - math.pi / 3
    return Surface(
        name="mccormick",
        label="McCormick",
        description="A sine ripple on a tilted valley: one global and one local minimum.",
        latex=r"f(x, y) = \sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1",
        f=lambda x, y: np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
        df=lambda x, y: (
            np.cos(x + y) + 2 * (x - y) - 1.5,
            np.cos(x + y) - 2 * (x - y) + 2.5,
        ),
        d2f=lambda x, y: (
            2 - np.sin(x + y),
            -2 - np.sin(x + y),
            2 - np.sin(x + y),
        ),
        x_range=(-1.5, 4.0),
        y_range=(-3.0, 4.0),
        minima=((xm, ym),),
        start=(3.5, 3.5),
    )


def six_hump_camel_value(x, y, p):
    x2, y2 = x * x, y * y  # powers as products: the compiled loop computes the same bits
    return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (-4 + 4 * y2) * y2


def six_hump_camel_grad(x, y, p):
    x2 = x * x
    x3 = x2 * x
    return 8 * x - 8.4 * x3 + 2 * (x3 * x2) + y, x - 8 * y + 16 * (y * y * y)


def styblinski_tang_value(x, y, p):
    x2, y2 = x * x, y * y
    return 0.5 * (x2 * x2 - 16 * x2 + 5 * x + y2 * y2 - 16 * y2 + 5 * y)


def styblinski_tang_grad(x, y, p):
    return 2 * (x * x * x) - 16 * x + 2.5, 2 * (y * y * y) - 16 * y + 2.5


def six_hump_camel() -> Surface:
    df = Formula(six_hump_camel_grad)

    def d2f(x, y):
        return 8 - 25.2 * x**2 + 10 * x**4, 1.0 + 0 * x, -8 + 48 * y**2

    guesses = ((0.0898, -0.7126), (-0.0898, 0.7126))
    return Surface(
        name="six_hump_camel",
        label="Six-hump camel",
        description="Six local minima, two of them global, around a saddle at the origin.",
        latex=r"f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)\,y^2",
        f=Formula(six_hump_camel_value),
        df=df,
        d2f=d2f,
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 1.0),
        minima=tuple(_polish(df, d2f, g) for g in guesses),
        start=(-1.5, -0.8),
    )


def goldstein_price() -> Surface:
    """Goldstein-Price: f = A·B with A = 1 + a²P, B = 30 + b²Q (a = x+y+1, b = 2x−3y)."""

    def parts(x, y):
        a = x + y + 1
        p = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
        pd = -14 + 6 * x + 6 * y  # ∂P/∂x = ∂P/∂y; ∂²P = 6 everywhere
        b = 2 * x - 3 * y
        q = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
        qx, qy = -32 + 24 * x - 36 * y, 48 - 36 * x + 54 * y  # ∂²Q: 24, −36, 54
        return a, p, pd, b, q, qx, qy

    def d2f(x, y):
        a, p, pd, b, q, qx, qy = parts(x, y)
        big_a, big_b = 1 + a * a * p, 30 + b * b * q
        ax = ay = 2 * a * p + a * a * pd
        bx, by = 4 * b * q + b * b * qx, -6 * b * q + b * b * qy
        axx = axy = ayy = 2 * p + 4 * a * pd + 6 * a * a
        bxx = 8 * q + 8 * b * qx + 24 * b * b
        bxy = -12 * q + 4 * b * qy - 6 * b * qx - 36 * b * b
        byy = 18 * q - 12 * b * qy + 54 * b * b
        return (
            axx * big_b + 2 * ax * bx + big_a * bxx,
            axy * big_b + ax * by + ay * bx + big_a * bxy,
            ayy * big_b + 2 * ay * by + big_a * byy,
        )

    return Surface(
        name="goldstein_price",
        label="Goldstein-Price",
        description="Values spanning six orders of magnitude, and several local minima.",
        latex=(
            r"f = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
            r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
        ),
        f=Formula(goldstein_price_value),
        df=Formula(goldstein_price_grad),
        d2f=d2f,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, -1.0),),
        start=(-1.5, 1.5),
        log_scale=True,
    )


def styblinski_tang() -> Surface:
    df = Formula(styblinski_tang_grad)

    def d2f(x, y):
        return 6 * x**2 - 16, 0.0 * x, 6 * y**2 - 16

    return Surface(
        name="styblinski_tang",
        label="Styblinski-Tang",
        description="Four basins of unequal depth; the deepest is in the lower left.",
        latex=r"f(x, y) = \tfrac12\left(x^4 - 16x^2 + 5x + y^4 - 16y^2 + 5y\right)",
        f=Formula(styblinski_tang_value),
        df=df,
        d2f=d2f,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=(_polish(df, d2f, (-2.903534, -2.903534)),),
        start=(4.5, 0.5),
    )


def rastrigin(amplitude: float = 10.0) -> Surface:
    k = amplitude

    def f(x, y):
        return x**2 + y**2 + k * (2.0 - np.cos(TAU * x) - np.cos(TAU * y))

    def df(x, y):
        return 2 * x + k * TAU * np.sin(TAU * x), 2 * y + k * TAU * np.sin(TAU * y)

    def d2f(x, y):
        return 2 + k * TAU**2 * np.cos(TAU * x), 0.0 * x, 2 + k * TAU**2 * np.cos(TAU * y)

    return Surface(
        name="rastrigin",
        label="Rastrigin",
        description="An egg-crate of local minima on a bowl; only the centre one is global.",
        latex=rf"f(x, y) = {2 * k:g} + x^2 - {k:g}\cos 2\pi x + y^2 - {k:g}\cos 2\pi y",
        f=f,
        df=df,
        d2f=d2f,
        x_range=(-5.12, 5.12),
        y_range=(-5.12, 5.12),
        minima=((0.0, 0.0),),
        start=(3.6, -2.6),
    )


def ackley() -> Surface:
    r"""Ackley's function, with ``s = \sqrt{(x^2 + y^2)/2}``.

    The cone term −20·exp(−0.2 s) has a kink at the origin, where the gradient is
    undefined: there ``grad`` returns the subgradient 0 (the minimum's own) and ``hessian``
    leaves the cone's unbounded curvature out, so both stay finite.
    """
    tiny = 1e-150  # below this radius a point is the origin (1/s³ would overflow)

    def cone(x, y):
        r = np.hypot(x, y)
        at0 = r < tiny
        s = np.where(at0, 1.0, r) / math.sqrt(2.0)
        return at0, s, np.exp(-0.2 * s)

    def f(x, y):
        r = np.hypot(x, y) / math.sqrt(2.0)
        bumps = np.exp(0.5 * (np.cos(TAU * x) + np.cos(TAU * y)))
        return -20.0 * np.expm1(-0.2 * r) + (np.e - bumps)

    def df(x, y):
        at0, s, e = cone(x, y)
        k = np.where(at0, 0.0, 2.0 * e / s)  # ∂/∂x of −20·exp(−0.2 s) is 2x·e^{−0.2s}/s
        c = np.exp(0.5 * (np.cos(TAU * x) + np.cos(TAU * y)))
        return k * x + np.pi * c * np.sin(TAU * x), k * y + np.pi * c * np.sin(TAU * y)

    def d2f(x, y):
        at0, s, e = cone(x, y)
        ux, uy = np.where(at0, 0.0, x / s), np.where(at0, 0.0, y / s)  # bounded by √2
        # ∂²/∂xᵢ∂xⱼ of the cone, with e = exp(−0.2 s) and u = (x, y)/s:
        # 2e/s·δᵢⱼ − e·(0.2 + 1/s)·uᵢuⱼ.
        diag = np.where(at0, 0.0, 2.0 * e / s)
        g = np.where(at0, 0.0, e * (0.2 + 1.0 / s))
        c = np.exp(0.5 * (np.cos(TAU * x) + np.cos(TAU * y)))
        sx, sy = np.sin(TAU * x), np.sin(TAU * y)
        pi2 = np.pi**2
        fxx = diag - g * ux * ux + c * pi2 * (2.0 * np.cos(TAU * x) - sx * sx)
        fyy = diag - g * uy * uy + c * pi2 * (2.0 * np.cos(TAU * y) - sy * sy)
        fxy = -g * ux * uy - c * pi2 * sx * sy
        return fxx, fxy, fyy

    return Surface(
        name="ackley",
        label="Ackley",
        description="A nearly flat, bumpy plain around one deep, sharp-tipped funnel.",
        latex=(
            r"f(x, y) = -20\,e^{-0.2\sqrt{(x^2 + y^2)/2}}"
            r" - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20"
        ),
        f=f,
        df=df,
        d2f=d2f,
        x_range=(-4.0, 4.0),
        y_range=(-4.0, 4.0),
        minima=((0.0, 0.0),),
        start=(3.2, 2.6),
    )


ALL = [
    quadratic,
    ravine,
    long_valley,
    rosenbrock,
    beale,
    saddle,
    monkey_saddle,
    himmelblau,
    booth,
    mccormick,
    six_hump_camel,
    goldstein_price,
    styblinski_tang,
    rastrigin,
    ackley,
]
