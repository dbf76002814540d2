"""Convergence map panel: where each start of a grid ends, for one optimizer of the scene.

The map is its own graph (a picture, one pixel per start, with the contour lines drawn
over it), never a layer
of the animated contour view. Clicking a pixel sets the scene's start to that pixel's
start; the scene then runs from there as if the start had been typed.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections import OrderedDict

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, Patch, State, dcc, html, no_update
from PIL import Image

import viz.gif.raster as raster
from optimizers import maps as omaps
from optimizers.budget import Budget
from viz import figures
from viz.scene import Style, geometry, validate
from viz.ui import http, ids
from viz.ui.panels.common import (  # noqa: F401 - choices, empty_figure, TOL_FRACTION: API
    TOL_FRACTION,
    PanelScene,
    button,
    card,
    choices,
    empty_figure,
    field,
    graph,
    is_network,
    keep_choice,
    loading,
    num_input,
    quiet,
    radio_field,
    register_button,
    register_chooser,
    scene_of,
    scene_steps,
    scene_tol,
    steps_field,
)

DEFAULT_N = 100
MAX_N = omaps.MAX_GRID  # 200
MAX_STEPS = omaps.MAX_STEPS  # 2000
NETWORK_BUDGET = 100_000  # starts × steps on the network surface (each step is a forward+backward)
COLOUR_BY = (
    ("outcome", "minimum reached"),
    ("steps", "steps to converge"),
    ("loss", "final loss"),
)
MINIMA_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#0072B2", "#F0E442", "#D55E00")
NOT_CONVERGED_COLOUR = "#d9d9d9"
DIVERGED_COLOUR = "#3a3a3a"
STATIONARY_COLOUR = "#b08fc7"


# ----------------------------------------------------------------------------- layout


def layout() -> html.Div:
    controls = [
        field("optimizer", dcc.Dropdown(id=ids.MAP_OPT, clearable=False, className="map-opt")),
        field(
            "grid n×n", num_input(ids.MAP_N, str(DEFAULT_N)), hint=f"starts per side, 2 to {MAX_N}"
        ),
        steps_field(ids.MAP_STEPS, MAX_STEPS),
        radio_field("colour by", ids.MAP_COLOUR, COLOUR_BY, "outcome", "map-colour"),
        button("Compute map", ids.MAP_BTN),
    ]
    side = html.Div(
        [
            html.Div(id=ids.MAP_SUMMARY, className="panel-summary"),
            html.P(
                "Each pixel is one start on a grid over the window, run with the "
                "chosen optimizer's current settings (its schedule and its "
                "gradient noise too: every start gets the noise its own "
                "trajectory would get with that seed), all starts as one batch. "
                "“Reached” means: from some step on, it stays within tol (1 % "
                "of the window) of a minimum. Click a pixel to start the "
                "scene's runs there.",
                className="hint",
            ),
        ],
        className="map-side",
    )
    picture = graph(ids.MAP_GRAPH, "Press “Compute map”: every pixel is a start.", "map-graph")
    return card(
        "map",
        controls,
        ids.MAP_MSG,
        html.Div([loading(picture, parent_className="map-graph-box"), side], className="map-row"),
        dcc.Store(id=ids.MAP_META),
    )


# ----------------------------------------------------------------------------- pure parts


def _categories(cmap) -> list[tuple[int, str, str]]:
    """(outcome value, name, colour) for every outcome the map can hold."""
    cats = [(omaps.DIVERGED, "diverged", DIVERGED_COLOUR)]
    cats.append((omaps.NOT_CONVERGED, "not converged", NOT_CONVERGED_COLOUR))
    stationary = getattr(omaps, "STATIONARY", None)  # stopped where ∇f ≈ 0, not at a minimum
    if stationary is not None:
        cats.append((stationary, "stopped elsewhere (∇f ≈ 0)", STATIONARY_COLOUR))
    for i, (mx, my) in enumerate(cmap.minima):
        cats.append((i, f"minimum ({mx:.3g}, {my:.3g})", MINIMA_COLOURS[i % len(MINIMA_COLOURS)]))
    return cats


def _png_uri(rgba: np.ndarray) -> str:
    """An ``(h, w, 4)`` uint8 picture as a PNG data URI."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _paint(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Pixels of a map: ``table[values]`` (RGBA), row i = ys[i] as in the map itself (the
    Image trace puts row i at y0 + i·dy and turns the picture for an upward y axis)."""
    return np.ascontiguousarray(table[values])


def _rgba(colour: str, alpha: int = 255) -> list[int]:
    return [*raster.rgb(colour), alpha]


def map_image(cmap, surface, colour_by: str = "outcome"):
    """``(png data URI, colour bar or None)`` for a map coloured by ``colour_by``.

    The picture is the map itself, one pixel per start (row i = ys[i]): the
    outcome's colour, or the steps / final loss on Viridis (256 shades) with diverged
    starts dark and never-converged ones transparent (the plot's grey shows through).
    The colour bar is ``(title, zmin, zmax)`` for the continuous colourings.
    """
    diverged = cmap.outcome == omaps.DIVERGED
    if colour_by == "outcome":
        cats = _categories(cmap)
        table = np.array([_rgba(c) for _, _, c in cats], dtype=np.uint8)
        lookup = {v: i for i, (v, _, _) in enumerate(cats)}
        codes = np.zeros(cmap.outcome.shape, dtype=np.intp)
        for v, i in lookup.items():
            codes[cmap.outcome == v] = i
        return _png_uri(_paint(codes, table)), None
    if colour_by == "steps":
        v = np.where(cmap.steps_to_converge >= 0, cmap.steps_to_converge, np.nan).astype(float)
        title, zmin, zmax = "steps", 0.0, float(cmap.steps)
    else:
        with np.errstate(all="ignore"):
            v = np.where(diverged, np.nan, cmap.final_loss).astype(float)
        finite = v[np.isfinite(v)]
        zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        title = "final f"
        if finite.size and (surface.log_scale or zmax - zmin > 100 * (abs(zmin) + 1e-12)):
            base = zmin - 1e-12 * max(1.0, abs(zmin))
            with np.errstate(all="ignore"):
                v = np.log10(v - base)
            fv = v[np.isfinite(v)]
            zmin, zmax, title = float(fv.min()), float(fv.max()), "log₁₀(f − min)"
    zmax = zmax if zmax > zmin else zmin + 1
    shades = np.rint(raster.sample_scale("Viridis", np.linspace(0, 1, 256))).astype(np.uint8)
    table = np.concatenate(
        [
            np.column_stack([shades, np.full(256, 255, np.uint8)]),
            np.array([[0, 0, 0, 0], _rgba(DIVERGED_COLOUR)], dtype=np.uint8),
        ]
    )
    with np.errstate(all="ignore"):
        idx = np.clip(np.rint((v - zmin) / (zmax - zmin) * 255), 0, 255)
    codes = np.where(np.isfinite(idx), idx, 256).astype(np.intp)
    codes[diverged] = 257
    return _png_uri(_paint(codes, table)), (title, zmin, zmax)


def map_figure(cmap, surface, window, style: Style, colour_by: str = "outcome", start=None):
    """The map as a picture (one pixel per start) under the contour lines.

    The picture is a PNG in a ``go.Image`` trace (a few kB for the outcome colouring,
    against ~200 kB of z values for a 200×200 heatmap, and drawn as one image); its
    pixel (i, j) is placed at the start (xs[j], ys[i]), so a click reports that start.
    """
    xs, ys = cmap.xs, cmap.ys
    source, bar = map_image(cmap, surface, colour_by)
    dx = float(xs[1] - xs[0])
    dy = float(ys[1] - ys[0])
    traces = [
        go.Image(
            source=source,
            x0=float(xs[0]),
            dx=dx,
            y0=float(ys[0]),
            dy=dy,
            hovertemplate="start (%{x:.4g}, %{y:.4g})<extra>click: start here</extra>",
            name=colour_by,
            meta={"role": "map", "n": int(cmap.n), "colour_by": colour_by},
        )
    ]
    if bar is not None:
        title, zmin, zmax = bar
        traces.append(  # the colour bar alone: Image traces have none
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                hoverinfo="skip",
                name="colour bar",
                marker={
                    "color": [zmin],
                    "cmin": zmin,
                    "cmax": zmax,
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {
                        "title": {"text": title, "side": "right"},
                        "thickness": 12,
                        "len": 0.9,
                    },
                },
            )
        )
    lines = dict(figures.contour_figure(surface, window, style, n=70)["data"][0])
    lines.update(
        customdata=None,
        colorscale=[[0, "rgba(0,0,0,0.38)"], [1, "rgba(0,0,0,0.38)"]],
        hoverinfo="skip",
        hovertemplate=None,
        line={"width": 0.8},
    )
    z = np.array(lines["z"], dtype=float)  # None (not finite) becomes NaN
    if np.isfinite(z).all():  # a compact typed array; gaps stay as JSON nulls
        lines.update(z=z.astype(np.float32))
    traces.append(go.Contour(lines))
    if cmap.minima:
        traces.append(go.Scatter(figures.minima_trace(cmap.minima, 14, "#ffffff", 1.2)))
    sx, sy = start or (None, None)
    traces.append(
        go.Scatter(
            x=[sx],
            y=[sy],
            mode="markers",
            hoverinfo="skip",
            name="start",
            marker={"symbol": "circle-open", "size": 13, "color": "#e4002b", "line": {"width": 3}},
        )
    )
    fig = go.Figure(traces)
    (x0, x1), (y0, y1) = window
    fig.update_layout(
        xaxis={
            "range": [x0, x1],
            "title": {"text": "x", "standoff": 4},
            "showgrid": False,
            "zeroline": False,
        },
        yaxis={
            "range": [y0, y1],
            "scaleanchor": False,  # an Image trace would tie the axes' scales otherwise
            "title": {"text": "y", "standoff": 4},
            "showgrid": False,
            "zeroline": False,
        },
        margin=geometry.MARGIN,
        paper_bgcolor="#ffffff",
        plot_bgcolor=NOT_CONVERGED_COLOUR,
        showlegend=False,
        font=figures.FONT,
        hovermode="closest",
        uirevision="map",
    )
    return fig


def summary(cmap, label: str) -> html.Div:
    """Counts per outcome, with the map's colours."""
    counts = cmap.counts()
    total = cmap.n * cmap.n
    chips = []
    for v, name, colour in _categories(cmap):
        c = counts.get(v, 0)
        if c == 0 and v < 0:
            continue
        chips.append(
            html.Span(
                [
                    html.Span(className="swatch", style={"background": colour}),
                    f"{name}: {c:,} ({100 * c / total:.1f} %)",
                ],
                className="chip",
            )
        )
    return html.Div(
        [
            html.Span(
                f"{label}, {cmap.n}×{cmap.n} starts, {cmap.steps} steps, tol {cmap.tol:.3g}:",
                className="chip muted",
            ),
            *chips,
        ],
        className="map-summary",
    )


# ----------------------------------------------------------------------------- callbacks


MAP_CACHE = 4  # maps kept (each ~1.3 MB at 200×200): a change of colouring redraws at once
_maps: OrderedDict = OrderedDict()
_maps_lock = threading.Lock()


def _map_ident(ps: PanelScene, key: str, n: int, steps: int) -> str:
    """Everything of the scene that a map of ``key`` depends on, as text."""
    parts = {k: ps.data.get(k) for k in ("s", "e", "w", "b", "n", "sd")}
    r = ps.run(key)
    parts.update(
        rule=r.optimizer,
        code=r.code,
        hyper=r.full_hyper(),
        schedule=r.schedule,
        noise=ps.noise(key),
        n=n,
        steps=steps,
    )
    return json.dumps(parts, sort_keys=True, default=repr)


def _cached(ident: str, early: bool):
    """A map computed before for the same scene: the full run serves every colouring."""
    with _maps_lock:
        for k in ((ident, False), (ident, True)) if early else ((ident, False),):
            if k in _maps:
                _maps.move_to_end(k)
                return _maps[k]
    return None


def clear_map_cache() -> None:
    """Forget every kept map (benchmarks time a map computed afresh with it)."""
    with _maps_lock:
        _maps.clear()


def _remember(ident: str, early: bool, cmap) -> None:
    with _maps_lock:
        _maps[(ident, early)] = cmap
        while len(_maps) > MAP_CACHE:
            _maps.popitem(last=False)


def compute_map(state, key, n, steps, colour_by, budget=None):
    """(figure, message, summary, meta): the map for run ``key`` of the page's scene
    (``state``: its store).

    Bad input: a message and ``no_update`` for everything else. The map runs within the
    budget of a "map" request (``optimizers.budget``): past its deadline it stops with a
    message saying what to reduce.
    """
    if budget is None:  # the clock starts now
        budget = Budget.of("map", cancelled=http.client_gone())
    keep = (no_update, no_update, no_update)
    try:
        ps = scene_of(state)
    except ValueError as exc:
        return (no_update, str(exc), *keep[1:])
    surface = ps.surface
    if not isinstance(key, str) or key not in ps.runs:  # the list's value comes back too
        return (no_update, "choose one of the scene's optimizers", *keep[1:])
    try:
        n = validate.whole(n, "grid n", 2, MAX_N)
        steps = scene_steps(steps, ps, MAX_STEPS)
    except ValueError as exc:
        return (no_update, str(exc), *keep[1:])
    if not isinstance(colour_by, str) or colour_by not in dict(COLOUR_BY):
        colour_by = "outcome"
    if is_network(surface) and n * n * steps > NETWORK_BUDGET:
        return (
            no_update,
            f"The network's loss is costly to evaluate: grid n² × steps must be at most "
            f"{NETWORK_BUDGET:,} here (e.g. {int((NETWORK_BUDGET / steps) ** 0.5)}×"
            f"{int((NETWORK_BUDGET / steps) ** 0.5)} for {steps} steps).",
            *keep[1:],
        )
    info = ps.run(key).info()
    window = ps.window
    tol = scene_tol(window)
    try:
        sigma, seed = ps.noise(key)
        early = colour_by != "loss"  # the final loss needs every step
        ident = _map_ident(ps, key, n, steps)
        cmap = _cached(ident, early)
        if cmap is None:
            cmap = quiet(
                omaps.convergence_map,
                info,
                ps.scheduled_hyper(key),
                surface,
                n=n,
                steps=steps,
                tol=tol,
                x_range=window[0],
                y_range=window[1],
                noise=sigma,
                seed=seed,
                stop_early=early,
                budget=budget,
            )
            _remember(ident, early, cmap)
    except ValueError as exc:
        return (no_update, str(exc), *keep[1:])
    budget.finish()  # the page's bar: computed, now drawn
    run = ps.run(key).resolved()
    fig = quiet(map_figure, cmap, surface, window, ps.scene.style, colour_by, ps.scene.start)
    msg = ""  # divergence is an outcome: drawn (dark pixels) and counted in the summary
    meta = {
        "surface": ps.scene.surface_name,
        "ident": _surface_ident(ps),
        "window": [list(w) for w in window],
        "key": key,
        "colour": run.colour,
    }
    return fig, msg, summary(cmap, run.label), meta


def _surface_ident(ps: PanelScene) -> str:
    """The scene's surface (and window) as text: a map is of that surface only."""
    return json.dumps([ps.data.get(k) for k in ("s", "e", "w", "b")], default=repr)


def start_from_pixel(click):
    """The start from a click on the map: the clicked pixel's own start (its centre)."""
    xy = validate.click_point(click)
    if xy is None:
        return no_update, no_update
    x, y = xy
    if not (np.isfinite(x) and np.isfinite(y)):
        return no_update, no_update
    return f"{x:.6g}", f"{y:.6g}"


def follow_start(state, meta):
    """Move the map's start marker to the scene's start (a Patch: the image stays)."""
    try:
        ps = scene_of(state)
    except ValueError:
        return no_update, no_update
    if not isinstance(meta, dict):
        return no_update, no_update
    if meta.get("ident") != _surface_ident(ps):
        return no_update, "The scene changed since this map was computed: press “Compute map”."
    p = Patch()
    p["data"][-1]["x"] = [ps.scene.start[0]]
    p["data"][-1]["y"] = [ps.scene.start[1]]
    return p, ""


def register(app) -> None:
    register_chooser(app, ids.MAP_OPT)
    register_button(
        app,
        "map",
        [
            Output(ids.MAP_GRAPH, "figure"),
            Output(ids.MAP_MSG, "children"),
            Output(ids.MAP_SUMMARY, "children"),
            Output(ids.MAP_META, "data"),
        ],
        ids.MAP_BTN,
        ids.MAP_COLOUR,
        [ids.MAP_OPT, ids.MAP_N, ids.MAP_STEPS],
        compute_map,
    )

    app.callback(
        Output(ids.START_X, "value", allow_duplicate=True),
        Output(ids.START_Y, "value", allow_duplicate=True),
        Input(ids.MAP_GRAPH, "clickData"),
        prevent_initial_call=True,
    )(start_from_pixel)

    app.callback(
        Output(ids.MAP_GRAPH, "figure", allow_duplicate=True),
        Output(ids.MAP_MSG, "children", allow_duplicate=True),
        Input(ids.SCENE_STATE, "data"),
        State(ids.MAP_META, "data"),
        prevent_initial_call=True,
    )(follow_start)
