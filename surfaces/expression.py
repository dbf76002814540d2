"""Surfaces from user text: ``from_expression("x**2 + 3*y**2")``.

The text is never given to ``eval``, ``exec``, ``sympify`` or ``parse_expr``. It is
parsed with :func:`ast.parse` in expression mode (parsing runs no user code), and the
tree is walked here node by node: only the grammar below is turned into sympy objects,
everything else is refused with an :class:`ExpressionError` saying what and where.

Grammar (everything else is an error):

- numbers: ``int`` and ``float`` literals (no complex ``1j``, no strings, no booleans);
- names: ``x``, ``y``, ``pi``, ``e``;
- operators: ``+ - * /``, unary ``-``/``+``, and powers written ``**`` or ``^`` (as in
  Desmos, WolframAlpha and spreadsheets). ``^`` means nothing else here, so each one is
  read as ``**`` before parsing: it binds tighter than unary minus and groups to the
  right, as powers do in maths (``-x^2`` is −(x²), ``2^3^2`` is 2⁹, ``x^2 + 1`` is
  x² + 1). Columns in messages are those of the text as typed;
- calls of the functions in :data:`FUNCTIONS` with positional arguments only
  (``sin cos tan exp log sqrt abs tanh sinh cosh arcsin/asin arccos/acos arctan/atan``
  of one argument, ``atan2(y, x)``/``arctan2`` of two).

Bounds, each with its own message: text length (:data:`MAX_LENGTH`), nesting depth of
parentheses and of the tree (:data:`MAX_DEPTH`), number of tree nodes
(:data:`MAX_NODES`), size of literal numbers and of constants (:data:`MAX_NUMBER`),
constant exponents (``|n| ≤`` :data:`MAX_EXPONENT`, so ``9**9**9`` and ``x**(10**10)``
are refused before sympy computes anything), and the size of the derived gradient and
Hessian (:data:`MAX_GRAD_SIZE`, :data:`MAX_HESSIAN_SIZE`). Together they keep the whole
build, sympy differentiation included (no ``simplify``), near or under a second on a
busy 2-core machine (``TIME_BUDGET`` is a last guard between the steps).

The gradient and Hessian come from ``sympy.diff`` and are compiled with
``sympy.lambdify(modules="numpy")``. ``lambdify`` itself calls ``exec`` on source code
that sympy's printer writes from *our* expression tree (built from whitelisted nodes
only), never on the user's text.

The compiled functions evaluate under ``np.errstate(all="ignore")``: outside a
function's domain (``log`` of a negative number, ``sqrt(-1)``) the value is NaN, an
overflow is ``inf``, and nothing raises or warns. A function with no finite value at all
on the window's grid (``sqrt(-1 - x**2)``) is refused: there would be nothing to draw.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import reprlib
import time
import warnings
from collections.abc import Callable

import numpy as np
import sympy

from surfaces.base import Surface

MAX_LENGTH = 500
MAX_DEPTH = 30
MAX_NODES = 200
MAX_EXPONENT = 100
MAX_NUMBER = 1e100
MAX_GRAD_SIZE = 1_000  # tree nodes of (fx, fy); the Hessian's cost grows with it
MAX_HESSIAN_SIZE = 40_000
TIME_BUDGET = 3.0  # seconds; a last guard, the size bounds keep a build near or under 1 s
MAX_LATEX = 600  # characters of sympy's LaTeX; longer formulas are shown as typed
CHECK_GRID = 100  # the window is sampled n×n for a finite value (the app draws 100×100)

X, Y = sympy.symbols("x y", real=True)

NAMES: dict[str, sympy.Expr] = {"x": X, "y": Y, "pi": sympy.pi, "e": sympy.E}

# name -> (number of arguments, sympy function)
FUNCTIONS: dict[str, tuple[int, Callable[..., sympy.Expr]]] = {
    "sin": (1, sympy.sin),
    "cos": (1, sympy.cos),
    "tan": (1, sympy.tan),
    "exp": (1, sympy.exp),
    "log": (1, sympy.log),
    "sqrt": (1, sympy.sqrt),
    "abs": (1, sympy.Abs),
    "tanh": (1, sympy.tanh),
    "sinh": (1, sympy.sinh),
    "cosh": (1, sympy.cosh),
    "arcsin": (1, sympy.asin),
    "asin": (1, sympy.asin),
    "arccos": (1, sympy.acos),
    "acos": (1, sympy.acos),
    "arctan": (1, sympy.atan),
    "atan": (1, sympy.atan),
    "atan2": (2, sympy.atan2),
    "arctan2": (2, sympy.atan2),
}

_BINARY = {
    ast.Add: sympy.Add,
    ast.Sub: lambda a, b: sympy.Add(a, -b),
    ast.Mult: sympy.Mul,
    ast.Div: lambda a, b: sympy.Mul(a, sympy.Pow(b, -1)),
    ast.Pow: sympy.Pow,
}

_OPERATOR_TEXT = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}

# What a refused node is called in a message.
_NODE_TEXT = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.IfExp: "a conditional expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.NamedExpr: "assignment (:=)",
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


class ExpressionError(ValueError):
    """User text that is not an allowed expression; ``column`` is 1-based (or ``None``)."""

    def __init__(self, message: str, column: int | None = None, line: int | None = None):
        if column is None:
            where = ""
        elif line is not None and line > 1:
            where = f" at line {line}, column {column}"
        else:
            where = f" at column {column}"
        super().__init__(message + where)
        self.column = column
        self.line = line


def parse_expression(text: str) -> sympy.Expr:
    """The sympy expression of ``text`` in ``x`` and ``y`` (real symbols).

    ``ExpressionError`` (a ``ValueError``) naming the problem and its column otherwise.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text):,} characters; at most {MAX_LENGTH})"
        )
    if not text.strip():
        raise ExpressionError("the expression is empty; write a function of x and y")
    if "\x00" in text:
        raise ExpressionError("the expression contains a NUL character", text.index("\x00") + 1)
    _check_brackets(text)
    source = _Source(text)
    tree = _parse(source)
    _check_tree(tree, source)
    expr = _Builder(source).build(tree.body)
    if not isinstance(expr, sympy.Expr):  # pragma: no cover - the builder only makes Expr
        raise ExpressionError("the expression is not a number-valued function of x and y")
    _check_defined(expr, "the expression")
    return expr


