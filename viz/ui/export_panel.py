"""The app's "Export" panel: the CLI's choices, a progress bar, a download when done.

Formats (the menu): GIF, MP4, WebM, WebP, APNG from the one renderer (``viz.gif``), and
HTML, the standalone interactive page (``viz.figures.page``); each download is named
with its format's extension. A title and a step counter can be drawn in the frame.

The export runs as a Dash *background* callback (``DiskcacheManager``): the render happens
in its own process and its progress and result go through a disk cache, so any gunicorn
worker can answer the browser's polls and a long export never holds up anyone's other
callbacks. At most ``OPTVIZ_EXPORT_JOBS`` (2) exports render at once per machine (slots
kept in the same cache); one more gets "the server is busy exporting".

What is exported is the scene the app shows: the ``Scene`` held in the ``SCENE_STATE``
store (written by ``viz.ui.callbacks.compute``), read back through the share link's codec,
never rebuilt from the raw inputs; its runs under the export's budget. The 3-D view uses
the camera the user left the surface graph at.

Crash safety: when a job ends without an answer (cancelled, or its process killed), Dash
switches the "running" outputs back; that switch writes ``INCOMPLETE`` into the message
line and re-enables Export. A finished job's own message arrives after that switch and
replaces it (the renderer applies the running-off values before the outputs).

The job manager, its cache and the export slots live in ``viz.ui.jobs``.

``export(...)`` is the callback as a plain function (tests/viz/test_export_panel.py);
``register(app)`` wires it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

import diskcache
from dash import Input, Output, State, dcc, html, no_update

from optimizers import library
from optimizers.budget import Budget
from viz import gif
from viz.figures import page, uirevision_3d
from viz.gif.labels import check_title
from viz.scene import Scene, link, validate
from viz.ui import ids
from viz.ui.jobs import CACHE_TIMEOUT, ExportSlots

PROGRESS_EVERY = 0.25  # seconds between progress writes to the cache
POLL_MS = 500

log = logging.getLogger("optviz")

# This panel's own controls (kept here, not in viz.ui.ids: no browser script reads them)
EXPORT_FORMAT = "export-format"  # GIF | MP4 | WebM | WebP | APNG | HTML
EXPORT_COUNTER = "export-counter"  # checklist: draw the step counter in the frame
EXPORT_TITLE = "export-title"  # a title drawn in the frame

VIEW_LABELS = {"contour": "contour", "3d": "3-D", "both": "both"}
# the format menu: key -> (label, extension, MIME type)
FORMATS = {
    **{k: (f.name, f.extension, f.mime) for k, f in gif.FORMATS.items()},
    "html": ("HTML page", ".html", "text/html"),
}
BUSY = "The server is busy exporting other GIFs; try again in a moment."
NO_SCENE = "There is no valid scene to export yet: fix the settings above first."
INCOMPLETE = (
    "The export did not finish (cancelled, or the server stopped it). Nothing was "
    "downloaded; you can export again."
)
FAILED = "The export failed on the server; nothing was downloaded. Please try again."
STALL_S = 90  # no progress for this long while exporting: the page stops waiting
STALLED = (
    "No word from the server about the export for a while (it may have restarted). "
    "Export is available again."
)

# The camera the 3-D background shows, as {"camera", "rev": the figure's uirevision,
# "user": turned by the user}. A drag records the user's; a new figure brings its own
# (a preset's camera, a link's) unless it keeps the uirevision of a view the user turned,
# which Plotly then keeps on screen too.
_CAMERA_JS = """
function (relayout, figure, stored) {
  var nu = window.dash_clientside.no_update;
  var ctx = window.dash_clientside.callback_context;
  var byFigure = ((ctx && ctx.triggered) || []).some(function (t) {
    return String(t.prop_id).endsWith(".figure");
  });
  var copy = function (c) { return c ? JSON.parse(JSON.stringify(c)) : null; };
  if (byFigure) {
    var fl = (figure && figure.layout) || {}, fcam = fl.scene && fl.scene.camera;
    if (!fcam || (stored && stored.user && stored.rev === fl.uirevision)) return nu;
    return {camera: copy(fcam), rev: fl.uirevision, user: false};
  }
  var g = document.querySelector("#SURFACE3D_ID .js-plotly-plot");
  var gl = (g && g.layout) || {}, turned = relayout && relayout["scene.camera"];
  var cam = turned || (gl.scene && gl.scene.camera);  // Plotly keeps gl current (public API)
  if (!cam) return nu;
  if (!turned && stored && stored.user && stored.rev === gl.uirevision) return nu;
  return {camera: copy(cam), rev: gl.uirevision, user: !!turned};
}
""".replace("SURFACE3D_ID", ids.SURFACE3D)


def page_camera(stored, scene: Scene) -> dict | None:
    """The camera the page shows for ``scene`` (from the store ``_CAMERA_JS`` writes), or
    None where the store is of another scene's figure (a preset just picked: the page is
    about to show the scene's own camera)."""
    if not isinstance(stored, dict) or stored.get("rev") != uirevision_3d(scene.style):
        return None
    camera = stored.get("camera")
    return camera if isinstance(camera, dict) and camera else None


