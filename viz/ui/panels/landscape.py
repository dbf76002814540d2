"""Network landscape panel: your MLP trained in full dimension by several rules, drawn in
one plane (``viz.scene.landscape``; Li et al. 2018).

Its own controls (data set, widths, activation, optimizers, steps, batch, plane, grid,
seed) and a Compute button; contour and 3-D of the plane's loss with the projected paths,
a step slider with Play (a clientside restyle of the paths' traces only), the loss and
accuracy per step, the projection check (true loss vs the landscape's loss at the
projection, distance from the plane), each rule's decision boundary at the current step,
a results table, and its share link (``#net1=...``), which reopens the same picture.

Server callbacks: Compute (or a link opened) computes under the scene's budget; the
slider's step redraws the boundaries from the result the server keeps
(``landscape.cached``: the computation is deterministic, so any worker recomputes the
same one).
"""

from __future__ import annotations

import json

from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers import OPTIMIZERS
from viz.figures import landscape as F
from viz.gif.export import render_gif_bytes
from viz.scene import landscape as L
from viz.ui import ids
from viz.ui.panels.common import card, field, graph, loading, num_input, quiet

# ids (this panel owns them)
DATA, WIDTHS, ACT, OPTS, STEPS, BATCH, PLANE, GRID, SEED = (
    f"land-{k}"
    for k in ("data", "widths", "act", "opts", "steps", "batch", "plane", "grid", "seed")
)
GO, MSG, EV, LINK = "land-go", "land-msg", "land-ev", "land-link"
GIF, GIF_DOWNLOAD = "land-gif", "land-gif-download"
GIF_FRAMES = 60  # both views, 1600×600: about a second to render, a few hundred KiB
CONTOUR, SURFACE, LOSS, CHECK, BOUNDARY, TABLE = (
    "land-contour",
    "land-3d",
    "land-loss",
    "land-check",
    "land-boundary",
    "land-table",
)
STEP, PLAY, TICK, PATHS, SPEC = "land-step", "land-play", "land-tick", "land-paths", "land-spec"
REF = "land-ref"
FIELDS = (DATA, WIDTHS, ACT, OPTS, STEPS, BATCH, PLANE, GRID, SEED, REF)
TAB = "landscape"
PROMPT = "Choose a network and optimizers, then press Compute."
DEFAULT_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def _dropdown(id_, options, value, multi=False):
    return dcc.Dropdown(
        id=id_,
        options=options,
        value=value,
        clearable=False,
        multi=multi,
        className="land-dd" + (" land-multi" if multi else ""),
    )