def from_expression(
    text: str,
    x_range=(-2.0, 2.0),
    y_range=(-2.0, 2.0),
    start=None,
    name: str = "expression",
) -> Surface:
    """A :class:`Surface` for ``f(x, y) = text`` with sympy-derived gradient and Hessian.

    ``start`` defaults to the point 70 % of the way across the window in x and in y.
    The minima are unknown (``()``). ``latex`` is ``f(x, y) = …`` as sympy writes the
    formula (the text as typed, in ``\\text{}``, past :data:`MAX_LATEX` characters).
    Bad text or ranges, or a function with no finite value on the window's grid:
    ``ExpressionError``.
    Surfaces are immutable, so the last few builds are cached (an app re-asks often).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    x_range = _check_range(x_range, "x_range")
    y_range = _check_range(y_range, "y_range")
    if start is not None:
        start = _check_start(start)
    return _build(text, x_range, y_range, start, str(name))


@functools.lru_cache(maxsize=32)
def _build(text: str, x_range, y_range, start, name: str) -> Surface:
    started = time.perf_counter()
    if start is None:
        start = (
            x_range[0] + 0.7 * (x_range[1] - x_range[0]),
            y_range[0] + 0.7 * (y_range[1] - y_range[0]),
        )
    start = _check_start(start)
    expr = parse_expression(text)
    fx, fy = (_drop_deltas(sympy.diff(expr, v)) for v in (X, Y))
    _check_size((fx, fy), MAX_GRAD_SIZE, started)
    fxx, fxy, fyy = (
        _drop_deltas(sympy.diff(fx, X)),
        _drop_deltas(sympy.diff(fx, Y)),
        _drop_deltas(sympy.diff(fy, Y)),
    )
    _check_size((fxx, fxy, fyy), MAX_HESSIAN_SIZE, started)
    for part in (fx, fy, fxx, fxy, fyy):
        _check_defined(part, "its derivative")
    f, df, d2f = _compile([expr]), _compile([fx, fy]), _compile([fxx, fxy, fyy])
    latex = _latex(expr, text)
    _check_size((), 0, started)
    _check_finite_somewhere(f, x_range, y_range)
    return Surface(
        name=name,
        label=f"f(x, y) = {text.strip()}",
        description="Your own function; gradient and Hessian derived symbolically (sympy).",
        latex=latex,
        f=lambda x, y: f(x, y)[0],
        df=df,
        d2f=d2f,
        x_range=x_range,
        y_range=y_range,
        minima=(),
        start=start,
        extra={"expression": text.strip()},
    )


# --- text-level checks (before the parser sees the text) ---------------------------

_LINE_BREAK = r"\r\n|\r|\n"  # what Python's parser counts as a new line


def _check_brackets(text: str) -> None:
    """Refuse deep nesting before ``ast.parse`` (which has its own, harsher limits)."""
    depth, line, line_start = 0, 1, 0
    for i, ch in enumerate(text):
        if ch == "\n" or (ch == "\r" and text[i + 1 : i + 2] != "\n"):
            line, line_start = line + 1, i + 1
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"parentheses are nested too deeply (at most {MAX_DEPTH} levels)",
                    i - line_start + 1,
                    line,
                )
        elif ch in ")]}":
            depth -= 1


class _Source:
    """The text as parsed, and how to turn parser positions into the user's line and column.

    The parser sees the text with every ``^`` written ``**`` and without leading blanks
    (Python refuses them, "unexpected indent", which no user would expect); positions are
    shifted back to the text as typed.
    """

    def __init__(self, text: str):
        typed = text.lstrip()
        lead = re.split(_LINE_BREAK, text[: len(text) - len(typed)])
        self.lines_before = len(lead) - 1
        self.columns_before = len(lead[-1])
        self.typed_lines = re.split(_LINE_BREAK, typed)
        self.body = typed.replace("^", "**")
        self.lines = [line.replace("^", "**") for line in self.typed_lines]

    def position(self, line: int, column: int) -> tuple[int, int]:
        """User's (column, line), both 1-based, of the parser's 1-based character position."""
        column = _typed_column(self.typed_lines[self._index(line)], column)
        if line == 1:
            column += self.columns_before
        return column, line + self.lines_before

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) as the parser read it."""
        return self.lines[self._index(line)]

    def _index(self, line: int) -> int:
        return min(max(line, 1), len(self.lines)) - 1


