"""Layout functions of the Dash app: everything is generated from the registries.

``SURFACES`` fills the surface dropdown, ``OPTIMIZERS`` (and each rule's ``HyperSpec``s)
the optimizer multi-select and the per-optimizer controls, ``PRESETS`` the scene list.
"""

from __future__ import annotations

import math

from dash import dcc, html

from optimizers import OPTIMIZERS
from surfaces import SURFACES
from viz.scene import PRESETS, link
from viz.scene.model import label_with_values
from viz.scene.validate import CUSTOM, MAX_STEPS, rule_of
from viz.ui import (
    export_panel,
    ids,
    library_picker,
    network_box,
    progress,
    rule_editor,
    schedule_controls,
    share_box,
)
from viz.ui.panels.common import text_box

START_BOXES = (ids.START_X, ids.START_Y)  # the start's x and y

GRAPH_CONFIG = {
    "displaylogo": False,
    "scrollZoom": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendChartToCloud", "sendDataToCloud"],
}
OVERLAY_CONFIG = {"staticPlot": True, "responsive": True, "displayModeBar": False}
# gl3d with staticPlot renders one snapshot and drops its WebGL context: no updates.
# plotGlPixelRatio 1: a quarter of the pixels to fill per redraw (software GL headless).
OVERLAY3D_CONFIG = {
    "responsive": True,
    "displayModeBar": False,
    "scrollZoom": False,
    "plotGlPixelRatio": 1,
}
# The sidebar's fold on narrow screens: a tick box drawn as a button in the header; the
# drawer opens and closes in CSS alone (assets/optviz.css, ``:has(:checked)``), no callback.
SPEEDS = [(0.25, "¼×"), (0.5, "½×"), (1, "1×"), (2, "2×"), (4, "4×"), (8, "8×")]
DEFAULT_SURFACE = "rosenbrock" if "rosenbrock" in SURFACES else next(iter(SURFACES))
DEFAULT_OPTIMIZERS = [n for n in ("sgd", "momentum", "adam") if n in OPTIMIZERS]


def presets():
    return PRESETS


def preset_runs(sc) -> dict:
    """A scene's runs keyed for the UI (``link.preset_keys``: ``rule`` or ``rule@i``)."""
    keyed = link.preset_keys(sc).items()
    return {  # the label as the scene has it: "{lr}" is written in as the value changes
        key: {"hyper": dict(r.hyper), "label": raw.label, "colour": r.colour}
        for (key, r), raw in zip(keyed, sc.runs, strict=True)
    }


def initial() -> dict:
    """What the page opens with: Radford's Beale scene when it is registered."""
    for name in ("radford-beale", "radford-long-valley"):
        if name in presets():
            sc = presets()[name]
            runs = preset_runs(sc)
            return {
                "preset": name,
                "surface": sc.surface,
                "runs": runs,
                "selected": list(runs),
                "steps": sc.steps,
                "start": sc.start,
                "note": sc.description,
            }
    s = SURFACES[DEFAULT_SURFACE]
    return {
        "preset": "",
        "surface": DEFAULT_SURFACE,
        "runs": {},
        "selected": DEFAULT_OPTIMIZERS,
        "steps": 300,
        "start": s.start,
        "note": "",
    }


def fmt(v: float) -> str:
    """A number as a user would type it."""
    if isinstance(v, bool):
        return str(v).lower()
    return f"{v:.6g}"


# ----------------------------------------------------------------------------- pieces


def _section(title: str, *children, className: str = "") -> html.Section:
    return html.Section(
        [html.H3(title, className="section-title"), *children],
        className=f"panel-section {className}".strip(),
    )


def _msg(id_, className="msg") -> html.Div:
    return html.Div(id=id_, className=className, role="status", **{"aria-live": "polite"})


def picker_option(value: str, label: str, colour: str) -> dict:
    """One option of the optimizer picker: a colour swatch and the label, searchable."""
    return {
        "label": html.Span(
            [html.Span(className="swatch", style={"background": colour}), label],
            className="opt-option",
        ),
        "value": value,
        "search": label,
    }


