"""Many users at once: the app under gunicorn (2 workers, loopback), 20 clients × 100 callbacks.

Each client does what a student's browser does after the page has loaded: it sends the
recompute callback (the one that runs every chosen optimizer and rebuilds the figures)
once for the page's initial settings, keeps the ``scene-state`` the server hands back,
then changes one hyperparameter of one optimizer card per request, 100 times. The
requests are built the way the Dash renderer builds them, from the app's own
``/_dash-dependencies`` and ``/_dash-layout`` (nothing here hard-codes the layout), and
each response is checked to carry new trajectories. A share of the requests can be GIF
exports (``--export-share``) once the app has an export callback; until then they are
skipped with a note.

Hostile traffic (``--hostile-share``, 10 % of all requests by default; issue 15) runs
beside the honest clients from threads of its own: budget-busting learning-rate sweeps
(480 copies of one optimizer x 200 rates x 2,000 steps), a deeply nested custom f(x, y)
sent to the recompute, and slow bodies (a byte every 2 s). Its answers are tallied apart;
the goals hold for the honest clients.

Reported: errors of the honest clients (a non-200 answer, a timeout, or an answer without
trajectories; goal 0) and the p50/p95 latency of their recomputes (goal p95 < 500 ms).
All traffic stays on 127.0.0.1; counts and timeouts are bounded.

    python -m benchmarks.bench_load [--clients 20] [--requests 100] [--workers 2]
                                    [--export-share 0.05] [--hostile-share 0.10]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks import redis_stack
from benchmarks.common import Row, report

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 60.0  # seconds, per request (gunicorn's own worker timeout is 60 s too)
START_TIMEOUT = 90.0  # seconds for gunicorn to answer /healthz
MAX_CLIENTS = 200
MAX_REQUESTS = 10_000
SOLO_REQUESTS = 30  # the one-client baseline
DISPATCH = "/_dash-update-component"


# ----------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def post_json(port: int, path: str, body: dict, timeout: float = REQUEST_TIMEOUT):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Gunicorn:
    """A gunicorn running ``app:server`` with the project's gunicorn.conf.py on loopback."""

    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def ports(self) -> list[int]:
        return [self.port]

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds (utime + stime) of each live worker, by pid."""
        out = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def cpu_seconds(self) -> float:
        """CPU time of the master, its workers and every child they reaped (export jobs,
        replaced workers), from /proc: utime + stime + cutime + cstime."""
        total = 0
        for pid in [self.proc.pid, *self.worker_pids()]:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])
        return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def gunicorn(
    workers: int = 2,
    extra: tuple[str, ...] = (),
    cache_dir: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """Start gunicorn on a free loopback port, wait for /healthz, stop it on exit.

    The server runs in its own session, so leaving this block by any path (an error,
    Ctrl-C) stops the whole process group: no stale worker or export job survives to hold
    the export cache. The cache is a fresh directory per server (removed afterwards)
    unless ``cache_dir`` names one. ``env``: the server's environment (default: this one).
    """
    port = free_port()
    own_cache = cache_dir is None
    cache = cache_dir or tempfile.mkdtemp(prefix="optviz-load-cache-")
    log_fd, log_name = tempfile.mkstemp(prefix="optviz-gunicorn-", suffix=".log")
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        *extra,
        "app:server",
    ]
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    env["OPTVIZ_CACHE_DIR"] = cache
    proc = None
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        server = Gunicorn(port, proc, Path(log_name))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{server.log}")
            with contextlib.suppress(OSError):
                if get(port, "/healthz", timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz:\n{server.log}")
            time.sleep(0.2)
        yield server
    finally:
        if proc is not None:
            # gunicorn and all it started (workers, export jobs): no leftovers
            redis_stack.stop(proc, grace=20.0)
        os.close(log_fd)
        with contextlib.suppress(OSError):
            os.unlink(log_name)
        if own_cache:
            shutil.rmtree(cache, ignore_errors=True)


@dataclass
class Deployment:
    """Many machines on loopback (issue 19): web processes and a Celery worker on one Redis."""

    webs: list[Gunicorn]
    worker: redis_stack.Proc

    @property
    def ports(self) -> list[int]:
        return [w.port for w in self.webs]

    @property
    def log(self) -> str:
        return "\n".join([*(w.log for w in self.webs), self.worker.log])

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds of each web process's worker (the split is between web processes)."""
        return {pid: t for w in self.webs for pid, t in w.worker_cpu().items()}

    def cpu_seconds(self) -> float:
        """The web processes' CPU and the Celery worker's (its pool's jobs included)."""
        job = psutil.Process(self.worker.proc.pid)
        family = [job, *job.children(recursive=True)]
        jobs = 0.0
        for proc in family:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                jobs += t.user + t.system + t.children_user + t.children_system
        return sum(w.cpu_seconds() for w in self.webs) + jobs


