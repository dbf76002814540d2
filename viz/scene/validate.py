"""One validation layer for values that come from the UI.

Every function returns a clean value or raises ``ValueError`` whose text is shown to the
user next to the control as it is, so it names the control and says what is allowed.
Hyperparameters are checked by their registry ``HyperSpec.check`` (one source of truth).

Decisions:

- A start outside the display window is *clamped* to the window's edge, with a note
  saying so. The app draws what it computes; a run whose first point is off-screen would
  look like a bug, and clicking on the map can only give points inside it anyway.
- Steps are whole numbers from 1 to ``MAX_STEPS`` (the browser keeps every point of
  every run in memory and animates it: 8 runs × 5,000 steps is the comfortable limit).
"""

from __future__ import annotations

import math

from optimizers import OPTIMIZERS
from surfaces import SURFACES

MAX_STEPS = 5000
MAX_RUNS = 12


def number(value, what: str) -> float:
    """A finite float from a number or numeric text; ``ValueError`` naming ``what`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{what}: enter a number")
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:  # an integer too big for a float (e.g. 400 digits)
        raise ValueError(f"{what} must be a finite number, got one too large") from None
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {_short(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {_short(value)}")
    return x


# ----------------------------------------------------------------------------- JSON types
# Every value from the browser or a URL is JSON: any type can arrive where one is expected.
# These checks come first, so a wrong type is a message, never an AttributeError/TypeError.


def store(value) -> dict:
    """A browser-held store (scene state, preset settings): a dict, or ``{}`` for anything else.

    Stores are written by the server; a tampered or missing one means "nothing held", so the
    caller falls back to its defaults instead of failing.
    """
    return value if isinstance(value, dict) else {}


def mapping(value) -> dict:
    """A nested dict inside a store (e.g. ``{"runs": {...}}``): ``{}`` unless it is a dict."""
    return value if isinstance(value, dict) else {}


def preset_runs(value) -> dict:
    """The preset store's ``runs`` ({key: {"hyper": {...}, "label": str, ...}}), each field
    of the wrong type dropped, so the callbacks fall back to the optimizer's own values."""
    runs = {}
    for key, run in mapping(mapping(value).get("runs")).items():
        if not isinstance(run, dict):
            continue
        clean = {k: v for k, v in run.items() if k not in ("hyper", "label", "colour")}
        clean["hyper"] = mapping(run.get("hyper"))
        for k in ("label", "colour"):
            if isinstance(run.get(k), str):
                clean[k] = run[k]
        runs[key] = clean
    return runs


def window(value, default):
    """A store's ``[[x lo, x hi], [y lo, y hi]]``, checked; ``default`` when absent."""
    if value in (None, [], ()):
        return default
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("the scene's window is damaged; change any setting to redraw")
    return window_range(value[0], "x range"), window_range(value[1], "y range")


def drawn_runs(traj) -> list[dict]:
    """The runs of a (browser-held) trajectories store: each with ``x``, ``y``, ``loss`` as
    equal-length lists of numbers (``None`` for a diverged step), ``diverged_at`` and, for
    a network's run, ``grad_norm`` (a number or ``None``)."""
    runs = mapping(traj).get("runs")
    if not isinstance(runs, list):
        raise ValueError("no runs drawn yet")
    if len(runs) > MAX_RUNS:  # the page draws no more: a longer list is not its own
        raise ValueError("the drawn runs are damaged; change any setting to redraw")

    def numbers(v):
        return isinstance(v, list) and all(
            x is None or (isinstance(x, int | float) and not isinstance(x, bool)) for x in v
        )

    for r in runs:
        ok = isinstance(r, dict) and all(numbers(r.get(k)) for k in ("x", "y", "loss"))
        ok = ok and MAX_STEPS + 1 >= len(r["x"]) == len(r["y"]) == len(r["loss"]) > 0
        d = r.get("diverged_at") if isinstance(r, dict) else None
        ok = ok and numbers([r.get("grad_norm")])  # a network's run: its gradient's norm
        if not ok or not (d is None or (isinstance(d, int) and not isinstance(d, bool))):
            raise ValueError("the drawn runs are damaged; change any setting to redraw")
    return runs


