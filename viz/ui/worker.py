"""The Celery worker of a many-machine deployment (issue 19)::

    OPTVIZ_REDIS_URL=redis://redis:6379/0 OPTVIZ_SECRET_KEY=... celery -A viz.ui.worker worker

It registers the app's background callbacks (the export; the convergence map and the
learning-rate sweep) on the same ``CeleryManager`` as the web processes, so their task
names match, and runs them: their budgets and deadlines apply here as in the embedded
mode, and Celery kills a job past ``jobs.JOB_TIME_LIMIT``. Each job process is private
(umask 077) and yields the CPU (``jobs.lower_priority``). Without ``OPTVIZ_REDIS_URL`` or
``OPTVIZ_SECRET_KEY`` it refuses to start in one line.
"""

from __future__ import annotations

import dash
from celery.signals import worker_process_init

from viz.ui import export_panel, jobs, panels

try:
    manager = jobs.make_celery_manager()
except jobs.Misconfigured as exc:
    raise SystemExit(str(exc).splitlines()[0]) from None

app = manager.handle  # the Celery app: what ``celery -A viz.ui.worker`` finds

# The callbacks themselves, on a Dash app of their own (no page is served from here):
# defining them registers each background one as a Celery task of ``app``.
_dash_app = dash.Dash(__name__, background_callback_manager=manager)
export_panel.register(_dash_app, manager)
panels.register(_dash_app, manager)  # the analyses that run as jobs (jobs.analysis_callback_kwargs)


@worker_process_init.connect
def _job_process(**_kwargs) -> None:
    jobs.lower_priority()
