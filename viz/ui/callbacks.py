"""Thin callbacks: parse the inputs (viz.scene.validate), call ``run``, call a figure builder.

Each callback is a plain function of plain values, tested without a browser
(tests/viz/test_callbacks.py); ``register(app)`` wires them to component ids. Playback
itself never comes here: it runs in the browser (assets/optviz-*.js).
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from optimizers import OPTIMIZERS, run
from optimizers.base import RuleFailed
from optimizers.budget import Budget, BudgetError, charged, runs_work
from surfaces import SURFACES
from viz import figures
from viz.scene import (
    PRESETS,
    RunSpec,
    Scene,
    default_style,
    distinct_colours,
    geometry,
    landscape,
    link,
    outcome,
    validate,
)
from viz.ui import http, ids, layout, network_box, rule_editor, schedule_controls, share_box
from viz.ui.panels.common import is_network

# ----------------------------------------------------------------------------- presets


# What ``scene_controls`` sets, by name: (component id, property).
CONTROL_TARGETS = {
    "surface": (ids.SURFACE, "value"),
    "options": (ids.OPTIMIZERS, "options"),
    "optimizers": (ids.OPTIMIZERS, "value"),
    "steps": (ids.STEPS, "value"),
    "start_x": (ids.START_X, "value"),
    "start_y": (ids.START_Y, "value"),
    "store": (ids.PRESET_HYPER, "data"),
    "note": (ids.PRESET_NOTE, "children"),
    "note_title": (ids.PRESET_NOTE, "title"),
    "expression": (ids.EXPRESSION, "value"),
    "x_range": (ids.X_RANGE, "value"),
    "y_range": (ids.Y_RANGE, "value"),
    "arrows": (ids.ARROWS, "value"),
    "tolerance": (ids.TOLERANCE, "value"),
    "batch": (ids.NET_BATCH, "value"),
    "own_rules": (rule_editor.OWN_RULES, "data"),
    "export_view": (ids.EXPORT_VIEW, "value"),
    **{k: (i, "value") for k, i in network_box.FIELDS.items()},
}
SCENE_CONTROLS = tuple(CONTROL_TARGETS)


def scene_controls(scene: Scene) -> dict:
    """What every control shows for ``scene``: one path for a preset and a share link, so
    a scene reads the same whatever was on the page before (nothing is carried over)."""
    runs = {}
    keyed = link.preset_keys(scene).items()
    for (key, r), raw in zip(keyed, scene.runs, strict=True):
        if r.code:
            continue  # a typed rule: the editor's list (rule_editor.store_of)
        sched = {"name": "constant", "params": {}}
        if r.schedule is not None:
            sched = {"name": r.schedule[0], "params": dict(r.schedule[1])}
        runs[key] = {
            "hyper": dict(r.hyper),
            "label": raw.label,  # "{lr}" written in by the card and the scene's runs
            "colour": r.colour,
            "schedule": sched,
            "noise": {"sigma": r.noise, "seed": r.seed},
        }
    net = {} if scene.network is None else network_box.values_of(scene.network)
    if net:  # its surface exists once computed: nothing here asks for it
        s, custom = None, False
    else:
        s = scene.get_surface()
        custom = scene.surface_name == validate.CUSTOM
    (x0, x1), (y0, y1) = scene.window() if custom else (validate.DEFAULT_RANGE,) * 2
    return {
        **net,
        "surface": validate.CUSTOM if custom else scene.surface_name,
        "options": layout.optimizer_options(runs),
        "optimizers": list(runs) + ([rule_editor.OWN] if rule_editor.store_of(scene) else []),
        "steps": str(scene.steps),
        "start_x": layout.fmt(scene.start[0]),
        "start_y": layout.fmt(scene.start[1]),
        "store": {"preset": scene.name if scene.name in PRESETS else "", "runs": runs},
        "note": scene.description,
        "note_title": scene.description,
        "expression": s.extra.get("expression", "") if custom else "",
        "x_range": f"{layout.fmt(x0)}, {layout.fmt(x1)}",
        "y_range": f"{layout.fmt(y0)}, {layout.fmt(y1)}",
        "arrows": ["on"] if scene.arrows else [],
        "tolerance": layout.fmt(scene.tolerance),
        "batch": "" if scene.batch_size is None else str(scene.batch_size),
        "own_rules": rule_editor.store_of(scene),
        "export_view": scene.view,  # Export makes what the scene is about (the saddle: 3-D)
    }


def apply_preset(name) -> dict:
    """The controls of a preset; nothing to change for "free play" (its note cleared)."""
    try:
        name = validate.choice("" if name is None else name, "scene")
    except ValueError as exc:
        return {"note": str(exc), "note_title": str(exc)}
    if not name or name not in PRESETS:
        return {"note": "", "note_title": ""}
    return scene_controls(PRESETS[name])


def control_outputs(dup: bool = False) -> dict:
    """The outputs ``scene_controls`` fills, by name (``dup``: a second writer of them)."""
    # The preset list is the first writer of its own outputs; the others are written again.
    first = {"surface", "options", "optimizers", "steps", "start_x", "start_y", "store", "note"}
    first.add("note_title")
    return {
        k: Output(i, p, allow_duplicate=dup or k not in first)
        for k, (i, p) in CONTROL_TARGETS.items()
    }


def show_formula(surface: str):
    """A registered surface's formula; the user's own is compute's to show (once parsed)."""
    if surface == network_box.NETWORK:
        return html.P(network_box.FORMULA, className="hint net-formula")
    if not isinstance(surface, str) or surface not in SURFACES:
        return no_update  # your own f(x, y), or a message by the list from compute
    return layout.surface_formula(surface)


def render_panel(selected, preset_hyper, state, from_preset: bool):
    """The chosen optimizers' cards. A scene just applied (a preset or a link,
    ``from_preset``) sets every value itself: its own over the rule's defaults, nothing kept
    from the cards before. Otherwise a card keeps its current values."""
    selected, _ = rule_editor.split(selected, [])
    if not selected:
        return []
    try:
        names = validate.selection(selected)
    except ValueError:
        return no_update  # compute shows the message; the cards on screen stay
    v = validate
    preset_runs = v.preset_runs(preset_hyper)
    state = v.store(state)
    current = v.mapping(state.get("hyper"))
    cards = []
    for n in names:
        p = v.mapping(preset_runs.get(n))
        mine, theirs = v.mapping(current.get(n)), v.mapping(p.get("hyper"))
        values = theirs if from_preset else {**theirs, **mine}
        sched = None if from_preset else v.mapping(state.get("schedule")).get(n)
        noise = None if from_preset else v.mapping(state.get("noise")).get(n)
        sched = p.get("schedule") if sched is None else sched
        noise = p.get("noise") if noise is None else noise
        cards.append(
            layout.optimizer_card(
                n, values, p.get("label", ""), p.get("colour", ""), schedule=sched, noise=noise
            )
        )
    return cards


