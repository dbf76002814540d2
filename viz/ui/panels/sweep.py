"""Learning-rate sweep panel: final loss (or steps to converge) against α, per optimizer.

One batched ``optimizers.maps.lr_sweep`` for the scene's optimizers, each with its other
hyperparameters as the scene runs it, from the scene's start; one curve per optimizer in
its colour; diverged rates are marked ✕ along the top.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import Output, dcc, html, no_update

from optimizers import maps as omaps
from optimizers.budget import Budget
from viz import figures
from viz.scene import geometry
from viz.scene.validate import number, whole
from viz.ui import http, ids
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
    register_button,
    register_stale,
    scene_of,
    scene_steps,
    scene_tol,
    steps_field,
)

MAX_RATES = 200
MAX_STEPS = omaps.MAX_STEPS
METRICS = (("loss", "final loss"), ("steps", "steps to converge"))


def layout() -> html.Div:
    controls = [
        field("α from", num_input(ids.SWEEP_LO, "1e-4"), hint="lowest learning rate (> 0)"),
        field("to", num_input(ids.SWEEP_HI, "1"), hint="highest learning rate"),
        field("rates", num_input(ids.SWEEP_COUNT, "40"), hint=f"2 to {MAX_RATES}, log-spaced"),
        steps_field(ids.SWEEP_STEPS, MAX_STEPS),
        radio_field("show", ids.SWEEP_METRIC, METRICS, "loss"),
        button("Run sweep", ids.SWEEP_BTN),
    ]
    text = "Press “Run sweep”: every optimizer of the scene, over α."
    body = loading(graph(ids.SWEEP_GRAPH, text, "sweep-graph"))
    return card("sweep", controls, ids.SWEEP_MSG, body, dcc.Store(id=ids.SWEEP_META))


def sweep_figure(curves, labels, colours, metric: str, min_value, steps: int) -> go.Figure:
    """One line per curve against α (log axis); ✕ at the top for diverged rates."""
    fig = go.Figure()
    ys_all = []
    series = []
    for c in curves:
        if metric == "steps":
            y = np.where(c.steps_to_converge >= 0, c.steps_to_converge, np.nan).astype(float)
        else:
            y = np.where(c.diverged, np.nan, c.final_loss).astype(float)
            if min_value is not None:
                y = y - min_value
        series.append(y)
        ys_all.append(y[np.isfinite(y)])
    finite = np.concatenate(ys_all) if ys_all else np.array([])
    log_y = (
        metric == "loss" and finite.size and finite.min() > 0 and finite.max() / finite.min() > 100
    )
    if metric == "loss" and finite.size and not log_y and min_value is not None:
        log_y = False
    top = (float(finite.max()) if finite.size else 1.0) if not log_y else float(finite.max()) * 3
    if metric == "steps":
        top = steps * 1.04
    gap = 1.3 if log_y else 0.04 * (top - (float(finite.min()) if finite.size else 0.0) or 1.0)
    for row, (c, y, label, colour) in enumerate(zip(curves, series, labels, colours, strict=True)):
        at = top * gap**row if log_y else top + gap * row  # one row of ✕ per optimizer
        fig.add_trace(
            go.Scatter(
                x=c.lrs,
                y=[None if not np.isfinite(v) else float(v) for v in y],
                mode="lines+markers",
                name=label,
                line={"color": colour, "width": 2},
                marker={"size": 4},
                meta={"role": "sweep", "rule": c.rule},
                hovertemplate=f"{label}<br>α = %{{x:.3g}}<br>%{{y:.4g}}<extra></extra>",
            )
        )
        if c.diverged.any():
            fig.add_trace(
                go.Scatter(
                    x=c.lrs[c.diverged],
                    y=[at] * int(c.diverged.sum()),
                    mode="markers",
                    name=f"{label} diverged",
                    showlegend=False,
                    marker={"symbol": "x", "size": 7, "color": colour},
                    meta={"role": "diverged", "rule": c.rule},
                    hovertemplate=f"{label}<br>α = %{{x:.3g}}: diverged<extra></extra>",
                )
            )
    ytitle = (
        "steps to converge"
        if metric == "steps"
        else ("f − f*" if min_value is not None else "final f")
    )
    fig.update_layout(
        xaxis={
            "type": "log",
            "exponentformat": "power",  # 10⁻⁴, not SI prefixes ("100μ")
            "title": {"text": "learning rate α", "standoff": 4},
            "showgrid": True,
        },
        yaxis={"type": "log" if log_y else "linear", "title": {"text": ytitle, "standoff": 4}},
        margin={**geometry.MARGIN, "r": 150},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        legend={"x": 1.02, "y": 1, "xanchor": "left"},
        hovermode="closest",
        meta={"metric": metric},
    )
    gone = [f"{lab} {int(c.diverged.sum())}" for lab, c in zip(labels, curves, strict=True)]
    gone = [g for g, c in zip(gone, curves, strict=True) if c.diverged.any()]
    if gone:
        fig.add_annotation(
            text="✕ (top): diverged rates — " + ", ".join(gone),
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            yanchor="bottom",
            xanchor="left",
            showarrow=False,
            font={"size": 11, "color": "#5d6b7c"},
        )
        fig.update_layout(margin={**geometry.MARGIN, "r": 150, "t": 26})
    return fig


def compute_sweep(state, lo, hi, count, steps, metric, budget=None):
    """(figure, message) for the optimizers of the page's scene (``state``: its store);
    a bad control: (no_update, message).

    The scene holds at most ``MAX_RUNS`` runs (its codec's check), and the sweep runs
    within the budget of a "sweep" request (``optimizers.budget``): too much work is
    refused before anything runs, and a sweep past its deadline stops with a message.
    """
    if budget is None:  # the clock starts now
        budget = Budget.of("sweep", cancelled=http.client_gone())
    try:
        ps = scene_of(state)
    except ValueError as exc:
        return no_update, str(exc), no_update
    surface = ps.surface
    try:
        a = number(lo, "lowest α")
        b = number(hi, "highest α")
        if not (0 < a < b):
            raise ValueError(f"the rates must satisfy 0 < lowest < highest, got {a:g} and {b:g}")
        count = whole(count, "rates", 2, MAX_RATES)
        steps = scene_steps(steps, ps, MAX_STEPS)
    except ValueError as exc:
        return no_update, str(exc), no_update
    keys = list(ps.runs)
    lrs = np.geomspace(a, b, count)
    tol = scene_tol(ps.window)
    try:
        rules = []
        for k in keys:
            sched = ps.schedule(k)
            rule = (ps.runs[k].info(), ps.runs[k].full_hyper())
            rules.append(rule if sched is None else (*rule, sched))
        curves = quiet(
            omaps.lr_sweep, rules, surface, ps.scene.start, lrs, steps=steps, tol=tol, budget=budget
        )
    except ValueError as exc:
        return no_update, str(exc), no_update
    budget.finish()  # the page's bar: computed, now drawn
    runs = [ps.runs[k].resolved() for k in keys]
    labels, colours = [r.label for r in runs], [r.colour for r in runs]
    fig = quiet(sweep_figure, curves, labels, colours, metric, surface.min_value, steps)
    # divergence is a result: drawn (✕) and listed above the plot
    return fig, "", {"race": race_ident(ps.data)}


def register(app) -> None:
    register_button(
        app,
        "sweep",
        [
            Output(ids.SWEEP_GRAPH, "figure"),
            Output(ids.SWEEP_MSG, "children"),
            Output(ids.SWEEP_META, "data"),
        ],
        ids.SWEEP_BTN,
        ids.SWEEP_METRIC,
        [ids.SWEEP_LO, ids.SWEEP_HI, ids.SWEEP_COUNT, ids.SWEEP_STEPS],
        compute_sweep,
    )
    register_stale(app, ids.SWEEP_MSG, ids.SWEEP_META, "this sweep", "Run sweep")
