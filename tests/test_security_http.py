"""Issue 15 (item 8, and the ASGI front of item 5): what the server tells a web client.

Unknown ``/_dash-component-suites/...`` paths were a 500 with a 36 KB log entry each; no
security headers; the page config carried the exact Python build (``sys.version``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import sys

import pytest

import app as optviz_app
from viz.ui import http


@pytest.fixture(scope="module")
def dash_app():
    return optviz_app.create_app()


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


# ----------------------------------------------------------------------------- 404s

UNKNOWN = [
    "/_dash-component-suites/dash/no_such_file.v4_4_1m1.js",
    "/_dash-component-suites/no_such_package/x.js",
    "/_dash-component-suites/dash/dcc/../../../etc/passwd",
    "/_dash-component-suites/plotly/package_data/plotly.min.js.map",
]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_component_suite_paths_are_404_with_one_log_line(client, path, caplog):
    caplog.set_level(logging.DEBUG, logger="optviz")
    r = client.get(path)
    assert r.status_code == 404, (r.status_code, r.data[:200])
    assert len(r.data) < 300 and b"Traceback" not in r.data
    records = [rec for rec in caplog.records if rec.name == "optviz"]
    assert len(records) <= 1
    for rec in records:
        assert rec.exc_info is None, "a traceback was logged"
        assert "\n" not in rec.getMessage() and len(rec.getMessage()) < 500


def test_known_component_suite_files_still_load(client):
    page = client.get("/").data.decode()
    urls = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert len(urls) >= 3
    for url in urls:
        assert client.get(url).status_code == 200, url


# ----------------------------------------------------------------------------- headers


def _inline_scripts(page: str) -> list[str]:
    """The bodies of the page's inline scripts that a browser runs (not JSON data)."""
    out = []
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # e.g. Dash's IE-only alert
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        out.append(body)
    return out


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_the_page_has_a_content_security_policy_that_allows_its_own_scripts(client):
    r = client.get("/")
    page = r.data.decode()
    policy = _directives(r.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    inline = _inline_scripts(page)
    assert len(inline) >= 2  # clientside callbacks + the renderer's start-up
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, body[:80]


@pytest.mark.parametrize("path", ["/", "/healthz", "/_dash-layout", "/nope"])
def test_every_response_has_the_security_headers(client, path):
    r = client.get(path)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]


def test_the_page_config_names_no_build(client):
    page = client.get("/").data.decode()
    (raw,) = re.findall(r'<script id="_dash-config" type="application/json">(.*?)</script>', page)
    config = json.loads(raw)
    for key in http.BUILD_KEYS:
        assert key not in config
    assert sys.version not in page and sys.version.split()[0] + " (" not in page


# ----------------------------------------------------------------------------- ASGI front


def _asgi(app, method="GET", path="/", body_chunks=(b"",), headers=(), delay=0.0, leave=None):
    """Drive an ASGI app once; ``(status, headers, body)``. After its body the client
    waits for the answer, as a real one does, or leaves after ``leave`` seconds."""
    sent = []

    async def run():
        queue = [
            {"type": "http.request", "body": c, "more_body": i < len(body_chunks) - 1}
            for i, c in enumerate(body_chunks)
        ]

        async def receive():
            if delay:
                await asyncio.sleep(delay)
            if queue:
                return queue.pop(0)
            if leave is None:
                await asyncio.Event().wait()  # no more messages until the connection closes
            await asyncio.sleep(leave)
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "http_version": "1.1",
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8050),
        }
        await app(scope, receive, send)

    asyncio.run(run())
    if leave is not None and not sent:
        return None
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_the_asgi_front_serves_the_app(dash_app):
    front = http.BufferedWsgi(dash_app.server, threads=2)
    status, headers, body = _asgi(front, path="/healthz")
    assert status == 200 and body.strip().lower() == b"ok"
    assert headers[b"x-content-type-options"] == b"nosniff"
    layout = json.dumps({"x": 1}).encode()
    status, _, body = _asgi(
        front,
        "POST",
        "/_dash-update-component",
        (layout[:5], layout[5:]),
        [("content-type", "application/json"), ("content-length", str(len(layout)))],
    )
    assert status == 400 and b"Traceback" not in body  # reached the app, whole body


def test_the_asgi_front_refuses_a_big_body_before_the_app_sees_it():
    seen = []
    # (the declared-too-long body below never comes: its drain waits out body_timeout,
    # 20 s by default, before the 413)
    front = http.BufferedWsgi(lambda e, s: seen.append(e) or [], max_body=100, body_timeout=2.0)
    status, _, body = _asgi(front, "POST", "/x", (b"a" * 60, b"a" * 60))
    assert status == 413 and b"too large" in body
    status, _, _ = _asgi(front, "POST", "/x", (b"",), [("content-length", "101")])
    assert status == 413
    assert not seen


def test_the_asgi_front_gives_up_on_a_body_that_trickles():
    seen = []
    front = http.BufferedWsgi(lambda e, s: seen.append(e) or [], body_timeout=0.3)
    status, _, _ = _asgi(front, "POST", "/x", [b"a"] * 10, delay=0.1)
    assert status == 408
    assert not seen


def test_the_asgi_front_tells_the_app_when_its_client_has_gone():
    """A request's budget stops its work when the client closes the connection: the
    front hands the app a ``client_gone`` check, which turns true once it has left."""
    import time

    seen = {}

    def app(environ, start_response):
        gone = environ[http.CLIENT_GONE]
        seen["before"] = gone()
        end = time.monotonic() + 1.5
        while not gone() and time.monotonic() < end:  # a long computation, ticking
            time.sleep(0.01)
        seen["after"] = gone()
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"late"]

    front = http.BufferedWsgi(app, threads=1)
    assert _asgi(front, "POST", "/x", (b"{}",), leave=0.2) is None  # nobody to answer
    assert seen == {"before": False, "after": True}
    status, _, body = _asgi(front, "POST", "/x", (b"{}",), leave=10.0)
    assert status == 200 and body == b"late"  # a client still there gets its answer


def test_a_budget_given_the_clients_check_stops_the_runs(monkeypatch):
    from optimizers import get_optimizer, run
    from optimizers.budget import Budget, BudgetError
    from surfaces import get_surface

    gone = [False]

    def cancelled():
        return gone[0]

    budget = Budget(max_work=10**9, seconds=60.0, cancelled=cancelled)
    gone[0] = True
    with pytest.raises(BudgetError) as err:
        run(get_optimizer("adam"), get_surface("rosenbrock"), (-1.5, 2.0), 5000, budget=budget)
    assert err.value.reason == "cancelled"
