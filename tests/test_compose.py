"""compose.yaml, checked without a Docker engine (none runs on the test machines, and the
images it names cannot be pulled here): it is parsed and held to what issue 19 asks — web
(the image's gunicorn, 2 replicas), a Celery worker, a Redis that is not published — and
its services' own command lines are run as processes on loopback, with the environment the
file gives them: an export is started on one web replica, polled and downloaded through
the other, and rendered by the worker."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest
import yaml

from benchmarks import redis_stack
from tests.test_docker import cmd as image_cmd
from viz.ui import jobs

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = re.compile(r"^\$\{(\w+):\?[^}]+\}$")  # ${VAR:?message}: compose refuses if unset


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def service(compose: dict, name: str) -> dict:
    return compose["services"][name]


def argv(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


def test_three_services_web_worker_redis(compose):
    assert set(compose["services"]) == {"web", "worker", "redis"}


def test_web_is_the_images_gunicorn_in_two_replicas_on_its_port(compose):
    web = service(compose, "web")
    assert web["build"] == "." and (ROOT / "Dockerfile").is_file()
    # no command of its own: the Dockerfile's CMD, gunicorn with the project's config
    assert "command" not in web and image_cmd()[0] == "gunicorn"
    replicas = web["deploy"]["replicas"]
    assert replicas == 2
    bind_port = image_cmd()[image_cmd().index("--bind") + 1].rsplit(":", 1)[1]
    (published,) = web["ports"]
    host, _, inside = published.rpartition(":")
    assert inside == bind_port
    lo, _, hi = host.rpartition(":")[2].partition("-")
    assert int(hi) - int(lo) + 1 == replicas  # one host port per replica


def test_web_and_worker_share_the_redis_url_and_a_required_secret(compose):
    web, worker = service(compose, "web"), service(compose, "worker")
    assert web["environment"] == worker["environment"]
    env = web["environment"]
    assert env["OPTVIZ_REDIS_URL"].startswith("redis://redis:")  # the redis service
    assert REQUIRED.match(env["OPTVIZ_SECRET_KEY"]).group(1) == "OPTVIZ_SECRET_KEY"
    for s in (web, worker):
        assert s["depends_on"]["redis"]["condition"] == "service_healthy"
        assert s["image"] == web["image"]  # one image, built once


def test_redis_is_not_published_and_keeps_nothing_on_disk(compose):
    redis = service(compose, "redis")
    assert "ports" not in redis and "network_mode" not in redis
    assert redis["image"].startswith("redis:")
    command = argv(redis["command"])
    assert command[0] == "redis-server"
    assert command[command.index("--save") + 1] == ""
    assert "redis-cli" in argv(redis["healthcheck"]["test"])


def test_the_worker_has_its_own_healthcheck(compose):
    # the image's HEALTHCHECK asks the web port; a worker answers a Celery ping instead
    check = " ".join(argv(service(compose, "worker")["healthcheck"]["test"]))
    assert "celery -A viz.ui.worker inspect ping" in check


def test_the_services_commands_export_across_the_two_replicas(compose):
    """redis (compose's command), the worker (compose's command) and two web replicas (the
    Dockerfile's CMD, its bind moved to loopback): a page loaded from replica 1 starts an
    export there; replica 2 answers its polls and hands over the GIF, made by the worker."""
    from tests.test_many_machines import Page, downloaded_gif, task_id

    web, worker = service(compose, "web"), service(compose, "worker")
    with redis_stack.redis_server(argv=argv(service(compose, "redis")["command"])) as url:
        env = redis_stack.deployment_env(url, redis_stack.new_secret())
        assert set(web["environment"]) <= set(env)
        with contextlib.ExitStack() as stack:
            w = stack.enter_context(redis_stack.celery_worker(env, argv=argv(worker["command"])))
            one, two = (
                stack.enter_context(redis_stack.web_gunicorn(env, argv=image_cmd()))
                for _ in range(web["deploy"]["replicas"])
            )
            page = Page(one.port)
            body, handles = page.export(one.port, "contour", frames=6, width=320, height=240)
            response = page.wait(two.port, body, handles)
            _, im = downloaded_gif(response)
            assert (im.n_frames, im.size) == (6, (320, 240))
            assert w.logged(re.escape(f"[{task_id(handles)}] succeeded"))


def test_the_workers_command_runs_against_a_real_redis(compose):
    """The compose worker's own command line, with the compose environment (the Redis host
    pointed at a real redis-server on loopback), starts a Celery worker that runs the
    export task with the concurrency it asks for."""
    worker = service(compose, "worker")
    command = argv(worker["command"])
    assert command[:4] == ["celery", "-A", "viz.ui.worker", "worker"]
    concurrency = command[command.index("--concurrency") + 1]
    assert int(concurrency) == jobs.WORKER_JOBS  # more job processes than export slots
    with redis_stack.redis_server() as url:
        env = {**redis_stack.deployment_env(url, redis_stack.new_secret())}
        assert set(worker["environment"]) <= set(env)
        with redis_stack.celery_worker(env, argv=command) as started:
            log = started.log
    assert re.search(r"\. background_callback_[0-9a-f]{64}", log)  # the export's task
    assert f"concurrency: {concurrency} (prefork)" in log