# While an export runs, every few seconds: has the progress label changed lately? The poll
# loop of a background callback ends for good if one poll gets no answer at all (its
# worker killed mid-request), and then nothing would ever re-enable Export.
_WATCHDOG_JS = """
function (n, label) {
  var nu = window.dash_clientside.no_update, now = Date.now();
  var w = window._optvizExportWatch;
  if (!w || n <= 1 || label !== w.label) {
    window._optvizExportWatch = {label: label, since: now};
    return [nu, nu, nu, nu];
  }
  if (now - w.since < STALL_MS) return [nu, nu, nu, nu];
  window._optvizExportWatch = null;
  return [false, true, "export-progress", STALLED_TEXT];
}
"""


# ----------------------------------------------------------------------------- scene


def scene_from_state(state) -> Scene:
    """The ``Scene`` the page shows: its store's scene data, read (and so checked again,
    since it comes back from the browser) by the one codec."""
    if not isinstance(state, dict) or not isinstance(state.get("scene"), dict):
        raise ValueError(NO_SCENE)
    return link.scene_from_dict(state["scene"])


# The runs this (web) process computed for the export jobs it forks, by scene, or the
# message of the error that stopped them. JAX hangs compiling in a process forked from
# one where its threads run: a scene with an optax rule is then computed here and
# reaches its job through the fork, so no job runs JAX. A few are kept; the same scene
# always gives the same runs.
_HANDED: OrderedDict[str, list | str] = OrderedDict()
HANDED_MAX = 4
_handed_lock = threading.Lock()


def _digest(state) -> str | None:
    try:
        return hashlib.sha256(json.dumps(state["scene"], sort_keys=True).encode()).hexdigest()
    except (TypeError, KeyError, ValueError):
        return None


def hand_over(state) -> None:
    """Before an export job forks, in the web process: compute its runs here if JAX has
    started in this process and the scene needs it (the job could not)."""
    key = _digest(state)
    if "jax" not in sys.modules or key is None:
        return
    try:
        scene = scene_from_state(state)
    except ValueError:
        return  # the job meets the same error before it computes, and says it
    if not any(library.needs_jax(r.optimizer) for r in scene.runs):
        return
    try:
        runs = scene.compute(Budget.of("export"))
    except ValueError as exc:  # the job says it instead of computing (with JAX) itself
        runs = str(exc)
    with _handed_lock:
        _HANDED[key] = runs
        _HANDED.move_to_end(key)
        while len(_HANDED) > HANDED_MAX:
            _HANDED.popitem(last=False)


def _handed(state) -> list | str | None:
    """The runs the web process handed to this job, or its error's message (no lock: a
    forked job has one thread, and the lock may have been held by another of its
    parent's when it forked)."""
    return _HANDED.get(_digest(state))


# ----------------------------------------------------------------------------- options