def _typed_column(typed: str, column: int) -> int:
    """The column in ``typed`` of ``column`` in ``typed`` with each ``^`` written ``**``."""
    wanted, parsed = column - 1, 0
    for i, ch in enumerate(typed):
        width = 2 if ch == "^" else 1
        if wanted < parsed + width:
            return i + 1
        parsed += width
    return len(typed) + wanted - parsed + 1  # at or past the end of the line


def _quiet_parse(text: str, mode: str) -> ast.AST:
    """``ast.parse``, with the parser's warnings (``1if``, ``"\\d"``) raised as syntax errors
    instead of printed to the server's log."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        warnings.simplefilter("error", DeprecationWarning)
        return ast.parse(text, mode=mode)


def _parse(source: _Source) -> ast.Expression:
    text = source.body
    try:
        return _quiet_parse(text, "eval")
    except SyntaxError as exc:
        statements = False
        try:
            _quiet_parse(text, "exec")
            statements = True
        except (SyntaxError, ValueError, RecursionError, MemoryError, Warning):
            pass
        if statements:
            raise ExpressionError(
                "only a single expression is allowed (no statements, imports or assignments)"
            ) from None
        line = exc.lineno or 1
        width = len(source.line_text(line))
        offset = exc.offset if exc.offset and exc.offset > 0 else width + 1  # 0: at the end
        column, line = source.position(line, min(offset, width + 1))
        message = (exc.msg or "invalid syntax").rstrip(".")
        raise ExpressionError(f"syntax error ({message})", column, line) from None
    except (ValueError, RecursionError, MemoryError, Warning) as exc:
        raise ExpressionError(f"the expression cannot be read: {type(exc).__name__}") from None


# --- tree-level checks -------------------------------------------------------------


def _check_tree(tree: ast.AST, source: _Source) -> None:
    """Depth and node count of the tree, walked iteratively (no recursion to exhaust)."""
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr_context):
            continue
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression is too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH + 1:  # the Expression wrapper counts as one level
            raise ExpressionError(
                f"the expression is nested too deeply (at most {MAX_DEPTH} levels)",
                *_where(node, source),
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _where(node: ast.AST, source: _Source) -> tuple[int | None, int | None]:
    """1-based (column, line) of ``node``; ``col_offset`` counts UTF-8 bytes."""
    line = getattr(node, "lineno", None)
    offset = getattr(node, "col_offset", None)
    if line is None or offset is None:
        return None, None
    encoded = source.line_text(line).encode("utf-8")
    return source.position(line, len(encoded[:offset].decode("utf-8", errors="ignore")) + 1)


class _Builder:
    """Turns an allowed ``ast`` tree into a sympy expression, refusing everything else."""

    def __init__(self, source: _Source):
        self.source = source

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, *_where(node, self.source))

    def build(self, node: ast.AST) -> sympy.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _NODE_TEXT.get(type(node), f"'{type(node).__name__}'")
            raise self.fail(f"{what} is not allowed", node)
        result = method(node)
        if result.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise self.fail("this part is undefined (division by zero?)", node)
        if not result.free_symbols:
            self._check_constant(result, node)
        return result

    def _check_constant(self, value: sympy.Expr, node: ast.AST) -> None:
        """A part without x and y must be a real number of sensible size."""
        try:
            number = complex(value.evalf())
        except OverflowError:
            raise self.fail(f"number too large (at most {MAX_NUMBER:g})", node) from None
        if number.imag != 0:
            raise self.fail("this part has a complex value (e.g. sqrt or log of a negative)", node)
        if not abs(number.real) <= MAX_NUMBER:
            raise self.fail(f"number too large (at most {MAX_NUMBER:g})", node)

    def _Constant(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"'{value}' is not allowed; only numbers, x, y, pi and e", node)
        if isinstance(value, complex):
            raise self.fail("complex numbers are not allowed", node)
        if isinstance(value, str | bytes):
            raise self.fail("text (strings) is not allowed", node)
        if isinstance(value, int):
            if abs(value) > MAX_NUMBER:
                raise self.fail(f"number too large (at most {MAX_NUMBER:g})", node)
            return sympy.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) > MAX_NUMBER:
                raise self.fail(f"number too large (at most {MAX_NUMBER:g})", node)
            return sympy.Float(value)
        raise self.fail(f"{type(value).__name__} is not allowed", node)  # pragma: no cover

    def _Name(self, node: ast.Name) -> sympy.Expr:
        if node.id in NAMES:
            return NAMES[node.id]
        if node.id in FUNCTIONS:
            raise self.fail(f"'{node.id}' is a function: write {node.id}(...)", node)
        raise self.fail(f"unknown name '{node.id}' (use x, y, pi, e)", node)

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise self.fail(f"operator '{_OPERATOR_TEXT[type(node.op)]}' is not allowed", node)

    def _BinOp(self, node: ast.BinOp) -> sympy.Expr:
        if type(node.op) not in _BINARY:
            text = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"operator '{text}' is not allowed (use + - * / ** or ^)", node)
        left = self.build(node.left)
        right = self.build(node.right)
        if isinstance(node.op, ast.Pow):
            self._check_power(left, right, node)
        return _BINARY[type(node.op)](left, right)

    def _check_power(self, base: sympy.Expr, exponent: sympy.Expr, node: ast.BinOp) -> None:
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise self.fail(
                f"exponent {_short(exponent)} is too large (at most {MAX_EXPONENT})", node.right
            )
        if base.is_Number and exponent.is_Number:
            b, n = abs(float(base)), float(exponent)
            if b == 0 and n < 0:
                raise self.fail("0 to a negative power is undefined", node)
            if b != 0 and n * math.log10(b) > math.log10(MAX_NUMBER):
                raise self.fail(f"number too large (at most {MAX_NUMBER:g})", node)

    def _Call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            what = _NODE_TEXT.get(type(node.func))
            if what is not None:  # e.g. "attribute access is not allowed", at the attribute
                raise self.fail(f"{what} is not allowed", node.func)
            raise self.fail("only the listed functions can be called", node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(f"function '{name}' is not allowed", node)
        if node.keywords:
            raise self.fail(f"keyword arguments are not allowed in {name}(...)", node.keywords[0])
        arity, function = FUNCTIONS[name]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail("unpacking (*) is not allowed", node)
        if len(node.args) != arity:
            s = "" if arity == 1 else "s"
            raise self.fail(f"{name} takes {arity} argument{s}, got {len(node.args)}", node)
        return function(*(self.build(a) for a in node.args))


def _short(number: sympy.Expr) -> str:
    text = str(number)
    return text if len(text) <= 12 else f"{float(number):.3g}"


def _check_defined(expr: sympy.Expr, what: str) -> None:
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ExpressionError(f"{what} is undefined somewhere it must not be (division by zero?)")
    if expr.has(sympy.I):
        raise ExpressionError(f"{what} has complex values (e.g. sqrt or log of a negative number)")


def _drop_deltas(expr: sympy.Expr) -> sympy.Expr:
    """``DiracDelta`` (from ``abs``'s second derivative) is zero almost everywhere."""
    if expr.has(sympy.DiracDelta):
        expr = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.Integer(0))
    return expr


