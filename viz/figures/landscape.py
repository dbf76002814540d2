"""Plotly figures of the network scene (``viz.scene.landscape.Result``).

The contour and 3-D views hold, after the landscape, two traces per rule: its trail up to
the current step and its dot at that step (``TRACES_BEFORE + 2 i`` and ``+ 2 i + 1``), so
the page's animation restyles only those (``viz.ui.panels.landscape``).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.scene.landscape import Result

TRACES_BEFORE = 2  # the landscape and θ_ref's star (contour) / the surface and the star (3-D)
FONT = {"family": "system-ui, sans-serif", "size": 12, "color": "#333"}
MARGIN = {"l": 50, "r": 10, "t": 30, "b": 40}
CLASS_COLOURS = ("#D55E00", "#0072B2")


def _list(v) -> list:
    return [None if not np.isfinite(x) else float(x) for x in np.asarray(v, dtype=float)]


def _curve(steps, y, line, rule: str, role: str, name: str | None = None) -> go.Scatter:
    """One rule's curve over the steps, ``meta`` naming its role and rule (the page finds
    traces by it); a curve without a name stays out of the legend."""
    named = {"name": name} if name is not None else {"showlegend": False}
    return go.Scatter(
        x=steps,
        y=_list(y),
        mode="lines",
        line=line,
        legendgroup=rule,
        meta={"role": role, "rule": rule},
        **named,
    )


def axis_titles(res: Result) -> tuple[str, str]:
    if res.plane.explained is None:
        return "a (direction 1)", "b (direction 2)"
    e1, e2 = res.plane.explained
    return f"a: PC1 ({e1:.1%})", f"b: PC2 ({e2:.1%})"


def contour_figure(res: Result, step: int | None = None) -> go.Figure:
    k = res.spec.steps if step is None else step
    ta, tb = axis_titles(res)
    fig = go.Figure()
    fig.add_trace(
        go.Contour(
            x=res.a,
            y=res.b,
            z=res.z,
            colorscale="Viridis",
            ncontours=30,
            contours={"coloring": "lines"},
            line={"width": 1.1},
            showscale=False,
            hovertemplate="a %{x:.3g}<br>b %{y:.3g}<br>loss %{z:.4g}<extra></extra>",
            name="landscape",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0.0],
            y=[0.0],
            mode="markers",
            marker={"symbol": "star", "size": 14, "color": "#444"},
            name="θ_ref",
            hovertemplate=f"θ_ref ({res.ref_rule}'s end)<extra></extra>",
        )
    )
    for i, r in enumerate(res.spec.rules):
        c = res.coords[i]
        fig.add_trace(
            go.Scatter(
                x=_list(c[: k + 1, 0]),
                y=_list(c[: k + 1, 1]),
                mode="lines",
                line={"color": r.colour, "width": 2.5},
                name=r.label,
                legendgroup=r.optimizer,
                meta={"role": "trail", "rule": r.optimizer},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=_list(c[k : k + 1, 0]),
                y=_list(c[k : k + 1, 1]),
                mode="markers",
                marker={"color": r.colour, "size": 10, "line": {"color": "#222", "width": 1}},
                showlegend=False,
                legendgroup=r.optimizer,
                meta={"role": "dot", "rule": r.optimizer},
            )
        )
    (a0, a1), (b0, b1) = res.window()
    fig.update_layout(
        xaxis={"title": ta, "range": [a0, a1]},  # the plane is named in the line above
        yaxis={"title": tb, "range": [b0, b1]},
        margin=MARGIN,
        font=FONT,
        paper_bgcolor="#fff",
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.18},
        uirevision="landscape",
        meta={"weights": res.model.size, "explained": res.plane.explained, "seed": res.spec.seed},
    )
    return fig


def surface_figure(res: Result, step: int | None = None) -> go.Figure:
    k = res.spec.steps if step is None else step
    ta, tb = axis_titles(res)
    fig = go.Figure()
    fig.add_trace(
        go.Surface(
            x=res.a,
            y=res.b,
            z=res.z,
            colorscale="RdBu_r",
            showscale=False,
            opacity=0.9,
            name="landscape",
        )
    )
    i0 = np.argmin(np.abs(res.a)), np.argmin(np.abs(res.b))
    fig.add_trace(
        go.Scatter3d(
            x=[0.0],
            y=[0.0],
            z=[float(res.z[i0[1], i0[0]])],
            mode="markers",
            marker={"symbol": "diamond", "size": 4, "color": "#444"},
            name="θ_ref",
            showlegend=False,
        )
    )
    for i, r in enumerate(res.spec.rules):
        c, zl = res.coords[i], res.plane_loss[i]
        fig.add_trace(
            go.Scatter3d(
                x=_list(c[: k + 1, 0]),
                y=_list(c[: k + 1, 1]),
                z=_list(zl[: k + 1]),
                mode="lines",
                line={"color": r.colour, "width": 5},
                name=r.label,
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter3d(
                x=_list(c[k : k + 1, 0]),
                y=_list(c[k : k + 1, 1]),
                z=_list(zl[k : k + 1]),
                mode="markers",
                marker={"color": r.colour, "size": 5},
                showlegend=False,
            )
        )
    fig.update_layout(
        scene={
            "xaxis": {"title": ta},
            "yaxis": {"title": tb},
            "zaxis": {"title": "loss"},
            "camera": {"eye": {"x": -1.4, "y": -1.4, "z": 1.1}},
        },
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        font=FONT,
        paper_bgcolor="#fff",
        uirevision="landscape",
        meta={"weights": res.model.size, "seed": res.spec.seed},
    )
    return fig


def loss_figure(res: Result) -> go.Figure:
    """Loss (top, log) and accuracy (bottom) per step, full data set, one colour per rule."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    steps = list(range(res.spec.steps + 1))
    for i, r in enumerate(res.spec.rules):
        common = {
            "mode": "lines",
            "line": {"color": r.colour, "width": 2},
            "legendgroup": r.optimizer,
        }
        fig.add_trace(go.Scatter(x=steps, y=_list(res.true_loss[i]), name=r.label, **common), 1, 1)
        fig.add_trace(
            go.Scatter(x=steps, y=_list(res.accuracy[i]), showlegend=False, **common), 2, 1
        )
    fig.update_yaxes(title_text="loss", type="log", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(margin=MARGIN, font=FONT, paper_bgcolor="#fff", plot_bgcolor="#fff")
    return fig


def check_figure(res: Result) -> go.Figure:
    """Because a projection can lie: the true loss of θ_t (solid) against the landscape's
    loss at its projection (dashed), and θ_t's distance from the plane."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=(
            "true loss (solid), loss in the plane (dashed)",
            "distance of θ_t from the plane",
        ),
    )
    steps = list(range(res.spec.steps + 1))
    for i, r in enumerate(res.spec.rules):
        line, g = {"color": r.colour, "width": 2}, r.optimizer
        true = _curve(steps, res.true_loss[i], line, g, "true", f"{r.label} true")
        fig.add_trace(true, 1, 1)
        dashed = {**line, "dash": "dash"}
        fig.add_trace(
            _curve(steps, res.plane_loss[i], dashed, g, "plane", f"{r.label} in plane"), 1, 1
        )
        fig.add_trace(_curve(steps, res.distance[i], line, g, "distance"), 2, 1)
    fig.update_yaxes(title_text="loss", type="log", row=1, col=1)
    fig.update_yaxes(title_text="‖θ − proj‖", row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        margin={**MARGIN, "t": 40},
        font=FONT,
        paper_bgcolor="#fff",
        plot_bgcolor="#fff",
        showlegend=False,
    )
    return fig


def boundary_figure(res: Result, step: int, n: int = 40) -> go.Figure:
    """Each rule's classifier at ``step``: its class-1 probability over the inputs, the 0.5
    line (the decision boundary) and the data."""
    rules = res.spec.rules
    cols = min(3, len(rules))
    rows = -(-len(rules) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[r.label for r in rules],
        horizontal_spacing=0.04,
        vertical_spacing=0.1,
    )
    for i, _ in enumerate(rules):
        xs, ys, prob = res.boundary(i, step, n)
        row, col = i // cols + 1, i % cols + 1
        fig.add_trace(
            go.Contour(
                x=xs,
                y=ys,
                z=prob,
                zmin=0,
                zmax=1,
                colorscale="RdBu",
                showscale=False,
                contours={"start": 0.5, "end": 0.5, "size": 1, "coloring": "heatmap"},
                line={"width": 2, "color": "#222"},
                opacity=0.6,
                hoverinfo="skip",
                meta={"role": "boundary", "step": step},
            ),
            row,
            col,
        )
        for cls in (0, 1):
            m = res.y == cls
            fig.add_trace(
                go.Scatter(
                    x=res.X[m, 0],
                    y=res.X[m, 1],
                    mode="markers",
                    hoverinfo="skip",
                    marker={"size": 4, "color": CLASS_COLOURS[cls]},
                    showlegend=False,
                ),
                row,
                col,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(
        title={"text": f"decision boundaries at step {step}", "font": {"size": 13}},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        font=FONT,
        paper_bgcolor="#fff",
        height=220 * rows + 60,
        meta={"step": step},
    )
    return fig


def table_rows(res: Result) -> list[dict]:
    """One row per rule: the numbers at the last step (what the results table shows)."""
    out = []
    for i, (r, run) in enumerate(zip(res.spec.rules, res.runs, strict=True)):
        tl = res.true_loss[i]
        best = int(np.nanargmin(tl)) if np.isfinite(tl).any() else None
        out.append(
            {
                "optimizer": r.label,
                "colour": r.colour,
                "final loss": float(tl[-1]) if np.isfinite(tl[-1]) else None,
                "loss in plane": float(res.plane_loss[i, -1])
                if np.isfinite(res.plane_loss[i, -1])
                else None,
                "distance from plane": float(res.distance[i, -1])
                if np.isfinite(res.distance[i, -1])
                else None,
                "accuracy": float(res.accuracy[i, -1])
                if np.isfinite(res.accuracy[i, -1])
                else None,
                "lowest loss at step": best,
                "diverged at": run.diverged_at,
            }
        )
    return out
