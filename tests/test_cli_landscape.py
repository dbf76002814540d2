"""``optviz landscape``: JSON and GIF of a network trained in full dimension, one plane."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import cli
from viz.scene import PRESETS, Scene, link
from viz.scene import landscape as L
from viz.ui import landscape_cli

BEALE = link.encode(link.scene_to_dict(PRESETS["radford-beale"]))  # a link of another scene

SMALL = ["--widths", "2,6,1", "--steps", "30", "--grid", "9", "--samples", "50"]


def run(capsys, *argv):
    return cli(capsys, "landscape", *argv)


def spec(**changes) -> L.LandscapeSpec:
    """The default landscape spec with ``changes``, validated by ``L.check``."""
    return L.check(L.replace(L.LandscapeSpec(), **changes))


def test_json_holds_every_run_with_the_planes_numbers(capsys):
    code, out, err = run(
        capsys, *SMALL, "--optimizer", "sgd", "--optimizer", "adam", "--set", "adam.lr=0.05"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["spec"]["w"] == [2, 6, 1]
    assert [r["optimizer"] for r in doc["runs"]] == ["sgd", "adam"]
    assert doc["runs"][1]["hyper"]["lr"] == 0.05
    assert doc["runs"][0]["hyper"]["lr"] == L.NETWORK_LR["sgd"]
    assert len(doc["loss"]) == 9 and len(doc["loss"][0]) == 9
    assert len(doc["runs"][0]["points"]) == 31
    ev = doc["plane"]["explained_variance"]
    assert doc["plane"]["kind"] == "pca" and 0 < ev[1] <= ev[0] < 1
    # the same as the library's own result for the same spec
    rules = (L.Rule("sgd"), L.Rule("adam", {"lr": 0.05}))
    res = L.compute(spec(widths=(2, 6, 1), steps=30, grid=9, samples=50, rules=rules))
    np.testing.assert_allclose(np.array(doc["runs"][1]["points"]), res.coords[1], rtol=1e-12)
    assert doc["runs"][1]["true_loss"][-1] == pytest.approx(res.true_loss[1, -1], rel=1e-12)


def test_link_reproduces_the_spec_and_options_override_it(capsys):
    wanted = spec(
        widths=(2, 4, 1),
        steps=20,
        grid=7,
        samples=40,
        data="circles",
        plane="random",
        rules=(L.Rule("momentum"),),
    )
    url = link.scene_to_link(Scene.of_network(wanted), "http://x/")
    code, out, err = run(capsys, "--link", url, "--steps", "10")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["spec"]["d"] == "circles" and doc["spec"]["p"] == "random"
    assert doc["spec"]["st"] == 10 and doc["plane"]["explained_variance"] is None


def test_gif_is_written_with_its_frames(capsys, tmp_path):
    out_file = tmp_path / "net.gif"
    code, out, err = run(
        capsys,
        *SMALL,
        "--format",
        "gif",
        "--out",
        str(out_file),
        "--frames",
        "5",
        "--view",
        "contour",
    )
    assert code == 0, err
    assert "wrote" in out
    with Image.open(out_file) as im:
        assert im.n_frames == 5
        assert im.size == (800, 600)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--widths", "2,100000,1"], "at most 64 units"),
        (["--widths", "2,a,1"], "whole number"),
        (["--grid", "100000"], "grid must be"),
        (["--optimizer", "newton"], "Hessian"),
        (["--set", "sgd.lr=-1", "--optimizer", "sgd"], "sgd.lr"),
        (["--format", "gif"], "needs --out"),
        (["--format", "gif", "--out", "x.mp4"], "does not end in .gif"),
        (["--out", "net.gif"], "does not end in .json"),
        (["--optimizer", "sgd", "--optimizer", "sgd"], "chosen twice"),
        (["--link", "http://x/#v2=abc"], "damaged"),
        (["--link", "http://x/" + BEALE], "no network scene"),
        (["--link", "#net1=%%%"], "base64url"),
        (
            [
                "--widths",
                "2,64,64,64,64,1",
                "--steps",
                "2000",
                "--samples",
                "1000",
                "--optimizer",
                "adam",
                "--optimizer",
                "sgd",
            ],
            "over the limit",
        ),
    ],
)
def test_bad_requests_end_in_one_line_and_status_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_symlink_target_is_refused_before_any_work(capsys, tmp_path):
    target = tmp_path / "real.gif"
    target.write_bytes(b"x")
    link = tmp_path / "link.gif"
    os.symlink(target, link)
    code, _, err = run(capsys, "--format", "gif", "--out", str(link))
    assert code == 2 and "symbolic link" in err
    assert target.read_bytes() == b"x"


def test_the_parsers_choices_are_the_scenes():
    assert landscape_cli.DATASETS == L.DATASETS
    assert landscape_cli.ACTIVATIONS == L.ACTIVATION_CHOICES
    assert landscape_cli.PLANES == L.PLANES
    d = L.LandscapeSpec()
    D = landscape_cli._Defaults
    assert (D.data, D.samples, D.noise, D.activation, D.steps, D.plane, D.grid) == (
        d.data,
        d.samples,
        d.noise,
        d.activation,
        d.steps,
        d.plane,
        d.grid,
    )
