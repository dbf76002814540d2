"""The app's callbacks called as plain functions: the normal path and every bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from dash import no_update
from plotly.utils import PlotlyJSONEncoder

from optimizers import OPTIMIZERS, get_optimizer, run
from surfaces import SURFACES
from viz.scene import get_preset, validate
from viz.ui import callbacks, ids, layout, network_box
from viz.ui.callbacks import Settings, compute


def settings(**kw) -> Settings:
    base = {
        "surface": "quadratic",
        "optimizers": ["sgd", "adam"],
        "steps": "50",
        "start_x": "-1.5",
        "start_y": "1.2",
    }
    base.update(kw)
    return Settings(**base)


def good_state() -> dict:
    out = compute(settings())
    assert out.ok
    return out.state


# ----------------------------------------------------------------------------- normal path


def test_compute_runs_each_chosen_optimizer_exactly_as_run_does():
    out = compute(settings(hyper={"sgd": {"lr": "0.05"}}))
    assert out.ok and out.messages == {}
    runs = {r["key"]: r for r in out.traj["runs"]}
    assert list(runs) == ["sgd", "adam"]
    s = SURFACES["quadratic"]
    ref = run(get_optimizer("sgd", lr=0.05), s, (-1.5, 1.2), 50)
    np.testing.assert_allclose(runs["sgd"]["x"], ref.points[:, 0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(runs["sgd"]["y"], ref.points[:, 1], rtol=1e-6, atol=1e-12)
    assert out.traj["steps"] == 50
    assert runs["sgd"]["colour"] == OPTIMIZERS["sgd"].colour
    assert out.state["hyper"]["sgd"]["lr"] == 0.05


def test_compute_sends_trajectories_as_json_and_no_grid_after_the_first_time():
    first = compute(settings())
    assert first.contour is not None and first.surface3d is not None
    json.dumps(first.traj)  # plain JSON, nothing numpy
    again = compute(settings(steps="80"), first.state)
    assert again.ok
    assert again.contour is None and again.surface3d is None  # backgrounds stay
    other = compute(settings(surface="rosenbrock", start_x="-1", start_y="2"), again.state)
    assert other.contour is not None and other.surface3d is not None


def test_payload_is_small_compared_with_the_grid():
    out = compute(settings(steps="1000", optimizers=list(OPTIMIZERS)[:8]))
    traj_bytes = len(json.dumps(out.traj))
    contour = json.dumps(out.contour, cls=PlotlyJSONEncoder)
    grid_bytes = len(contour) + len(json.dumps(out.surface3d, cls=PlotlyJSONEncoder))
    assert traj_bytes < 8 * 1001 * 6 * 12 + 60_000  # ~6 numbers per point, ≤ 12 chars each
    assert contour not in json.dumps(out.traj)
    assert grid_bytes > 50_000


def test_bool_hyperparameters_reach_the_rule():
    out = compute(settings(optimizers=["adam"], hyper={"adam": {"bias_correction": False}}))
    assert out.ok and out.state["hyper"]["adam"]["bias_correction"] is False
    ref = run(get_optimizer("adam", bias_correction=False), SURFACES["quadratic"], (-1.5, 1.2), 50)
    np.testing.assert_allclose(out.traj["runs"][0]["x"], ref.points[:, 0], rtol=1e-6)


def test_start_outside_the_window_is_clamped_and_said():
    out = compute(settings(start_x="5", start_y="-9"))
    assert out.ok
    s = SURFACES["quadratic"]
    assert out.state["start"] == [s.x_range[1], s.y_range[0]]
    assert "outside the window" in out.messages[ids.START_MSG]
    assert out.traj["runs"][0]["x"][0] == s.x_range[1]


def test_diverging_run_is_cut_at_its_last_finite_point_and_marked():
    out = compute(settings(optimizers=["sgd", "adam"], hyper={"sgd": {"lr": "1.5"}}))
    assert out.ok
    sgd = out.traj["runs"][0]
    d = sgd["diverged_at"]
    assert d is not None and len(sgd["x"]) == d
    assert all(v is not None and np.isfinite(v) for v in sgd["x"])
    assert ids.RUN_MSG not in out.messages  # adam did not diverge
    statuses = [
        r["status"]
        for r in callbacks.outcome.results_rows(
            out.traj["runs"], SURFACES["quadratic"], 1e-3, ((-2, 2), (-2, 2))
        )
    ]
    assert statuses[0] == f"diverged at step {d}"


def test_every_optimizer_diverging_says_so_next_to_the_run_controls():
    out = compute(settings(optimizers=["sgd"], hyper={"sgd": {"lr": "5"}}))
    assert out.ok  # a valid experiment: drawn up to the last finite point
    assert "Every optimizer diverged" in out.messages[ids.RUN_MSG]
    assert "SGD at step" in out.messages[ids.RUN_MSG]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "lr must be > 0"),
        ("-1", "lr must be > 0"),
        ("1e308", "lr must be ≤"),
        ("abc", "must be a number"),
        ("", "enter a number"),
        (None, "enter a number"),
        ("nan", "finite"),
        ("inf", "finite"),
    ],
)
def test_bad_learning_rate_gives_a_message_on_that_control_and_no_data(value, words):
    out = compute(settings(hyper={"sgd": {"lr": value}}), good_state())
    assert not out.ok
    assert out.traj is None and out.state is None and out.loss is None
    msg = out.messages[("sgd", "lr")]
    assert words in msg and msg.startswith("SGD")


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ("0", "between 1 and"),
        ("-5", "between 1 and"),
        ("100000", "between 1 and"),
        ("2.5", "whole number"),
        ("ten", "must be a number"),
        ("", "enter a number"),
    ],
)
def test_bad_steps(steps, words):
    out = compute(settings(steps=steps))
    assert not out.ok and words in out.messages[ids.STEPS_MSG]


@pytest.mark.parametrize("selection", [[], None])
def test_empty_selection(selection):
    out = compute(settings(optimizers=selection))
    assert not out.ok
    assert out.messages[ids.OPTIMIZERS_MSG] == "choose at least one optimizer"


def test_unknown_optimizer_and_surface():
    assert (
        "unknown optimizer" in compute(settings(optimizers=["warp"])).messages[ids.OPTIMIZERS_MSG]
    )
    assert "unknown surface" in compute(settings(surface="moon")).messages[ids.RUN_MSG]


@pytest.mark.parametrize(("x", "y"), [("a", "1"), ("1", ""), ("nan", "0"), ("1e999", "0")])
def test_bad_start(x, y):
    out = compute(settings(start_x=x, start_y=y))
    assert not out.ok and out.messages[ids.START_MSG].startswith("start")


def test_other_bad_hyperparameters_use_the_registry_spec():
    out = compute(settings(optimizers=["momentum"], hyper={"momentum": {"momentum": "1"}}))
    assert not out.ok
    assert "momentum must be < 1" in out.messages[("momentum", "momentum")]


def test_several_bad_inputs_are_all_reported_at_once():
    out = compute(settings(steps="0", hyper={"sgd": {"lr": "-1"}}, optimizers=["sgd"]))
    assert {ids.STEPS_MSG, ("sgd", "lr")} <= set(out.messages)


def test_newton_on_a_surface_without_hessian_is_refused_by_name(monkeypatch):
    flat = dataclasses.replace(SURFACES["quadratic"], name="no-hessian", d2f=None)
    monkeypatch.setitem(SURFACES, "no-hessian", flat)
    out = compute(settings(surface="no-hessian", optimizers=["sgd", "newton"]))
    assert not out.ok and "Newton needs a Hessian" in out.messages[ids.OPTIMIZERS_MSG]


# ----------------------------------------------------------------------------- other callbacks


def test_tolerance_callback_keeps_table_on_bad_value():
    out = compute(settings())
    table, msg = callbacks.results_for_tolerance("-1", out.traj, out.state)
    assert table is no_update and "tolerance" in msg
    table, msg = callbacks.results_for_tolerance("0.5", out.traj, out.state)
    assert msg == "" and table is not no_update


def test_click_on_the_contour_sets_the_start():
    assert callbacks.start_from_click({"points": [{"x": 0.123456, "y": -1.5}]}) == (
        "0.1235",
        "-1.5",
    )
    assert callbacks.start_from_click(None) == (no_update, no_update)
    assert callbacks.start_from_click({"points": []}) == (no_update, no_update)
    # the network scene's runs start from its initialisation: a click sets nothing
    click = {"points": [{"x": 0.5, "y": 0.5}]}
    assert callbacks.start_from_click(click, "network") == (no_update, no_update)
    assert callbacks.start_from_click(click, "beale") == ("0.5", "0.5")


def test_every_preset_loads_and_runs_with_its_labels_and_colours():
    for name, sc in layout.presets().items():
        got = callbacks.apply_preset(name)
        surface, keys, steps, store, note = (
            got[k] for k in ("surface", "optimizers", "steps", "store", "note")
        )
        sx, sy = got["start_x"], got["start_y"]
        assert surface == sc.surface and int(steps) == sc.steps and note
        assert got["export_view"] == sc.view  # the saddle's Export made a contour GIF
        net = {k: got[k] for k in network_box.FIELDS if k in got}  # the network scene's
        out = compute(Settings(surface, keys, steps, sx, sy, preset=store, network=net))
        assert out.ok, (name, out.messages)
        labels = [r["label"] for r in out.traj["runs"]]
        assert labels == [r.resolved().label for r in sc.runs if r.optimizer in OPTIMIZERS]
        colours = [r["colour"] for r in out.traj["runs"]]
        assert colours == [r.resolved().colour for r in sc.runs if r.optimizer in OPTIMIZERS]
        # the preset's own hyperparameters are what ran
        for key, spec in zip(keys, [r for r in sc.runs if r.optimizer in OPTIMIZERS], strict=True):
            for h, v in spec.hyper.items():
                assert out.state["hyper"][key][h] == v


def test_picking_a_surface_by_hand_moves_the_start_and_leaves_the_preset():
    beale = {"preset": "radford-beale", "runs": {}}
    s = SURFACES["himmelblau"]
    assert callbacks.surface_changed("himmelblau", beale) == (
        layout.fmt(s.start[0]),
        layout.fmt(s.start[1]),
        "",
    )
    # the preset itself chose this surface: its own start stays
    assert callbacks.surface_changed("beale", beale) == (no_update,) * 3
    assert callbacks.surface_changed("nope", None) == (no_update,) * 3


def test_free_play_preset_changes_nothing():
    assert callbacks.apply_preset("") == {"note": "", "note_title": ""}


def components(tree):
    """Every component in a layout tree, depth first."""
    if isinstance(tree, list | tuple):
        for t in tree:
            yield from components(t)
    elif hasattr(tree, "to_plotly_json"):
        yield tree
        yield from components(getattr(tree, "children", None))


def test_hyper_panel_is_generated_from_the_specs():
    cards = callbacks.render_panel(["adam", "sgd"], {}, None, False)
    found = {json.dumps(c.id, sort_keys=True) for c in components(cards) if hasattr(c, "id")}
    for opt in ("adam", "sgd"):
        for spec in OPTIMIZERS[opt].hyper:
            want = ids.hyper_bool(opt, spec.name) if spec.is_bool else ids.hyper(opt, spec.name)
            assert json.dumps(want, sort_keys=True) in found
    assert callbacks.render_panel([], {}, None, False) == []


def test_hyper_panel_keeps_current_values_and_takes_a_preset_when_it_changes():
    state = {"hyper": {"sgd": {"lr": 0.3}}}
    preset = {"runs": {"sgd": {"hyper": {"lr": 0.002}, "label": "SGD", "colour": "#f00"}}}

    def lr_of(cards):
        return next(
            c.value for c in components(cards) if getattr(c, "id", None) == ids.hyper("sgd", "lr")
        )

    assert lr_of(callbacks.render_panel(["sgd"], preset, state, False)) == "0.3"
    assert lr_of(callbacks.render_panel(["sgd"], preset, state, True)) == "0.002"


def test_validate_module_messages():
    assert validate.steps("12") == 12
    assert validate.selection(["adam", "sgd", "adam"]) == ["adam", "sgd"]
    assert validate.rule_of("sgd@2") == "sgd"
    with pytest.raises(ValueError, match="steps must be between"):
        validate.steps(str(validate.MAX_STEPS + 1))
    with pytest.raises(ValueError, match="tolerance"):
        validate.tolerance("0")


# ----------------------------------------------------------------------------- recompute cost


def test_a_hyperparameter_change_reruns_only_that_optimizer_with_the_same_results(monkeypatch):
    callbacks.clear_payload_cache()
    first = compute(settings(optimizers=["sgd", "momentum", "adam"]))
    calls = []
    real = callbacks.run_spec
    monkeypatch.setattr(
        callbacks, "run_spec", lambda spec, *a: calls.append(spec.optimizer) or real(spec, *a)
    )
    again = compute(settings(optimizers=["sgd", "momentum", "adam"], hyper={"sgd": {"lr": "0.07"}}))
    assert calls == ["sgd"]  # the other two runs' values did not change
    old, new = {r["key"]: r for r in first.traj["runs"]}, {r["key"]: r for r in again.traj["runs"]}
    assert new["adam"] == old["adam"] and new["momentum"] == old["momentum"]
    ref = run(get_optimizer("sgd", lr=0.07), SURFACES["quadratic"], (-1.5, 1.2), 50)
    np.testing.assert_allclose(new["sgd"]["x"], ref.points[:, 0], rtol=1e-6, atol=1e-12)
    # a cached run is the uncached one: same JSON as a recompute from scratch
    callbacks.clear_payload_cache()
    calls.clear()
    cold = compute(settings(optimizers=["sgd", "momentum", "adam"], hyper={"sgd": {"lr": "0.07"}}))
    assert calls == ["sgd", "momentum", "adam"]
    assert json.dumps(cold.traj) == json.dumps(again.traj)
    assert json.dumps(cold.loss) == json.dumps(again.loss)


def test_the_run_cache_tells_every_value_apart_and_stays_bounded(monkeypatch):
    callbacks.clear_payload_cache()
    calls = []
    real = callbacks.run_spec
    monkeypatch.setattr(
        callbacks, "run_spec", lambda spec, *a: calls.append(spec.optimizer) or real(spec, *a)
    )
    variants = [
        {},
        {"steps": "51"},
        {"start_x": "-1.4"},
        {"surface": "rosenbrock", "start_x": "-1", "start_y": "2"},
        {"noise": {"sgd": {"sigma": "0.1", "seed": "1"}}},
        {"noise": {"sgd": {"sigma": "0.1", "seed": "2"}}},
        {"schedule": {"sgd": {"name": "exponential", "params": {}}}},
    ]
    outs = []
    for v in variants:
        o = compute(settings(optimizers=["sgd"], **v))
        assert o.ok, o.messages
        outs.append(json.dumps(o.traj["runs"]))
    assert calls == ["sgd"] * len(variants)  # every variant is a new run
    assert len(set(outs)) == len(variants)
    monkeypatch.setattr(callbacks, "PAYLOAD_CACHE_POINTS", 120)
    compute(settings(optimizers=["sgd", "adam"], steps="100"))
    assert callbacks._payload_points <= 120 or len(callbacks._payloads) == 1


def test_the_loss_plot_and_overlays_are_plain_json_dicts():
    out = compute(settings())
    for fig in (out.loss, out.traj["contour_top"], out.traj["surface_top"]):
        assert type(fig) is dict and set(fig) == {"data", "layout"}
        json.dumps(fig)


def test_a_mini_batch_size_keeps_the_surface_so_unchanged_runs_are_not_redone(monkeypatch):
    callbacks.clear_payload_cache()
    sc = layout.presets()["radford-noisy-moons"]
    net = dict(surface=sc.surface, optimizers=["sgd", "adam"], steps="20", batch_size="16")
    net.update(start_x=layout.fmt(sc.start[0]), start_y=layout.fmt(sc.start[1]))
    first = compute(settings(**net))
    assert first.ok and first.state["batch_size"] == 16, first.messages
    calls = []
    real = callbacks.run_spec
    monkeypatch.setattr(
        callbacks, "run_spec", lambda spec, *a: calls.append(spec.optimizer) or real(spec, *a)
    )
    again = compute(settings(**net, hyper={"adam": {"lr": "0.02"}}), first.state)
    assert again.ok and calls == ["adam"]
    assert again.traj["runs"][0] == first.traj["runs"][0]


# ----------------------------------------------------------------------------- budget


def test_a_scene_over_the_recompute_budget_is_refused_before_it_runs(monkeypatch):
    from optimizers import budget

    callbacks.clear_payload_cache()
    monkeypatch.setitem(budget.LIMITS, "recompute", budget.Limit(max_work=99, seconds=30.0))
    calls = []
    monkeypatch.setattr(callbacks, "run_spec", lambda *a: calls.append(1))
    out = compute(settings(steps="50"))  # 2 runs × 50 steps = 100 point-steps
    assert not out.ok and calls == []
    assert "100" in out.messages[ids.RUN_MSG] and "fewer steps" in out.messages[ids.RUN_MSG]


def test_a_recompute_past_its_deadline_stops_with_a_message(monkeypatch):
    from optimizers import budget

    callbacks.clear_payload_cache()
    monkeypatch.setitem(budget.LIMITS, "recompute", budget.Limit(max_work=10**9, seconds=1e-9))
    out = compute(settings(steps="5000", optimizers=["sgd"]))
    assert not out.ok and out.traj is None
    assert "stopped" in out.messages[ids.RUN_MSG]


def test_the_run_cache_is_bounded_in_entries_whatever_the_expressions():
    """Each entry keeps its surface alive (a user's own f(x, y) is heavy): many distinct
    functions must not grow the cache past its entry bound."""
    callbacks.clear_payload_cache()
    for i in range(callbacks.PAYLOAD_CACHE_ENTRIES // 2 + 20):
        s = settings(
            surface=validate.CUSTOM,
            optimizers=["sgd", "adam"],
            steps="3",
            expression=f"x**2 + {i + 1}*y**2",
            x_range="-2, 2",
            y_range="-2, 2",
        )
        assert compute(s).ok
    assert len(callbacks._payloads) == callbacks.PAYLOAD_CACHE_ENTRIES
    callbacks.clear_payload_cache()


def test_a_preset_answers_with_its_scene_and_the_recompute_after_it_sends_nothing_heavy():
    """Choosing a preset draws from the preset list's own answer (drawn_now): the runs are
    the preset's, and the recompute that the same choice starts finds that scene in the
    store, so its heavy outputs stay None (callbacks._compute then sends no_update)."""
    for name in ("radford-saddle", "himmelblau-basins", "radford-beale"):
        got = callbacks.apply_preset(name)
        answer = callbacks.drawn_now(callbacks.preset_settings(got), None)
        assert set(answer) == set(callbacks.DRAWN)
        runs = answer["traj"]["runs"]
        assert [r["label"] for r in runs] == [r.resolved().label for r in get_preset(name).runs]
        assert answer["contour"] is not None and answer["surface3d"] is not None
        later = compute(callbacks.preset_settings(got), answer["state"])
        assert later.ok and later.contour is None
        assert later.state["scene"] == answer["state"]["scene"]
    # free play, or anything invalid: nothing drawn, the recompute shows the messages
    assert callbacks.preset_settings(callbacks.apply_preset("")) is None
    assert all(v is no_update for v in callbacks.drawn_now(None, None).values())
    bad = dataclasses.replace(callbacks.preset_settings(got), steps="-3")
    assert all(v is no_update for v in callbacks.drawn_now(bad, None).values())


def test_a_surface_picked_by_hand_answers_with_the_scene_the_recompute_then_finds():
    """The surface list's answer: the page's cards on the new surface from its own start;
    page_settings reads the same grouping the recompute reads."""

    def item(value, **id_):
        return {"id": id_, "property": "value", "value": value}

    g = {
        "numbers": [item("0.003", opt="sgd", name="lr"), item("0.01", opt="adam", name="lr")],
        "bools": [item([], opt="adam", name="bias_correction")],
        "own": {k: {"value": ""} for k in ("expression", "x_range", "y_range")},
        "sched": [],
        "sched_params": [],
        "noise": [],
        "seed": [],
        "preset": {"value": {}},
    }
    x, y, preset = callbacks.surface_changed("himmelblau", {})
    assert preset == ""
    at = {"surface": "himmelblau", "optimizers": ["sgd", "adam"], "steps": "80"}
    at |= {"start_x": x, "start_y": y, "batch_size": "", "typed": []}
    s, _, hyper = callbacks.page_settings(g, at, "1e-3", applied=False)
    assert hyper["sgd"] == {"lr": "0.003"} and hyper["adam"]["bias_correction"] is False
    answer = callbacks.drawn_now(s, None)
    sgd = answer["traj"]["runs"][0]
    want = run(
        get_optimizer("sgd", lr=0.003), SURFACES["himmelblau"], SURFACES["himmelblau"].start, 80
    )
    assert sgd["x"][-1] == pytest.approx(want.points[-1, 0], rel=1e-5)  # sent to 6 digits
    assert answer["state"]["hyper"]["sgd"]["lr"] == 0.003
    assert answer["state"]["start"] == list(SURFACES["himmelblau"].start)
    later = compute(s, answer["state"])
    assert later.contour is None and later.state["scene"] == answer["state"]["scene"]
    # a scene just applied (applied=True): the cards on the page do not count
    s2, _, _ = callbacks.page_settings(g, at, "1e-3", applied=True)
    assert s2.hyper == {}


def test_only_a_surface_picked_by_hand_that_moves_the_start_defers_the_recompute():
    """The recompute skips a change of the surface alone exactly when the surface list will
    answer with the scene from a new start (and that start change reruns it)."""
    beale = {"preset": "radford-beale", "runs": {}}
    s = SURFACES["himmelblau"]
    here = (layout.fmt(s.start[0]), layout.fmt(s.start[1]))
    assert callbacks.start_moved_by("himmelblau", beale, None, ("9", "9")) == here
    assert callbacks.start_moved_by("himmelblau", beale, None, here) is None  # no move
    assert callbacks.start_moved_by("beale", beale, None, ("9", "9")) is None  # the preset's
    assert callbacks.start_moved_by(validate.CUSTOM, beale, None, ("9", "9")) is None
    link = {"s": "himmelblau", "p": ""}
    assert callbacks.start_moved_by("himmelblau", beale, link, ("9", "9")) is None


# ----------------------------------------------------------------------------- preset note


def _preset_settings(name: str, **change) -> Settings:
    got = callbacks.apply_preset(name)
    s = Settings(
        got["surface"], got["optimizers"], got["steps"], got["start_x"], got["start_y"],
        preset=got["store"],
    )  # fmt: skip
    return dataclasses.replace(s, **change)


@pytest.mark.parametrize("name", ["radford-beale", "lr-too-high", "himmelblau-basins"])
def test_a_preset_as_loaded_is_not_marked_changed(name):
    out = compute(_preset_settings(name))
    assert out.ok and out.preset_changed == ""


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"steps": "50"}, "steps"),
        ({"optimizers": ["sgd", "adam"]}, "optimizers"),
        ({"hyper": {"momentum": {"lr": "0.01"}}}, "hyperparameters"),
        ({"start_x": "0.5"}, "start"),
    ],
)
def test_a_scene_changed_from_its_preset_says_so_before_the_note(change, said):
    """The note describes the preset's race: once the race is another, a badge says what
    changed (the note of radford-beale told of Momentum and NAG after they were removed)."""
    out = compute(_preset_settings("radford-beale", **change))
    assert out.ok, out.messages
    assert out.preset_changed == f"Changed: {said} · "


def test_the_pages_recompute_counts_a_library_rules_steps_as_the_scene_does(monkeypatch):
    """The page and Scene.work agree: a torch rule's step counts ~2,000 built-in ones."""
    pytest.importorskip("torch")
    from optimizers import budget

    callbacks.clear_payload_cache()
    s = dataclasses.replace(settings(steps="50"), optimizers=["sgd", "torch:SGD"])
    per_step = 1 + OPTIMIZERS["torch:SGD"].step_work(1)
    limit = budget.Limit(max_work=50 * per_step - 1, seconds=30.0)
    monkeypatch.setitem(budget.LIMITS, "recompute", limit)
    out = compute(s)
    assert not out.ok and f"{50 * per_step:,} steps" in out.messages[ids.RUN_MSG]
    monkeypatch.setitem(budget.LIMITS, "recompute", budget.Limit(50 * per_step, 30.0))
    assert compute(s).ok


@pytest.mark.parametrize(
    ("hyper", "said"),
    [
        ({"nesterov": True, "momentum": "0"}, "Nesterov momentum requires a momentum"),
        ({"nesterov": True, "momentum": "0.9", "dampening": "0.5"}, "zero dampening"),
    ],
)
def test_a_library_rules_refusal_is_its_message_not_a_server_error(hyper, said):
    """Only over-budget runs had been caught: torch's own refusal became "Something went
    wrong on the server … try again" (which fails the same way) and a traceback in the log."""
    pytest.importorskip("torch")
    s = dataclasses.replace(
        settings(steps="20"), optimizers=["sgd", "torch:SGD"], hyper={"torch:SGD": hyper}
    )
    out = compute(s)
    assert not out.ok and out.traj is None
    assert out.messages[ids.RUN_MSG].startswith("torch:SGD cannot be built here: ")
    assert said in out.messages[ids.RUN_MSG]
