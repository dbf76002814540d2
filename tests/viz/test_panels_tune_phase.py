"""The Tune and Phase diagram panels' callbacks as plain functions (no browser)."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import replace

import numpy as np
import pytest
from dash import no_update
from PIL import Image

from optimizers.budget import Budget, BudgetError
from optimizers.phase import analytic, phase_diagram
from optimizers.tuning import tune
from surfaces import SURFACES
from viz.gif.phase import phase_image_bytes
from viz.scene import Scene, link
from viz.scene.model import RunSpec
from viz.scene.tuning import tune_scene
from viz.ui import apply_scene
from viz.ui.callbacks import Settings, compute
from viz.ui.panels import common, phase, sweep
from viz.ui.panels import tune as tune_panel


def scene(surface="rosenbrock", optimizers=("sgd", "adam"), steps="150", **kw):
    s = SURFACES[surface]
    out = compute(
        Settings(surface, list(optimizers), steps, str(s.start[0]), str(s.start[1]), **kw)
    )
    assert out.ok, out.messages
    return out.state


def test_tune_table_and_replay_carry_the_library_values():
    state = scene()
    body, msg, data, disabled = tune_panel.compute_tune(state, "area", "24", "1", "")
    caption, table = body[0], body[1].children  # the table in its scrolling box
    assert caption.children.startswith("Tuned in") and msg == "" and disabled is False
    s = SURFACES["rosenbrock"]
    lib = tune(["sgd", "adam"], s, s.start, 150, objective="area", trials=24)
    tuned = link.scene_from_dict(data)
    assert [r.hyper["lr"] for r in tuned.runs] == [r.hyper["lr"] for r in lib.rules]
    cells = [row.children[1].children for row in table.children[1:]]
    assert cells == [f"lr = {r.hyper['lr']:.4g}" for r in lib.rules]
    assert [row.children[-1].children for row in table.children[1:]] == ["24", "24"]
    assert "24 trials per optimizer" in caption.children and "do not hold" not in caption.children
    # a knife-edge optimum (no other trial within 10 %) says so, with why in its tooltip
    flats = [row.children[-3].children for row in table.children[1:]]
    edges = [r.flat[0] == r.flat[1] for r in lib.rules]
    assert any(edges)
    for cell, edge, r in zip(flats, edges, lib.rules, strict=True):
        if edge:
            assert cell.children == f"{r.flat[0]:.3g} alone" and "knife-edge" in cell.title
        else:
            assert cell == f"{r.flat[0]:.3g} – {r.flat[1]:.3g}"
    # both tuned rates score within 10 % from the moved starts: no mark
    moved = [row.children[-2].children for row in table.children[1:]]
    assert moved == [f"{r.moved_objective:.4g}" for r in lib.rules]
    assert not any(r.fragile for r in lib.rules)
    # replay: the store for apply_scene, which sets the cards through scene_controls
    applied, note = tune_panel.replay(1, data, state)
    assert applied == data and note == ""
    # not onto another race: the scene changed since (another surface, or a moved start)
    for other in (scene("beale"), {"scene": {**state["scene"], "x": [0.5, 0.5]}}):
        assert tune_panel.replay(1, data, other) == (
            no_update,
            common.stale_message("this tuning", "Tune"),
        )
    controls = apply_scene.controls_of(applied)
    runs = controls["store"]["runs"]
    assert runs["sgd"]["hyper"]["lr"] == lib.rules[0].hyper["lr"]
    assert runs["adam"]["hyper"]["lr"] == lib.rules[1].hyper["lr"]


def test_a_tuned_objective_the_moved_starts_do_not_keep_is_marked_fragile():
    """SGD's final f − f* on Rosenbrock: 4.7e-5 tuned, 8.9e-5 from the starts moved by
    1e-4 of the window; Adam's is the same to 4 digits."""
    state = scene()
    (caption, box), msg, _, _ = tune_panel.compute_tune(state, "final", "24", "1", "")
    assert msg == "" and "1 of 2 tuned objectives do not hold" in caption.children
    s = SURFACES["rosenbrock"]
    lib = tune(["sgd", "adam"], s, s.start, 150, objective="final", trials=24)
    assert [r.fragile for r in lib.rules] == [True, False]
    sgd, adam = (row.children[-2].children for row in box.children.children[1:])
    assert sgd.children == f"{lib.rules[0].moved_objective:.4g}" and "knife-edge" in sgd.className
    assert sgd.title == tune_panel.FRAGILE
    assert adam == f"{lib.rules[1].moved_objective:.4g}"