def optimizer_options(preset_runs: dict | None = None) -> list[dict]:
    """Multi-select options: each rule with its colour swatch (a preset's own runs first)."""
    preset_runs = preset_runs or {}
    opts = [
        picker_option(
            k,
            label_with_values(r["label"], r["hyper"])
            if r["label"]
            else OPTIMIZERS[rule_of(k)].label,
            r["colour"],
        )
        for k, r in preset_runs.items()
    ]
    opts += [
        picker_option(n, i.label, i.colour) for n, i in OPTIMIZERS.items() if n not in preset_runs
    ]
    library = [o for o in library_picker.options(picker_option) if o["value"] not in preset_runs]
    return [*opts, rule_editor.option(), *library]


def surface_options() -> list[dict]:
    opts = [{"label": s.label, "value": name} for name, s in SURFACES.items()]
    own = {"label": "Your own f(x, y)…", "value": CUSTOM}
    return [*opts, {"label": network_box.LABEL, "value": network_box.NETWORK}, own]


def expression_box() -> html.Div:
    """The "f(x, y) =" text box and its window (typing picks "your own f(x, y)")."""

    return html.Div(
        [
            html.Div(
                [
                    html.Label("f(x, y) =", htmlFor=ids.EXPRESSION, className="expr-label"),
                    text_box(ids.EXPRESSION, "", "e.g. x**2 + 3*y**2 + sin(3*x)", "expr-input"),
                ],
                className="field expr-field",
            ),
            html.Div(
                [
                    html.Label("x", htmlFor=ids.X_RANGE),
                    text_box(ids.X_RANGE, "-2, 2", "lo, hi"),
                    html.Label("y", htmlFor=ids.Y_RANGE),
                    text_box(ids.Y_RANGE, "-2, 2", "lo, hi"),
                ],
                className="field range-field",
                id=ids.RANGE_ROW,
                style={"display": "none"},  # until the surface is your own f(x, y)
                title="the window of your function: lo, hi",
            ),
            _msg(ids.EXPRESSION_MSG),
        ],
        id=ids.EXPRESSION_BOX,
        className="expr-box",
    )


def preset_options() -> list[dict]:
    opts = [{"label": "Free play (no preset)", "value": ""}]
    return opts + [{"label": sc.title or name, "value": name} for name, sc in presets().items()]


def hyper_control(opt: str, spec, value) -> html.Div:
    """One hyperparameter's control, generated from its ``HyperSpec``."""
    title = spec.help or spec.name
    if spec.is_bool:
        return html.Div(
            [
                dcc.Checklist(
                    id=ids.hyper_bool(opt, spec.name),
                    options=[{"label": f" {spec.name}", "value": "on"}],
                    value=["on"] if value else [],
                    className="bool-control",
                ),
                # A value that is not a tick box's (a tampered request) is rejected here.
                _msg(ids.hyper_msg(opt, spec.name), "msg hyper-msg"),
            ],
            className="hyper-row bool",
            title=title,
        )
    symbol = (  # a library's own name has no symbol: it is shown once
        [dcc.Markdown(f"${spec.symbol}$", mathjax=True, className="hyper-symbol")]
        if spec.symbol
        else []
    )
    if spec.log:
        lo, hi = math.log10(spec.low), math.log10(spec.high)
        pos = math.log10(value) if value > 0 else lo
        step = 0.01
    else:
        lo, hi, pos = spec.low, spec.high, value
        step = (spec.high - spec.low) / 200 or 0.01
    return html.Div(
        [
            html.Div(
                [*symbol, html.Span(spec.name, className="hyper-name")],
                className="hyper-label",
                title=title,
            ),
            *([] if spec.typed else [_slider(opt, spec, lo, hi, step, pos)]),
            dcc.Input(
                id=ids.hyper(opt, spec.name),
                type="text",
                value=fmt(value),
                debounce=True,
                inputMode="decimal",
                className="hyper-input",
                spellCheck=False,
            ),
            _msg(ids.hyper_msg(opt, spec.name), "msg hyper-msg"),
        ],
        className="hyper-row" + (" log" if spec.log else "") + (" typed" if spec.typed else ""),
        title=title,
    )


def _slider(opt: str, spec, lo: float, hi: float, step: float, pos: float):
    """The slider beside a number's box (none for a library rule's typed numbers)."""
    return dcc.Slider(
        id=ids.hyper_slider(opt, spec.name),
        min=lo,
        max=hi,
        step=step,
        value=min(max(pos, lo), hi),
        marks=None,
        updatemode="mouseup",
        className="hyper-slider" + (" log" if spec.log else ""),
    )


