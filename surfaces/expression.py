"""Surfaces from user text: ``from_expression("(1-x)^2 + 100*(y-x^2)^2")``.

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
Hessian (:data:`MAX_GRAD_SIZE`, :data:`MAX_HESSIAN_SIZE`).

Those bounds do not bound sympy's time. sympy evaluates as it builds (``cos(u)`` asks
whether ``u`` is real, ``tanh`` answers through ``as_real_imag`` of its argument, and so
on down, exponentially in the depth): the 104-character nest of functions
``cos(tanh(cos(asin(…(log(x*y))…)))`` kept it busy for 45 s before any derivative was
taken, and other nests of depth 12 to 25 for 2 to 200 s. So a text is answered in three
stages, and only the middle one runs sympy's algebra:

1. here, without sympy (well under a millisecond): length, brackets, the Python parser,
   the tree's depth and size, and the whitelist of names, calls, operators and literal
   numbers. Most bad texts stop here, with their column;
2. in a child process (``os.fork``: a copy of this one, nothing to start or import),
   killed :data:`TIME_BUDGET` seconds after the request (the CPU and memory it may use
   are limited too): building the sympy expression and checking its constants,
   ``sympy.diff`` for the gradient and the Hessian and their size bounds, their common
   subexpressions (``sympy.cse``) and the LaTeX of the formula. The child sends the
   trees back as plain JSON data (nodes of a whitelisted kind, no pickle); they are
   rebuilt here unevaluated, so the same trees cost no algebra twice;
3. here again: ``sympy.lambdify(modules="numpy")`` prints those trees and their common
   subexpressions as the very numpy code an in-process build would (the numbers are the
   same to the bit), and the value is checked on the window's grid.

A text past its budget is refused ("too complex"), or, when the child had less than
:data:`BUSY_SHARE` of a CPU meanwhile (a busy machine, not the text), refused with "try
again" and not remembered. Answers are kept per text in a bounded LRU
(:data:`CACHE_SIZE`), refusals included, so a text is worked out once; surfaces are also
kept per text, window and start.

Why a child process: sympy cannot be interrupted from another thread, and a signal
(``SIGALRM``) reaches only the main thread, which the server's request threads are not;
a ``sys.setprofile`` clock made ordinary builds 2.2-3.2× slower here; building
unevaluated (``evaluate=False``) changes the trees, so the numbers and
:func:`parse_expression` (``2**-2`` is no longer ``1/4``), and ``sympy.diff`` evaluates
what it builds anyway. A fork costs a few milliseconds, and what sympy caches in a child
is lost with it: a new ordinary text took 13-130 ms here against 6-95 ms in process (a
2-core VM, lightly loaded); the same text in another window takes under 2 ms (it took
3-110 ms); the issue's nest is refused in 1.2 s, then in 40 µs.

``lambdify`` calls ``exec`` on source code that sympy's printer writes from *our*
expression trees (built from whitelisted nodes only), never on the user's text. On a
platform without ``fork`` stage 2 runs in this process, bounded only by the size bounds.

The compiled functions evaluate under ``np.errstate(all="ignore")``: outside a
function's domain (``log`` of a negative number, ``sqrt(-1)``) the value is NaN, an
overflow is ``inf``, and nothing raises or warns. A function with no finite value at all
on the window's grid (``sqrt(-1 - x**2)``) is refused: there would be nothing to draw.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import math
import os
import re
import reprlib
import select
import signal
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy

from surfaces.base import Surface
from surfaces.syntax_names import REFUSED_NODES, REFUSED_OPERATORS

try:
    import resource
except ImportError:  # pragma: no cover - no fork there either (stage 2 runs in-process)
    resource = None

MAX_LENGTH = 500
MAX_DEPTH = 30
MAX_NODES = 200
MAX_EXPONENT = 100
MAX_NUMBER = 1e100
MAX_GRAD_SIZE = 1_000  # tree nodes of (fx, fy); the Hessian's cost grows with it
MAX_HESSIAN_SIZE = 40_000
TIME_BUDGET = 1.2  # seconds of wall clock from a request to sympy's answer (stage 2)
BUSY_SHARE = 0.5  # a child stopped having had less of a CPU than this: "busy, try again"
MEMORY_BUDGET = 1 << 30  # bytes the child may add to this process's address space
CACHE_SIZE = 128  # texts whose answer (compiled parts, under 1 MB, or refusal) is kept
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
    **REFUSED_OPERATORS,
    ast.MatMult: "@",
}

# What a refused node is called in a message.
_NODE_TEXT = {
    **REFUSED_NODES,
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "assignment (:=)",
}


class ExpressionError(ValueError):
    """User text that is not an allowed expression; ``column`` is 1-based (or ``None``).

    ``reason`` is the message without its position.
    """

    def __init__(self, message: str, column: int | None = None, line: int | None = None):
        if column is None:
            where = ""
        elif line is not None and line > 1:
            where = f" at line {line}, column {column}"
        else:
            where = f" at column {column}"
        super().__init__(message + where)
        self.reason = message
        self.column = column
        self.line = line


def parse_expression(text: str) -> sympy.Expr:
    """The sympy expression of ``text`` in ``x`` and ``y`` (real symbols).

    The same checks and the same time bound as :func:`from_expression` (derivatives
    included), and the same cache. ``ExpressionError`` (a ``ValueError``) naming the
    problem and its column otherwise.
    """
    return _analyse(text).expr


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
    ``ExpressionError``. Answered within about :data:`TIME_BUDGET` seconds, and from a
    cache for a text seen before (see the module's docstring).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    x_range = _check_range(x_range, "x_range")
    y_range = _check_range(y_range, "y_range")
    if start is not None:
        start = _check_start(start)
    return _build(text, x_range, y_range, start, str(name))


def clear_cache() -> None:
    """Forget every answer (texts and surfaces): the next build of any text is fresh."""
    _ANSWERS.clear()
    _build.cache_clear()


@functools.lru_cache(maxsize=32)
def _build(text: str, x_range, y_range, start, name: str) -> Surface:
    if start is None:
        start = (
            x_range[0] + 0.7 * (x_range[1] - x_range[0]),
            y_range[0] + 0.7 * (y_range[1] - y_range[0]),
        )
    start = _check_start(start)
    parts = _analyse(text)
    _check_finite_somewhere(parts.f, x_range, y_range)
    f = parts.f
    return Surface(
        name=name,
        label=f"f(x, y) = {text.strip()}",
        description="Your own function; gradient and Hessian derived symbolically (sympy).",
        latex=parts.latex,
        f=lambda x, y: f(x, y)[0],
        df=parts.df,
        d2f=parts.d2f,
        x_range=x_range,
        y_range=y_range,
        minima=(),
        start=start,
        extra={"expression": text.strip()},
    )


# --- the answer for a text, cached ------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """What a text compiles to; a window and a start make a Surface of it."""

    expr: sympy.Expr
    f: Callable
    df: Callable
    d2f: Callable
    latex: str


@dataclass(frozen=True)
class _Refusal:
    reason: str
    column: int | None = None
    line: int | None = None

    def error(self) -> ExpressionError:
        return ExpressionError(self.reason, self.column, self.line)


class _LRU:
    """A bounded, thread-safe least-recently-used map."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_ANSWERS = _LRU(CACHE_SIZE)


