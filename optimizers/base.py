"""What every update rule shares: the (init, step) pair, hyperparameter specs, the registry."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

Array = np.ndarray


class RuleFailed(ValueError):
    """A library rule refused its settings, or failed in a step: the library's reason, on
    one line (a message for the user, as the command line prints it)."""


class Optimizer(NamedTuple):
    """A rule as two pure functions.

    ``init(params) -> state``; ``step(params, state, surface) -> (params, state)``.
    ``surface`` is the oracle: rules call ``surface.grad`` (and ``surface.hessian``).
    Neither function modifies its inputs.
    """

    init: Callable[[Array], Any]
    step: Callable[[Array, Any, Any], tuple[Array, Any]]
    name: str = ""
    hyper: dict | None = None


@dataclass(frozen=True)
class HyperSpec:
    """One hyperparameter: what the UI needs to build its control, and its valid range.

    ``low``/``high`` bound the slider; ``min``/``max`` bound what is accepted at all
    (``min_open``/``max_open``: the bound itself is excluded).
    """

    name: str
    default: float | bool
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    symbol: str = ""  # LaTeX symbol of the notes, e.g. r"\alpha"
    help: str = ""
    min: float = -math.inf
    max: float = math.inf
    min_open: bool = False
    max_open: bool = False
    typed: bool = False  # a number typed in a box, no slider (library rules' own numbers)

    @property
    def is_bool(self) -> bool:
        return isinstance(self.default, bool)

    def check(self, value, rule: str = "") -> float | bool:
        """The value, validated; ``ValueError`` with a user-facing message otherwise."""
        where = f"{rule}.{self.name}" if rule else self.name
        if self.is_bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{where} must be true or false, got {value!r}")
        if self.name == "lr" and callable(value):
            return value
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a number, got {value!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        if x < self.min or (self.min_open and x == self.min):
            op = ">" if self.min_open else "≥"
            raise ValueError(f"{where} must be {op} {self.min:g}, got {x:g}")
        if x > self.max or (self.max_open and x == self.max):
            op = "<" if self.max_open else "≤"
            raise ValueError(f"{where} must be {op} {self.max:g}, got {x:g}")
        return x


def lr_spec(default: float, low: float = 1e-5, high: float = 10.0) -> HyperSpec:
    """The learning rate α: positive, on a log slider."""
    return HyperSpec(
        "lr",
        default,
        low,
        high,
        log=True,
        symbol=r"\alpha",
        help="learning rate",
        min=0.0,
        min_open=True,
        max=1e6,
    )


def unit_spec(name: str, default: float, symbol: str, help: str, low=0.0, high=0.999) -> HyperSpec:
    """A decay factor in [0, 1): μ, γ, ρ, β₁, β₂."""
    return HyperSpec(
        name, default, low, high, symbol=symbol, help=help, min=0.0, max=1.0, max_open=True
    )


def eps_spec(default: float = 1e-8) -> HyperSpec:
    return HyperSpec(
        "eps",
        default,
        1e-12,
        1e-1,
        log=True,
        symbol=r"\varepsilon",
        help="added to the denominator",
        min=0.0,
        min_open=True,
        max=1.0,
    )


EPS_IN_SQRT = HyperSpec("eps_in_sqrt", False, symbol="", help="use √(c + ε) instead of √c + ε")

# Adam and its variants (Nadam, AMSGrad) share their two moments, specs and formula lines.
BETA1 = unit_spec("beta1", 0.9, r"\beta_1", "decay of the mean m")
BETA2 = unit_spec("beta2", 0.999, r"\beta_2", "decay of the square mean v", high=0.9999)
ADAM_MOMENTS_LATEX = (
    r"m &\leftarrow \beta_1 m + (1-\beta_1)\nabla_W \\"
    r" v &\leftarrow \beta_2 v + (1-\beta_2)\nabla_W^2 \\"
)


def const(x: float) -> Array:
    """A hyperparameter as a 0-d array: numpy combines one with an array about twice as
    fast as it does a Python float, for the same values. Rules convert theirs once (and
    their bias corrections every step: a float skips ``dtype=``, half the call's cost)."""
    return np.asarray(x) if x.__class__ is float else np.asarray(x, dtype=float)


def rms(c: Array, eps: float, eps_in_sqrt: bool) -> Array:
    """The adaptive rules' denominator: √c + ε (the notes), or √(c + ε) (Radford's code)."""
    return np.sqrt(c + eps) if eps_in_sqrt else np.sqrt(c) + eps


@dataclass(frozen=True)
class RuleInfo:
    """A registered rule: how to build it and how to show it."""

    name: str
    label: str
    colour: str  # default trace colour: Okabe–Ito, then Paul Tol's (colour-blind safe)
    latex: str  # the update, in the notes' symbols
    factory: Callable[..., Optimizer]
    hyper: tuple[HyperSpec, ...]
    description: str = ""
    second_order: bool = False
    # Its factory takes per-row columns: a hyperparameter as a (B, 1) array (or (B,)) and
    # an lr schedule returning one, so row k of a batch runs with row k's values. Rules
    # that cannot (other libraries' rules) run one batch per set of values, unless
    # their ``columns`` take them.
    per_row: bool = True
    # What one step of such a rule's batch costs beyond its rows, in point-steps of a
    # batched built-in rule (~90 ns each): the budget counts it (``budget.work``).
    step_cost: int = 0
    # What each row of a batch costs a step beyond its point-step when the rule steps every
    # row on its own (pytorch-optimizer's: one library optimizer per start, whose norms
    # span its whole parameter); the budget counts it too.
    row_cost: int = 0
    # Such a rule may still run columns as ONE batch: ``columns(values, cols)`` is its
    # Optimizer for a batch whose row k takes row k of each column (name -> (B,) floats)
    # over ``values``, or None where it cannot for these names (then one per set).
    columns: Callable[[dict, dict], Optimizer | None] | None = None

    def spec(self, name: str) -> HyperSpec:
        for h in self.hyper:
            if h.name == name:
                return h
        names = ", ".join(h.name for h in self.hyper)
        raise ValueError(f"{self.name} has no hyperparameter {name!r} (it has: {names})")

    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hyper}

    def step_work(self, rows: int) -> int:
        """Point-steps one step of a batch of ``rows`` rows costs (``budget.work``)."""
        return rows * (1 + self.row_cost) + self.step_cost

    def batches(self, fixed: dict | None, names) -> bool:
        """Whether columns of ``names`` (over ``fixed``) run as one batch: a built-in rule's
        do, an optax rule's floats do (``columns``), a torch rule's run one set at a time."""
        if self.per_row:
            return True
        if self.columns is None:
            return False
        values = self.checked(fixed or {})
        try:
            probe = {k: np.array([float(values[k])]) for k in names}
        except (KeyError, TypeError, ValueError):
            return False
        return self.columns(values, probe) is not None

    def checked(self, hyper: dict) -> dict:
        """The defaults with ``hyper`` over them, each checked by its spec."""
        values = self.defaults()
        for key, value in hyper.items():
            values[key] = self.spec(key).check(value, self.name)
        return values

    def build(self, **hyper) -> Optimizer:
        values = self.checked(hyper)
        opt = self.factory(**values)
        return opt._replace(name=self.name, hyper=values)