def test_every_optimizer_gets_the_whole_budget_and_the_table_says_so():
    """At 1,000 trials on a 150-step Rosenbrock every cell settles before the budget is
    spent (the search ended at 52–690 trials before): the rest goes to the gaps."""
    state = scene()
    (caption, box), msg, _, _ = tune_panel.compute_tune(state, "area", "1000", "1", "")
    table = box.children
    used = [int(row.children[-1].children.replace(",", "")) for row in table.children[1:]]
    assert msg == "" and used == [1000, 1000]  # sgd, adam
    assert "1,000 trials per optimizer, 1×1 start(s)" in caption.children


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("area", "1000000000", "1", ""), "trials must be between 2 and 1,000"),
        (("area", "abc", "1", ""), "trials"),
        (("area", "8", "9", ""), "starts k"),
        (
            ("area", "8", "1", "momentum"),
            "no optimizer of the scene \\(adam, sgd\\) has 'momentum'",
        ),
    ],
)
def test_tune_bad_input_is_a_message_and_nothing_changes(args, message):
    out = tune_panel.compute_tune(scene(), *args)
    assert out[0] is no_update and out[2] is no_update and out[3] is no_update
    assert re.search(message, out[1]), out[1]


def test_tune_with_no_scene_is_a_message():
    out = tune_panel.compute_tune(None, "area", "8", "1", "")
    assert out[0] is no_update and "No valid scene" in out[1]


def test_phase_figure_is_the_library_map_with_distills_curves():
    state = scene("ravine", ["momentum"], "300")
    fig, msg, meta = phase.compute_phase(
        state, "momentum", "lr:1e-3:1:log", "momentum:0:0.95", "20", "", "final"
    )
    m = phase_diagram("momentum", "ravine", "lr:1e-3:1:log", "momentum:0:0.95", cells=20, steps=300)
    heat = fig.data[0]
    z = np.array([[np.nan if v is None else v for v in row] for row in heat.z], float)
    expected = np.where(m.diverged, np.nan, np.log10(np.maximum(m.final, 1e-20)))
    np.testing.assert_allclose(z, expected, rtol=1e-12)
    assert np.array_equal(np.array(fig.data[1].z, dtype=float) == 1, m.diverged)
    roles = [t.meta["role"] for t in fig.data]
    assert roles.count("distill") == 3 and "optimum" in roles  # boundary + 2 critical curves
    critical = [t for t in fig.data if t.name and t.name.startswith("critical damping")]
    assert len({t.line.dash for t in critical}) == 2  # the key tells them apart
    assert fig.layout.xaxis.type == "log" and msg == ""
    assert fig.layout.xaxis.exponentformat == "power"  # 10⁻³, not Plotly's SI "1m"
    assert f"{int(m.diverged.sum())} diverged" in fig.layout.title.text
    # the axes hold the cells exactly (the optimum's marker may lie outside them)
    assert fig.layout.xaxis.range[0] < np.log10(1e-3) < fig.layout.xaxis.range[0] + 0.1
    assert meta["x"] == "lr" and meta["y"] == "momentum"


def test_clicking_a_cell_sets_its_hyperparameters_in_the_cards():
    state = scene("ravine", ["momentum", "sgd"], "200")
    _, _, meta = phase.compute_phase(
        state, "momentum", "lr:1e-3:1:log", "momentum:0:0.9", "10", "", "final"
    )
    xs, ys = meta["xs"], meta["ys"]
    click = {"points": [{"x": xs[3], "y": ys[7], "z": 0.0}]}
    data, msg = phase.cell_clicked(click, meta, state)
    controls = apply_scene.controls_of(data)
    hyper = controls["store"]["runs"]["momentum"]["hyper"]
    assert hyper["lr"] == xs[3] and hyper["momentum"] == ys[7]
    assert "sgd" in controls["store"]["runs"]  # the other runs stay
    assert msg == ""


@pytest.mark.parametrize(
    ("x", "y", "cells", "message"),
    [
        ("lr:1e-3:1:log", "beta2:0.9:0.99", "10", "momentum has no hyperparameter 'beta2'"),
        ("lr:1e-3:1:log", "momentum:0:0.9", "1000", "cells"),
        ("lr", "momentum:0:0.9", "10", "name:low:high"),
    ],
)
def test_phase_bad_input_is_a_message(x, y, cells, message):
    state = scene("ravine", ["momentum"], "100")
    fig, msg, meta = phase.compute_phase(state, "momentum", x, y, cells, "", "final")
    assert fig is no_update and meta is no_update and message in msg