def _compile(exprs: list[sympy.Expr]) -> Callable[[np.ndarray, np.ndarray], tuple]:
    """``exprs`` as one numpy function of ``x, y`` returning a tuple of arrays of their shape.

    ``sympy.lambdify`` execs source that sympy prints from ``exprs`` (our tree, not the
    user's text); ``cse=True`` computes shared parts once. Evaluation ignores
    floating-point warnings: NaN/inf are the answer outside the domain.
    """
    # Integers past 2**53 would be printed as Python ints that numpy holds as objects.
    big = {
        r: sympy.Float(r)
        for e in exprs
        for r in e.atoms(sympy.Rational)
        if abs(r.p) > 2**53 or abs(r.q) > 2**53
    }
    fn = sympy.lambdify((X, Y), [e.xreplace(big) for e in exprs], modules="numpy", cse=True)

    def evaluate(x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        with np.errstate(all="ignore"):
            values = fn(x, y)
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).copy() for v in values)

    return evaluate


def _latex(expr: sympy.Expr, text: str) -> str:
    """``f(x, y) = …`` as sympy writes ``expr``, or ``text`` as typed when that is too long."""
    rendered = "f(x, y) = " + sympy.latex(expr)
    return rendered if len(rendered) <= MAX_LATEX else _plain_latex(text)


