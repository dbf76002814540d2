"""The Dockerfile, checked without a Docker engine: slim base, non-root user, healthcheck,
gunicorn serving the same WSGI app the tests use, every installed package from
pyproject.toml and pinned, every COPY source present — and its command actually run."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path

import flask
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import app as optviz_app

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    """A CMD/ENTRYPOINT's exec form (JSON array); shell form split like sh would."""
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def first(name: str) -> list[str]:
    return [args for word, args in instructions() if word == name]


def cmd() -> list[str]:
    cmds = first("CMD")
    assert len(cmds) == 1, "exactly one CMD"
    return exec_form(cmds[0])


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version.strip()
    return pins


# ----------------------------------------------------------------------------- image


def test_slim_python_base_that_satisfies_requires_python():
    froms = first("FROM")
    assert len(froms) == 1
    image = froms[0].split()[0]
    m = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-\w+)?(?:@sha256:[0-9a-f]{64})?", image)
    assert m, f"not a slim Python base: {image}"
    requires = pyproject()["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert f"{m.group(1)}.{m.group(2)}" in SpecifierSet(requires)


def test_runs_as_a_non_root_user_set_before_cmd():
    words = [w for w, _ in instructions()]
    users = [(i, args) for i, (w, args) in enumerate(instructions()) if w == "USER"]
    assert users, "no USER: the container would run as root"
    index, user = users[-1]
    assert index < words.index("CMD")
    name = user.split(":")[0]
    assert name not in ("root", "0")
    # The user is created in the image (useradd/adduser) with a non-zero uid.
    runs = " ".join(first("RUN"))
    assert re.search(rf"(useradd|adduser)\b[^&;]*\b{re.escape(name)}\b", runs)
    uid = re.search(r"--uid\s+(\d+)", runs)
    assert uid is None or int(uid.group(1)) != 0


def test_healthcheck_asks_the_apps_health_route_on_the_bound_port():
    checks = first("HEALTHCHECK")
    assert len(checks) == 1 and "CMD" in checks[0]
    bind = cmd()[cmd().index("--bind") + 1]
    port = bind.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}/healthz" in checks[0]
    assert str(port) in " ".join(first("EXPOSE"))
    # ... and that route answers 200 in the very app the image serves.
    r = optviz_app.server.test_client().get("/healthz")
    assert r.status_code == 200


def test_cmd_runs_gunicorn_with_the_config_and_app_server():
    argv = cmd()
    assert argv[0] == "gunicorn"
    assert argv[argv.index("--config") + 1] == "gunicorn.conf.py"
    assert argv[-1] == "app:server"
    # Inside a container the port is only reachable through all interfaces.
    assert argv[argv.index("--bind") + 1].startswith("0.0.0.0:")


def test_app_server_is_the_wsgi_app_the_tests_use():
    from gunicorn.util import import_app

    wsgi = import_app(cmd()[-1])  # how gunicorn resolves "app:server"
    assert wsgi is optviz_app.server
    assert isinstance(wsgi, flask.Flask) and callable(wsgi)
    assert type(wsgi) is type(optviz_app.create_app().server)


def test_gunicorn_config_loads_with_sane_values():
    from gunicorn.config import Config

    cfg = Config()
    namespace: dict = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    for key, value in namespace.items():
        if key in cfg.settings:
            cfg.set(key, value)  # raises on an unknown or ill-typed value
    assert 1 <= cfg.workers <= 8
    assert 10 <= cfg.timeout <= 300
    assert cfg.graceful_timeout <= cfg.timeout
    assert cfg.bind == ["127.0.0.1:8050"]  # loopback unless told otherwise


# ----------------------------------------------------------------------------- packages


