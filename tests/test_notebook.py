"""docs/example.ipynb, executed by nbclient in a real kernel (issue 19 item 3): its
outputs hold the scene (the page's data with the runs' names, the files it exported,
the live app's address carrying the scene), and no cell fails."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.viz.media import read
from viz.notebook import as_notebook_scene, scene
from viz.scene import get_preset
from viz.scene.link import scene_from_link

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "example.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    work = tmp_path_factory.mktemp("notebook")
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's optviz
    mp.setenv("OPTVIZ_CACHE_DIR", str(work / "cache"))
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        ).execute()
    finally:
        mp.undo()
    return nb, work


def outputs(cell) -> tuple[str, str]:
    """(text printed, HTML displayed) of one executed cell."""
    text, shown = [], []
    for out in cell.get("outputs", []):
        assert out["output_type"] != "error", out
        text.append(out.get("text", ""))
        shown.append(out.get("data", {}).get("text/html", ""))
    return "".join(text), "".join(shown)


def test_the_notebook_runs_and_shows_the_scene(executed):
    nb, _ = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    printed, _ = outputs(code[0])
    assert printed.startswith("Saddle point (Radford) - 200 steps: SGD, Momentum, NAG")
    # the page, inline: its data holds the scene's runs
    _, shown = outputs(code[1])
    assert shown.startswith("<iframe srcdoc=")
    page = html.unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))
    data = json.loads(
        re.search(
            r'<script type="application/json" id="optviz-data">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert data["names"] == [r.label for r in get_preset("radford-saddle").resolved_runs()]
    assert data["steps"] == 200 and "contour" in data and "surface" in data


def test_the_notebooks_exports_are_real_files(executed):
    nb, work = executed
    printed, _ = outputs([c for c in nb.cells if c.cell_type == "code"][2])
    assert "beale.mp4: MP4, 120 frames, 1600×600, 25 fps" in printed
    mp4, webp = read(work / "beale.mp4"), read(work / "beale.webp")
    assert (mp4.kind, mp4.frames, mp4.size) == ("h264", 120, (1600, 600))
    assert (webp.kind, webp.frames, webp.size) == ("WEBP", 60, (800, 600))


def test_the_live_app_is_opened_on_the_scene(executed):
    nb, _ = executed
    _, shown = outputs([c for c in nb.cells if c.cell_type == "code"][3])
    url = html.unescape(re.search(r'<iframe src="([^"]*)"', shown).group(1))
    assert re.match(r"http://127\.0\.0\.1:\d+/#v2=", url)
    sc = scene_from_link(url)
    assert sc.surface_name == "beale" and sc.steps == 300 and sc.start == (1.0, 1.5)
    assert [r.optimizer for r in sc.runs] == ["sgd", "momentum", "adam"]
    assert [r.hyper["lr"] for r in sc.runs] == [0.005, 0.005, 0.05]


def test_a_scene_from_python_is_a_scene():
    s = scene("radford-beale")
    assert s == as_notebook_scene(get_preset("radford-beale"))
    assert s.compute()[0].points.shape == (s.steps + 1, 2)
    with pytest.raises(ValueError, match="unknown optimizer"):
        scene("beale", ["sgdd"])


SCRIPT = """
import urllib.request
from viz.notebook import scene

live = scene("beale", ["sgd", "adam"], steps=50).show(live=True)
with urllib.request.urlopen(live.url.split("#")[0], timeout=60) as answer:
    print(answer.status, "_dash-config" in answer.read().decode())
print(live.url)
"""


def test_a_live_app_in_a_plain_script_serves_and_does_not_block(tmp_path):
    """``show(live=True)`` outside a kernel served forever from Dash's ``run``: the script
    never got past it. Now the app answers from a thread and the script runs on and ends."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPTVIZ_CACHE_DIR": str(tmp_path / "c")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    first, url = done.stdout.split("\n")[:2]
    assert first == "200 True"
    assert re.match(r"http://127\.0\.0\.1:\d+/#v2=", url)
    assert [r.optimizer for r in scene_from_link(url).runs] == ["sgd", "adam"]
