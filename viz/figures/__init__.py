"""Pure data → ``go.Figure`` builders for the app's views, styled by ``viz.scene.Style``.

The contour map and the 3-D surface are each drawn as two stacked graphs: a static
*background* (contour lines / surface; rebuilt only when the surface changes) and a
transparent *overlay* holding only what moves (trails, dots, arrows), which the browser
animates (``assets/optviz.js``). Both layers of a view share ``MARGIN``, fixed axis
ranges and the scene geometry, so they line up pixel for pixel.

Every overlay trace carries ``meta = {"role": ..., "run": i}``; the browser fills in
each role's data for step k (see ``trail_at``, which is the same rule in Python).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from surfaces import Surface
from viz.scene import Style, colours, contour_levels
from viz.scene.geometry import (
    MARGIN,
    SCENE_ASPECT,
    axis_titles,
    display_z,
    floor_value,
    grid,
    window_floor,
    z_range,
    z_title,
)

MARGIN3D = {"l": 0, "r": 0, "t": 0, "b": 0}
# Plotly draws the scene box 0.88 of what SCENE_ASPECT says, so that at the usual
# cameras the z-axis title ("log f") is not cut off at the panel's left edge (Plotly drops
# what falls outside its viewport, margins or not). The GIF's 3-D view fills its panel
# whatever the box's size, so it keeps SCENE_ASPECT.
PLOTLY_ASPECT = {k: v * 0.88 for k, v in SCENE_ASPECT.items()}
ARROW_FRACTION = 0.09  # arrows are this fraction of the window's width/height long
FONT = {"family": "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}
TRANSPARENT = "rgba(0,0,0,0)"


# ----------------------------------------------------------------------------- 2-D views


def uirevision_3d(style: Style) -> str:
    """The camera stays where the user turned it while the scene's own camera stays (a new
    preset with a camera of its own, Radford's saddle, shows it: it is part of the scene)."""
    parts = [style.camera.get(part, {}) for part in ("eye", "up", "center")]
    return "3d:" + ",".join(f"{d.get(k, 0):g}" for d in parts for k in "xyz")


def uirevision_2d(window) -> str:
    """Zoom is kept while the window stays (settings change); a new window starts unzoomed."""
    (x0, x1), (y0, y1) = window
    return f"2d:{x0:g},{x1:g},{y0:g},{y1:g}"


def _axes_2d(window, style: Style, show: bool = True, titles=("x", "y")) -> dict:
    (x0, x1), (y0, y1) = window
    common = {
        "showgrid": False,
        "zeroline": False,
        "visible": show,
        "ticks": "outside",
        "linecolor": "#888",
        "mirror": True,
        "fixedrange": False,
    }
    return {
        "xaxis": {**common, "range": [x0, x1], "title": {"text": titles[0], "standoff": 4}},
        "yaxis": {**common, "range": [y0, y1], "title": {"text": titles[1], "standoff": 4}},
    }