def test_default_axes_follow_the_rule():
    assert phase.default_axes("adam")[1].startswith("beta2:")
    assert phase.default_axes("momentum") == ("lr:1e-05:1:log", "momentum:0:0.99")
    assert phase.default_axes("adagrad")[1] == "eps:1e-12:0.1:log"
    assert phase.second_axis("sgd") is None  # lr is its only hyperparameter


def test_the_phase_list_greys_sgd_and_starts_at_the_first_rule_with_two_hyperparameters():
    state = scene("ravine", ["sgd", "momentum", "adam"], "100")
    opts, value = common.keep_choice(state, None, phase._why_not)
    assert [o.get("disabled", False) for o in opts] == [True, False, False]
    assert "lr only" in opts[0]["label"] and value == "momentum"
    # a choice of SGD (an old page) falls back to the first usable rule
    assert common.keep_choice(state, "sgd", phase._why_not)[1] == "momentum"
    # the default axes of every usable rule draw a map
    for key in ("momentum", "adam"):
        x, y = phase.default_axes(key)
        fig, msg, _ = phase.compute_phase(state, key, x, y, "8", "20", "final")
        assert msg == "" and fig is not no_update, (key, msg)
    # only SGD: nothing to choose, and the list says why
    only_sgd = scene("ravine", ["sgd"], "100")
    opts, value = common.keep_choice(only_sgd, None, phase._why_not)
    assert value is None and opts[0]["disabled"]
    fig, msg, _ = phase.compute_phase(only_sgd, None, "lr:1e-4:1:log", "x:0:1", "8", "", "final")
    assert fig is no_update and "second one" in msg and "SGD has lr only" in msg


def test_download_png_draws_the_diagram_shown():

    state = scene("ravine", ["momentum"], "100")
    assert phase.download_png(1, None, state)[1] == "Compute a diagram first."
    _, _, meta = phase.compute_phase(
        state, "momentum", "lr:1e-3:1:log", "momentum:0:0.9", "12", "", "final"
    )
    data, msg = phase.download_png(1, meta, state)
    assert msg == "" and data["filename"] == "phase-momentum-lr-momentum.png"
    img = Image.open(io.BytesIO(base64.b64decode(data["content"])))
    assert img.format == "PNG" and img.size == (760, 560)

    m = phase_diagram("momentum", "ravine", "lr:1e-3:1:log", "momentum:0:0.9", cells=12, steps=100)

    an = analytic("momentum", SURFACES["ravine"], m.x, m.xs, m.y, m.ys)
    assert base64.b64decode(data["content"]) == phase_image_bytes(m, "png", an)
    bad = {**meta, "request": ["lr:1e-3:1:log", "beta1:0:1", 12, 100, "final"]}
    assert "no hyperparameter 'beta1'" in phase.download_png(1, bad, state)[1]


