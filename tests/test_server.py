"""The server's safe defaults: health check, body limit, no 500s or tracebacks, loopback and
no debug unless asked, and a gunicorn that survives losing a worker."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dash
import flask
import pytest

import app as optviz_app
import optviz_cli
from benchmarks.bench_load import DISPATCH, App, Client, get, gunicorn, layout_props, post_json
from viz.ui import callbacks

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dash_app():
    return optviz_app.create_app()


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


def page(client) -> App:
    """What a browser knows after loading the page, fetched through the test client."""
    deps = client.get("/_dash-dependencies").get_json()
    props = layout_props(client.get("/_dash-layout").get_json())
    return App(deps, props, {k: p["id"] for k, p in props.items()})


def recompute_body(app: App) -> dict:
    """A real recompute request: one learning rate changed, as the renderer sends it."""
    c = Client(app, port=0, seed=1)
    return app.body(c.recompute, c.values, c.change_hyper())


def no_traceback(body: bytes) -> bool:
    text = body.decode(errors="replace")
    return "Traceback" not in text and 'File "' not in text


# ----------------------------------------------------------------------------- requests


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.data.strip().lower() == b"ok"


def test_oversize_body_is_413_with_a_short_message(client):
    body = b'{"output": "' + b"x" * (optviz_app.MAX_BODY_BYTES + 1) + b'"}'
    r = client.post(DISPATCH, data=body, content_type="application/json")
    assert r.status_code == 413
    assert b"too large" in r.data and len(r.data) < 200
    assert no_traceback(r.data)


def test_a_body_under_the_limit_is_accepted(client, dash_app):
    # The limit must not cut real requests: the page's biggest callback body passes.
    r = client.post(DISPATCH, json=recompute_body(page(client)))
    assert r.status_code == 200
    assert "traj" in r.get_json()["response"]


MALFORMED = {
    "not JSON": b"{not json",
    "truncated": b'{"output": "traj.data", "inputs": [',
    "a list": b"[1, 2, 3]",
    "a string": b'"hello"',
    "null": b"null",
    "empty object": b"{}",
    "unknown output": b'{"output": "nope.children", "inputs": [], "changedPropIds": []}',
    "inputs not a list": b'{"output": "surface-formula.children", "inputs": 7}',
    "inputs of wrong shape": b'{"output": "surface-formula.children", "inputs": [{"id": 1}]}',
    "empty body": b"",
    "one output sent as a list": json.dumps(
        {
            "output": "surface-formula.children",
            "outputs": [{"id": "surface-formula", "property": "children"}],
            "inputs": [{"id": "surface", "property": "value", "value": "beale"}],
            "changedPropIds": ["surface.value"],
        }
    ).encode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_callback_request_is_4xx_without_traceback(client, body, caplog):
    with caplog.at_level(logging.WARNING, logger="optviz"):
        r = client.post(DISPATCH, data=body, content_type="application/json")
    assert 400 <= r.status_code < 500, r.data[:300]
    assert no_traceback(r.data)
    # The server log gets one line per bad request, not a stack trace.
    assert all(rec.exc_info is None for rec in caplog.records)


HOSTILE = (None, ["a"], {"a": 1}, "nan", "x" * 10_000, 1e308, True)  # every JSON type


def _input_props(app: App, dep: dict) -> list[str]:
    """Every input and state prop of a callback (one concrete id per pattern)."""
    keys = []
    for spec in dep["inputs"] + dep["state"]:
        if spec["id"].startswith("{"):
            kind = json.loads(spec["id"])["type"]
            concrete = [k for k, cid in app.ids.items() if isinstance(cid, dict)]
            keys += [f"{k}.{spec['property']}" for k in concrete if app.ids[k]["type"] == kind][:1]
        else:
            keys.append(f"{spec['id']}.{spec['property']}")
    return keys


def test_hostile_values_in_every_server_callback_never_500(client):
    """Every server callback, each of its inputs set to a hostile JSON value in turn (the
    rest as the page has them): an answer (200/204) or a 4xx, never a 500 or a traceback."""
    app = page(client)
    values = app.initial_values()
    # The state the page holds after its first compute (so backgrounds are not redrawn).
    first = Client(app, port=0, seed=3)
    r = client.post(DISPATCH, json=app.body(first.recompute, values, []))
    values["scene-state.data"] = r.get_json()["response"]["scene-state"]["data"]
    # Background callbacks (the GIF export) answer a request with a job handle and read
    # their values in the job; their hostile-input tests call them as functions.
    server_side = [
        d
        for d in app.dependencies
        if d.get("clientside_function") is None and not d.get("background")
    ]
    assert len(server_side) >= 3
    for dep in server_side:
        for j, prop in enumerate(_input_props(app, dep)):
            # Four of the hostile values per input, rotating over the inputs, so a callback
            # with several inputs meets every value while the test stays a few CPU seconds.
            for hostile in (HOSTILE * 2)[j % len(HOSTILE) :][:4]:
                body = app.body(dep, {**values, prop: hostile}, [prop])
                r = client.post(DISPATCH, json=body)
                where = (dep["output"][:60], prop, repr(hostile)[:20])
                assert r.status_code in (200, 204) or 400 <= r.status_code < 500, where
                assert no_traceback(r.data), (where, r.data[:300])


def test_callback_exception_becomes_a_page_message(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug in compute")

    body = recompute_body(page(client))
    monkeypatch.setattr(callbacks, "compute", broken)
    with caplog.at_level(logging.ERROR, logger="optviz"):
        r = client.post(DISPATCH, json=body)
    assert r.status_code == 200
    assert no_traceback(r.data)
    doc = r.get_json()
    # No output changes (the previous valid state stays); the message goes to run-msg.
    assert doc.get("response", {}) == {}
    assert doc["sideUpdate"] == {"run-msg": {"children": optviz_app.CALLBACK_ERROR}}
    # The server log keeps the traceback for whoever fixes the bug.
    assert any("simulated bug" in repr(rec.exc_info) for rec in caplog.records)


def test_unknown_routes_are_plain_404(client):
    r = client.get("/no/such/page/../../etc/passwd")
    assert r.status_code in (200, 404)  # Dash serves its index for unknown paths
    assert no_traceback(r.data) or b"_dash-renderer" in r.data


def test_answers_depend_only_on_the_request(client):
    """No per-user state: two users' requests interleaved on one server process get the
    same answers as each alone, and neither sees the other's settings."""
    app = page(client)
    alice, bob = Client(app, port=0, seed=10), Client(app, port=0, seed=11)
    lr = next(h for h in alice.hypers if '"name":"lr"' in h)
    alice.values[lr], bob.values[lr] = "0.0005", "0.05"
    bob.values["steps.value"] = "37"

    def traj(c):
        r = client.post(DISPATCH, json=app.body(c.recompute, c.values, [lr]))
        assert r.status_code == 200
        return r.get_json()["response"]["traj"]["data"]

    a1 = traj(alice)
    b1 = traj(bob)
    a2 = traj(alice)
    assert a1 == a2  # bob's request in between changed nothing of alice's
    assert a1["steps"] == int(alice.values["steps.value"]) and b1["steps"] == 37
    assert a1["runs"] != b1["runs"]
    assert traj(bob) == b1