def contour_figure(surface: Surface, window, style: Style, n: int = 120) -> dict:
    """The static contour background: level lines coloured on the style's scale, a star at
    each minimum.

    Log-spaced levels (``style.log_levels`` or the surface's ``log_scale``) are drawn as
    evenly spaced levels of log₁₀(f − base), exactly ``viz.scene.contour_levels``. A plain
    figure dict in Plotly's JSON schema (no per-property validation: a new scene's
    backgrounds are built in ms, not the ~200 ms of ``go.Figure``).
    """
    xs, ys, zz = grid(surface, window, n)
    log = style.log_levels or surface.log_scale
    st = style if style.log_levels == log else _with_log(style, log)
    base = floor_value(surface, zz)
    levels = contour_levels(zz, st, base)
    if log:
        with np.errstate(all="ignore"):
            z = np.log10(np.maximum(zz - base, 1e-300))
        lv = np.log10(levels - base)
    else:
        z, lv = zz, levels
    size = float(lv[1] - lv[0]) if len(lv) > 1 else 1.0
    data = [
        {
            "type": "contour",
            "x": xs,
            "y": ys,
            "z": _finite_or_none(z),
            "customdata": _finite_or_none(zz),
            "contours": {
                "coloring": "lines",
                "start": float(lv[0]),
                "end": float(lv[-1]),
                "size": size,
                "showlabels": False,
            },
            "autocontour": False,
            "colorscale": colours.scale(style.colorscale, style.line_fade),
            "showscale": False,
            "line": {"width": 1.1},
            "hovertemplate": _hover(surface, "<extra>click to start here</extra>"),
            "name": "f",
        }
    ]
    if surface.minima:
        data.append(minima_trace(surface.minima, 20, style.star_colour, 1, opacity=0.85))
    layout = {
        **_axes_2d(window, style, titles=axis_titles(surface)),
        "margin": MARGIN,
        "paper_bgcolor": style.background,
        "plot_bgcolor": style.background,
        "showlegend": False,
        "uirevision": uirevision_2d(window),
        "font": FONT,
        "dragmode": "zoom",
        "hovermode": "closest",
    }
    return _figure(data, layout)


def _hover(surface: Surface, extra: str) -> str:
    tx, ty = (t.split(" (")[0] for t in axis_titles(surface))
    return f"{tx} = %{{x:.3f}}<br>{ty} = %{{y:.3f}}<br>f = %{{customdata:.4g}}{extra}"


def _finite_or_none(a: np.ndarray) -> list:
    """A grid as JSON-ready rows, 7 significant digits (what the eye can tell apart), None
    where not finite (a gap in the picture)."""
    return [[float(f"{v:.7g}") if math.isfinite(v) else None for v in row] for row in a.tolist()]


def minima_trace(minima, size: float, colour: str, line_width: float, opacity=None):
    """A star at each minimum (the contour's, the convergence map's)."""
    mx, my = zip(*minima, strict=True)
    marker = {"symbol": "star", "size": size, "color": colour}
    if opacity is not None:
        marker["opacity"] = opacity
    marker["line"] = {"width": line_width, "color": "#111"}
    return _scatter(x=list(mx), y=list(my), mode="markers", name="minimum", marker=marker)


def step_marker(colour: str) -> dict:
    """The loss plots' dotted vertical line at the current step (moved by assets/optviz.js)."""
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": 0,
        "x1": 0,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "width": 1, "dash": "dot"},
    }


def accuracy_figure(runs: list[dict], accuracy) -> dict:
    """Accuracy (0–100 %) against step, one line per run (``label``, ``colour``, ``key``)
    in its colour, the 80 % guide: the strip under a classifier's map, in the app and on
    the standalone page. ``shapes[0]`` is the step marker the browser moves."""
    data = [
        {
            "type": "scatter",
            "x": list(range(len(acc))),
            "y": [None if not np.isfinite(v) else float(v) for v in acc],
            "mode": "lines",
            "line": {"color": r["colour"], "width": 2},
            "name": r["label"],
            "meta": {"role": "accuracy", "run": r["key"]},
            "hovertemplate": f"{r['label']}<br>step %{{x}}<br>accuracy %{{y:.1%}}<extra></extra>",
        }
        for r, acc in zip(runs, accuracy, strict=True)
    ]
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
    layout = {
        "shapes": [step_marker("#888"), guide],
        "margin": {"l": 52, "r": 10, "t": 6, "b": 32},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": FONT,
        "showlegend": False,
        "hovermode": "x unified",
        "xaxis": {"title": {"text": "step"}, "showgrid": False, "zeroline": False},
        "yaxis": {"tickformat": ".0%", "range": [0, 1.02], "tickvals": [0, 0.5, 0.8, 1.0]},
        "uirevision": "acc",
        "meta": {"runs": [r["key"] for r in runs]},
    }
    return _figure(data, layout)


def _with_log(style: Style, log: bool) -> Style:
    from dataclasses import replace

    return replace(style, log_levels=log)


