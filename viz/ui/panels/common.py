"""What the analysis panels share: the page's scene as they read it (``scene_of``), the
card each is laid out in (controls, a message line, graphs), the placeholder figure, the
chooser of one of the scene's optimizers, and the callback that computes a panel when its
button is pressed.
"""

from __future__ import annotations

import functools
import json
import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers.schedules import make_schedule
from surfaces import Surface
from viz import figures
from viz.scene import RunSpec, Scene, geometry, link
from viz.scene.validate import whole
from viz.ui import ids, jobs, progress

TOL_FRACTION = 0.01  # "reached a minimum": within 1 % of the window's larger side
PANEL_CONFIG = {"displaylogo": False, "responsive": True}
NO_SCENE = "No valid scene yet: fix the settings on the left first."
NOT_FOR_NETWORK = (
    "The network scene trains every weight of a network; this panel runs rules on a 2-D "
    "surface: choose another scene (its plane is shown by the views and the strip under them)."
)


# ----------------------------------------------------------------------------- the scene


@dataclass(frozen=True)
class PanelScene:
    """The page's scene and its runs by the page's keys (``rule``, or ``rule@i``)."""

    scene: Scene
    runs: dict[str, RunSpec]
    data: dict  # the store's scene data (what a computed panel depends on)

    @functools.cached_property
    def surface(self) -> Surface:
        """The scene's surface, with its mini-batch size."""
        return self.scene.get_surface()

    @property
    def window(self) -> tuple:
        return self.scene.window()

    def run(self, key) -> RunSpec:
        """The run of ``key``; ``ValueError`` if the scene has none."""
        if key not in self.runs:
            raise ValueError("choose one of the scene's optimizers")
        return self.runs[key]

    def noise(self, key) -> tuple[float, int]:
        """``(σ, seed)`` of the gradient noise of run ``key``."""
        return self.scene.run_noise(self.run(key))

    def schedule(self, key):
        """``lr0 -> schedule`` for run ``key``'s α schedule, or None (constant α)."""
        sched = self.run(key).schedule
        if sched is None:
            return None
        name, params = sched
        return lambda lr0: make_schedule(name, lr0, **params)

    def scheduled_hyper(self, key) -> dict:
        """Run ``key``'s hyperparameters, ``lr`` following its schedule when it has one."""
        h = self.run(key).full_hyper()
        sched = self.schedule(key)
        if sched is not None:
            h["lr"] = sched(float(h["lr"]))
        return h


def scene_of(state) -> PanelScene:
    """The scene the page shows, from its store (it comes back from the browser, so it is
    read through the codec and checked again); ``ValueError`` with a message if unusable."""
    if not isinstance(state, dict) or not isinstance(state.get("scene"), dict):
        raise ValueError(NO_SCENE)
    try:
        scene = link.scene_from_dict(state["scene"])
    except ValueError as exc:
        raise ValueError(f"The scene is not valid ({exc}); change any setting.") from None
    if scene.network is not None:
        raise ValueError(NOT_FOR_NETWORK)
    return PanelScene(scene, link.preset_keys(scene), state["scene"])


def race_ident(data) -> str | None:
    """What a panel's result is of, from a scene's store data (``scene_to_dict``): the
    surface, its window, the start, the steps, the noise and the runs' rules, not their
    values (a replay at tuned ones is the same race); None for no scene."""
    if not isinstance(data, dict):
        return None
    runs = [
        [r.get(k) for k in ("o", "u", "sc", "n", "sd")]
        for r in data.get("r", ())
        if isinstance(r, dict)
    ]
    fields = [data.get(k) for k in ("s", "e", "w", "b", "x", "st", "n", "sd")]
    return json.dumps([fields, runs], default=repr)


def stale_message(what: str, button: str) -> str:
    return f"The scene changed since {what} was computed: press “{button}”."


