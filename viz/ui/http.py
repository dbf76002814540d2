"""The app's HTTP hardening: body limit, error pages, security headers, the ASGI front.

``harden(app)`` (called by ``app.create_app``) makes every way of serving the same:

- request bodies over ``MAX_BODY_BYTES`` get 413; no traceback ever reaches a client;
  a callback request the server cannot make sense of is 400, an unknown
  ``/_dash-component-suites/...`` file 404, each with one log line (no traceback);
- every response carries a Content-Security-Policy (scripts only from this server plus
  the page's own inline scripts by hash), ``frame-ancestors 'self'``, ``nosniff`` and
  ``Referrer-Policy: same-origin``;
- the page config names no build (Dash puts ``sys.version`` and package versions there).

``BufferedWsgi`` is the ASGI front gunicorn's worker serves (gunicorn.conf.py): it reads
a request's whole body on the event loop, under a size limit and a deadline, and only
then gives the request one of a few threads. A client trickling its body a byte at a time
costs a coroutine, not a thread, so it cannot starve ``/healthz`` or anyone's callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import request
from werkzeug.exceptions import HTTPException

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a callback request is a few KiB
BODY_TIMEOUT_S = 20.0  # a request body must arrive within this (a real one takes ms)
CLIENT_GONE = "optviz.client_gone"  # environ key: has the client closed its connection?
DRAIN_FACTOR = 4  # an oversize body up to this many limits is read (and dropped) for a 413
log = logging.getLogger("optviz")

# Dash's page config keys that name builds: the exact Python build (sys.version) and the
# versions of dash/plotly. The renderer reads them only for the debug-mode version menu.
BUILD_KEYS = ("python_version", "dash_version", "plotly_version", "ddk_version")

# Content-Security-Policy, one directive per line. Scripts: this server's files and the
# page's inline scripts by hash (Dash's clientside callbacks and its renderer start-up),
# no 'unsafe-eval': none of the scripts the app loads needs it (checked in Chromium,
# tests/e2e/test_csp.py). Styles need 'unsafe-inline': Plotly and MathJax add <style>
# elements and style attributes at run time. Images: Plotly draws with data: URIs.
CSP = (
    "default-src 'self'",
    "script-src 'self' {hashes}",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # share links live in the URL hash, which is never sent; the path still stays home
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",  # frame-ancestors for browsers without CSP 2
    "Cross-Origin-Opener-Policy": "same-origin",
}


def request_handler():
    """Werkzeug's request handler for ``python app.py``, minus the build in its Server
    header (``Werkzeug/x Python/3.x.y``)."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def version_string(self) -> str:
            return "optviz"

    return Handler


def content_security_policy(app) -> str:
    """The policy for ``app``'s pages: its inline scripts allowed by their SHA-256."""
    hashes = " ".join(app.csp_hashes())
    return "; ".join(CSP).format(hashes=hashes)


def _scrub_config(app) -> None:
    """Drop build strings from the page config (kept in debug mode, whose menu shows them)."""
    full = app._config

    def config():
        out = full()
        if not app._dev_tools.ui:
            for key in BUILD_KEYS:
                out.pop(key, None)
        return out

    app._config = config


def harden(app) -> None:
    """Size limit, error handlers, security headers and a build-free config for ``app``."""
    from dash.exceptions import DependencyException

    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    _scrub_config(app)
    policy: dict[str, str] = {}
    policy_lock = threading.Lock()

    def page_policy() -> str:
        # The inline scripts are fixed once the callbacks are registered: hash them once
        # per set (a callback registered later changes the key and the policy).
        key = f"{len(app._inline_scripts)}:{app.renderer}"
        with policy_lock:
            if key not in policy:
                policy.clear()
                policy[key] = content_security_policy(app)
            return policy[key]

    @server.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = page_policy()
        elif "javascript" in response.mimetype:  # a script run as a worker keeps this one
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; frame-ancestors 'self'"
            )
        else:  # JSON, text, images: nothing in them may run or be framed as a page
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; frame-ancestors 'self'"
            )
        return response

    @server.errorhandler(413)
    def _too_large(_exc):
        return f"request body too large (limit {MAX_BODY_BYTES // 1024} KiB)\n", 413

    @server.errorhandler(DependencyException)
    def _no_such_file(exc):
        # An unknown /_dash-component-suites/... path: a missing file, not a server fault.
        log.warning("404 %s: %s", request.path[:200], str(exc).splitlines()[0][:200])
        return "not found\n", 404

    @server.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return exc  # Flask's own short page (400, 404, 405, 415 ...)
        if request.path.endswith("_dash-update-component"):
            # The callback itself is covered by on_error: what fails here is a request
            # whose body does not describe a callback of this app (one log line, no trace).
            log.warning("bad callback request: %r", exc)
            log.debug("bad callback request", exc_info=exc)
            return "bad callback request\n", 400
        log.error("%s %s failed: %r", request.method, request.path, exc, exc_info=exc)
        return "internal error\n", 500