def contour_overlay(
    runs: list[dict], window, style: Style, start=None, step: int | None = None
) -> dict:
    """The transparent overlay of the contour map: start, trails, arrows, dots, ✕ marks.

    ``runs`` are ``trajectory_payload`` entries; ``step`` is the step drawn (default:
    the last). The browser redraws the same traces with ``trail_at`` for every step.
    A plain figure dict in Plotly's JSON schema (rebuilt on every change, so it skips
    ``go.Figure``'s validation; tests check it against the schema).
    """
    k = _last_step(runs) if step is None else step
    sx, sy = ([start[0]], [start[1]]) if start is not None else ([], [])
    data = [
        _scatter(
            x=sx,
            y=sy,
            mode="markers",
            name="start",
            meta={"role": "start"},
            marker={"symbol": "circle-open", "size": 13, "color": "#222", "line": {"width": 2}},
        )
    ]
    for i, r in enumerate(runs):
        xs, ys = trail_at(r, k)
        data.append(
            _scatter(
                x=list(xs),
                y=list(ys),
                mode="lines",
                name=r["label"],
                line={"color": r["colour"], "width": style.line_width},
                meta={"role": "trail", "run": i},
            )
        )
    for role, colour, dash in (("grad", "#222222", "solid"), ("velocity", "#666666", "dot")):
        data.append(
            _scatter(
                x=[],
                y=[],
                mode="lines+markers",
                name=role,
                line={"color": colour, "width": 2, "dash": dash},
                marker={"symbol": "arrow", "angleref": "previous", "size": 11, "color": colour},
                meta={"role": role},
            )
        )
    dots = [dot_at(r, k) for r in runs]
    data.append(
        _scatter(
            x=[d[0] for d in dots],
            y=[d[1] for d in dots],
            mode="markers",
            name="now",
            meta={"role": "dots"},
            marker={
                "size": style.dot_size,
                "color": [r["colour"] for r in runs],
                "line": {"width": 1, "color": "#ffffff"},
            },
        )
    )
    crosses = [dot_at(r, k) for r in runs if _diverged_by(r, k)]
    data.append(
        _scatter(
            x=[c[0] for c in crosses],
            y=[c[1] for c in crosses],
            mode="markers",
            name="diverged",
            meta={"role": "crosses"},
            marker={"symbol": "x-thin", "size": 16, "line": {"width": 3, "color": "#d00000"}},
        )
    )
    # The overlay keeps axes (so its plot area matches the background's) but draws none.
    axes = _axes_2d(window, style, show=True)
    for ax in axes.values():
        ax["linecolor"] = ax["tickcolor"] = TRANSPARENT
        ax["title"]["font"] = {"color": TRANSPARENT}
    layout = {
        **axes,
        "margin": dict(MARGIN),
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        "showlegend": False,
        "uirevision": uirevision_2d(window),
        "font": {**FONT, "color": TRANSPARENT},
        "hovermode": False,
    }
    return _figure(data, layout)


def _scatter(**props) -> dict:
    """A 2-D scatter trace dict that ignores the mouse (every overlay/loss trace is one)."""
    return {"type": "scatter", "hoverinfo": "skip", **props}


def _figure(data: list, layout: dict) -> dict:
    """A figure dict with the default template, as ``go.Figure(...).to_plotly_json()`` has,
    except that the template keeps only the trace types the figure draws (the others'
    defaults cannot apply: same picture, ~4 kB less per figure in every answer)."""
    types = tuple(sorted({t.get("type", "scatter") for t in data}))
    return {"data": data, "layout": {**layout, "template": _template(types)}}


@functools.lru_cache(maxsize=32)
def _template_for(name: str, types: tuple[str, ...] | None) -> dict:
    import plotly.io as pio

    t = pio.templates[name].to_plotly_json()
    if types is not None:
        t["data"] = {k: v for k, v in t.get("data", {}).items() if k in types}
    return t


