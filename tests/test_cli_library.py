"""Library rules on the command line and through share links: torch:…, pytorch_optimizer:…,
optax:… names for trajectory and export, --set on a prefixed rule, `optviz optimizers`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimizers import OPTIMIZERS, get_optimizer, library, run
from surfaces import get_surface
from tests.cli_helpers import cli
from viz.scene import Scene
from viz.scene.link import scene_from_link, scene_to_link

pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")
pytest.importorskip("optax")


def test_trajectory_with_library_rules_and_a_prefixed_setting(capsys):
    status, out, err = cli(
        capsys,
        "trajectory",
        "--surface",
        "rosenbrock",
        "--optimizer",
        "torch:NAdam",
        "--optimizer",
        "pytorch_optimizer:Lamb",
        "--optimizer",
        "optax:adamw",
        "--set",
        "torch:NAdam.lr=0.01",
        "--steps",
        "40",
    )
    assert status == 0, err
    runs = {r["optimizer"]: r for r in json.loads(out)["runs"]}
    assert list(runs) == ["torch:NAdam", "pytorch_optimizer:Lamb", "optax:adamw"]
    assert runs["torch:NAdam"]["hyper"]["lr"] == 0.01
    assert runs["pytorch_optimizer:Lamb"]["hyper"]["lr"] == 0.001  # its own default, untouched
    s = get_surface("rosenbrock")
    want = run(get_optimizer("torch:NAdam", lr=0.01), s, s.start, 40)
    np.testing.assert_array_equal(np.array(runs["torch:NAdam"]["points"]), want.points)
    for r in runs.values():
        assert r["diverged_at"] is None and np.isfinite(r["losses"]).all()


def test_export_draws_a_library_rule(capsys, tmp_path):
    out = tmp_path / "lamb.gif"
    status, _, err = cli(
        capsys,
        "export",
        "--surface",
        "beale",
        "--optimizer",
        "pytorch_optimizer:Lamb",
        "--optimizer",
        "torch:Adam",
        "--steps",
        "30",
        "--frames",
        "5",
        "--out",
        str(out),
    )
    assert status == 0, err
    assert out.read_bytes()[:6] == b"GIF89a"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizer", "torch:Nope"], "torch has no rule 'Nope'"),
        (["--optimizer", "pytorch_optimizer:LOMO"], "is refused: needs the model itself"),
        (["--optimizer", "torch:Adam", "--set", "torch:Adam.momentum=1"], "no hyperparameter"),
        (["--optimizer", "torch:Adam", "--set", "torch:SGD.lr=1"], "torch:SGD is not among"),
    ],
)
def test_bad_library_rules_give_one_line(capsys, argv, message):
    status, out, err = cli(capsys, "trajectory", "--surface", "beale", "--steps", "5", *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_missing_library_says_how_to_install_it(capsys, monkeypatch):
    real = library._import
    monkeypatch.setattr(library, "_import", lambda p: None if p == "optax" else real(p))
    monkeypatch.setattr(OPTIMIZERS, "_found", {})  # as in a process that never saw optax
    status, _, err = cli(
        capsys, "trajectory", "--surface", "beale", "--optimizer", "optax:yogi", "--steps", "3"
    )
    assert status == 2 and err.count("\n") == 1
    assert "pip install 'optviz[optax]'" in err


def test_optimizers_lists_every_rule_with_its_source(capsys):
    status, out, _ = cli(capsys, "optimizers")
    assert status == 0
    rows = dict(line.split(None, 1) for line in out.splitlines())
    assert rows["adam"].startswith("optviz")
    assert rows["torch:NAdam"].startswith("torch.optim 2.13.0")
    assert rows["pytorch_optimizer:Lamb"].startswith("pytorch-optimizer 4.1.0")
    assert rows["optax:adamw"].startswith("optax 0.2.8")
    assert "pytorch_optimizer:LOMO" not in rows  # refused: listed with --all only
    status, out, _ = cli(capsys, "optimizers", "--all")
    lomo = next(line for line in out.splitlines() if line.startswith("pytorch_optimizer:LOMO "))
    assert "refused: needs the model itself" in lomo


def test_share_link_carries_library_rules():
    scene = Scene.from_args(
        "beale",
        ["torch:Adam", "pytorch_optimizer:Lamb", "optax:adamw"],
        {"torch:Adam.lr": 0.02, "pytorch_optimizer:Lamb.weight_decay": 0.01},
        steps=30,
    )
    back = scene_from_link(scene_to_link(scene, "http://127.0.0.1:8050/"))
    assert [r.optimizer for r in back.runs] == [
        "torch:Adam",
        "pytorch_optimizer:Lamb",
        "optax:adamw",
    ]
    assert back.runs[0].hyper == {"lr": 0.02}
    assert back.runs[1].hyper == {"weight_decay": 0.01}
    a, b = scene.compute(), back.compute()
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.points, y.points)
