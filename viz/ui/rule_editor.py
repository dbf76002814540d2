"""The optimizer picker's "Write your own…": an editor for update rules typed in the
notes' notation (``optimizers.from_rule``), its ids, layout and callbacks.

Picking "Write your own…" opens the editor: a name, a text area, "Draw it". A text that
is refused leaves the page as it was and says what and where under the editor. A text
that is accepted goes into the page's list of typed rules (``OWN_RULES``, replacing one
of the same name), and every rule in the list races next to the chosen built-in ones
while "Write your own…" stays picked, with a colour of its own, its name in the legend
and the results table, its formula on its card, in the share link and in the exports
(the scene carries the text: ``RunSpec.code``).
"""

from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers.typed import pick_colour
from viz.scene import RunSpec, validate
from viz.ui import ids

OWN = "own:"  # the picker's value for "Write your own…"
OWN_RULES = "own-rules"  # store: [{"n": name, "u": text, "h": {hyperparameter: value}}]
RULE_BOX = "rule-box"
RULE_NAME = "rule-name"
RULE_TEXT = "rule-text"
RULE_DRAW = "rule-draw"
RULE_REMOVE = "rule-remove"
RULE_MSG = "rule-msg"
RULE_CARDS = "rule-cards"
MAX_OWN = 4  # typed rules on one page

EXAMPLE = "mu = 0.9\nv = mu * v - lr * g\nW = W + v"
HELP = (
    "W the point, g the gradient at W, grad(…) the gradient elsewhere, H the Hessian, "
    "t the step (1, 2, …), lr the learning rate α; a name first set to a number is a "
    "hyperparameter, a name read before it is set is state that starts at 0. Functions: "
    "sqrt abs sign exp log tanh min max clip norm dot solve(H, g); A @ v multiplies."
)


def option() -> dict:
    return {"label": "Write your own…", "value": OWN, "search": "write your own rule"}


def box() -> html.Div:
    """The editor, hidden until "Write your own…" is picked; the list of typed rules."""
    return html.Div(
        [
            html.Div("Your own rule", className="rule-head"),
            html.Div(
                [
                    html.Label("name", htmlFor=RULE_NAME, className="inline-label"),
                    dcc.Input(
                        id=RULE_NAME,
                        type="text",
                        value="my_rule",
                        maxLength=32,
                        className="num-input rule-name",
                        spellCheck=False,
                        autoComplete="off",
                    ),
                ],
                className="field",
            ),
            dcc.Textarea(
                id=RULE_TEXT,
                value=EXAMPLE,
                rows=5,
                maxLength=4096,
                spellCheck=False,
                className="rule-text",
                style={"width": "100%", "fontFamily": "monospace"},
            ),
            html.Div(
                [
                    html.Button("Draw it", id=RULE_DRAW, n_clicks=0, className="panel-btn"),
                    html.Button("Remove", id=RULE_REMOVE, n_clicks=0, className="quiet-btn"),
                ],
                className="field rule-buttons",
            ),
            html.Div(id=RULE_MSG, className="msg rule-msg", role="status"),
            html.P(HELP, className="hint"),
            html.Div(id=RULE_CARDS, className="rule-cards"),
            dcc.Store(id=OWN_RULES, data=[]),
        ],
        id=RULE_BOX,
        className="rule-box",
        style={"display": "none"},
    )


# ----------------------------------------------------------------------------- plain functions


def entries(store) -> list[dict]:
    """The store's entries of the right shape (a tampered one: the rest is dropped)."""
    if not isinstance(store, list):
        return []
    return [
        e
        for e in store[:MAX_OWN]
        if isinstance(e, dict) and isinstance(e.get("n"), str) and isinstance(e.get("u"), str)
    ]


def spec_of(entry: dict, taken=()) -> RunSpec:
    """A typed rule's run, each part checked as a share link's is (``ValueError``); its
    colour its own, clear of the notes' rules' and of ``taken`` (``pick_colour``)."""
    name, text = entry["n"], entry["u"]
    info = validate.typed_rule(name, text)
    hyper = {
        k: validate.typed_hyper(info, k, v) for k, v in validate.mapping(entry.get("h")).items()
    }
    return RunSpec(name, hyper, info.label, pick_colour(name, taken), code=text)


def split(selected, store) -> tuple[list, list[RunSpec]]:
    """``(the picked built-in keys, the typed rules' runs)``; typed ones only while "Write
    your own…" is picked. ``ValueError`` (with the rule's name) for a bad typed rule."""
    if isinstance(selected, str):
        selected = [selected]
    if not isinstance(selected, list):
        return selected, []
    keys = [k for k in selected if k != OWN]
    if OWN not in selected:
        return keys, []
    specs: list[RunSpec] = []
    for e in entries(store):  # colours by the typed rules alone: the cards show the same
        try:
            specs.append(spec_of(e, [s.colour for s in specs]))
        except ValueError as exc:
            raise ValueError(f"your rule {e['n'][:40]!r}: {exc}") from None
    return keys, specs


