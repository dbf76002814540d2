"""optviz's Dash app: ``python app.py`` serves it on http://127.0.0.1:8050.

``create_app()`` builds the app from the registries (surfaces, optimizers, presets);
``main(argv)`` parses ``--host``, ``--port`` and ``--debug`` and serves it (127.0.0.1,
debug off unless asked). ``app:server`` is the WSGI app for gunicorn (gunicorn.conf.py,
Dockerfile), built on first use so that importing this module stays cheap.

Hardening shared by every way of serving: ``/healthz`` answers 200 "OK"; an exception
inside a callback is logged and shown as a short message in the page (every output keeps
its value); body limit, error pages and security headers are ``viz.ui.http.harden``'s;
the export cache is private and the signing secret never in it (``viz.ui.jobs``). A
server that cannot start safely says why in one line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import warnings
from pathlib import Path

import dash

from optimizers import compiled, memory
from viz.ui import (
    apply_scene,
    callbacks,
    export_panel,
    http,
    ids,
    jobs,
    layout,
    library_picker,
    panels,
    share,
)

HERE = Path(__file__).resolve().parent
# assets/ beside this file in a checkout; the installed wheel puts them beside it as
# optviz_assets/ (pyproject's package-dir)
ASSETS = HERE / "assets" if (HERE / "assets").is_dir() else HERE / "optviz_assets"
MAX_BODY_BYTES = http.MAX_BODY_BYTES
CALLBACK_ERROR = "Something went wrong on the server; nothing was changed. Please try again."
log = logging.getLogger("optviz")
JAX_FORK_WARNING = r"os\.fork\(\) was called\. os\.fork\(\) is incompatible .* JAX"


def _on_callback_error(exc: Exception) -> None:
    """Dash ``on_error``: log the traceback, show a short message, leave every output as is."""
    log.error("callback failed: %r", exc, exc_info=exc)
    dash.set_props(ids.RUN_MSG, {"children": CALLBACK_ERROR})


def create_app(**kwargs) -> dash.Dash:
    """A fresh Dash app: layout from viz.ui.layout, callbacks from viz.ui.callbacks, assets/."""
    # JAX warns of a deadlock at every fork once its threads run here; the app's forks
    # never run JAX (an export job gets its optax runs from export_panel.hand_over, and
    # an expression's child runs sympy only).
    warnings.filterwarnings("ignore", message=JAX_FORK_WARNING, category=RuntimeWarning)
    # GIF exports run as background jobs; progress/results on disk, any worker polls
    manager = kwargs.pop("background_callback_manager", None) or jobs.make_manager()
    app = dash.Dash(
        __name__,
        title="optviz — gradient descent, watched",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        on_error=_on_callback_error,
        health_endpoint="healthz",
        background_callback_manager=manager,
        **kwargs,
    )
    # Dash signs background-callback handles with the server's secret_key when it has
    # one; otherwise it would keep a secret in (and unpickle it from) the export cache.
    app.server.secret_key = jobs.signing_secret()
    http.harden(app)
    app.layout = layout.layout
    callbacks.register(app)
    library_picker.register(app, layout.picker_option)  # other libraries' rules, found lazily
    share.register(app)  # share links: read on load and when pasted, written on change
    export_panel.register(app, manager)
    panels.register(app, manager)  # convergence map, lr sweep, network (viz/panels/)
    apply_scene.register(app)  # a scene the tune and phase panels ask for (issue #17)
    _register_resources(app)
    return app


def _register_resources(app: dash.Dash) -> None:
    """Render the page once, now: Dash learns which script files it may serve only while
    it renders the index (``registered_paths``). Under gunicorn a worker that had not yet
    served the page answered the browser's other script requests with 500 and the page
    stayed blank; built here (before the fork with ``preload_app``), every worker knows."""
    status = app.server.test_client().get(app.config.requests_pathname_prefix).status_code
    if status != 200:
        raise RuntimeError(f"the page did not render (HTTP {status})")


_server_lock = threading.Lock()


def __getattr__(name: str):
    """PEP 562: ``app.server`` (gunicorn's ``app:server``) builds the app once, on first use."""
    if name != "server":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _server_lock:
        if "server" not in globals():
            globals()["server"] = create_app().server
    return globals()["server"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="optviz serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, errors)")
    args = parser.parse_args(argv)
    memory.tune()  # serving many runs: glibc keeps big arrays mapped (optimizers/memory.py)
    compiled.warm()  # the compiled loops load (or build) in the background, not in a request
    try:
        app = create_app()
    except (jobs.UnsafeCacheDir, ValueError) as exc:  # unsafe cache, bad secret: one line
        sys.exit(str(exc).splitlines()[0])
    app.run(
        host=args.host, port=args.port, debug=args.debug, request_handler=http.request_handler()
    )


if __name__ == "__main__":
    main()