def test_every_panel_takes_a_typed_rule_and_a_library_rule():
    """The analysis tabs run a rule typed in the page and another library's rule like a
    built-in one: a figure and no message; the tuned values reach the typed rule's card."""
    pytest.importorskip("torch")
    from viz.scene.model import Scene
    from viz.ui.panels import convergence, sweep

    text = "mu = 0.9\nv = mu * v - lr * g\nW = W + v"
    only_sgd = scene("ravine", ["sgd"])
    own = Scene.from_args("ravine", ["sgd", "torch:Adam"], [], steps=60, rules=[("mine", text)])
    state = {"scene": link.scene_to_dict(own)}
    options, value = tune_panel.also_options(state, "beta2")
    assert [o["value"] for o in options] == ["", "momentum", "beta2", "decay", "mu"]
    assert options[-1]["label"] == "+ mu (mine)" and value == "beta2"
    assert tune_panel.also_options(only_sgd, "mu")[1] == ""
    assert len(tune_panel.also_options(only_sgd, "")[0]) == 4
    body, msg, data, disabled = tune_panel.compute_tune(state, "area", "16", "1", "mu")
    assert msg == "" and disabled is False
    rows = body[1].children.children[1:]  # the table in its scrolling box
    values = rows[2].children[1].children  # mine's row: its values (a Span if the default)
    assert len(rows) == 3 and "mu = " in getattr(values, "children", values)
    tuned = link.scene_from_dict(data)
    mine = tuned.runs[2]
    assert mine.code == text and set(mine.hyper) == {"lr", "mu"}
    assert (mine.hyper["lr"], mine.hyper["mu"]) != (0.01, 0.9)  # tuned away from the defaults
    cards = apply_scene.controls_of(data)["own_rules"]
    assert cards == [{"n": "mine", "u": text, "h": mine.hyper}]
    for key in ("mine", "torch:Adam"):
        x, y = phase.default_axes(common.scene_of(state).run(key).info())
        fig, msg, meta = phase.compute_phase(state, key, x, y, "6", "30", "final")
        assert msg == "" and fig is not no_update and meta["key"] == key, (key, msg)
        click = {"points": [{"x": meta["xs"][4], "y": meta["ys"][1]}]}
        data, msg = phase.cell_clicked(click, meta, state)
        run = link.scene_from_dict(data).runs[[r.optimizer for r in own.runs].index(key)]
        assert msg == "" and run.hyper[meta["x"]] == meta["xs"][4]
        assert run.hyper[meta["y"]] == meta["ys"][1]
        fig, msg, _, _ = convergence.compute_map(state, key, "6", "30", "outcome")
        assert msg == "" and fig is not no_update, (key, msg)
    assert common.keep_choice(state, "mine", phase._why_not)[1] == "mine"
    fig, msg, _ = sweep.compute_sweep(state, "1e-4", "0.1", "5", "30", "final")
    assert msg == "" and len(fig.data) >= 3


def test_a_scene_is_tuned_only_if_all_its_groups_fit_and_the_refusal_names_what_fits():
    """Runs with their own noise are tuned in groups; the cap is on the whole request,
    the default races and the moved starts included, and the most trials it names fit."""
    s = Scene.from_args("ravine", ["sgd"], steps=40)
    s = replace(s, runs=(*s.runs, RunSpec("momentum", noise=0.1, seed=3))).validate()
    per_trial, moved = 2 * 40, 2 * 2 * 40  # two runs of one start; the moved starts, 2 each
    short = Budget((12 + 1) * per_trial + moved - 1, 60.0)  # each group alone would fit
    with pytest.raises(BudgetError, match=r"2 runs × 12 trials.*\(at most 11 trials at these"):
        tune_scene(s, trials=12, budget=short)
    tunings, _ = tune_scene(s, trials=11, budget=short)
    assert [len(t.rules[0].trials_lr) for t in tunings] == [11, 11]


def test_a_result_of_another_race_says_so_until_the_race_is_back():
    """The sweep, the tuning and the phase diagram keep the race they were computed for:
    switching scenes (or moving the start) says so in their message line, a new lr does
    not (a replay at tuned values is the same race), and going back clears the note."""
    beale, himmelblau = scene("beale", ("sgd", "momentum")), scene("himmelblau", ("sgd",))
    _, msg, meta = sweep.compute_sweep(beale, "1e-4", "0.1", "5", "30", "loss")
    note = common.stale_message("this sweep", "Run sweep")
    assert msg == "" and common.stale_note(beale, meta["race"], "", note) is None
    assert common.stale_note(himmelblau, meta["race"], "", note) == note
    moved = {"scene": {**beale["scene"], "x": [0.5, 0.5]}}
    assert common.stale_note(moved, meta["race"], "", note) == note
    faster = {"scene": {**beale["scene"], "r": [dict(r) for r in beale["scene"]["r"]]}}
    faster["scene"]["r"][0]["h"] = {"lr": 0.5}
    assert common.stale_note(faster, meta["race"], "", note) is None
    assert common.stale_note(beale, meta["race"], note, note) == ""  # back: cleared
    assert common.stale_note(beale, meta["race"], "a refusal", note) is None  # kept
    *_, meta = phase.compute_phase(beale, "momentum", "lr:1e-3:0.1:log", "momentum:0:0.9",
                                   "4", "20", "final")  # fmt: skip
    assert meta["race"] == common.race_ident(beale["scene"])
    click = {"points": [{"x": meta["xs"][1], "y": meta["ys"][1]}]}
    assert phase.cell_clicked(click, meta, himmelblau) == (
        no_update,
        common.stale_message("this phase diagram", "Compute diagram"),
    )