@contextlib.contextmanager
def deployment(web: int = 2, jobs: int | None = None) -> Iterator[Deployment]:
    """A real redis-server, a Celery worker running ``jobs`` at once (default: the app's
    ``WORKER_JOBS``, as compose.yaml), and ``web`` gunicorns (one worker each, on ports of
    their own), sharing one Redis URL and secret."""
    if jobs is None:
        from viz.ui.jobs import WORKER_JOBS as jobs
    with redis_stack.redis_server() as url:
        env = redis_stack.deployment_env(url, redis_stack.new_secret())
        with contextlib.ExitStack() as stack:
            worker = stack.enter_context(redis_stack.celery_worker(env, concurrency=jobs))
            webs = [stack.enter_context(gunicorn(workers=1, env=env)) for _ in range(web)]
            yield Deployment(webs, worker)


# ----------------------------------------------------------------------------- requests


def _key(component_id) -> str:
    """A component id as Dash writes it in prop ids: dicts as sorted, compact JSON."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def layout_props(layout) -> dict[str, dict]:
    """Every component in a /_dash-layout document with an id: {id key: props}."""
    found: dict[str, dict] = {}
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "props" in node and "type" in node and isinstance(node["props"], dict):
                props = node["props"]
                if "id" in props:
                    found[_key(props["id"])] = props
                stack.extend(props.values())
            else:
                stack.extend(node.values())
    return found


def _matches(pattern: dict, component_id) -> bool:
    """Whether a concrete dict id matches an ALL pattern (wildcards are ["ALL"])."""
    if not isinstance(component_id, dict) or set(component_id) != set(pattern):
        return False
    return all(v == ["ALL"] or component_id[k] == v for k, v in pattern.items())


@dataclass
class App:
    """What a browser knows about the app after loading the page."""

    dependencies: list[dict]
    props: dict[str, dict]  # the layout's components, by id key
    ids: dict[str, object] = field(default_factory=dict)  # id key -> the id itself
    end_id: str = ""  # the page's signed token, echoed as ?endId= (background callbacks)
    _matched: dict = field(default_factory=dict, repr=False)  # pattern -> [(key, id)]

    @classmethod
    def fetch(cls, port: int) -> App:
        status, deps = get(port, "/_dash-dependencies")
        if status != 200:
            raise RuntimeError(f"/_dash-dependencies answered {status}")
        status, layout = get(port, "/_dash-layout")
        if status != 200:
            raise RuntimeError(f"/_dash-layout answered {status}")
        props = layout_props(json.loads(layout))
        ids = {k: p["id"] for k, p in props.items()}
        _, index = get(port, "/")
        config = re.search(rb'<script id="_dash-config"[^>]*>(.*?)</script>', index, re.S)
        end_id = json.loads(config.group(1)).get("end_id", "") if config else ""
        return cls(json.loads(deps), props, ids, end_id or "")

    def callback(self, output_has: str) -> dict | None:
        """The first server-side callback that is the first writer of an output naming
        ``output_has`` (a second writer's output carries Dash's "@" suffix)."""
        for dep in self.dependencies:
            out = dep["output"]
            parts = out[2:-2].split("...") if out.startswith("..") else [out]
            if dep.get("clientside_function") is None and any(
                output_has in p and "@" not in p for p in parts
            ):
                return dep
        return None

    def _expand(self, spec: dict, values: dict[str, object]):
        """A dependency's input/state/output spec as the renderer sends it."""
        raw = spec["id"]
        prop = spec["property"]
        if raw.startswith("{"):
            matched = self._matched.get(raw)
            if matched is None:  # the page's ids do not change: match each pattern once
                pattern = json.loads(raw)
                matched = [(k, cid) for k, cid in self.ids.items() if _matches(pattern, cid)]
                self._matched[raw] = matched
            return [
                {"id": cid, "property": prop, "value": values.get(f"{k}.{prop}")}
                for k, cid in matched
            ]
        return {"id": raw, "property": prop, "value": values.get(f"{raw}.{prop}")}

    def body(self, dep: dict, values: dict[str, object], changed: list[str]) -> dict:
        """The JSON body of one callback request (output, outputs, inputs, state, changed)."""

        def outputs(spec):
            item = self._expand(spec, {})
            strip = lambda d: {"id": d["id"], "property": d["property"]}  # noqa: E731
            return [strip(d) for d in item] if isinstance(item, list) else strip(item)

        specs = [outputs(o) for o in output_specs(dep["output"])]
        return {
            "output": dep["output"],
            # One output goes as an object, several as a list (what the renderer sends).
            "outputs": specs if dep["output"].startswith("..") else specs[0],
            "inputs": [self._expand(i, values) for i in dep["inputs"]],
            "state": [self._expand(s, values) for s in dep["state"]],
            "changedPropIds": changed,
        }

    def initial_values(self) -> dict[str, object]:
        """{"id.prop": value} for every prop the layout sets."""
        return {f"{k}.{name}": v for k, props in self.props.items() for name, v in props.items()}


