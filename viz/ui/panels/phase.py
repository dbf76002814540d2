"""Phase diagram panel: one optimizer of the scene over two of its hyperparameters.

Each cell is one run from the scene's start (``viz.scene.tuning.phase_of_scene``, all
cells as one batch), coloured by the objective; diverged cells are grey. For momentum
and Nesterov over lr × momentum, Distill's analytic curves are drawn over the map from
the Hessian's eigenvalues at the minimum. Clicking a cell puts its hyperparameters in
the optimizer's card (the path of a share link) and the race runs again.

Axes are typed as ``name:low:high[:log]``, the syntax of ``optviz phase --x/--y``.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update

from optimizers.base import as_rule
from optimizers.budget import Budget
from optimizers.phase import (
    MAX_CELLS,
    MAX_STEPS,
    analytic,
    convergence_boundary,
    critical_damping,
)
from optimizers.tuning import OBJECTIVES
from viz import figures
from viz.gif.phase import CURVES, phase_image_bytes
from viz.scene import colours, geometry, link, validate
from viz.scene.tuning import (
    DIVERGED_COLOUR,
    PHASE_SCALE,
    phase_field,
    phase_of_scene,
    scene_with_hyper,
)
from viz.ui import http, ids, progress
from viz.ui.panels.common import (
    button,
    card,
    field,
    graph,
    loading,
    num_input,
    quiet,
    race_ident,
    radio_field,
    register_chooser,
    register_stale,
    scene_of,
    scene_steps,
    stale_message,
    steps_field,
)
from viz.ui.panels.tune import APPLY_SCENE

PHASE_OPT = "phase-opt"
PHASE_X = "phase-x"
PHASE_Y = "phase-y"
PHASE_CELLS = "phase-cells"
PHASE_STEPS = "phase-steps"
PHASE_OBJECTIVE = "phase-objective"
PHASE_BTN = "phase-btn"
PHASE_MSG = "phase-msg"
PHASE_GRAPH = "phase-graph"
PHASE_META = "phase-meta"
PHASE_PNG = "phase-png"
PHASE_DOWNLOAD = "phase-download"

DEFAULT_CELLS = 60
OBJECTIVE_TEXT = {"final": "final f − f* (last 10 %)", "steps": "steps to tol", "area": "area"}
# The second axis a rule is best known by (lr × μ for momentum/NAG, lr × β₂ for Adam, …).
SECOND = {
    "momentum": "momentum:0:0.99",
    "nesterov": "momentum:0:0.99",
    "rmsprop": "decay:0:0.999",
    "adadelta": "rho:0:0.999",
    "adam": "beta2:0.9:0.9999",
    "nadam": "beta2:0.9:0.9999",
    "amsgrad": "beta2:0.9:0.9999",
    "lion": "beta1:0:0.99",
    "newton": "damping:0.001:10:log",
}


def second_axis(rule) -> str | None:
    """The y axis a rule's map starts with: the one it is best known by, else its first
    numeric hyperparameter after lr; None for a rule with lr alone (SGD). ``rule``: a
    name or a ``RuleInfo`` (a typed rule's)."""
    info = as_rule(rule)
    if info.name in SECOND:
        return SECOND[info.name]
    for h in info.hyper:
        if h.name != "lr" and not h.is_bool:
            return f"{h.name}:{h.low:g}:{h.high:g}" + (":log" if h.log else "")
    return None


def default_axes(rule) -> tuple[str, str]:
    spec = as_rule(rule).spec("lr")
    return f"lr:{spec.low:g}:{spec.high:g}:log", second_axis(rule) or "eps:1e-10:0.1:log"


def _why_not(run) -> str | None:
    """A rule with one hyperparameter has no map over two (greyed in the list)."""
    try:
        info = run.info()
    except ValueError:
        return None  # the map's compute says what is wrong with it
    return "lr only: no second hyperparameter" if second_axis(info) is None else None


def layout() -> html.Div:
    controls = [
        field("optimizer", dcc.Dropdown(id=PHASE_OPT, clearable=False, className="map-opt")),
        field(
            "x axis",
            num_input(PHASE_X, "lr:0.0001:1:log", width="wide"),
            hint="name:low:high[:log]",
        ),
        field(
            "y axis",
            num_input(PHASE_Y, "momentum:0:0.99", width="wide"),
            hint="name:low:high[:log]",
        ),
        field(
            "cells", num_input(PHASE_CELLS, str(DEFAULT_CELLS)), hint=f"per side, 2 to {MAX_CELLS}"
        ),
        steps_field(PHASE_STEPS, MAX_STEPS),
        radio_field(
            "colour by", PHASE_OBJECTIVE, [(o, OBJECTIVE_TEXT[o]) for o in OBJECTIVES], "final"
        ),
        button("Compute diagram", PHASE_BTN),
        button("Download PNG", PHASE_PNG),
    ]
    note = html.P(
        "One run per cell from the scene's start, all cells as one batch (a torch "
        "rule: cell by cell); grey: diverged. "
        "Over lr × momentum for Momentum/NAG, Distill's regions from the Hessian at the "
        "minimum: red, the convergence boundary (αλ = 2 + 2β for momentum); white, "
        "critical damping β = (1 − √(αλ))²; orange ring, the optimum α*, β*. "
        "Click a cell to run the race with those values.",
        className="hint",
    )
    picture = graph(PHASE_GRAPH, "Press “Compute diagram”: every cell is a run.", "map-graph")
    extra = [dcc.Store(id=PHASE_META), dcc.Download(id=PHASE_DOWNLOAD)]
    return card("phase", controls, PHASE_MSG, loading(picture), note, *extra)


def _extent(values: np.ndarray, log: bool) -> list[float]:
    """The axis range that holds the cells exactly (in log10 units on a log axis)."""
    v = np.log10(values) if log else values
    half = (v[-1] - v[0]) / (len(v) - 1) / 2
    return [float(v[0] - half), float(v[-1] + half)]


def phase_figure(m, an=None) -> go.Figure:
    """The map as a heatmap (diverged cells grey), with Distill's curves over it."""
    z, title = phase_field(m)
    text = [[None if not np.isfinite(v) else float(v) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            x=m.xs,
            y=m.ys,
            z=text,
            colorscale=colours.scale(PHASE_SCALE),
            colorbar={"title": {"text": title, "side": "right"}},
            hovertemplate=f"{m.x} = %{{x:.4g}}<br>{m.y} = %{{y:.4g}}<br>%{{z:.4g}}<extra></extra>",
            meta={"role": "phase"},
        )
    )
    gone = np.where(m.diverged, 1.0, np.nan)
    fig.add_trace(
        go.Heatmap(
            x=m.xs,
            y=m.ys,
            z=[[None if not np.isfinite(v) else 1.0 for v in row] for row in gone],
            colorscale=[[0, DIVERGED_COLOUR], [1, DIVERGED_COLOUR]],
            showscale=False,
            hovertemplate=f"{m.x} = %{{x:.4g}}<br>{m.y} = %{{y:.4g}}<br>diverged<extra></extra>",
            meta={"role": "diverged"},
        )
    )
    if an is not None:
        a_axis = m.xs if m.x == "lr" else m.ys
        fine = np.geomspace(a_axis[0], a_axis[-1], 300)
        edge = convergence_boundary(an.rule, fine, an.lams[-1])
        curves = [("convergence boundary", edge, CURVES["boundary"], "solid")]
        curves += [  # one dash per eigenvalue: the key tells the curves apart
            (f"critical damping, λ = {lam:.3g}", critical_damping(fine, lam), CURVES["critical"],
             ("solid", "dash", "dot", "dashdot")[i % 4])
            for i, lam in enumerate(sorted(set(an.lams)))
        ]  # fmt: skip
        b_axis = m.ys if m.x == "lr" else m.xs
        for name, beta, colour, dash in curves:
            keep = (beta >= b_axis[0]) & (beta <= b_axis[-1])
            xs, ys = (fine, beta) if m.x == "lr" else (beta, fine)
            fig.add_trace(
                go.Scatter(
                    x=np.where(keep, xs, np.nan),
                    y=np.where(keep, ys, np.nan),
                    mode="lines",
                    line={"color": colour, "width": 2, "dash": dash},
                    name=name,
                    hoverinfo="skip",
                    meta={"role": "distill"},
                )
            )
        if an.rule == "momentum":
            px, py = (an.alpha_star, an.beta_star) if m.x == "lr" else (an.beta_star, an.alpha_star)
            fig.add_trace(
                go.Scatter(
                    x=[px],
                    y=[py],
                    mode="markers",
                    marker={
                        "symbol": "circle-open",
                        "size": 12,
                        "color": CURVES["optimum"],
                        "line": {"width": 3},
                    },
                    name=f"optimum α* = {an.alpha_star:.3g}, β* = {an.beta_star:.3g}",
                    hoverinfo="name",
                    meta={"role": "optimum"},
                )
            )
    fig.update_layout(
        xaxis={
            "type": "log" if m.x_log else "linear",
            "title": {"text": m.x, "standoff": 4},
            "range": _extent(m.xs, m.x_log),
            "exponentformat": "power",  # 10⁻⁵, not Plotly's SI "10µ"
        },
        yaxis={
            "type": "log" if m.y_log else "linear",
            "title": {"text": m.y, "standoff": 4},
            "range": _extent(m.ys, m.y_log),
            "exponentformat": "power",
        },
        margin={**geometry.MARGIN, "r": 20},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        # dark, so that the white critical-damping line shows in the key
        legend={"orientation": "h", "y": -0.2, "bgcolor": "#404040", "font": {"color": "#fff"}},
        meta={"rule": m.rule},
    )
    return fig


def compute_phase(state, key, x, y, cells, steps, objective, budget=None):
    """(figure, message, meta) for run ``key`` of the page's scene; bad input: a message."""
    if budget is None:  # the clock starts now
        budget = Budget.of("phase", cancelled=http.client_gone())
    try:
        ps = scene_of(state)
        if key is None and ps.runs and all(_why_not(r) for r in ps.runs.values()):
            raise ValueError(
                "A phase diagram is over two hyperparameters: add a rule that has a second "
                "one (Momentum, RMSprop, Adam, …); SGD has lr only."
            )
        run = ps.run(validate.choice(key, "optimizer"))
        cells = validate.whole(cells, "cells", 2, MAX_CELLS)
        steps = scene_steps(steps, ps, MAX_STEPS)
        if objective not in OBJECTIVES:
            objective = "final"
        index = list(ps.runs).index(key)
        scene = ps.scene if steps == ps.scene.steps else ps.scene.with_overrides(steps=steps)
        m = quiet(
            phase_of_scene,
            scene,
            index,
            str(x or ""),
            str(y or ""),
            cells=cells,
            objective=objective,
            budget=budget,
        )
    except ValueError as exc:
        return no_update, str(exc), no_update
    budget.finish()  # the page's bar: computed, now drawn
    an = analytic(m.rule, ps.surface, m.x, m.xs, m.y, m.ys)
    fig = quiet(phase_figure, m, an)
    meta = {"key": key, "x": m.x, "y": m.y, "xs": m.xs.tolist(), "ys": m.ys.tolist()}
    meta["race"] = race_ident(ps.data)  # what the stale watcher compares
    meta["request"] = [str(x), str(y), cells, steps, objective]  # what the PNG redraws
    label = run.resolved().label
    fig.update_layout(  # two short lines over the plot, under the modebar at any width
        title={
            "text": f"{label}: {cells}×{cells} cells × {steps} steps<br>"
            f"{budget.elapsed:.2f} s, {int(m.diverged.sum())} diverged",
            "font": {"size": 13},
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 38},  # under the modebar
        },
        margin={**geometry.MARGIN, "r": 20, "t": 80},
    )
    return fig, "", meta


