"""The app's "Write your own…" editor, its callbacks called as plain functions."""

from __future__ import annotations

import numpy as np
from dash import no_update

from optimizers import OPTIMIZERS, from_rule, run
from viz.scene import link
from viz.ui import callbacks as cb
from viz.ui import layout
from viz.ui import rule_editor as ed

SIGNUM = "W = W - lr * sign(g)"


def drawn(name="mine", text=ed.EXAMPLE, store=None, picked=None):
    return ed.edit(ed.RULE_DRAW, name, text, store or [], picked or ["sgd"])


def test_the_picker_offers_write_your_own_after_the_notes_rules():
    """After the built-in rules and before the libraries' (a hundred of them, searchable)."""
    opts = layout.optimizer_options()
    i = [o["value"] for o in opts].index(ed.OWN)
    assert opts[i]["label"] == "Write your own…"
    assert [o["value"] for o in opts[:i]] == list(OPTIMIZERS)
    assert all(":" in o["value"] for o in opts[i + 1 :])


def test_draw_it_adds_the_rule_and_picks_write_your_own():
    store, msg, picked = drawn()
    assert msg == "" and picked == ["sgd", ed.OWN]
    assert store == [{"n": "mine", "u": ed.EXAMPLE, "h": {}}]
    # the same name again replaces it; another name adds one
    store2, _, _ = drawn(text=SIGNUM, store=store, picked=picked)
    assert store2 == [{"n": "mine", "u": SIGNUM, "h": {}}]
    store3, _, _ = drawn("other", SIGNUM, store2, picked)
    assert [e["n"] for e in store3] == ["mine", "other"]
    kept, msg, _ = ed.edit(ed.RULE_REMOVE, "mine", "", store3, picked)
    assert [e["n"] for e in kept] == ["other"] and msg == ""


def test_a_refused_text_changes_nothing_but_the_message():
    store, _, picked = drawn()
    for name, text, words in [
        ("mine", "W = W.__class__", "attribute access (a.b) is not allowed in a rule (line 1"),
        ("mine", "import os", "an import is not allowed"),
        ("mine", "W = W ** 10**10**10", "is too large"),
        ("adam", SIGNUM, "built-in rule's name"),
        ("bad name!", SIGNUM, "a rule's name"),
        ("mine", None, "must be text"),
    ]:
        new, msg, pick = ed.edit(ed.RULE_DRAW, name, text, store, picked)
        assert new is no_update and pick is no_update
        assert words in msg and "\n" not in msg


def test_compute_races_the_typed_rule_with_its_own_colour_and_name():
    settings = cb.initial_settings()
    store, _, picked = drawn("signum", SIGNUM, picked=list(settings.optimizers))
    settings.optimizers, settings.typed = picked, store
    out = cb.compute(settings)
    assert out.ok, out.messages
    mine = out.traj["runs"][-1]
    assert mine["label"] == "signum" and mine["key"] == "own:signum"
    builtin_colours = {r["colour"] for r in out.traj["runs"][:-1]}
    assert mine["colour"] not in builtin_colours
    scene = link.scene_from_dict(out.state["scene"])
    want = run(from_rule(SIGNUM), scene.get_surface(), scene.start, scene.steps)
    xs = np.array([np.nan if v is None else v for v in mine["x"]])
    np.testing.assert_allclose(xs, want.points[: len(xs), 0], rtol=0, atol=1e-9)
    # in the legend and the results table
    assert "signum" in repr(out.legend) and "signum" in repr(out.results)
    # and in the scene the share link and the export read
    assert out.state["scene"]["r"][-1]["u"] == SIGNUM


def test_without_write_your_own_picked_the_typed_rules_rest():
    settings = cb.initial_settings()
    store, _, _ = drawn("signum", SIGNUM)
    settings.typed = store
    out = cb.compute(settings)
    assert out.ok and all(r["label"] != "signum" for r in out.traj["runs"])


