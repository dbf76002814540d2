"""Typed rules (optimizers.typed): the notes' rules written out equal the built-in ones
bit for bit, one start and a batch; the grammar's names, kinds and hyperparameters."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from optimizers import RuleError, from_rule, get_optimizer, run
from optimizers.typed import MAX_EXPONENT, check_name, compile_rule, latex, rule_info
from surfaces import get_surface
from tests.optimizers.helpers import no_hessian_surface

MOMENTUM = """
mu = 0.9
v = mu * v - lr * g
W = W + v
"""
# The notes' Adam without bias correction, in the built-in's order of operations.
ADAM = """
beta1 = 0.9
beta2 = 0.999
eps = 1e-8
m = beta1 * m + (1 - beta1) * g
v = beta2 * v + (1 - beta2) * g**2
W = W - lr * m / (sqrt(v) + eps)
"""
NESTEROV = """
mu = 0.9
v = mu * v - lr * grad(W + mu * v)
W = W + v
"""
# (surface, lr for the velocity rules, lr for Adam): small enough that most runs converge.
CASES = [
    ("rosenbrock", 1e-3, 1e-2),
    ("beale", 1e-3, 1e-2),
    ("himmelblau", 1e-3, 5e-2),
    ("six_hump_camel", 1e-2, 1e-2),
    ("quadratic", 5e-2, 5e-2),
]
STEPS = 500


def starts(surface, n=16):
    rng = np.random.default_rng(7)
    (x0, x1), (y0, y1) = surface.x_range, surface.y_range
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def assert_same_runs(typed, builtin, surface):
    """Bit for bit, one start and a batch; at least one run must not diverge."""
    for start in (np.array(surface.start, dtype=float), starts(surface)):
        a, b = run(typed, surface, start, STEPS), run(builtin, surface, start, STEPS)
        assert np.array_equal(a.points, b.points, equal_nan=True)
        assert np.array_equal(a.losses, b.losses, equal_nan=True)
        if start.ndim == 1:
            assert a.diverged_at == b.diverged_at
        else:
            assert np.array_equal(a.diverged_at, b.diverged_at)
            assert (a.diverged_at < 0).any()  # not a comparison of NaNs only


@pytest.mark.parametrize(("name", "lr", "_"), CASES)
def test_momentum_written_out_is_momentum_bit_for_bit(name, lr, _):
    s = get_surface(name)
    assert_same_runs(from_rule(MOMENTUM, lr=lr), get_optimizer("momentum", lr=lr), s)


@pytest.mark.parametrize(("name", "_", "lr"), CASES)
def test_notes_adam_written_out_is_adam_without_bias_correction(name, _, lr):
    s = get_surface(name)
    builtin = get_optimizer("adam", lr=lr, bias_correction=False)
    assert_same_runs(from_rule(ADAM, lr=lr), builtin, s)


@pytest.mark.parametrize(("name", "lr", "_"), CASES)
def test_nesterov_through_grad_of_the_look_ahead_is_nesterov(name, lr, _):
    s = get_surface(name)
    assert_same_runs(from_rule(NESTEROV, lr=lr), get_optimizer("nesterov", lr=lr), s)


def test_hyperparameters_change_the_rule_as_the_built_in_ones_do():
    s = get_surface("rosenbrock")
    typed = from_rule(MOMENTUM, lr=2e-4, mu=0.5)
    assert typed.hyper == {"lr": 2e-4, "mu": 0.5}
    assert_same_runs(typed, get_optimizer("momentum", lr=2e-4, momentum=0.5), s)


def test_a_schedule_for_lr_is_read_at_each_step():
    from optimizers.schedules import make_schedule

    s = get_surface("beale")
    sched = make_schedule("exponential", 1e-3, k=0.01)
    assert_same_runs(from_rule(MOMENTUM, lr=sched), get_optimizer("momentum", lr=sched), s)


def test_newton_through_solve_of_the_hessian_is_newton():
    s = get_surface("rosenbrock")
    typed = from_rule("lr = 1\nlam = 0.5\nW = W - lr * solve(H + lam * I, g)")
    builtin = get_optimizer("newton", lr=1.0, damping=0.5)
    for start in (np.array(s.start), starts(s)):
        a, b = run(typed, s, start, 50), run(builtin, s, start, 50)
        np.testing.assert_allclose(a.points, b.points, rtol=1e-12, atol=1e-14)


def test_hessian_matrix_product_and_t_are_what_the_notes_say():
    s = get_surface("quadratic")
    w = np.array([0.7, -1.3])
    # One step by hand: H @ g, t = 1 at the first step, norm and dot per point.
    opt = from_rule("W = W - lr * (H @ g) * t + 0 * dot(g, g) / norm(g)", lr=0.1)
    new, state = opt.step(w, opt.init(w), s)
    want = w - 0.1 * (s.hessian(w) @ s.grad(w)) * 1.0
    np.testing.assert_allclose(new, want, rtol=1e-12)
    new2, _ = opt.step(new, state, s)
    np.testing.assert_allclose(new2, new - 0.1 * (s.hessian(new) @ s.grad(new)) * 2.0)


def test_a_batch_equals_separate_single_runs():
    s = get_surface("himmelblau")
    text = "c = c + g**2\nW = W - lr * g / (sqrt(c) + 1e-8) + 0.01 * sign(v)\nv = min(g, 1)"
    opt = from_rule(text, lr=0.1)
    batch = starts(s, 8)
    together = run(opt, s, batch, 200)
    for i, p in enumerate(batch):
        alone = run(opt, s, p, 200)
        assert np.array_equal(alone.points, together.points[:, i])


def test_step_is_pure_and_state_starts_at_zero():
    s = get_surface("beale")
    opt = from_rule(ADAM)
    for w in (np.array([1.0, 1.5]), starts(s, 4)):
        state = opt.init(w)
        assert all(np.array_equal(v, np.zeros_like(w)) for v in state.values)
        w_before = w.copy()
        saved = [v.copy() for v in state.values]
        new, new_state = opt.step(w, state, s)
        assert np.array_equal(w, w_before) and new is not w
        assert all(np.array_equal(a, b) for a, b in zip(state.values, saved, strict=True))
        assert new_state.count == 1 and not np.array_equal(new, w)
    # W = W returns a new array all the same: the caller's never becomes the state.
    same = from_rule("W = W")
    w = np.array([0.5, 0.5])
    new, _ = same.step(w, same.init(w), s)
    assert new is not w and np.array_equal(new, w)


def test_divergence_is_reported_by_run_not_raised():
    s = get_surface("rosenbrock")
    traj = run(from_rule("W = W - lr * g / 0", lr=1.0), s, s.start, 20)
    assert traj.diverged_at == 1 and np.isnan(traj.points[2:]).all()
    many = run(from_rule("W = W * 10", lr=1.0), s, starts(s, 5), 20)
    assert (many.diverged_at > 0).all()
    singular = run(from_rule("W = W - solve(0 * H, g)"), s, s.start, 5)
    assert singular.diverged_at == 1


def test_roles_of_names_and_their_specs():
    program = compile_rule(ADAM)
    assert program.hyper == (("lr", 0.01), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8))
    assert [name for name, _ in program.state] == ["m", "v"]
    info = rule_info("lr = 0.3\nk = k + 1\nd = g * k\nW = W - lr * d", "counter")
    lr = info.spec("lr")
    assert lr.default == 0.3 and lr.log and lr.low < 0.3 < lr.high
    assert [n for n, _ in compile_rule("lr = 0.3\nk = k + 1\nd = g * k\nW = W - lr * d").state] == [
        "k"
    ]
    eps = rule_info(ADAM, "a").spec("eps")
    assert eps.log and eps.low < 1e-8 < eps.high
    assert rule_info(ADAM, "a").spec("beta1").high == 1.0
    assert info.label == "counter" and info.colour.startswith("#")
    with pytest.raises(ValueError, match=r"no hyperparameter 'beta'.*lr, mu"):
        from_rule(MOMENTUM, beta=0.5)
    with pytest.raises(ValueError, match="lr must be > 0"):
        from_rule(MOMENTUM, lr=-1)
    with pytest.raises(ValueError, match="built-in rule's name"):
        rule_info(MOMENTUM, "adam")
    with pytest.raises(ValueError, match="a rule's name"):
        rule_info(MOMENTUM, "my.rule")


def test_a_counter_state_variable_counts_steps():
    s = get_surface("quadratic")
    opt = from_rule("k = k + 1\nW = W - lr * g * 0 + k * 0", lr=0.1)
    w = np.array([1.0, 1.0])
    state = opt.init(w)
    for _ in range(3):
        w, state = opt.step(w, state, s)
    assert state.values == (3.0,)


def test_the_hessian_on_a_surface_without_one_is_a_message():
    flat = no_hessian_surface("no_h")
    with pytest.raises(ValueError, match="uses H: surface 'no_h' has no Hessian"):
        run(from_rule("W = W - solve(H, g)"), flat, (0.5, 0.5), 3)
    assert rule_info("W = W - solve(H, g)", "n").second_order


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("W = W + H", "between a matrix and a point"),
        ("W = W @ W", "@ multiplies a matrix"),
        ("W = H", "W is a point elsewhere but a matrix here"),
        ("W = W ** g", "exponent must be a number"),
        ("W = norm(H)", "norm() wants a point"),
        ("g = W", "g cannot be assigned"),
        ("lr = lr * 2\nW = W", "lr is the learning rate"),
        ("W = W + q", "unknown name 'q'"),
        ("v = W", "never changes W"),
        (f"W = W ** {MAX_EXPONENT + 1}", "exponent 101 is too large"),
        ("W = sqrt(W, W)", "takes 1 argument, got 2"),
        ("W = sqrt", "sqrt is a function"),
        ("W = 0", "cannot be set to a number"),
    ],
)
def test_grammar_errors_say_what_and_where(text, message):
    with pytest.raises(RuleError, match=re.escape(message)) as err:
        from_rule(text)
    if "never changes" not in message:
        assert err.value.line == 1 and err.value.column >= 1
        assert f"(line 1, column {err.value.column})" in str(err.value)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("lambda = 0.1\nW = W - lambda * g", "'lambda' is a word Python keeps for itself"),
        ("W = W − lr * g", "invalid character '−'; type - instead"),
        ("W = W - lr × g", "type * instead"),
        ("w = w - lr * g", "never changes W (names are case-sensitive: the point is W)"),
        ("W = W - lr * (" + " + ".join(["g"] * 30) + ")", "each + of a long sum counts"),
    ],
)
def test_a_students_likely_slips_get_a_hint(text, hint):
    """What a student pastes or types by habit: the message says what to do instead."""
    with pytest.raises(RuleError, match=re.escape(hint)):
        from_rule(text)


def test_a_name_outside_ascii_is_refused_saying_which_letters():
    with pytest.raises(RuleError, match="a letter A–Z or a–z"):
        check_name("λ-rule")


def test_positions_are_lines_and_columns_of_the_text_as_typed():
    with pytest.raises(RuleError) as err:
        from_rule("μ = 0.9\nv = μ * v - lr * g\nW = W + μ * v.real")
    assert (err.value.line, err.value.column) == (3, 13)  # characters, not UTF-8 bytes
    assert "attribute access" in err.value.reason


def test_latex_shows_the_rule_in_the_notes_symbols():
    tex = latex(MOMENTUM)
    assert r"v &\leftarrow \mu \, v - \alpha \, \nabla_W" in tex
    assert r"W &\leftarrow W + v" in tex
    assert r"\sqrt{v}" in latex(ADAM) and r"\frac{" in latex(ADAM)
    # a hyperparameter's default is its card's box, not a line of the update
    assert r"\mu &\leftarrow" not in tex and "0.9" not in tex
    assert r"b &\leftarrow 0.9" in latex("b = 0.9\nb = b * 0.5\nW = W - lr * b * g")  # state


def test_leading_blanks_are_allowed_and_columns_count_them():
    indented = "\n".join("    " + line for line in MOMENTUM.strip().splitlines())
    s = get_surface("beale")
    a = run(from_rule(indented, lr=1e-3), s, s.start, 50)
    b = run(from_rule(MOMENTUM, lr=1e-3), s, s.start, 50)
    assert np.array_equal(a.points, b.points)
    with pytest.raises(RuleError) as err:
        from_rule("mu = 0.9\n    v = mu * v - lr * g.real\nW = W + v")
    assert (err.value.line, err.value.column) == (2, 23)  # the g of g.real
    with pytest.raises(RuleError) as err:
        from_rule("  W = W +")
    assert err.value.line == 1 and err.value.column >= 9 and "syntax error" in err.value.reason
    assert r"\leftarrow" in latex(indented)


def test_kinds_settle_along_a_long_chain_of_state():
    # a reads b before b is set, b reads c, ...: each turns out a point one round after
    # the next one does, so kinds must settle over as many rounds as the chain is long.
    chain = "abcdefkm"  # not g: g is the gradient
    lines = [f"{x} = {y}" for x, y in itertools.pairwise(chain)] + ["m = g"]
    text = "\n".join(lines) + "\nW = W - lr * a + 0 * solve(H, a)"
    program = compile_rule(text)
    assert dict(program.state) == dict.fromkeys(chain[1:], "point")  # a is set before read
    s = get_surface("beale")
    traj = run(from_rule(text), s, starts(s, 3), 10)  # a batch: wrong kinds would raise
    assert traj.points.shape == (11, 3, 2)
    with pytest.raises(RuleError, match="between a matrix and a point"):
        from_rule("\n".join(lines) + "\nW = W - lr * (a + H)")
