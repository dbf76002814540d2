"""The strip under the views in the network scene: what its plane cannot show.

Left, the projection check: each path's true loss against the landscape's loss at its
projection, and its distance from the plane; right, each rule's decision boundary at the
current playback step. Both follow the step in the browser (assets/optviz-80-panels.js),
as the accuracy strip does. Elsewhere the strip is hidden.

Its data come from the scene store, copied to ``NET_SCENE`` only in the network scene (so
no other scene sends anything for it); the result is the one the views were drawn from
(``landscape.cached``: deterministic, so any worker recomputes the same one, under the
scene's own budget).
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from viz.figures import landscape as F
from viz.scene import landscape, link
from viz.ui import ids
from viz.ui.panels.common import quiet

HIDDEN = {"display": "none"}
CONFIG = {"displayModeBar": False, "responsive": True}


def layout() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Div(F.CHECK_TITLE, className="view-title"),
                    dcc.Graph(id=ids.NET_CHECK, config=CONFIG, className="net-check-graph"),
                ],
                className="net-strip-part",
            ),
            html.Div(
                [
                    html.Div("Each rule's decision boundary at this step", className="view-title"),
                    dcc.Graph(id=ids.NET_BOUNDARIES, config=CONFIG, className="net-bnd-graph"),
                ],
                className="net-strip-part",
            ),
            dcc.Store(id=ids.NET_SCENE),
        ],
        id=ids.NET_STRIP_BOX,
        className="net-strip",
        style=HIDDEN,
    )


def strip(data):
    """(check figure, boundaries figure, box style) for the scene data in ``NET_SCENE``."""
    if not isinstance(data, dict) or data.get("s") != link.NETWORK:
        return no_update, no_update, HIDDEN
    try:
        spec = link.scene_from_dict(data).network
        res = quiet(landscape.cached, spec, landscape.budget_for(spec))
    except ValueError:  # a damaged store, or a recompute past its deadline: hidden
        return no_update, no_update, HIDDEN
    return F.check_figure(res), quiet(F.boundary_figure, res), {}


def register(app) -> None:
    # Only the network scene's data reach the strip; leaving it sends one "off".
    app.clientside_callback(
        """
        function (state, held) {
          var nu = window.dash_clientside.no_update;
          if (state && state.surface === "network" && state.scene) {
            return (held && JSON.stringify(held) === JSON.stringify(state.scene)) ? nu
                   : state.scene;
          }
          return (held && held.s) ? {off: true} : nu;
        }
        """,
        Output(ids.NET_SCENE, "data"),
        Input(ids.SCENE_STATE, "data"),
        State(ids.NET_SCENE, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.NET_CHECK, "figure"),
        Output(ids.NET_BOUNDARIES, "figure"),
        Output(ids.NET_STRIP_BOX, "style"),
        Input(ids.NET_SCENE, "data"),
        prevent_initial_call=True,
    )(strip)
