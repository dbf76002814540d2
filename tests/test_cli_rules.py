"""``--rule NAME='...'`` on the command line: trajectory and export, with --set NAME.x."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from optimizers import from_rule, get_optimizer, run
from surfaces import get_surface
from tests.cli_helpers import cli
from viz.scene.model import Scene

MOMENTUM = "mu = 0.9\nv = mu * v - lr * g\nW = W + v"


def test_trajectory_runs_a_typed_rule_next_to_a_built_in(capsys):
    status, out, err = cli(
        capsys,
        "trajectory",
        "--surface", "rosenbrock",
        "--optimizer", "momentum",
        "--rule", f"mine={MOMENTUM}",
        "--set", "lr=0.001",
        "--set", "mine.mu=0.5",
        "--steps", "300",
    )  # fmt: skip
    assert status == 0, err
    doc = json.loads(out)
    builtin, mine = doc["runs"]
    assert mine["optimizer"] == "mine" and mine["label"] == "mine"
    assert mine["hyper"] == {"lr": 0.001, "mu": 0.5} and mine["rule"] == MOMENTUM
    s = get_surface("rosenbrock")
    want = run(from_rule(MOMENTUM, lr=0.001, mu=0.5), s, s.start, 300)
    assert np.array_equal(np.array(mine["points"]), want.points)
    # The built-in got lr but not mu: the typed rule's mu is its own.
    ref = run(get_optimizer("momentum", lr=0.001), s, s.start, 300)
    assert np.array_equal(np.array(builtin["points"]), ref.points)


def test_semicolons_separate_statements_and_rules_join_a_preset(capsys):
    status, out, err = cli(
        capsys, "trajectory", "--preset", "radford-beale", "--steps", "5",
        "--rule", "signum=W = W - lr * sign(g); t2 = t",
    )  # fmt: skip
    assert status == 0, err
    doc = json.loads(out)
    assert doc["runs"][-1]["optimizer"] == "signum"
    assert len(doc["runs"]) == 7  # Radford's six and ours


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("mine=W = W.__class__", "rule 'mine': attribute access (a.b) is not allowed"),
        ("mine=", "--rule must look like NAME="),
        ("=W = W", "--rule must look like NAME="),
        ("sgd=W = W", "'sgd' is a built-in rule's name"),
        ("mine=import os", "an import is not allowed"),
        ("mine=W = W ** 10**10**10", "is too large"),
    ],
)
def test_a_bad_rule_is_one_line_and_status_2(capsys, rule, message):
    status, out, err = cli(capsys, "trajectory", "--surface", "beale", "--rule", rule)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_set_of_an_unknown_hyperparameter_of_a_rule_names_it(capsys):
    status, _, err = cli(
        capsys, "trajectory", "--surface", "beale", "--rule", f"mine={MOMENTUM}",
        "--set", "mine.beta=1",
    )  # fmt: skip
    assert status == 2 and "mine has no hyperparameter 'beta'" in err


def test_export_draws_the_rule_with_its_name_in_the_legend(capsys, tmp_path):
    out = tmp_path / "mine.gif"
    args = ["--surface", "beale", "--optimizer", "adam", "--rule", "signum=W = W - lr * sign(g)"]
    status, _, err = cli(capsys, "export", *args, "--steps", "40", "--out", str(out))
    assert status == 0, err
    scene = Scene.from_args("beale", ["adam"], rules=[("signum", "W = W - lr * sign(g)")])
    colour = scene.resolved_runs()[1].colour
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(out) as im:
        assert im.n_frames > 1
        first = np.array(im.convert("RGB"))
    h, w, _ = first.shape
    legend = first[: h // 5, w * 2 // 3 :]  # the legend box, top right
    assert (np.abs(legend.astype(int) - rgb).sum(axis=-1) < 30).sum() > 20
    # The legend's white box grows with the rule's name: the name is written in it.
    longer = tmp_path / "longer.gif"
    args[-1] = "a_much_longer_rule_name=W = W - lr * sign(g)"
    status, _, err = cli(capsys, "export", *args, "--steps", "40", "--out", str(longer))
    assert status == 0, err
    with Image.open(longer) as im:
        other = np.array(im.convert("RGB"))
    white = (first[: h // 5] == 255).all(axis=-1).sum()
    assert (other[: h // 5] == 255).all(axis=-1).sum() > white + 500
