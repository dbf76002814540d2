"""Network panel (the ``noisy_moons`` surface): loss and accuracy per step, decision boundary.

Loss and accuracy are the whole data set's at each step of each run (the runs the scene
drew, from the trajectories store). The decision boundary is that of the chosen run's
classifier: frames at up to ``MAX_FRAMES`` evenly spaced steps are computed here and sent
inside the figure (``layout.meta``); assets/optviz-80-panels.js follows the playback's step —
while playing (at most 10 redraws a second, nearest earlier frame), and exactly on pause,
scrub and step. The batch size box feeds the scene itself (``viz.ui.callbacks.compute``): the
optimizers' steps see mini-batches of that size, drawn from the run's seed.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from plotly.subplots import make_subplots

from viz import figures
from viz.scene import validate
from viz.ui import ids
from viz.ui.panels.common import (
    card,
    empty_figure,
    field,
    graph,
    is_network,
    num_input,
    register_chooser,
    scene_of,
)

MAX_FRAMES = 41
GRID = 36
NOT_NETWORK = (
    "The Network panel shows a classifier's loss surface: choose the scene "
    "“Noisy moons (Radford)” (or the surface “Noisy moons (network loss)”)."
)
CLASS_COLOURS = ("#D55E00", "#0072B2")  # class 0, class 1


def layout(batch: str = "") -> html.Div:
    """The panel, its batch size box showing ``batch`` (the opening scene's; "" = full)."""
    bs = batch
    controls = [
        field(
            "batch size",
            num_input(ids.NET_BATCH, bs, debounce=True, placeholder="full"),
            ids.NET_BATCH_MSG,
            hint="samples per step (mini-batch SGD); empty: the full data set",
        ),
        field("boundary of", dcc.Dropdown(id=ids.NET_OPT, clearable=False, className="map-opt")),
    ]
    graphs = [
        graph(ids.NET_CURVES, NOT_NETWORK, "net-curves", toolbar=False),
        graph(ids.NET_BOUNDARY, "", "net-boundary", toolbar=False),
    ]
    body = [html.Div(graphs, className="net-graphs"), dcc.Store(id=ids.NET_TRAJ)]
    return card("network", controls, ids.NET_MSG, *body)


# ----------------------------------------------------------------------------- pure parts


def _points(r: dict) -> np.ndarray:
    x = np.array([np.nan if v is None else v for v in r["x"]], dtype=float)
    y = np.array([np.nan if v is None else v for v in r["y"]], dtype=float)
    return np.stack([x, y], axis=-1)


def accuracies(surface, traj) -> tuple[list[dict], list[np.ndarray]] | None:
    """The runs of the trajectories store and each one's whole-data accuracy per step, or
    None when the store holds no well-formed runs (it comes back from the browser: its
    shape and size are checked by ``validate.drawn_runs``, its names and colours here)."""
    try:
        runs = validate.drawn_runs(traj)
    except ValueError:
        return None

    def named(r: dict) -> bool:  # a colour of "" reached Plotly as an error
        return all(isinstance(r.get(k), str) for k in ("key", "label", "colour")) and r["colour"]

    if not runs or not all(named(r) for r in runs):
        return None
    with np.errstate(all="ignore"):
        return runs, [surface.accuracy(_points(r)) for r in runs]


def curves_figure(runs: list[dict], accuracy: list[np.ndarray]) -> go.Figure:
    """Loss (top) and accuracy (bottom) against step, one colour per run."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for r, acc in zip(runs, accuracy, strict=True):
        loss = [None if v is None else v for v in r["loss"]]
        steps = list(range(len(loss)))
        common = {"mode": "lines", "line": {"color": r["colour"], "width": 2}, "name": r["label"]}
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=loss,
                legendgroup=r["key"],
                meta={"role": "loss", "run": r["key"]},
                hovertemplate=f"{r['label']}<br>step %{{x}}<br>loss %{{y:.4g}}<extra></extra>",
                **common,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[None if not np.isfinite(v) else float(v) for v in acc],
                legendgroup=r["key"],
                showlegend=False,
                meta={"role": "accuracy", "run": r["key"]},
                hovertemplate=f"{r['label']}<br>step %{{x}}<br>accuracy %{{y:.1%}}<extra></extra>",
                **common,
            ),
            row=2,
            col=1,
        )
    finite = [v for r in runs for v in r["loss"] if v is not None and v > 0]
    log = bool(finite) and max(finite) / min(finite) > 100
    fig.update_yaxes(title_text="loss (all data)", type="log" if log else "linear", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0.3, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        margin={"l": 58, "r": 10, "t": 48, "b": 40},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        legend={"orientation": "h", "y": 1.01, "yanchor": "bottom", "x": 0, "font": {"size": 11}},
        shapes=[figures.step_marker("#888")],
        hovermode="x unified",
        uirevision="net",
        meta={"runs": [r["key"] for r in runs]},
    )
    return fig


def boundary_frames(surface, r: dict, max_frames: int = MAX_FRAMES, grid: int = GRID):
    """Steps, the input grid and the class-1 probability at each of those steps of run ``r``."""
    pts = _points(r)
    finite = np.isfinite(pts).all(axis=-1)
    last = int(np.flatnonzero(finite)[-1]) if finite.any() else 0
    steps = np.unique(np.linspace(0, last, min(max_frames, last + 1)).round().astype(int))
    steps = steps[finite[steps]]
    xs, ys, prob = surface.decision_boundary(pts[steps], grid=grid)
    return steps, xs, ys, prob


def boundary_figure(surface, r: dict, steps, xs, ys, prob, k: int = 0) -> go.Figure:
    """Class-1 probability (filled) and its 0.5 line, the data coloured by class, at step ``k``.

    ``layout.meta`` carries every frame (``steps``, ``z``) for the browser to switch between.
    """
    i = int(np.searchsorted(steps, k, side="right") - 1) if len(steps) else 0
    z = np.round(prob, 3)
    frames = [zi.tolist() for zi in z]
    fig = go.Figure(
        [
            go.Contour(
                x=xs,
                y=ys,
                z=frames[i],
                zmin=0,
                zmax=1,
                contours={"start": 0.1, "end": 0.9, "size": 0.1},
                colorscale=[[0, "#f6c8a8"], [0.5, "#ffffff"], [1, "#b5d3ea"]],
                line={"width": 0},
                showscale=False,
                hoverinfo="skip",
                meta={"role": "prob"},
            ),
            go.Contour(
                x=xs,
                y=ys,
                z=frames[i],
                contours={"start": 0.5, "end": 0.5, "size": 1, "coloring": "lines"},
                colorscale=[[0, "#111"], [1, "#111"]],
                line={"width": 2.5},
                showscale=False,
                hoverinfo="skip",
                meta={"role": "boundary"},
            ),
        ]
    )
    X, labels = np.asarray(surface.X), np.asarray(surface.labels)
    for c in (0, 1):
        sel = labels == c
        fig.add_trace(
            go.Scatter(
                x=X[sel, 0],
                y=X[sel, 1],
                mode="markers",
                name=f"class {c}",
                marker={
                    "size": 5,
                    "color": CLASS_COLOURS[c],
                    "line": {"width": 0.5, "color": "#fff"},
                },
                hovertemplate=f"class {c}<extra></extra>",
            )
        )
    (x0, x1), (y0, y1) = surface.data_window()
    shown = int(steps[i]) if len(steps) else 0
    fig.update_layout(
        xaxis={"range": [x0, x1], "showgrid": False, "zeroline": False, "title": {"text": "x₁"}},
        yaxis={"range": [y0, y1], "showgrid": False, "zeroline": False, "title": {"text": "x₂"}},
        margin={"l": 46, "r": 10, "t": 28, "b": 40},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        showlegend=False,
        meta={"steps": [int(s) for s in steps], "z": frames, "run": r["key"]},
        annotations=[
            {
                "text": f"{r['label']}: decision boundary at step {shown}",
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 1.0,
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12},
            }
        ],
        uirevision="net",
    )
    return fig


def panel(state, traj, key):
    """(curves figure, boundary figure, message) for the scene in the stores."""
    try:
        surface = scene_of(state).surface
    except ValueError as exc:
        return no_update, no_update, str(exc)
    if not is_network(surface):
        return empty_figure(NOT_NETWORK), empty_figure(""), ""
    found = accuracies(surface, traj)
    if found is None:
        return no_update, no_update, "No trajectories yet."
    runs, accuracy = found
    curves = curves_figure(runs, accuracy)
    chosen = next((r for r in runs if r["key"] == key), runs[0])
    steps, xs, ys, prob = boundary_frames(surface, chosen)
    boundary = boundary_figure(surface, chosen, steps, xs, ys, prob)
    return curves, boundary, ""


def register(app) -> None:
    register_chooser(app, ids.NET_OPT)

    # The panel's answer depends on the runs only in a network scene. Every other scene
    # would upload its whole trajectory (~85 kB for Radford's Beale) with each settings
    # change only to be told "not a network": the runs reach the panel's store only in a
    # network scene, plus once (without runs) on leaving one, for the placeholder.
    app.clientside_callback(
        """
        function (traj, held) {
          if (traj && traj.network) return traj;
          if (held && held.runs) return {runs: null};
          return window.dash_clientside.no_update;
        }
        """,
        Output(ids.NET_TRAJ, "data"),
        Input(ids.TRAJ, "data"),
        State(ids.NET_TRAJ, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.NET_CURVES, "figure"),
        Output(ids.NET_BOUNDARY, "figure"),
        Output(ids.NET_MSG, "children"),
        Input(ids.NET_TRAJ, "data"),
        Input(ids.NET_OPT, "value"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(lambda traj, key, state: panel(state, traj, key))
