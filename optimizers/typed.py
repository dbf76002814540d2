r"""Update rules typed by a user, in the notes' own notation: ``from_rule(text, **hyper)``.

>>> from optimizers import from_rule
>>> opt = from_rule('''
... mu = 0.9
... v = mu * v - lr * g
... W = W + v
... ''', lr=0.05)
>>> opt.hyper
{'lr': 0.05, 'mu': 0.9}

The text is never given to ``eval``, ``exec`` or ``compile``. :func:`ast.parse` reads it
(parsing runs no user code); the tree is checked here node by node against the grammar
below and turned into closures over numpy operations chosen from fixed tables. Anything
else is refused with a :class:`RuleError` saying what and where (line and column).

Grammar, one statement a line (or separated by ``;``), run in order at every step:

- ``name = expression`` (and ``name += expression``, likewise ``-= *= /=``);
- names the rule reads: ``W`` the point (a 2-vector per start), ``g`` the gradient at W
  as the step began, ``H`` the 2×2 Hessian there, ``I`` the 2×2 identity, ``t`` the step
  number (1 at the first step), ``lr`` the learning rate α (default 0.01);
- a name first assigned a number (``mu = 0.9``, ``eps = 1e-8``, ``lr = 0.1``) and never
  assigned again is a *hyperparameter* with that default; any other name the rule reads
  before assigning it is *state* that persists from step to step and starts at zero;
  a name assigned before it is read is a temporary of the step;
- numbers (``int`` or ``float`` literals, at most 1e100), ``+ - * / **``, unary ``-``,
  ``A @ v`` (a matrix times a vector or a matrix), parentheses;
- the functions of :data:`FUNCTIONS`: element-wise ``sqrt abs sign exp log tanh``,
  ``min(a, b)``, ``max(a, b)``, ``clip(x, lo, hi)``; per point ``norm(v)`` and
  ``dot(u, v)`` (the number in both coordinates), ``solve(A, v)`` (A⁻¹v, exactly, by the
  2×2 determinant), ``grad(expression)`` (the gradient at another point, e.g. Nesterov's
  ``grad(W + mu*v)``).

Every value is a number, a point (…, 2) or a matrix (…, 2, 2); a point and a matrix only
meet through ``@`` or ``solve`` (``H + v`` is refused), so the rule means the same for one
start (2,) and for a batch (B, 2). The rule must assign ``W``. Arithmetic follows numpy
with floating-point errors silenced: a NaN, an infinity or a runaway W is reported by
``run()`` as a divergence, never raised.

Bounds, each with its own message: :data:`MAX_LENGTH` characters, :data:`MAX_STATEMENTS`
statements, :data:`MAX_DEPTH` levels of nesting, :data:`MAX_NODES` tree nodes,
:data:`MAX_GRAD_CALLS` calls of ``grad``, literal numbers up to :data:`MAX_NUMBER`, and
constant exponents up to :data:`MAX_EXPONENT` (``10**10**10`` is refused before anything
is computed). Every number is a float: no Python integer arithmetic ever runs.
"""

from __future__ import annotations

import ast
import functools
import keyword
import math
import operator
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from optimizers.base import OPTIMIZERS, HyperSpec, Optimizer, RuleInfo, lr_spec
from optimizers.colours import clear_of
from optimizers.schedules import as_schedule
from surfaces.syntax_names import REFUSED_NODES, REFUSED_OPERATORS

MAX_LENGTH = 4096
MAX_STATEMENTS = 40
MAX_DEPTH = 24  # nesting of brackets and of the expression tree
MAX_NODES = 2000
MAX_GRAD_CALLS = 8
MAX_NUMBER = 1e100
MAX_EXPONENT = 100
MAX_NAME = 32
DEFAULT_LR = 0.01

NUM, VEC, MAT = "number", "point", "matrix"  # the three kinds of value
READ_ONLY = {"g": VEC, "H": MAT, "I": MAT, "t": NUM}  # what the rule reads but never sets

# Colours for typed rules, none of them near a built-in rule's or Radford's (by the name).
COLOURS = ("#FF7F00", "#984EA3", "#17BECF", "#A65628", "#F781BF", "#7F7F7F")


class RuleError(ValueError):
    """A rule text that is refused; ``line`` and ``column`` are 1-based (or ``None``).

    ``reason`` is the message without its position.
    """

    def __init__(self, reason: str, line: int | None = None, column: int | None = None):
        where = "" if line is None else f" (line {line}, column {column})"
        super().__init__(reason + where)
        self.reason, self.line, self.column = reason, line, column