def _analyse(text: str) -> _Parts:
    """``text``'s compiled parts, or its ``ExpressionError``: worked out once, then cached."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    answer = _ANSWERS.get(text)
    if answer is None:
        answer, keep = _answer(text)
        if keep:
            _ANSWERS.put(text, answer)
    if isinstance(answer, _Refusal):
        raise answer.error()
    return answer


def _answer(text: str) -> tuple[_Parts | _Refusal, bool]:
    """The answer for ``text`` and whether to keep it (not when the machine was too busy)."""
    deadline = time.monotonic() + TIME_BUDGET
    try:
        _read_tree(text)  # stage 1, in this process: most bad texts stop here
    except ExpressionError as exc:
        return _Refusal(exc.reason, exc.column, exc.line), True
    report = _isolated(_derive, text, deadline)  # stage 2, sympy, in a child with a time limit
    if "assertion" in report:  # a bug (or a test's tripwire), never the user's mistake
        raise AssertionError(report["assertion"])
    if "refused" in report:
        return _Refusal(*report["refused"]), report.get("keep", True)
    try:
        return _compile_parts(report), True  # stage 3
    except AssertionError:
        raise
    except Exception as exc:  # lambdify on trees of whitelisted kinds: not expected
        return _Refusal(f"the expression could not be compiled ({type(exc).__name__})"), True


# --- stage 1: the text and its syntax tree, no sympy -------------------------------------

_LINE_BREAK = r"\r\n|\r|\n"  # what Python's parser counts as a new line


def _read_tree(text: str) -> tuple[_Source, ast.Expression]:
    """The checked syntax tree of ``text``: every node of the grammar, none other."""
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
    _check_grammar(tree.body, source)
    return source, tree


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


def _check_grammar(tree: ast.AST, source: _Source) -> None:
    """The first node outside the grammar, in the order the builder meets them."""
    stack = [tree]
    while stack:
        node = stack.pop()
        error = _grammar_error(node, source)
        if error is not None:
            raise error
        stack.extend(reversed(_operands(node)))


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _grammar_error(node: ast.AST, source: _Source) -> ExpressionError | None:
    """Why ``node`` itself (not its operands) is outside the grammar, or ``None``."""

    def fail(message: str, at: ast.AST = node) -> ExpressionError:
        return ExpressionError(message, *_where(at, source))

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            return fail(f"'{value}' is not allowed; only numbers, x, y, pi and e")
        if isinstance(value, complex):
            return fail("complex numbers are not allowed")
        if isinstance(value, str | bytes):
            return fail("text (strings) is not allowed")
        if isinstance(value, int):  # compared exactly: a 400-digit int is no float
            return (
                fail(f"number too large (at most {MAX_NUMBER:g})")
                if abs(value) > MAX_NUMBER
                else None
            )
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) > MAX_NUMBER:
                return fail(f"number too large (at most {MAX_NUMBER:g})")
            return None
        return fail(f"{type(value).__name__} is not allowed")  # pragma: no cover
    if isinstance(node, ast.Name):
        if node.id in NAMES:
            return None
        if node.id in FUNCTIONS:
            return fail(f"'{node.id}' is a function: write {node.id}(...)")
        return fail(f"unknown name '{node.id}' (use x, y, pi, e)")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub | ast.UAdd):
            return None
        return fail(f"operator '{_OPERATOR_TEXT[type(node.op)]}' is not allowed")
    if isinstance(node, ast.BinOp):
        if type(node.op) in _BINARY:
            return None
        text = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
        return fail(f"operator '{text}' is not allowed (use + - * / ** or ^)")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            what = _NODE_TEXT.get(type(node.func))
            if what is not None:  # e.g. "attribute access is not allowed", at the attribute
                return fail(f"{what} is not allowed", node.func)
            return fail("only the listed functions can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            return fail(f"function '{name}' is not allowed")
        if node.keywords:
            return fail(f"keyword arguments are not allowed in {name}(...)", node.keywords[0])
        arity = FUNCTIONS[name][0]
        if any(isinstance(a, ast.Starred) for a in node.args):
            return fail("unpacking (*) is not allowed")
        if len(node.args) != arity:
            s = "" if arity == 1 else "s"
            return fail(f"{name} takes {arity} argument{s}, got {len(node.args)}")
        return None
    what = _NODE_TEXT.get(type(node), f"'{type(node).__name__}'")
    return fail(f"{what} is not allowed")


# --- stage 2: sympy (in a child process) ------------------------------------------------


def _read(text: str) -> sympy.Expr:
    """The sympy expression of ``text``, with no time bound: stage 2 runs it in a child."""
    source, tree = _read_tree(text)
    expr = _Builder(source).build(tree.body)
    if not isinstance(expr, sympy.Expr):  # pragma: no cover - the builder only makes Expr
        raise ExpressionError("the expression is not a number-valued function of x and y")
    _check_defined(expr, "the expression")
    return expr


class _Builder:
    """Turns a tree that passed :func:`_check_grammar` into a sympy expression."""

    def __init__(self, source: _Source):
        self.source = source

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, *_where(node, self.source))

    def build(self, node: ast.AST) -> sympy.Expr:
        error = _grammar_error(node, self.source)  # checked already; kept next to the build
        if error is not None:
            raise error
        result = getattr(self, "_" + type(node).__name__)(node)
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
        if isinstance(node.value, int):
            return sympy.Integer(node.value)
        return sympy.Float(node.value)

    def _Name(self, node: ast.Name) -> sympy.Expr:
        return NAMES[node.id]

    def _UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        operand = self.build(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand

    def _BinOp(self, node: ast.BinOp) -> sympy.Expr:
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
        function = FUNCTIONS[node.func.id][1]
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


def _derive(text: str) -> dict:
    """Stage 2 for ``text``: everything sympy works out, as JSON-able data.

    ``{"nodes", "expr", "groups", "latex"}`` (see :class:`_Encoder`), or
    ``{"refused": [reason, column, line]}``.
    """
    try:
        started = time.perf_counter()
        expr = _read(text)
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
        encoder = _Encoder()
        groups = [encoder.group(g) for g in ([expr], [fx, fy], [fxx, fxy, fyy])]
        report = {"expr": encoder.add(expr), "groups": groups, "latex": _latex(expr, text)}
        _check_size((), 0, started)
        return {"nodes": encoder.nodes, **report}
    except ExpressionError as exc:
        return {"refused": [exc.reason, exc.column, exc.line]}
    except AssertionError as exc:
        return {"assertion": f"{exc}"}
    except RecursionError:
        return {"refused": ["the expression is nested too deeply for the symbolic algebra"]}
    except MemoryError:
        return {"refused": ["the expression needs too much memory to differentiate; simplify it"]}
    except OverflowError:
        return {"refused": [f"a number in the expression is too large (at most {MAX_NUMBER:g})"]}
    except Exception as exc:  # sympy failed on a text the grammar allows
        return {"refused": [f"the expression could not be differentiated ({type(exc).__name__})"]}


def _tree_size(exprs, limit: int) -> int:
    """Nodes of the expression trees (shared parts counted each time), up to ``limit + 1``."""
    count, stack = 0, list(exprs)
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        stack.extend(node.args)
    return count


def _check_size(exprs, limit: int, started: float) -> None:
    """Refuse derivatives too large to compile and evaluate quickly, or a build too slow
    (the guard left where there is no child process to stop)."""
    if exprs and _tree_size(exprs, limit) > limit:
        raise ExpressionError("the expression is too complex to differentiate here; simplify it")
    if time.perf_counter() - started > TIME_BUDGET:
        raise ExpressionError("the expression took too long to differentiate; simplify it")


def _latex(expr: sympy.Expr, text: str) -> str:
    """``f(x, y) = …`` as sympy writes ``expr``, or ``text`` as typed when that is too long."""
    rendered = "f(x, y) = " + sympy.latex(expr)
    return rendered if len(rendered) <= MAX_LATEX else _plain_latex(text)


_TEX_SPECIAL = {c: "\\" + c for c in "{}$%#&"} | {"\\": r"\backslash ", "~": r"\sim "}


def _plain_latex(text: str) -> str:
    """``text`` as typed, in ``\\text{}`` (whitespace collapsed, TeX's specials escaped)."""
    plain = "".join(_TEX_SPECIAL.get(c, c) for c in " ".join(text.split()))
    return rf"f(x, y) = \text{{{plain}}}"


# The trees cross from the child as a list of nodes, each a JSON list naming its kind and
# the indices of its arguments (earlier in the list): no pickle, nothing but these kinds.
_ENCODED_FUNCTIONS = {
    f.__name__: f
    for f in (
        *(fn for _, fn in FUNCTIONS.values() if fn is not sympy.sqrt),  # sqrt is a Pow
        sympy.sign,  # d|u|/du
        sympy.re,  # |u|' for a u sympy cannot tell is real
        sympy.im,
        sympy.arg,
        sympy.conjugate,
    )
}
_COMBINATIONS = {"+": sympy.Add, "*": sympy.Mul}


class _Encoder:
    """sympy trees as a flat list of JSON nodes, each distinct subtree once."""

    def __init__(self):
        self.nodes: list[list] = []
        self._index: dict[sympy.Basic, int] = {}

    def group(self, exprs: list[sympy.Expr]) -> dict:
        """``exprs`` as ``sympy.lambdify(cse=True)`` would compile them."""
        # Integers past 2**53 would be printed as Python ints that numpy holds as objects.
        big = {
            r: sympy.Float(r)
            for e in exprs
            for r in e.atoms(sympy.Rational)
            if abs(r.p) > 2**53 or abs(r.q) > 2**53
        }
        pairs, reduced = sympy.cse([e.xreplace(big) for e in exprs], list=False)
        return {
            "pairs": [[self.add(s), self.add(e)] for s, e in pairs],
            "reduced": [self.add(e) for e in reduced],
        }

    def add(self, expr: sympy.Basic) -> int:
        stack = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if node in self._index:
                continue
            if not ready:
                _check_kind(node)
            if node.args and not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
                continue
            self._index[node] = len(self.nodes)
            self.nodes.append(self._node(node))
        return self._index[expr]

    def _node(self, node: sympy.Basic) -> list:
        args = [self._index[a] for a in node.args]
        if node is X or node is Y:
            return ["symbol", node.name]
        if type(node) is sympy.Symbol and node.assumptions0 == {"commutative": True}:
            return ["cse", node.name]  # x0, x1, … of sympy.cse
        if isinstance(node, sympy.Integer):
            return ["integer", int(node)]
        if isinstance(node, sympy.Rational):
            return ["rational", node.p, node.q]
        if isinstance(node, sympy.Float):
            (mpf,), options = node.__getnewargs_ex__()  # sympy's own pickle form, exact
            return ["float", list(mpf), options["precision"]]
        if node is sympy.pi or node is sympy.E:
            return ["constant", str(node)]
        if isinstance(node, sympy.Add):
            return ["+", args]
        if isinstance(node, sympy.Mul):
            return ["*", args]
        if isinstance(node, sympy.Pow):
            return ["**", args]
        return ["call", type(node).__name__, args]  # one of _ENCODED_FUNCTIONS (_check_kind)


_NUMBERS_AND_OPERATIONS = (sympy.Rational, sympy.Float, sympy.Add, sympy.Mul, sympy.Pow)


def _check_kind(node: sympy.Basic) -> None:
    """Refuse a node :class:`_Encoder` cannot send (before its arguments are looked at)."""
    if node is X or node is Y or node is sympy.pi or node is sympy.E:
        return
    if isinstance(node, _NUMBERS_AND_OPERATIONS):
        return
    if type(node) is sympy.Symbol and node.assumptions0 == {"commutative": True}:
        return  # a name sympy.cse gave a common subexpression
    if type(node) in _ENCODED_FUNCTIONS.values():
        return
    if isinstance(node, sympy.Derivative):
        raise ExpressionError(
            "its derivative has no closed form here (e.g. abs of a sqrt or a log, which "
            "sympy cannot tell is real); write the function another way"
        )
    raise ExpressionError(f"its derivatives involve {type(node).__name__}, not supported here")


def _decode(nodes: list) -> list[sympy.Basic]:
    """The trees of :class:`_Encoder`, rebuilt without evaluation (the same trees)."""
    built: list[sympy.Basic] = []
    for node in nodes:
        kind = node[0]
        if kind == "symbol":
            value = NAMES[node[1]]
        elif kind == "cse":
            value = sympy.Symbol(str(node[1]))
        elif kind == "integer":
            value = sympy.Integer(int(node[1]))
        elif kind == "rational":
            value = sympy.Rational(int(node[1]), int(node[2]))
        elif kind == "float":
            sign, mantissa, exponent, bits = node[1]
            value = sympy.Float(
                (int(sign), str(mantissa), int(exponent), int(bits)), precision=int(node[2])
            )
        elif kind == "constant":
            value = {"pi": sympy.pi, "E": sympy.E}[node[1]]
        elif kind in _COMBINATIONS:
            value = _COMBINATIONS[kind](*(built[i] for i in node[1]), evaluate=False)
        elif kind == "**":
            base, exponent = (built[i] for i in node[1])
            value = sympy.Pow(base, exponent, evaluate=False)
        elif kind == "call":
            value = _ENCODED_FUNCTIONS[node[1]](*(built[i] for i in node[2]), evaluate=False)
        else:
            raise ValueError(f"unknown node {kind!r}")
        built.append(value)
    return built


# --- the child process -------------------------------------------------------------------

_MAX_REPORT = 64 << 20  # bytes; the size bounds keep a report far below this
_MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1 << 16
_WARM_UP = "sin(x)*cos(y) + tan(x) + abs(x)*log(y) + sqrt(x) + tanh(sinh(cosh(y))) + " + (
    "asin(x) + acos(y) + atan(x) + atan2(y, x) + exp(-x**2) + 0.5 + pi + e"
)
_warm_lock = threading.Lock()
_warmed = False


def _warm_up() -> None:
    """sympy imports parts of itself the first time they are needed (0.5 s here): have
    that happen once in this process, so that no child pays for it (or imports while
    another thread of this process held an import lock when it was forked)."""
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        expr = _read(_WARM_UP)
        parts = [expr.diff(X), expr.diff(Y)]
        parts += [parts[0].diff(X), parts[0].diff(Y), parts[1].diff(Y)]
        sympy.cse(parts, list=False)
        sympy.latex(expr)
        _warmed = True


def _isolated(job: Callable[[str], dict], text: str, deadline: float) -> dict:
    """``job(text)`` in a forked child, killed at ``deadline`` (``time.monotonic()``): its
    report, or a refusal saying why there is none (``"keep": False`` when the cause may
    be the machine rather than the text)."""
    if not hasattr(os, "fork") or resource is None:
        return job(text)
    _warm_up()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return {"refused": ["the server cannot start a worker now; try again"], "keep": False}
    if pid == 0:  # the child: never returns
        _child(job, text, write_end)
    os.close(write_end)
    forked = time.monotonic()
    try:
        data, finished = _read_report(read_end, deadline)
    except BaseException:
        _kill(pid)
        _reap_later(pid)
        raise
    finally:
        os.close(read_end)
    if finished and data:
        _reap_later(pid)  # a large child takes a while to exit: not our caller's time
        return json.loads(data)
    if not finished:
        cpu = _cpu_seconds(pid)  # before the kill: the exit of a large child is slow too
        _kill(pid)
        _reap_later(pid)
        return _late(cpu, time.monotonic() - forked)
    _, status = _reap(pid)
    if os.WIFSIGNALED(status or 0) and os.WTERMSIG(status) == signal.SIGXCPU:
        return {"refused": ["the expression is too complex to differentiate; simplify it"]}
    return {
        "refused": ["the expression could not be worked out (its worker stopped)"],
        "keep": False,
    }


def _late(cpu: float | None, ran: float) -> dict:
    """The refusal for a child stopped at its deadline after ``ran`` seconds, ``cpu`` of
    them on a CPU: the text's fault, or, with too little CPU to tell, the machine's."""
    if cpu is not None and cpu < BUSY_SHARE * ran:
        return {
            "refused": [
                f"the server was too busy to work this expression out within "
                f"{TIME_BUDGET:g} s; try again"
            ],
            "keep": False,
        }
    return {
        "refused": [
            f"the expression is too complex: sympy needed more than {TIME_BUDGET:g} s to "
            f"work it out; simplify it"
        ]
    }


def _cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by the running child ``pid`` (Linux), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _child(job: Callable[[str], dict], text: str, write_end: int) -> None:
    """Run ``job`` under CPU and memory limits, write its JSON report, exit; never return."""
    code = 1
    try:
        # Only the report's pipe stays open (and stdio): a pipe of another request,
        # forked at the same time by another thread, must reach its end of file when its
        # own child is done, not when this one is too.
        os.closerange(3, write_end)
        os.closerange(write_end + 1, _MAX_FD)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)  # the server's handlers are not the child's
        _limit_resources()
        data = json.dumps(job(text), separators=(",", ":")).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
        os.close(write_end)  # the parent reads its end of file now, not after the exit
        code = 0
    except BaseException:  # whatever happens, the child must not return
        pass
    finally:
        os._exit(code)