def key(spec: RunSpec) -> str:
    """A typed run's key in the page's runs (legend, results, panels)."""
    return f"{OWN}{spec.optimizer}"


def store_of(scene) -> list[dict]:
    """The typed rules of a scene (a share link's) as the store holds them."""
    return [{"n": r.optimizer, "u": r.code, "h": dict(r.hyper)} for r in scene.runs if r.code]


def edit(action: str, name, text, store, selected) -> tuple:
    """ "Draw it" or "Remove": ``(store, message, picker value)``. A refused text changes
    nothing but the message."""
    current = entries(store)
    picked = selected if isinstance(selected, list) else []
    if action == RULE_REMOVE:
        kept = [e for e in current if e["n"] != name]
        if len(kept) == len(current):
            return no_update, f"there is no rule named {str(name)[:40]!r} to remove", no_update
        return kept, "", no_update
    try:
        spec = spec_of({"n": (name or "").strip() if isinstance(name, str) else name, "u": text})
    except ValueError as exc:
        return no_update, str(exc), no_update
    others = [e for e in current if e["n"] != spec.optimizer]
    if len(others) >= MAX_OWN:
        return no_update, f"at most {MAX_OWN} rules of your own; remove one first", no_update
    new = [*others, {"n": spec.optimizer, "u": spec.code, "h": {}}]
    return new, "", picked if OWN in picked else [*picked, OWN]


def with_hyper(spec: RunSpec, values, msgs: dict) -> RunSpec:
    """``spec`` with the values of its card's boxes over its own; a bad one's message goes
    into ``msgs`` under ``(key, name)`` (its box's). A name the rule no longer has (its text
    just changed, the card is being redrawn) is left out."""
    info, hyper = spec.info(), dict(spec.hyper)
    names = {h.name for h in info.hyper}
    for name, value in validate.mapping(values).items():
        if name not in names:
            continue
        try:
            hyper[name] = validate.typed_hyper(info, name, value)
        except ValueError as exc:
            msgs[(key(spec), name)] = str(exc)
    return replace(spec, hyper=hyper)


def cards(store, control=None) -> list:
    """One card per typed rule: its colour, name and formula (the text as a tooltip), and
    ``control(key, spec, value)`` per hyperparameter (``layout.hyper_control``)."""
    out = []
    try:
        specs = split([OWN], store)[1]  # the colours they are drawn with
    except ValueError:
        return out
    for spec in specs:
        info = spec.info()
        out.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(className="swatch big", style={"background": spec.colour}),
                            html.Span(spec.label, className="card-title"),
                            html.Span("your own rule", className="card-desc"),
                        ],
                        className="card-head",
                    ),
                    dcc.Markdown(f"$$\n{info.latex}\n$$", mathjax=True, className="rule-latex"),
                    html.Pre(spec.code, className="rule-source hint"),
                    html.Div(
                        [
                            control(key(spec), h, {**info.defaults(), **spec.hyper}[h.name])
                            for h in info.hyper
                        ]
                        if control
                        else [],
                        className="hyper-list",
                    ),
                ],
                className="opt-card own-card",
                title=spec.code,
                **{"data-opt": key(spec)},
            )
        )
    return out


def register(app, control=None) -> None:
    """The editor's callbacks; ``control`` builds a hyperparameter's control on the cards."""

    @app.callback(
        Output(OWN_RULES, "data", allow_duplicate=True),
        Output(RULE_MSG, "children"),
        Output(ids.OPTIMIZERS, "value", allow_duplicate=True),
        Input(RULE_DRAW, "n_clicks"),
        Input(RULE_REMOVE, "n_clicks"),
        State(RULE_NAME, "value"),
        State(RULE_TEXT, "value"),
        State(OWN_RULES, "data"),
        State(ids.OPTIMIZERS, "value"),
        prevent_initial_call=True,
    )
    def _edit(_draw, _remove, name, text, store, selected):
        action = RULE_REMOVE if ctx.triggered_id == RULE_REMOVE else RULE_DRAW
        return edit(action, name, text, store, selected)

    @app.callback(
        Output(RULE_BOX, "style"),
        Input(ids.OPTIMIZERS, "value"),
    )
    def _show(selected):
        shown = isinstance(selected, list) and OWN in selected
        return {"display": "block"} if shown else {"display": "none"}

    @app.callback(
        Output(RULE_CARDS, "children"),
        Output(RULE_NAME, "value"),
        Output(RULE_TEXT, "value"),
        Input(OWN_RULES, "data"),
        prevent_initial_call=True,
    )
    def _cards(store):
        got = entries(store)
        if not got and ctx.triggered_id != OWN_RULES:
            raise PreventUpdate
        last = got[-1] if got else None  # a link's rule shows in the editor, ready to change
        shown = cards(store, control)
        return shown, last["n"] if last else no_update, last["u"] if last else no_update
