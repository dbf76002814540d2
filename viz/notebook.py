"""optviz in a Jupyter notebook: build a scene from Python, show it inline, export it.

    from viz.notebook import scene
    s = scene("radford-saddle")                   # a preset by name
    s = scene("beale", ["sgd", "adam"], steps=300, hyper=["adam.lr=0.05"])   # or ad hoc
    s.show()                  # the standalone interactive page inline: no server needed
    s.show(live=True)         # the live app (Dash's Jupyter mode), opened on this scene
    s.export("saddle.mp4", counter=True)   # .gif .mp4 .webm .webp .apng .html

``scene(...)`` returns a ``NotebookScene``: a ``viz.scene.Scene`` (every field and method,
the link codec, ``compute()``) with ``show`` and ``export`` added. It lives here, beside
the app and the command line, because it uses them all (the scene layer stays pure).

``show()`` returns an object that a notebook displays (``_repr_html_``): the page in an
``<iframe srcdoc>``, or an ``<iframe>`` of the app served from the kernel on a free
port, its URL carrying the scene as a share link (``#v2=...``; ``.url`` in a script).
"""

from __future__ import annotations

import html
import os
import socket
import threading
from dataclasses import dataclass, fields

from werkzeug.serving import make_server

from optimizers import compiled
from viz.figures import page
from viz.gif import formats
from viz.scene import Scene, get_preset, parse_setting
from viz.scene.link import scene_to_link
from viz.ui import http

_servers: dict[int, object] = {}  # port -> the server of the app (lives as long as the process)


@dataclass(frozen=True)
class NotebookScene(Scene):
    """A ``Scene`` that shows itself in a notebook and exports itself to a file."""

    def show(self, live: bool = False, view: str | None = None, height: int | None = None):
        """The scene inline: its standalone page (default) or the live app (``live``)."""
        if live:
            return LiveApp(self, height or 900)
        opts = page.check_options(self, view)
        return Page(page.page_html(self, opts), opts.size[1] + 190 if height is None else height)

    def export(self, path, **options):
        """Write the animation (or the page) to ``path``, its format from its extension;
        ``options`` as ``viz.gif.formats.export`` (view, frames, fps, size, title, counter).
        Returns what was written (its ``str`` is a one-line summary)."""
        path = os.fspath(path)
        if os.path.splitext(path)[1].lower() == ".html":
            from viz import files

            data = page.render_html(self, **options)
            files.write_replacing(path, lambda fp: fp.write(data))
            return f"{path}: the standalone page, {len(data) / 1024:.0f} KiB"
        budget = options.pop("budget", None) or formats.render_budget()
        return formats.export(self, path, budget=budget, **options)


def as_notebook_scene(sc: Scene) -> NotebookScene:
    """The same scene with ``show`` and ``export``."""
    if isinstance(sc, NotebookScene):
        return sc
    return NotebookScene(**{f.name: getattr(sc, f.name) for f in fields(Scene)})


def scene(what, optimizers=None, steps: int = 200, hyper=(), **options) -> NotebookScene:
    """A scene from a preset's name (``scene("radford-beale")``), a ``Scene``, or a surface
    and its optimizers (``scene("beale", ["sgd", "adam"], steps=300, start=(1, 1),
    hyper=["lr=0.01", "adam.beta1=0.8"])``; ``options`` as ``Scene.from_args``)."""
    if isinstance(what, Scene):
        return as_notebook_scene(what)
    if optimizers is None:
        return as_notebook_scene(get_preset(what))
    settings = [parse_setting(h) if isinstance(h, str) else h for h in hyper]
    return as_notebook_scene(Scene.from_args(what, optimizers, settings, steps=steps, **options))


@dataclass
class Page:
    """The standalone page, displayed in an isolated iframe (its own document)."""

    text: str
    height: int

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.text, quote=True)}" width="100%" '
            f'height="{self.height}" style="border:0" title="optviz scene"></iframe>'
        )


class LiveApp:
    """The app served from a daemon thread of this process (a kernel, or a plain script,
    which it does not block: Dash's own ``run`` served forever outside a kernel) and shown
    in an iframe opened on the scene's share link (``url``)."""

    def __init__(self, sc: Scene, height: int = 900, port: int | None = None):
        import app as optviz_app  # the Dash app (imported only when a live view is asked)

        self.port = port or _free_port()
        if self.port not in _servers:
            compiled.warm()  # as `optviz serve`: the loops load in the background
            dash_app = optviz_app.create_app()
            server = make_server(
                "127.0.0.1",
                self.port,
                dash_app.server,
                threaded=True,
                request_handler=http.request_handler(),
            )
            name = f"optviz-live-{self.port}"
            threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
            _servers[self.port] = server
        self.url = scene_to_link(sc, f"http://127.0.0.1:{self.port}/")
        self.height = height

    def _repr_html_(self) -> str:
        return (
            f'<iframe src="{html.escape(self.url, quote=True)}" width="100%" '
            f'height="{self.height}" style="border:0" title="optviz app"></iframe>'
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def show(sc, **options):
    """``scene(sc).show(**options)``: a preset's name or a ``Scene``."""
    return scene(sc).show(**options)


def export(sc, path, **options):
    """``scene(sc).export(path, **options)``."""
    return scene(sc).export(path, **options)
