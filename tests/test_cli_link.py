"""``--link URL``: the command line computes exactly the scene the app's share link shows.

Links are made with the app's own encoder (``viz.scene.link.scene_to_link``), so these
tests hold the CLI to the codec, not to a copy of it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import optviz_cli
from surfaces import from_expression
from tests.cli_helpers import cli
from viz.scene import RunSpec, Scene, get_preset
from viz.scene.link import encode, scene_to_link

APP = "http://127.0.0.1:8050/"


def trajectory(capsys, *argv) -> str:
    status, out, err = cli(capsys, "trajectory", *argv)
    assert status == 0, err
    assert err == ""
    return out


@pytest.mark.parametrize("name", ["radford-saddle", "radford-beale", "rosenbrock-race"])
def test_a_presets_link_gives_the_presets_trajectories(capsys, name):
    link = scene_to_link(get_preset(name), APP)
    assert link.startswith(APP + "#v")
    by_link = trajectory(capsys, "--link", link, "--format", "json")
    assert by_link == trajectory(capsys, "--preset", name, "--format", "json")
    # The hash alone works as well as the whole address.
    assert trajectory(capsys, "--link", link[len(APP) :]) == by_link


def test_an_ad_hoc_scene_with_schedules_and_noise_round_trips(capsys):
    base = Scene.from_args(
        "rosenbrock", ["adam", "sgd"], {"lr": 0.002, "adam.beta1": 0.8}, start=(-1, 1.5), steps=30
    )
    runs = (
        RunSpec("adam", dict(base.runs[0].hyper), schedule=("cosine", {"total": 30})),
        RunSpec("sgd", dict(base.runs[1].hyper), noise=0.5, seed=3),
    )
    scene = Scene(**{**base.__dict__, "runs": runs}).validate()
    doc = json.loads(trajectory(capsys, "--link", scene_to_link(scene, APP)))
    assert doc["surface"] == "rosenbrock" and doc["steps"] == 30
    assert [r["optimizer"] for r in doc["runs"]] == ["adam", "sgd"]
    want = scene.compute()
    for r, traj in zip(doc["runs"], want, strict=True):
        assert r["start"] == [-1.0, 1.5]
        assert np.array_equal(np.array(r["points"], dtype=float), traj.points)
    # The schedule and the noise made a difference: without them the paths differ.
    plain = base.compute()
    assert not np.array_equal(want[0].points, plain[0].points)
    assert not np.array_equal(want[1].points, plain[1].points)


def test_an_expression_link(capsys):
    s = from_expression("x**2 + 3*y**2", x_range=(-2, 2), y_range=(-1, 1))
    scene = Scene.from_args(s, ["momentum"], start=(1.5, 0.5), steps=12)
    doc = json.loads(trajectory(capsys, "--link", scene_to_link(scene, APP)))
    got = np.array(doc["runs"][0]["points"])
    np.testing.assert_allclose(got, scene.compute()[0].points, rtol=0, atol=1e-12)


def test_a_first_format_link_still_opens(capsys):
    v1 = encode({"v": 1, "s": "beale", "o": ["sgd"], "h": {"sgd": {"lr": 0.001}},
                 "st": 8, "x": [1.0, 1.5]})  # fmt: skip
    assert v1.startswith("#v1=")
    doc = json.loads(trajectory(capsys, "--link", APP + v1))
    direct = ["--surface", "beale", "--optimizer", "sgd", "--set", "lr=0.001", "--steps", "8",
              "--start", "1,1.5"]  # fmt: skip
    direct = json.loads(trajectory(capsys, *direct))
    assert doc["runs"][0]["points"] == direct["runs"][0]["points"]


def test_link_settings_can_be_overridden_like_a_presets(capsys):
    link = scene_to_link(get_preset("radford-beale"), APP)
    extra = ["--steps", "7", "--start", "0.5,-1", "--set", "lr=0.002", "--set",
             "rmsprop.decay=0.5"]  # fmt: skip
    assert trajectory(capsys, "--link", link, *extra) == trajectory(
        capsys, "--preset", "radford-beale", *extra
    )
    doc = json.loads(trajectory(capsys, "--link", link, *extra))
    assert doc["steps"] == 7 and all(r["hyper"]["lr"] == 0.002 for r in doc["runs"])


def test_export_of_a_link_is_the_presets_gif(capsys, tmp_path):
    link = scene_to_link(get_preset("radford-beale"), APP)
    small = ["--steps", "10", "--frames", "3"]
    a, b = tmp_path / "link.gif", tmp_path / "preset.gif"
    status, _, err = cli(capsys, "export", "--link", link, "--out", str(a), *small)
    assert status == 0, err
    status, _, err = cli(capsys, "export", "--preset", "radford-beale", "--out", str(b), *small)
    assert status == 0, err
    assert a.read_bytes() == b.read_bytes()
    with Image.open(a) as im:
        assert im.size == get_preset("radford-beale").style.size and im.n_frames == 3


BAD = {
    "link and preset": (["--link", "#v2=x", "--preset", "radford-beale"], "--preset"),
    "link and surface": (["--link", "#v2=x", "--surface", "beale"], "--surface"),
    "link and expression": (["--link", "#v2=x", "--expression", "x**2"], "--expression"),
    "link and optimizer": (["--optimizer", "sgd"], "--optimizer"),
    "link and a window": (["--x-range", "-1,1"], "--x-range"),
    "not a link": (["--link", "hello"], "--link"),
    "no scene in it": (["--link", APP], "--link"),
    "garbage token": (["--link", APP + "#v2=!!!"], "base64"),
    "unknown version": (["--link", APP + "#v9=abc"], "version"),
    "too long": (["--link", "#v2=" + "A" * 20000], "too long"),
    "empty": (["--link", ""], "--link"),
    "dangling": (["--link"], "--link"),
}


@pytest.mark.parametrize("extra, word", list(BAD.values()), ids=list(BAD))
def test_bad_links_exit_2_with_one_line(capsys, extra, word):
    if "--link" not in extra:
        extra = ["--link", scene_to_link(get_preset("radford-beale"), APP), *extra]
    status, out, err = cli(capsys, "trajectory", *extra)
    assert status == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("optviz: error: "), err
    assert word.lower() in lines[0].lower()
    assert "Traceback" not in err


def test_help_mentions_link(capsys):
    for command in ("trajectory", "export"):
        assert optviz_cli.main([command, "--help"]) == 0
        assert "--link URL" in capsys.readouterr().out
    assert optviz_cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "optviz trajectory --link" in text and "optviz export --link URL --out x.gif" in text
    for command in ("serve", "trajectory", "export", "presets"):
        assert f"    {command}" in text
