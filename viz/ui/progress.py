"""How far a running analysis has got, for its progress bar (tune, phase, sweep, map).

An analysis is one request (a plain callback, or with Redis a job on a worker); its
``Budget`` reports the share of its work done every ``REPORT_EVERY`` s (``reporter``).
The report goes to a board every web process can read: the private export cache in the
embedded mode, the deployment's Redis with ``OPTVIZ_REDIS_URL`` (the manager's handle).
While a request is pending, the page asks every ``POLL_MS``, each time once the last ask
is answered (``ask``, through assets/optviz-85-progress.js), and draws a bar under the
panel's controls from the first half second on. The key of a report is the page's own
id (``ids.EXPORT_PAGE``) and the panel: two pages never see each other's.

Progress is a courtesy: a board that fails (a locked cache, Redis gone) leaves the bar
where it was and never stops the analysis.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import sys
from collections.abc import Iterator

from dash import Input, Output, State, dcc, html

from optimizers.budget import LIMITS, Budget
from viz.ui import http, ids

PANELS = ("tune", "phase", "sweep", "map")  # each also the kind of its request (LIMITS)
BARS = {
    "tune": ids.TUNE_PROGRESS,
    "phase": ids.PHASE_PROGRESS,
    "sweep": ids.SWEEP_PROGRESS,
    "map": ids.MAP_PROGRESS,
}
POLL_MS = 250  # the page's asks while an analysis runs, each once the last is answered
RETRY_MS = 3000  # an ask unanswered this long is taken as lost: ask again
SHOW_AFTER_MS = 400  # a request pending this long gets a bar (the first report is at 0.2 s)
WAIT_S = int(max(LIMITS[k].seconds for k in PANELS)) + 30  # a lost answer: stop asking
TTL = 2 * WAIT_S  # s: a report outlives its request
_TOKEN = re.compile(r"[0-9a-f]{32}")  # the page's id: uuid4().hex (export_panel.layout)

log = logging.getLogger("optviz")
_BOARD = None  # where reports go: set by register() from the app's job manager


class DiskBoard:
    """Reports as short text values in the app's private diskcache (``viz.ui.jobs``)."""

    def __init__(self, cache):
        self.cache = cache

    def put(self, key: str, text: str) -> None:
        self.cache.set(key, text, expire=TTL)

    def get(self, key: str) -> str | None:
        value = self.cache.get(key)
        return value if isinstance(value, str) else None


class RedisBoard:
    """Reports as Redis strings with an expiry (the deployment's Redis)."""

    def __init__(self, client):
        self.client = client

    def put(self, key: str, text: str) -> None:
        self.client.set(key, text, ex=TTL)

    def get(self, key: str) -> str | None:
        value = self.client.get(key)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def board_of(handle):
    """The board of a job manager's handle: a diskcache, or a Celery app on Redis."""
    celery = sys.modules.get("celery")
    if celery is not None and isinstance(handle, celery.Celery):
        return RedisBoard(handle.backend.client)
    return DiskBoard(handle)


def _key(page: str, panel: str) -> str:
    return f"optviz-progress-{panel}-{page}"


def _put(key: str, record: dict) -> None:
    try:
        _BOARD.put(key, json.dumps(record))
    except Exception as exc:  # any store error: the bar waits, the run goes on
        log.warning("progress not written (%s: %s)", type(exc).__name__, exc)


class Reporter:
    """A request's reports for ``panel`` of the page ``page`` (``Budget``'s ``report``)."""

    def __init__(self, page: str, panel: str):
        self.key = _key(page, panel)
        _put(self.key, {"f": 0.0, "s": 0.0})  # a fresh record: the last run's "done" is gone

    def __call__(self, fraction: float, seconds: float) -> None:
        _put(self.key, {"f": round(float(fraction), 4), "s": round(float(seconds), 2)})

    def finish(self, seconds: float) -> None:
        _put(self.key, {"f": 1.0, "s": round(float(seconds), 2), "done": True})


def _readable(page) -> bool:
    """A board to use and ``page`` a page's id as the app makes them."""
    return _BOARD is not None and isinstance(page, str) and _TOKEN.fullmatch(page) is not None


def reporter(page, panel: str) -> Reporter | None:
    """The reporter of ``panel`` for the page ``page``; None without a board or a valid id."""
    return Reporter(page, panel) if panel in PANELS and _readable(page) else None


@contextlib.contextmanager
def request_budget(panel: str, page=None) -> Iterator[Budget]:
    """``with request_budget(panel, page) as budget:`` the budget of one analysis request
    (its clock starts now), reporting its progress to the page and saying "done" at the
    end however the request ends."""
    report = reporter(page, panel)
    budget = Budget.of(panel, cancelled=http.client_gone(), report=report)
    try:
        yield budget
    finally:
        if report is not None:
            report.finish(budget.elapsed)


