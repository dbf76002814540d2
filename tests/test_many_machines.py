"""Many machines (issue 19): exports on Redis + Celery, shared by every web process.

Real processes only: Debian's ``redis-server`` on a free loopback port (files in a private
temporary folder), a Celery worker (``celery -A viz.ui.worker worker``), and web processes
(``python app.py``; gunicorn for the second), all with the same ``OPTVIZ_REDIS_URL`` and
``OPTVIZ_SECRET_KEY``. The export is driven at the HTTP level exactly as the Dash renderer
drives a background callback: the click's request answers ``cacheKey``/``job`` handles
(signed for the page's ``endId``), then the page polls with them until the answer comes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import redis
from dash import no_update
from PIL import Image

from benchmarks import redis_stack
from benchmarks.bench_load import (
    SWEEP_COPIES,
    SWEEP_RATES,
    SWEEP_STEPS,
    App,
    Client,
    _blank,
    get,
)
from optimizers.budget import Budget
from viz import gif
from viz.ui import export_panel, ids, jobs
from viz.ui.panels import sweep

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.25
EXPORT_TIMEOUT = 240.0  # s: generous, the machine is shared


# ----------------------------------------------------------------------------- processes


@pytest.fixture(scope="session")
def redis_url():
    with redis_stack.redis_server() as url:
        yield url


@pytest.fixture(scope="module")
def env(redis_url):
    return redis_stack.deployment_env(redis_url, redis_stack.new_secret())


@pytest.fixture(scope="module")
def worker(env):
    with redis_stack.celery_worker(env, concurrency=1) as w:
        yield w


@pytest.fixture(scope="module")
def web_b(env, worker):
    """The second web process: gunicorn (one worker), as a deployment's replica runs."""
    with redis_stack.web_gunicorn(env, workers=1) as b:
        yield b


# ----------------------------------------------------------------------------- a page


class Page:
    """One browser page loaded from one web process; it may poll through any other."""

    def __init__(self, port: int, steps: int | None = None):
        self.app = App.fetch(port)
        self.client = Client(self.app, port, seed=7)
        changed = []
        if steps is not None:
            self.client.values[f"{ids.STEPS}.value"] = steps
            changed = [f"{ids.STEPS}.value"]
        ok, why = self.client.send_recompute(changed)
        assert ok, why
        self.state = self.client.values[f"{ids.SCENE_STATE}.data"]
        self.scene = export_panel.scene_from_state(self.state)  # what the server will export
        assert steps is None or self.scene.steps == steps

    def export(self, port: int, view: str, frames: int, width: int, height: int):
        """Click Export on ``port``: (the poll's body, the signed handles)."""
        v = self.client.values
        v[f"{ids.EXPORT_BTN}.n_clicks"] = 1
        v[f"{ids.EXPORT_VIEW}.value"] = view
        v[f"{ids.EXPORT_FRAMES}.value"] = str(frames)
        v[f"{ids.EXPORT_WIDTH}.value"] = str(width)
        v[f"{ids.EXPORT_HEIGHT}.value"] = str(height)
        return self.click(port, self.client.export, f"{ids.EXPORT_BTN}.n_clicks")

    def click(self, port: int, dep: dict, changed: str):
        """Send ``dep``'s request on ``port``: a background job starts; (poll body, handles)."""
        body = self.app.body(dep, self.client.values, [changed])
        status, raw = self.post(port, body)
        assert status == 200, raw[:300]
        doc = json.loads(raw)
        assert "cacheKey" in doc and "job" in doc, doc  # a background job was started
        blank = {**body, "inputs": _blank(body["inputs"]), "state": _blank(body["state"])}
        return blank, {"cacheKey": doc["cacheKey"], "job": doc["job"]}

    def post(self, port: int, body: dict, **handles) -> tuple[int, bytes]:
        self.client.close()  # a fresh connection to whichever process is asked
        self.client.port = port
        return self.client._post(body, **handles)

    def poll(self, port: int, body: dict, handles: dict) -> tuple[int, dict]:
        status, raw = self.post(port, body, **handles)
        return status, (json.loads(raw) if status == 200 and raw else {})

    def wait(self, port: int, body: dict, handles: dict) -> dict:
        """Poll through ``port`` until the job's answer: its outputs."""
        deadline = time.monotonic() + EXPORT_TIMEOUT
        while time.monotonic() < deadline:
            status, doc = self.poll(port, body, handles)
            assert status == 200, f"poll answered {status}: the job's result was lost"
            if "response" in doc:
                return doc["response"]
            time.sleep(POLL_S)
        raise AssertionError("the export did not finish in time")


