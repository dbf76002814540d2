"""optviz's Dash app: ``python app.py`` serves it on http://127.0.0.1:8050.

``create_app()`` builds the app from the registries (surfaces, optimizers, presets);
``main(argv)`` parses ``--host``, ``--port`` and ``--debug`` and serves it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dash

from viz import callbacks, layout

HERE = Path(__file__).resolve().parent


def create_app(**kwargs) -> dash.Dash:
    """A fresh Dash app: layout from viz.layout, callbacks from viz.callbacks, assets/."""
    app = dash.Dash(
        __name__,
        title="optviz — gradient descent, watched",
        assets_folder=str(HERE / "assets"),
        suppress_callback_exceptions=True,
        **kwargs,
    )
    app.layout = layout.layout
    callbacks.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="optviz serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, errors)")
    args = parser.parse_args(argv)
    create_app().run(host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