def output_specs(output: str) -> list[dict]:
    """The outputs named in a dependency's output string, as the renderer splits it.

    One output: ``"id.prop"``; several: ``"..id1.prop1...id2.prop2.."``; pattern ids are
    JSON (``{"name":["ALL"],...}.children``), so the property is after the last dot.
    """
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    specs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        prop = prop.split("@")[0]  # allow_duplicate outputs carry "@hash"
        specs.append({"id": cid, "property": prop})
    return specs


def _blank(items: list) -> list:
    """Inputs/state with their values cleared, as the renderer sends a background poll."""
    return [
        [{**d, "value": None} for d in item] if isinstance(item, list) else {**item, "value": None}
        for item in items
    ]


def _response_props(raw: bytes) -> dict:
    return json.loads(raw).get("response", {})


_DECODER = json.JSONDecoder()


def _prop_value(raw: bytes, component_id: str):
    """``response[component_id]`` of a callback answer, parsing only that value (the
    answer is ``{"multi": true, "response": {"<id>": {...}, ...}}``); None if absent."""
    text = raw.decode()
    at = text.find(json.dumps(component_id) + ":", text.find('"response"'))
    if at < 0:
        return None
    start = at + len(json.dumps(component_id)) + 1
    while text[start] == " ":
        start += 1
    return _DECODER.raw_decode(text, start)[0]


def hyper_inputs(app: App, dep: dict) -> list[str]:
    """The typed-hyperparameter prop ids (pattern inputs whose type is "hyper")."""
    out = []
    for spec in dep["inputs"]:
        if not spec["id"].startswith("{"):
            continue
        pattern = json.loads(spec["id"])
        if pattern.get("type") != "hyper":
            continue
        out += [f"{k}.{spec['property']}" for k, cid in app.ids.items() if _matches(pattern, cid)]
    return out