def surface_changed(surface: str, preset_store):
    """A surface picked by hand: its own default start, and the scene list says "free play".

    When a preset just chose this surface (its store names the same surface), nothing
    changes: the preset has set the start itself.
    """
    presets = layout.presets()
    name = validate.store(preset_store).get("preset")
    if not isinstance(surface, str) or not isinstance(name, str | None):
        return no_update, no_update, no_update  # compute puts the message by the list
    if network_by_hand(surface, preset_store):
        return no_update, no_update, NETWORK_PRESET  # its rules at rates that train a net
    if surface == validate.CUSTOM:
        return no_update, no_update, ""  # your own f(x, y): free play, the start is kept
    if surface not in SURFACES or (name in presets and presets[name].surface == surface):
        return no_update, no_update, no_update
    x, y = SURFACES[surface].start
    return layout.fmt(x), layout.fmt(y), ""


NETWORK_PRESET = "network-moons"


def network_by_hand(surface, preset_store) -> bool:
    """The network scene picked in the surface list while no network preset is applied:
    the preset list then applies ``NETWORK_PRESET`` (rules, rates and net), which draws it."""
    name = validate.store(preset_store).get("preset")
    sc = PRESETS.get(name) if isinstance(name, str) else None
    return surface == network_box.NETWORK and (sc is None or sc.network is None)


def start_moved_by(surface, preset_store, pending, start: tuple) -> tuple | None:
    """The start that picking ``surface`` by hand moves to (the surface list's answer then
    draws the scene itself); None when the list leaves the start as it is: a preset or a
    link chose the surface, it is your own function, or the start is that one already."""
    if isinstance(pending, dict) and pending.get("s") == surface:
        return None  # a share link set the start itself
    x, y, _ = surface_changed(surface, preset_store)
    if x is no_update or (x, y) == tuple(start):
        return None
    return x, y


def expression_typed(text, _x_range, _y_range, surface):
    """Typing f(x, y) (or its window) picks "your own function" in the surface list."""
    if surface == validate.CUSTOM or not isinstance(text, str) or not text.strip():
        return no_update
    return validate.CUSTOM


def start_from_click(click, surface=None):
    """The start point from a click on the contour map (none for the network scene, whose
    runs start from the network's initialisation)."""
    xy = validate.click_point(click)
    if xy is None or surface == network_box.NETWORK:
        return no_update, no_update
    return layout.fmt(round(xy[0], 4)), layout.fmt(round(xy[1], 4))


# ----------------------------------------------------------------------------- compute


@dataclass
class Settings:
    """Everything a run needs, as the UI gives it (strings, maybe bad)."""

    surface: str
    optimizers: list
    steps: object
    start_x: object
    start_y: object
    hyper: dict = field(default_factory=dict)  # {opt: {name: value}}
    preset: dict | None = None  # PRESET_HYPER store: {"preset": name, "runs": {...}}
    tolerance: object = "1e-3"
    # surface == validate.CUSTOM: the user's own f(x, y) over its window ("lo, hi" each)
    expression: object = None
    x_range: object = None
    y_range: object = None
    schedule: dict = field(default_factory=dict)  # {opt: {"name": str, "params": {...}}}
    noise: dict = field(default_factory=dict)  # {opt: {"sigma": value, "seed": value}}
    batch_size: object = None  # mini-batch size box (viz/panels/network.py); "" = full batch
    typed: list = field(default_factory=list)  # rules typed by the user (viz.ui.rule_editor)
    network: dict = field(default_factory=dict)  # the network scene's boxes (network_box)


def initial_settings(lr: dict | None = None) -> Settings:
    """The page's opening scene (Radford's Beale) as the page sends it to ``compute``;
    ``lr``: ``{opt: value}`` for α boxes typed over it (the rest of their card as is)."""
    init = layout.initial()
    runs = init["runs"]
    hyper = {
        k: {**{n: str(v) for n, v in runs[k]["hyper"].items()}, "lr": value}
        for k, value in (lr or {}).items()
    }
    return Settings(
        init["surface"],
        list(init["selected"]),
        str(init["steps"]),
        layout.fmt(init["start"][0]),
        layout.fmt(init["start"][1]),
        hyper=hyper,
        preset={"preset": init["preset"], "runs": runs},
    )


@dataclass
class Outcome:
    """What ``compute`` hands back: messages always, data only when the input was valid."""

    messages: dict = field(default_factory=dict)  # control id (or (opt, name)) -> text
    ok: bool = False
    traj: dict | None = None
    state: dict | None = None
    contour: object = None  # None: keep the background as it is
    surface3d: object = None
    loss: object = None
    results: list | None = None
    legend: list | None = None
    formula: object = None  # the user's own f(x, y) as parsed (None: keep what is shown)
    network_note: object = None  # the network scene's plane, in words (None: keep it)
    preset_changed: object = None  # what differs from the preset shown ("" none; None: keep)


def _scene_of(settings: Settings, surface):
    """Style, window, labels and colours: the preset's while its surface is shown."""
    preset = validate.store(settings.preset).get("preset")
    runs = validate.preset_runs(settings.preset)
    sc = PRESETS.get(preset) if isinstance(preset, str) and preset else None
    if sc is not None and sc.surface == settings.surface:
        return sc.style, sc.window(), runs, preset
    return default_style(surface), (surface.x_range, surface.y_range), runs, ""