class Registry(dict):
    """The built-in rules (what iterating, ``len`` and ``items`` see) plus rules found by
    a prefixed name: ``OPTIMIZERS["torch:Adam"]`` asks the resolver registered for
    ``"torch"`` (``optimizers.library``) and caches its ``RuleInfo``; ``in`` and ``get``
    answer for such names too, without listing them."""

    def __init__(self):
        super().__init__()
        self.resolvers: dict[str, Callable[[str], RuleInfo]] = {}
        self._found: dict[str, RuleInfo] = {}

    def find(self, key) -> RuleInfo:
        """The rule ``key`` names; ``ValueError`` saying why there is none."""
        if isinstance(key, str) and dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        prefix = key.partition(":")[0] if isinstance(key, str) and ":" in key else None
        if prefix not in self.resolvers:
            raise ValueError(f"unknown optimizer {key!r}; choose one of: {', '.join(self)}")
        info = self._found.get(key)
        if info is None:
            info = self.resolvers[prefix](key)
            if len(self._found) < 1024:  # spellings are untrusted text (links): keep it bounded
                self._found[key] = info
        return info

    def __missing__(self, key):
        try:
            return self.find(key)
        except ValueError as exc:
            raise KeyError(str(exc)) from None

    def __contains__(self, key) -> bool:
        try:
            self.find(key)
        except ValueError:
            return False
        return True

    def get(self, key, default=None):
        try:
            return self.find(key)
        except ValueError:
            return default


OPTIMIZERS: Registry = Registry()


def as_rule(rule) -> RuleInfo:
    """``rule`` itself if it is a ``RuleInfo`` (a typed rule's), else the registry's entry
    for the name; ``ValueError`` naming the choices if there is none."""
    if isinstance(rule, RuleInfo):
        return rule
    if not isinstance(rule, str):
        raise ValueError(f"unknown optimizer {rule!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS.find(rule)


def register(info: RuleInfo) -> RuleInfo:
    OPTIMIZERS[info.name] = info
    return info