def optimizer_card(
    opt: str,
    values: dict,
    label: str = "",
    colour: str = "",
    schedule: dict | None = None,
    noise: dict | None = None,
) -> html.Div:
    """A chosen optimizer: colour, name, its update rule in LaTeX, its controls."""
    info = OPTIMIZERS[rule_of(opt)]
    values = {**info.defaults(), **(values or {})}
    return html.Div(
        [
            html.Div(
                [
                    html.Span(className="swatch big", style={"background": colour or info.colour}),
                    html.Span(
                        label_with_values(label, values) if label else info.label,
                        id=ids.card_title(opt),
                        className="card-title",
                        **{"data-template": label if "{" in label else ""},
                    ),
                    html.Span(info.description, className="card-desc"),
                ],
                className="card-head",
            ),
            dcc.Markdown(f"$$\n{info.latex}\n$$", mathjax=True, className="rule-latex"),
            html.Div(
                [hyper_control(opt, h, values[h.name]) for h in info.hyper], className="hyper-list"
            ),
            schedule_controls.controls(opt, schedule, noise),
        ],
        className="opt-card",
        **{"data-opt": opt},
    )


# Formula lines longer than this many glyphs are broken (a sidebar holds ~34 at full size;
# CSS scales a slightly longer line down to fit, assets/optviz.css).
FORMULA_GLYPHS = 34
_WIDE_COMMANDS = {"sin", "cos", "tan", "log", "exp", "max", "min", "sign"}
_SILENT_COMMANDS = {"left", "right", "big", "Big", "frac", "tfrac", "dfrac", "sqrt", "hat"}
_SILENT_COMMANDS |= {"operatorname", "quad", "qquad", "mathrm", "text"}


def glyphs(latex: str) -> float:
    """A rough count of the glyphs a LaTeX formula draws (its width, in characters)."""
    n, i = 0.0, 0
    while i < len(latex):
        c = latex[i]
        if c == "\\":
            j = i + 1
            while j < len(latex) and latex[j].isalpha():
                j += 1
            word = latex[i + 1 : j] or latex[i + 1 : i + 2]
            n += len(word) if word in _WIDE_COMMANDS else 0 if word in _SILENT_COMMANDS else 1
            if word in (",", " ", ";", "!"):
                n -= 1
            i = max(j, i + 2)
            continue
        if not (c.isspace() or c in "{}^_&"):
            n += 1
        i += 1
    return n


def _breaks(latex: str) -> list[tuple[int, bool]]:
    """Where a formula may break at bracket depth 0: before a spaced binary + or −, after
    a comma followed by a space (a new definition), between two bracketed factors.
    Each is (index, continues): whether the next line continues the same expression."""
    out, depth = [], 0
    for i, c in enumerate(latex):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0 and c == "]" and latex.startswith("\\left[", i + 1):
                out.append((i + 1, True))
        elif depth == 0 and c in "+-" and latex[i - 1 : i] == " " and latex[i + 1 : i + 2] == " ":
            out.append((i, True))
        elif depth == 0 and latex.startswith(",\\ ", i):
            out.append((i + 3, False))
    return out


def wrap_formula(latex: str, width: float = FORMULA_GLYPHS) -> str:
    """The formula in lines of at most ``width`` glyphs where it can be broken, as a
    left-aligned ``aligned`` block (continuation lines indented); short ones unchanged."""
    if glyphs(latex) <= width or "\\begin" in latex:
        return latex
    cuts = _breaks(latex)
    if not cuts:
        return latex
    pieces, start, kinds = [], 0, [False]
    for at, continues in cuts:
        pieces.append(latex[start:at].strip())
        kinds.append(continues)
        start = at
    pieces.append(latex[start:].strip())
    lines: list[list] = []
    for piece, continues in zip(pieces, kinds, strict=True):
        if lines and glyphs(lines[-1][1] + piece) <= width:
            lines[-1][1] += " " + piece
        else:
            lines.append([continues, piece])
    if len(lines) == 1:
        return latex
    body = " \\\\ ".join(
        ("& \\quad " if cont else "& ") + ("\\times " if text.startswith("\\left[") else "") + text
        for cont, text in lines
    )
    return f"\\begin{{aligned}} {body} \\end{{aligned}}"