class Client:
    """One simulated browser: the page's values, the server's scene-state, its own RNG."""

    def __init__(self, app: App, port: int, seed: int):
        self.app = app
        self.port = port
        self.rng = random.Random(seed)
        self.values = app.initial_values()
        self.recompute = app.callback("traj.data")
        if self.recompute is None:
            raise RuntimeError("no server callback outputs traj.data (the recompute)")
        self.export = app.callback("export-download") or app.callback("export")
        self.hypers = hyper_inputs(app, self.recompute)
        if not self.hypers:
            raise RuntimeError("the recompute callback has no hyperparameter inputs")
        self.conn: http.client.HTTPConnection | None = None
        self.last_rtt = float("nan")  # seconds, of the last request (send -> last byte)

    def _post(self, body: dict, **query: str) -> tuple[int, bytes]:
        if self.app.end_id:
            query = {"endId": self.app.end_id, **query}
        url = DISPATCH + ("?" + urllib.parse.urlencode(query) if query else "")
        for attempt in (0, 1):  # one reconnect if a kept-alive connection was closed
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            try:
                payload = json.dumps(body)
                t0 = time.perf_counter()
                self.conn.request("POST", url, payload, {"Content-Type": "application/json"})
                resp = self.conn.getresponse()
                raw = resp.read()
                # What the user waits for: request sent -> answer's last byte received.
                # Building the body and parsing the answer is this load generator's own
                # CPU (20 clients in one process share one GIL), not the server's latency.
                self.last_rtt = time.perf_counter() - t0
                return resp.status, raw
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send_recompute(self, changed: list[str]) -> tuple[bool, str]:
        """One recompute; True when the answer is 200 with new trajectories."""
        status, raw = self._post(self.app.body(self.recompute, self.values, changed))
        if status != 200:
            return False, f"HTTP {status}: {raw[:120]!r}"
        # Keep what the browser keeps: the server's scene-state comes back as State. Only
        # that value is parsed (a browser parses the answer on its own machine; here the
        # 20 clients share the server's 2 cores, and parsing ~100 kB of trajectories per
        # answer was ~3 ms of this generator's CPU taken from the server).
        found = _prop_value(raw, "traj")
        if not isinstance(found, dict) or "data" not in found:
            return False, f"no trajectories in the answer: {raw[:200]!r}"
        state = _prop_value(raw, "scene-state")
        state = state.get("data") if isinstance(state, dict) else None
        if state is not None:
            self.values["scene-state.data"] = state
        for key in ("msg-shown",):
            shown = _prop_value(raw, key)
            if isinstance(shown, dict) and "data" in shown:
                self.values[f"{key}.data"] = shown["data"]
        return True, ""

    def send_export(self) -> tuple[bool, str]:
        """One export, as a click on the export callback's first input; a background
        callback is polled (same body, ``cacheKey``/``job``) until it answers."""
        dep = self.export
        first = dep["inputs"][0]
        prop = f"{first['id']}.{first['property']}"
        if first["property"] == "n_clicks":
            self.values[prop] = int(self.values.get(prop) or 0) + 1
        body = self.app.body(dep, self.values, [prop])
        status, raw = self._post(body)
        polled = False
        if status == 200 and "cacheKey" in (doc := json.loads(raw)):
            polled = True
            handles = {"cacheKey": doc["cacheKey"], "job": doc["job"]}
            blank = {**body, "inputs": _blank(body["inputs"]), "state": _blank(body["state"])}
            interval = (dep.get("background") or {}).get("interval", 500) / 1000
            deadline = time.monotonic() + REQUEST_TIMEOUT
            while status == 200 and "response" not in json.loads(raw):
                if time.monotonic() > deadline:
                    return False, "export did not finish in time"
                time.sleep(interval)
                status, raw = self._post(blank, **handles)
        if status == 204 and polled:
            # Dash's answer to a poll whose job ended without a result (killed, or lost):
            # the page switches the running outputs off and shows INCOMPLETE. A failure.
            return False, "export: the job ended without a result (the page says INCOMPLETE)"
        if status != 200:
            return False, f"export: HTTP {status}: {raw[:120]!r}"
        props = _response_props(raw)
        if any("download" in k and v.get("data") for k, v in props.items()):
            return True, ""
        # No file: a limit said no (e.g. every export slot busy) with a message, or a fault.
        said = [v.get("children") for k, v in props.items() if k.endswith("-msg")]
        said = [m for m in said if isinstance(m, str) and m]
        if not said:
            return True, "refused without a message"
        if "busy" in said[0].lower():  # the export limit said no, as designed
            return True, f"refused: {said[0]}"
        return False, f"export failed: {said[0]}"

    def change_hyper(self) -> list[str]:
        """A student moves one learning rate (or other value) by a small factor."""
        prop = self.rng.choice(self.hypers)
        try:
            old = float(self.values[prop])
        except (TypeError, ValueError, KeyError):
            old = 0.01
        new = old * self.rng.choice((0.5, 0.8, 1.25, 2.0))
        if 0.0 < old < 1.0 and new >= 1.0:  # β, γ, ρ, μ stay below 1
            new = old * 0.9
        self.values[prop] = f"{new:.6g}"
        return [prop]