def task_id(handles: dict) -> str:
    """The Celery task id inside the signed ``job`` handle (value~signature)."""
    return handles["job"].rpartition("~")[0]


def downloaded_gif(response: dict) -> tuple[bytes, Image.Image]:
    data = response[ids.EXPORT_DOWNLOAD]["data"]
    assert data["filename"].endswith(".gif") and data["base64"]
    raw = base64.b64decode(data["content"])
    return raw, Image.open(io.BytesIO(raw))


def frame_rgb(im: Image.Image, index: int):
    import numpy as np

    im.seek(index)
    return np.asarray(im.convert("RGB"), dtype=float)


# ----------------------------------------------------------------------------- the two tests


def test_an_export_started_on_one_web_process_is_polled_and_downloaded_on_another(
    env, worker, web_b
):
    with redis_stack.web_app(env) as web_a:
        page = Page(web_a.port)
        body, handles = page.export(web_a.port, "contour", frames=12, width=320, height=240)
        # Web process A started it; from now on the page only talks to B.
        response = page.wait(web_b.port, body, handles)
        assert "✓" in response[ids.EXPORT_STATUS]["children"]
        raw, im = downloaded_gif(response)
        assert (im.n_frames, im.size) == (12, (320, 240))
        # The job ran in the Celery worker (its log names the task id of the handle)...
        assert worker.logged(re.escape(f"[{task_id(handles)}] succeeded"))
        # ...was never revoked on the way (a finished job is not "terminated")...
        assert "Terminating" not in worker.log and "revoked" not in worker.log
        # ...and made the same GIF as the renderer here, from the page's own scene.
        scene = page.scene
        runs = scene.compute(Budget.of("export"))
        local = gif.render_gif_bytes(scene, "contour", 12, None, (320, 240), None, None, runs)
        assert raw == local
        # The result was read once through B: a poll through A later finds it kept for a
        # short while (in case B's answer had been lost), then it expires (jobs.REREAD_TTL).
        key = handles["cacheKey"].rpartition("~")[0]
        ttl = redis.Redis.from_url(env["OPTVIZ_REDIS_URL"]).ttl(key)
        assert 0 < ttl <= jobs.REREAD_TTL


def test_killing_the_web_process_that_started_an_export_loses_nothing(env, worker, web_b):
    """A long export (1,000 frames of a 2,000-step scene at 1280x720) is started and watched
    through A; A is killed (SIGKILL) while the worker renders; B hands over the whole GIF."""
    frames = 1000
    with redis_stack.web_app(env) as web_a:
        page = Page(web_a.port, steps=2000)
        body, handles = page.export(web_a.port, "contour", frames=frames, width=1280, height=720)
        _progress_between(page, web_a.port, body, handles, frames)
        os.killpg(web_a.proc.pid, signal.SIGKILL)
        web_a.proc.wait(timeout=10)
        with pytest.raises(OSError):
            get(web_a.port, "/healthz", timeout=2)
        response = page.wait(web_b.port, body, handles)
    _, im = downloaded_gif(response)
    assert (im.n_frames, im.size) == (frames, (1280, 720))
    assert f"{frames} frames" in response[ids.EXPORT_STATUS]["children"]
    assert worker.logged(re.escape(f"[{task_id(handles)}] succeeded"))
    # The last frame is the scene's last step, as the renderer here draws it.
    local = gif.render_gif_bytes(page.scene, "contour", 2, None, (1280, 720))
    last = frame_rgb(Image.open(io.BytesIO(local)), 1)
    assert abs(frame_rgb(im, frames - 1) - last).mean() < 1.0


def _progress_between(page: Page, port: int, body: dict, handles: dict, frames: int) -> int:
    """Poll through ``port`` until the job reports 0 < frame < ``frames``; that frame."""
    seen, deadline = None, time.monotonic() + EXPORT_TIMEOUT
    while seen is None or not 0 < seen < frames:
        assert time.monotonic() < deadline, "no progress seen"
        status, doc = page.poll(port, body, handles)
        assert status == 200 and "response" not in doc, "finished before it could be stopped"
        seen = (doc.get("progress") or {}).get(f"{ids.EXPORT_PROGRESS}.value", seen)
        time.sleep(POLL_S)
    return seen