def surface_formula(surface) -> list:
    """A surface's formula in LaTeX and its description (a registered name, or a Surface:
    the user's own f(x, y) as they typed it)."""
    s = SURFACES[surface] if isinstance(surface, str) else surface
    return [
        dcc.Markdown(f"$$\n{wrap_formula(s.latex)}\n$$", mathjax=True, className="formula"),
        html.P(s.description, className="hint") if s.description else None,
    ]


def legend(entries: list[dict], arrows: bool = False, minimum: bool = True) -> list:
    """The legend both views share: one chip per run (diverged runs say where), the star
    of the minima (``minimum``: the surface knows one) and the start's circle."""
    chips = []
    for e in entries:
        # A status must not widen its chip: a wider chip can wrap the legend onto another
        # line and move both views under the cursor. A diverged run's dot turns into a red
        # ✕ in the same place; the words are the chip's tooltip (and read out by screen
        # readers); the results table says them too.
        status = e.get("status", "")
        chips.append(
            html.Span(
                [
                    html.Span(className="chip-line", style={"background": e["colour"]}),
                    html.Span(
                        "✕" if status else "",
                        className="chip-dot",
                        style={} if status else {"background": e["colour"]},
                    ),
                    html.Span(e["label"], className="chip-label"),
                    html.Span(f": {status}", className="chip-status sr-only") if status else None,
                ],
                className="chip" + (" diverged" if status else ""),
                title=f"{e['label']}: {status.removeprefix('✕').strip()}" if status else None,
            )
        )
    if minimum:
        chips.append(
            html.Span([html.Span("☆", className="chip-star"), "minimum"], className="chip muted")
        )
    chips.append(
        html.Span([html.Span("○", className="chip-star"), "start"], className="chip muted")
    )
    chips.append(
        html.Span(
            [
                html.Span("→", className="chip-arrow"),
                "−∇f  ",
                html.Span("⇢", className="chip-arrow grey"),
                "velocity",
            ],
            className="chip muted arrows-key",
        )
    )
    return chips


# ----------------------------------------------------------------------------- regions


def header(init: dict) -> html.Header:
    return html.Header(
        [
            dcc.Checklist(
                id=ids.SIDEBAR_TOGGLE,
                options=[{"label": html.Span("☰ Settings"), "value": "open"}],
                value=[],  # folded (where the screen is narrow enough to fold it)
                className="sidebar-button",
                inputClassName="sidebar-toggle-box",
                labelClassName="sidebar-toggle-label",
            ),
            html.Div(
                [
                    html.Span("optviz", className="brand"),
                    html.Span("gradient descent, watched", className="tagline"),
                ],
                className="brand-box",
            ),
            html.Div(
                [
                    html.Label("Scene", htmlFor=ids.PRESET, className="inline-label"),
                    dcc.Dropdown(
                        id=ids.PRESET,
                        options=preset_options(),
                        value=init["preset"],
                        clearable=False,
                        searchable=False,
                        className="preset-dd",
                    ),
                    html.Div(
                        [
                            html.Span(
                                "",
                                id=ids.PRESET_CHANGED,
                                className="preset-changed",
                                title="the scene is no longer the preset: its note tells of the "
                                "preset as it was",
                            ),
                            html.Span(init["note"], id=ids.PRESET_NOTE, title=init["note"]),
                        ],
                        className="preset-note",
                    ),
                ],
                className="preset-box",
            ),
            share_box.header_box(),
        ],
        className="app-header",
    )


