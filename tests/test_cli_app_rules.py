"""The command line follows the app's rules: a start outside the window is clamped to its
edge with a note (``viz.scene.validate.start``), and the allocator is tuned by the
commands that compute, never by importing a library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optimizers import get_optimizer, run
from surfaces import get_surface
from tests.cli_helpers import cli
from viz.scene import get_preset, validate

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- start


def test_trajectory_clamps_a_start_outside_the_window_as_the_app_does(capsys):
    s = get_surface("beale")
    want, note = validate.start(99, 99, s.x_range, s.y_range)
    assert want != (99.0, 99.0) and note  # the app clamps this one

    status, out, err = cli(capsys, "trajectory", "--surface", "beale", "--optimizer", "sgd",
                           "--start", "99,99", "--steps", "3", "--set", "lr=1e-6")  # fmt: skip
    assert status == 0
    r = json.loads(out)["runs"][0]
    assert r["start"] == list(want)
    assert r["points"][0] == list(want)
    path = run(get_optimizer("sgd", lr=1e-6), s, want, 3).points
    assert np.array_equal(np.array(r["points"]), path)
    assert err.splitlines() == [f"optviz: note: {note}"]


def test_a_negative_start_is_clamped_to_the_lower_edges(capsys):
    s = get_surface("beale")
    want, note = validate.start(-1e9, 0.25, s.x_range, s.y_range)
    status, out, err = cli(capsys, "trajectory", "--surface", "beale", "--optimizer", "sgd",
                           "--start", "-1e9,0.25", "--steps", "0")  # fmt: skip
    assert status == 0
    assert json.loads(out)["runs"][0]["start"] == [s.x_range[0], 0.25] == list(want)
    assert err.splitlines() == [f"optviz: note: {note}"]


def test_a_start_inside_the_window_is_kept_without_a_note(capsys):
    status, out, err = cli(capsys, "trajectory", "--surface", "beale", "--optimizer", "sgd",
                           "--start", "1.25,-0.5", "--steps", "1")  # fmt: skip
    assert status == 0 and err == ""
    assert json.loads(out)["runs"][0]["start"] == [1.25, -0.5]


def test_a_presets_start_override_is_clamped_to_the_presets_window(capsys):
    scene = get_preset("radford-beale")
    want, note = validate.start(50, -50, *scene.window())
    status, out, err = cli(capsys, "trajectory", "--preset", "radford-beale", "--start", "50,-50",
                           "--steps", "2")  # fmt: skip
    assert status == 0
    assert all(r["start"] == list(want) for r in json.loads(out)["runs"])
    assert err.splitlines() == [f"optviz: note: {note}"]


def test_an_expressions_start_is_clamped_to_its_ranges(capsys):
    status, out, err = cli(capsys, "trajectory", "--expression", "x**2 + y**2", "--x-range",
                           "-1,1", "--y-range", "-3,3", "--optimizer", "sgd", "--start", "5,2",
                           "--steps", "1", "--format", "csv")  # fmt: skip
    assert status == 0
    first = out.splitlines()[1].split(",")
    assert [float(first[3]), float(first[4])] == [1.0, 2.0]
    assert len(err.splitlines()) == 1 and err.startswith("optviz: note: (5, 2) is outside")


def test_export_clamps_the_start_too(capsys, tmp_path, monkeypatch):
    seen = {}
    from viz import gif

    real = gif.render_gif_bytes

    def spy(scene, *a, **kw):
        seen["start"] = scene.start
        return real(scene, *a, **kw)

    monkeypatch.setattr(gif, "render_gif_bytes", spy)
    s = get_surface("beale")
    want, note = validate.start(99, 99, s.x_range, s.y_range)
    target = tmp_path / "x.gif"
    status, _, err = cli(capsys, "export", "--surface", "beale", "--optimizer", "sgd",
                           "--start", "99,99", "--steps", "2", "--size", "96x72",
                           "--out", str(target))  # fmt: skip
    assert status == 0, err
    assert seen["start"] == want
    assert err.splitlines() == [f"optviz: note: {note}"]
    with Image.open(target) as im:
        assert im.size == (96, 72)


# ----------------------------------------------------------------------------- allocator


@pytest.mark.parametrize("command", ["trajectory", "export"])
def test_the_computing_commands_tune_the_allocator(capsys, tmp_path, monkeypatch, command):
    import optimizers.memory

    calls = []
    monkeypatch.setattr(optimizers.memory, "tune", lambda *a, **kw: calls.append(a) or True)
    argv = [command, "--surface", "quadratic", "--optimizer", "sgd", "--steps", "2"]
    if command == "export":
        argv += ["--size", "96x72", "--out", str(tmp_path / "x.gif")]
    status, _, err = cli(capsys, *argv)
    assert status == 0, err
    assert len(calls) == 1


def test_listing_presets_does_not_tune_the_allocator(capsys, monkeypatch):
    import optimizers.memory

    calls = []
    monkeypatch.setattr(optimizers.memory, "tune", lambda *a, **kw: calls.append(a) or True)
    assert cli(capsys, "presets")[0] == 0
    assert calls == []


def test_in_a_fresh_process_the_cli_applies_the_tuning():
    code = (
        "import sys, optviz_cli\n"
        "tuned_by_import = 'optimizers.memory' in sys.modules\n"
        "status = optviz_cli.main(['trajectory', '--surface', 'quadratic', '--optimizer', "
        "'sgd', '--steps', '1'])\n"
        "import optimizers.memory as m\n"
        "print(tuned_by_import, status, m.applied, file=sys.stderr)\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPTVIZ_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
        and k != "GLIBC_TUNABLES"
    }
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # Importing the CLI loads no optimizer code; running a computing command tunes.
    assert proc.stderr.split()[-3:] == ["False", "0", "True"], proc.stderr