def cell_clicked(click, meta, state):
    """(the scene with the clicked cell's hyperparameters for the page to show, message)."""
    xy = validate.click_point(click)
    if xy is None or not isinstance(meta, dict):
        return no_update, no_update
    try:
        ps = scene_of(state)
        if meta.get("race") != race_ident(ps.data):  # a diagram of another race
            return no_update, stale_message("this phase diagram", "Compute diagram")
        key = validate.choice(meta["key"], "optimizer")
        xs, ys = np.asarray(meta["xs"], float), np.asarray(meta["ys"], float)
        j, i = int(np.abs(xs - xy[0]).argmin()), int(np.abs(ys - xy[1]).argmin())
        ps.run(key)
        values = {meta["x"]: float(xs[j]), meta["y"]: float(ys[i])}
        scene = scene_with_hyper(ps.scene, list(ps.runs).index(key), values)
    except (ValueError, KeyError, TypeError) as exc:
        return no_update, str(exc)
    return link.scene_to_dict(scene), ""  # the cards show the cell's values


def download_png(n_clicks, meta, state):
    """(dcc.Download data, message): the diagram shown, computed again and drawn as a PNG
    (``viz.gif.phase``, Distill's curves included); a message if there is none."""
    if not n_clicks:
        return no_update, no_update
    if not isinstance(meta, dict) or not isinstance(meta.get("request"), list):
        return no_update, "Compute a diagram first."
    budget = Budget.of("phase", cancelled=http.client_gone())
    try:
        x, y, cells, steps, objective = meta["request"]
        ps = scene_of(state)
        key = validate.choice(meta.get("key"), "optimizer")
        ps.run(key)
        cells = validate.whole(cells, "cells", 2, MAX_CELLS)
        steps = validate.whole(steps, "steps", 1, MAX_STEPS)
        scene = ps.scene if steps == ps.scene.steps else ps.scene.with_overrides(steps=steps)
        m = quiet(
            phase_of_scene,
            scene,
            list(ps.runs).index(key),
            str(x),
            str(y),
            cells=cells,
            objective=objective if objective in OBJECTIVES else "final",
            budget=budget,
        )
    except (ValueError, TypeError, KeyError) as exc:
        return no_update, str(exc)
    an = analytic(m.rule, ps.surface, m.x, m.xs, m.y, m.ys)
    data = quiet(phase_image_bytes, m, "png", an)
    name = f"phase-{m.rule}-{m.x}-{m.y}.png"
    return {"content": base64.b64encode(data).decode("ascii"), "filename": name, "base64": True}, ""