# ----------------------------------------------------------------------------- defaults


@pytest.fixture
def captured_run(monkeypatch):
    calls = []

    def fake_run(self, *args, **kwargs):
        calls.append(kwargs)

    monkeypatch.setattr(dash.Dash, "run", fake_run)
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("DASH_DEBUG", raising=False)
    return calls


def test_main_defaults_to_loopback_without_debug(captured_run):
    optviz_app.main([])
    (kwargs,) = captured_run
    assert {k: kwargs[k] for k in ("host", "port", "debug")} == {
        "host": "127.0.0.1",
        "port": 8050,
        "debug": False,
    }


def test_main_binds_all_interfaces_only_when_asked(captured_run):
    optviz_app.main(["--host", "0.0.0.0"])
    assert captured_run[0]["host"] == "0.0.0.0"
    assert captured_run[0]["debug"] is False


def test_optviz_serve_defaults_to_loopback_without_debug(captured_run):
    assert optviz_cli.main(["serve"]) == 0
    assert len(captured_run) == 1
    assert captured_run[0]["host"] == "127.0.0.1"
    assert captured_run[0]["port"] == 8050
    assert captured_run[0]["debug"] is False


def test_server_is_one_flask_app_built_lazily():
    assert isinstance(optviz_app.server, flask.Flask)
    assert optviz_app.server is optviz_app.server
    assert optviz_app.server.config["MAX_CONTENT_LENGTH"] == optviz_app.MAX_BODY_BYTES
    with pytest.raises(AttributeError):
        optviz_app.no_such_attribute  # noqa: B018


# ----------------------------------------------------------------------------- gunicorn


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


IN_FLIGHT = 8  # requests sent at once, each ~0.5 s of work (below)
TICKS = os.sysconf("SC_CLK_TCK")


