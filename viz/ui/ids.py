"""Component ids of the Dash app, in one place (layout, callbacks, tests, and assets/*.js
through the generated assets/optviz-00-ids.js: `python -m viz.ui.ids` rewrites it).

Plain string ids for the singletons; pattern-matching dict ids for the controls that
repeat once per chosen optimizer (one per hyperparameter, generated from the specs).
"""

from __future__ import annotations

# Scene choice
PRESET = "preset"
PRESET_NOTE = "preset-note"
PRESET_CHANGED = "preset-changed"  # the scene is no longer the preset its note describes
SURFACE = "surface"
SURFACE_FORMULA = "surface-formula"
OPTIMIZERS = "optimizers"
OPTIMIZERS_MSG = "optimizers-msg"
HYPER_PANEL = "hyper-panel"
STEPS = "steps"
STEPS_MSG = "steps-msg"
START_X = "start-x"
START_Y = "start-y"
START_MSG = "start-msg"
ARROWS = "arrows"
TOLERANCE = "tolerance"
TOLERANCE_MSG = "tolerance-msg"
RUN_MSG = "run-msg"  # messages about the run as a whole (e.g. every optimizer diverged)
EXPORT_PANEL = "export-panel"  # the GIF export panel goes here
EXPORT_VIEW = "export-view"  # viz/export_panel.py: contour | 3d | both
EXPORT_FRAMES = "export-frames"
EXPORT_FRAMES_MSG = "export-frames-msg"
EXPORT_FPS = "export-fps"
EXPORT_FPS_MSG = "export-fps-msg"
EXPORT_WIDTH = "export-width"
EXPORT_HEIGHT = "export-height"
EXPORT_SIZE_MSG = "export-size-msg"
EXPORT_BTN = "export-btn"
EXPORT_CANCEL = "export-cancel"
EXPORT_PROGRESS_BOX = "export-progress-box"
EXPORT_PROGRESS = "export-progress"
EXPORT_PROGRESS_LABEL = "export-progress-label"
EXPORT_MSG = "export-msg"  # errors (and "did not finish")
EXPORT_STATUS = "export-status"  # what the last export made
EXPORT_DOWNLOAD = "export-download"
EXPORT_CAMERA = "export-camera"  # the 3-D graph's live camera (clientside)
EXPORT_PAGE = "export-page"  # a per-page id: keeps exports' results apart, keys progress
EXPORT_WATCHDOG = "export-watchdog"  # interval: an export with no word from the server

# Analysis panels below the views (viz/panels/)
PANEL_TABS = "panel-tabs"
MAP_OPT = "map-opt"  # convergence map (viz/panels/convergence.py)
MAP_N = "map-n"
MAP_STEPS = "map-steps"
MAP_COLOUR = "map-colour"
MAP_BTN = "map-btn"
MAP_MSG = "map-msg"
MAP_GRAPH = "map-graph"
MAP_SUMMARY = "map-summary"
MAP_META = "map-meta"
SWEEP_LO = "sweep-lo"  # learning-rate sweep (viz/panels/sweep.py)
SWEEP_HI = "sweep-hi"
SWEEP_COUNT = "sweep-count"
SWEEP_STEPS = "sweep-steps"
SWEEP_METRIC = "sweep-metric"
SWEEP_BTN = "sweep-btn"
SWEEP_MSG = "sweep-msg"
SWEEP_GRAPH = "sweep-graph"
SWEEP_META = "sweep-meta"  # the race the sweep shown is of (panels.common.race_ident)
NET_BATCH = "net-batch"  # network panel (viz/panels/network.py)
NET_BATCH_MSG = "net-batch-msg"
NET_OPT = "net-opt"
NET_MSG = "net-msg"
NET_CURVES = "net-curves"
NET_BOUNDARY = "net-boundary"
NET_TRAJ = "net-traj"  # the runs, copied from TRAJ only for a network scene
ACC_STRIP = "acc-strip"  # accuracy per step under the views (viz/ui/panels/accuracy.py)
ACC_STRIP_BOX = "acc-strip-box"
# The network scene (surface "network"; viz/ui/network_box.py, viz/ui/panels/netstrip.py)
NETWORK_BOX = "network-box"  # its controls in the Surface section, shown for it only
START_ROW = "start-row"  # the start boxes and hint, hidden for the network scene
START_HINT = "start-hint"  # "— click to set the start" after the contour's title
NETWORK_DATA = "network-data"
NETWORK_WIDTHS = "network-widths"
NETWORK_ACT = "network-act"
NETWORK_PLANE = "network-plane"
NETWORK_SAMPLES = "network-samples"
NETWORK_BATCH = "network-batch"
NETWORK_SEED = "network-seed"
NETWORK_NOISE = "network-noise"
NETWORK_GRID = "network-grid"
NETWORK_REF = "network-ref"
NETWORK_MSG = "network-msg"
NETWORK_NOTE = "network-note"  # the plane's reference and explained variance
NET_STRIP_BOX = "net-strip-box"  # under the views: the projection check and boundaries
NET_CHECK = "net-check"
NET_BOUNDARIES = "net-boundaries"
NET_SCENE = "net-scene"  # the network scene's data, copied from SCENE_STATE for it only