def register_stale(app, msg, result, what: str, button: str, race=None, disable=None) -> None:
    """Say in ``msg`` when the page's scene is no longer the race of the result in store
    ``result`` (``race(data)``: its ``race_ident``; by default the data's "race"), and
    clear that once it is again; ``disable``: a button that acts on the result."""
    race = race or (lambda data: data.get("race") if isinstance(data, dict) else None)
    note = stale_message(what, button)
    outputs = [Output(msg, "children", allow_duplicate=True)]
    if disable is not None:
        outputs.append(Output(disable, "disabled", allow_duplicate=True))

    @app.callback(
        *outputs,
        Input(ids.SCENE_STATE, "data"),
        State(result, "data"),
        State(msg, "children"),
        prevent_initial_call=True,
    )
    def _watch(state, data, shown):
        said = stale_note(state, race(data), shown, note)
        if said is None:
            raise PreventUpdate
        return (said, bool(said)) if disable is not None else said


def register_not_for_network(app, panels) -> None:
    """In the network scene, say at once in each panel's message line that it is for a
    2-D surface and disable its button (they used to refuse only once pressed); undo both
    on leaving. ``panels``: (message id, button id) pairs, served by one callback."""

    @app.callback(
        [Output(msg, "children", allow_duplicate=True) for msg, _ in panels],
        [Output(button, "disabled", allow_duplicate=True) for _, button in panels],
        Input(ids.SCENE_STATE, "data"),
        [State(msg, "children") for msg, _ in panels],
        prevent_initial_call="initial_duplicate",
    )
    def _network(state, *shown):
        said = [network_note(state, s) for s in shown]
        if all(n is None for n in said):
            raise PreventUpdate
        return [no_update if n is None else n for n in said] + [
            no_update if n is None else bool(n) for n in said
        ]  # Dash flattens the two lists of outputs (and of states) into one


def network_note(state, shown) -> str | None:
    """``NOT_FOR_NETWORK`` in the network scene (``state``), "" to clear it after (``shown``:
    the message line), None: nothing to change."""
    scene = state.get("scene") if isinstance(state, dict) else None
    if isinstance(scene, dict) and scene.get("s") == link.NETWORK:
        return NOT_FOR_NETWORK if shown != NOT_FOR_NETWORK else None
    return "" if shown == NOT_FOR_NETWORK else None


def stale_note(state, of: str | None, shown, note: str) -> str | None:
    """``note`` when the page's scene (``state``) is not the race ``of`` a result; "" to
    clear ``note`` once it is again (``shown``: the message line); None: nothing to say."""
    if of is None:
        return None
    scene = state.get("scene") if isinstance(state, dict) else None
    if race_ident(scene) != of:
        return note
    return "" if shown == note else None


def is_network(surface) -> bool:
    """Whether ``surface`` is a classifier's loss (the Network panel's subject)."""
    return hasattr(surface, "decision_boundary")


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with numpy's floating-point warnings off (divergence is an outcome)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------- layout


def field(label, control, msg_id=None, hint=""):
    return html.Div(
        [
            html.Label(label, htmlFor=control.id, className="inline-label"),
            control,
            html.Div(id=msg_id, className="msg", role="status") if msg_id else None,
        ],
        className="panel-field",
        title=hint,
    )


def empty_figure(text: str) -> go.Figure:
    """A blank plot that says ``text`` in its middle (what a panel shows before it runs),
    broken into short lines so that it fits a phone's width."""
    text = "<br>".join(textwrap.wrap(text, 48))
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


def text_box(id_, value="", placeholder="", cls="num-input", mode=None) -> dcc.Input:
    """A sidebar text box, read on Enter or when left (numbers, lists, formulas)."""
    extra = {"inputMode": mode} if mode else {}
    return dcc.Input(
        id=id_,
        type="text",
        value=value,
        debounce=True,
        placeholder=placeholder,
        className=cls,
        spellCheck=False,
        autoComplete="off",
        **extra,
    )


