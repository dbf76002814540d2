"""A many-machine deployment on loopback, as real processes: redis-server, Celery workers,
web processes (``python app.py`` or gunicorn), all sharing one ``OPTVIZ_REDIS_URL`` and
``OPTVIZ_SECRET_KEY`` (issue 19). Used by tests/test_many_machines.py and bench_load.

Every process runs in a session of its own and is stopped with its whole group when its
block is left by any path; the Redis keeps its files in a private temporary folder and
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0  # s: for a process to say it is ready
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """One started process: its Popen, its port (web processes), its log file."""

    proc: subprocess.Popen
    log_path: Path
    port: int = 0

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def logged(self, pattern: str, count: int = 1, timeout: float = 20.0) -> bool:
        """Whether the log holds ``pattern`` (a regular expression) ``count`` times within
        ``timeout`` s: a Celery worker logs a task's end just after storing its result, so
        a client can hold the result before the line is written."""
        end = time.monotonic() + timeout
        while len(re.findall(pattern, self.log)) < count:
            if time.monotonic() > end:
                return False
            time.sleep(0.1)
        return True


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process's group, then SIGKILL to whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def _started(cmd: list[str], env: dict, ready, what: str, port: int = 0) -> Iterator[Proc]:
    """Start ``cmd`` (own session, log in a private temp file); wait until ``ready(p)``."""
    log_fd, log_name = tempfile.mkstemp(prefix="optviz-stack-", suffix=".log")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log_fd, stderr=subprocess.STDOUT, start_new_session=True
    )
    p = Proc(proc, Path(log_name), port)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready(p):
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}:\n{p.log[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready in {START_TIMEOUT:.0f} s:\n{p.log[-3000:]}")
            time.sleep(0.2)
        yield p
    finally:
        stop(proc)
        os.close(log_fd)
        with contextlib.suppress(OSError):
            os.unlink(log_name)


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def deployment_env(url: str, secret: str) -> dict[str, str]:
    """This environment with the deployment's shared settings (no export cache folder)."""
    env = {k: v for k, v in os.environ.items() if k != "OPTVIZ_CACHE_DIR"}
    return {**env, "OPTVIZ_REDIS_URL": url, "OPTVIZ_SECRET_KEY": secret, "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def redis_server(port: int | None = None, argv: list[str] | None = None) -> Iterator[str]:
    """A real ``redis-server`` on ``port`` (default: a free loopback one), files in a
    private temp folder; yields its URL. ``argv``: a redis-server command line (compose's)
    whose options come first; the port, loopback address and folder are added to it."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError(
            "redis-server is not installed: `make test` installs Debian's redis-server"
        )
    import redis

    port = port or free_port()
    folder = tempfile.mkdtemp(prefix="optviz-redis-")  # 0700
    if argv is None:
        argv = ["redis-server", "--save", "", "--appendonly", "no"]
    cmd = [exe, *argv[1:], "--port", str(port), "--bind", HOST, "--protected-mode", "yes"]
    cmd += ["--dir", folder]

    def ready(_p) -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(redis.Redis(host=HOST, port=port, socket_timeout=2).ping())
        return False

    try:
        with _started(cmd, dict(os.environ), ready, "redis-server", port):
            yield f"redis://{HOST}:{port}/0"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def celery_worker(
    env: dict, concurrency: int = 1, name: str = "w1", argv: list[str] | None = None
) -> Iterator[Proc]:
    """``celery -A viz.ui.worker worker`` (or ``argv``, a celery command line), ready when it
    says so in its log."""
    if argv is None:
        argv = ["celery", "-A", "viz.ui.worker", "worker", "--concurrency", str(concurrency)]
        argv += ["--loglevel", "INFO", "--hostname", f"{name}@%h"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    cmd = [sys.executable, "-m", *argv]
    with _started(cmd, env, lambda p: " ready." in p.log, "celery worker") as p:
        yield p


def _healthy(p: Proc) -> bool:
    conn = http.client.HTTPConnection(HOST, p.port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def web_app(env: dict) -> Iterator[Proc]:
    """``python app.py`` on a free loopback port (one process, the app's own server)."""
    port = free_port()
    cmd = [sys.executable, "app.py", "--host", HOST, "--port", str(port)]
    with _started(cmd, env, _healthy, "python app.py", port) as p:
        yield p


@contextlib.contextmanager
def web_gunicorn(env: dict, workers: int = 1, argv: list[str] | None = None) -> Iterator[Proc]:
    """gunicorn with the project's gunicorn.conf.py on a free loopback port; ``argv``: a
    gunicorn command line (the Dockerfile's) run as it is but for its ``--bind``."""
    port = free_port()
    if argv is None:
        argv = ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "", "--workers", str(workers)]
        argv += ["app:server"]
    argv = list(argv)
    argv[argv.index("--bind") + 1] = f"{HOST}:{port}"
    cmd = [sys.executable, "-m", *argv]
    with _started(cmd, env, _healthy, "gunicorn", port) as p:
        yield p