def compute(settings: Settings, state: dict | None = None) -> Outcome:
    """Validate every input; on success run every optimizer and build what changed."""
    if settings.surface == network_box.NETWORK:
        return compute_network(settings, state)
    out = Outcome()
    msgs = out.messages
    try:
        name, surface = surface_of(settings)
    except ValueError as exc:
        key = ids.EXPRESSION_MSG if settings.surface == validate.CUSTOM else ids.RUN_MSG
        msgs[key] = str(exc)
        return out  # the formula shown stays that of the surface the views still show
    style, window, preset_runs, preset = _scene_of(settings, surface)
    own: list = []
    try:
        keys, own = rule_editor.split(settings.optimizers, settings.typed)
        typed_hyper = validate.mapping(settings.hyper)
        own = [rule_editor.with_hyper(r, typed_hyper.get(rule_editor.key(r)), msgs) for r in own]
        names = validate.selection(keys) if keys or not own else []
    except ValueError as exc:
        msgs[ids.OPTIMIZERS_MSG] = str(exc)
        names = []
    try:
        steps = validate.steps(settings.steps)
    except ValueError as exc:
        msgs[ids.STEPS_MSG] = str(exc)
    try:
        start, note = validate.start(settings.start_x, settings.start_y, *window)
        if note:
            msgs[ids.START_MSG] = note
    except ValueError as exc:
        msgs[ids.START_MSG] = str(exc)
        start = None
    try:
        tol = validate.tolerance(settings.tolerance)
    except ValueError:
        tol = 1e-3
    hyper = {}
    for opt, values in validate.mapping(settings.hyper).items():
        if validate.rule_of(opt) not in OPTIMIZERS:
            continue
        for key, value in validate.mapping(values).items():
            try:
                hyper.setdefault(opt, {})[key] = validate.hyper(opt, key, value)
            except ValueError as exc:
                msgs[(opt, key)] = str(exc)
    extras = {}  # {opt: (schedule name, params, sigma, seed)}
    for n in names if ids.OPTIMIZERS_MSG not in msgs else []:
        info = OPTIMIZERS[validate.rule_of(n)]
        p = preset_runs.get(n, {})
        ph = validate.mapping(p.get("hyper"))
        lr = {**info.defaults(), **ph, **hyper.get(n, {})}.get("lr", 1.0)
        # the cards' schedule and noise; without a card (a scene just applied), the scene's
        sc = validate.mapping(validate.mapping(settings.schedule).get(n) or p.get("schedule"))
        nz = validate.mapping(validate.mapping(settings.noise).get(n) or p.get("noise"))
        try:
            sname, sparams = validate.schedule(n, sc.get("name"), sc.get("params"), lr)
        except ValueError as exc:
            msgs[("sched", n)] = str(exc)
            continue
        try:
            sigma, seed = validate.noise(nz.get("sigma")), validate.seed(nz.get("seed"))
        except ValueError as exc:
            msgs[("noise", n)] = str(exc)
            continue
        extras[n] = (sname, sparams, sigma, seed)
    try:  # mini-batches: only surfaces that sample them (the network's); others ignore it
        batch = validate.batch_size(settings.batch_size)
    except ValueError as exc:
        msgs[ids.NET_BATCH_MSG] = str(exc)
        batch = None
    batch = batch if hasattr(surface, "with_batch_size") else None
    if batch is not None:
        surface = _with_batch_size(surface, batch)
    blocking = [k for k in msgs if k != ids.START_MSG] or start is None
    if blocking:
        return out
    infos = [OPTIMIZERS[validate.rule_of(n)] for n in names] + [r.info() for r in own]
    for info in infos:
        if info.second_order and not surface.has_hessian:
            msgs[ids.OPTIMIZERS_MSG] = f"{info.label} needs a Hessian; {surface.label} has none"
            return out

    budget = Budget.of("recompute", cancelled=http.client_gone())
    try:
        budget.check(runs_work(infos, steps), "this scene", "use fewer steps or optimizers")
    except BudgetError as exc:
        msgs[ids.RUN_MSG] = str(exc)
        return out
    runs, specs = [], []
    for n in names:
        info = OPTIMIZERS[validate.rule_of(n)]
        p = preset_runs.get(n, {})
        h = {**info.defaults(), **p.get("hyper", {}), **hyper.get(n, {})}
        hyper[n] = h
        sname, sparams, sigma, seed = extras[n]
        sched = None if sname == "constant" else (sname, sparams)
        label = p.get("label") or info.label
        specs.append(RunSpec(info.name, h, label, p.get("colour", ""), sched, sigma, seed))
    # every colour written out (the link keeps them), library rules' told apart
    specs = [replace(r, colour=r.colour or r.info().colour) for r in distinct_colours(specs)]
    for n, spec in zip(names, specs, strict=True):
        try:
            runs.append(run_payload(n, spec, surface, start, steps, window, style, budget))
        except (BudgetError, RuleFailed) as exc:  # over the budget; a library's refusal
            msgs[ids.RUN_MSG] = str(exc)
            return out
    for spec in own:  # typed rules, after the built-in ones
        specs.append(spec)
        try:
            k = rule_editor.key(spec)
            runs.append(run_payload(k, spec, surface, start, steps, window, style, budget))
        except BudgetError as exc:
            msgs[ids.RUN_MSG] = str(exc)
            return out
    scene = Scene(
        name=preset or "custom",
        title="",
        description="",
        surface=surface if name == validate.CUSTOM else name,
        start=tuple(start),
        steps=steps,
        runs=tuple(specs),
        style=style,
        x_range=window[0] if (preset or name == validate.CUSTOM) else None,
        y_range=window[1] if (preset or name == validate.CUSTOM) else None,
        batch_size=batch,
        tolerance=tol,
    )
    expr = surface.extra.get("expression") if name == validate.CUSTOM else None
    bg_key = repr((name, expr, window, style)) if expr else repr((name, window, style))
    if name == validate.CUSTOM and validate.store(state).get("bg_key") != bg_key:
        out.formula = layout.surface_formula(surface)  # the user's formula, as parsed
    draw(out, scene, runs, surface, window, start, bg_key, state)
    out.preset_changed = changed_note(scene.changes_from(PRESETS[preset]) if preset else ())
    out.state.update(optimizers=names, hyper=hyper)
    # issue 5 (only what differs from the defaults, so old readers see the old format)
    if expr:
        out.state["expression"] = expr
    sched_state = {n: {"name": e[0], "params": e[1]} for n, e in extras.items()}
    noise_state = {n: {"sigma": e[2], "seed": e[3]} for n, e in extras.items()}
    out.state["schedule"] = {n: v for n, v in sched_state.items() if v["name"] != "constant"}
    out.state["noise"] = {n: v for n, v in noise_state.items() if v["sigma"] or v["seed"]}
    if batch is not None:
        out.state["batch_size"] = batch
    out.ok = True
    return out


def changed_note(changes) -> str:
    """The badge before a preset's note once the scene is no longer that preset."""
    if not changes:
        return ""
    return f"Changed: {', '.join(changes)} · "


