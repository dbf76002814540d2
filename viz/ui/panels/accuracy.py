"""The accuracy strip under the views: each run's whole-data accuracy per step.

Radford's noisy-moons animation plots accuracy under the contour map; in a classifier's
scene (``radford-noisy-moons``, or any surface with ``accuracy``: the logistic regression
and the network of ``noisy-moons-mlp``) the page does the same, right under the two views.
Elsewhere the strip is hidden. Its runs come from the Network panel's store (filled only
in a classifier's scene, so no other scene uploads its trajectories for it); a dotted line
marks the playback step and follows it (assets/optviz-80-panels.js, as the Network
panel's curves).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

from viz import figures
from viz.ui import ids
from viz.ui.panels.common import is_network, scene_of
from viz.ui.panels.network import accuracies

HIDDEN = {"display": "none"}
CONFIG = {"displayModeBar": False, "responsive": True}


def layout() -> html.Div:
    """The strip, hidden until a classifier's scene has runs."""
    return html.Div(
        [
            html.Div("Accuracy on all the data, per step", className="view-title"),
            dcc.Graph(id=ids.ACC_STRIP, config=CONFIG, className="acc-strip-graph"),
        ],
        id=ids.ACC_STRIP_BOX,
        className="acc-strip",
        style=HIDDEN,
    )


def strip_figure(runs: list[dict], accuracy: list[np.ndarray]) -> go.Figure:
    """Accuracy (0–100 %) against step, one line per run in its colour, the 80 % guide."""
    fig = go.Figure()
    for r, acc in zip(runs, accuracy, strict=True):
        fig.add_trace(
            go.Scatter(
                x=list(range(len(acc))),
                y=[None if not np.isfinite(v) else float(v) for v in acc],
                mode="lines",
                line={"color": r["colour"], "width": 2},
                name=r["label"],
                meta={"role": "accuracy", "run": r["key"]},
                hovertemplate=f"{r['label']}<br>step %{{x}}<br>accuracy %{{y:.1%}}<extra></extra>",
            )
        )
    guide = {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": 0.8,
        "y1": 0.8,
        "line": {"color": "#c8c8c8", "width": 1},
    }
    fig.update_layout(
        # shapes[0] is the step marker the browser moves; shapes[1] the 80 % line
        shapes=[figures.step_marker("#888"), guide],
        margin={"l": 52, "r": 10, "t": 6, "b": 32},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        showlegend=False,
        hovermode="x unified",
        xaxis={"title": {"text": "step"}, "showgrid": False, "zeroline": False},
        yaxis={"tickformat": ".0%", "range": [0, 1.02], "tickvals": [0, 0.5, 0.8, 1.0]},
        uirevision="acc",
        meta={"runs": [r["key"] for r in runs]},
    )
    return fig


def strip(state, traj):
    """(figure, box style) for the scene in the stores: hidden unless it is a classifier's."""
    try:
        surface = scene_of(state).surface
    except ValueError:
        return go.Figure(), HIDDEN
    found = accuracies(surface, traj) if is_network(surface) else None
    if found is None:
        return go.Figure(), HIDDEN
    return strip_figure(*found), {}


def register(app) -> None:
    app.callback(
        Output(ids.ACC_STRIP, "figure"),
        Output(ids.ACC_STRIP_BOX, "style"),
        Input(ids.NET_TRAJ, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(lambda traj, state: strip(state, traj))