def layout() -> html.Div:
    d = L.LandscapeSpec()
    rules = [
        {"label": info.label, "value": name}
        for name, info in OPTIMIZERS.items()
        if not info.second_order
    ]
    controls = [
        field("data", _dropdown(DATA, [{"label": n, "value": n} for n in L.DATASETS], d.data)),
        field(
            "widths",
            num_input(WIDTHS, "2,16,16,1", width="wide", debounce=True),
            hint="layer widths: 2 inputs, up to 4 hidden layers of at most 64, 1 output",
        ),
        field("activation", _dropdown(ACT, list(L.ACTIVATION_CHOICES), d.activation)),
        field("optimizers", _dropdown(OPTS, rules, list(DEFAULT_RULES), multi=True)),
        field("steps", num_input(STEPS, str(d.steps), debounce=True)),
        field(
            "batch",
            num_input(BATCH, "", debounce=True, placeholder="full"),
            hint="mini-batch size; empty: the full data set",
        ),
        field(
            "plane",
            _dropdown(
                PLANE,
                [
                    {"label": "PCA of the paths", "value": "pca"},
                    {"label": "random (filter-normalised)", "value": "random"},
                ],
                d.plane,
            ),
        ),
        field("grid", num_input(GRID, str(d.grid), debounce=True)),
        field("seed", num_input(SEED, str(d.seed), debounce=True)),
        field(
            "through",
            _dropdown(REF, [{"label": "first rule's end", "value": ""}, *rules], ""),
            hint="θ_ref: the final network of this rule (it must be among the optimizers)",
        ),
        html.Button("Compute", id=GO, n_clicks=0, className="panel-btn"),
    ]
    views = html.Div(
        [
            loading(graph(CONTOUR, PROMPT, "land-contour")),
            graph(SURFACE, "", "land-3d"),
        ],
        className="land-views",
        style={"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(320px, 1fr))"},
    )
    player = html.Div(
        [
            html.Button("Play", id=PLAY, n_clicks=0, className="panel-btn"),
            html.Div(
                dcc.Slider(
                    id=STEP,
                    min=0,
                    max=d.steps,
                    step=1,
                    value=d.steps,
                    marks=None,
                    tooltip={"placement": "bottom"},
                ),
                style={"flex": "1"},
            ),
            dcc.Interval(id=TICK, interval=120, disabled=True),
        ],
        style={"display": "flex", "alignItems": "center", "gap": "8px"},
    )
    charts = html.Div(
        [graph(LOSS, "", "land-loss"), graph(CHECK, "", "land-check")],
        style={"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(320px, 1fr))"},
    )
    share = html.Div(
        [
            html.Button("Download GIF", id=GIF, n_clicks=0, className="panel-btn"),
            dcc.Download(id=GIF_DOWNLOAD),
            html.Label("share link", htmlFor=LINK, className="inline-label"),
            dcc.Input(
                id=LINK,
                type="text",
                readOnly=True,
                value="",
                className="land-link",
                style={"width": "100%"},
            ),
        ],
        className="panel-field",
    )
    body = [
        html.Div(id=EV, className="land-ev"),
        views,
        player,
        charts,
        graph(BOUNDARY, "", "land-boundary"),
        html.Div(id=TABLE, className="land-table"),
        share,
        dcc.Store(id=PATHS),
        dcc.Store(id=SPEC),
    ]
    return card("landscape", controls, MSG, *body)


# ----------------------------------------------------------------------------- pure parts


def spec_of_fields(
    data, widths, act, opts, steps, batch, plane, grid, seed, ref=""
) -> L.LandscapeSpec:
    """The spec the fields ask for; ``ValueError`` naming the first problem."""
    if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
        raise ValueError("choose at least one optimizer")
    batch_text = str(batch or "").strip()
    spec = L.LandscapeSpec(
        data=data,
        widths=L.parse_widths(str(widths or "")),
        activation=act,
        rules=tuple(L.Rule(o) for o in opts),
        steps=steps,
        batch_size=batch_text or None,
        plane=plane,
        grid=grid,
        seed=seed,
        ref=ref if isinstance(ref, str) else "",
    )
    return L.check(spec)


def fields_of_spec(spec: L.LandscapeSpec) -> list:
    return [
        spec.data,
        ",".join(map(str, spec.widths)),
        spec.activation,
        [r.optimizer for r in spec.rules],
        str(spec.steps),
        "" if spec.batch_size is None else str(spec.batch_size),
        spec.plane,
        str(spec.grid),
        str(spec.seed),
        spec.ref,
    ]


def paths_data(res: L.Result) -> dict:
    """What the clientside animation needs: each rule's (a, b, loss in the plane)."""
    return {
        "steps": res.spec.steps,
        "first": F.TRACES_BEFORE,
        "runs": [
            {
                "a": F._list(res.coords[i, :, 0]),
                "b": F._list(res.coords[i, :, 1]),
                "z": F._list(res.plane_loss[i]),
            }
            for i in range(len(res.spec.rules))
        ],
    }


def _fmt(v, pct=False):
    if v is None:
        return "–"
    return f"{v:.1%}" if pct else (f"{v:.4g}" if isinstance(v, float) else str(v))