def choice(value, what: str) -> str:
    """A dropdown value: text (a list, number or dict is a message naming ``what``)."""
    if not isinstance(value, str):
        raise ValueError(f"{what}: choose one from the list, got {_short(value)}")
    return value


def checklist(value, what: str) -> bool:
    """A one-box checklist (``["on"]`` or ``[]``/``None``) as a bool; any other type: message."""
    if value is None:
        return False
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a tick box value, got {_short(value)}")
    return "on" in value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def surface(name) -> str:
    if not isinstance(name, str):
        raise ValueError(f"surface: choose one from the list, got {_short(name)}")
    if name not in SURFACES:
        raise ValueError(f"unknown surface {_short(name)}; choose one from the list")
    return name


def rule_of(key: str) -> str:
    """The rule a run key names: ``"sgd"`` → ``"sgd"``; ``"sgd@2"`` (a preset's second SGD)."""
    return str(key).split("@", 1)[0]


def selection(keys) -> list[str]:
    """The chosen runs (rule names, or ``rule@i`` for a preset's repeated rule); at least one."""
    if not keys:
        raise ValueError("choose at least one optimizer")
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"optimizers: choose from the list, got {_short(keys)}")
    unknown = [k for k in keys if rule_of(k) not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"unknown optimizer {_short(unknown[0])}")
    keys = list(dict.fromkeys(keys))
    if len(keys) > MAX_RUNS:
        raise ValueError(f"choose at most {MAX_RUNS} optimizers")
    return keys


def whole(value, what: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (text or number); ``ValueError`` naming ``what``."""
    x = number(value, what)
    if x != int(x):
        raise ValueError(f"{what} must be a whole number, got {_short(value)}")
    if not low <= x <= high:
        raise ValueError(f"{what} must be between {low:,} and {high:,}, got {x:g}")
    return int(x)


def batch_size(value) -> int | None:
    """The mini-batch size from its box: empty means the full batch; else a whole number ≥ 1."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole(value, "batch size", 1, 100_000)


def steps(value) -> int:
    x = number(value, "steps")
    if x != int(x):
        raise ValueError(f"steps must be a whole number, got {value!r}")
    if not 1 <= x <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS:,}, got {int(x):,}")
    return int(x)


def start(x, y, x_range, y_range) -> tuple[tuple[float, float], str]:
    """The start point and a note ("" when it is inside the window; clamped otherwise)."""
    px, py = number(x, "start x"), number(y, "start y")
    cx = min(max(px, x_range[0]), x_range[1])
    cy = min(max(py, y_range[0]), y_range[1])
    if (cx, cy) == (px, py):
        return (px, py), ""
    note = (
        f"({px:g}, {py:g}) is outside the window x ∈ [{x_range[0]:g}, {x_range[1]:g}], "
        f"y ∈ [{y_range[0]:g}, {y_range[1]:g}]; started at the edge, ({cx:g}, {cy:g})"
    )
    return (cx, cy), note


def hyper(opt: str, name: str, value):
    """One hyperparameter through its registry spec (``lr`` 0, −1, 1e308, text: rejected)."""
    rule = rule_of(opt)
    spec = OPTIMIZERS[rule].spec(name)
    if spec.is_bool:
        if not isinstance(value, bool):
            raise ValueError(f"{OPTIMIZERS[rule].label}: {name} must be on or off")
        return spec.check(value, rule)
    label = OPTIMIZERS[rule].label
    opt = rule
    try:
        return spec.check(number(value, name), rule)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}".replace(f"{opt}.{name}", name)) from None


def tolerance(value) -> float:
    x = number(value, "tolerance")
    if not 0 < x < 1e3:
        raise ValueError(f"tolerance must be > 0 and < 1000, got {x:g}")
    return x


# ----------------------------------------------------------------------------- issue 5

CUSTOM = "custom"  # the surface dropdown's value for the user's own f(x, y)
MAX_NOISE = 1e3
MAX_SEED = 2**32 - 1
DEFAULT_RANGE = (-2.0, 2.0)