# --- numpy operations the rules may use ---------------------------------------------------


def _per_point(x: np.ndarray) -> np.ndarray:
    """A per-point number in both coordinates of a point."""
    return np.repeat(x[..., None], 2, axis=-1)


def _norm(v):
    return _per_point(np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1]))


def _dot(u, v):
    u, v = np.broadcast_arrays(u, v)
    return _per_point(u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1])


def _solve(a, v):
    """A⁻¹v for 2×2 A per point, through the determinant: singular gives inf/NaN, no error."""
    a, v = np.asarray(a, dtype=float), np.asarray(v, dtype=float)
    p, q, r, s = a[..., 0, 0], a[..., 0, 1], a[..., 1, 0], a[..., 1, 1]
    det = p * s - q * r
    x = (s * v[..., 0] - q * v[..., 1]) / det
    y = (p * v[..., 1] - r * v[..., 0]) / det
    return np.stack(np.broadcast_arrays(x, y), axis=-1)


def _matmul(a, b, kind_b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if kind_b == MAT:
        return a @ b
    return (a @ b[..., None])[..., 0]


def _elementwise(*kinds: str) -> str:
    """An element-wise function's result: a matrix or a point if any argument is one."""
    return MAT if MAT in kinds else VEC if VEC in kinds else NUM


# name -> (number of arguments, numpy function, kind of the result from the arguments' kinds)
FUNCTIONS: dict[str, tuple[int, Callable, Callable[..., str]]] = {
    "sqrt": (1, np.sqrt, _elementwise),
    "abs": (1, np.abs, _elementwise),
    "sign": (1, np.sign, _elementwise),
    "exp": (1, np.exp, _elementwise),
    "log": (1, np.log, _elementwise),
    "tanh": (1, np.tanh, _elementwise),
    "min": (2, np.minimum, _elementwise),
    "max": (2, np.maximum, _elementwise),
    "clip": (3, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), _elementwise),
    "norm": (1, _norm, lambda k: VEC),
    "dot": (2, _dot, lambda a, b: VEC),
    "solve": (2, _solve, lambda a, b: VEC),
}
# What each function's arguments must be (None: any kind).
_ARG_KINDS = {"norm": (VEC,), "dot": (VEC, VEC), "solve": (MAT, VEC), "grad": (VEC,)}

_BINARY = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
}

# What a refused node is called in a message.
_NODE_TEXT = {
    **REFUSED_NODES,
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[i])",
    ast.Lambda: "a lambda",
    ast.NamedExpr: "assignment inside an expression (:=)",
    ast.Import: "an import",
    ast.ImportFrom: "an import",
    ast.For: "a loop",
    ast.While: "a loop",
    ast.If: "an if statement",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.With: "a with statement",
    ast.Try: "a try statement",
    ast.Return: "return",
    ast.Delete: "del",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.Raise: "raise",
    ast.Assert: "assert",
    ast.Pass: "pass",
    ast.Break: "break",
    ast.Continue: "continue",
    ast.AnnAssign: "an annotated assignment",
    ast.Expr: "an expression on its own (assign it: name = …)",
}
_OPERATOR_TEXT = {
    **REFUSED_OPERATORS,
    ast.BitXor: "^ (write powers as **)",
}


# --- reading the text ---------------------------------------------------------------------


class _Source:
    """The text as parsed: each line without its leading blanks (Python would refuse them,
    "unexpected indent", which no one typing a rule expects), and how to turn the parser's
    positions (UTF-8 byte offsets) back into the user's columns."""

    def __init__(self, text: str, dedent: bool = True):
        raw = text.splitlines() or [""]
        self.lines = [line.lstrip(" \t") if dedent else line for line in raw]
        self.indent = [len(a) - len(b) for a, b in zip(raw, self.lines, strict=True)]
        self.parsed = "\n".join(self.lines)

    def column(self, line: int, chars: int) -> int:
        """The 1-based column of the typed text for 0-based ``chars`` into a parsed line."""
        return chars + 1 + (self.indent[line - 1] if 0 < line <= len(self.indent) else 0)

    def where(self, node) -> tuple[int, int]:
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return line, self.column(
            line, len(text.encode("utf-8")[:offset].decode("utf-8", "replace"))
        )

    def error(self, reason: str, node) -> RuleError:
        return RuleError(reason, *self.where(node))