def _idle(pids) -> bool:
    """No CPU used by these processes over 0.3 s."""
    was = [_cpu_ticks(pid) for pid in pids]
    time.sleep(0.3)
    return was == [_cpu_ticks(pid) for pid in pids]


def test_killing_a_worker_mid_request_leaves_the_server_serving():
    with gunicorn(workers=2) as server:
        workers = _wait(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), 30, "2")
        app = App.fetch(server.port)
        body = recompute_body(app)
        # Distinct settings per request, none answered from a cache, and each slow enough
        # to be in flight when the kill comes: 5,000 steps on Ackley (no compiled loop).
        bodies = []
        for seed in range(IN_FLIGHT):
            c = Client(app, port=0, seed=100 + seed)
            c.values["surface.value"], c.values["steps.value"] = "ackley", "5000"
            changed = c.change_hyper() + c.change_hyper() + ["surface.value", "steps.value"]
            bodies.append(app.body(c.recompute, c.values, changed))

        # Requests in flight on both workers while one of them is killed.
        outcomes: list[object] = []

        def send(b):
            try:
                outcomes.append(post_json(server.port, DISPATCH, b, timeout=60)[0])
            except (OSError, http.client.HTTPException) as exc:  # on the killed worker:
                outcomes.append(type(exc).__name__)  # closed, or cut mid-answer

        threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
        _wait(lambda: _idle(workers), 60, "the workers' start-up work to end")
        before = {pid: _cpu_ticks(pid) for pid in workers}
        for t in threads:
            t.start()
        # A worker runs its requests at once in its threads (4), so they end together, ~0.5
        # s of CPU each: kill the busier worker once it has spent 0.3 s on them, mid-request.
        # (Waiting for a first answer let them all end before the kill on a loaded machine.)
        used = lambda pid: _cpu_ticks(pid) - before[pid]  # noqa: E731
        _wait(lambda: max(map(used, workers)) >= 0.3 * TICKS, 60, "a worker at work")
        victim = max(workers, key=used)
        os.kill(victim, signal.SIGKILL)
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads), "a request hung after the kill"
        # Every request either got its answer or failed fast (the ones the killed worker
        # held: connection closed); none hung, none got a 500.
        assert len(outcomes) == IN_FLIGHT
        assert all(o == 200 or isinstance(o, str) for o in outcomes), outcomes
        assert any(isinstance(o, str) for o in outcomes), f"no request was in flight: {outcomes}"

        # The server still answers: health and a real callback.
        assert get(server.port, "/healthz")[0] == 200
        status, raw = post_json(server.port, DISPATCH, body)
        assert status == 200 and "traj" in json.loads(raw)["response"]
        # The master replaced the dead worker.
        new = _wait(
            lambda: (p := server.worker_pids()) and len(p) == 2 and victim not in p and p,
            30,
            "a replacement worker",
        )
        survivor = next(pid for pid in workers if pid != victim)
        assert victim not in new and survivor in new
        assert server.proc.poll() is None
        log = server.log
    assert f"Worker (pid:{victim})" in log and "SIGKILL" in log


def test_the_page_knows_its_scripts_before_any_request():
    """Dash learns which script files it may serve while rendering the page; every
    gunicorn worker is forked from an app that has done so (else a worker that had not
    served the page answered the page's scripts with 500: a blank page)."""
    fresh = optviz_app.create_app()
    assert "dash" in fresh.registered_paths
    assert any("dash_renderer" in p for p in fresh.registered_paths["dash"])


def test_under_gunicorn_every_worker_serves_the_pages_scripts():
    with gunicorn(workers=2) as server:
        _wait(lambda: len(server.worker_pids()) == 2, 30, "2 workers")
        status, page = get(server.port, "/")
        assert status == 200
        urls = sorted(
            set(re.findall(r'(?:src|href)="(/_dash-component-suites/[^"]+)"', page.decode()))
        )
        assert len(urls) >= 3, page[:500]
        # as a browser loads them: at once, on several connections, so both workers answer
        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(lambda u: (u, get(server.port, u)[0]), urls * 4))
        assert {status for _, status in got} == {200}, sorted(set(got))


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_the_load_servers_whole_process_group_and_cache_go_on_any_exit(exc):
    """A stale worker of an earlier run held the export cache's lock and a later
    ``python app.py`` hung on it: leaving the block by an error or Ctrl-C stops them all."""
    with pytest.raises(exc), gunicorn(workers=2) as server:
        workers = _wait(lambda: len(server.worker_pids()) == 2 and server.worker_pids(), 30, "2")
        master = server.proc.pid
        environ = Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
        (cache,) = [
            Path(e.split(b"=", 1)[1].decode())
            for e in environ
            if e.startswith(b"OPTVIZ_CACHE_DIR=")
        ]
        assert cache.is_dir()  # a fresh export cache of this server's own
        raise exc("the benchmark failed or was interrupted")
    assert not any(_running(pid) for pid in [master, *workers])
    assert not cache.exists()


