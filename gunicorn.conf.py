"""gunicorn settings shared by the Dockerfile, the load benchmark and tests/test_server.py.

    gunicorn --config gunicorn.conf.py app:server

Loopback by default (``OPTVIZ_BIND``); the Dockerfile passes ``--bind 0.0.0.0:8050``
because a container is only reachable through its published port.

Workers are uvicorn's (``OptvizWorker``): an event loop reads each request's whole body
(``viz.ui.http.BufferedWsgi``: 1 MiB, 20 s at most) before the Flask app gets one of the
worker's ``threads``. Under gthread a client trickling its body held a thread for as long
as it liked; eight of them took all 2 x 4 and ``/healthz`` timed out (issue 15).

The master builds the app before forking (``preload_app``): the export cache folder and
the signing secret it makes are the workers' too (``viz.ui.jobs``).
"""

import os
import sys
from typing import ClassVar

from uvicorn_worker import UvicornH11Worker


class OptvizWorker(UvicornH11Worker):
    """uvicorn (asyncio + h11) serving the WSGI app behind a body-buffering ASGI front."""

    # no "server: uvicorn" header: the app names itself, without versions
    CONFIG_KWARGS: ClassVar[dict] = {**UvicornH11Worker.CONFIG_KWARGS, "server_header": False}

    def load_wsgi(self):
        super().load_wsgi()
        from viz.ui.http import BufferedWsgi

        self.wsgi = BufferedWsgi(self.wsgi, threads=self.cfg.threads)


def on_starting(server):
    """Master start: glibc's allocator tuned for many big arrays (kept across the fork)."""
    root = os.path.dirname(os.path.abspath(__file__))
    if root not in sys.path:
        sys.path.insert(0, root)
    from optimizers import memory

    memory.tune()


def post_fork(server, worker):
    """Each worker loads the compiled loops in the background as it starts (a thread does
    not survive the fork, so the master does not start it)."""
    from optimizers import compiled

    compiled.warm()


# Two processes by default (the callbacks are CPU-bound numpy + plotly: more processes
# than cores only queue); a few request threads each so a slow callback does not block
# the page's small ones (the event loop itself never waits on a client). The app keeps
# no per-user state, so any worker may answer any request.
workers = int(os.environ.get("OPTVIZ_WORKERS", "2"))
threads = int(os.environ.get("OPTVIZ_THREADS", "4"))
worker_class = OptvizWorker
# Build the app once in the master and fork it: workers start at once, and a worker
# that dies (OOM, kill -9) is replaced in milliseconds while the others keep serving.
preload_app = True
# A worker whose event loop does not check in for this long is killed and replaced.
# Callbacks run in the worker's threads and do not stop it checking in: their time is
# bounded by the app (step and work budgets; GIF exports run as jobs of their own).
timeout = 60
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound. Not too often: a
# fresh worker starts with cold run and surface caches (every user's next change redoes
# all their runs), and 20 users x 100 changes plus export polls (2/s each) reached 2000
# per worker within one load test run.
max_requests = 10000
max_requests_jitter = 1000
# Request line and headers: gunicorn's limits; bodies are limited by the app (1 MiB).
limit_request_line = 8190
limit_request_fields = 100
# Heartbeat files on a RAM disk: on a container's overlay filesystem they can stall.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
bind = os.environ.get("OPTVIZ_BIND", "127.0.0.1:8050")
accesslog = "-"
errorlog = "-"