def draw(out: Outcome, scene: Scene, runs, surface, window, start, bg_key: str, state) -> None:
    """Fill ``out`` with what the page draws of ``scene`` and its ``runs`` (payloads): the
    backgrounds (when ``bg_key`` is not the page's already), the overlays' data, loss plot,
    results table, legend (when it changed) and the scene store; every scene, one path."""
    msgs, style = out.messages, scene.style
    diverged = [r for r in runs if r["diverged_at"] is not None]
    if runs and len(diverged) == len(runs):
        where = ", ".join(f"{r['label']} at step {r['diverged_at']}" for r in diverged)
        msgs[ids.RUN_MSG] = (
            f"Every optimizer diverged ({where}). They are drawn up to their "
            "last finite point; try a smaller learning rate α."
        )
    old = validate.store(state)
    preset = scene.name if scene.name in PRESETS else ""
    if old.get("bg_key") != bg_key:
        out.contour = figures.contour_figure(surface, window, style)
        out.surface3d = figures.surface_figure(surface, window, style)
    out.traj = {
        "runs": runs,
        "steps": scene.steps,
        "contour_top": figures.contour_overlay(runs, window, style, start, step=0),
        "surface_top": figures.surface_overlay(surface, runs, window, style, step=0),
        "fps": style.fps,
        "network": is_network(surface),  # the network panel's runs
        # a preset just picked: its playback starts afresh (step 0, paused), as on a new page
        "fresh": bool(preset) and preset != old.get("preset"),
    }
    value_range = geometry.value_range(surface, window)  # cached: the grid is not redone
    what = "loss of the network (all data)" if scene.network is not None else "f(x, y)"
    out.loss = figures.loss_figure(runs, surface.min_value, style, value_range, what)
    out.results = results_table(outcome.results_rows(runs, surface, scene.tolerance, window))
    statuses = {
        r["key"]: (f"✕ diverged at step {r['diverged_at']}" if r["diverged_at"] is not None else "")
        for r in runs
    }
    chips = [(r["label"], r["colour"], statuses[r["key"]]) for r in runs]
    legend_key = zlib.crc32(repr(chips).encode())
    if old.get("legend_key") != legend_key or old.get("bg_key") != bg_key:
        # A hyperparameter change mostly leaves every label, colour and status as it was:
        # the page keeps its legend and the answer is a few kB lighter.
        entries = [{"label": a, "colour": b, "status": c} for a, b, c in chips]
        out.legend = layout.legend(entries, minimum=bool(surface.minima))
    out.state = {
        "scene": link.scene_to_dict(scene),  # what the share link and the export read
        "surface": scene.surface_name,
        "steps": scene.steps,
        "start": list(start),
        "preset": preset,
        "bg_key": bg_key,
        "window": window,
        "legend_key": legend_key,
    }


NOT_ON_NETWORK = "{what} is not offered for the network scene (its rules train every weight)"


def compute_network(settings: Settings, state: dict | None = None) -> Outcome:
    """The network scene: the boxes of ``network_box``, the chosen rules with their cards'
    values and the steps make its spec; the scene computes under the request's budget
    (its own cap on work, decided before it starts; the deadline inside every loop), and
    is drawn by ``draw`` as every scene is."""
    out = Outcome()
    msgs = out.messages
    preset_runs = validate.preset_runs(settings.preset)
    rules = []
    try:
        keys, own = rule_editor.split(settings.optimizers, settings.typed)
        if own:
            raise ValueError(NOT_ON_NETWORK.format(what="A rule of your own"))
        for n in validate.selection(keys):
            rule = validate.rule_of(n)
            h = dict(validate.mapping(validate.mapping(preset_runs.get(n)).get("hyper")))
            for key, value in validate.mapping(validate.mapping(settings.hyper).get(n)).items():
                try:
                    h[key] = validate.hyper(n, key, value)
                except ValueError as exc:
                    msgs[(n, key)] = str(exc)
            sched = validate.mapping(validate.mapping(settings.schedule).get(n))
            if sched.get("name") not in (None, "", "constant"):
                msgs[("sched", n)] = NOT_ON_NETWORK.format(what="An α schedule")
            sigma = validate.mapping(validate.mapping(settings.noise).get(n)).get("sigma")
            if sigma not in (None, "", 0, "0"):
                msgs[("noise", n)] = NOT_ON_NETWORK.format(what="Gradient noise") + "; set a batch"
            rules.append(landscape.Rule(rule, h))
    except ValueError as exc:
        msgs[ids.OPTIMIZERS_MSG] = str(exc)
    try:
        steps = validate.steps(settings.steps)
    except ValueError as exc:
        msgs[ids.STEPS_MSG] = str(exc)
    if msgs:
        return out
    try:
        spec = network_box.spec_of(settings.network, rules, steps)
        scene = Scene.of_network(spec)  # the scene's look and checks, in one place
    except ValueError as exc:
        text = str(exc)
        rules = "Hessian" in text or text.startswith(("unknown optimizer", "choose", "at most 8"))
        where = ids.STEPS_MSG if text.startswith("steps") else ids.NETWORK_MSG
        msgs[ids.OPTIMIZERS_MSG if rules else where] = text
        return out
    preset = validate.store(settings.preset).get("preset")
    if preset in PRESETS and PRESETS[preset].network is not None:
        scene = link.network_scene(spec, preset)
    try:
        tol = validate.tolerance(settings.tolerance)
    except ValueError:
        tol = link.DEFAULT_TOLERANCE
    scene = replace(scene, tolerance=tol)
    budget = Budget.of("recompute", cancelled=http.client_gone())
    try:
        trajectories = scene.compute(budget)
    except ValueError as exc:  # over its cap, past its deadline, or every rule diverged
        msgs[ids.RUN_MSG] = str(exc).split("\n")[0]
        return out
    res = landscape.cached(spec)
    surface, window, style = res.grid_surface, res.window(), scene.style
    runs = [
        figures.trajectory_payload(
            surface,
            t,
            key,
            r.label,
            r.colour,
            window,
            style,
            momentum=any(h.name == "momentum" for h in r.info().hyper),
            on_surface=True,
        )
        for key, r, t in zip(
            link.preset_keys(scene), scene.resolved_runs(), trajectories, strict=True
        )
    ]
    for payload, norm in zip(runs, res.grad_norm, strict=True):
        payload["grad_norm"] = norm  # the status words come from the network's own gradient
    bg_key = repr(("network", landscape.spec_to_dict(spec), style))
    draw(out, scene, runs, surface, window, surface.start, bg_key, state)
    keys = list(link.preset_keys(scene))
    out.state.update(
        optimizers=keys, hyper={k: dict(r.hyper) for k, r in zip(keys, scene.runs, strict=True)}
    )
    out.network_note = network_box.note(res)
    out.preset_changed = ""  # the network scene is judged by its own controls
    out.ok = True
    return out


@functools.lru_cache(maxsize=16)
def _with_batch_size(surface, batch: int):
    """The same batched surface object each time (surfaces are immutable), so what is
    cached per surface (its grid, z range, runs) is found again on the next change."""
    return surface.with_batch_size(batch)


