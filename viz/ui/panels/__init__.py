"""Analysis panels below the main views, each a module with ``layout()`` and ``register(app)``.

They read the current valid settings from the stores (``ids.SCENE_STATE``, ``ids.TRAJ``)
written by ``viz.ui.callbacks.compute``; they never re-parse the sidebar's inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
from dash import dcc, html

from viz.scene.validate import number, rule_of
from viz.ui import ids

PANEL_CONFIG = {"displaylogo": False, "responsive": True}
NO_SCENE = "No valid scene yet: fix the settings on the left first."


def tabs(loss_and_results) -> dcc.Tabs:
    """The tab strip below the main views; the first tab holds the loss and results cards."""
    from viz.ui.panels import convergence, network, sweep

    def tab(label, value, children):
        return dcc.Tab(
            children,
            label=label,
            value=value,
            className="panel-tab",
            selected_className="panel-tab selected",
        )

    return dcc.Tabs(
        [
            tab("Loss & results", "loss", loss_and_results),
            tab("Convergence map", "map", convergence.layout()),
            tab("LR sweep", "sweep", sweep.layout()),
            tab("Network", "network", network.layout()),
        ],
        id=ids.PANEL_TABS,
        value="loss",
        className="panel-tabs",
        parent_className="panel-tabs-box",
        content_className="panel-tab-content",
    )


def register(app) -> None:
    from viz.ui.panels import convergence, network, sweep

    convergence.register(app)
    sweep.register(app)
    network.register(app)


def field(label, control, msg_id=None, hint=""):
    return html.Div(
        [
            html.Label(label, htmlFor=getattr(control, "id", None), className="inline-label"),
            control,
            html.Div(id=msg_id, className="msg", role="status") if msg_id else None,
        ],
        className="panel-field",
        title=hint,
    )


def whole(value, what: str, low: int, high: int) -> int:
    """A whole number in [low, high] from text, or ``ValueError`` naming the control."""
    x = number(value, what)
    if x != int(x):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if not low <= x <= high:
        raise ValueError(f"{what} must be between {low:,} and {high:,}, got {x:g}")
    return int(x)


def _pair(v) -> bool:
    return (
        isinstance(v, list | tuple)
        and len(v) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in v)
    )


def check_state(state) -> dict:
    """The scene-state store's shape (it comes back from the browser): ``ValueError`` if off."""
    if not isinstance(state, dict) or not state.get("surface"):
        raise ValueError(NO_SCENE)
    ok = (
        isinstance(state.get("surface"), str)
        and isinstance(state.get("optimizers"), list)
        and all(isinstance(k, str) for k in state["optimizers"])
        and isinstance(state.get("hyper", {}), dict)
        and all(isinstance(h, dict) for h in state.get("hyper", {}).values())
        and isinstance(state.get("schedule") or {}, dict)
        and _pair(state.get("start"))
        and isinstance(state.get("steps"), int)
        and (
            state.get("window") is None
            or (
                isinstance(state["window"], list | tuple)
                and len(state["window"]) == 2
                and all(_pair(w) for w in state["window"])
            )
        )
        and (state.get("batch_size") is None or isinstance(state["batch_size"], int))
    )
    if not ok:
        raise ValueError("The scene's settings are not valid; change any setting to re-run it.")
    return state


def is_network(surface) -> bool:
    """Whether ``surface`` is a classifier's loss (the Network panel's subject)."""
    return hasattr(surface, "decision_boundary")


def scene_surface(state: dict):
    """The scene's surface (with its mini-batch size), or ``ValueError``."""
    from viz.ui.callbacks import surface_of_state

    check_state(state)
    try:
        s = surface_of_state(state)  # a registered surface or the user's own f(x, y)
    except ValueError as exc:
        raise ValueError(f"{NO_SCENE} ({exc})") from None
    bs = state.get("batch_size")
    if bs is not None and hasattr(s, "with_batch_size"):
        s = s.with_batch_size(int(bs))
    return s


def scene_window(state: dict, surface) -> tuple:
    w = state.get("window")
    try:
        (x0, x1), (y0, y1) = w
        return (float(x0), float(x1)), (float(y0), float(y1))
    except (TypeError, ValueError):
        return tuple(surface.x_range), tuple(surface.y_range)


def run_hyper(state: dict, key: str) -> dict:
    """The hyperparameters the scene ran ``key`` with (defaults merged by compute)."""
    return dict((state.get("hyper") or {}).get(key) or {})


def run_schedule(state: dict, key: str):
    """``lr0 -> schedule`` for the scene's schedule of ``key``, or None (constant α)."""
    sc = (state.get("schedule") or {}).get(key)
    if not isinstance(sc, dict) or sc.get("name") in (None, "constant"):
        return None
    from optimizers.schedules import make_schedule

    name, params = str(sc["name"]), dict(sc.get("params") or {})
    try:  # a tampered store fails here, with its message
        make_schedule(name, 0.1, **params)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"the scene's schedule for {key} is not valid: {exc}") from None
    return lambda lr0: make_schedule(name, lr0, **params)


def scheduled_hyper(state: dict, key: str) -> dict:
    """``run_hyper`` with ``lr`` replaced by the scene's schedule (if any) for that α."""
    h = run_hyper(state, key)
    sched = run_schedule(state, key)
    if sched is not None and "lr" in h:
        h["lr"] = sched(float(h["lr"]))
    return h


def run_noise(state: dict, key: str) -> tuple[float, int]:
    """``(sigma, seed)`` of the scene's gradient noise for ``key`` (0, 0 when it has none);
    a tampered store: ``ValueError`` with the noise box's message."""
    from viz.scene import validate

    noise = state.get("noise") or {}
    if not isinstance(noise, dict):
        raise ValueError("The scene's noise settings are not valid; change any setting.")
    nz = noise.get(key)
    if not isinstance(nz, dict):
        return 0.0, 0
    return validate.noise(nz.get("sigma")), validate.seed(nz.get("seed"))


def run_styles(traj) -> dict:
    """{run key: (label, colour)} from the trajectories store."""
    out = {}
    for r in (traj or {}).get("runs") or []:
        if isinstance(r, dict) and "key" in r:
            out[r["key"]] = (str(r.get("label", r["key"])), str(r.get("colour", "#444")))
    return out


def label_of(key: str, styles: dict) -> str:
    from optimizers import OPTIMIZERS

    if key in styles:
        return styles[key][0]
    return OPTIMIZERS[rule_of(key)].label


def colour_of(key: str, styles: dict) -> str:
    from optimizers import OPTIMIZERS

    if key in styles:
        return styles[key][1]
    return OPTIMIZERS[rule_of(key)].colour


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with numpy's floating-point warnings off (divergence is an outcome)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def batch_size(value) -> int | None:
    """The mini-batch size from its box: empty means the full batch; else a whole number ≥ 1."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole(value, "batch size", 1, 100_000)