def read(page, panels) -> dict:
    """{panel: {"f": share done, "s": seconds, "done": bool}} of the page's reports."""
    if not _readable(page):
        return {}
    out = {}
    for panel in panels if isinstance(panels, list) else []:
        if panel not in PANELS:
            continue
        try:
            record = json.loads(_BOARD.get(_key(page, panel)) or "null")
        except Exception as exc:  # unreadable now: ask again next time
            log.warning("progress not read (%s: %s)", type(exc).__name__, exc)
            continue
        if not isinstance(record, dict):
            continue
        f, s = record.get("f"), record.get("s", 0.0)
        if not isinstance(f, int | float) or not isinstance(s, int | float):
            continue
        if not (math.isfinite(f) and math.isfinite(s)):
            continue
        out[panel] = {
            "f": min(max(float(f), 0.0), 1.0),
            "s": float(s),
            "done": bool(record.get("done")),
        }
    return out


def ask(request, page) -> dict:
    """The poll's answer, {"t": the ask's client time, "panels": ``read``}, to an ask
    {"panels": [...], "t": ...} of the page ``page``."""
    if not isinstance(request, dict):
        return {"t": 0, "panels": {}}
    t = request.get("t")
    t = t if isinstance(t, int | float) and math.isfinite(t) else 0
    return {"t": t, "panels": read(page, request.get("panels"))}


def bar(component_id: str) -> html.Div:
    """A panel's progress bar under its controls, hidden until its request is slow."""
    return html.Div(
        [
            html.Progress(id=f"{component_id}-bar", value="0", max="1"),
            html.Span("", id=f"{component_id}-label", className="export-progress-label"),
        ],
        id=component_id,
        className="export-progress analysis-progress",
        role="status",
    )


def components() -> list:
    """The page's polling interval and the stores it works with."""
    return [
        dcc.Interval(id=ids.ANALYSIS_TICK, interval=POLL_MS, disabled=True),
        dcc.Store(id=ids.ANALYSIS_PENDING, data={}),
        dcc.Store(id=ids.ANALYSIS_ASK),
        dcc.Store(id=ids.ANALYSIS_SEEN, data={}),
    ]


def register(app, manager, starts: dict, ends: dict) -> None:
    """Wire the bars; the board is the job manager's store (``manager.handle``).

    ``starts``: {panel: [(id, prop, button)]}, the inputs that send the panel's request
    (``button``: the id whose n_clicks must be > 0 for it to count, or None); ``ends``:
    {panel: [(id, prop)]}, outputs its answer writes (any of them ends the wait).
    """
    global _BOARD
    _BOARD = board_of(manager.handle)
    order = list(PANELS)
    start_inputs = [(p, c, prop, b) for p in order for c, prop, b in starts.get(p, [])]
    buttons = sorted({b for *_, b in start_inputs if b})
    end_inputs = [(p, c, prop) for p in order for c, prop in ends.get(p, [])]
    app.clientside_callback(
        "function () { return window.dash_clientside.optviz.progressStart("
        f"{json.dumps([[p, c, b] for p, c, _, b in start_inputs])}, "
        f"{json.dumps(buttons)}, arguments); }}",
        Output(ids.ANALYSIS_PENDING, "data"),
        *(Input(c, prop) for _, c, prop, _ in start_inputs),
        *(State(b, "n_clicks") for b in buttons),
        State(ids.ANALYSIS_PENDING, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function () { return window.dash_clientside.optviz.progressEnd("
        f"{json.dumps([[p, c] for p, c, _ in end_inputs])}, arguments); }}",
        Output(ids.ANALYSIS_PENDING, "data", allow_duplicate=True),
        *(Input(c, prop) for _, c, prop in end_inputs),
        State(ids.ANALYSIS_PENDING, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        f"function (n, pending, asked, seen) {{ return window.dash_clientside.optviz."
        f"progressAsk(pending, {SHOW_AFTER_MS}, {RETRY_MS}, asked, seen); }}",
        Output(ids.ANALYSIS_ASK, "data"),
        Input(ids.ANALYSIS_TICK, "n_intervals"),
        State(ids.ANALYSIS_PENDING, "data"),
        State(ids.ANALYSIS_ASK, "data"),
        State(ids.ANALYSIS_SEEN, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.ANALYSIS_SEEN, "data"),
        Input(ids.ANALYSIS_ASK, "data"),
        State(ids.EXPORT_PAGE, "data"),
        prevent_initial_call=True,
    )(ask)
    bars = [BARS[p] for p in order]
    app.clientside_callback(
        "function (seen, pending) { return window.dash_clientside.optviz.progressDraw("
        f"{json.dumps(order)}, seen, pending, {WAIT_S * 1000}); }}",
        Output(ids.ANALYSIS_TICK, "disabled"),
        *(Output(b, "className") for b in bars),
        *(Output(f"{b}-bar", "value") for b in bars),
        *(Output(f"{b}-label", "children") for b in bars),
        Input(ids.ANALYSIS_SEEN, "data"),
        Input(ids.ANALYSIS_PENDING, "data"),
    )