def test_only_typed_rules_is_a_scene_and_a_tampered_store_is_a_message():
    settings = cb.initial_settings()
    settings.optimizers, settings.typed = [ed.OWN], [{"n": "s", "u": SIGNUM, "h": {}}]
    out = cb.compute(settings)
    assert out.ok and [r["label"] for r in out.traj["runs"]] == ["s"]
    settings.typed = [{"n": "s", "u": "W = W.__class__", "h": {}}]
    out = cb.compute(settings)
    assert not out.ok and "your rule 's': attribute access" in out.messages[cb.ids.OPTIMIZERS_MSG]
    settings.typed = "garbage"
    out = cb.compute(settings)
    assert not out.ok and cb.ids.OPTIMIZERS_MSG in out.messages  # nothing left to run


def test_a_share_link_with_a_typed_rule_fills_the_editor_and_the_picker():
    settings = cb.initial_settings()
    store, _, picked = drawn("signum", SIGNUM, picked=list(settings.optimizers))
    settings.optimizers, settings.typed = picked, store
    out = cb.compute(settings)
    scene = link.scene_from_link(link.encode(out.state["scene"]))
    controls = cb.scene_controls(scene)
    assert controls["optimizers"][-1] == ed.OWN and "signum" not in controls["optimizers"]
    assert controls["own_rules"] == [{"n": "signum", "u": SIGNUM, "h": {}}]
    cards = ed.cards(controls["own_rules"])
    assert len(cards) == 1 and "signum" in repr(cards[0]) and r"\operatorname{sign}" in repr(cards)
    # a preset clears them
    assert cb.apply_preset("radford-saddle")["own_rules"] == []


def test_the_map_and_the_sweep_run_a_typed_rule():
    from viz.ui.panels import convergence, sweep

    settings = cb.initial_settings()
    store, _, picked = drawn("signum", SIGNUM, picked=["sgd"])
    settings.optimizers, settings.typed = picked, store
    out = cb.compute(settings)
    assert out.ok
    fig, msg, summary, meta = convergence.compute_map(out.state, "signum", "10", "", "outcome")
    assert "signum" in repr(summary)
    assert msg == "" and fig is not no_update and meta["key"] == "signum"
    fig, msg, _ = sweep.compute_sweep(out.state, "1e-3", "1e-1", "5", "", "final loss")
    names = {t.name for t in fig.data if t.name}
    assert msg == "" and "signum" in names and "SGD" in names


def test_two_typed_rules_are_drawn_in_two_colours_and_their_cards_say_the_same():
    store, _, picked = drawn("r0", SIGNUM)
    store, _, picked = drawn("r2", SIGNUM, store, picked)  # same colour by name as r0
    _, specs = ed.split(picked, store)
    assert specs[0].colour != specs[1].colour
    cards = repr(ed.cards(store))
    assert specs[0].colour in cards and specs[1].colour in cards


def test_the_cards_controls_set_the_typed_rules_hyperparameters():
    settings = cb.initial_settings()
    store, _, picked = drawn("mine", ed.EXAMPLE, picked=["sgd"])
    settings.optimizers, settings.typed = picked, store
    settings.hyper = {"own:mine": {"mu": "0.5", "lr": "0.002", "gone": "1"}}
    out = cb.compute(settings)
    assert out.ok, out.messages
    scene = link.scene_from_dict(out.state["scene"])
    assert scene.runs[-1].hyper == {"mu": 0.5, "lr": 0.002}
    want = run(from_rule(ed.EXAMPLE, mu=0.5, lr=0.002), scene.get_surface(), scene.start, 5)
    xs = out.traj["runs"][-1]["x"][:6]
    np.testing.assert_allclose(xs, want.points[:, 0], atol=1e-6)  # the payload keeps 7 digits
    # a link keeps them; the cards show them in their boxes
    controls = cb.scene_controls(scene)
    assert controls["own_rules"][0]["h"] == {"mu": 0.5, "lr": 0.002}
    cards = repr(ed.cards(controls["own_rules"], layout.hyper_control))
    assert "'opt': 'own:mine'" in cards and "'0.5'" in cards and "'0.002'" in cards
    # a bad value: its message by its box, nothing drawn
    settings.hyper = {"own:mine": {"mu": "x"}}
    out = cb.compute(settings)
    assert not out.ok and "mu must be a number" in out.messages[("own:mine", "mu")]