def test_every_copy_source_exists_and_the_package_is_complete():
    copied: set[str] = set()
    for args in first("COPY") + first("ADD"):
        parts = [p for p in args.split() if not p.startswith("--")]
        assert "--from" not in args
        for src in parts[:-1]:
            assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
            copied.add(src.rstrip("/"))
    tool = pyproject()["tool"]["setuptools"]
    packages = tool["packages"]
    if isinstance(packages, dict):  # [tool.setuptools.packages.find]
        from setuptools import find_packages

        packages = find_packages(str(ROOT), include=packages["find"].get("include", ["*"]))
    # the folders the packages live in: a package's own folder (package-dir) or its top's
    folders = tool.get("package-dir", {})
    packages = {folders.get(p) or p.split(".")[0] for p in packages}
    needed = {f"{m}.py" for m in tool["py-modules"]} | packages
    needed |= {"pyproject.toml", "constraints.txt", "gunicorn.conf.py", "assets"}
    readme = pyproject()["project"].get("readme")
    if readme:
        needed.add(readme)
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"


def test_pip_installs_only_the_project_with_its_serve_and_celery_extras_under_constraints():
    installs = [r for r in first("RUN") if re.search(r"\bpip\b.*\binstall\b", r)]
    assert len(installs) == 1
    words = shlex.split(installs[0])
    words = words[words.index("install") + 1 :]
    assert words[words.index("-c") + 1] == "constraints.txt"
    targets = [w for i, w in enumerate(words) if not w.startswith("-") and words[i - 1] != "-c"]
    # one image for the web processes and the Celery worker of compose.yaml (issue 19)
    assert targets == [".[serve,celery]"], f"the image installs {targets}, not just the project"


def _closure(requirements: list[str], env: dict) -> dict[str, Requirement]:
    """Every distribution the requirements pull in, transitively, per installed metadata."""
    seen: dict[str, Requirement] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen[key] = req
        for sub in metadata.requires(req.name) or []:
            for e in sorted(req.extras) or [""]:
                todo.append((Requirement(sub), e))
    return {canonicalize_name(r.name): r for r in seen.values()}


def test_serve_extra_has_gunicorn_and_every_installed_package_is_pinned():
    project = pyproject()["project"]
    serve = project["optional-dependencies"].get("serve")
    assert serve, "pyproject.toml has no [serve] extra (the Dockerfile installs '.[serve]')"
    assert any(canonicalize_name(Requirement(r).name) == "gunicorn" for r in serve)
    pins = constraints()
    direct = project["dependencies"] + serve + project["optional-dependencies"]["celery"]
    for r in direct:
        req = Requirement(r)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert pins[name] in req.specifier, f"{req.name}=={pins[name]} breaks {r}"
    # Transitively, on Linux and this Python (the image's): pinned, and what the tests run.
    env = default_environment()
    env["sys_platform"], env["platform_system"] = "linux", "Linux"
    for name, req in _closure(direct, env).items():
        assert name in pins, f"{name} (needed by the image) is not pinned in constraints.txt"
        assert metadata.version(req.name) == pins[name], f"{name}: venv differs from the pin"


# ----------------------------------------------------------------------------- run it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_the_images_command_serves_the_app_on_loopback():
    """The CMD itself, with only the bind moved to a free loopback port."""
    argv = cmd()
    port = _free_port()
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    exe = Path(sys.executable).parent / argv[0]
    argv[0] = str(exe) if exe.exists() else argv[0]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            with contextlib.suppress(OSError):
                if _get(port, "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not answer /healthz in 90 s")
            time.sleep(0.2)
        status, html = _get(port, "/")
        assert status == 200
        assert b"<title>optviz" in html and b"_dash-renderer" in html
        status, layout = _get(port, "/_dash-layout")
        assert status == 200 and json.loads(layout)["props"]
        status, css = _get(port, "/assets/optviz.css")
        assert status == 200 and css
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    assert b"Traceback" not in out


def test_dockerignore_keeps_the_virtualenv_and_git_out_of_the_build_context():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git"} <= ignored
    # Nothing the image copies is ignored.
    for args in first("COPY"):
        for src in [p for p in args.split() if not p.startswith("--")][:-1]:
            assert src.rstrip("/") not in ignored, f"{src} is copied but .dockerignore drops it"