# ----------------------------------------------------------------------------- slow clients

SLOW_CLIENTS = 16
TRICKLE_EVERY_S = 2.0
TRICKLE_FOR_S = 14.0  # each slow client's whole life: bounded


def _trickle(port: int, stop: threading.Event, connected: list) -> None:
    """A client that sends a callback request's headers, then its body a byte at a time."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        connected.append(1)
        deadline = time.monotonic() + TRICKLE_FOR_S
        while not stop.wait(TRICKLE_EVERY_S) and time.monotonic() < deadline:
            try:
                sock.sendall(b" ")
            except OSError:  # the server gave up on us: that is allowed
                return


def test_slow_bodies_do_not_starve_healthz():
    """Issue 15 item 5: 16 clients trickling bodies (a byte every 2 s) held every gthread
    thread (2 workers x 4) and /healthz timed out; it must keep answering within 1 s."""
    with gunicorn(workers=2) as server:
        _wait(lambda: len(server.worker_pids()) == 2, 30, "2 workers")
        stop, connected = threading.Event(), []
        slow = [
            threading.Thread(target=_trickle, args=(server.port, stop, connected), daemon=True)
            for _ in range(SLOW_CLIENTS)
        ]
        try:
            for t in slow:
                t.start()
            _wait(lambda: len(connected) == SLOW_CLIENTS, 10, "the slow clients")
            time.sleep(TRICKLE_EVERY_S + 1)  # every one of them is mid-body now
            waits = []
            for _ in range(5):
                t0 = time.perf_counter()
                try:
                    status = get(server.port, "/healthz", timeout=5)[0]
                except OSError as exc:
                    status = type(exc).__name__
                waits.append((status, time.perf_counter() - t0))
                time.sleep(0.5)
            cut = sum(not alive.is_alive() for alive in slow)
        finally:
            stop.set()
            for t in slow:
                t.join(timeout=10)
    assert all(status == 200 and s < 1.0 for status, s in waits), waits
    assert cut == 0, f"{cut} slow clients were cut early: the test did not hold them"


# ----------------------------------------------------------------------------- allocator


def test_serving_tunes_the_allocator_in_main_and_in_the_gunicorn_master(captured_run, monkeypatch):
    """Importing optimizers no longer tunes glibc's allocator: both ways of serving do."""
    from optimizers import memory

    calls = []
    monkeypatch.setattr(memory, "tune", lambda *a, **k: calls.append("tune") or True)
    optviz_app.main([])
    assert calls == ["tune"] and len(captured_run) == 1
    conf = Path(optviz_app.__file__).with_name("gunicorn.conf.py")
    namespace: dict = {"__file__": str(conf)}
    exec(compile(conf.read_text(), str(conf), "exec"), namespace)
    namespace["on_starting"](None)
    assert calls == ["tune", "tune"]


def test_gunicorn_refuses_an_unsafe_cache_in_one_line(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "shared"
    target.mkdir()
    target.chmod(0o777)
    root = Path(optviz_app.__file__).parent
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            "127.0.0.1:0",
            "app:server",
        ],
        cwd=root,
        env={**os.environ, "OPTVIZ_CACHE_DIR": str(target)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert any("OPTVIZ_CACHE_DIR" in line and str(target) in line for line in lines), lines


def test_under_gunicorn_the_headers_and_limits_hold():
    """Through the worker's ASGI front: the app's headers, 404s and body limit, no builds."""
    import http.client

    with gunicorn(workers=1) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            assert "frame-ancestors 'self'" in r.getheader("Content-Security-Policy")
            assert r.getheader("X-Content-Type-Options") == "nosniff"
            assert r.getheader("Referrer-Policy") == "same-origin"
            server_header = r.getheader("Server") or ""
            assert not re.search(r"\d", server_header), server_header  # no versions
            conn.request("GET", "/_dash-component-suites/dash/no_such.js")
            r = conn.getresponse()
            assert r.status == 404 and len(r.read()) < 300
            big = b'{"x": "' + b"a" * (optviz_app.MAX_BODY_BYTES + 10) + b'"}'
            conn.request("POST", DISPATCH, big, {"Content-Type": "application/json"})
            r = conn.getresponse()
            assert r.status == 413 and b"too large" in r.read()
        finally:
            conn.close()
        log = server.log
    assert "Traceback" not in log