# ----------------------------------------------------------------------------- ASGI front


class _BodyTooLarge(Exception):
    pass


class BufferedWsgi:
    """An ASGI app serving the WSGI ``app``: whole body first, then a thread.

    The body is read on the event loop (at most ``max_body`` bytes, within
    ``body_timeout`` seconds: else 413 or 408 without the app ever seeing it); the app
    then runs in a pool of ``threads`` threads, made in the worker after the fork.
    """

    def __init__(
        self,
        app,
        threads: int = 4,
        max_body: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_S,
    ):
        self.app = app
        self.threads = max(1, int(threads))
        self.max_body = max_body
        self.body_timeout = body_timeout
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="optviz-request")
        return self._pool

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # websocket: not served (uvicorn closes the connection)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send):
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body * DRAIN_FACTOR:
            return await _plain(send, 413, _too_large_text(self.max_body))
        try:
            if declared is not None and declared > self.max_body:
                raise _BodyTooLarge
            body = await asyncio.wait_for(self._body(receive), self.body_timeout)
        except _BodyTooLarge:
            # A client still sending misses an answer sent now (the close resets the
            # connection): take the rest of a body up to a few limits' worth, unkept.
            with contextlib.suppress(TimeoutError, _Disconnected, _BodyTooLarge):
                await asyncio.wait_for(self._drain(receive), self.body_timeout)
            return await _plain(send, 413, _too_large_text(self.max_body))
        except TimeoutError:
            log.warning(
                "408 %s: request body not complete in %s s", scope["path"][:200], self.body_timeout
            )
            return await _plain(send, 408, "request body too slow\n")
        except _Disconnected:
            return None
        loop = asyncio.get_running_loop()
        gone = threading.Event()  # set when the client closes before its answer
        watch = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            status, headers, chunks = await loop.run_in_executor(
                self.pool, self._run, scope, body, gone
            )
        finally:
            watch.cancel()
        if gone.is_set():
            return None  # nobody to answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    async def _body(self, receive) -> bytes:
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _BodyTooLarge
            parts.append(chunk)
            if not message.get("more_body"):
                return b"".join(parts)

    async def _drain(self, receive) -> None:
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            size += len(message.get("body", b""))
            if size > self.max_body * DRAIN_FACTOR:
                raise _BodyTooLarge
            if not message.get("more_body"):
                return

    def _run(self, scope, body: bytes, gone: threading.Event | None = None):
        """Run the WSGI app in a pool thread; its whole answer as (status, headers, chunks)."""
        import io

        environ = _environ(scope, body, io.BytesIO(body))
        if gone is not None:
            environ[CLIENT_GONE] = gone.is_set
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            if exc_info and started.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as exc:  # the Flask app answers its own errors; this is a bug
            log.error("%s %s failed outside the app: %r", scope["method"], scope["path"], exc)
            return 500, [(b"content-type", b"text/plain")], [b"internal error\n"]
        if "status" not in started:  # not a WSGI app's answer: a bug, said as a 500
            log.error("%s %s: the app never started its response", scope["method"], scope["path"])
            return 500, [(b"content-type", b"text/plain")], [b"internal error\n"]
        return started["status"], started["headers"], chunks


class _Disconnected(Exception):
    pass


async def _watch_disconnect(receive, gone: threading.Event) -> None:
    """Once the body is read, the next ASGI message is the client going away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def client_gone() -> Callable[[], bool] | None:
    """For the request being answered: a function telling whether its client has gone
    (served through ``BufferedWsgi``), to pass to a ``Budget`` as ``cancelled``; None
    outside a request or under a server that cannot tell."""
    try:
        return request.environ.get(CLIENT_GONE)
    except RuntimeError:  # no request context (a plain function call, a background job)
        return None


def _too_large_text(limit: int) -> str:
    return f"request body too large (limit {limit // 1024} KiB)\n"


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _plain(send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"connection", b"close"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


def _environ(scope, body: bytes, stream) -> dict:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333 strings: latin-1)."""
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": stream,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
        environ["REMOTE_PORT"] = str(scope["client"][1])
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue  # the body as read
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        text = value.decode("latin-1")
        joiner = "; " if key == "HTTP_COOKIE" else ","
        environ[key] = f"{environ[key]}{joiner}{text}" if key in environ else text
    return environ
