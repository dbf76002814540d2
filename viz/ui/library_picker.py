"""The optimizer picker's share of other libraries' rules (``optimizers.library``).

Every rule of the installed libraries that can draw a path (refused ones left out)
joins the picker after the notes' rules, each with its own colour, searchable by name,
and a line under the picker counts them by library ("113 more from pytorch-optimizer
4.1.0, …"). Nothing here when none of torch, pytorch-optimizer, optax is installed.

Finding them imports torch and jax and tries each rule on a bowl (seconds), so building
the app does none of it: the page opens with the notes' rules at once. The first page's
callback starts one background thread per process that finds them; the line says
"Looking up…" and a timer asks again every second until they are found, and a search
adds them to the picker. Pages served after that carry them from the start.

The finding runs in a child process (``python -c``) that prints their names as JSON:
a web process then holds neither torch nor jax (~400 MB, and jax's threads, which make
the fork of an export job unsafe) unless one of its pages races such a rule.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import threading

from dash import Input, Output, State, dcc, html, no_update

from optimizers import library
from viz.ui import ids

NOTE = "opt-more"  # the line under the picker
POLL = "opt-more-poll"  # its timer while the rules are being looked up
POLL_MS = 1000
WAIT_S = 10.0  # a search waits at most this long for the rules to be found
LOOKING = "Looking up other libraries' rules (torch, pytorch-optimizer, optax)…"
log = logging.getLogger("optviz")

_lock = threading.Lock()
_found = threading.Event()
_finder: threading.Thread | None = None
_entries: tuple[tuple[str, str, str], ...] = ()


# What the child process runs: the drawable rules, {name: source}, on one marked line.
MARK = "optviz-library-rules:"
_FIND = "; ".join(
    [
        "import json",
        "from optimizers import library",
        f"print({MARK!r} + json.dumps(library.drawable()))",
    ]
)
FIND_TIMEOUT = 180.0


def _drawable() -> dict[str, str]:
    """``library.drawable()``, from a child process (see the module's docstring)."""
    out = subprocess.run(
        [sys.executable, "-c", _FIND],
        capture_output=True,
        text=True,
        timeout=FIND_TIMEOUT,
        check=True,
    ).stdout
    line = next(t for t in reversed(out.splitlines()) if t.startswith(MARK))
    rules = json.loads(line[len(MARK) :])
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in rules.items()):
        raise ValueError("the child's list of library rules is not {name: source}")
    return rules


def _find() -> None:
    global _entries
    try:
        _entries = tuple((n, library.colour_for(n), s) for n, s in _drawable().items())
    except Exception:  # a broken library install costs its rules, not the page
        log.exception("finding the library rules failed; the picker offers none")
    finally:
        _found.set()


def found() -> tuple[tuple[str, str, str], ...] | None:
    """``(name, colour, source)`` of each drawable library rule, grouped by library, if
    they have been found in this process; ``None`` before (never starts finding them)."""
    return _entries if _found.is_set() else None


def find(timeout: float) -> tuple[tuple[str, str, str], ...] | None:
    """``found()``, first starting the search (once per process) and waiting up to
    ``timeout`` seconds for it."""
    global _finder
    with _lock:
        if _finder is None:
            _finder = threading.Thread(target=_find, name="optviz-library-rules", daemon=True)
            _finder.start()
    _found.wait(timeout)
    return found()


def installed() -> bool:
    """Is any of the libraries installed? (Asked of the import system, importing nothing.)"""
    return any(importlib.util.find_spec(m) for m in ("torch", "pytorch_optimizer", "optax"))


def options(make_option, rules=None) -> list[dict]:
    """The picker's options for the library rules (``rules``, else those found so far);
    ``make_option(value, label, colour)``."""
    out = []
    for name, colour, source in (found() or ()) if rules is None else rules:
        opt = make_option(name, name, colour)
        opt["search"] = f"{name} {source}"
        out.append(opt)
    return out


def note(rules=None) -> str:
    """``"113 more from pytorch-optimizer 4.1.0, 13 from torch.optim 2.13.0: type to
    search"`` for ``rules`` (else those found so far); ``LOOKING`` while not yet found."""
    rules = found() if rules is None else rules
    if rules is None:
        return LOOKING if installed() else ""
    counts: dict[str, int] = {}
    for _, _, source in rules:
        counts[source] = counts.get(source, 0) + 1
    if not counts:
        return ""
    parts = [
        f"{n} {'more ' if i == 0 else ''}from {src}"
        for i, (src, n) in enumerate(sorted(counts.items(), key=lambda kv: -kv[1]))
    ]
    return ", ".join(parts) + ": type a name to search"


def line() -> list:
    """The line under the picker, and the timer that asks for it again while the rules
    are being looked up (stopped from the start once they have been found)."""
    looking = found() is None and installed()
    return [
        html.Div(note(), id=NOTE, className="opt-more"),
        dcc.Interval(id=POLL, interval=POLL_MS, disabled=not looking),
    ]


def update(search, shown, current, make_option, wait: float = WAIT_S):
    """The callback's work: ``(line, options, stop the timer)``. The line is
    ``no_update`` if ``shown`` already says it. While the user searches (``search``, a
    non-empty text) it waits up to ``wait`` seconds for the rules and the options
    (``current``, a list) gain those they lack; otherwise nothing waits and the options
    are ``no_update`` (a scene applied meanwhile writes them itself, the library rules
    included once found). Anything else in the props is taken as no search, no options."""
    searching = isinstance(search, str) and search != ""
    rules = find(wait if searching else 0.0)
    text = note(rules) if rules is not None else LOOKING
    text = no_update if text == shown else text
    if rules is None:
        return text, no_update, no_update
    extra = []
    if searching and isinstance(current, list):
        have = {
            o["value"] for o in current if isinstance(o, dict) and isinstance(o.get("value"), str)
        }
        extra = [o for o in options(make_option, rules) if o["value"] not in have]
    return text, [*current, *extra] if extra else no_update, True


def register(app, make_option) -> None:
    """Fill the line when a page opens (and on the timer until the rules are found), and
    the picker's library rules when the user searches it."""

    @app.callback(
        Output(NOTE, "children"),
        Output(ids.OPTIMIZERS, "options", allow_duplicate=True),
        Output(POLL, "disabled"),
        Input(ids.OPTIMIZERS, "search_value"),
        Input(POLL, "n_intervals"),
        State(NOTE, "children"),
        State(ids.OPTIMIZERS, "options"),
        prevent_initial_call="initial_duplicate",
    )
    def fill(search, _ticks, shown, current):
        return update(search, shown, current, make_option)