def sidebar(init: dict) -> html.Aside:
    start, runs = init["start"], init["runs"]
    return html.Aside(
        [
            _section(
                "Surface",
                dcc.Dropdown(
                    id=ids.SURFACE,
                    options=surface_options(),
                    value=init["surface"],
                    clearable=False,
                    className="surface-dd",
                ),
                html.Div(surface_formula(init["surface"]), id=ids.SURFACE_FORMULA),
                expression_box(),
                network_box.box(),
            ),
            _section(
                "Optimizers",
                dcc.Dropdown(
                    id=ids.OPTIMIZERS,
                    options=optimizer_options(runs),
                    value=init["selected"],
                    multi=True,
                    clearable=True,
                    placeholder="choose one or more…",
                    className="opt-dd",
                ),
                *library_picker.line(),
                _msg(ids.OPTIMIZERS_MSG),
                html.Div(
                    [
                        optimizer_card(
                            n,
                            runs.get(n, {}).get("hyper", {}),
                            runs.get(n, {}).get("label", ""),
                            runs.get(n, {}).get("colour", ""),
                        )
                        for n in init["selected"]
                    ],
                    id=ids.HYPER_PANEL,
                    className="hyper-panel",
                ),
                rule_editor.box(),
            ),
            _section(
                "Run",
                html.Div(
                    [
                        html.Label("steps", htmlFor=ids.STEPS),
                        dcc.Input(
                            id=ids.STEPS,
                            type="text",
                            value=str(init["steps"]),
                            debounce=True,
                            inputMode="numeric",
                            className="num-input",
                            placeholder=f"1 to {MAX_STEPS:,}",
                        ),
                    ],
                    className="field",
                ),
                _msg(ids.STEPS_MSG),
                html.Div(
                    [
                        html.Div(
                            [
                                html.Label("start", htmlFor=ids.START_X),
                                *(
                                    dcc.Input(
                                        id=id_,
                                        type="text",
                                        value=fmt(v),
                                        debounce=True,
                                        inputMode="decimal",
                                        className="num-input",
                                    )
                                    for id_, v in zip(START_BOXES, start, strict=True)
                                ),
                            ],
                            className="field",
                        ),
                        html.P("or click the contour map", className="hint"),
                    ],
                    id=ids.START_ROW,
                ),
                _msg(ids.START_MSG),
                dcc.Checklist(
                    id=ids.ARROWS,
                    className="arrows-toggle",
                    options=[
                        {
                            "label": " arrows at the current step: −∇f and, for "
                            "momentum rules, the velocity",
                            "value": "on",
                        }
                    ],
                    value=[],
                ),
                _msg(ids.RUN_MSG, "msg run-msg"),
            ),
            html.Section(
                export_panel.panel(), id=ids.EXPORT_PANEL, className="panel-section export-panel"
            ),
        ],
        id=ids.SIDEBAR,
        className="sidebar",
    )


def playback() -> html.Div:
    def button(id_, text, title):
        return html.Button(text, id=id_, title=title, className="pb-btn", n_clicks=0)

    return html.Div(
        [
            button(ids.TO_START, "|◀", "back to step 0 (Home)"),
            button(ids.STEP_BACK, "◀", "one step back (←)"),
            html.Button(
                "▶", id=ids.PLAY, title="play / pause (space)", className="pb-btn play", n_clicks=0
            ),
            button(ids.STEP_FORWARD, "▶", "one step forward (→)"),
            button(ids.TO_END, "▶▶|", "to the last step (End)"),
            dcc.Input(
                id=ids.SCRUB, type="range", min=0, max=300, step=1, value=0, className="scrub"
            ),
            html.Span("step 0 / 300", id=ids.STEP_LABEL, className="step-label"),
            html.Label("speed", htmlFor=ids.SPEED, className="inline-label"),
            dcc.Dropdown(
                id=ids.SPEED,
                options=[{"label": t, "value": v} for v, t in SPEEDS],
                value=1,
                clearable=False,
                searchable=False,
                className="speed-dd",
            ),
            dcc.Checklist(
                id=ids.LOOP,
                options=[{"label": " loop", "value": "on"}],
                value=["on"],
                className="loop-toggle",
            ),
        ],
        className="playback",
    )


def _stacked(bottom_id, top_id, title, top_config=OVERLAY_CONFIG) -> html.Div:
    return html.Div(
        [
            html.Div(title, className="view-title"),
            html.Div(
                [
                    dcc.Graph(id=bottom_id, config=GRAPH_CONFIG, className="layer bottom"),
                    dcc.Graph(id=top_id, config=top_config, className="layer top"),
                ],
                className="stack",
            ),
        ],
        className="view",
    )