def surface_of(settings: Settings):
    """``(name, Surface)``: a registered surface, or the user's own f(x, y) over its window."""
    if settings.surface == validate.CUSTOM:
        xr = validate.window_range(settings.x_range or validate.DEFAULT_RANGE, "x range")
        yr = validate.window_range(settings.y_range or validate.DEFAULT_RANGE, "y range")
        return validate.CUSTOM, validate.expression(settings.expression, xr, yr)
    name = validate.surface(settings.surface)
    return name, SURFACES[name]


# One run's payload depends only on the values below, so a recompute where one slider
# moved reruns one optimizer, not all of them. Keyed by those values (the same for every
# user: no per-user state), bounded by the points held (~200 B each as Python floats) and
# by the entries (each keeps its surface alive: a user's own f(x, y) is ~200 KB).
PAYLOAD_CACHE_POINTS = 100_000
PAYLOAD_CACHE_ENTRIES = 256
_payloads: OrderedDict = OrderedDict()
_payload_points = 0
_payload_lock = threading.Lock()


def run_payload(key, spec: RunSpec, surface, start, steps, window, style, budget=None):
    """``figures.trajectory_payload`` of ``run_spec``, cached by every value it depends on
    (noise is seeded, so a run is a function of them). The payload's lists are shared
    between requests: read them, never change them."""
    global _payload_points
    momentum = any(h.name == "momentum" for h in spec.info().hyper)
    ident = (repr((key, spec, tuple(start), steps, window, style)), surface)
    with _payload_lock:
        hit = _payloads.get(ident)
        if hit is not None:
            _payloads.move_to_end(ident)
            return dict(hit)
    traj = run_spec(spec, surface, start, steps, budget)
    shown = spec.resolved()  # its label with its values written in
    payload = figures.trajectory_payload(
        surface, traj, key, shown.label, shown.colour, window, style, momentum=momentum
    )
    with _payload_lock:
        if ident not in _payloads:
            _payloads[ident] = payload
            _payload_points += len(payload["x"])
        while len(_payloads) > 1 and (
            _payload_points > PAYLOAD_CACHE_POINTS or len(_payloads) > PAYLOAD_CACHE_ENTRIES
        ):
            _, old = _payloads.popitem(last=False)
            _payload_points -= len(old["x"])
    return dict(payload)


def clear_payload_cache() -> None:
    """Forget every cached run (benchmarks time a cold recompute with it)."""
    global _payload_points
    with _payload_lock:
        _payloads.clear()
        _payload_points = 0


def run_spec(spec: RunSpec, surface, start, steps, budget=None):
    """One run as the app draws it: the rule with its schedule, and its seeded noise."""
    costed = charged(budget, spec.info().step_work(1), 1)
    return run(spec.build(), surface, start, steps, spec.noise, spec.seed, budget=costed)


STATUS_CLASS = {"at a local minimum": "local", "at a saddle point": "saddle"}
_RESULTS_HEAD = html.Thead(
    html.Tr(
        [
            html.Th(t, title=tip)
            for t, tip in (
                ("optimizer", ""),
                ("final f", "loss at the last step (or the last finite one)"),
                ("to min", "distance from the last point to the nearest minimum"),
                ("steps to tol", "first step from which |f − f*| ≤ tolerance to the end"),
                (
                    "status",
                    "converged (at a minimum) · at a local minimum · at a saddle point · "
                    "stationary · stalled · still moving · diverged at step k "
                    "(defined in the README)",
                ),
            )
        ]
    )
)


def results_table(rows: list[dict]) -> html.Table:
    def num(v, fmt="{:.3g}"):
        return "—" if v is None else fmt.format(v)

    rows_ = [
        _result_row(
            r["colour"],
            r["label"],
            num(r["final_loss"]),
            num(r["distance"]),
            num(r["steps_to_tol"], "{:d}"),
            r["status"],
        )
        for r in rows
    ]
    body = html.Tbody(rows_)
    return html.Table([_RESULTS_HEAD, body], className="results-table")


@functools.lru_cache(maxsize=256)
def _result_row(colour, label, final, distance, steps, status) -> html.Tr:
    """One row of the results table; a run whose numbers did not change reuses its row
    (Dash components are costly to build; they are only read when the answer is written)."""
    return html.Tr(
        [
            html.Td([html.Span(className="swatch", style={"background": colour}), label]),
            html.Td(final),
            html.Td(distance),
            html.Td(steps),
            html.Td(status, className="status " + STATUS_CLASS.get(status, status.split(" ")[0])),
        ]
    )


def results_for_tolerance(tol, traj, state):
    """The results table again when only the tolerance changed (no new runs)."""
    try:
        t = validate.tolerance(tol)
    except ValueError as exc:
        return no_update, str(exc)
    try:
        scene = link.scene_from_dict(validate.store(state).get("scene"))
        surface, window = scene.get_surface(), scene.window()
        runs = validate.drawn_runs(traj)
    except ValueError:
        return no_update, ""  # nothing (valid) drawn yet: the next recompute uses the value
    return results_table(outcome.results_rows(runs, surface, t, window)), ""


# ----------------------------------------------------------------------------- wiring


def _by_id(grouping) -> dict:
    """{opt: {name: value}} from a pattern-matching ALL input's ``ctx.args_grouping``."""
    out: dict = {}
    for item in grouping or []:
        out.setdefault(item["id"]["opt"], {})[item["id"]["name"]] = item["value"]
    return out


def page_inputs(dep) -> dict:
    """The cards, the function box and the preset store, as ``dep`` (Input or State)."""
    return {
        "numbers": dep(ids.hyper(ALL, ALL), "value"),
        "bools": dep(ids.hyper_bool(ALL, ALL), "value"),
        "own": {
            "expression": dep(ids.EXPRESSION, "value"),
            "x_range": dep(ids.X_RANGE, "value"),
            "y_range": dep(ids.Y_RANGE, "value"),
        },
        "sched": dep(ids.sched(ALL), "value"),
        "sched_params": dep(ids.sched_param(ALL, ALL), "value"),
        "noise": dep(ids.noise(ALL), "value"),
        "seed": dep(ids.noise_seed(ALL), "value"),
        "preset": dep(ids.PRESET_HYPER, "data"),
    }