# Progress of a running analysis (viz/ui/progress.py, assets/optviz-85-progress.js)
ANALYSIS_TICK = "analysis-tick"  # interval: asks how far the pending analyses have got
ANALYSIS_PENDING = "analysis-pending"  # {panel: when its request was sent (client ms)}
ANALYSIS_ASK = "analysis-ask"  # {panels, t}: what the page asks the server
ANALYSIS_SEEN = "analysis-seen"  # {t, panels: {panel: {f, s, done}}}: the answer
TUNE_PROGRESS = "tune-progress"  # each panel's bar (+ "-bar", "-label")
PHASE_PROGRESS = "phase-progress"
SWEEP_PROGRESS = "sweep-progress"
MAP_PROGRESS = "map-progress"

# Page frame
SIDEBAR = "sidebar"  # the settings column (a drawer on narrow screens)
SIDEBAR_TOGGLE = "sidebar-toggle"  # its "Settings" button on narrow screens

# Views
CONTOUR = "contour"  # static background: contour lines, minima
CONTOUR_TOP = "contour-top"  # transparent overlay: trails, dots, arrows (animated)
SURFACE3D = "surface3d"  # static background: the surface
SURFACE3D_TOP = "surface3d-top"  # transparent overlay: paths on the surface (animated)
LOSS = "loss"
RESULTS = "results"
LEGEND = "legend"

# Playback (driven by assets/optviz-40-playback.js, no server round trip)
PLAY = "play"
STEP_BACK = "step-back"
STEP_FORWARD = "step-forward"
TO_START = "to-start"
TO_END = "to-end"
SCRUB = "scrub"
STEP_LABEL = "step-label"
SPEED = "speed"
LOOP = "loop"

# Stores
TRAJ = "traj"  # trajectories only: what the browser animates
SCENE_STATE = "scene-state"  # the current valid settings (kept when an input is bad)
MSG_SHOWN = "msg-shown"  # which of the recompute's message boxes show text now
PRESET_HYPER = "preset-hyper"  # hyperparameters/labels/colours a preset asks for
CLOCK = "clock"  # dummy output of the clientside playback callbacks
# A scene drawn straight from the preset or surface list's own answer (its runs are in
# TRAJ): one store per list, so that no pending callback holds back drawing its overlays.
PRESET_DRAWN = "preset-drawn"
SURFACE_DRAWN = "surface-drawn"

# Pattern-matching ids, one per optimizer × hyperparameter.
HYPER = "hyper"  # the typed value (the source of truth)
HYPER_SLIDER = "hyper-slider"  # log/linear slider beside it
HYPER_BOOL = "hyper-bool"  # checkbox for a bool hyperparameter
HYPER_MSG = "hyper-msg"
CARD_TITLE = "card-title"  # an optimizer card's name, its values written into its label


PANEL_PANE = "panel-pane"  # one per analysis tab, always mounted (see layout.panel_tabs)


def panel_pane(tab: str) -> dict:
    return {"type": PANEL_PANE, "tab": tab}