# ----------------------------------------------------------------------------- hostile

NESTED = (  # typed as the custom f(x, y): 18 nested calls (the parser must bound it)
    "cos(tanh(cos(asin(tanh(sinh(tanh(cos(asin(acos(sinh(atan(atan(cos(cos(tan(tanh("
    "log(x*y))))))))))))))))))"
)
SWEEP_COPIES, SWEEP_RATES, SWEEP_STEPS = 480, 200, 2000  # far past any sane budget
SLOW_EVERY_S = 2.0  # a slow body's pace: one byte per this many seconds
SLOW_MAX_S = 40.0  # and at most this long per connection (the server should cut sooner)
SLOW_CLIENTS = 8  # slow connections open at once
FAST_ATTACKERS = 4  # threads sending the costly sweeps and expressions


@dataclass
class Hostile:
    """What the hostile requests got: per kind, (outcome, seconds) pairs."""

    outcomes: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.outcomes.setdefault(kind, []).append((outcome, seconds))

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.outcomes.values())

    def server_faults(self) -> int:
        """Answers that show the server failing (5xx, dropped without an answer)."""
        return sum(
            1
            for v in self.outcomes.values()
            for outcome, _ in v
            if outcome.startswith("HTTP 5") or outcome in {"no answer", "timeout"}
        )

    def summary(self) -> str:
        parts = []
        for kind, items in sorted(self.outcomes.items()):
            tally: dict[str, int] = {}
            for outcome, _ in items:
                tally[outcome] = tally.get(outcome, 0) + 1
            seconds = sorted(t for _, t in items)
            common = ", ".join(f"{n}× {o}" for o, n in sorted(tally.items(), key=lambda x: -x[1]))
            parts.append(f"{kind} {len(items)} (p50 {quantile(seconds, 0.5):.2f} s: {common})")
        return "; ".join(parts)


def _said(raw: bytes) -> str:
    """The first message a callback answer shows (``*-msg`` children), shortened."""
    try:
        props = _response_props(raw)
    except (ValueError, KeyError, TypeError):
        return ""
    for key, value in props.items():
        if key.endswith("-msg") and isinstance(value.get("children"), str) and value["children"]:
            return value["children"][:60]
    return ""


def _hostile_sweep(client: Client) -> str:
    dep = client.app.callback("sweep-graph")
    if dep is None:
        return "no sweep panel"
    values = dict(client.values)
    state = values.get("scene-state.data")
    if isinstance(state, dict) and state.get("optimizers"):
        # the same run over and over: in the old store and in the scene codec's dict
        state = {**state, "optimizers": [state["optimizers"][0]] * SWEEP_COPIES}
        scene = state.get("scene")
        if isinstance(scene, dict) and scene.get("r"):
            state["scene"] = {**scene, "r": [scene["r"][0]] * SWEEP_COPIES}
        values["scene-state.data"] = state
    values.update(
        {
            "sweep-lo.value": "1e-5",
            "sweep-hi.value": "1",
            "sweep-count.value": str(SWEEP_RATES),
            "sweep-steps.value": str(SWEEP_STEPS),
            "sweep-btn.n_clicks": 1,
        }
    )
    status, raw = client._post(client.app.body(dep, values, ["sweep-btn.n_clicks"]))
    if status != 200:
        return f"HTTP {status}"
    return "HTTP 200 refused" if _said(raw) else "HTTP 200 ran"


def _hostile_expression(client: Client) -> str:
    values = dict(client.values)
    values.update({"surface.value": "custom", "expression.value": NESTED})
    body = client.app.body(client.recompute, values, ["expression.value"])
    status, raw = client._post(body)
    if status != 200:
        return f"HTTP {status}"
    return "HTTP 200 refused" if _said(raw) else "HTTP 200 ran"