def page_settings(g: dict, scene: dict, tolerance, applied: bool):
    """``(settings, schedules, hyper)``: what the page's controls ask for. ``g`` is the
    ``ctx.args_grouping`` of ``page_inputs``; ``scene`` the surface, selection, steps,
    start and batch size; ``applied``: a scene just set the controls, so the cards (being
    redrawn for it) do not count."""
    params = _by_id(g["sched_params"])
    schedules = {
        i["id"]["opt"]: {"name": i["value"], "params": params.get(i["id"]["opt"], {})}
        for i in g["sched"]
    }
    noises = {i["id"]["opt"]: {"sigma": i["value"]} for i in g["noise"]}
    for i in g["seed"]:
        noises.setdefault(i["id"]["opt"], {})["seed"] = i["value"]
    hyper = _by_id(g["numbers"])
    for opt, vals in _by_id(g["bools"]).items():
        for k, v in vals.items():
            try:
                hyper.setdefault(opt, {})[k] = validate.checklist(v, k)
            except ValueError as exc:
                hyper[opt][k] = str(exc)  # not a bool: validate.hyper gives the message
    # Only the cards on screen count: the selection decides which rules run.
    picked = scene["optimizers"]
    picked = [picked] if isinstance(picked, str) else picked
    chosen = {k for k in picked if isinstance(k, str)} if isinstance(picked, list) else set()
    if rule_editor.OWN in chosen:  # the typed rules' cards
        chosen |= {k for k in hyper if isinstance(k, str) and k.startswith(rule_editor.OWN)}
    hyper = {k: v for k, v in hyper.items() if k in chosen}
    if applied:
        hyper, schedules, noises = {}, {}, {}
    settings = Settings(
        **scene,
        hyper=hyper,
        preset=g["preset"]["value"],
        tolerance=tolerance,
        **{k: v["value"] for k, v in g["own"].items()},
        schedule={k: v for k, v in schedules.items() if k in chosen},
        noise={k: v for k, v in noises.items() if k in chosen},
    )
    return settings, schedules, hyper


def preset_settings(got: dict) -> Settings | None:
    """The settings of a scene's controls (``scene_controls``); None if none were set."""
    if "surface" not in got:
        return None
    return Settings(
        surface=got["surface"],
        optimizers=got["optimizers"],
        steps=got["steps"],
        start_x=got["start_x"],
        start_y=got["start_y"],
        preset=got["store"],
        tolerance=got["tolerance"],
        expression=got["expression"],
        x_range=got["x_range"],
        y_range=got["y_range"],
        batch_size=got["batch"],
        typed=got["own_rules"],
        network={k: got[k] for k in network_box.FIELDS if k in got},
    )


# What a preset or surface list's answer draws itself (see ``drawn_now``).
DRAWN = ("traj", "state", "contour", "surface3d", "loss", "results", "legend", "token")


def drawn_outputs(store: str) -> dict:
    """The recompute's main outputs, written again by a list's callback, plus its store."""
    return {
        "traj": Output(ids.TRAJ, "data", allow_duplicate=True),
        "state": Output(ids.SCENE_STATE, "data", allow_duplicate=True),
        "contour": Output(ids.CONTOUR, "figure", allow_duplicate=True),
        "surface3d": Output(ids.SURFACE3D, "figure", allow_duplicate=True),
        "loss": Output(ids.LOSS, "figure", allow_duplicate=True),
        "results": Output(ids.RESULTS, "children", allow_duplicate=True),
        "legend": Output(ids.LEGEND, "children", allow_duplicate=True),
        "token": Output(store, "data"),
    }


def drawn_now(settings: Settings | None, state, camera=None) -> dict:
    """The new scene's runs and views, computed in the list's own callback.

    A choice in the preset or surface list sets controls that the recompute reads, so Dash
    sends the recompute only after the list's callbacks have answered (~0.5 s of round
    trips on a 2-core machine). Answering with the scene itself draws it at once; the
    recompute that follows finds the same scene in the store and sends nothing heavy.
    Anything invalid is left to that recompute, which shows the messages.
    """
    nothing = dict.fromkeys(DRAWN, no_update)
    if settings is None:
        return nothing
    o = compute(settings, state)
    if not o.ok:
        return nothing
    if o.surface3d is not None and isinstance(camera, dict):
        o.surface3d["layout"]["scene"]["camera"] = camera  # a share link's camera, as compute
    token = zlib.crc32(repr(o.state["scene"]).encode())
    got = {"traj": o.traj, "state": o.state, "contour": o.contour}
    got |= {"surface3d": o.surface3d, "loss": o.loss, "results": o.results}
    got |= {"legend": o.legend, "token": token}
    return {k: no_update if v is None else v for k, v in got.items()}


def _sched_plot_for_lr(opt: str, schedules: dict, hyper: dict, steps):
    """``schedule_controls.schedule_plot`` for a card whose α box fired the recompute and
    whose α follows a schedule; ``None`` (nothing to redraw) otherwise."""
    sched = schedules.get(opt) or {}
    if sched.get("name") in (None, "constant"):
        return None
    if ids.hyper(opt, "lr") not in ctx.triggered_prop_ids.values():
        return None
    lr = (hyper.get(opt) or {}).get("lr")
    return schedule_controls.schedule_plot(sched["name"], sched.get("params"), lr, steps, opt)


