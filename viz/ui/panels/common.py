"""What the analysis panels share: the card each is laid out in (controls, a message line,
graphs), the placeholder figure, the chooser of one of the scene's optimizers, and the
callback that computes a panel when its button is pressed.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers import OPTIMIZERS
from viz import figures
from viz.scene import geometry
from viz.scene.validate import rule_of
from viz.ui import ids
from viz.ui.panels import NO_SCENE, PANEL_CONFIG, check_state, whole

TOL_FRACTION = 0.01  # "reached a minimum": within 1 % of the window's larger side


def empty_figure(text: str) -> go.Figure:
    """A blank plot that says ``text`` in its middle (what a panel shows before it runs)."""
    fig = go.Figure()
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin=geometry.MARGIN,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        annotations=[
            {"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
        ],
    )
    return fig


def num_input(id_, value="", width: str = "small", **kw) -> dcc.Input:
    """A number box (text, so a bad entry reaches the callback and gets its message)."""
    return dcc.Input(id=id_, type="text", value=value, className=f"num-input {width}", **kw)


def steps_field(id_, high: int) -> html.Div:
    """The steps box of a panel: empty means the scene's own steps (``scene_steps``)."""
    from viz.ui.panels import field

    return field("steps", num_input(id_), hint=f"1 to {high:,}; empty: the scene's steps")


def radio_field(label: str, id_, options, value: str, cls: str = "") -> html.Div:
    """A row of radio buttons: ``options`` are (value, text) pairs."""
    from viz.ui.panels import field

    items = [{"label": t, "value": v} for v, t in options]
    extra = {"className": cls} if cls else {}
    radio = dcc.RadioItems(id=id_, options=items, value=value, inline=True, **extra)
    return field(label, radio)


def button(text: str, id_) -> html.Button:
    return html.Button(text, id=id_, n_clicks=0, className="panel-btn")


def message(id_) -> html.Div:
    return html.Div(id=id_, className="msg", role="status", **{"aria-live": "polite"})


def graph(id_, text: str, cls: str, *, toolbar: bool = True) -> dcc.Graph:
    config = PANEL_CONFIG if toolbar else {**PANEL_CONFIG, "displayModeBar": False}
    return dcc.Graph(
        id=id_, figure=empty_figure(text), config=config, className=f"panel-graph {cls}"
    )


def loading(child, **kw) -> dcc.Loading:
    """The dots over a graph while its callback runs (shown only past 300 ms)."""
    return dcc.Loading(child, type="dot", delay_show=300, **kw)


def card(name: str, controls: list, msg_id, *body) -> html.Div:
    """A panel: its row of controls, its message line, then its graphs."""
    return html.Div(
        [html.Div(controls, className="panel-controls"), message(msg_id), *body],
        className=f"panel {name}-panel",
    )


def scene_steps(value, state: dict, high: int) -> int:
    """The steps box: a whole number in [1, high]; empty means the scene's own steps."""
    text = value if str(value or "").strip() else state.get("steps", 300)
    return whole(text, "steps", 1, high)


def scene_tol(window) -> float:
    """The distance that counts as "at a minimum": a fraction of the window's larger side."""
    (x0, x1), (y0, y1) = window
    return TOL_FRACTION * max(x1 - x0, y1 - y0)


# ----------------------------------------------------------------------------- callbacks


def choices(state):
    """The optimizer dropdown: the scene's runs; keeps nothing stale."""
    try:
        check_state(state)
    except ValueError:
        return [], None
    keys = [k for k in state["optimizers"] if rule_of(k) in OPTIMIZERS]
    opts = [
        {"label": OPTIMIZERS[rule_of(k)].label + ("" if "@" not in k else f" ({k})"), "value": k}
        for k in keys
    ]
    return opts, (keys[0] if keys else None)


def keep_choice(state, current):
    opts, first = choices(state)
    value = current if current in [o["value"] for o in opts] else first
    return opts, value


def register_chooser(app, dropdown_id) -> None:
    """Keep a dropdown of the scene's optimizers in step with the scene."""

    @app.callback(
        Output(dropdown_id, "options"),
        Output(dropdown_id, "value"),
        Input(ids.SCENE_STATE, "data"),
        State(dropdown_id, "value"),
        State(dropdown_id, "options"),
    )
    def _chooser(state, current, shown):
        opts, value = keep_choice(state, current)
        if opts == shown and value == current:
            raise PreventUpdate  # a hyperparameter change: the page has nothing to redo
        return opts, value


def register_button(app, outputs: list, button, choice, controls: list, compute) -> None:
    """``compute(state, traj, *controls, choice)`` when ``button`` is pressed or ``choice``
    (a colouring or metric) changes after a first press. ``outputs`` start with the
    figure and the message; without a valid scene: its message, nothing else changes."""
    nothing = (no_update,) * len(outputs)

    @app.callback(
        *outputs,
        Input(button, "n_clicks"),
        Input(choice, "value"),
        State(ids.SCENE_STATE, "data"),
        State(ids.TRAJ, "data"),
        *(State(c, "value") for c in controls),
        prevent_initial_call=True,
    )
    def _on_button(n_clicks, chosen, state, traj, *values):
        if not n_clicks:
            return nothing
        if state is None:
            return (no_update, NO_SCENE, *nothing[2:])
        return compute(state, traj, *values, chosen)