def _limit_resources() -> None:
    """CPU seconds (a backstop to the parent's clock), memory, and no core file."""
    cpu = math.ceil(TIME_BUDGET) + 1
    limits = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_CORE, (0, 0))]
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        limits.append(
            (resource.RLIMIT_AS, (pages * os.sysconf("SC_PAGE_SIZE") + MEMORY_BUDGET,) * 2)
        )
    except (OSError, ValueError, IndexError):
        pass
    for which, (soft, hard) in limits:
        try:
            _, old_hard = resource.getrlimit(which)
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError):
            pass


def _read_report(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe (True) or the deadline (False)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return b"", False
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_REPORT:
            return b"", True


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap_later(pid: int) -> None:
    """Collect the exit of a child that has sent its report, without waiting for it."""
    threading.Thread(target=_reap, args=(pid,), name="expression-reaper", daemon=True).start()


def _reap(pid: int) -> tuple[float | None, int | None]:
    """Wait for the child: its CPU seconds and exit status (``None`` if reaped elsewhere)."""
    try:
        _, status, usage = os.wait4(pid, 0)
    except ChildProcessError:
        return None, None
    return usage.ru_utime + usage.ru_stime, status


# --- stage 3: compile, in this process ----------------------------------------------------


def _compile_parts(report: dict) -> _Parts:
    built = _decode(report["nodes"])
    f, df, d2f = (_compile(group, built) for group in report["groups"])
    return _Parts(expr=built[report["expr"]], f=f, df=df, d2f=d2f, latex=report["latex"])


def _compile(group: dict, built: list) -> Callable[[np.ndarray, np.ndarray], tuple]:
    """A group of expressions as one numpy function of ``x, y`` returning a tuple of arrays
    of their shape.

    ``sympy.lambdify`` execs source that sympy prints from our trees (not the user's
    text), with the common subexpressions the child found (what ``cse=True`` finds).
    Evaluation ignores floating-point warnings: NaN/inf are the answer outside the domain.
    """
    pairs = [(built[s], built[e]) for s, e in group["pairs"]]
    reduced = [built[i] for i in group["reduced"]]
    fn = sympy.lambdify((X, Y), reduced, modules="numpy", cse=lambda _: (pairs, reduced))

    def evaluate(x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        with np.errstate(all="ignore"):
            values = fn(x, y)
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).copy() for v in values)

    return evaluate


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