def register(app) -> None:
    register_chooser(app, PHASE_OPT, _why_not)

    @app.callback(
        Output(PHASE_X, "value"),
        Output(PHASE_Y, "value"),
        Input(PHASE_OPT, "value"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )
    def _axes(key, state):
        try:
            rule = scene_of(state).run(validate.choice(key, "optimizer")).info()
        except ValueError:
            return no_update, no_update
        return default_axes(rule)

    @app.callback(
        Output(PHASE_GRAPH, "figure"),
        Output(PHASE_MSG, "children"),
        Output(PHASE_META, "data"),
        Input(PHASE_BTN, "n_clicks"),
        State(ids.SCENE_STATE, "data"),
        State(PHASE_OPT, "value"),
        State(PHASE_X, "value"),
        State(PHASE_Y, "value"),
        State(PHASE_CELLS, "value"),
        State(PHASE_STEPS, "value"),
        State(PHASE_OBJECTIVE, "value"),
        State(ids.EXPORT_PAGE, "data"),
        prevent_initial_call=True,
    )
    def _on_phase(n, *args):
        if not n:
            return (no_update,) * 3
        *args, page = args
        with progress.request_budget("phase", page) as budget:
            return compute_phase(*args, budget=budget)

    app.callback(
        Output(PHASE_DOWNLOAD, "data"),
        Output(PHASE_MSG, "children", allow_duplicate=True),
        Input(PHASE_PNG, "n_clicks"),
        State(PHASE_META, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(download_png)

    app.callback(
        Output(APPLY_SCENE, "data", allow_duplicate=True),
        Output(PHASE_MSG, "children", allow_duplicate=True),
        Input(PHASE_GRAPH, "clickData"),
        State(PHASE_META, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(cell_clicked)
    register_stale(app, PHASE_MSG, PHASE_META, "this phase diagram", "Compute diagram")