def steps_field(id_, high: int) -> html.Div:
    """The steps box of a panel: empty means the scene's own steps (``scene_steps``)."""
    return field("steps", num_input(id_), hint=f"1 to {high:,}; empty: the scene's steps")


def radio_field(label: str, id_, options, value: str, cls: str = "") -> html.Div:
    """A row of radio buttons: ``options`` are (value, text) pairs."""
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
    """A panel: its row of controls, its message line, its progress bar if it computes
    (``progress.BARS``), then its graphs."""
    bar = [progress.bar(progress.BARS[name])] if name in progress.BARS else []
    return html.Div(
        [html.Div(controls, className="panel-controls"), message(msg_id), *bar, *body],
        className=f"panel {name}-panel",
    )


def scene_steps(value, ps: PanelScene, high: int) -> int:
    """The steps box: a whole number in [1, high]; empty means the scene's own steps."""
    text = value if str(value or "").strip() else ps.scene.steps
    return whole(text, "steps", 1, high)


def scene_tol(window) -> float:
    """The distance that counts as "at a minimum": a fraction of the window's larger side."""
    (x0, x1), (y0, y1) = window
    return TOL_FRACTION * max(x1 - x0, y1 - y0)


# ----------------------------------------------------------------------------- callbacks


def choices(state, why_not=None):
    """The optimizer dropdown: the scene's runs, by their labels; keeps nothing stale.
    ``why_not(run)``: None where the panel can use the run, else why not (the option is
    shown greyed with it); the first usable run is the default."""
    try:
        ps = scene_of(state)
    except ValueError:
        return [], None
    opts = []
    for k, r in ps.runs.items():
        reason = why_not(r) if why_not is not None else None
        label = r.resolved().label
        opt = {"label": f"{label} ({reason})" if reason else label, "value": k}
        opts.append({**opt, "disabled": True} if reason else opt)
    usable = [o["value"] for o in opts if not o.get("disabled")]
    return opts, (usable[0] if usable else None)


def keep_choice(state, current, why_not=None):
    opts, first = choices(state, why_not)
    value = current if current in [o["value"] for o in opts if not o.get("disabled")] else first
    return opts, value


def register_options(app, control_id, options_of) -> None:
    """Keep a control's options and value in step with the scene: ``options_of(state,
    current) -> (options, value)``; nothing is sent when neither changed."""

    @app.callback(
        Output(control_id, "options"),
        Output(control_id, "value"),
        Input(ids.SCENE_STATE, "data"),
        State(control_id, "value"),
        State(control_id, "options"),
    )
    def _options(state, current, shown):
        opts, value = options_of(state, current)
        if opts == shown and value == current:
            raise PreventUpdate  # a hyperparameter change: the page has nothing to redo
        return opts, value


def register_chooser(app, dropdown_id, why_not=None) -> None:
    """Keep a dropdown of the scene's optimizers in step with the scene (``why_not``: see
    :func:`choices`)."""
    register_options(app, dropdown_id, lambda state, current: keep_choice(state, current, why_not))


def register_button(app, panel, outputs: list, button, choice, controls: list, compute) -> None:
    """``compute(state, *controls, choice, budget=…)`` when ``button`` is pressed or
    ``choice`` (a colouring or metric) changes after a first press, under the budget of
    ``panel``'s request with its progress bar. ``outputs`` start with the figure and the
    message."""
    nothing = (no_update,) * len(outputs)

    @app.callback(
        *outputs,
        Input(button, "n_clicks"),
        Input(choice, "value"),
        State(ids.SCENE_STATE, "data"),
        *(State(c, "value") for c in controls),
        State(ids.EXPORT_PAGE, "data"),
        prevent_initial_call=True,
        **jobs.analysis_callback_kwargs(),  # with Redis: a job on the workers (issue 19)
    )
    def _on_button(n_clicks, chosen, state, *values):
        if not n_clicks:
            return nothing
        *values, page = values
        with progress.request_budget(panel, page) as budget:
            return compute(state, *values, chosen, budget=budget)
