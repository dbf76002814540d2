"""Generated rules of the grammar: each is accepted or refused with a RuleError, and an
accepted one runs on one start and on a batch without raising or warning, each row of
the batch equal to its own single run, inputs untouched; with per-row hyperparameters too."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizers import RuleError, from_rule, run
from optimizers.tuning import batched_optimizer
from optimizers.typed import rule_info
from surfaces import get_surface

POINTS = ["W", "g", "v", "m", "grad(W + v)", "norm(g)", "dot(g, v)", "solve(H + I, g)", "H @ g"]
NUMBERS = ["lr", "mu", "t", "0.5", "2", "1e-8", "3"]
UNARY = ["sqrt", "abs", "sign", "exp", "log", "tanh"]


def expressions(depth: int):
    leaf = st.sampled_from(POINTS + NUMBERS)
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        st.tuples(sub, st.sampled_from(["2", "0.5", "t", "mu"])).map(lambda p: f"{p[0]} ** {p[1]}"),
        st.tuples(st.sampled_from(UNARY), sub).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(
            lambda p: f"{p[0]}({p[1]}, {p[2]})"
        ),
        st.tuples(sub, sub).map(lambda p: f"clip({p[0]}, -{p[1]}, {p[1]})"),
    )


rules = st.tuples(expressions(3), expressions(3), expressions(2)).map(
    lambda e: f"mu = 0.9\nv = mu * v + {e[0]}\nm = {e[1]}\nW = W - lr * ({e[2]})"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules)
def test_generated_rules_are_refused_or_run_cleanly(text):
    try:
        opt = from_rule(text, lr=0.01)
    except RuleError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    s = get_surface("himmelblau")
    starts = np.array([[1.0, 1.5], [-2.0, 0.5], [0.3, -1.0]])
    keep = starts.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        together = run(opt, s, starts, 30)
        alone = [run(opt, s, p, 30) for p in starts]
    assert np.array_equal(starts, keep)
    assert together.points.shape == (31, 3, 2)
    for i, one in enumerate(alone):
        assert one.points.shape == (31, 2)
        np.testing.assert_allclose(together.points[:, i], one.points, rtol=1e-12, atol=1e-12)
        assert (one.diverged_at is None) == (together.diverged_at[i] < 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules)
def test_generated_rules_take_per_row_hyperparameters_like_the_built_in_rules(text):
    """lr and mu as columns (a tuning's trials): row k is the single run at row k's values."""
    try:
        info = rule_info(text, "fuzz")
    except RuleError:
        return
    s = get_surface("himmelblau")
    starts = np.array([[1.0, 1.5], [-2.0, 0.5], [0.3, -1.0]])
    lrs, mus = np.array([0.003, 0.01, 0.02]), np.array([0.5, 0.9, 0.7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        together = run(batched_optimizer(info, {}, {"lr": lrs, "mu": mus}), s, starts, 30)
        alone = [
            run(info.build(lr=float(a), mu=float(m)), s, p, 30)
            for a, m, p in zip(lrs, mus, starts, strict=True)
        ]
    for i, one in enumerate(alone):
        # Past divergence only "not finite" is the same: numpy takes x ** 0.5 as sqrt(x) for
        # one exponent (sqrt(-inf) is nan) and as pow for a column of them (pow(-inf, .5) is inf).
        row = together.points[:, i]
        np.testing.assert_array_equal(np.isfinite(row), np.isfinite(one.points))
        finite = np.isfinite(row)
        np.testing.assert_allclose(row[finite], one.points[finite], rtol=1e-12, atol=1e-12)
        assert (one.diverged_at is None) == (together.diverged_at[i] < 0)
