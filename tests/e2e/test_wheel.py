"""Installable like any Python app: the built wheel, installed (not editable) in a fresh
virtualenv, serves a working page from another directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.e2e.browser import free_port, wait

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def packages_in_tree() -> set[str]:
    found = set()
    for top in ("surfaces", "optimizers", "viz"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from the files git tracks (a clean copy: no stale build/ folder)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(out), str(src)], check=True, cwd=out, timeout=300)
    (found,) = out.glob("optviz-*.whl")
    return found


def test_the_wheel_holds_every_package_and_the_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("__init__.py")}
    assert packages_in_tree() <= packages, sorted(packages_in_tree() - packages)
    assets = {p.name for p in (ROOT / "assets").iterdir() if p.suffix in (".js", ".css")}
    shipped = {n.split("/", 1)[1] for n in names if n.startswith("optviz_assets/")}
    assert assets == shipped
    assert {"app.py", "optviz_cli.py"} <= set(names)
    assert "viz/figures/page.js" in names  # the standalone page's playback (package data)


def test_the_installed_wheel_serves_the_app_from_another_directory(wheel, tmp_path, browser_tab):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), str(wheel)], check=True, timeout=900)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    server = subprocess.Popen(
        [str(venv / "bin" / "optviz"), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the installed app did not answer"
                time.sleep(0.3)
        assert "optviz-10-core.js" in page or "optviz" in page
        # the code it runs is the installed copy, not this checkout
        where = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import app, viz; print(app.__file__)"],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert str(venv) in where and str(ROOT) not in where
        browser_tab.driver.get(url)
        wait(browser_tab, "document.querySelectorAll('.js-plotly-plot').length >= 4", 60)
        # the runs are drawn: the playback holds the opening scene's runs
        wait(browser_tab, "window.dash_clientside.optviz.state.runs.length > 0", 60)
    finally:
        server.terminate()
        server.wait(timeout=20)
