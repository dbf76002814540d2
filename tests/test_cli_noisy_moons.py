"""``optviz trajectory`` and ``optviz export`` on Radford's noisy moons."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from tests.cli_helpers import cli
from viz.gif import accuracy
from viz.scene import get_preset


def test_the_json_of_a_classifier_carries_its_accuracy_per_step(capsys):
    status, out, _ = cli(capsys, "trajectory", "--preset", "radford-noisy-moons", "--steps", "40")
    assert status == 0
    doc = json.loads(out)
    assert doc["surface"] == "logistic_moons"
    s = get_preset("radford-noisy-moons").get_surface()
    for r in doc["runs"]:
        pts = np.array(r["points"], dtype=float)
        assert len(r["accuracy"]) == 41
        assert r["accuracy"] == s.accuracy(pts).tolist()
    # the first step at 80 %, as the README's table counts it
    first = {
        r["optimizer"]: next(i for i, a in enumerate(r["accuracy"]) if a >= 0.8)
        for r in doc["runs"]
    }
    assert max(first[k] for k in ("sgd", "momentum", "nesterov", "adagrad")) <= 10
    assert min(first[k] for k in ("rmsprop", "adadelta")) > 30
    # a plain surface has none
    status, out, _ = cli(capsys, "trajectory", "--preset", "radford-beale", "--steps", "3")
    assert status == 0 and all("accuracy" not in r for r in json.loads(out)["runs"])


def test_export_of_the_preset_writes_the_map_and_its_strip(capsys, tmp_path):
    out = tmp_path / "moons.gif"
    status, _, err = cli(
        capsys, "export", "--preset", "radford-noisy-moons", "--out", str(out), "--frames", "20"
    )
    assert status == 0, err
    im = Image.open(out)
    assert im.size == (620, 480 + accuracy.strip_height(640)) and im.n_frames == 20
