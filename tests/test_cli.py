"""The optviz command line: trajectory output equals run(), --set semantics, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import optviz_cli
from optimizers import get_optimizer, run
from surfaces import from_expression, get_surface
from tests.cli_helpers import cli
from viz.scene import PRESETS, RADFORD_LABELS, get_preset

ROOT = Path(__file__).resolve().parents[1]


def strict_json(text: str):
    """JSON that must not hold NaN or Infinity tokens."""

    def refuse(token):
        raise AssertionError(f"invalid JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def expected(rule, surface, start, steps, **hyper):
    return run(get_optimizer(rule, **hyper), surface, start, steps)


# ---------------------------------------------------------------- trajectory, JSON


def test_json_equals_run_exactly(capsys):
    status, out, err = cli(
        capsys, "trajectory", "--surface", "rosenbrock", "--optimizer", "adam",
        "--optimizer", "sgd", "--start", "-1.5,2", "--steps", "50",
        "--set", "lr=0.001", "--set", "adam.beta1=0.8",
    )  # fmt: skip
    assert status == 0 and err == ""
    doc = strict_json(out)
    assert set(doc) == {"surface", "steps", "runs"}
    assert doc["surface"] == "rosenbrock" and doc["steps"] == 50
    assert [r["optimizer"] for r in doc["runs"]] == ["adam", "sgd"]
    assert [r["label"] for r in doc["runs"]] == ["Adam", "SGD"]
    s = get_surface("rosenbrock")
    for r, hyper in zip(doc["runs"], [{"lr": 0.001, "beta1": 0.8}, {"lr": 0.001}], strict=True):
        assert set(r) == {"optimizer", "label", "hyper", "start", "points", "losses", "diverged_at"}
        want = expected(r["optimizer"], s, (-1.5, 2.0), 50, **hyper)
        assert r["start"] == [-1.5, 2.0]
        assert r["diverged_at"] is None
        # Same computation, floats printed with repr: equal to the last bit.
        assert np.array_equal(np.array(r["points"]), want.points)
        assert np.array_equal(np.array(r["losses"]), want.losses)
        assert r["hyper"] == get_optimizer(r["optimizer"], **hyper).hyper
    assert doc["runs"][0]["hyper"]["beta1"] == 0.8 and doc["runs"][0]["hyper"]["beta2"] == 0.999


def test_divergence_is_null_not_nan(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--surface", "quadratic", "--optimizer", "sgd",
        "--set", "lr=1.5", "--start", "1,1", "--steps", "60",
    )  # fmt: skip
    assert status == 0
    assert "NaN" not in out and "Infinity" not in out
    run_ = strict_json(out)["runs"][0]
    want = expected("sgd", get_surface("quadratic"), (1.0, 1.0), 60, lr=1.5)
    k = want.diverged_at
    assert isinstance(k, int) and run_["diverged_at"] == k
    assert len(run_["points"]) == len(run_["losses"]) == 61
    assert all(p == [None, None] for p in run_["points"][k + 1 :])
    assert all(v is None for v in run_["losses"][k + 1 :])
    assert np.array_equal(np.array(run_["points"][:k], dtype=float), want.points[:k])


def test_negative_start_and_noise_seed(capsys):
    argv = ["trajectory", "--surface", "quadratic", "--optimizer", "sgd", "--start", "-1.5,-2",
            "--steps", "5", "--noise", "0.3", "--seed", "7"]  # fmt: skip
    status, out, _ = cli(capsys, *argv)
    assert status == 0
    points = np.array(strict_json(out)["runs"][0]["points"])
    s = get_surface("quadratic")
    want = run(get_optimizer("sgd"), s, (-1.5, -2.0), 5, noise=0.3, seed=7)
    assert np.array_equal(points, want.points)
    assert not np.array_equal(points, run(get_optimizer("sgd"), s, (-1.5, -2.0), 5).points)


def test_default_start_is_the_surfaces(capsys):
    status, out, _ = cli(capsys, "trajectory", "--surface", "beale", "--optimizer", "sgd",
                         "--steps", "0")  # fmt: skip
    assert status == 0
    run_ = strict_json(out)["runs"][0]
    assert run_["points"] == [list(get_surface("beale").start)]


def test_expression_surface(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--expression", "x**2 + 3*y**2", "--x-range", "-2,2",
        "--y-range", "-1,1", "--optimizer", "sgd", "--start", "1,0.5", "--steps", "4",
    )  # fmt: skip
    assert status == 0
    s = from_expression("x**2 + 3*y**2", x_range=(-2, 2), y_range=(-1, 1))
    want = expected("sgd", s, (1.0, 0.5), 4)
    doc = strict_json(out)
    got = np.array(doc["runs"][0]["points"])
    np.testing.assert_allclose(got, want.points, rtol=0, atol=1e-12)
    assert got[1] == pytest.approx([1 - 0.01 * 2, 0.5 - 0.01 * 3], abs=1e-12)
    assert (doc["surface"], doc["expression"]) == ("expression", "x**2 + 3*y**2")  # rerunnable


# ---------------------------------------------------------------- --set semantics


def test_plain_set_applies_to_every_rule_that_has_it(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--surface", "quadratic", "--optimizer", "sgd",
        "--optimizer", "momentum", "--optimizer", "adam", "--steps", "1",
        "--set", "lr=0.05", "--set", "momentum=0.5",
    )  # fmt: skip
    assert status == 0
    hyper = {r["optimizer"]: r["hyper"] for r in strict_json(out)["runs"]}
    assert {k: v["lr"] for k, v in hyper.items()} == {"sgd": 0.05, "momentum": 0.05, "adam": 0.05}
    assert hyper["momentum"]["momentum"] == 0.5 and "momentum" not in hyper["adam"]


def test_dotted_set_applies_to_one_rule(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--surface", "quadratic", "--optimizer", "sgd",
        "--optimizer", "adam", "--steps", "1", "--set", "adam.lr=0.3",
        "--set", "adam.bias_correction=false",
    )  # fmt: skip
    assert status == 0
    hyper = {r["optimizer"]: r["hyper"] for r in strict_json(out)["runs"]}
    assert hyper["sgd"] == {"lr": 0.01}
    assert hyper["adam"]["lr"] == 0.3 and hyper["adam"]["bias_correction"] is False


# ---------------------------------------------------------------- CSV


def test_csv_rows(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--surface", "saddle", "--optimizer", "sgd",
        "--optimizer", "rmsprop", "--steps", "7", "--format", "csv",
    )  # fmt: skip
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["optimizer", "label", "step", "x", "y", "loss"]
    assert len(rows) == 1 + 2 * 8
    s = get_surface("saddle")
    for i, rule in enumerate(["sgd", "rmsprop"]):
        want = expected(rule, s, s.start, 7)
        block = rows[1 + 8 * i : 1 + 8 * (i + 1)]
        assert {r[0] for r in block} == {rule}
        assert [int(r[2]) for r in block] == list(range(8))
        got = np.array([[float(v) for v in r[3:]] for r in block])
        assert np.array_equal(got[:, :2], want.points)
        assert np.array_equal(got[:, 2], want.losses)


def test_csv_divergence_leaves_fields_empty(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--surface", "quadratic", "--optimizer", "sgd",
        "--set", "lr=1.5", "--steps", "60", "--format", "csv",
    )  # fmt: skip
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))[1:]
    k = expected("sgd", get_surface("quadratic"), get_surface("quadratic").start, 60, lr=1.5)
    k = k.diverged_at
    assert rows[k + 1][3:] == ["", "", ""] and rows[-1][3:] == ["", "", ""]
    assert all(v not in ("nan", "inf") for r in rows for v in r[3:])


# ---------------------------------------------------------------- presets


def test_preset_trajectory_matches_the_scene(capsys):
    status, out, _ = cli(capsys, "trajectory", "--preset", "radford-saddle", "--format", "json")
    assert status == 0
    doc = strict_json(out)
    scene = get_preset("radford-saddle")
    assert doc["surface"] == "saddle" and doc["steps"] == scene.steps
    assert [r["label"] for r in doc["runs"]] == list(RADFORD_LABELS.values())
    for r, traj in zip(doc["runs"], scene.compute(), strict=True):
        assert r["start"] == list(scene.start)
        assert np.array_equal(np.array(r["points"], dtype=float), traj.points)


def test_preset_settings_can_be_overridden(capsys):
    status, out, _ = cli(
        capsys, "trajectory", "--preset", "radford-beale", "--steps", "5",
        "--start", "0.5,-1", "--set", "lr=0.002", "--set", "rmsprop.decay=0.5",
    )  # fmt: skip
    assert status == 0
    doc = strict_json(out)
    assert doc["steps"] == 5
    hyper = {r["optimizer"]: r["hyper"] for r in doc["runs"]}
    assert all(h["lr"] == 0.002 for h in hyper.values())
    assert hyper["rmsprop"]["decay"] == 0.5 and hyper["rmsprop"]["eps_in_sqrt"] is True
    assert hyper["adadelta"]["eps"] == get_preset("radford-beale").runs[4].hyper["eps"]
    s = get_surface("beale")
    want = expected("rmsprop", s, (0.5, -1.0), 5, lr=0.002, decay=0.5, eps_in_sqrt=True)
    assert np.array_equal(np.array(doc["runs"][5]["points"]), want.points)


# ---------------------------------------------------------------- bad arguments

BASE = ["trajectory", "--surface", "quadratic", "--optimizer", "sgd"]
BAD = {
    "unknown surface": (["trajectory", "--surface", "nope", "--optimizer", "sgd"], "surface"),
    "unknown optimizer": (["trajectory", "--surface", "quadratic", "--optimizer", "nope"],
                          "optimizer"),
    "unknown preset": (["trajectory", "--preset", "nope"], "preset"),
    "lr=nan": ([*BASE, "--set", "lr=nan"], "finite"),
    "lr=-1": ([*BASE, "--set", "lr=-1"], "lr"),
    "lr=abc": ([*BASE, "--set", "lr=abc"], "number"),
    "steps=-3": ([*BASE, "--steps", "-3"], "steps"),
    "steps=10**12": ([*BASE, "--steps", str(10**12)], "steps"),
    "steps=1.5": ([*BASE, "--steps", "1.5"], "steps"),
    "start '1,'": ([*BASE, "--start", "1,"], "start"),
    "start 'a,b'": ([*BASE, "--start", "a,b"], "start"),
    "start '1,2,3'": ([*BASE, "--start", "1,2,3"], "start"),
    "start 'nan,0'": ([*BASE, "--start", "nan,0"], "start"),
    "unknown --set name": ([*BASE, "--set", "beta1=0.9"], "beta1"),
    "--set for a rule not chosen": ([*BASE, "--set", "adam.beta1=0.9"], "adam"),
    "--set unknown rule param": ([*BASE, "--set", "sgd.foo=1"], "foo"),
    "--set without =": ([*BASE, "--set", "lr"], "name=value"),
    "bad --format": ([*BASE, "--format", "xml"], "format"),
    "no optimizer": (["trajectory", "--surface", "quadratic"], "optimizer"),
    "no surface": (["trajectory", "--optimizer", "sgd"], "surface"),
    "surface and preset": (["trajectory", "--surface", "quadratic", "--preset", "radford-beale"],
                           "preset"),
    "optimizer with preset": (["trajectory", "--preset", "radford-beale", "--optimizer", "sgd"],
                              "optimizer"),
    "same optimizer twice": ([*BASE, "--optimizer", "sgd"], "twice"),
    "negative noise": ([*BASE, "--noise", "-1"], "noise"),
    "bad expression": (["trajectory", "--expression", "x**", "--optimizer", "sgd"], ""),
    "unsafe expression": (["trajectory", "--expression", "__import__('os')", "--optimizer",
                           "sgd"], ""),
    "no command": ([], "COMMAND"),
    "unknown command": (["fly"], "fly"),
    "export frames too many": (["export", "--preset", "radford-beale", "--out", "x.gif",
                                "--frames", "2000"], "frames"),
    "export size too big": (["export", "--preset", "radford-beale", "--out", "x.gif",
                             "--size", "5000x5000"], "size"),
    "export size malformed": (["export", "--preset", "radford-beale", "--out", "x.gif",
                               "--size", "big"], "size"),
    "export fps zero": (["export", "--preset", "radford-beale", "--out", "x.gif", "--fps", "0"],
                        "fps"),
    "export without --out": (["export", "--preset", "radford-beale"], "--out"),
    "serve bad port": (["serve", "--port", "99999"], "port"),
    "serve unknown host": (["serve", "--host", "no.such.host.invalid"], "--host"),
    "export size under the renderer's": (["export", "--preset", "radford-beale", "--out",
                                          "x.gif", "--size", "32x32"], "64x64"),
    "rule without a name": ([*BASE, "--rule", "W = W - lr*g"], "NAME="),
    "tune link base not http": (["tune", "--preset", "radford-beale", "--base",
                                 "javascript:alert(1)"], "http(s)"),
    "tune also lr": (["tune", "--preset", "radford-beale", "--also", "lr"], "always tuned"),
    "tune also-range alone": (["tune", "--preset", "radford-beale", "--also-range", "0.1,0.9"],
                              "also_range"),
    "batch size on an analytic surface": ([*BASE, "--batch-size", "8"], "mini-batches"),
    "batch size zero": (["trajectory", "--surface", "noisy_moons", "--optimizer", "sgd",
                         "--batch-size", "0"], "batch-size"),
}  # fmt: skip


@pytest.mark.parametrize("argv, word", list(BAD.values()), ids=list(BAD))
def test_bad_arguments_exit_2_with_one_line(capsys, argv, word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = cli(capsys, *argv)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optviz: error: ")
    assert word.lower() in lines[0].lower()
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_serve_on_a_port_in_use_is_one_line_and_status_2(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = cli(capsys, "serve", "--port", str(port))
    assert status == 2 and out == "" and err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_a_long_bad_expression_is_not_echoed_whole(capsys):
    status, _, err = cli(
        capsys, "trajectory", "--expression", "x+" * 5000 + "y", "--optimizer", "sgd"
    )
    assert status == 2 and "too long" in err and "…" in err and len(err) < 300


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        optviz_cli._build_parser().parse_args(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("optviz ")


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exc:
        optviz_cli._build_parser().parse_args(["trajectory", "--help"])
    assert exc.value.code == 0
    assert optviz_cli.main(["trajectory", "--help"]) == 0
    assert "--optimizer" in capsys.readouterr().out


# ---------------------------------------------------------------- real processes


def test_subprocess_trajectory():
    proc = subprocess.run(
        [sys.executable, "-m", "optviz_cli", "trajectory", "--surface", "rosenbrock",
         "--optimizer", "adam", "--start", "-1.5,2", "--steps", "20", "--set", "lr=0.05"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    want = expected("adam", get_surface("rosenbrock"), (-1.5, 2.0), 20, lr=0.05)
    assert np.array_equal(np.array(doc["runs"][0]["points"]), want.points)


def test_subprocess_bad_argument():
    proc = subprocess.run(
        [sys.executable, "-m", "optviz_cli", "trajectory", "--surface", "quadratic",
         "--optimizer", "sgd", "--steps", "-3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "steps" in proc.stderr


# ---------------------------------------------------------------- export and serve


def test_export_writes_a_gif(capsys, tmp_path):
    from PIL import Image

    out = tmp_path / "beale.gif"
    status, stdout, err = cli(
        capsys, "export", "--preset", "radford-beale", "--out", str(out), "--frames", "6",
        "--fps", "10", "--size", "310x240", "--steps", "30",
    )  # fmt: skip
    assert status == 0, err
    assert str(out) in stdout
    with Image.open(out) as im:
        assert im.size == (310, 240) and im.n_frames == 6
        assert im.info.get("duration") == 100


def test_export_reports_when_the_renderer_is_missing(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "viz.gif", None)  # import viz.gif now fails
    status, out, err = cli(capsys, "export", "--preset", "radford-beale",
                           "--out", str(tmp_path / "x.gif"))  # fmt: skip
    assert status == 2 and out == ""
    assert err.splitlines() == [
        "optviz: error: export is unavailable: viz.gif is not installed yet"
    ]
    assert not (tmp_path / "x.gif").exists()


def test_export_passes_the_options_through(capsys, monkeypatch, tmp_path):
    import viz.gif

    seen = {}

    def fake_render(scene, **options):
        seen.update(options, scene=scene)
        options["progress"](1, 2)
        options["progress"](2, 2)
        return b"GIF89a-fake"

    monkeypatch.setattr(viz.gif, "render_gif_bytes", fake_render)
    status, out, err = cli(
        capsys, "export", "--surface", "beale", "--optimizer", "sgd", "--optimizer", "adam",
        "--set", "lr=0.01", "--steps", "40", "--out", str(tmp_path / "x.gif"),
        "--view", "both", "--frames", "12", "--fps", "8", "--size", "800x600",
    )  # fmt: skip
    assert status == 0, err
    assert seen["view"] == "both" and seen["frames"] == 12 and seen["fps"] == 8
    assert seen["size"] == (800, 600)
    assert [r.optimizer for r in seen["scene"].runs] == ["sgd", "adam"]
    assert seen["scene"].steps == 40
    assert callable(seen["progress"])
    assert (tmp_path / "x.gif").read_bytes() == b"GIF89a-fake"
    assert out.startswith(f"wrote {tmp_path / 'x.gif'}: 12 frames, 800×600, 8 fps")


def test_serve_calls_app_main(monkeypatch):
    calls = []
    fake = types.SimpleNamespace(main=lambda argv=None: calls.append(argv))
    monkeypatch.setitem(sys.modules, "app", fake)
    assert optviz_cli.main(["serve", "--host", "0.0.0.0", "--port", "9000", "--debug"]) == 0
    assert calls == [["--host", "0.0.0.0", "--port", "9000", "--debug"]]


def test_batch_size_samples_mini_batches(capsys):
    argv = ["trajectory", "--surface", "noisy_moons", "--optimizer", "sgd", "--steps", "5",
            "--set", "lr=0.5", "--batch-size", "16", "--seed", "3"]  # fmt: skip
    status, out, _ = cli(capsys, *argv)
    assert status == 0
    points = np.array(strict_json(out)["runs"][0]["points"])
    s = get_surface("noisy_moons")
    want = run(get_optimizer("sgd", lr=0.5), s.with_batch_size(16), s.start, 5, seed=3)
    assert np.array_equal(points, want.points)
    full = run(get_optimizer("sgd", lr=0.5), s, s.start, 5).points
    assert not np.allclose(points, full)


def test_presets_lists_every_preset(capsys):
    status, out, _ = cli(capsys, "presets")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == list(PRESETS)
    status, out, _ = cli(capsys, "presets", "-v")
    assert get_preset("radford-saddle").description in out


def test_every_option_of_every_command_says_what_it_is():
    parser = optviz_cli._build_parser()
    sub = next(a for a in parser._actions if isinstance(a, optviz_cli.argparse._SubParsersAction))
    silent = [
        f"{name} {action.option_strings[0]}"
        for name, command in sub.choices.items()
        for action in command._actions
        if action.option_strings and not (action.help or "").strip()
    ]
    assert len(sub.choices) >= 8 and not silent, silent


def test_the_cli_size_bounds_are_the_renderers():
    """--size is parsed without importing the renderer: its bounds must be the same."""
    from viz.figures import page

    assert (optviz_cli.MIN_SIZE, optviz_cli.MAX_SIZE) == (page.MIN_SIZE, page.MAX_SIZE)
    assert optviz_cli.MAX_FPS == page.MAX_FPS