_TEX_SPECIAL = {c: "\\" + c for c in "{}$%#&"} | {"\\": r"\backslash ", "~": r"\sim "}


def _plain_latex(text: str) -> str:
    """``text`` as typed, in ``\\text{}`` (whitespace collapsed, TeX's specials escaped)."""
    plain = "".join(_TEX_SPECIAL.get(c, c) for c in " ".join(text.split()))
    return rf"f(x, y) = \text{{{plain}}}"


def _check_finite_somewhere(f: Callable, x_range, y_range) -> None:
    """Refuse a function with no finite real value on the window's grid (nothing to draw)."""
    xs = np.linspace(*x_range, CHECK_GRID)
    ys = np.linspace(*y_range, CHECK_GRID)
    values = f(*np.meshgrid(xs, ys))[0]
    if not np.isfinite(values).any():
        (x0, x1), (y0, y1) = x_range, y_range
        raise ExpressionError(
            f"f(x, y) has no finite real value anywhere in the window "
            f"x ∈ [{x0:g}, {x1:g}], y ∈ [{y0:g}, {y1:g}] (e.g. sqrt or log of a number "
            f"that is negative there, or an overflow); change the function or the window"
        )


def _check_range(r, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except OverflowError:
        raise ExpressionError(f"{what} must be finite numbers (too large for a float)") from None
    except (TypeError, ValueError):
        raise ExpressionError(f"{what} must be two numbers (lo, hi), got {_brief(r)}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ExpressionError(f"{what} must be finite, got ({lo:g}, {hi:g})")
    if not lo < hi:
        raise ExpressionError(f"{what} must have lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


def _check_start(start) -> tuple[float, float]:
    try:
        sx, sy = (float(v) for v in start)
    except OverflowError:
        raise ExpressionError(
            "start must be finite (a coordinate is too large for a float)"
        ) from None
    except (TypeError, ValueError):
        raise ExpressionError(f"start must be a point (x, y), got {_brief(start)}") from None
    if not (math.isfinite(sx) and math.isfinite(sy)):
        raise ExpressionError(f"start must be finite, got ({sx:g}, {sy:g})")
    return sx, sy


def _brief(value) -> str:
    """``repr`` cut short: a message quotes what it refuses, never megabytes of it."""
    return reprlib.repr(value)


def _tree_size(exprs, limit: int) -> int:
    """Nodes of the expression trees (shared parts counted each time), up to ``limit + 1``."""
    count, stack = 0, list(exprs)
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        stack.extend(node.args)
    return count


def _check_size(exprs, limit: int, started: float) -> None:
    """Refuse derivatives too large to compile and evaluate quickly, or a build too slow."""
    if exprs and _tree_size(exprs, limit) > limit:
        raise ExpressionError("the expression is too complex to differentiate here; simplify it")
    if time.perf_counter() - started > TIME_BUDGET:
        raise ExpressionError("the expression took too long to differentiate; simplify it")
