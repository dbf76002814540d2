"""Typed rules in the Scene: the run spec carries the text, the share link carries it back
(with the typed rules' bounds applied when a link is read), and old links still open."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers import from_rule, run
from optimizers.typed import MAX_LENGTH
from viz.scene import get_preset
from viz.scene.link import (
    decode,
    encode,
    scene_from_dict,
    scene_from_link,
    scene_to_dict,
    scene_to_link,
)
from viz.scene.model import RunSpec, Scene

MOMENTUM = "mu = 0.9\nv = mu * v - lr * g\nW = W + v"


def scene_with_rule(**kw) -> Scene:
    return Scene.from_args(
        "rosenbrock",
        ["sgd"],
        [("mine.mu", "0.5"), ("lr", "0.001")],
        steps=120,
        rules=[("mine", MOMENTUM)],
        **kw,
    )


def test_a_scene_runs_a_typed_rule_as_from_rule_does():
    scene = scene_with_rule()
    spec = scene.runs[1]
    assert spec.optimizer == "mine" and spec.code == MOMENTUM
    assert spec.hyper == {"mu": 0.5, "lr": 0.001}  # --set rule.x and --set x both reach it
    traj = scene.compute()[1]
    want = run(from_rule(MOMENTUM, lr=0.001, mu=0.5), scene.get_surface(), scene.start, 120)
    assert np.array_equal(traj.points, want.points)
    resolved = scene.resolved_runs()[1]
    assert resolved.label == "mine" and resolved.colour.startswith("#")
    assert resolved.colour not in {r.colour for r in scene.resolved_runs()[:1]}


def test_the_share_link_carries_the_rule_and_reads_it_back():
    scene = scene_with_rule()
    link = scene_to_link(scene, "http://127.0.0.1:8050/")
    back = scene_from_link(link)
    assert back.runs[1] == scene.runs[1]
    assert np.array_equal(back.compute()[1].points, scene.compute()[1].points)


def test_old_links_without_typed_rules_still_open():
    preset = get_preset("radford-beale")
    data = scene_to_dict(preset)
    assert all("u" not in r for r in data["r"])
    assert scene_from_link(encode(data)).runs == preset.runs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"u": "W = W.__class__"}, "attribute access"),
        ({"u": "import os\nW = W"}, "an import is not allowed"),
        ({"u": "W = 10**10**10"}, "is too large"),
        ({"u": 5}, "must be text"),
        ({"u": "W = W\n" * 1000}, "too long"),
        ({"o": "adam"}, "built-in rule's name"),
        ({"o": "no.dots"}, "a rule's name"),
        ({"o": ["x"]}, "a rule's name"),
        ({"h": {"beta": 1}}, "has no hyperparameter 'beta'"),
        ({"h": {"mu": "x"}}, "mu must be a number"),
        ({"h": {"lr": -1}}, "lr must be > 0"),
    ],
)
def test_a_tampered_typed_rule_in_a_link_is_a_message(change, message):
    data = scene_to_dict(scene_with_rule())
    data["r"][1] = {**data["r"][1], **change}
    with pytest.raises(ValueError, match=message):
        scene_from_dict(data)


def test_a_link_of_a_long_rule_is_refused_by_the_links_own_bound_too():
    text = "W = W - lr * g\n" + "".join(f"a{i} = {i}.{i}\n" for i in range(300))
    assert len(text) > MAX_LENGTH
    data = scene_to_dict(get_preset("radford-beale"))
    data["r"].append({"o": "long", "h": {}, "u": text})
    with pytest.raises(ValueError, match="too long"):
        scene_from_link(encode(data))


def test_hessian_rules_are_checked_against_the_surface_when_a_link_is_read():
    data = scene_to_dict(scene_with_rule())
    data["r"][1] = {"o": "newt", "h": {}, "u": "W = W - solve(H, g)"}
    back = scene_from_dict(data)
    assert back.runs[1].info().second_order
    assert decode(encode(data))["r"][1]["u"] == "W = W - solve(H, g)"


def test_scene_from_args_refuses_a_bad_rule_naming_it():
    with pytest.raises(ValueError, match=r"rule 'bad': unknown name 'q' \(line 1, column 9\)"):
        Scene.from_args("beale", [], rules=[("bad", "W = W - q")])
    with pytest.raises(ValueError, match="chosen twice"):
        Scene.from_args("beale", [], rules=[("a", "W = W"), ("a", "W = W")])
    with pytest.raises(ValueError, match="unknown optimizer 'nobody'"):
        scene_with_rule().with_overrides(settings=[("nobody.mu", "1")])


def test_a_runspec_of_a_typed_rule_builds_with_a_schedule():
    spec = RunSpec(
        "mine", {"lr": 0.01}, schedule=("step", {"drop": 0.5, "every": 10}), code=MOMENTUM
    )
    opt = spec.build()
    assert callable(opt.hyper["lr"]) and opt.name == "mine"


def test_typed_rules_get_colours_of_their_own_even_when_their_names_collide():
    from optimizers.typed import COLOURS, pick_colour

    # r0 and r2 pick the same colour by name; the second takes the next free one
    assert pick_colour("r0") == pick_colour("r2")
    scene = Scene.from_args("beale", ["sgd"], rules=[("r0", "W = W"), ("r2", "W = W")])
    colours = [r.colour for r in scene.resolved_runs()]
    assert len(set(colours)) == 3 and set(colours[1:]) <= set(COLOURS)
    back = scene_from_link(scene_to_link(scene))
    assert [r.colour for r in back.resolved_runs()] == colours