def _check_text(text) -> None:
    if not isinstance(text, str):
        raise RuleError(f"the rule must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise RuleError(f"the rule is too long ({len(text):,} characters; at most {MAX_LENGTH:,})")
    if not text.strip():
        raise RuleError("the rule is empty; write at least W = W - lr * g")
    line, start = 1, 0
    depth = 0
    for i, ch in enumerate(text):
        if ch == "\n":
            line, start = line + 1, i + 1
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise RuleError(
                    f"brackets are nested too deeply (at most {MAX_DEPTH} levels)",
                    line,
                    i - start + 1,
                )
        elif ch in ")]}":
            depth -= 1
        elif ch == "\x00" or (not ch.isprintable() and ch not in "\t\r"):
            raise RuleError(f"the rule contains a control character {ch!r}", line, i - start + 1)


def _parse(text: str) -> tuple[ast.Module, _Source]:
    """The tree of ``text`` without its lines' leading blanks, or, where those mattered
    (an indented block: a loop, a function), of the text as typed, so that its check can
    say what the block is; and the source its positions refer to."""
    source = _Source(text)
    try:
        return ast.parse(source.parsed, mode="exec"), source
    except SyntaxError as exc:
        try:
            return ast.parse(text, mode="exec"), _Source(text, dedent=False)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            pass
        msg = (exc.msg or "invalid syntax").split(" (")[0]
        line = exc.lineno or 1
        raise RuleError(
            f"syntax error: {msg}{_hint(msg, text, line)}",
            line,
            source.column(line, (exc.offset or 1) - 1),
        ) from None
    except (RecursionError, MemoryError):
        raise RuleError(f"the rule is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise RuleError(f"the rule cannot be read: {str(exc)[:80]}") from None


# what a pasted formula often holds, and what to type instead
_LOOKALIKES = {"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "÷": "/", "²": "**2"}


def _hint(msg: str, text: str, line: int) -> str:
    """What to do about a syntax error a student is likely to make: a typographic sign
    pasted for an operator, or a word Python keeps for itself used as a name."""
    bad = re.match(r"invalid character '(.)'", msg)
    if bad and bad.group(1) in _LOOKALIKES:
        return f"; type {_LOOKALIKES[bad.group(1)]} instead"
    row = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    words = [w for w in re.findall(r"[A-Za-z_]\w*", row) if keyword.iskeyword(w)]
    words = [w for w in words if w not in ("True", "False", "None")]
    if words:
        return f"; {words[0]!r} is a word Python keeps for itself: choose another name"
    return ""


def _check_shape(tree: ast.Module, source: _Source) -> None:
    """Statement count, tree size and depth, by an explicit stack (no recursion)."""
    if len(tree.body) > MAX_STATEMENTS:
        node = tree.body[MAX_STATEMENTS]
        raise source.error(
            f"too many statements ({len(tree.body):,}; at most {MAX_STATEMENTS})", node
        )
    nodes = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise source.error(f"the rule is too large (more than {MAX_NODES:,} parts)", node)
        if depth > MAX_DEPTH + 2:  # module and statement levels above the expression
            raise source.error(
                f"the expression is nested too deeply (at most {MAX_DEPTH}; each + of a long "
                "sum counts: split it, s = a + b + …, then use s)",
                node,
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


# --- the checked rule, compiled to closures -----------------------------------------------

Fn = Callable[[dict], object]


@dataclass(frozen=True)
class Program:
    """A checked rule: its statements as closures, and the names it uses by role."""

    statements: tuple[tuple[str, Fn], ...]
    hyper: tuple[tuple[str, float], ...]  # (name, default), lr first
    state: tuple[tuple[str, str], ...]  # (name, kind): read before written, start at zero
    uses_hessian: bool
    text: str


class _Checker:
    """Walks a parsed rule once: roles and kinds of names, then closures for each statement."""

    def __init__(self, tree: ast.Module, source: _Source, text: str):
        self.tree, self.source, self.text = tree, source, text
        self.grad_calls = 0
        self.uses_hessian = False

    def error(self, reason: str, node) -> RuleError:
        return self.source.error(reason, node)

    # Pass 1: statements, targets, which names are hyperparameters, state or temporaries.
    def roles(self):
        assigns = []  # (target name, value node, op or None, statement)
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.error("assign one name at a time: name = …", stmt)
                target, op = stmt.targets[0], None
            elif isinstance(stmt, ast.AugAssign):
                if not isinstance(stmt.target, ast.Name):
                    raise self.error("assign one name at a time: name += …", stmt)
                if type(stmt.op) not in _BINARY:
                    raise self.error(self._op_text(stmt.op), stmt)
                target, op = stmt.target, stmt.op
            else:
                raise self.error(
                    f"{_NODE_TEXT.get(type(stmt), 'this statement')} is not allowed; "
                    "write assignments, name = …",
                    stmt,
                )
            name = self._name(target)
            if name in READ_ONLY or name in FUNCTIONS or name == "grad":
                raise self.error(f"{name} cannot be assigned: it is given to the rule", target)
            assigns.append((name, stmt.value, op, stmt))
        if not any(name == "W" for name, *_ in assigns):
            case = " (names are case-sensitive: the point is W)" if any(
                name == "w" for name, *_ in assigns
            ) else ""  # fmt: skip
            raise RuleError(
                f"the rule never changes W{case}: end it with a line such as W = W - lr * g"
            )
        count: dict[str, int] = {}
        for name, *_ in assigns:
            count[name] = count.get(name, 0) + 1
        hyper: dict[str, float] = {}
        read_before: set[str] = set()
        written: set[str] = {"W", "lr"}
        for name, value, op, stmt in assigns:
            reads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if op is not None:
                reads.add(name)
            read_before |= {n for n in reads if n not in written}
            constant = self._constant(value) if op is None else None
            if constant is not None and count[name] == 1 and name not in read_before:
                if name == "W":
                    raise self.error("W is the point: it cannot be set to a number", stmt)
                hyper[name] = constant
            elif name == "lr":
                raise self.error(
                    "lr is the learning rate: give it a default (lr = 0.1) or use another name",
                    stmt,
                )
            written.add(name)
        hyper.setdefault("lr", DEFAULT_LR)
        hyper = {"lr": hyper.pop("lr"), **hyper}
        assigned = set(count)
        state = [n for n in read_before if n in assigned and n not in hyper and n != "W"]
        return assigns, hyper, state

    def _name(self, node: ast.Name) -> str:
        name = node.id
        ok = name[:1].isalpha() and all(c.isalnum() or c == "_" for c in name)
        if not ok or len(name) > MAX_NAME:
            raise self.error(
                f"{name[:MAX_NAME]!r} is not an allowed name (letters, digits and _, starting "
                f"with a letter, at most {MAX_NAME} characters)",
                node,
            )
        return name

    def _op_text(self, op) -> str:
        return f"the operator {_OPERATOR_TEXT.get(type(op), type(op).__name__)} is not allowed"

    def _constant(self, node) -> float | None:
        """The value of an expression of numbers alone (after checking it), else None."""
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self._constant(node.operand)
            return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            a, b = self._constant(node.left), self._constant(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Pow) and abs(b) > MAX_EXPONENT:
                raise self.error(
                    f"the exponent {b:g} is too large (at most {MAX_EXPONENT} in size)", node.right
                )
            with np.errstate(all="ignore"):
                value = float(_BINARY[type(node.op)][1](np.float64(a), np.float64(b)))
            if not math.isfinite(value) or abs(value) > MAX_NUMBER:
                raise self.error("this constant is not a finite number within ±1e100", node)
            return value
        return None

    def _number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "text" if isinstance(value, str | bytes) else type(value).__name__
            raise self.error(f"{what} is not allowed here; write a number", node)
        if isinstance(value, int) and value.bit_length() > 400:  # > 1e100; no float() of it
            raise self.error(f"the number is too large (at most {MAX_NUMBER:g})", node)
        if not abs(value) <= MAX_NUMBER:
            raise self.error(f"the number is too large (at most {MAX_NUMBER:g})", node)
        return float(value)

    # Pass 2: kinds of every name (state and temporaries settle in a few rounds).
    def compile(self) -> Program:
        assigns, hyper, state = self.roles()
        given = {"W": VEC, "lr": NUM, **READ_ONLY, **dict.fromkeys(hyper, NUM)}
        state_kinds = dict.fromkeys(state, NUM)
        # A kind only grows (number -> point or matrix), each round settles one name at least.
        for _ in range(len(state_kinds) + 1):
            current = self._pass(assigns, hyper, {**given, **state_kinds})
            settled = {n: current[n] for n in state_kinds}
            if settled == state_kinds:
                break
            state_kinds = settled
        # Pass 3: closures, with the kinds known.
        statements = []
        self._pass(assigns, hyper, {**given, **state_kinds}, statements)
        return Program(
            statements=tuple(statements),
            hyper=tuple(hyper.items()),
            state=tuple((n, state_kinds[n]) for n in sorted(state_kinds)),
            uses_hessian=self.uses_hessian,
            text=self.text,
        )

    def _pass(self, assigns, hyper, current: dict, statements: list | None = None) -> dict:
        """One walk over the statements: each target's kind (and its closure, if asked)."""
        persistent = set(current) - set(READ_ONLY) - set(hyper) - {"lr"}
        for name, value, op, stmt in assigns:
            if name in hyper:
                continue
            kind = own = self.kind(value, current)
            if op is not None:
                kind = self._combine(current[name], own, op, stmt)
            if statements is not None:
                fn = self.build(value, current)
                if op is not None:
                    old = _load(name)
                    fn = _bin(_BINARY[type(op)][1], *_matched(old, current[name], fn, own))
                elif name in persistent and current[name] == MAT and kind == NUM:
                    # a matrix held from step to step, set to a number
                    fn = _number_as_matrix(fn)
                statements.append((name, fn))
            if name in persistent:
                kind = self._settle(name, current[name], kind, stmt)
            current[name] = kind
        return current

    def _settle(self, name: str, old: str, new: str, node) -> str:
        if old == new or new == NUM:
            return old
        if old == NUM:
            return new
        raise self.error(f"{name} is a {old} elsewhere but a {new} here", node)

    def _combine(self, a: str, b: str, op, node) -> str:
        if isinstance(op, ast.MatMult):
            if a == MAT and b in (VEC, MAT):
                return b
            raise self.error(
                f"@ multiplies a matrix by a point or a matrix, not a {a} by a {b}", node
            )
        if {a, b} == {VEC, MAT}:
            raise self.error(
                f"{_BINARY[type(op)][0]} between a matrix and a point is not defined here; "
                "use A @ v or solve(A, v)",
                node,
            )
        return MAT if MAT in (a, b) else VEC if VEC in (a, b) else NUM

    def kind(self, node, names: dict) -> str:
        """The kind of an expression's value; refuses what the grammar does not allow."""
        if isinstance(node, ast.Constant):
            self._number(node)
            return NUM
        if isinstance(node, ast.Name):
            name = self._name(node)
            if name not in names:
                if name in FUNCTIONS or name == "grad":
                    raise self.error(f"{name} is a function: call it, {name}(…)", node)
                raise self.error(f"unknown name {name!r}", node)
            if name == "H":
                self.uses_hessian = True
            return names[name]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise self.error(self._op_text(node.op), node)
            return self.kind(node.operand, names)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY and not isinstance(node.op, ast.MatMult):
                raise self.error(self._op_text(node.op), node)
            if isinstance(node.op, ast.Pow):
                exponent = self._constant(node.right)
                if exponent is not None and abs(exponent) > MAX_EXPONENT:
                    raise self.error(
                        f"the exponent {exponent:g} is too large (at most {MAX_EXPONENT} in size)",
                        node.right,
                    )
                if exponent is None and self.kind(node.right, names) != NUM:
                    raise self.error("an exponent must be a number, not a point or matrix", node)
            return self._combine(
                self.kind(node.left, names), self.kind(node.right, names), node.op, node
            )
        if isinstance(node, ast.Call):
            return self._call_kind(node, names)
        what = _NODE_TEXT.get(type(node), type(node).__name__)
        raise self.error(f"{what} is not allowed in a rule", node)

    def _call_kind(self, node: ast.Call, names: dict) -> str:
        if isinstance(node.func, ast.Attribute):
            raise self.error("attribute access (a.b) is not allowed in a rule", node.func)
        if not isinstance(node.func, ast.Name):
            raise self.error("only the listed functions can be called, by name", node)
        fname = node.func.id
        if fname != "grad" and fname not in FUNCTIONS:
            known = ", ".join([*FUNCTIONS, "grad"])
            raise self.error(
                f"unknown function {fname[:MAX_NAME]!r}; the rule may call {known}", node
            )
        if node.keywords:
            raise self.error(f"{fname}() takes its arguments by position only", node)
        arity = 1 if fname == "grad" else FUNCTIONS[fname][0]
        if len(node.args) != arity:
            raise self.error(
                f"{fname}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}",
                node,
            )
        kinds = [self.kind(a, names) for a in node.args]
        want = _ARG_KINDS.get(fname)
        if want is not None:
            for k, w, arg in zip(kinds, want, node.args, strict=True):
                if not (k == w or (w == VEC and k == NUM)):
                    raise self.error(f"{fname}() wants a {w} here, got a {k}", arg)
        if fname == "grad":
            return VEC
        if MAT in kinds and VEC in kinds and fname not in ("solve",):
            raise self.error(f"{fname}() mixes a matrix and a point", node)
        return FUNCTIONS[fname][2](*kinds)

    def build(self, node, names: dict) -> Fn:
        """A closure ``env -> value`` for an expression already accepted by :meth:`kind`."""
        if isinstance(node, ast.Constant):
            return _const(np.asarray(self._number(node)))
        if isinstance(node, ast.Name):
            if node.id == "g":
                return _gradient
            if node.id == "H":
                return _hessian
            return _load(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self.build(node.operand, names)
            return _neg(inner) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left, names), self.build(node.right, names)
            if isinstance(node.op, ast.MatMult):
                return _matmul_fn(left, right, self.kind(node.right, names))
            kinds = self.kind(node.left, names), self.kind(node.right, names)
            return _bin(_BINARY[type(node.op)][1], *_matched(left, kinds[0], right, kinds[1]))
        # a call, checked by kind()
        fname = node.func.id
        args = [self.build(a, names) for a in node.args]
        if fname == "grad":
            self.grad_calls += 1
            if self.grad_calls > MAX_GRAD_CALLS:
                raise self.error(f"at most {MAX_GRAD_CALLS} calls of grad() in a rule", node)
            return _grad_at(args[0])
        want = _ARG_KINDS.get(fname, ())
        args = [_as_point(a) if w == VEC else a for a, w in zip(args, want, strict=False)] + args[
            len(want) :
        ]
        kinds = [self.kind(a, names) for a in node.args]
        if MAT in kinds:  # min(H, c), clip(H, lo, hi): a number meets a matrix
            args = [
                _number_as_matrix(a) if k == NUM else a for a, k in zip(args, kinds, strict=True)
            ]
        return _call(FUNCTIONS[fname][1], args)


# Closures: each takes the step's environment (names -> values) and returns a value.


def _const(value) -> Fn:
    return lambda env: value


def _load(name: str) -> Fn:
    return lambda env: env[name]


def _neg(a: Fn) -> Fn:
    return lambda env: -a(env)


def _bin(op, a: Fn, b: Fn) -> Fn:
    return lambda env: op(a(env), b(env))


def _call(fn, args: list[Fn]) -> Fn:
    if len(args) == 1:
        (a,) = args
        return lambda env: fn(a(env))
    return lambda env: fn(*(a(env) for a in args))


def _number_as_matrix(a: Fn) -> Fn:
    """A number beside a matrix: a per-row column (B, 1) becomes (B, 1, 1), so row k's
    number meets row k's 2×2 matrix (a plain number stays as it is)."""

    def value(env):
        v = a(env)
        return v[..., None] if np.ndim(v) else v

    return value


def _matched(a: Fn, kind_a: str, b: Fn, kind_b: str) -> tuple[Fn, Fn]:
    """The two operands of an element-wise operation, a number shaped for a matrix."""
    if kind_a == NUM and kind_b == MAT:
        return _number_as_matrix(a), b
    if kind_b == NUM and kind_a == MAT:
        return a, _number_as_matrix(b)
    return a, b


def _as_point(a: Fn) -> Fn:
    return lambda env: _point(a(env), env)


def _matmul_fn(a: Fn, b: Fn, kind_b: str) -> Fn:
    return lambda env: _matmul(a(env), b(env), kind_b)


def _point(value, env) -> np.ndarray:
    """A point-kind value at the shape of W (a number assigned to a point is spread)."""
    shape = env[" shape"]
    if value.__class__ is np.ndarray and value.shape == shape:
        return value
    return np.broadcast_to(np.asarray(value, dtype=float), shape).copy()


def _gradient(env):
    g = env.get(" g")
    if g is None:
        g = env[" g"] = env[" oracle"].grad(env[" W0"])
    return g


def _hessian(env):
    h = env.get(" H")
    if h is None:
        oracle = env[" oracle"]
        if not getattr(oracle, "has_hessian", True):
            name = getattr(oracle, "name", "?")
            raise ValueError(f"this rule uses H: surface '{name}' has no Hessian")
        h = env[" H"] = oracle.hessian(env[" W0"])
    return h


def _grad_at(point: Fn) -> Fn:
    return lambda env: env[" oracle"].grad(_point(point(env), env))


# --- the Optimizer --------------------------------------------------------------------------


class TypedState(NamedTuple):
    count: int
    values: tuple  # the state variables, in Program.state's order


def _make(program: Program) -> Callable[..., Optimizer]:
    """The factory ``(**hyper) -> Optimizer`` of a checked rule."""
    statements, state_names = program.statements, program.state
    identity = np.eye(2)

    def factory(**hyper) -> Optimizer:
        alpha = as_schedule(hyper["lr"])
        # A number, or a per-row column (B, 1) of numbers (a tuning's trials).
        constants = {
            name: np.asarray(hyper[name], dtype=float) for name, _ in program.hyper if name != "lr"
        }

        def init(params):
            params = np.asarray(params, dtype=float)
            values = []
            for _, kind in state_names:
                if kind == VEC:
                    values.append(np.zeros_like(params, dtype=float))
                elif kind == MAT:
                    values.append(np.zeros((*params.shape[:-1], 2, 2)))
                else:
                    values.append(np.float64(0.0))
            return TypedState(0, tuple(values))

        def step(params, state, surface):
            env = dict(constants)
            env["W"] = params
            env["lr"] = alpha(state.count)
            env["t"] = np.float64(state.count + 1)
            env["I"] = identity
            env[" W0"], env[" oracle"], env[" shape"] = params, surface, params.shape
            for (name, _), value in zip(state_names, state.values, strict=True):
                env[name] = value
            with np.errstate(all="ignore"):
                for name, fn in statements:
                    env[name] = fn(env)
                new = _point(env["W"], env)
                if new is params:  # W = W: a new array all the same, the input stays the caller's
                    new = params.copy()
                values = tuple(
                    _point(env[name], env) if kind == VEC else env[name]
                    for name, kind in state_names
                )
            return new, TypedState(state.count + 1, values)

        return Optimizer(init, step)

    return factory


GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "eps", "zeta", "eta", "theta", "kappa",
    "lambda", "lam", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
}  # fmt: skip


def _symbol(name: str) -> str:
    m = re.fullmatch(r"([A-Za-z]+)_?(\d*)", name)
    if m is None:
        return ""
    base, sub = m.groups()
    base = {"eps": "varepsilon", "lam": "lambda"}.get(base, base)
    if base not in GREEK and base not in ("varepsilon", "lambda"):
        return ""
    return f"\\{base}" + (f"_{{{sub}}}" if sub else "")


def hyper_spec(name: str, default: float) -> HyperSpec:
    """The control of a typed rule's hyperparameter: lr on a log slider, others from their
    default (a decay in [0, 1) on [0, 1); a small positive ε on a log slider)."""
    if name == "lr":
        return lr_spec(default, low=min(1e-5, default), high=max(10.0, default))
    low, high, log = -1.0, 1.0, False
    if 0 < default < 1e-3:
        low, high, log = default * 1e-3, min(default * 1e3, 1.0), True
    elif 0 <= default < 1:
        low, high = 0.0, 1.0
    elif default != 0:
        low, high = min(0.0, 2 * default), max(0.0, 2 * default)
    return HyperSpec(
        name,
        default,
        low,
        high,
        log=log,
        symbol=_symbol(name),
        help="from the rule's text",
        min=-MAX_NUMBER,
        max=MAX_NUMBER,
    )


def check_name(name) -> str:
    """A typed rule's user name: shown in legends, used by ``--set NAME.x=…``."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]{0,31}", name):
        raise RuleError(
            "a rule's name is a letter A–Z or a–z, then up to 31 such letters, digits, _ or - "
            "(e.g. my_rule), "
            f"got {str(name)[:40]!r}"
        )
    if name in OPTIMIZERS:
        raise RuleError(f"{name!r} is a built-in rule's name; choose another")
    return name


def compile_rule(text: str) -> Program:
    """The checked program of ``text`` (cached per text); ``RuleError`` says what and where."""
    _check_text(text)
    return _compile(text)


def clear_cache() -> None:
    """Forget every compiled text (the next read of any text starts from its characters)."""
    _compile.cache_clear()
    _rule_info.cache_clear()


@functools.lru_cache(maxsize=256)
def _compile(text: str) -> Program:
    tree, source = _parse(text)
    _check_shape(tree, source)
    return _Checker(tree, source, text).compile()


def rule_info(text: str, name: str = "rule") -> RuleInfo:
    """A typed rule as a registry entry (not registered): specs, colour, formula, factory."""
    name = check_name(name)
    _check_text(text)
    return _rule_info(text, name)


@functools.lru_cache(maxsize=256)
def _rule_info(text: str, name: str) -> RuleInfo:
    program = _compile(text)
    colour = pick_colour(name)
    return RuleInfo(
        name=name,
        label=name,
        colour=colour,
        latex=latex(text),
        factory=_make(program),
        hyper=tuple(hyper_spec(n, d) for n, d in program.hyper),
        description="Your own rule, as typed.",
        second_order=program.uses_hessian,
    )


def pick_colour(name: str, taken=()) -> str:
    """A typed rule's colour: chosen by its name, the next one clear of the notes' rules'
    colours and of ``taken`` (``colours.clear_of``), else the next one none of them has."""
    first = zlib.crc32(name.encode()) % len(COLOURS)
    order = [COLOURS[(first + i) % len(COLOURS)] for i in range(len(COLOURS))]
    taken = [*taken, *(info.colour for info in OPTIMIZERS.values())]
    used = {str(c).lower() for c in taken}
    for colour in order:
        if clear_of(colour, taken):
            return colour
    return next((c for c in order if c.lower() not in used), order[0])


def from_rule(text: str, name: str = "rule", **hyper) -> Optimizer:
    """The rule written in ``text`` as an :class:`Optimizer`, ``hyper`` over its defaults.

    ``RuleError`` (a ``ValueError``) for text outside the grammar, with line and column;
    ``ValueError`` for an unknown hyperparameter or a bad value. ``name`` labels the rule.
    """
    return rule_info(text, name).build(**hyper)


def latex(text: str) -> str:
    """The rule's update as LaTeX lines (``v ← μ v − α g``), for its card: the lines that
    only give a hyperparameter its default (``mu = 0.9``) are left to the card's boxes,
    which show its current value."""
    program_lines = []
    declared = {name for name, _ in compile_rule(text).hyper}  # checked: a tree of the grammar
    tree = ast.parse(_Source(text).parsed)
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        if isinstance(stmt, ast.Assign) and target.id in declared:
            declared.discard(target.id)  # its first assignment, a number: the default
            continue
        value = _tex(stmt.value, 0)
        if isinstance(stmt, ast.AugAssign):
            op = _BINARY[type(stmt.op)][0]
            value = f"{_tex_name(target.id)} {_TEX_OP.get(op, op)} {_tex(stmt.value, 2)}"
        program_lines.append(f"{_tex_name(target.id)} &\\leftarrow {value}")
    return r"\begin{aligned} " + r" \\ ".join(program_lines) + r" \end{aligned}"


_TEX_OP = {"+": "+", "-": "-", "*": r"\,", "/": "/", "**": "^"}
_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.MatMult: 2, ast.Pow: 4}
_TEX_NAMES = {"lr": r"\alpha", "g": r"\nabla_W", "t": "t"}


def _tex_name(name: str) -> str:
    if name in _TEX_NAMES:
        return _TEX_NAMES[name]
    sym = _symbol(name)
    if sym:
        return sym
    if len(name) == 1:
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def _tex(node, outer: int) -> str:
    """LaTeX of a checked expression; brackets where ``outer`` binds tighter."""
    if isinstance(node, ast.Constant):
        return f"{float(node.value):g}".replace("e-0", "e-").replace("e+", "e")
    if isinstance(node, ast.Name):
        return _tex_name(node.id)
    if isinstance(node, ast.UnaryOp):
        inner = _tex(node.operand, 3)
        return f"-{inner}" if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        prec = _PREC[type(node.op)]
        if isinstance(node.op, ast.Div):
            out = rf"\frac{{{_tex(node.left, 0)}}}{{{_tex(node.right, 0)}}}"
            return out
        if isinstance(node.op, ast.Pow):
            out = f"{_tex(node.left, 5)}^{{{_tex(node.right, 0)}}}"
        else:
            sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: r"\,", ast.MatMult: r"\,"}[type(node.op)]
            right = _tex(node.right, prec + (1 if isinstance(node.op, ast.Sub) else 0))
            out = f"{_tex(node.left, prec)} {sym} {right}"
        return rf"\left({out}\right)" if prec < outer else out
    if isinstance(node, ast.Call):
        fname = node.func.id
        args = [_tex(a, 0) for a in node.args]
        if fname == "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        if fname == "abs":
            return rf"\left|{args[0]}\right|"
        if fname == "grad":
            return rf"\nabla f\left({args[0]}\right)"
        return rf"\operatorname{{{fname}}}\left({', '.join(args)}\right)"
    return ""