def _template(types: tuple[str, ...] | None = None) -> dict:
    """The default template (``go.Figure`` puts it in every layout), built once per process
    and per set of trace types. Shared by every figure that uses it: read it, never change
    it (the figures go straight to JSON)."""
    import plotly.io as pio

    name = pio.templates.default
    return _template_for(name, types) if isinstance(name, str) and name else {}


# ----------------------------------------------------------------------------- 3-D views


def _scene(surface: Surface, window, style: Style, show: bool = True) -> dict:
    (x0, x1), (y0, y1) = window
    z0, z1 = z_range(surface, window, style)
    tx, ty = axis_titles(surface) if show else ("", "")
    axis = {
        "showbackground": show,
        "backgroundcolor": "#f4f5f7",
        "gridcolor": "#d5d8dc",
        "showgrid": show,
        "zeroline": False,
        "showline": show,
        "showticklabels": show,
        "showspikes": False,
        "visible": show,
        "ticks": "outside" if show else "",
    }
    return {
        "xaxis": {**axis, **_ticks3d(x0, x1), "title": {"text": tx}},
        "yaxis": {**axis, **_ticks3d(y0, y1), "title": {"text": ty}},
        "zaxis": {
            **axis,
            **_ticks3d(z0, z1, n=4),
            "title": {"text": z_title(surface, style) if show else ""},
        },
        "aspectmode": "manual",
        "aspectratio": PLOTLY_ASPECT,
        "camera": style.camera,
        "bgcolor": style.background if show else TRANSPARENT,
        "dragmode": "turntable",
        "domain": {"x": [0, 1], "y": [0, 1]},
    }


