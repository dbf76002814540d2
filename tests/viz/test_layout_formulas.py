"""Long surface formulas are broken into lines the sidebar holds (issue 14), unchanged else."""

from __future__ import annotations

import re

import pytest

from optimizers import OPTIMIZERS
from surfaces import SURFACES
from viz.ui import layout
from viz.ui.layout import FORMULA_GLYPHS, glyphs, wrap_formula


def lines_of(wrapped: str) -> list[str]:
    body = wrapped.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    return [ln.strip().removeprefix("&").strip() for ln in body.split(r"\\")]


def squash(text: str) -> str:
    return re.sub(r"\s+|\\quad|\\times", "", text)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_a_formula_is_the_same_maths_in_lines_that_fit(name):
    latex = SURFACES[name].latex
    wrapped = wrap_formula(latex)
    if glyphs(latex) <= FORMULA_GLYPHS:
        assert wrapped == latex
        return
    if wrapped == latex:  # no break outside brackets (noisy moons): CSS scales it to fit
        assert "aligned" not in wrapped and " + " not in latex.split("[", 1)[0]
        return
    lines = lines_of(wrapped)
    assert squash("".join(lines)) == squash(latex)  # nothing lost, nothing added
    # each line fits, unless it is one unbreakable piece (those are scaled down in CSS)
    assert len(lines) >= 2 and glyphs(lines[0]) <= FORMULA_GLYPHS + 6
    assert wrapped.count(r"\begin{aligned}") == 1


def test_breaks_only_at_the_top_level():
    assert wrap_formula("f = a + b", width=3).count(r"\\") == 1
    inside = r"f = \left(a + b + c + d + e + g + h + i + j + k + l + m + n + o\right)"
    assert wrap_formula(inside, width=10) == inside  # nothing to break outside the brackets
    assert wrap_formula(r"\begin{aligned} a &= b \end{aligned}", width=1).count("aligned") == 2
    assert glyphs(r"\cos\theta + \,x^{2}") == 7  # c o s, θ, +, x, 2


def test_a_hyperparameter_without_a_symbol_is_named_once():
    """torch:Adam's eps has no symbol of the notes: its row said "eps eps"."""
    pytest.importorskip("torch")
    eps = next(h for h in OPTIMIZERS["torch:Adam"].hyper if h.name == "eps")
    row = repr(layout.hyper_control("torch:Adam", eps, eps.default))
    assert row.count("children='eps'") == 1 and "hyper-symbol" not in row
    mine = next(h for h in OPTIMIZERS["adam"].hyper if h.name == "eps")  # the notes' ε
    assert "hyper-symbol" in repr(layout.hyper_control("adam", mine, mine.default))
