"""Hyperparameter specs read from a library rule's signature and defaults.

``lr`` gets the log slider of the built-in rules; other numbers are typed (``typed=True``:
the app shows a text box, no slider); booleans are check boxes. Tuples of numbers are
split into one spec per entry (``betas`` → ``beta1``, ``beta2``), joined back when the
rule is built. Arguments with no number/bool default (``None``, strings, callables) and
the ones that change how a rule is computed rather than what (``foreach``, ``fused``,
``maximize``, ...) keep the library's default and are not shown.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

from optimizers.base import HyperSpec, lr_spec

# Execution switches and the direction of descent: never a hyperparameter to draw.
HIDDEN = frozenset(
    {
        "self",
        "params",
        "foreach",
        "fused",
        "capturable",
        "differentiable",
        "maximize",
        "kwargs",
        "args",
    }
)


@dataclass(frozen=True)
class Signature:
    """A rule's specs and how to turn spec values back into its keyword arguments."""

    specs: tuple[HyperSpec, ...]
    tuples: dict  # argument name -> names of the specs holding its entries, in order
    ints: frozenset  # spec names whose library default is an int

    def kwargs(self, values: dict) -> dict:
        """The library's keyword arguments for spec ``values`` (tuples re-joined, ints kept)."""
        out, joined = {}, {n for names in self.tuples.values() for n in names}
        for name, value in values.items():
            if name in joined:
                continue
            out[name] = self._number(name, value)
        for arg, names in self.tuples.items():
            out[arg] = tuple(self._number(n, values[n]) for n in names)
        return out

    def _number(self, name: str, value):
        """An int where the library's default is one and the value is whole (``momentum=0``
        in torch's SGD is an int default, yet 0.9 must stay 0.9)."""
        if name in self.ints and isinstance(value, float) and value.is_integer():
            return int(value)
        return value


def _number_spec(name: str, default: float, count: bool = False) -> HyperSpec:
    """A typed number; its range (a phase diagram's or tuning's default axis) brackets the
    default, staying under 1 for a default in (0.5, 1): betas and decays, which must be
    < 1; and from 1 for an int default of 1 or more (a count: Ranger's k = 0 is refused)."""
    high = (1 + default) / 2 if 0.5 < default < 1 else max(1.0, 2 * abs(default))
    low = 1.0 if count and default >= 1 else min(0.0, default)
    return HyperSpec(name, default, low, high, help=name, typed=True)


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def read(params: list[tuple[str, object]]) -> Signature:
    """Specs for ``(name, default)`` pairs (a function's arguments in order)."""
    specs, tuples, ints, taken = [], {}, set(), {n for n, _ in params}
    for name, default in params:
        if name in HIDDEN or name.startswith("_"):
            continue
        if isinstance(default, bool):
            specs.append(HyperSpec(name, default, help=name))
        elif name in ("lr", "learning_rate") and _is_number(default) and default > 0:
            spec = lr_spec(float(default), low=min(1e-5, default), high=max(10.0, default))
            specs.append(spec if name == "lr" else _renamed(spec, name))
        elif _is_number(default):
            specs.append(_number_spec(name, float(default), isinstance(default, int)))
            if isinstance(default, int):
                ints.add(name)
        elif isinstance(default, tuple) and default and all(_is_number(x) for x in default):
            stem = name[:-1] if name.endswith("s") else name
            names = []
            for i, x in enumerate(default, 1):
                entry = f"{stem}{i}" if f"{stem}{i}" not in taken else f"{name}_{i}"
                names.append(entry)
                specs.append(_number_spec(entry, float(x)))
                if isinstance(x, int):
                    ints.add(entry)
            tuples[name] = tuple(names)
    return Signature(tuple(specs), tuples, frozenset(ints))


def _renamed(spec: HyperSpec, name: str) -> HyperSpec:
    from dataclasses import replace

    return replace(spec, name=name)


def signature_defaults(fn) -> list[tuple[str, object]]:
    """``(name, default)`` for each argument of ``fn`` that has a default."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        (p.name, p.default)
        for p in sig.parameters.values()
        if p.default is not inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def required_args(fn, skip=("self", "params")) -> list[str]:
    """Arguments of ``fn`` without a default (other than ``skip``): what we cannot supply."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in skip
    ]
