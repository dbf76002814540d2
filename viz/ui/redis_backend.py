"""Celery's Redis result store as the many-machine mode uses it (imported only then).

``celery_app`` names it in its result backend URL (``viz.ui.redis_backend:QuietRedisBackend+
redis://...``), so every web process and worker reads and writes results the same way.
"""

from __future__ import annotations

from celery.backends.redis import RedisBackend


class QuietRedisBackend(RedisBackend):
    """Celery's ``RedisBackend`` without the result listener it starts for each task sent.

    Nothing in the app waits on a task's result (Dash polls the store with ``get``), yet
    the listener subscribed every task's channel for the life of the web process, and
    once Redis had been away it refused every later job ("the Celery application must be
    restarted") although Redis was back.
    """

    def on_task_call(self, producer, task_id):
        return None