def _slow_body(port: int, stop: threading.Event) -> str:
    """A callback request whose body comes a byte every ``SLOW_EVERY_S``; its outcome."""
    head = (
        f"POST {DISPATCH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        "Content-Length: 4096\r\n\r\n{"
    ).encode()
    with socket.create_connection((HOST, port), timeout=SLOW_EVERY_S * 2) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + SLOW_MAX_S
        while time.monotonic() < deadline and not stop.is_set():
            try:
                sock.settimeout(SLOW_EVERY_S)
                data = sock.recv(200)  # an answer (408/413) or a close ends it
                if not data:
                    return "closed"
                m = re.match(rb"HTTP/1\.[01] (\d+)", data)
                return f"HTTP {m.group(1).decode()}" if m else "answered"
            except TimeoutError:
                pass
            except OSError:
                return "closed"
            try:
                sock.sendall(b" ")
            except OSError:
                return "closed"
    return "gave up (still open)" if not stop.is_set() else "still open at the end"


def hostile_traffic(
    ports: list[int], share: float, honest_done, stop: threading.Event, hostile: Hostile, seed: int
) -> list[threading.Thread]:
    """Threads that keep the hostile requests at ``share`` of all requests sent so far
    (spread over the web processes at ``ports``)."""
    if share <= 0:
        return []
    ratio = share / (1 - share)
    sent = [0]
    lock = threading.Lock()

    def token() -> bool:
        while not stop.is_set():
            with lock:
                if sent[0] < ratio * max(1, honest_done()):
                    sent[0] += 1
                    return True
            time.sleep(0.02)
        return False

    def fast(i: int) -> None:
        port = ports[i % len(ports)]
        client = Client(App.fetch(port), port, seed + i)
        client.send_recompute([])  # a scene-state to send back, as a page would
        kinds = [("sweep", _hostile_sweep), ("expression", _hostile_expression)]
        n = i
        while token():
            kind, send = kinds[n % 2]
            n += 1
            t0 = time.perf_counter()
            try:
                outcome = send(client)
            except TimeoutError:
                outcome = "timeout"
            except (OSError, http.client.HTTPException):
                outcome = "no answer"
                client.close()
            hostile.add(kind, outcome, time.perf_counter() - t0)

    def slow(i: int) -> None:
        port = ports[i % len(ports)]
        while token():
            t0 = time.perf_counter()
            try:
                outcome = _slow_body(port, stop)
            except OSError as exc:
                outcome = f"refused ({type(exc).__name__})"
            hostile.add("slow body", outcome, time.perf_counter() - t0)

    threads = [threading.Thread(target=fast, args=(i,), daemon=True) for i in range(FAST_ATTACKERS)]
    threads += [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(SLOW_CLIENTS)]
    for t in threads:
        t.start()
    return threads


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 < q < 1) of the values, linear between order statistics."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass
class LoadResult:
    latencies: list[float]  # seconds, of every recompute that got its answer
    errors: list[str]
    export_latencies: list[float]  # of the exports that delivered a file
    wall: float
    note: str = ""
    refused: list[str] = field(default_factory=list)  # exports a limit turned away
    hostile: Hostile = field(default_factory=Hostile)  # what the hostile requests got

    @property
    def requests(self) -> int:
        n = len(self.latencies) + len(self.export_latencies)
        return n + len(self.errors) + len(self.refused)

    def quantile(self, q: float) -> float:
        return quantile(self.latencies, q)


