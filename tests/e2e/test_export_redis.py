"""The export panel in Chromium against the many-machine set-up (issue 19): the page served
by gunicorn with ``OPTVIZ_REDIS_URL`` set, a real ``redis-server`` and a real Celery
worker (``benchmarks.redis_stack``, as tests/test_many_machines.py starts them). A GIF and
an MP4 exported from the page are rendered by the worker, downloaded by the browser and
read back."""

from __future__ import annotations

import pytest

from benchmarks import redis_stack
from tests.e2e.browser import wait
from tests.e2e.test_export import GRAPH, LOAD, choose
from tests.e2e.test_export_formats import export_one
from tests.viz.media import mad, read
from viz.ui import ids

pytestmark = pytest.mark.e2e

TASK_DONE = r"Task background_callback_[0-9a-f]{64}\[[^\]]+\] succeeded"


@pytest.fixture(scope="module")
def stack():
    """redis-server, one Celery worker and one gunicorn web process sharing them."""
    with redis_stack.redis_server() as url:
        env = redis_stack.deployment_env(url, redis_stack.new_secret())
        with (
            redis_stack.celery_worker(env, concurrency=1) as worker,
            redis_stack.web_gunicorn(env, workers=1) as web,
        ):
            yield web, worker


def test_exports_run_in_the_celery_worker_and_download(browser_tab, stack, tmp_path):
    web, worker = stack
    d = browser_tab
    d.driver.get(f"http://127.0.0.1:{web.port}/")
    wait(d, f"!!{GRAPH.format(ids.CONTOUR_TOP)}", timeout=LOAD)
    wait(d, "window.dash_clientside.optviz.state.runs.length === 6", timeout=LOAD)
    choose(d, "both", frames="8", fps="10", width="800", height="300")
    gif_path = export_one(d, "GIF", tmp_path / "gif")
    mp4_path = export_one(d, "MP4", tmp_path / "mp4")
    assert (gif_path.name, mp4_path.name) == ("optviz-beale-both.gif", "optviz-beale-both.mp4")
    gif, mp4 = read(gif_path), read(mp4_path)
    assert (gif.kind, gif.frames, gif.size) == ("GIF", 8, (800, 300))
    assert (mp4.kind, mp4.frames, mp4.size) == ("h264", 8, (800, 300))
    assert (mad(mp4.last, gif.last) < 8).all()
    # both were rendered by the worker, not by the web process
    assert worker.logged(TASK_DONE, count=2), worker.log[-2000:]