def window_range(value, what: str) -> tuple[float, float]:
    """``"lo, hi"`` (or a pair) as a finite window side with lo < hi, |ends| ≤ 1e6."""
    if isinstance(value, list | tuple):
        parts = list(value)
    elif isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",")]
    else:
        raise ValueError(f"{what}: write two numbers, lo, hi (e.g. -2, 2)")
    if len(parts) != 2:
        raise ValueError(f"{what}: write two numbers, lo, hi (e.g. -2, 2), got {value!r}")
    lo, hi = number(parts[0], f"{what} low end"), number(parts[1], f"{what} high end")
    if not lo < hi:
        raise ValueError(f"{what}: the low end must be below the high end, got {lo:g}, {hi:g}")
    if max(abs(lo), abs(hi)) > 1e6:
        raise ValueError(f"{what}: ends must be within ±1e6, got {lo:g}, {hi:g}")
    return lo, hi


def expression(text, x_range=DEFAULT_RANGE, y_range=DEFAULT_RANGE):
    """The ``Surface`` of the user's ``f(x, y) = text`` (``ExpressionError`` says where)."""
    from surfaces import from_expression

    if not isinstance(text, str):
        raise ValueError("f(x, y): the expression must be text")
    return from_expression(text, x_range=tuple(x_range), y_range=tuple(y_range), name=CUSTOM)


def schedule(opt: str, name, params, lr: float = 1.0) -> tuple[str, dict]:
    """A schedule choice ``(name, {param: value})``, each parameter checked by its spec.

    The values are checked by building the schedule (``make_schedule``), so the limits are
    the library's; the message names the optimizer and the parameter.
    """
    from optimizers.schedules import SCHEDULE_SPECS, make_schedule

    label = OPTIMIZERS[rule_of(opt)].label
    if name in (None, ""):
        name = "constant"
    if not isinstance(name, str) or name not in SCHEDULE_SPECS:
        raise ValueError(f"{label}: unknown schedule {name!r}")
    spec = SCHEDULE_SPECS[name]
    if not isinstance(params, dict):
        params = {}
    unknown = set(params) - {p.name for p in spec.params}
    if unknown:
        raise ValueError(f"{label}: the {name} schedule has no parameter {sorted(unknown)[0]!r}")
    clean = {}
    for p in spec.params:
        raw = params.get(p.name, p.default)
        x = number(raw, f"{label}: schedule {p.name}")
        if p.integer:
            if x != int(x):
                raise ValueError(f"{label}: schedule {p.name} must be a whole number, got {raw!r}")
            x = int(x)
        clean[p.name] = x
    try:
        make_schedule(name, lr, **clean)
    except ValueError as exc:
        raise ValueError(f"{label}: schedule {exc}") from None
    return name, clean


def noise(value) -> float:
    x = number(value if value not in (None, "") else 0, "noise σ")
    if not 0 <= x <= MAX_NOISE:
        raise ValueError(f"noise σ must be between 0 and {MAX_NOISE:g}, got {x:g}")
    return x


def seed(value) -> int:
    x = number(value if value not in (None, "") else 0, "seed")
    if x != int(x) or not 0 <= x <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {value!r}")
    return int(x)


def click_point(click) -> tuple[float, float] | None:
    """``(x, y)`` of the first point of a graph's ``clickData``; None if it has none."""
    try:
        pt = click["points"][0]
        return float(pt["x"]), float(pt["y"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


# ----------------------------------------------------------------------------- issue 16


def typed_rule(name, text):
    """The ``RuleInfo`` of a rule typed by the user, from untrusted values (a link, the page):
    its name and text checked by ``optimizers.typed`` (length, grammar, bounds)."""
    from optimizers.typed import RuleError, rule_info

    if not isinstance(text, str):
        raise RuleError("the rule must be text")
    return rule_info(text, name)


def typed_hyper(info, name: str, value):
    """One hyperparameter of a typed rule through its spec (``info`` from :func:`typed_rule`)."""
    spec = info.spec(name)
    try:
        return spec.check(number(value, name), info.name)
    except ValueError as exc:
        raise ValueError(f"{info.label}: {exc}".replace(f"{info.name}.{name}", name)) from None
