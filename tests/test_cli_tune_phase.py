"""``optviz tune`` and ``optviz phase``: output that ``optviz trajectory`` takes back,
pictures of the map, one-line errors."""

from __future__ import annotations

import io
import json
import shlex

import numpy as np
import pytest
from PIL import Image

from optimizers.phase import phase_diagram
from optimizers.tuning import tune
from surfaces import get_surface
from tests.cli_helpers import cli
from viz.scene import get_preset
from viz.scene.tuning import PHASE_SCALE, phase_field


def tune_both(capsys, rules: list[str], objective: str, fmt: str):
    """``optviz tune`` on Rosenbrock (24 trials, 150 steps): its output, and the library's
    tuning of the same."""
    chosen = [a for r in rules for a in ("--optimizer", r)]
    status, out, err = cli(
        capsys, "tune", "--surface", "rosenbrock", *chosen, "--objective", objective,
        "--budget", "24", "--steps", "150", "--format", fmt,
    )  # fmt: skip
    assert status == 0, err
    s = get_surface("rosenbrock")
    return out, tune(rules, s, s.start, 150, objective=objective, trials=24)


def test_tune_json_is_the_library_result_and_its_link_replays_the_tuned_race(capsys):
    out, lib = tune_both(capsys, ["adam", "sgd"], "area", "json")
    doc = json.loads(out)
    for row, r in zip(doc["rules"], lib.rules, strict=True):
        assert row["hyper"]["lr"] == r.hyper["lr"]
        assert row["objective"] == pytest.approx(r.objective, rel=1e-12)
        assert row["moved_objective"] == pytest.approx(r.moved_objective, rel=1e-12)
        assert row["fragile"] is r.fragile
    # the link, given back to trajectory, runs the race at the tuned values
    status, out2, err = cli(capsys, "trajectory", "--link", doc["link"], "--format", "json")
    assert status == 0, err
    runs = json.loads(out2)["runs"]
    assert [r["hyper"]["lr"] for r in runs] == [r.hyper["lr"] for r in lib.rules]
    # and so do the --set lines
    sets = [a for line in doc["set"] for a in ("--set", line)]
    status, out3, err = cli(
        capsys, "trajectory", "--surface", "rosenbrock", "--optimizer", "adam",
        "--optimizer", "sgd", "--steps", "150", *sets,
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out3)["runs"] == runs


def test_tune_text_says_which_tuned_objective_the_moved_starts_do_not_keep(capsys):
    out, lib = tune_both(capsys, ["sgd", "adam"], "final", "text")
    sgd, adam = out.splitlines()[1:3]
    assert sgd.endswith(f"moved starts {lib.rules[0].moved_objective:.4g} (fragile)")
    assert adam.endswith(f"moved starts {lib.rules[1].moved_objective:.4g}")


def test_tune_a_preset_as_set_arguments(capsys):
    status, out, err = cli(
        capsys, "tune", "--preset", "radford-beale", "--budget", "8", "--steps", "60",
        "--format", "set",
    )  # fmt: skip
    assert status == 0, err
    args = shlex.split(out)
    assert args[0] == "--set" and len(args) == 2 * len(get_preset("radford-beale").runs)
    status, _, err = cli(capsys, "trajectory", "--preset", "radford-beale", "--steps", "60", *args)
    assert status == 0, err


def test_phase_png_shows_the_library_map(tmp_path, capsys):
    out = tmp_path / "map.png"
    status, text, err = cli(
        capsys, "phase", "--surface", "ravine", "--optimizer", "momentum",
        "--x", "lr:1e-3:1:log", "--y", "momentum:0:0.95", "--cells", "30", "--out", str(out),
    )  # fmt: skip
    assert status == 0, err
    m = phase_diagram(
        "momentum", "ravine", "lr:1e-3:1:log", "momentum:0:0.95", cells=30, steps=200
    )  # the CLI's default steps
    assert f"{int(m.diverged.sum())} diverged" in text
    img = Image.open(io.BytesIO(out.read_bytes()))
    assert img.format == "PNG" and img.size == (760, 560)
    # the cell in the lower left corner is painted with its objective's colour
    from viz.gif.phase import BOTTOM, KEY, LEFT, TOP
    from viz.gif.raster import sample_scale

    z, _ = phase_field(m)
    finite = z[np.isfinite(z)]
    t = (z[0, 0] - finite.min()) / (finite.max() - finite.min())
    expected = sample_scale(PHASE_SCALE, t).round()
    ph = 560 - TOP - BOTTOM - KEY  # Distill's curves are drawn, and their key under the axis
    pixel = img.convert("RGB").getpixel((LEFT + 3, TOP + ph - 3))
    assert np.abs(np.array(pixel) - expected).max() <= 1


def test_phase_json_and_gif(tmp_path, capsys):
    j, g = tmp_path / "m.json", tmp_path / "m.gif"
    base = ["phase", "--surface", "quadratic", "--optimizer", "momentum",
            "--x", "lr:1e-2:2:log", "--y", "momentum:0:0.9", "--cells", "8"]  # fmt: skip
    assert cli(capsys, *base, "--out", str(j))[0] == 0
    doc = json.loads(j.read_text())
    assert doc["analytic"]["eigenvalues"] == [2.0, 2.0]
    assert len(doc["value"]) == 8 and len(doc["value"][0]) == 8
    assert cli(capsys, *base, "--out", str(g))[0] == 0
    assert Image.open(g).format == "GIF"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tune", "--surface", "quadratic", "--optimizer", "sgd", "--budget", "1000000000"],
         "--budget: must be between 2 and 1,000"),
        (["tune", "--surface", "quadratic", "--optimizer", "sgd", "--also", "beta2"],
         "has 'beta2'"),
        (["phase", "--surface", "ravine", "--optimizer", "momentum", "--x", "lr:1e-3:1:log",
          "--y", "beta1:0:0.9", "--out", "x.png"], "momentum has no hyperparameter 'beta1'"),
        (["phase", "--surface", "ravine", "--optimizer", "momentum", "--x", "lr:1e-3:1:log",
          "--y", "momentum:0:0.9", "--out", "x.bmp"], "--out must end in .png, .gif, .json"),
        (["phase", "--surface", "ravine", "--optimizer", "momentum", "--x", "lr:1e-3:1:log",
          "--y", "momentum:0:0.9", "--cells", "500", "--out", "x.png"],
         "--cells: must be between 2 and 200"),
        (["tune", "--preset", "network-moons"], "the network scene trains every weight"),
        (["phase", "--preset", "network-moons", "--x", "lr:1e-3:1:log", "--y", "lr:1e-3:1",
          "--out", "x.png"], "tuning and phase diagrams run rules on a 2-D surface"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = cli(capsys, *argv)
    assert status == 2
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing written