def panel_tabs(loss_and_results) -> html.Div:
    """The analysis tabs below the views, every pane mounted at all times.

    ``dcc.Tabs`` renders only the selected tab's children; a callback whose input or
    output sits in another tab (the loss plot, the network's batch size) would then not
    fire. So the tab strip holds headers only and the panes are shown and hidden by a
    clientside callback (``optviz.showPane``).
    """
    from viz.ui.panels import convergence, network, phase, sweep, tune

    panes = [
        ("Loss & results", "loss", loss_and_results),
        ("Convergence map", "map", convergence.layout()),
        ("LR sweep", "sweep", sweep.layout()),
        ("Tune", "tune", tune.layout()),  # issue #17
        ("Phase diagram", "phase", phase.layout()),
        ("Network", "network", network.layout()),
    ]
    strip = dcc.Tabs(
        [
            dcc.Tab(
                label=label,
                value=value,
                className="panel-tab",
                selected_className="panel-tab selected",
            )
            for label, value, _ in panes
        ],
        id=ids.PANEL_TABS,
        value="loss",
        mobile_breakpoint=0,  # a row of tabs at every width (assets/optviz.css narrows them)
        className="panel-tabs",
        parent_className="panel-tabs-box",
    )
    return html.Div(
        [
            strip,
            html.Div(
                [
                    html.Div(
                        content,
                        id=ids.panel_pane(value),
                        className="panel-pane",
                        style={}
                        if value == "loss"
                        else {"visibility": "hidden", "height": 0, "overflow": "hidden"},
                    )
                    for _, value, content in panes
                ],
                className="panel-tab-content",
            ),
            *progress.components(),
        ],
        className="panel-tabs-wrap",
    )


def accuracy_strip() -> html.Div:
    from viz.ui.panels import accuracy

    return accuracy.layout()


def network_strip() -> html.Div:
    from viz.ui.panels import netstrip

    return netstrip.layout()


def main_area() -> html.Main:
    return html.Main(
        [
            playback(),
            html.Div(id=ids.LEGEND, className="legend"),
            html.Div(
                [
                    _stacked(
                        ids.CONTOUR,
                        ids.CONTOUR_TOP,
                        ["Contour map", html.Span(" — click to set the start", id=ids.START_HINT)],
                    ),
                    _stacked(
                        ids.SURFACE3D,
                        ids.SURFACE3D_TOP,
                        "Surface — drag to turn",
                        OVERLAY3D_CONFIG,
                    ),
                ],
                className="views",
            ),
            accuracy_strip(),  # a classifier's accuracy per step (Radford's noisy moons)
            network_strip(),  # the network scene's projection check and boundaries
            panel_tabs(
                html.Div(
                    [
                        html.Div(
                            [
                                html.Div("Loss", className="view-title"),
                                dcc.Graph(id=ids.LOSS, config=GRAPH_CONFIG, className="loss"),
                            ],
                            className="card loss-card",
                        ),
                        html.Div(
                            [
                                html.Div(
                                    [
                                        html.Span("Results", className="view-title"),
                                        html.Label(
                                            "tolerance",
                                            htmlFor=ids.TOLERANCE,
                                            className="inline-label",
                                        ),
                                        dcc.Input(
                                            id=ids.TOLERANCE,
                                            type="text",
                                            value=fmt(link.DEFAULT_TOLERANCE),
                                            debounce=True,
                                            className="num-input small",
                                        ),
                                    ],
                                    className="results-head",
                                ),
                                _msg(ids.TOLERANCE_MSG),
                                html.Div(id=ids.RESULTS, className="results"),
                            ],
                            className="card results-card",
                        ),
                    ],
                    className="below",
                )
            ),
        ],
        className="main",
    )


def layout() -> html.Div:
    init = initial()
    return html.Div(
        [
            header(init),
            html.Div([sidebar(init), main_area()], className="body"),
            dcc.Store(id=ids.TRAJ),
            dcc.Store(id=ids.SCENE_STATE),
            dcc.Store(id=ids.MSG_SHOWN, data=[]),
            dcc.Store(
                id=ids.PRESET_HYPER,
                data={"preset": init["preset"], "runs": init["runs"]} if init["preset"] else {},
            ),
            dcc.Store(id=ids.CLOCK),
            dcc.Store(id=ids.PRESET_DRAWN),
            dcc.Store(id=ids.SURFACE_DRAWN),
            *share_box.components(),
        ],
        className="app",
    )
