"""Tune panel: a fair race. Every optimizer of the scene gets the same budget of trials
over lr (and optionally one more hyperparameter), the same objective and the same starts
(``viz.scene.tuning.tune_scene``); the table shows the tuned values, the objective, the
default's, and how flat the optimum is. "Replay at tuned values" puts them in the cards
(the path of a preset or a share link: ``viz.ui.apply_scene``) and the race runs.

The panel owns its ids (below), its layout and its callbacks.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from optimizers.budget import Budget
from optimizers.tuning import MAX_STARTS, MAX_TRIALS, OBJECTIVES
from viz.scene import link, validate
from viz.scene.tuning import tune_scene
from viz.scene.validate import whole
from viz.ui import http, ids, progress
from viz.ui.panels.common import (
    button,
    card,
    field,
    loading,
    num_input,
    quiet,
    race_ident,
    radio_field,
    register_options,
    register_stale,
    scene_of,
    stale_message,
)

# A scene this panel or the phase diagram asks the page to show (viz/ui/apply_scene.py).
APPLY_SCENE = "apply-scene"
TUNE_OBJECTIVE = "tune-objective"
TUNE_BUDGET = "tune-budget"
TUNE_STARTS = "tune-starts"
TUNE_ALSO = "tune-also"
TUNE_BTN = "tune-btn"
TUNE_MSG = "tune-msg"
TUNE_TABLE = "tune-table"
TUNE_RESULT = "tune-result"  # the tuned scene (link codec data), for the replay
TUNE_REPLAY = "tune-replay"

OBJECTIVE_TEXT = {
    "area": "area under log(f − f*)",
    "final": "final f − f* (last 10 % of steps)",
    "steps": "steps to f − f* ≤ 1e-6",
}
ALSO = (("", "lr only"), ("momentum", "+ momentum"), ("beta2", "+ β₂"), ("decay", "+ decay"))


def also_options(state, current) -> tuple[list[dict], str]:
    """The "tune" choices for the page's scene: lr only, the built-in rules' best-known
    second hyperparameters, and the numbers of the rules typed in the page by their own
    names; ``current`` is kept where it is still offered."""
    options = list(ALSO)
    try:
        runs = scene_of(state).runs.values()
    except ValueError:
        runs = ()
    for r in runs:
        if r.code:
            for h in r.info().hyper:
                if h.name != "lr" and not h.is_bool and h.name not in dict(options):
                    options.append((h.name, f"+ {h.name} ({r.optimizer})"))
    value = current if isinstance(current, str) and current in dict(options) else ""
    return [{"label": t, "value": v} for v, t in options], value


def layout() -> html.Div:
    controls = [
        radio_field(
            "objective", TUNE_OBJECTIVE, [(o, OBJECTIVE_TEXT[o]) for o in OBJECTIVES[::-1]], "area"
        ),
        field("trials", num_input(TUNE_BUDGET, "64"), hint=f"per optimizer, 2 to {MAX_TRIALS}"),
        field(
            "starts k",
            num_input(TUNE_STARTS, "1"),
            hint=f"a k×k grid around the start, 1 to {MAX_STARTS}",
        ),
        radio_field("tune", TUNE_ALSO, ALSO, ""),
        button("Tune", TUNE_BTN),
        html.Button(
            "Replay at tuned values",
            id=TUNE_REPLAY,
            n_clicks=0,
            className="panel-btn",
            disabled=True,
        ),
    ]
    note = html.P(
        "Each optimizer gets the same budget of trials over lr (a log grid over its "
        "range, then zooming in on the best; once every optimum is settled, the rest "
        "fills the widest gaps left), the same "
        "objective and the same starts; "
        "every trial of a rule runs in one batch (a torch rule: trial by "
        "trial). “Final f − f*” is the largest over the "
        "last 10 % of the steps, so a run that only passes the minimum at its last step "
        "does not count as converged. “Flat” is the range of lr whose objective is within "
        "10 % of the best; “alone” when no other trial's is (a knife-edge). “Moved "
        "starts” is the tuned values' objective from the same starts moved by 1e-4 of the "
        "window, marked when over 10 % worse: the tuned objective is then luck of the exact "
        "starts.",
        className="hint",
    )
    table = html.Div(id=TUNE_TABLE, className="tune-table")
    stores = [dcc.Store(id=TUNE_RESULT), dcc.Store(id=APPLY_SCENE)]
    return card("tune", controls, TUNE_MSG, loading(table), note, *stores)


def _fmt(v) -> str:
    if v is None or v != v:
        return "—"
    if v == float("inf"):
        return "diverged"
    return f"{v:.4g}"


KNIFE_EDGE = (
    "No other trial's objective is within 10 % of the best: the tuned rate sits on a "
    "knife-edge, and a rate a hair away does much worse."
)


KEPT_DEFAULT = (
    "No trial scored better than the default values on this objective: they are kept (a "
    "larger budget may find better ones)."
)
FRAGILE = (
    "From the same starts moved by 1e-4 of the window (both ways) the tuned values score "
    "more than 10 % worse: the tuned objective belongs to these exact starts, not to the "
    "values (a rate at the edge of divergence, or a lucky one)."
)


def result_table(scene, tunings) -> html.Div:
    titles = ("optimizer", "tuned", "objective", "default", "flat lr", "moved starts", "trials")
    head = html.Tr([html.Th(t) for t in titles])
    rows = [head]
    for spec, t in zip(scene.resolved_runs(), tunings, strict=True):
        r = t.rules[0]
        values = ", ".join(f"{k} = {v:.4g}" for k, v in r.hyper.items() if k in ("lr", t.other))
        lo, hi = r.flat
        flat = "—" if lo != lo else f"{lo:.3g} – {hi:.3g}"
        if lo == hi:  # no neighbouring trial within 10 %: a knife-edge, not a basin
            flat = html.Span(f"{lo:.3g} alone", title=KNIFE_EDGE, className="knife-edge")
        if r.kept_default:
            values = html.Span(f"{values} (default)", title=KEPT_DEFAULT)
        moved = _fmt(r.moved_objective)
        if r.fragile:
            moved = html.Span(moved, title=FRAGILE, className="knife-edge")
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Span(className="swatch", style={"background": spec.colour}),
                            spec.label,
                        ]
                    ),
                    html.Td(values, className="tuned-values", **{"data-rule": r.rule}),
                    html.Td(_fmt(r.objective)),
                    html.Td(_fmt(r.default_objective)),
                    html.Td(flat),
                    html.Td(moved, className="moved-objective"),
                    html.Td(f"{len(r.trials_lr):,}"),
                ]
            )
        )
    # On a phone the table scrolls sideways inside its card instead of being cut.
    return html.Div(html.Table(rows, className="tune-result"), className="tune-scroll")


def compute_tune(state, objective, trials, starts, also, budget=None):
    """(caption and table, message, tuned scene data, replay disabled) for the page's scene;
    the message line is for bad input only."""
    if budget is None:  # the clock starts now
        budget = Budget.of("tune", cancelled=http.client_gone())
    keep = (no_update, no_update, no_update)
    try:
        ps = scene_of(state)
        trials = whole(trials, "trials", 2, MAX_TRIALS)
        starts = whole(starts, "starts k", 1, MAX_STARTS)
        if validate.choice(objective, "objective") not in OBJECTIVES:
            raise ValueError(f"objective: choose one of {', '.join(OBJECTIVES)}")
        also = validate.choice(also or "", "tune") or None
        tunings, tuned = quiet(
            tune_scene,
            ps.scene,
            objective=objective,
            trials=trials,
            starts=starts,
            also=also,
            budget=budget,
        )
    except ValueError as exc:
        return (no_update, str(exc), *keep[1:])
    budget.finish()  # the page's bar: computed, now drawn
    caption = (
        f"Tuned in {budget.elapsed:.2f} s: {trials:,} trials per optimizer, "
        f"{starts}×{starts} start(s), {ps.scene.steps} steps, "
        f"objective: {OBJECTIVE_TEXT[objective]}."
    )
    fragile = sum(t.rules[0].fragile for t in tunings)
    if fragile:
        caption += (
            f" {fragile} of {len(tunings)} tuned objectives do not hold from starts moved "
            "by 1e-4 of the window (“moved starts”)."
        )
    body = [html.P(caption, className="tune-caption"), result_table(ps.scene, tunings)]
    return body, "", link.scene_to_dict(tuned), False


def replay(n_clicks, data, state=None):
    """(the tuned scene for the page to show, message); not onto another scene's race."""
    if not n_clicks or not isinstance(data, dict):
        return no_update, no_update
    scene = state.get("scene") if isinstance(state, dict) else None
    if race_ident(scene) != race_ident(data):
        return no_update, stale_message("this tuning", "Tune")
    return data, ""  # the cards show the tuned values and the race runs with them