def test_an_export_started_on_one_web_process_is_cancelled_through_another(env, worker, web_b):
    """Cancel, as the page sends it (the cancel callback with the signed job handle),
    through B stops the job A started in the worker; the page's next poll hears that it
    ended without a result, and the slot is free for the next export."""
    frames = 1000
    with redis_stack.web_app(env) as web_a:
        page = Page(web_a.port, steps=2000)
        body, handles = page.export(web_a.port, "contour", frames=frames, width=1280, height=720)
        _progress_between(page, web_a.port, body, handles, frames)
    cancel = page.app.callback(f"{ids.EXPORT_CANCEL}.id")
    page.client.values[f"{ids.EXPORT_CANCEL}.n_clicks"] = 1
    request = page.app.body(cancel, page.client.values, [f"{ids.EXPORT_CANCEL}.n_clicks"])
    status, _ = page.post(web_b.port, request, cancelJob=handles["job"])
    assert status in (200, 204)
    deadline = time.monotonic() + 60
    while (status := page.poll(web_b.port, body, handles)[0]) == 200:
        assert time.monotonic() < deadline, "the cancelled job still runs"
        time.sleep(POLL_S)
    assert status == 204  # Dash: ended without a result (the page shows its INCOMPLETE line)
    assert worker.logged(re.escape(f"Terminating {task_id(handles)}"))
    # Both slots free again: two exports at once both run (none is told "busy").
    pages = [Page(web_b.port), Page(web_b.port)]
    started = [p.export(web_b.port, "contour", frames=6, width=320, height=240) for p in pages]
    for p, (b, h) in zip(pages, started, strict=True):
        assert "✓" in p.wait(web_b.port, b, h)[ids.EXPORT_STATUS]["children"]


def test_an_analysis_runs_as_a_job_and_answers_through_another_web_process(env, worker, web_b):
    """The learning-rate sweep (and the convergence map: the same registration) is a job on
    the worker in this mode; its figure, fetched through B, is the one computed here."""
    with redis_stack.web_app(env) as web_a:
        page = Page(web_a.port)
        deps = {name: page.app.callback(name) for name in (ids.SWEEP_GRAPH, ids.MAP_GRAPH)}
        assert all(dep.get("background") for dep in deps.values())
        controls = {ids.SWEEP_LO: "1e-3", ids.SWEEP_HI: "0.5", ids.SWEEP_COUNT: "8"}
        controls[ids.SWEEP_STEPS] = "150"
        page.client.values.update({f"{k}.value": v for k, v in controls.items()})
        page.client.values[f"{ids.SWEEP_BTN}.n_clicks"] = 1
        body, handles = page.click(web_a.port, deps[ids.SWEEP_GRAPH], f"{ids.SWEEP_BTN}.n_clicks")
        response = page.wait(web_b.port, body, handles)
    assert worker.logged(re.escape(f"[{task_id(handles)}] succeeded"))
    metric = page.client.values[f"{ids.SWEEP_METRIC}.value"]
    want, message, _ = sweep.compute_sweep(page.state, *controls.values(), metric)
    assert response[ids.SWEEP_MSG]["children"] == message == ""
    got = response[ids.SWEEP_GRAPH]["figure"]["data"]
    assert len(got) == len(want.data) > 0
    for g, w in zip(got, want.data, strict=True):
        assert g.get("name") == w.name
        y = np.array([np.nan if v is None else v for v in g["y"]], dtype=float)
        np.testing.assert_allclose(y, np.asarray(w.y, dtype=float), rtol=1e-12, equal_nan=True)


def test_an_analysis_jobs_progress_reaches_its_page_through_another_web_process(env, worker, web_b):
    """The sweep runs on the worker; its budget's reports go to Redis, and the page's asks,
    sent to web process B, read them; another page's id reads nothing."""
    with redis_stack.web_app(env) as web_a:
        page = Page(web_a.port)
        v = page.client.values
        v.update({f"{ids.SWEEP_COUNT}.value": "60", f"{ids.SWEEP_STEPS}.value": "2000"})
        v[f"{ids.SWEEP_BTN}.n_clicks"] = 1
        dep = page.app.callback(ids.SWEEP_GRAPH)
        body, handles = page.click(web_a.port, dep, f"{ids.SWEEP_BTN}.n_clicks")
        ask = page.app.callback(ids.ANALYSIS_SEEN)

        def seen(page_id: str) -> dict:
            v[f"{ids.ANALYSIS_ASK}.data"] = {"panels": ["sweep"], "t": 7}
            v[f"{ids.EXPORT_PAGE}.data"] = page_id
            status, raw = page.post(web_b.port, page.app.body(ask, v, [f"{ids.ANALYSIS_ASK}.data"]))
            assert status == 200, raw[:300]
            answer = json.loads(raw)["response"][ids.ANALYSIS_SEEN]["data"]
            assert answer["t"] == 7
            return answer["panels"]

        mine = v[f"{ids.EXPORT_PAGE}.data"]
        records, deadline = [], time.monotonic() + EXPORT_TIMEOUT
        while time.monotonic() < deadline:
            records.append(seen(mine).get("sweep"))
            if records[-1] and records[-1]["done"]:
                break
            time.sleep(0.1)
        assert seen(uuid.uuid4().hex) == {}
        v[f"{ids.EXPORT_PAGE}.data"] = mine
        response = page.wait(web_b.port, body, handles)
    assert response[ids.SWEEP_MSG]["children"] == ""
    got = [r for r in records if r]
    assert got and got[-1]["done"] and got[-1]["f"] == 1.0 and got[-1]["s"] > 0, records
    fractions = [r["f"] for r in got]
    assert fractions == sorted(fractions)