def load(
    port: int | list[int],
    clients: int = 20,
    requests: int = 100,
    export_share: float = 0.0,
    seed: int = 0,
    hostile_share: float = 0.0,
) -> LoadResult:
    """``clients`` threads, each sending ``requests`` callbacks after its page load; with
    several ``port``s (web processes sharing one Redis), client i talks to port i mod n."""
    ports = [port] if isinstance(port, int) else list(port)
    if not (1 <= clients <= MAX_CLIENTS and 1 <= requests <= MAX_REQUESTS):
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}, requests 1..{MAX_REQUESTS}")
    if not 0 <= hostile_share < 0.5:
        raise ValueError("hostile_share must be in [0, 0.5)")
    app = App.fetch(ports[0])  # what every page shares (callbacks); each client loads its own
    latencies: list[float] = []
    export_latencies: list[float] = []
    errors: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    note = ""
    if export_share > 0 and app.callback("export") is None:
        note = "no export callback in the app yet: recomputes only"
        export_share = 0.0
    barrier = threading.Barrier(clients)
    done = [0]  # honest requests answered so far (the hostile share follows it)
    hostile = Hostile()
    stop = threading.Event()

    def worker(i: int) -> None:
        client = None
        try:
            # Its own page load: the layout carries a fresh export-page id (Dash keys a
            # background job's result by its arguments; pages must not share one).
            mine = ports[i % len(ports)]
            client = Client(App.fetch(mine), mine, seed + i)
            ok, why = client.send_recompute([])  # the page load's first compute (not timed)
            if not ok:
                with lock:
                    errors.append(f"client {i}, initial: {why}")
            barrier.wait(timeout=REQUEST_TIMEOUT * 2)
            for _ in range(requests):
                export = client.rng.random() < export_share
                changed = [] if export else client.change_hyper()
                t0 = time.perf_counter()
                try:
                    ok, why = client.send_export() if export else client.send_recompute(changed)
                except (OSError, http.client.HTTPException) as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"
                dt = time.perf_counter() - t0 if export else client.last_rtt
                with lock:
                    done[0] += 1
                    if not ok or why == "refused without a message":
                        errors.append(f"client {i}: {why}")
                    elif why:
                        refused.append(why)
                    else:
                        (export_latencies if export else latencies).append(dt)
        except threading.BrokenBarrierError:
            with lock:
                errors.append(f"client {i}: the others never got ready")
        except Exception as exc:  # any failure of a client is an error to report, not a crash
            with lock:
                errors.append(f"client {i}: {type(exc).__name__}: {exc}")
            barrier.abort()
        finally:
            if client is not None:
                client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    attackers = hostile_traffic(ports, hostile_share, lambda: done[0], stop, hostile, seed + 10_000)
    for t in threads:
        t.join(timeout=REQUEST_TIMEOUT * (requests + 2))
    wall = time.perf_counter() - t0
    stop.set()
    for t in attackers:  # bounded: a request timeout, a slow body's pace
        t.join(timeout=REQUEST_TIMEOUT + SLOW_EVERY_S * 2)
    if any(t.is_alive() for t in threads):
        errors.append("some clients did not finish in time")
    return LoadResult(latencies, errors, export_latencies, wall, note, refused, hostile)


# ----------------------------------------------------------------------------- report

LOG_COPY = ROOT / "benchmarks" / "out" / "load-server.log"


def _traceback_summaries(log: str) -> str:
    """The distinct last lines (exception type and message) of the log's tracebacks."""
    found: dict[str, int] = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        j = i + 1
        while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
            j += 1
        if j < len(lines):
            found[lines[j][:120]] = found.get(lines[j][:120], 0) + 1
    return "; ".join(f"{n}× {msg}" for msg, n in found.items())


def main(
    clients: int = 20,
    requests: int = 100,
    workers: int = 2,
    export_share: float = 0.05,
    hostile_share: float = 0.10,
    redis: bool = True,
) -> list[Row]:
    """The disk-cache setup (one gunicorn, ``workers`` processes); then, with ``redis`` and
    a redis-server installed, the same load on a many-machine deployment (issue 19)."""
    with gunicorn(workers=workers) as server:
        what = f"gunicorn -w {workers}"
        rows = measure(server, what, clients, requests, export_share, hostile_share)
    if redis:
        with deployment(web=workers) as served:
            what = f"{workers} web processes (gunicorn -w 1 each) + Celery worker on Redis"
            rows += measure(served, what, clients, requests, export_share, hostile_share)
    return rows