def nice_ticks(lo: float, hi: float, n: int = 4, margin: float = 0.1) -> list[float]:
    """Three to ``n`` + 1 round values (1, 2, 2.5 or 5 × 10^k apart) inside [lo, hi], none
    within ``margin`` of the span from either end (the coarsest such spacing)."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return []
    a, b = lo + margin * span, hi - margin * span
    top = min(math.ceil(math.log10(span)), 308)  # floats: 10**309 is past the largest
    steps = [m * 10.0 ** (top - e) for e in range(4) for m in (5, 2.5, 2, 1)]  # coarse to fine
    best: list[float] = []
    for step in (s for s in steps if math.isfinite(s)):
        k0, k1 = math.ceil(a / step - 1e-9), math.floor(b / step + 1e-9)
        ticks = [round(k * step, 12) + 0.0 for k in range(k0, k1 + 1)]
        if len(ticks) > n + 1:
            break
        best = ticks
        if len(ticks) >= 3:
            break
    return best


def _ticks3d(lo: float, hi: float, n: int = 4) -> dict:
    """A 3-D axis' range and its tick values: none at the box's edges, where the x, y and
    z labels of a corner meet and run together ("0" and "4" read "04")."""
    ticks = nice_ticks(lo, hi, n)
    out = {"range": [lo, hi]}
    if len(ticks) >= 2:
        out["tickvals"] = ticks
        out["ticktext"] = [f"{t:g}" for t in ticks]
    return out


def surface_figure(surface: Surface, window, style: Style, n: int = 70) -> dict:
    """The static 3-D background: the surface (and the minima), fixed ranges, kept camera.

    A plain figure dict, like ``contour_figure``."""
    xs, ys, zz = grid(surface, window, n)
    base = floor_value(surface, zz)
    z0, z1 = z_range(surface, window, style)
    dz = np.clip(display_z(surface, zz, base, style), z0, z1)
    data = [
        {
            "type": "surface",
            "x": xs,
            "y": ys,
            "z": _finite_or_none(dz),
            "customdata": _finite_or_none(zz),
            "colorscale": colours.scale(style.surface_colorscale),
            "showscale": False,
            "opacity": 0.92,
            "contours": {
                "z": {
                    "show": True,
                    "width": 1,
                    "color": "rgba(40,40,40,0.25)",
                    "start": z0,
                    "end": z1,
                    "size": (z1 - z0) / 14,
                }
            },
            "lighting": {"ambient": 0.75, "diffuse": 0.5, "specular": 0.05, "roughness": 0.9},
            "hovertemplate": _hover(surface, "<extra></extra>"),
            "name": "f",
        },
        extent_trace(surface, window, style),
    ]
    if surface.minima:
        m = np.array(surface.minima, dtype=float)
        mz = display_z(surface, surface.value(m), base, style)
        data.append(
            {
                "type": "scatter3d",
                "x": m[:, 0],
                "y": m[:, 1],
                "z": mz,
                "mode": "markers",
                "name": "minimum",
                "hoverinfo": "skip",
                "marker": {"symbol": "diamond", "size": 6, "color": style.star_colour},
            }
        )
    layout = {
        "scene": _scene(surface, window, style),
        "margin": MARGIN3D,
        "paper_bgcolor": style.background,
        "showlegend": False,
        "uirevision": uirevision_3d(style),
        "font": FONT,
    }
    return _figure(data, layout)


def surface_overlay(
    surface: Surface, runs: list[dict], window, style: Style, step: int | None = None
) -> dict:
    """The transparent 3-D overlay: each run's path on the surface and its current point.

    A plain figure dict in Plotly's JSON schema, like ``contour_overlay``.
    """
    k = _last_step(runs) if step is None else step
    data = [extent_trace(surface, window, style)]
    for i, r in enumerate(runs):
        n = _upto(r, k)
        xs, ys, zs = path3d(r, n)
        data.append(
            {
                "type": "scatter3d",
                "x": xs,
                "y": ys,
                "z": list(zs),
                "mode": "lines",
                "name": r["label"],
                "hoverinfo": "skip",
                "line": {"color": r["colour"], "width": 2 * style.line_width},
                "meta": {"role": "path", "run": i},
            }
        )
    idx = [min(_upto(r, k), len(r["x"])) - 1 for r in runs]
    now = [path3d(r, j + 1) for r, j in zip(runs, idx, strict=True)]
    data.append(
        {
            "type": "scatter3d",
            "x": [p[0][-1] for p in now],
            "y": [p[1][-1] for p in now],
            "z": [p[2][-1] for p in now],
            "mode": "markers",
            "name": "now",
            "hoverinfo": "skip",
            "meta": {"role": "dots3d"},
            "marker": {
                "size": 0.55 * style.dot_size,
                "color": [r["colour"] for r in runs],
                "line": {"width": 1, "color": "#ffffff"},
            },
        }
    )
    layout = {
        "scene": _scene(surface, window, style, show=False),
        "margin": dict(MARGIN3D),
        "paper_bgcolor": TRANSPARENT,
        "showlegend": False,
        "uirevision": uirevision_3d(style),
        "font": dict(FONT),
    }
    return _figure(data, layout)


def path3d(r: dict, n: int) -> tuple[list, list, list]:
    """The first ``n`` points of a run in 3-D: gaps (None) where it is outside the window."""
    xs, ys, zs = r["x"][:n], r["y"][:n], r["z"][:n]
    return (
        [None if z is None else x for x, z in zip(xs, zs, strict=True)],
        [None if z is None else y for y, z in zip(ys, zs, strict=True)],
        zs,
    )


def extent_trace(surface: Surface, window, style: Style) -> dict:
    """Two invisible points at opposite corners of the scene's box (a scatter3d trace dict).

    plotly.js scales a 3-D scene by the extent of its *data*, not its axis ranges, so
    the surface scene and the paths-only overlay only project alike when both hold data
    spanning exactly the box (and nothing outside it: paths leaving the window have gaps).
    """
    (x0, x1), (y0, y1) = window
    z0, z1 = z_range(surface, window, style)
    return {
        "type": "scatter3d",
        "x": [x0, x1],
        "y": [y0, y1],
        "z": [z0, z1],
        "mode": "markers",
        "hoverinfo": "skip",
        "name": "extent",
        "marker": {"size": 1, "opacity": 0},
        "showlegend": False,
        "meta": {"role": "extent"},
    }


# ----------------------------------------------------------------------------- loss plot


def loss_figure(
    runs: list[dict], min_value: float | None, style: Style, value_range=None, what="f(x, y)"
) -> dict:
    """Loss against step for every run; log scale of f − f* when it spans > 2 decades.

    On a linear scale, ``value_range`` (the surface's values over the window) caps the
    y axis, so a run escaping down an unbounded surface does not flatten the others.
    ``what`` names the value on the y axis (the network scene's: its loss).
    A plain figure dict in Plotly's JSON schema, like ``contour_overlay``.
    """
    log, ytitle, series = _loss_series(runs, min_value)
    ytitle = ytitle.replace("f(x, y)", what)
    data = []
    for r, y in zip(runs, series, strict=True):
        data.append(
            {
                "type": "scatter",
                "x": list(range(len(y))),
                "y": y,
                "mode": "lines",
                "name": r["label"],
                "line": {"color": r["colour"], "width": 2},
                "hovertemplate": f"{r['label']}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
            }
        )
        if r["diverged_at"] is not None and y:
            data.append(
                _scatter(
                    x=[len(y) - 1],
                    y=[y[-1]],
                    mode="markers",
                    showlegend=False,
                    name=f"{r['label']} diverged",
                    marker={
                        "symbol": "x-thin",
                        "size": 13,
                        "line": {"width": 3, "color": "#d00000"},
                    },
                )
            )
    # No range of its own: autorange, said outright, so that a range kept from the scene
    # before (say a linear one, read as decades once the axis turns log) cannot stay.
    yrange = _capped_range(series, value_range, log) or {"autorange": True}
    layout = {
        "margin": {"l": 56, "r": 12, "t": 8, "b": 40},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": False,
        "font": dict(FONT),
        "uirevision": loss_uirevision(runs, log, ytitle, min_value, value_range),
        "xaxis": {
            "title": {"text": "step"},
            "showgrid": True,
            "gridcolor": "#eef0f3",
            "zeroline": False,
            "linecolor": "#888",
        },
        "yaxis": {
            "title": {"text": ytitle},
            **yrange,
            "type": "log" if log else "linear",
            "showgrid": True,
            "gridcolor": "#eef0f3",
            "zeroline": False,
            "linecolor": "#888",
            "exponentformat": "power",
        },
        "hovermode": "x unified",
        "shapes": [step_marker("#555")],
    }
    return _figure(data, layout)


def loss_uirevision(runs, log: bool, ytitle: str, min_value, value_range) -> str:
    """The loss plot's zoom is kept while only settings change (same runs, same axis); a
    new scene, another set of runs or another kind of y axis starts from autorange."""
    labels = "|".join(r["label"] for r in runs)
    kind = "log" if log else "linear"
    return f"loss:{kind}:{ytitle}:{min_value}:{value_range}:{labels}"


def _capped_range(series, value_range, log: bool) -> dict:
    if log or value_range is None:
        return {}
    vals = np.array([v for ys in series for v in ys if v is not None], dtype=float)
    lo, hi = value_range
    if vals.size == 0 or (vals.min() >= lo and vals.max() <= hi):
        return {}
    top = min(float(vals.max()), hi)
    bottom = max(float(vals.min()), lo)
    pad = 0.05 * (top - bottom or 1.0)
    return {"range": [bottom - pad, top + pad]}


def _loss_series(runs, min_value):
    losses = [[v for v in r["loss"]] for r in runs]
    finite = np.array([v for ls in losses for v in ls if v is not None and math.isfinite(v)])
    if finite.size == 0:
        return False, "f(x, y)", losses
    base = min_value if min_value is not None else None
    if base is not None:
        gaps = finite - base
        positive = gaps[gaps > 0]
        if positive.size and positive.max() / max(positive.min(), 1e-300) > 100:
            floor = max(float(positive.min()) * 0.5, 1e-16)
            series = [[None if v is None else max(v - base, floor) for v in ls] for ls in losses]
            return True, "f − f*  (log)", series
    if finite.min() > 0 and finite.max() / finite.min() > 100:
        return True, "f(x, y)  (log)", losses
    return False, "f(x, y)", losses


# ----------------------------------------------------------------------------- payload


def _round(a: np.ndarray) -> list:
    """JSON-ready list with 7 significant digits (plenty to draw), ``None`` for non-finite.

    Each value is ``float(f"{v:.7g}")``, formatted in one ``%`` over the whole array and
    parsed back by ``map(float, ...)`` (half the time of a per-value f-string loop).
    """
    v = np.asarray(a, float).ravel()
    if v.size == 0:
        return []
    out = list(map(float, (("%.7g," * v.size) % tuple(v.tolist())).split(",")[:-1]))
    bad = ~np.isfinite(v)
    if bad.any():
        for i in np.flatnonzero(bad).tolist():
            out[i] = None
    return out


def trajectory_payload(
    surface: Surface,
    traj,
    key: str,
    label: str,
    colour: str,
    window,
    style: Style,
    momentum: bool = False,
    on_surface: bool = False,
) -> dict:
    """What the browser needs to animate one run: points up to the last finite one.

    ``z`` is the 3-D height (lifted a hair above the surface), ``gdx``/``gdy`` the
    descent direction −∇f as an arrow offset ``ARROW_FRACTION`` of the window long.
    ``on_surface``: the height is the surface's at each point, not the run's loss (the
    network scene: its loss is the network's own, its surface the plane's).
    """
    pts = np.asarray(traj.points, dtype=float)
    d = traj.diverged_at
    last = len(pts) if d is None else max(int(d), 1)  # points[:d] are finite
    pts = pts[:last]
    losses = np.asarray(traj.losses, dtype=float)[:last]
    base = window_floor(surface, window)
    z0, z1 = z_range(surface, window, style)
    with np.errstate(all="ignore"):
        heights = surface.value(pts) if on_surface else losses
    z = display_z(surface, heights, base, style) + 0.012 * (z1 - z0)
    (x0, x1), (y0, y1) = window
    sx, sy = x1 - x0, y1 - y0
    inside = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
    with np.errstate(all="ignore"):
        g = np.asarray(surface.grad(pts), dtype=float)
        u = -g / np.array([sx, sy])  # screen units, so the arrow's angle is what one sees
        norm = np.hypot(u[:, 0], u[:, 1])
        u = np.where(norm[:, None] > 0, u / norm[:, None], 0.0) * ARROW_FRACTION
    return {
        "key": key,
        "label": label,
        "colour": colour,
        "x": _round(pts[:, 0]),
        "y": _round(pts[:, 1]),
        "z": _round(np.where(inside, np.clip(z, z0, z1), np.nan)),
        "loss": _round(losses),
        "gdx": _round(u[:, 0] * sx),
        "gdy": _round(u[:, 1] * sy),
        "diverged_at": None if d is None else int(d),
        "momentum": bool(momentum),
    }


def _last_step(runs) -> int:
    return max((len(r["x"]) - 1 for r in runs), default=0) if runs else 0


def _upto(r: dict, k: int) -> int:
    """How many of the run's points are drawn at step k."""
    return min(k + 1, len(r["x"]))


def trail_at(r: dict, k: int) -> tuple[list, list]:
    """The run's trail at step k: its points 0..k, up to the last finite one."""
    n = _upto(r, k)
    return r["x"][:n], r["y"][:n]


def dot_at(r: dict, k: int) -> tuple[float, float]:
    n = _upto(r, k)
    return r["x"][n - 1], r["y"][n - 1]


def _diverged_by(r: dict, k: int) -> bool:
    return r["diverged_at"] is not None and k >= r["diverged_at"]