def register(app) -> None:
    register_options(app, TUNE_ALSO, also_options)

    @app.callback(
        Output(TUNE_TABLE, "children"),
        Output(TUNE_MSG, "children"),
        Output(TUNE_RESULT, "data"),
        Output(TUNE_REPLAY, "disabled"),
        Input(TUNE_BTN, "n_clicks"),
        State(ids.SCENE_STATE, "data"),
        State(TUNE_OBJECTIVE, "value"),
        State(TUNE_BUDGET, "value"),
        State(TUNE_STARTS, "value"),
        State(TUNE_ALSO, "value"),
        State(ids.EXPORT_PAGE, "data"),
        prevent_initial_call=True,
    )
    def _on_tune(n, state, objective, trials, starts, also, page):
        if not n:
            return (no_update,) * 4
        with progress.request_budget("tune", page) as budget:
            return compute_tune(state, objective, trials, starts, also, budget=budget)

    app.callback(
        Output(APPLY_SCENE, "data", allow_duplicate=True),
        Output(TUNE_MSG, "children", allow_duplicate=True),
        Input(TUNE_REPLAY, "n_clicks"),
        State(TUNE_RESULT, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(replay)
    register_stale(app, TUNE_MSG, TUNE_RESULT, "this tuning", "Tune", race_ident, TUNE_REPLAY)
