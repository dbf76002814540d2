"""gunicorn settings shared by the Dockerfile and the load benchmark."""

import os

workers = int(os.environ.get("OPTVIZ_WORKERS", "2"))
threads = int(os.environ.get("OPTVIZ_THREADS", "4"))
worker_class = "gthread"
# GIF exports run in a background job; a plain callback never needs more than this.
timeout = 60
graceful_timeout = 20
keepalive = 5
# A dead worker is replaced; the rest keep serving.
max_requests = 2000
max_requests_jitter = 200
bind = os.environ.get("OPTVIZ_BIND", "127.0.0.1:8050")
accesslog = "-"