def table(res: L.Result) -> html.Table:
    rows = F.table_rows(res)
    head = [
        "optimizer",
        "final loss",
        "loss in plane",
        "distance from plane",
        "accuracy",
        "lowest loss at step",
        "diverged at",
    ]
    body = [
        html.Tr(
            [
                html.Td(r["optimizer"], style={"color": r["colour"], "fontWeight": 600}),
                *(html.Td(_fmt(r[h], pct=h == "accuracy")) for h in head[1:]),
            ]
        )
        for r in rows
    ]
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="results-table",
    )


def explained(res: L.Result) -> str:
    w = res.model.size
    if res.plane.explained is None:
        return (
            f"{w:,} weights; random directions, filter-normalised to {res.ref_rule}'s "
            f"final network; computed in {res.seconds:.2f} s"
        )
    e1, e2 = res.plane.explained
    return (
        f"{w:,} weights; PCA plane through {res.ref_rule}'s final network: PC1 explains "
        f"{e1:.1%}, PC2 {e2:.1%} of the paths' variance; computed in {res.seconds:.2f} s"
    )


def picture(spec: L.LandscapeSpec, href) -> tuple:
    """Every output of a computed spec (see ``register``)."""
    res = quiet(L.cached, spec)
    k = spec.steps
    base = href if isinstance(href, str) else ""
    return (
        json.loads(json.dumps(L.spec_to_dict(spec))),
        "",
        explained(res),
        F.contour_figure(res),
        F.surface_figure(res),
        F.loss_figure(res),
        F.check_figure(res),
        F.boundary_figure(res, k),
        table(res),
        paths_data(res),
        k,
        k,
        L.to_link(spec, base),
    )


def gif(n_clicks, spec_data):
    """The picture shown as a GIF (contour and 3-D side by side), for dcc.Download."""
    if not n_clicks or not isinstance(spec_data, dict):
        raise PreventUpdate
    try:
        spec = L.spec_from_dict(spec_data)
    except ValueError:
        raise PreventUpdate from None
    try:  # the same spec the page shows: it computed once, so only a deadline can fail
        res = quiet(L.cached, spec)
        data = render_gif_bytes(
            res.scene("both"),
            frames=min(GIF_FRAMES, spec.steps + 1),
            trajectories=list(res.coords),
        )
    except ValueError:
        raise PreventUpdate from None
    name = f"network-{'-'.join(map(str, spec.widths))}-{spec.data}.gif"
    return dcc.send_bytes(data, name)


def boundary(step, spec_data):
    """The boundaries at ``step`` of the spec shown (the server keeps its result)."""
    if not isinstance(spec_data, dict):
        raise PreventUpdate
    try:
        spec = L.spec_from_dict(spec_data)
    except ValueError:
        raise PreventUpdate from None
    if not isinstance(step, int | float) or not 0 <= step <= spec.steps:
        raise PreventUpdate
    try:
        return F.boundary_figure(quiet(L.cached, spec), int(step))
    except ValueError:  # another worker recomputing past its deadline: keep the figure
        raise PreventUpdate from None


# ----------------------------------------------------------------------------- callbacks