def register(app) -> None:
    @app.callback(
        output={**control_outputs(), **drawn_outputs(ids.PRESET_DRAWN)},
        inputs={
            "name": Input(ids.PRESET, "value"),
            "pending": State(share_box.SHARE_PENDING, "data"),
            "state": State(ids.SCENE_STATE, "data"),
            "camera": State(ids.SHARE_CAMERA, "data"),
        },
        prevent_initial_call=True,
    )
    def _preset(name, pending, state, camera):
        if isinstance(pending, dict) and pending.get("p") == name:
            nothing = {k: no_update for k in SCENE_CONTROLS}  # a share link set them itself
            return nothing | drawn_now(None, state)
        got = apply_preset(name)
        out = {k: got.get(k, no_update) for k in SCENE_CONTROLS}
        return out | drawn_now(preset_settings(got), state, camera)

    app.callback(
        Output(ids.SURFACE_FORMULA, "children"),
        Input(ids.SURFACE, "value"),
        prevent_initial_call=True,
    )(show_formula)
    app.clientside_callback(  # the network scene's boxes in place of the f(x, y) box
        """function (s) {
          var hide = {display: 'none'}, net = s === 'network', own = s === 'custom';
          return [net ? {} : hide, net ? hide : {}, net ? hide : {}, net ? hide : {},
                  own ? {} : hide];
        }""",
        Output(ids.NETWORK_BOX, "style"),
        Output(ids.EXPRESSION_BOX, "style"),
        Output(ids.START_ROW, "style"),  # its runs start from the network's initialisation
        Output(ids.START_HINT, "style"),
        # a built-in surface has its own window: boxes saying "-2, 2" beside Beale misled
        Output(ids.RANGE_ROW, "style"),
        Input(ids.SURFACE, "value"),
    )

    @app.callback(
        Output(ids.HYPER_PANEL, "children"),
        Input(ids.OPTIMIZERS, "value"),
        Input(ids.PRESET_HYPER, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )
    def _panel(selected, preset_hyper, state):
        from_preset = f"{ids.PRESET_HYPER}.data" in ctx.triggered_prop_ids
        return render_panel(selected, preset_hyper, state, from_preset)

    @app.callback(
        output={
            "start_x": Output(ids.START_X, "value", allow_duplicate=True),
            "start_y": Output(ids.START_Y, "value", allow_duplicate=True),
            "preset": Output(ids.PRESET, "value", allow_duplicate=True),
            **drawn_outputs(ids.SURFACE_DRAWN),
        },
        inputs={
            "surface": Input(ids.SURFACE, "value"),
            "pending": State(share_box.SHARE_PENDING, "data"),
            "chosen": State(ids.PRESET, "value"),
            "start": {"x": State(ids.START_X, "value"), "y": State(ids.START_Y, "value")},
            "scene": {
                "optimizers": State(ids.OPTIMIZERS, "value"),
                "steps": State(ids.STEPS, "value"),
                "batch_size": State(ids.NET_BATCH, "value"),
                "typed": State(rule_editor.OWN_RULES, "data"),
                "network": {k: State(i, "value") for k, i in network_box.FIELDS.items()},
            },
            **page_inputs(State),
            "more": {
                "tolerance": State(ids.TOLERANCE, "value"),
                "state": State(ids.SCENE_STATE, "data"),
                "camera": State(ids.SHARE_CAMERA, "data"),
            },
        },
        prevent_initial_call=True,
    )
    def _surface(surface, pending, chosen, start, scene, more, **_page):
        if isinstance(pending, dict) and pending.get("s") == surface:
            nothing = {"start_x": no_update, "start_y": no_update, "preset": no_update}
            return nothing | drawn_now(None, None)  # a share link set the start itself
        x, y, preset = surface_changed(surface, _page["preset"])
        out = {"start_x": x, "start_y": y, "preset": preset}
        if preset == "" and not chosen:
            out["preset"] = no_update  # "free play" already: the preset list has no change
        moved = start_moved_by(surface, _page["preset"], pending, (start["x"], start["y"]))
        if moved is None:
            return out | drawn_now(None, None)  # the recompute draws it (see _compute)
        at = {"surface": surface, "start_x": x, "start_y": y, **scene}
        settings, _, _ = page_settings(ctx.args_grouping, at, more["tolerance"], False)
        return out | drawn_now(settings, more["state"], more["camera"])

    app.callback(
        Output(ids.START_X, "value", allow_duplicate=True),
        Output(ids.START_Y, "value", allow_duplicate=True),
        Input(ids.CONTOUR, "clickData"),
        State(ids.SURFACE, "value"),
        prevent_initial_call=True,
    )(start_from_click)

    msg_ids = [ids.OPTIMIZERS_MSG, ids.STEPS_MSG, ids.START_MSG, ids.RUN_MSG, ids.EXPRESSION_MSG]
    msg_ids += [ids.NET_BATCH_MSG, ids.NETWORK_MSG]

    app.callback(
        Output(ids.SURFACE, "value", allow_duplicate=True),
        Input(ids.EXPRESSION, "value"),
        Input(ids.X_RANGE, "value"),
        Input(ids.Y_RANGE, "value"),
        State(ids.SURFACE, "value"),
        prevent_initial_call=True,
    )(expression_typed)

    @app.callback(
        output={
            "traj": Output(ids.TRAJ, "data"),
            "state": Output(ids.SCENE_STATE, "data"),
            "contour": Output(ids.CONTOUR, "figure"),
            "surface3d": Output(ids.SURFACE3D, "figure"),
            "loss": Output(ids.LOSS, "figure"),
            "results": Output(ids.RESULTS, "children"),
            "legend": Output(ids.LEGEND, "children"),
            "formula": Output(ids.SURFACE_FORMULA, "children", allow_duplicate=True),
            "net_note": Output(ids.NETWORK_NOTE, "children"),
            "preset_changed": Output(ids.PRESET_CHANGED, "children"),
            "msgs": [Output(m, "children") for m in msg_ids],
            "hyper_msgs": Output(ids.hyper_msg(ALL, ALL), "children"),
            "sched_msgs": Output(ids.sched_msg(ALL), "children"),
            # α changed on a card with a schedule: its α_t plot (schedule_controls draws it
            # when the schedule, its parameters or the steps change)
            "sched_plots": Output(ids.sched_plot(ALL), "figure", allow_duplicate=True),
            "sched_styles": Output(ids.sched_plot(ALL), "style", allow_duplicate=True),
            "noise_msgs": Output(ids.noise_msg(ALL), "children"),
            "shown": Output(ids.MSG_SHOWN, "data"),
        },
        inputs={
            "scene": {
                "surface": Input(ids.SURFACE, "value"),
                "optimizers": Input(ids.OPTIMIZERS, "value"),
                "steps": Input(ids.STEPS, "value"),
                "start_x": Input(ids.START_X, "value"),
                "start_y": Input(ids.START_Y, "value"),
                "batch_size": Input(ids.NET_BATCH, "value"),
                "typed": Input(rule_editor.OWN_RULES, "data"),
                "network": {k: Input(i, "value") for k, i in network_box.FIELDS.items()},
            },
            **page_inputs(Input),
            "more": {
                "tolerance": State(ids.TOLERANCE, "value"),
                "state": State(ids.SCENE_STATE, "data"),
                "camera": State(ids.SHARE_CAMERA, "data"),
                "shown": State(ids.MSG_SHOWN, "data"),
                "pending": State(share_box.SHARE_PENDING, "data"),
            },
        },
        prevent_initial_call="initial_duplicate",  # it runs on load (the α_t plots are shared)
    )
    def _compute(scene, numbers, bools, own, sched, sched_params, noise, seed, preset, more):
        own_ids = {f"{i}.value" for i in (ids.EXPRESSION, ids.X_RANGE, ids.Y_RANGE)}
        trig = set(ctx.triggered_prop_ids)
        if scene["surface"] != validate.CUSTOM and trig and trig <= own_ids:
            raise PreventUpdate  # expression_typed switches the surface; that run follows
        if trig == {f"{ids.SURFACE}.value"} and (
            network_by_hand(scene["surface"], preset)
            or start_moved_by(
                scene["surface"], preset, more["pending"], (scene["start_x"], scene["start_y"])
            )
        ):
            # picked by hand: the surface list answers with the scene from its new start,
            # which then runs this again (the old start on the new surface is never drawn)
            raise PreventUpdate
        # A scene just applied (preset or link): its own values, not the cards on the page,
        # which are being redrawn for it (their values then give the same scene again).
        applied = f"{ids.PRESET_HYPER}.data" in trig
        settings, schedules, hyper = page_settings(
            ctx.args_grouping, scene, more["tolerance"], applied
        )
        o = compute(settings, more["state"])
        old = validate.store(more["state"])
        if o.ok and o.contour is None and old.get("scene") == o.state["scene"]:
            # the same scene again (the cards redrawn for a scene just applied): the page
            # shows it already, so nothing heavy is sent
            o.traj = o.state = o.loss = o.results = o.legend = None
        if o.surface3d is not None and isinstance(more["camera"], dict):
            o.surface3d["layout"]["scene"]["camera"] = more["camera"]  # a share link's camera
        hyper_msg_ids = [o_["id"] for o_ in ctx.outputs_grouping["hyper_msgs"]]

        def data(v):
            return v if (o.ok and v is not None) else no_update

        # A message box is only written when its text changes: an empty box that stays
        # empty gets no_update, so a change that is valid (the usual case) updates a few
        # components on the page instead of every message box (only this callback writes
        # these boxes; the store says which show text).
        shown = more["shown"]
        ok = isinstance(shown, list) and all(isinstance(k, str) for k in shown)
        was = set(shown) if ok else None  # the store comes back from the browser
        now: set[str] = set()

        def say(key: str, text: str):
            if text:
                now.add(key)
            return text if (text or was is None or key in was) else no_update

        # The run message is always written: a server error's message (app's on_error,
        # outside this store's knowledge) must clear with the next valid change.
        msgs = [
            o.messages.get(m, "") if m == ids.RUN_MSG else say(m, o.messages.get(m, ""))
            for m in msg_ids
        ]
        hyper_msgs = [
            say(f"{i['opt']}/{i['name']}", o.messages.get((i["opt"], i["name"]), ""))
            for i in hyper_msg_ids
        ]
        noise_msgs = [
            say(f"noise/{i['id']['opt']}", o.messages.get(("noise", i["id"]["opt"]), ""))
            for i in ctx.outputs_grouping["noise_msgs"]
        ]
        plots = [  # (figure, style, message) or None per α_t plot
            _sched_plot_for_lr(i["id"]["opt"], schedules, hyper, scene["steps"])
            for i in ctx.outputs_grouping["sched_plots"]
        ]
        plot_msgs = {
            i["id"]["opt"]: p[2]
            for i, p in zip(ctx.outputs_grouping["sched_plots"], plots, strict=True)
            if p is not None
        }
        return {
            "traj": data(o.traj),
            "state": data(o.state),
            "contour": data(o.contour),
            "surface3d": data(o.surface3d),
            "loss": data(o.loss),
            "results": data(o.results),
            "legend": data(o.legend),
            "formula": no_update if o.formula is None else o.formula,
            "net_note": no_update if o.network_note is None else o.network_note,
            "preset_changed": no_update if o.preset_changed is None else o.preset_changed,
            "msgs": msgs,
            "hyper_msgs": hyper_msgs,
            "sched_msgs": [  # schedule_controls writes these boxes too: always written
                o.messages.get(("sched", i["id"]["opt"])) or plot_msgs.get(i["id"]["opt"], "")
                for i in ctx.outputs_grouping["sched_msgs"]
            ],
            "sched_plots": [no_update if p is None else p[0] for p in plots],
            "sched_styles": [no_update if p is None else p[1] for p in plots],
            "noise_msgs": noise_msgs,
            "shown": sorted(now) if was is None or now != was else no_update,
        }

    app.callback(
        Output(ids.RESULTS, "children", allow_duplicate=True),
        Output(ids.TOLERANCE_MSG, "children"),
        Input(ids.TOLERANCE, "value"),
        State(ids.TRAJ, "data"),
        State(ids.SCENE_STATE, "data"),
        prevent_initial_call=True,
    )(results_for_tolerance)

    schedule_controls.register(app)
    rule_editor.register(app, layout.hyper_control)

    # --- clientside: everything that moves (assets/optviz-*.js, namespace "optviz")
    # A moved slider writes its value into the box (which the recompute reads). The other
    # way, a typed value moving its slider, is optviz-60-sliders.js's (set_props once
    # the box has committed): as an output of a callback here, the box would make Dash hold
    # the recompute's request until that callback and its slider update were done (~100 ms
    # on a 2-core machine), and the two directions in one callback are a circular round.
    app.clientside_callback(
        ClientsideFunction("optviz", "hyperFromSlider"),
        Output(ids.hyper(MATCH, MATCH), "value"),
        Input(ids.hyper_slider(MATCH, MATCH), "value"),
        State(ids.hyper(MATCH, MATCH), "value"),
        State(ids.hyper_slider(MATCH, MATCH), "className"),
        prevent_initial_call=True,
    )
    # A card's label with its values in it ("SGD α = {lr}") follows the typed values.
    app.clientside_callback(
        ClientsideFunction("optviz", "cardTitle"),
        Output(ids.card_title(MATCH), "children"),
        Input(ids.hyper(MATCH, ALL), "value"),
        State(ids.hyper(MATCH, ALL), "id"),
        State(ids.card_title(MATCH), "data-template"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("optviz", "showPane"),
        Output(ids.panel_pane(ALL), "style"),
        Input(ids.PANEL_TABS, "value"),
        State(ids.panel_pane(ALL), "id"),
    )
    app.clientside_callback(
        ClientsideFunction("optviz", "load"),
        Output(ids.CONTOUR_TOP, "figure"),
        Output(ids.SURFACE3D_TOP, "figure"),
        Input(ids.TRAJ, "data"),
    )
    app.clientside_callback(
        ClientsideFunction("optviz", "controls"),
        Output(ids.CLOCK, "data"),
        Input(ids.PLAY, "n_clicks"),
        Input(ids.STEP_BACK, "n_clicks"),
        Input(ids.STEP_FORWARD, "n_clicks"),
        Input(ids.TO_START, "n_clicks"),
        Input(ids.TO_END, "n_clicks"),
        Input(ids.SPEED, "value"),
        Input(ids.LOOP, "value"),
        Input(ids.ARROWS, "value"),
    )
