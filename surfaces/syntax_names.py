"""What the two parsers of user text (``surfaces.expression`` for formulas,
``optimizers.typed`` for update rules) call the Python syntax they refuse, so that both
name it in the same words. Each adds the entries of its own language. Plain ``ast``: no
sympy, so the optimizers may import it."""

from __future__ import annotations

import ast

# Refused expression nodes, as a message names them.
REFUSED_NODES = {
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.IfExp: "a conditional expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.Starred: "unpacking (*)",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

# Refused operators, as typed.
REFUSED_OPERATORS = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}