def register(app) -> None:
    outputs = [
        Output(SPEC, "data"),
        Output(MSG, "children"),
        Output(EV, "children"),
        Output(CONTOUR, "figure"),
        Output(SURFACE, "figure"),
        Output(LOSS, "figure"),
        Output(CHECK, "figure"),
        Output(BOUNDARY, "figure", allow_duplicate=True),
        Output(TABLE, "children"),
        Output(PATHS, "data"),
        Output(STEP, "max"),
        Output(STEP, "value"),
        Output(LINK, "value"),
    ]
    field_outputs = [Output(f, "value") for f in FIELDS]
    nothing = [no_update] * (len(outputs) + len(field_outputs) + 1)

    @app.callback(
        *outputs,
        *field_outputs,
        Output(ids.PANEL_TABS, "value", allow_duplicate=True),
        Input(GO, "n_clicks"),
        Input(ids.URL, "hash"),
        *(State(f, "value") for f in FIELDS),
        State(ids.URL, "href"),
        State(SPEC, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def _compute(n_clicks, hash_, *rest):
        values, href, shown = rest[:-2], rest[-2], rest[-1]
        # A link on the page's first load (no trigger then) or pasted later; else the button.
        from_link = ctx.triggered_id != GO and L.LINK_PREFIX in str(hash_ or "")
        try:
            if from_link:
                spec = L.from_link(hash_ or "")
                if spec is None:
                    raise PreventUpdate
                if isinstance(shown, dict) and shown == L.spec_to_dict(spec):
                    raise PreventUpdate  # the picture the page already shows
            elif ctx.triggered_id != GO or not n_clicks:
                raise PreventUpdate
            else:
                spec = spec_of_fields(*values)
            out = list(picture(spec, href))
        except ValueError as exc:
            msg = str(exc).split("\n")[0]
            if from_link:  # shown on its tab; the page's own scene is kept
                msg = f"This network link could not be read ({msg})."
                return [no_update, msg, *nothing[2:-1], TAB]
            return [no_update, msg, *nothing[2:]]
        fields = fields_of_spec(spec) if from_link else [no_update] * len(FIELDS)
        return [*out, *fields, TAB if from_link else no_update]

    app.callback(
        Output(GIF_DOWNLOAD, "data"),
        Input(GIF, "n_clicks"),
        State(SPEC, "data"),
        prevent_initial_call=True,
    )(gif)

    app.callback(
        Output(BOUNDARY, "figure"),
        Input(STEP, "value"),
        State(SPEC, "data"),
        prevent_initial_call=True,
    )(boundary)

    # The animation: the step moves only the paths' traces (trail and dot per rule).
    app.clientside_callback(
        """
        function (k, paths) {
          if (!paths || !paths.runs || k === null || k === undefined) {
            return window.dash_clientside.no_update;
          }
          function gd(id) {
            var el = document.getElementById(id);
            return el ? (el.classList.contains("js-plotly-plot") ? el
                         : el.querySelector(".js-plotly-plot")) : null;
          }
          var c = gd("land-contour"), s = gd("land-3d");
          var xs = [], ys = [], zs = [], idx = [];
          paths.runs.forEach(function (r, i) {
            xs.push(r.a.slice(0, k + 1), r.a.slice(k, k + 1));
            ys.push(r.b.slice(0, k + 1), r.b.slice(k, k + 1));
            zs.push(r.z.slice(0, k + 1), r.z.slice(k, k + 1));
            idx.push(paths.first + 2 * i, paths.first + 2 * i + 1);
          });
          if (c && c.data && c.data.length >= paths.first + idx.length) {
            window.Plotly.restyle(c, {x: xs, y: ys}, idx);
          }
          if (s && s.data && s.data.length >= paths.first + idx.length) {
            window.Plotly.restyle(s, {x: xs, y: ys, z: zs}, idx);
          }
          return k;
        }
        """,
        Output(PLAY, "title"),
        Input(STEP, "value"),
        State(PATHS, "data"),
        prevent_initial_call=True,
    )

    # Play / pause: the interval ticks the slider forward until the last step.
    app.clientside_callback(
        """
        function (n, disabled, k, max) {
          var play = disabled;
          var from = (play && k >= max) ? 0 : k;
          return [!play, play ? "Pause" : "Play", from];
        }
        """,
        Output(TICK, "disabled"),
        Output(PLAY, "children"),
        Output(STEP, "value", allow_duplicate=True),
        Input(PLAY, "n_clicks"),
        State(TICK, "disabled"),
        State(STEP, "value"),
        State(STEP, "max"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        """
        function (n, k, max) {
          var stride = Math.max(1, Math.round(max / 60));
          var next = Math.min(max, (k || 0) + stride);
          return [next, next >= max, next >= max ? "Play" : "Pause"];
        }
        """,
        Output(STEP, "value", allow_duplicate=True),
        Output(TICK, "disabled", allow_duplicate=True),
        Output(PLAY, "children", allow_duplicate=True),
        Input(TICK, "n_intervals"),
        State(STEP, "value"),
        State(STEP, "max"),
        prevent_initial_call=True,
    )