def measure(
    server, served: str, clients: int, requests: int, export_share: float, hostile_share: float
) -> list[Row]:
    """The load's rows against ``server`` (a ``Gunicorn`` or a Redis deployment: its
    ``ports``, ``cpu_seconds()``, ``worker_cpu()``, ``log``), named after ``served``."""
    # The peer: the same recompute from one client alone, same server, same run; the
    # ratio is what sharing the server's cores with the other clients costs.
    alone = load(server.ports, 1, SOLO_REQUESTS, 0.0, seed=1000)
    # With hostile traffic, a second peer: the same honest load without it, same run.
    calm = load(server.ports, clients, requests, export_share) if hostile_share > 0 else None
    cpu0, own0, split0 = server.cpu_seconds(), time.process_time(), server.worker_cpu()
    result = load(server.ports, clients, requests, export_share, hostile_share=hostile_share)
    cpu, own = server.cpu_seconds() - cpu0, time.process_time() - own0
    split = [t - split0[p] for p, t in server.worker_cpu().items() if p in split0]
    log = server.log
    solo50 = alone.quantile(0.50) if not alone.errors else None
    tracebacks = log.count("Traceback (most recent call last)")
    if tracebacks:  # keep the server's log for whoever looks into them
        LOG_COPY.parent.mkdir(exist_ok=True)
        LOG_COPY.write_text(log)
    mix = f", {export_share:.0%} exports" if export_share > 0 and not result.note else ""
    if hostile_share > 0:
        mix += f", {hostile_share:.0%} hostile"
    what = f"load: {clients} clients × {requests} callbacks{mix}, {served}"
    notes = [
        f"{result.requests / result.wall:.0f} requests/s over {result.wall:.1f} s",
        f"CPU per request: server {cpu / result.requests * 1000:.0f} ms (workers and export "
        f"jobs), this load generator {own / result.requests * 1000:.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
    ]
    if len(split) > 1 and sum(split) > 0:  # kept-alive connections stay on one worker
        notes.append(
            "CPU split between workers "
            + " / ".join(f"{t / sum(split):.0%}" for t in sorted(split, reverse=True))
        )
    # gunicorn's own workers say the first, uvicorn's the second
    restarts = log.count("Autorestarting worker") + log.count("Maximum request limit of")
    if restarts:  # max_requests recycling: a fresh worker starts with cold caches
        notes.append(f"{restarts} worker(s) recycled by max_requests during the run")
    if result.note:
        notes.append(result.note)
    if tracebacks:
        last = _traceback_summaries(log)
        notes.append(f"{tracebacks} tracebacks in the server log ({LOG_COPY}): {last}")
    if result.errors:
        notes.append(f"first error: {result.errors[0]}")
    note = "; ".join(notes)
    p50, p95 = result.quantile(0.50), result.quantile(0.95)
    rows = [
        Row(f"{what}: errors", len(result.errors), "errors", "0", not result.errors, note=note),
        Row(f"{what}: recompute p50", p50, "s", "—", True, solo50, "1 client, p50", note=note),
        Row(
            f"{what}: recompute p95",
            p95,
            "s",
            "< 500 ms",
            p95 < 0.5,
            solo50,
            "1 client, p50",
            note=note,
        ),
    ]
    if calm is not None:
        c95 = calm.quantile(0.95)
        calm_note = (
            f"the same {clients} x {requests} honest load without hostile traffic, same run: "
            f"p95 {c95 * 1000:.0f} ms, {len(calm.errors)} errors"
            + (f" (first: {calm.errors[0]})" if calm.errors else "")
        )
        rows.append(
            Row(
                f"{what}: recompute p95 against no hostile traffic",
                p95,
                "s",
                "—",
                True,
                c95,
                "no hostile traffic, p95",
                note=calm_note,
            )
        )
        h = result.hostile
        total = h.count + result.requests
        rows.append(
            Row(
                f"{what}: hostile requests that broke the server",
                h.server_faults(),
                "requests",
                "0 (5xx, dropped)",
                h.server_faults() == 0,
                note=f"{h.count} hostile = {h.count / max(1, total):.0%} of all requests: "
                + h.summary(),
            )
        )
    if result.export_latencies or result.refused:
        n = len(result.export_latencies)
        e95 = quantile(result.export_latencies, 0.95)
        turned = (
            f"; {len(result.refused)} more refused by the export limit" if result.refused else ""
        )
        if result.refused:
            turned += f" ({result.refused[0]!r})"
        rows.append(
            Row(f"{what}: {n} GIF exports among them, p95", e95, "s", "—", True, note=note + turned)
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--export-share", type=float, default=0.05)
    parser.add_argument("--hostile-share", type=float, default=0.10)
    parser.add_argument("--no-redis", action="store_true", help="the disk-cache setup only")
    a = parser.parse_args()
    rows = main(a.clients, a.requests, a.workers, a.export_share, a.hostile_share, not a.no_redis)
    report(rows)
