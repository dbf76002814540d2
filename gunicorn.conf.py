"""gunicorn settings shared by the Dockerfile, the load benchmark and tests/test_server.py.

    gunicorn --config gunicorn.conf.py app:server

Loopback by default (``OPTVIZ_BIND``); the Dockerfile passes ``--bind 0.0.0.0:8050``
because a container is only reachable through its published port.
"""

import os

# Two processes by default (the callbacks are CPU-bound numpy + plotly: more processes
# than cores only queue); a few threads each so a slow request does not block the page's
# small ones. The app keeps no per-user state, so any worker may answer any request.
workers = int(os.environ.get("OPTVIZ_WORKERS", "2"))
threads = int(os.environ.get("OPTVIZ_THREADS", "4"))
worker_class = "gthread"
# Build the app once in the master and fork it: workers start at once, and a worker
# that dies (OOM, kill -9) is replaced in milliseconds while the others keep serving.
preload_app = True
# A callback that runs longer than this is killed and its worker replaced; GIF exports
# are bounded by the app well below it.
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