def test_an_analysis_job_refuses_as_the_embedded_mode_does(env, worker, web_b):
    """The load test's hostile sweep (480 copies of a run x 200 rates x 2,000 steps) is
    refused by the job in the worker, before anything runs, with the message the embedded
    mode gives word for word, and nothing is drawn."""
    page = Page(web_b.port)
    scene = page.state["scene"]
    page.state = {**page.state, "scene": {**scene, "r": [scene["r"][0]] * SWEEP_COPIES}}
    page.client.values[f"{ids.SCENE_STATE}.data"] = page.state
    controls = {ids.SWEEP_LO: "1e-5", ids.SWEEP_HI: "1", ids.SWEEP_COUNT: str(SWEEP_RATES)}
    controls[ids.SWEEP_STEPS] = str(SWEEP_STEPS)
    page.client.values.update({f"{k}.value": v for k, v in controls.items()})
    page.client.values[f"{ids.SWEEP_BTN}.n_clicks"] = 1
    dep = page.app.callback(ids.SWEEP_GRAPH)
    body, handles = page.click(web_b.port, dep, f"{ids.SWEEP_BTN}.n_clicks")
    response = page.wait(web_b.port, body, handles)
    assert worker.logged(re.escape(f"[{task_id(handles)}] succeeded"))
    metric = page.client.values[f"{ids.SWEEP_METRIC}.value"]
    figure, message, _ = sweep.compute_sweep(page.state, *controls.values(), metric)
    assert figure is no_update and message
    assert response[ids.SWEEP_MSG]["children"] == message
    assert ids.SWEEP_GRAPH not in response  # the figure is left as it was


def test_analyses_stay_plain_callbacks_without_redis(monkeypatch, tmp_path):
    import app as optviz_app

    monkeypatch.delenv("OPTVIZ_REDIS_URL", raising=False)
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    deps = optviz_app.create_app().server.test_client().get("/_dash-dependencies").get_json()
    for name in (ids.SWEEP_GRAPH, ids.MAP_GRAPH):
        (dep,) = [d for d in deps if d["output"].startswith(f"..{name}.figure...")]
        assert not dep.get("background")


# ----------------------------------------------------------------------------- safety


def test_the_worker_never_unpickles_a_message(redis_url, worker, tmp_path):
    """Celery is held to json: a pickled task whose unpickling would make a folder is
    refused by the worker, and the folder never appears."""
    from celery import Celery

    marker = tmp_path / "unpickled"

    class Planted:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    sender = Celery("attacker", broker=redis_url)
    sender.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    # The export's own task (the worker decodes the body of a task it knows)
    name = re.search(r"background_callback_[0-9a-f]{64}", worker.log)[0]
    sender.send_task(name, args=[Planted()], serializer="pickle")
    assert worker.logged("untrusted content of type pickle", timeout=30)
    assert not marker.exists()
    conf = jobs.celery_app(redis_url).conf
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")
    assert list(conf.accept_content) == ["json"] and list(conf.result_accept_content) == ["json"]


def _one_line_refusal(cmd: list[str], env: dict) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-2000:]
    return out


@pytest.mark.parametrize(
    "cmd",
    [
        [sys.executable, "app.py", "--port", "0"],
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "-b",
            "127.0.0.1:0",
            "app:server",
        ],
        [sys.executable, "-m", "celery", "-A", "viz.ui.worker", "worker", "--concurrency", "1"],
    ],
    ids=["app.py", "gunicorn", "celery worker"],
)
def test_redis_mode_refuses_to_start_without_the_shared_secret(cmd, redis_url):
    env = {k: v for k, v in os.environ.items() if k != "OPTVIZ_SECRET_KEY"}
    out = _one_line_refusal(cmd, {**env, "OPTVIZ_REDIS_URL": redis_url})
    # gunicorn puts "Error: " before it
    assert any(line.endswith(jobs.NO_SHARED_SECRET) for line in out.splitlines()), out[-2000:]


