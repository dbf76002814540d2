"""Hostile rule texts: each refused with a message, quickly, and nothing in it ever runs.

Every text below would, if executed as Python, touch a sentinel file, call a tripwire
or run for a very long time. The tests assert the refusal (a ``RuleError`` with its
message), that the sentinel never appears, that ``eval``/``exec`` are never called, and
that each refusal comes back within a bound.
"""

from __future__ import annotations

import builtins
import time

import pytest

from optimizers import RuleError, from_rule
from optimizers.typed import MAX_LENGTH, MAX_STATEMENTS, clear_cache

SENTINEL = "/tmp/optviz-typed-rule-sentinel"
TOUCH = f"open('{SENTINEL}', 'w')"

HOSTILE = [
    # (text, part of the message)
    ("W = W.__class__", "attribute access"),
    ("W = W.real", "attribute access"),
    (f"W = W + {TOUCH}", "unknown function 'open'"),
    (f"W = __import__('os').system('touch {SENTINEL}')", "attribute access"),
    ("W = __import__('os')", "unknown function '__import__'"),
    ("W = __builtins__", "not an allowed name"),
    ("import os\nW = W", "an import is not allowed"),
    ("from os import system\nW = W", "an import is not allowed"),
    (f"W = (lambda: {TOUCH})()", "only the listed functions"),
    ("W = lambda: 1", "a lambda is not allowed"),
    (f"for i in range(3):\n    {TOUCH}\nW = W", "a loop is not allowed"),
    ("while 1:\n    pass\nW = W", "a loop is not allowed"),
    ("W = [W for W in W]", "a comprehension"),
    ("W = sum(x for x in W)", "unknown function 'sum'"),
    ("W = sqrt(x for x in W)", "a generator expression"),
    ("W = 10**10**10", "exponent 1e+10 is too large"),
    ("W = W * 10**10**10", "exponent 1e+10 is too large"),
    ("W = W ** (9**9**9)", "is too large"),
    ("W = W * 2**1000", "exponent 1000 is too large"),
    ("W = W * " + "9" * 500, "number is too large"),
    ("W = W * 1e999", "number is too large"),
    ("W = 'text'", "text is not allowed"),
    ("W = b'bytes'", "text is not allowed"),
    ("W = f'{W}'", "an f-string"),
    ("W = W[0]", "indexing"),
    ("W[0] = 1", "assign one name at a time"),
    ("W.x = 1", "assign one name at a time"),
    ("W, v = W, W", "assign one name at a time"),
    ("W = (v := W)", "assignment inside an expression"),
    ("W = eval('W')", "unknown function 'eval'"),
    ("W = exec('W = 0')", "unknown function 'exec'"),
    ("W = getattr(W, 'real')", "unknown function 'getattr'"),
    ("W = print(W)", "unknown function 'print'"),
    ("W = sqrt(x=W)", "by position only"),
    ("W = sqrt(*W)", "unpacking"),
    ("def f():\n    return 1\nW = W", "a function definition"),
    ("async def f():\n    pass\nW = W", "a function definition"),
    ("class A:\n    pass\nW = W", "a class definition"),
    (f"with {TOUCH} as f:\n    pass\nW = W", "a with statement"),
    ("try:\n    W = W\nexcept Exception:\n    pass", "a try statement"),
    ("if t:\n    W = W", "an if statement"),
    ("W = W if t else W", "a conditional expression"),
    ("W = W == W", "a comparison"),
    ("W = W and W", "a boolean operator"),
    ("W = not W", "the operator not"),
    ("W = W % 2", "the operator %"),
    ("W = W ^ 2", "write powers as **"),
    ("W = W // 2", "the operator //"),
    ("del W", "del is not allowed"),
    ("global W\nW = W", "global is not allowed"),
    ("assert False\nW = W", "assert is not allowed"),
    (f"W = W\n{TOUCH}", "an expression on its own"),
    ("W = 1j * W", "complex is not allowed"),
    ("W = True * W", "bool is not allowed"),
    ("W = None", "NoneType is not allowed"),
    ("W = ...", "ellipsis is not allowed"),
    ("W = [W]", "a list"),
    ("W = {W: 1}", "a dict"),
    ("W = (W, W)", "a tuple"),
    ("match W:\n    case _:\n        pass", "this statement is not allowed"),
    ("W = W\x00", "control character"),
    ("W = W +", "syntax error"),
    ("W = W\n)", "syntax error"),
    ("yield W", "an expression on its own"),
    ("W = W + g\ng = 0", "g cannot be assigned"),
    ("H = W", "H cannot be assigned"),
    ("sqrt = W\nW = W", "sqrt cannot be assigned"),
    ("W = " + "(" * 100 + "W" + ")" * 100, "nested too deeply"),
    ("W = " + "-" * 3000 + "W", "nested too deeply"),
    (("a = W" + "+W" * 15 + "\n") * 39 + "W = W", "too large"),
    ("W = " + "sqrt(" * 30 + "W" + ")" * 30, "nested too deeply"),
    ("W = W" + " + grad(W)" * 9, "at most 8 calls of grad()"),
    ("v = 1\n" * (MAX_STATEMENTS + 1) + "W = W", "too many statements"),
    ("W=W;" * 1000, "too many statements"),
    ("W = W\n" * 10_000, "too long"),
    ("W = W + g # " + "x" * 100_000, "too long"),
    ("a" * 40 + " = 1\nW = W", "not an allowed name"),
    ("", "empty"),
    ("   \n  ", "empty"),
]


@pytest.fixture
def tripwires(monkeypatch):
    """``eval`` and ``exec`` raise if anything calls them while a rule is read."""
    calls = []

    def tripwire(*args, **kwargs):
        calls.append(args)
        raise AssertionError("eval/exec called on a rule")

    monkeypatch.setattr(builtins, "eval", tripwire)
    monkeypatch.setattr(builtins, "exec", tripwire)
    return calls


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_refused_with_a_message_and_runs_nothing(text, message, tripwires):
    import os

    clear_cache()
    begin = time.perf_counter()
    with pytest.raises(RuleError) as err:
        from_rule(text)
    took = time.perf_counter() - begin
    assert message in str(err.value), str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300  # one line
    assert not os.path.exists(SENTINEL)
    assert tripwires == []
    assert took < 0.5, f"refusing took {took:.2f} s"


def test_the_corpus_covers_the_issues_list():
    texts = "\n".join(t for t, _ in HOSTILE)
    for needle in ("__class__", "import", "lambda", "for ", "while", "10**10**10", "eval("):
        assert needle in texts
    assert any(len(t) >= 100_000 for t, _ in HOSTILE)
    assert any(t.count("\n") >= 10_000 for t, _ in HOSTILE)
    assert MAX_LENGTH < 100_000


@pytest.mark.parametrize("value", [None, b"W = W", 5, ["W = W"]])
def test_non_text_is_refused(value):
    with pytest.raises(RuleError, match="must be text"):
        from_rule(value)


def test_messages_give_the_line_and_column_of_the_problem():
    with pytest.raises(RuleError) as err:
        from_rule("mu = 0.9\nv = mu * v - lr * g\nW = W + v.__class__")
    assert (err.value.line, err.value.column) == (3, 9)
    assert str(err.value).endswith("(line 3, column 9)")
