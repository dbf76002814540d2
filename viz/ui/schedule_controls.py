"""Per-optimizer learning-rate schedule and gradient noise controls (issue 5, item 3).

The controls are generated from ``optimizers.schedules.SCHEDULE_SPECS`` (one dropdown, one
text box per parameter of the chosen schedule) and sit in each optimizer's card. A small
plot shows α_t against the step t for the card's α₀ and the run's step count. The values
flow into ``viz.ui.callbacks.compute`` like the hyperparameters do (pattern-matching ids) and
are checked there by ``viz.scene.validate.schedule``/``noise``/``seed``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers.schedules import SCHEDULE_SPECS, make_schedule
from viz.scene import validate
from viz.ui import ids

PLOT_POINTS = 200  # α_t drawn at most at this many steps
SHOWN = {"display": "block", "height": "96px", "width": "100%"}
HIDDEN = {"display": "none"}
PLOT_CONFIG = {"staticPlot": True, "displayModeBar": False, "responsive": True}


def fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def param_inputs(opt: str, name: str, values: dict | None = None) -> list:
    """One labelled text box per parameter of schedule ``name`` (from its spec)."""
    spec = SCHEDULE_SPECS.get(name) or SCHEDULE_SPECS["constant"]
    values = values or {}
    return [
        html.Label(
            [
                html.Span(p.name, className="sched-pname"),
                dcc.Input(
                    id=ids.sched_param(opt, p.name),
                    type="text",
                    value=fmt(values.get(p.name, p.default)),
                    debounce=True,
                    inputMode="decimal",
                    className="num-input small",
                    spellCheck=False,
                ),
            ],
            className="sched-param",
            title=p.help,
        )
        for p in spec.params
    ]


def controls(opt: str, schedule: dict | None = None, noise: dict | None = None) -> html.Div:
    """The card's schedule chooser, its parameters, the α_t plot, and noise σ with a seed."""
    schedule = schedule or {}
    noise = noise or {}
    name = schedule.get("name") or "constant"
    if name not in SCHEDULE_SPECS:
        name = "constant"
    return html.Div(
        [
            html.Div(
                [
                    html.Span("α schedule", className="sched-label"),
                    dcc.Dropdown(
                        id=ids.sched(opt),
                        options=[{"label": s.label, "value": n} for n, s in SCHEDULE_SPECS.items()],
                        value=name,
                        clearable=False,
                        searchable=False,
                        className="sched-dd",
                    ),
                ],
                className="sched-row",
            ),
            html.Div(
                param_inputs(opt, name, schedule.get("params")),
                id=ids.sched_params(opt),
                className="sched-params",
            ),
            dcc.Graph(
                id=ids.sched_plot(opt),
                config=PLOT_CONFIG,
                className="sched-plot",
                style=SHOWN if name != "constant" else HIDDEN,
            ),
            html.Div(
                id=ids.sched_msg(opt),
                className="msg sched-msg",
                role="status",
                **{"aria-live": "polite"},
            ),
            html.Div(
                [
                    _small_box(
                        "noise σ",
                        ids.noise(opt),
                        noise.get("sigma", 0),
                        "decimal",
                        "σ of the Gaussian noise added to each gradient coordinate",
                    ),
                    _small_box(
                        "seed",
                        ids.noise_seed(opt),
                        noise.get("seed", 0),
                        "numeric",
                        "the noise's random seed (same seed, same noise)",
                    ),
                ],
                className="sched-params noise-row",
            ),
            html.Div(
                id=ids.noise_msg(opt),
                className="msg noise-msg",
                role="status",
                **{"aria-live": "polite"},
            ),
        ],
        className="sched-box",
    )


def lr_values(name: str, lr: float, params: dict, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps t and α_t (at most ``PLOT_POINTS`` of them, the last step included)."""
    sched = make_schedule(name, lr, **params)
    t = np.unique(np.linspace(0, max(steps - 1, 0), min(steps, PLOT_POINTS)).round().astype(int))
    return t, np.array([float(sched(int(k))) for k in t])


def lr_figure(t, alpha, colour: str = "#1f77b4") -> go.Figure:
    fig = go.Figure(
        go.Scatter(x=t, y=alpha, mode="lines", line={"color": colour, "width": 2}, name="αₜ")
    )
    fig.update_layout(
        height=96,
        autosize=True,
        margin={"l": 44, "r": 6, "t": 4, "b": 22},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#fafafa",
        showlegend=False,
        font={"size": 9},
        xaxis={"title": None, "nticks": 5},
        yaxis={"title": {"text": "αₜ"}, "nticks": 4, "exponentformat": "e"},
    )
    return fig


def schedule_plot(name, param_values, lr, steps, opt: str):
    """The α_t plot and its message for one card (plain function; wired with MATCH)."""
    if name in (None, "constant"):
        return {}, HIDDEN, ""
    try:
        a0 = validate.hyper(opt, "lr", lr)
        n_steps = validate.steps(steps)
        sname, params = validate.schedule(opt, name, param_values, a0)
    except (ValueError, KeyError) as exc:
        return {}, HIDDEN, str(exc)
    t, alpha = lr_values(sname, a0, params, n_steps)
    colour = validate.OPTIMIZERS[validate.rule_of(opt)].colour
    return lr_figure(t, alpha, colour), SHOWN, ""


def register(app) -> None:
    @app.callback(
        Output(ids.sched_params(MATCH), "children"),
        Input(ids.sched(MATCH), "value"),
        prevent_initial_call=True,
    )
    def _params(name):
        if name is not None and not isinstance(name, str):
            return no_update  # not a schedule's name: compute says so by the chooser
        return param_inputs(ctx.triggered_id["opt"], name)

    @app.callback(
        Output(ids.sched_plot(MATCH), "figure"),
        Output(ids.sched_plot(MATCH), "style"),
        Output(ids.sched_msg(MATCH), "children", allow_duplicate=True),
        Input(ids.sched(MATCH), "value"),
        Input({"type": ids.SCHED_PARAM, "opt": MATCH, "name": ALL}, "value"),
        Input(ids.STEPS, "value"),
        # α: the recompute redraws the plot when α changes (viz.ui.callbacks: a request of
        # its own per change held the page while the recompute's answer was awaited)
        State(ids.hyper(MATCH, "lr"), "value"),
        prevent_initial_call="initial_duplicate",
    )
    def _plot(name, values, steps, lr):
        if name in (None, "constant") and not _chooser_triggered():
            # a constant α has no plot, hidden since the chooser said so: a steps change
            # leaves the card as it is (and the page does not re-plot a hidden graph)
            raise PreventUpdate
        opt = ctx.outputs_list[0]["id"]["opt"]
        params = {i["id"]["name"]: v for i, v in zip(ctx.inputs_list[1], values, strict=False)}
        return schedule_plot(name, params, lr, steps, opt)


def _chooser_triggered() -> bool:
    """Whether the schedule's own chooser (not steps or a parameter) fired the callback;
    also on the page's first call, which has no trigger."""
    trig = ctx.triggered_id
    return trig is None or (isinstance(trig, dict) and trig.get("type") == ids.SCHED)


def _small_box(name: str, id_, value, input_mode: str, title: str) -> html.Label:
    """A labelled small text box of the noise row."""
    box = dcc.Input(
        id=id_,
        type="text",
        value=fmt(value),
        debounce=True,
        inputMode=input_mode,
        className="num-input small",
        spellCheck=False,
    )
    return html.Label(
        [html.Span(name, className="sched-pname"), box], className="sched-param", title=title
    )
