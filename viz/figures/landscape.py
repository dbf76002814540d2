"""Plotly figures beside the network scene's views (``viz.scene.landscape.Result``): the
projection check and each rule's decision boundary, both following the playback step.

The scene itself (contour, 3-D, loss, results) is drawn by the figures every scene uses;
these two say what a plane cannot: how far each path is from it, and what each rule's
network classifies at the current step.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz import figures
from viz.scene.landscape import Result

CLASS_COLOURS = ("#D55E00", "#0072B2")  # class 0, class 1 (as the Network panel's)
BOUNDARY_FRAMES = 21  # steps sent for the boundaries; the browser shows the latest ≤ k
BOUNDARY_GRID = 24  # points per side of each boundary's input grid


def _list(v) -> list:
    return [None if not np.isfinite(x) else float(f"{x:.5g}") for x in np.asarray(v, float)]


CHECK_TITLE = "True loss (solid) vs the plane's under the dot (dotted); distance from the plane"


def check_figure(res: Result) -> go.Figure:
    """Because a projection can lie: the true loss of each θ_t (solid) against the
    landscape's loss at its projection (dotted), and θ_t's distance from the plane; a
    dotted line at the playback step (``shapes[0]``, moved by the browser)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    steps = list(range(res.spec.steps + 1))
    # (values, line style, name, role, hover text, subplot column) of each rule's three lines
    kinds = (
        (res.true_loss, {}, "true loss", "true", "true loss", 1),
        (res.plane_loss, {"dash": "dot", "width": 1.5}, "in the plane", "plane",
         "loss in the plane", 1),
        (res.distance, {}, "distance", "distance", "distance from the plane", 2),
    )  # fmt: skip
    for i, r in enumerate(res.spec.rules):
        line = {"color": r.colour, "width": 2}
        common = {"x": steps, "mode": "lines", "legendgroup": r.optimizer, "showlegend": False}
        for values, style, name, role, what, col in kinds:
            trace = go.Scatter(
                y=_list(values[i]),
                line={**line, **style},
                name=f"{r.label} {name}",
                meta={"role": role, "rule": r.optimizer},
                hovertemplate=f"{r.label}<br>step %{{x}}<br>%{{y:.4g}}<extra>{what}</extra>",
                **common,
            )
            fig.add_trace(trace, 1, col)
    marker = [
        {**figures.step_marker("#888"), "xref": x, "yref": f"{y} domain"}
        for x, y in (("x", "y"), ("x2", "y2"))
    ]
    axis = {"showgrid": True, "gridcolor": "#eef0f3", "zeroline": False, "linecolor": "#888"}
    fig.update_xaxes(title_text="step", title_standoff=4, **axis)
    fig.update_yaxes(nticks=5, exponentformat="power", title_standoff=2, **axis)
    losses = np.concatenate([res.true_loss.ravel(), res.plane_loss.ravel()])
    ticks = log_ticks(losses[np.isfinite(losses) & (losses > 0)])
    fig.update_yaxes(
        title_text="loss",
        type="log",
        tickvals=ticks,
        ticktext=[f"{t:g}" for t in ticks],
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text="distance", rangemode="tozero", row=1, col=2)
    fig.update_layout(
        shapes=marker,
        margin={"l": 52, "r": 8, "t": 8, "b": 36},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font={**figures.FONT, "size": 11},
        hovermode="x unified",
        uirevision="net-check",
        meta={"rules": [r.optimizer for r in res.spec.rules]},
    )
    return fig


def log_ticks(values: np.ndarray) -> list[float]:
    """1, 2 and 5 times the powers of ten within ``values``' range (a log axis' labels
    that do not crowd: Plotly's own label every minor tick of a short range)."""
    if values.size == 0:
        return []
    lo, hi = float(values.min()), float(values.max())
    out = [
        m * 10.0**k
        for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
        for m in (1, 2, 5)
    ]
    inside = [float(f"{t:.3g}") for t in out if lo <= t <= hi]
    return inside if len(inside) <= 6 else inside[::2]


def boundary_steps(res: Result, frames: int = BOUNDARY_FRAMES) -> np.ndarray:
    """The steps whose boundaries are sent: evenly spaced, the first and last included."""
    n = min(frames, res.spec.steps + 1)
    return np.unique(np.rint(np.linspace(0, res.spec.steps, n)).astype(int))


def boundary_figure(res: Result, step: int | None = None, grid: int = BOUNDARY_GRID) -> go.Figure:
    """Each rule's classifier, side by side: its class-1 probability over the inputs (0 to
    100, filled), the 0.5 line (its decision boundary) and the data.

    ``layout.meta`` carries every frame (``steps``, ``z[frame][rule]``, the ``traces`` they
    go to): the browser shows the latest frame at or before the playback step
    (assets/optviz-80-panels.js). A rule that diverged keeps its last finite network.
    """
    rules = res.spec.rules
    steps = boundary_steps(res)
    k = res.spec.steps if step is None else step
    shown = int(np.searchsorted(steps, k, side="right") - 1)
    frames = []
    for s in steps:
        row = []
        for i, run in enumerate(res.runs):
            last = s if run.diverged_at is None else min(int(s), run.diverged_at - 1)
            xs, ys, prob = res.boundary(i, last, grid)
            row.append(np.rint(np.nan_to_num(prob, nan=0.5) * 100).astype(int).tolist())
        frames.append(row)
    fig = make_subplots(
        rows=1,
        cols=len(rules),
        subplot_titles=[r.label for r in rules],
        horizontal_spacing=0.012,
    )
    for i, _ in enumerate(rules):
        fig.add_trace(
            go.Contour(
                x=xs,
                y=ys,
                z=frames[shown][i],
                zmin=0,
                zmax=100,
                colorscale=[[0, "#f6c8a8"], [0.5, "#ffffff"], [1, "#b5d3ea"]],
                contours={"start": 50, "end": 50, "size": 100, "coloring": "heatmap"},
                line={"width": 2, "color": "#222"},
                showscale=False,
                hoverinfo="skip",
                meta={"role": "boundary", "rule": rules[i].optimizer},
            ),
            1,
            i + 1,
        )
    for i, _ in enumerate(rules):
        fig.add_trace(
            go.Scatter(
                x=_list(res.X[:, 0]),
                y=_list(res.X[:, 1]),
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                marker={
                    "size": 3,
                    "color": [CLASS_COLOURS[int(c)] for c in res.y],
                    "line": {"width": 0},
                },
            ),
            1,
            i + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for ann in fig.layout.annotations:
        ann.font = {"size": 11, "color": "#333"}
    fig.update_layout(
        margin={"l": 6, "r": 6, "t": 22, "b": 6},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=figures.FONT,
        showlegend=False,
        meta={
            "steps": [int(s) for s in steps],
            "z": frames,
            "traces": list(range(len(rules))),
            "step": int(steps[shown]),
        },
        uirevision="net-boundaries",
    )
    return fig
