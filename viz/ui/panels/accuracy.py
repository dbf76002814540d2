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


def strip(state, traj):
    """(figure, box style) for the scene in the stores: hidden unless it is a classifier's."""
    try:
        surface = scene_of(state).surface
    except ValueError:
        return go.Figure(), HIDDEN
    found = accuracies(surface, traj) if is_network(surface) else None
    if found is None:
        return go.Figure(), HIDDEN
    return go.Figure(figures.accuracy_figure(*found)), {}


def register(app) -> None:
    app.callback(
        Output(ids.ACC_STRIP, "figure"),
        Output(ids.ACC_STRIP_BOX, "style"),
        Input(ids.NET_TRAJ, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(lambda traj, state: strip(state, traj))