def test_a_redis_url_that_is_not_one_is_refused_in_one_line():
    env = {**os.environ, "OPTVIZ_REDIS_URL": "http://cache:6379", "OPTVIZ_SECRET_KEY": "k" * 40}
    out = _one_line_refusal([sys.executable, "app.py", "--port", "0"], env)
    assert "optviz: OPTVIZ_REDIS_URL must start with redis://" in out.splitlines()[-1]


def test_an_export_while_redis_is_unreachable_ends_with_the_pages_message_not_a_500():
    """No Redis behind the URL (down, or not up yet): the page still loads and computes;
    a click on Export is taken (200) and its first poll answers 204, Dash's "the job ended
    without a result": the page shows its "did not finish" line and enables Export again."""
    dead = f"redis://127.0.0.1:{redis_stack.free_port()}/0"  # nothing listens there
    env = redis_stack.deployment_env(dead, redis_stack.new_secret())
    with redis_stack.web_app(env) as web:
        page = Page(web.port)
        t0 = time.monotonic()
        body, handles = page.export(web.port, "contour", frames=12, width=320, height=240)
        assert task_id(handles) == jobs.UNQUEUED
        status, doc = page.poll(web.port, body, handles)
        assert time.monotonic() - t0 < 30
        assert status == 204 and doc == {}
        log = web.log
    assert "job not queued, Redis unreachable" in log and "Traceback" not in log


def test_jobs_are_taken_again_once_redis_is_back():
    """Redis up, away, back on the same address: the same web process queues, refuses in
    the page's terms, then queues again (no restart of the web process)."""
    port = redis_stack.free_port()
    env = redis_stack.deployment_env(f"redis://127.0.0.1:{port}/0", redis_stack.new_secret())
    with redis_stack.web_app(env) as web:
        page = Page(web.port)

        def click() -> str:
            return task_id(page.export(web.port, "contour", frames=4, width=320, height=240)[1])

        with redis_stack.redis_server(port):
            assert click() != jobs.UNQUEUED  # a Celery task id: queued (no worker here)
        assert click() == jobs.UNQUEUED
        with redis_stack.redis_server(port):
            assert click() != jobs.UNQUEUED
        assert "Traceback" not in web.log


def test_without_a_redis_url_the_embedded_disk_cache_stays(monkeypatch, tmp_path):
    monkeypatch.delenv("OPTVIZ_REDIS_URL", raising=False)
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    manager = jobs.make_manager()
    assert isinstance(manager, jobs.OptvizDiskcacheManager)
    assert type(jobs.ExportSlots(manager.handle)) is jobs.ExportSlots


# ----------------------------------------------------------------------------- slots


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_export_slots_live_in_redis_and_free_a_dead_holders(redis_url, monkeypatch):
    monkeypatch.setenv("OPTVIZ_REDIS_URL", redis_url)
    monkeypatch.setenv("OPTVIZ_SECRET_KEY", "k" * 40)
    manager = jobs.make_manager()
    assert isinstance(manager, jobs.OptvizCeleryManager)
    slots = jobs.ExportSlots(manager.handle, limit=2, prefix=f"test-slot-{os.getpid()}")
    assert isinstance(slots, jobs.RedisExportSlots)  # what export_panel gets in this mode
    r = redis.Redis.from_url(redis_url)
    first, second = slots.acquire(), slots.acquire()
    assert first and second and first != second
    assert slots.acquire() is None and slots.busy() == 2  # the limit holds
    assert 0 < r.ttl(first) <= jobs.SLOT_TTL  # a lost slot frees itself at last
    slots.release(first)
    assert slots.busy() == 1 and r.get(first) is None
    # A holder on this host that died is taken over; one on another machine is not.
    r.set(first, f"{socket.gethostname()}:{_dead_pid()}")
    assert slots.busy() == 1
    assert slots.acquire() == first
    slots.release(first)
    r.set(first, "another-machine:1")
    assert slots.acquire() is None
    r.set(second, f"{socket.gethostname()}:{os.getpid()}-not-ours")
    slots.release(second)  # not this process's: left alone
    assert r.get(second) is not None
    r.delete(first, second)