def hyper(opt: str, name: str) -> dict:
    return {"type": HYPER, "opt": opt, "name": name}


def hyper_slider(opt: str, name: str) -> dict:
    return {"type": HYPER_SLIDER, "opt": opt, "name": name}


def hyper_bool(opt: str, name: str) -> dict:
    return {"type": HYPER_BOOL, "opt": opt, "name": name}


def hyper_msg(opt: str, name: str) -> dict:
    return {"type": HYPER_MSG, "opt": opt, "name": name}


def card_title(opt: str) -> dict:
    return {"type": CARD_TITLE, "opt": opt}


# Issue 5: your own function, schedules and noise, share links.
EXPRESSION = "expression"  # the "f(x, y) =" text box
EXPRESSION_BOX = "expression-box"
RANGE_ROW = "range-row"  # the window boxes of your own f(x, y), shown for it alone
X_RANGE = "x-range"
Y_RANGE = "y-range"
EXPRESSION_MSG = "expression-msg"
URL = "url"  # dcc.Location: the shared state lives in its hash
SHARE_LINK = "share-link"  # the link as text (what Copy link copies)
SHARE_COPY = "share-copy"  # dcc.Clipboard
SHARE_MSG = "share-msg"  # a malformed link's message
SHARE_CAMERA = "share-camera"  # the camera a shared link asked for

SCHED = "sched"  # per optimizer: the schedule's name (dropdown)
SCHED_PARAMS = "sched-params"  # container of the schedule's parameter inputs
SCHED_PARAM = "sched-param"  # one parameter's typed value
SCHED_PLOT = "sched-plot"  # lr against step
SCHED_MSG = "sched-msg"
NOISE = "noise"  # gradient noise σ
NOISE_SEED = "noise-seed"
NOISE_MSG = "noise-msg"


def sched(opt: str) -> dict:
    return {"type": SCHED, "opt": opt}


def sched_params(opt: str) -> dict:
    return {"type": SCHED_PARAMS, "opt": opt}


def sched_param(opt: str, name: str) -> dict:
    return {"type": SCHED_PARAM, "opt": opt, "name": name}


def sched_plot(opt: str) -> dict:
    return {"type": SCHED_PLOT, "opt": opt}


def sched_msg(opt: str) -> dict:
    return {"type": SCHED_MSG, "opt": opt}


def noise(opt: str) -> dict:
    return {"type": NOISE, "opt": opt}


def noise_seed(opt: str) -> dict:
    return {"type": NOISE_SEED, "opt": opt}


def noise_msg(opt: str) -> dict:
    return {"type": NOISE_MSG, "opt": opt}


# ----------------------------------------------------------------------------- browser side

JS_FILE = "optviz-00-ids.js"  # in assets/: "00" so it loads before the files that read it


def js_ids() -> dict[str, str]:
    """Every string id above by its Python name (the table assets/*.js read)."""
    return {
        name: value
        for name, value in globals().items()
        if name.isupper() and isinstance(value, str) and name != "JS_FILE"
    }


def js_source() -> str:
    """The text of assets/optviz-00-ids.js: ``window.dash_clientside.optviz.ids``."""
    import json

    rows = "\n".join(f"    {name}: {json.dumps(value)}," for name, value in js_ids().items())
    return (
        "// Generated from viz/ui/ids.py by `python -m viz.ui.ids`: do not edit by hand.\n"
        "// tests/viz/test_ids_js.py fails when this file is out of date.\n"
        "(function () {\n"
        '  "use strict";\n'
        "  const dc = (window.dash_clientside = window.dash_clientside || {});\n"
        "  const ns = (dc.optviz = dc.optviz || {});\n"
        "  ns.ids = Object.freeze({\n"
        f"{rows}\n"
        "  });\n"
        "})();\n"
    )


def write_js(assets_dir=None):
    """Write assets/optviz-00-ids.js (or into ``assets_dir``); return its path."""
    from pathlib import Path

    folder = Path(assets_dir) if assets_dir else Path(__file__).resolve().parents[2] / "assets"
    path = folder / JS_FILE
    path.write_text(js_source(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_js())