def _number_or_none(value, what: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return validate.number(value, what)


def parse_options(scene, view, frames, fps, width, height, camera):
    """``(options for render_gif_bytes, {control: message})``; options ``None`` on any error.

    Blank frames/fps/size mean the scene's own (as the CLI's defaults). Each control is
    checked on its own, so every bad one gets its message at once.
    """
    msgs: dict[str, str] = {}
    view = view if view in gif.VIEWS else None
    if view is None:
        msgs["msg"] = f"view must be one of {', '.join(gif.VIEWS)}"
        view = "contour"
    values: dict = {}
    for key, what, raw in (("frames", "frames", frames), ("fps", "fps", fps)):
        try:
            values[key] = _number_or_none(raw, what)
            gif.check_options(scene, view, **{key: values[key]})
        except ValueError as exc:
            msgs[key] = str(exc)
    try:
        w, h = _number_or_none(width, "width"), _number_or_none(height, "height")
        if (w is None) != (h is None):
            raise ValueError("size: enter both width and height, or leave both blank")
        values["size"] = None if w is None else (w, h)
        gif.check_options(scene, view, size=values["size"])
    except ValueError as exc:
        msgs["size"] = str(exc)
    cam = camera if isinstance(camera, dict) and camera else None
    if view != "contour":
        try:
            gif.check_options(scene, view, camera=cam)
        except ValueError as exc:
            msgs["msg"] = f"3-D view: {exc}"
    if msgs:
        return None, msgs
    try:
        opts = gif.check_options(scene, view, values["frames"], values["fps"], values["size"], cam)
    except ValueError as exc:
        return None, {"msg": str(exc)}
    return opts, {}


def filename(scene, view: str, fmt: str = "gif") -> str:
    surface = re.sub(r"[^A-Za-z0-9_.-]+", "-", scene.surface_name).strip("-.")[:40] or "surface"
    return f"optviz-{surface}-{view}{FORMATS[fmt][1]}"


def _extras(fmt, counter, title) -> tuple[str, dict, dict]:
    """``(format, {title, counter}, {control: message})`` from the menu and the two boxes."""
    msgs: dict[str, str] = {}
    if fmt not in FORMATS:
        msgs["msg"] = f"format must be one of {', '.join(v[0] for v in FORMATS.values())}"
        fmt = "gif"
    on = bool(counter) and isinstance(counter, list) and "on" in counter
    text = title if isinstance(title, str) else None
    try:
        text = check_title(text)  # the renderer's rule
    except ValueError as exc:
        msgs["msg"] = str(exc)
    return fmt, {"title": text, "counter": on}, msgs


def _render(fmt, scene, opts, extra, progress, trajectories) -> bytes:
    """The file's bytes: GIF as ever, the other images and videos from the same frames
    under a render budget (its deadline kills ffmpeg), or the standalone page."""
    args = (scene, opts.view, opts.frames, opts.fps, opts.size, opts.camera, progress)
    budget = gif.render_budget()
    if fmt == "gif":
        return gif.render_gif_bytes(*args, trajectories, **extra, budget=budget)
    if fmt == "html":
        return page.render_html(
            scene, opts.view, opts.frames, opts.fps, opts.size, None, progress, trajectories,
            title=extra["title"],
        )  # fmt: skip
    return gif.render(scene, fmt, *args[1:], trajectories, **extra, budget=budget)


# ----------------------------------------------------------------------------- callback

Outputs = tuple  # (download data, message, status, frames msg, fps msg, size msg)


def _answer(msgs: dict, download=no_update, status: str = "") -> Outputs:
    return (
        download,
        msgs.get("msg", ""),
        status,
        msgs.get("frames", ""),
        msgs.get("fps", ""),
        msgs.get("size", ""),
    )


def export(
    set_progress: Callable | None,
    n_clicks,
    view,
    frames,
    fps,
    width,
    height,
    camera,
    state,
    slots: ExportSlots | None = None,
    fmt="gif",
    counter=None,
    title=None,
) -> Outputs:
    """One click on Export: check, take a slot, render with progress, hand back the file.

    Returns the dcc.Download data (``no_update`` unless a file was made), the message line,
    the status line and the frames/fps/size messages. ``fmt`` is a key of ``FORMATS``;
    ``counter`` the checklist's value (``["on"]``: draw it), ``title`` the title box's.
    """
    if not n_clicks:
        return _answer({})
    try:
        scene = scene_from_state(state)
    except ValueError as exc:
        return _answer({"msg": str(exc)})
    fmt, extra, bad = _extras(fmt, counter, title)
    camera = page_camera(camera, scene)
    opts, msgs = parse_options(scene, view, frames, fps, width, height, camera)
    if opts is None or bad:
        return _answer({**msgs, **bad})
    try:
        slot = slots.acquire() if slots is not None else None
    except diskcache.Timeout:  # the slots' cache stayed locked: as busy as it gets
        log.warning("export slots: cache locked for %s s", CACHE_TIMEOUT)
        return _answer({"msg": BUSY})
    if slots is not None and slot is None:
        return _answer({"msg": BUSY})
    try:
        try:
            # after the slot: a refused export costs no runs
            trajectories = _handed(state) or scene.compute(Budget.of("export"))
            if isinstance(trajectories, str):
                raise ValueError(trajectories)
        except ValueError as exc:
            return _answer({"msg": str(exc)})
        total = len(gif.frame_steps(scene.steps, opts.frames))
        last = [0.0]

        def progress(done: int, _total: int) -> None:
            now = time.monotonic()
            if set_progress is not None and (done == _total or now - last[0] >= PROGRESS_EVERY):
                last[0] = now
                set_progress((done, _total, f"frame {done} / {_total}"))

        if set_progress is not None:
            set_progress((0, total, f"frame 0 / {total}"))
        t0 = time.perf_counter()
        data = _render(fmt, scene, opts, extra, progress, trajectories)
        seconds = time.perf_counter() - t0
    finally:
        if slots is not None:
            slots.release(slot)
    name = filename(scene, opts.view, fmt)
    w, h = opts.size
    download = {
        "content": base64.b64encode(data).decode("ascii"),
        "filename": name,
        "base64": True,
        "type": FORMATS[fmt][2],
    }
    what = f"every step, {w}×{h}" if fmt == "html" else f"{total} frames, {w}×{h}, {opts.fps} fps"
    status = f"✓ {name}: {what}, {len(data) / 1024:.0f} KiB in {seconds:.1f} s"
    return _answer({}, download, status)


# ----------------------------------------------------------------------------- layout


def _field(label: str, *controls, msg_id: str) -> list:
    return [
        html.Div([html.Label(label, htmlFor=controls[0].id), *controls], className="field"),
        html.Div(id=msg_id, className="msg", role="status", **{"aria-live": "polite"}),
    ]


def _num(id_, placeholder: str, mode: str = "numeric") -> dcc.Input:
    return dcc.Input(
        id=id_,
        type="text",
        value="",
        inputMode=mode,
        placeholder=placeholder,
        className="num-input",
        autoComplete="off",
    )


def panel() -> list:
    """The children of the ``EXPORT_PANEL`` section."""
    return [
        html.H3("Export", className="section-title"),
        html.Div(
            [
                html.Label("format", htmlFor=EXPORT_FORMAT),
                dcc.Dropdown(
                    id=EXPORT_FORMAT,
                    options=[{"label": v[0], "value": k} for k, v in FORMATS.items()],
                    value="gif",
                    clearable=False,
                    searchable=False,
                    className="export-format",
                ),
            ],
            className="field",
        ),
        dcc.RadioItems(
            id=ids.EXPORT_VIEW,
            options=[{"label": f" {t}", "value": v} for v, t in VIEW_LABELS.items()],
            value="contour",
            inline=True,
            className="export-view",
        ),
        *_field(
            "frames",
            _num(ids.EXPORT_FRAMES, "auto"),
            msg_id=ids.EXPORT_FRAMES_MSG,
        ),
        *_field("fps", _num(ids.EXPORT_FPS, "auto"), msg_id=ids.EXPORT_FPS_MSG),
        *_field(
            "size",
            _num(ids.EXPORT_WIDTH, "width"),
            html.Span("×", className="times"),
            _num(ids.EXPORT_HEIGHT, "height"),
            msg_id=ids.EXPORT_SIZE_MSG,
        ),
        html.Div(
            [
                html.Label("title", htmlFor=EXPORT_TITLE),
                dcc.Input(
                    id=EXPORT_TITLE,
                    type="text",
                    value="",
                    maxLength=120,
                    placeholder="none",
                    autoComplete="off",
                    className="text-input",
                ),
                dcc.Checklist(
                    id=EXPORT_COUNTER,
                    options=[{"label": " step counter", "value": "on"}],
                    value=[],
                    inline=True,
                ),
            ],
            className="field",
        ),
        html.P(
            f"Blank: the scene's own (every step up to {gif.DEFAULT_MAX_FRAMES}). Up to "
            f"{gif.MAX_FRAMES:,} frames, "
            f"{gif.MAX_SIZE[0]}×{gif.MAX_SIZE[1]} px; the 3-D view uses the camera you set.",
            className="hint",
        ),
        html.Div(
            [
                html.Button("Export", id=ids.EXPORT_BTN, n_clicks=0, className="export-btn"),
                html.Button(
                    "Cancel",
                    id=ids.EXPORT_CANCEL,
                    n_clicks=0,
                    disabled=True,
                    className="export-cancel",
                ),
            ],
            className="export-buttons",
        ),
        html.Div(
            [
                html.Progress(id=ids.EXPORT_PROGRESS, value="0", max="1"),
                html.Span("", id=ids.EXPORT_PROGRESS_LABEL, className="export-progress-label"),
            ],
            id=ids.EXPORT_PROGRESS_BOX,
            className="export-progress",
        ),
        html.Div(id=ids.EXPORT_MSG, className="msg", role="status", **{"aria-live": "polite"}),
        html.Div(id=ids.EXPORT_STATUS, className="export-status", role="status"),
        dcc.Download(id=ids.EXPORT_DOWNLOAD),
        dcc.Interval(id=ids.EXPORT_WATCHDOG, interval=5000, disabled=True),
        dcc.Store(id=ids.EXPORT_CAMERA),
        # A fresh id per page: Dash keys a background job's result by the callback's
        # arguments, so two pages exporting identical settings would share one result
        # (and one of them would lose it). This argument keeps their keys apart.
        dcc.Store(id=ids.EXPORT_PAGE, data=uuid.uuid4().hex),
    ]


# ----------------------------------------------------------------------------- wiring


def register(app, manager) -> None:
    """Wire the panel; its jobs run under ``manager`` (``viz.ui.jobs.make_manager``)."""
    slots = ExportSlots(manager.handle)

    app.clientside_callback(
        _CAMERA_JS,
        Output(ids.EXPORT_CAMERA, "data"),
        Input(ids.SURFACE3D, "relayoutData"),
        Input(ids.SURFACE3D, "figure"),
        State(ids.EXPORT_CAMERA, "data"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        _WATCHDOG_JS.replace("STALL_MS", str(int(STALL_S * 1000))).replace(
            "STALLED_TEXT", json.dumps(STALLED)
        ),
        Output(ids.EXPORT_BTN, "disabled"),
        Output(ids.EXPORT_CANCEL, "disabled"),
        Output(ids.EXPORT_PROGRESS_BOX, "className"),
        Output(ids.EXPORT_MSG, "children", allow_duplicate=True),
        Input(ids.EXPORT_WATCHDOG, "n_intervals"),
        State(ids.EXPORT_PROGRESS_LABEL, "children"),
        prevent_initial_call=True,
    )

    states = [
        State(ids.EXPORT_VIEW, "value"),
        State(ids.EXPORT_FRAMES, "value"),
        State(ids.EXPORT_FPS, "value"),
        State(ids.EXPORT_WIDTH, "value"),
        State(ids.EXPORT_HEIGHT, "value"),
        State(ids.EXPORT_CAMERA, "data"),
        State(ids.SCENE_STATE, "data"),
        State(ids.EXPORT_PAGE, "data"),
        State(EXPORT_FORMAT, "value"),
        State(EXPORT_COUNTER, "value"),
        State(EXPORT_TITLE, "value"),
    ]
    if hasattr(manager, "before_fork"):  # jobs forked from the web process (not Celery's)
        at = 1 + [s.component_id for s in states].index(ids.SCENE_STATE)  # after n_clicks
        manager.before_fork = lambda args: hand_over(args[at])

    @app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Output(ids.EXPORT_MSG, "children"),
        Output(ids.EXPORT_STATUS, "children"),
        Output(ids.EXPORT_FRAMES_MSG, "children"),
        Output(ids.EXPORT_FPS_MSG, "children"),
        Output(ids.EXPORT_SIZE_MSG, "children"),
        Input(ids.EXPORT_BTN, "n_clicks"),
        *states,
        background=True,
        manager=manager,
        interval=POLL_MS,
        running=[
            (Output(ids.EXPORT_BTN, "disabled"), True, False),
            (Output(ids.EXPORT_CANCEL, "disabled"), False, True),
            (
                Output(ids.EXPORT_PROGRESS_BOX, "className"),
                "export-progress running",
                "export-progress",
            ),
            (Output(ids.EXPORT_MSG, "children"), "", INCOMPLETE),
            (Output(ids.EXPORT_STATUS, "children"), "", ""),
            (Output(ids.EXPORT_WATCHDOG, "disabled"), False, True),
            (Output(ids.EXPORT_WATCHDOG, "n_intervals"), 0, 0),
        ],
        progress=[
            Output(ids.EXPORT_PROGRESS, "value"),
            Output(ids.EXPORT_PROGRESS, "max"),
            Output(ids.EXPORT_PROGRESS_LABEL, "children"),
        ],
        progress_default=["0", "1", ""],
        cancel=[Input(ids.EXPORT_CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def _export(
        set_progress, n_clicks, view, frames, fps, width, height, camera, state, _page, *more
    ):
        fmt, counter, title = more
        try:
            return export(
                set_progress,
                n_clicks,
                view,
                frames,
                fps,
                width,
                height,
                camera,
                state,
                slots,
                fmt,
                counter,
                title,
            )
        except Exception:  # a bug or a resource limit: a message, never a traceback
            log.exception("export failed")
            return _answer({"msg": FAILED})
