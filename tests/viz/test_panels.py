"""The analysis panels' callbacks as plain functions (viz/panels/): no browser, no server."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from dash import no_update
from PIL import Image

from optimizers import budget, get_optimizer, run
from optimizers import maps as omaps
from surfaces import SURFACES
from viz.gif import raster
from viz.scene import validate
from viz.ui import callbacks, ids
from viz.ui.callbacks import Settings, compute
from viz.ui.panels import accuracy, convergence, network, sweep


def scene(surface="quadratic", optimizers=("sgd",), steps="120", start=None, **kw):
    s = SURFACES[surface]
    x, y = start if start is not None else s.start
    out = compute(Settings(surface, list(optimizers), steps, str(x), str(y), **kw))
    assert out.ok, out.messages
    return out.state, out.traj


def with_scene(state: dict, **changes) -> dict:
    """The state store with parts of its scene changed (as a tampered request would)."""
    return {**state, "scene": {**state["scene"], **changes}}


def pixels(fig) -> np.ndarray:
    """The map's picture (the Image trace's PNG) as RGBA, row i = the map's row i."""
    src = fig.data[0].source
    assert fig.data[0].type == "image" and src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))


def centres(fig):
    """The starts (xs, ys) the Image trace places its pixel centres at."""
    t, (h, w) = fig.data[0], pixels(fig).shape[:2]
    return t.x0 + t.dx * np.arange(w), t.y0 + t.dy * np.arange(h)


def colours_of(cmap) -> dict:
    """{outcome: RGBA} of the map's categories."""
    return {v: (*raster.rgb(c), 255) for v, _, c in convergence._categories(cmap)}


# ----------------------------------------------------------------------------- convergence map


@pytest.mark.filterwarnings("error")
def test_map_image_is_the_outcome_of_every_start_himmelblau_four_minima():
    state, _traj = scene("himmelblau", ["sgd"], "300", hyper={"sgd": {"lr": "0.01"}})
    fig, msg, _, meta = convergence.compute_map(state, "sgd", "24", "", "outcome")
    assert msg == ""
    want = omaps.convergence_map("sgd", {"lr": 0.01}, "himmelblau", n=24, steps=300, tol=0.1)
    colour = colours_of(want)
    expect = np.array([[colour[v] for v in row] for row in want.outcome], dtype=np.uint8)
    np.testing.assert_array_equal(pixels(fig), expect)
    assert len(np.unique(want.outcome[want.outcome >= 0])) == 4  # every basin is drawn
    xs, ys = centres(fig)
    np.testing.assert_allclose(xs, np.linspace(-5, 5, 24), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ys, np.linspace(-5, 5, 24), rtol=0, atol=1e-12)
    assert meta["surface"] == "himmelblau" and meta["key"] == "sgd"


@pytest.mark.filterwarnings("error")  # divergence is an outcome, not a RuntimeWarning
def test_map_too_large_a_rate_diverges_everywhere_and_is_drawn_and_counted():
    state, _traj = scene("quadratic", ["sgd"], "100", hyper={"sgd": {"lr": "5"}})
    fig, _, summary, _ = convergence.compute_map(state, "sgd", "10", "", "outcome")
    dark = (*raster.rgb(convergence.DIVERGED_COLOUR), 255)
    assert (pixels(fig) == dark).all()
    assert "diverged: 100 (100.0 %)" in str(summary)
    for colour_by in ("steps", "loss"):  # dark over the continuous colourings too
        fig2, *_ = convergence.compute_map(state, "sgd", "10", "", colour_by)
        assert (pixels(fig2) == dark).all()


def test_map_steps_colouring_is_steps_to_converge():
    state, _traj = scene("quadratic", ["sgd"], "200", hyper={"sgd": {"lr": "0.05"}})
    fig, *_ = convergence.compute_map(state, "sgd", "8", "36", "steps")
    window = state["window"]
    tol = convergence.TOL_FRACTION * max(w[1] - w[0] for w in window)
    want = omaps.convergence_map("sgd", {"lr": 0.05}, "quadratic", n=8, steps=36, tol=tol)
    got = pixels(fig)
    steps = want.steps_to_converge
    assert (steps >= 0).any() and (steps < 0).any()  # both kinds are drawn
    assert (got[steps < 0, 3] == 0).all()  # never converged: transparent (the grey shows)
    shades = np.rint(raster.sample_scale("Viridis", np.round(steps / 36 * 255) / 255))
    np.testing.assert_array_equal(got[steps >= 0, :3], shades[steps >= 0])
    bar = next(t for t in fig.data if t.name == "colour bar").marker
    assert (bar.cmin, bar.cmax, bar.colorbar.title.text) == (0, 36, "steps")


def test_a_pixel_click_starts_the_scene_inside_that_pixel():
    state, _traj = scene("beale", ["sgd"], "50")
    fig, *_ = convergence.compute_map(state, "sgd", "37", "20", "outcome")
    xs, ys = centres(fig)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    for i, j in ((0, 0), (36, 36), (5, 30), (18, 18)):
        click = {"points": [{"x": xs[j], "y": ys[i], "curveNumber": 0}]}
        sx, sy = convergence.start_from_pixel(click)
        state2, traj2 = scene("beale", ["sgd"], "50", start=(sx, sy))
        (px, py) = state2["start"]
        assert abs(px - xs[j]) <= dx / 2 and abs(py - ys[i]) <= dy / 2
        assert traj2["runs"][0]["x"][0] == pytest.approx(px, abs=1e-6)
    assert convergence.start_from_pixel(None) == (no_update, no_update)
    assert convergence.start_from_pixel({"points": [{"x": "nan", "y": 1}]}) == (no_update,) * 2


@pytest.mark.parametrize(
    ("n", "steps", "text"),
    [
        ("500", "", "grid n must be between 2 and 200"),
        ("1", "", "grid n must be between 2 and 200"),
        ("ten", "", "grid n must be a number"),
        ("20.5", "", "grid n must be a whole number"),
        ("20", "0", "steps must be between 1 and 2,000"),
        ("20", "2001", "steps must be between 1 and 2,000"),
        ("20", "1e9", "steps must be between 1 and 2,000"),
    ],
)
def test_map_bad_grid_or_steps_gives_a_message_and_changes_nothing(n, steps, text):
    state, _traj = scene()
    fig, msg, summary, meta = convergence.compute_map(state, "sgd", n, steps, "outcome")
    assert text in msg
    assert fig is no_update and summary is no_update and meta is no_update


def test_map_needs_a_scene_and_one_of_its_optimizers():
    assert convergence.compute_map(None, "sgd", "10", "", "outcome")[1]
    state, _traj = scene()
    assert "scene's optimizers" in convergence.compute_map(state, "adam", "10", "", "x")[1]
    tampered = with_scene(state, s="nope")
    assert convergence.compute_map(tampered, "sgd", "10", "", "outcome")[0] is no_update


def test_map_start_marker_follows_the_scene_with_a_patch():
    state, _traj = scene()
    _, _, _, meta = convergence.compute_map(state, "sgd", "6", "", "outcome")
    patch, msg = convergence.follow_start(with_scene(state, x=[0.5, -0.25]), meta)
    ops = patch.to_plotly_json()["operations"]
    assert [o["params"]["value"] for o in ops] == [[0.5], [-0.25]]
    assert msg == ""
    _, msg = convergence.follow_start(with_scene(state, s="beale", x=[1, 1]), meta)
    assert "Compute map" in msg


# ----------------------------------------------------------------------------- lr sweep


@pytest.mark.filterwarnings("error")
def test_sweep_one_curve_per_optimizer_equal_to_single_runs():
    state, traj = scene("rosenbrock", ["sgd", "momentum", "adam"], "150")
    fig, msg, _ = sweep.compute_sweep(state, "1e-4", "0.5", "9", "", "loss")
    assert msg == ""
    curves = [t for t in fig.data if t.meta["role"] == "sweep"]
    assert [t.name for t in curves] == [r["label"] for r in traj["runs"]]
    assert [t.line.color for t in curves] == [r["colour"] for r in traj["runs"]]
    lrs = np.geomspace(1e-4, 0.5, 9)
    surface = SURFACES["rosenbrock"]
    for t, key in zip(curves, ["sgd", "momentum", "adam"], strict=True):
        np.testing.assert_allclose(t.x, lrs, rtol=1e-12)
        h = {k: v for k, v in state["hyper"][key].items() if k != "lr"}
        for k in (0, 4, 8):
            one = run(get_optimizer(key, lr=lrs[k], **h), surface, state["start"], 150)
            if one.diverged_at is not None:
                assert t.y[k] is None
            else:
                want = float(one.losses[-1]) - surface.min_value
                assert t.y[k] == pytest.approx(want, rel=1e-9, abs=1e-12)
    diverged = [t for t in fig.data if t.meta["role"] == "diverged"]
    assert diverged, "SGD at α = 0.5 on Rosenbrock diverges: drawn as ✕"
    assert "diverged" in fig.layout.annotations[0].text


def test_sweep_steps_metric_and_bad_controls():
    state, _traj = scene("quadratic", ["sgd", "adam"], "100")
    fig, _, _ = sweep.compute_sweep(state, "1e-3", "0.3", "5", "80", "steps")
    assert fig.layout.yaxis.title.text == "steps to converge"
    assert all(v is None or 0 <= v <= 80 for t in fig.data for v in t.y)
    for args, text in (
        (("0", "1", "5", ""), "0 < lowest < highest"),
        (("1", "0.1", "5", ""), "0 < lowest < highest"),
        (("x", "1", "5", ""), "lowest α must be a number"),
        (("1e-3", "1", "1", ""), "rates must be between 2 and 200"),
        (("1e-3", "1", "5", "5000"), "steps must be between 1 and 2,000"),
        (("1e-3", "1e7", "5", ""), "lr"),  # beyond the rule's own limit for α
    ):
        fig, msg, _ = sweep.compute_sweep(state, *args, "loss")
        assert text in msg and fig is no_update


# ----------------------------------------------------------------------------- network


def test_network_panel_accuracy_per_step_and_boundary_frames():
    state, traj = scene("noisy_moons", ["sgd", "adagrad"], "60", batch_size="32")
    assert state["batch_size"] == 32
    curves, boundary, msg = network.panel(state, traj, "adagrad")
    assert msg == ""
    surface = SURFACES["noisy_moons"]
    acc = [t for t in curves.data if t.meta["role"] == "accuracy"]
    assert [t.meta["run"] for t in acc] == ["sgd", "adagrad"]
    for t, r in zip(acc, traj["runs"], strict=True):
        pts = np.stack([r["x"], r["y"]], axis=-1)
        np.testing.assert_allclose(np.array(t.y, dtype=float), surface.accuracy(pts), atol=1e-12)
        assert len(t.y) == 61
    meta = boundary.layout.meta
    steps = meta["steps"]
    assert steps[0] == 0 and steps[-1] == 60 and len(steps) == min(network.MAX_FRAMES, 61)
    assert np.array(meta["z"]).shape == (len(steps), network.GRID, network.GRID)
    r = traj["runs"][1]
    k = steps[len(steps) // 2]
    _, _, prob = surface.decision_boundary((r["x"][k], r["y"][k]), grid=network.GRID)
    np.testing.assert_allclose(meta["z"][len(steps) // 2], prob, atol=5e-4)  # 3 decimals
    assert "Adagrad" in boundary.layout.annotations[0].text


def test_batch_size_changes_the_runs_and_a_bad_one_is_a_message():
    full, tf = scene("noisy_moons", ["sgd"], "30")
    mini, tm = scene("noisy_moons", ["sgd"], "30", batch_size="16")
    assert "batch_size" not in full and mini["batch_size"] == 16
    assert tf["runs"][0]["x"][5] != tm["runs"][0]["x"][5]
    s = SURFACES["noisy_moons"]
    for bad in ("0", "-3", "2.5", "lots"):
        out = compute(Settings("noisy_moons", ["sgd"], "30", *map(str, s.start), batch_size=bad))
        assert not out.ok and "batch size" in out.messages[ids.NET_BATCH_MSG]
    quad, _ = scene("quadratic", ["sgd"], "10", batch_size="16")  # no mini-batches there
    assert "batch_size" not in quad


def test_network_panel_on_another_surface_says_where_to_look():
    state, traj = scene()
    curves, _, _ = network.panel(state, traj, "sgd")
    assert network.NOT_NETWORK in curves.layout.annotations[0].text.replace("<br>", " ")


@pytest.mark.parametrize(
    "change",
    [
        {"r": "x"},
        {"r": [{"o": "sgd", "h": 3}]},
        {"w": "bad"},
        {"w": [[0, 1], [2]]},
        {"x": None},
        {"x": [1, "a"]},
        {"st": "300;"},
        {"r": "sgd"},
        {"s": 7},
        {"b": "32"},
        {"r": [{"o": "sgd", "sc": ["cosine", {"nope": 1}]}]},
        {"scene": None},
    ],
)
def test_a_tampered_scene_state_is_a_message_in_every_panel(change):
    state, traj = scene()
    bad = {**state, "scene": None} if "scene" in change else with_scene(state, **change)
    fig, msg, *_ = convergence.compute_map(bad, "sgd", "6", "", "outcome")
    assert fig is no_update and msg
    fig, msg, _ = sweep.compute_sweep(bad, "1e-3", "1", "4", "", "loss")
    assert fig is no_update and msg
    curves, _, msg = network.panel(bad, traj, "sgd")
    assert curves is no_update and msg
    assert convergence.choices(bad) == ([], None)


@pytest.mark.parametrize("traj", [None, {}, {"runs": "x"}, {"runs": [{"x": [1], "y": []}]}])
def test_network_panel_with_a_tampered_trajectories_store(traj):
    state, _ = scene("noisy_moons", ["sgd"], "10")
    assert network.panel(state, traj, "sgd") == (no_update, no_update, "No trajectories yet.")


def test_more_runs_or_steps_than_a_scene_draws_are_not_computed_on():
    """13,000 one-point runs sent back as the trajectories store cost the network panel
    30 s of CPU (the accuracy strip 4 s, the results table 2 s); a run with an empty
    colour reached Plotly. A scene draws at most MAX_RUNS runs of MAX_STEPS + 1 points."""
    state, traj = scene("noisy_moons", ["sgd"], "10")
    (run,) = traj["runs"]
    assert network.panel(state, traj, "sgd")[0] is not no_update
    many = {**traj, "runs": [{**run, "key": f"k{i}"} for i in range(validate.MAX_RUNS + 1)]}
    long = {**traj, "runs": [{**run, **{k: [0.0] * (validate.MAX_STEPS + 2) for k in "xy"}}]}
    blank = {**traj, "runs": [{**run, "colour": ""}]}
    for bad in (many, long, blank):
        assert network.panel(state, bad, "sgd") == (no_update, no_update, "No trajectories yet.")
        assert accuracy.strip(state, bad)[1] == accuracy.HIDDEN
    longer = {k: [0.0] * (validate.MAX_STEPS + 2) for k in ("x", "y", "loss")}
    for bad in (many, {**traj, "runs": [{**run, **longer}]}):
        with pytest.raises(ValueError, match="damaged"):
            validate.drawn_runs(bad)
    assert callbacks.results_for_tolerance("0.01", many, state)[0] is no_update


def test_a_change_of_colouring_reuses_the_map_a_change_of_scene_does_not(monkeypatch):
    calls = []
    real = omaps.convergence_map

    def counted(*args, **kwargs):
        calls.append(kwargs["stop_early"])
        return real(*args, **kwargs)

    monkeypatch.setattr(omaps, "convergence_map", counted)
    state, _traj = scene("himmelblau", ["sgd"], "80", hyper={"sgd": {"lr": "0.011"}})
    first = convergence.compute_map(state, "sgd", "12", "", "outcome")
    again = convergence.compute_map(state, "sgd", "12", "", "steps")
    assert calls == [True]  # the steps colouring came from the same map
    assert "12×12" in str(again[2]) and first[3] == again[3]
    convergence.compute_map(state, "sgd", "12", "", "loss")
    assert calls == [True, False]  # the final loss needs every step: run in full
    convergence.compute_map(state, "sgd", "12", "", "outcome")
    assert calls == [True, False]  # and the full map serves every colouring
    state2, _traj2 = scene("himmelblau", ["sgd"], "80", hyper={"sgd": {"lr": "0.012"}})
    convergence.compute_map(state2, "sgd", "12", "", "outcome")
    noisy = with_scene(state, r=[{**state["scene"]["r"][0], "n": 0.5, "sd": 1}])
    convergence.compute_map(noisy, "sgd", "12", "", "outcome")
    assert calls == [True, False, True, True]  # another rate, then noise: new maps


def test_the_map_honours_the_scenes_gradient_noise():
    state, _traj = scene(
        "himmelblau",
        ["sgd"],
        "120",
        hyper={"sgd": {"lr": "0.01"}},
        noise={"sgd": {"sigma": "3", "seed": "5"}},
    )
    assert state["noise"] == {"sgd": {"sigma": 3.0, "seed": 5}}
    fig, msg, _, _ = convergence.compute_map(state, "sgd", "9", "", "steps")
    assert msg == ""
    window = state["window"]
    tol = convergence.TOL_FRACTION * max(w[1] - w[0] for w in window)
    want = omaps.convergence_map(
        "sgd", {"lr": 0.01}, "himmelblau", n=9, steps=120, tol=tol, noise=3.0, seed=5
    )
    quiet = omaps.convergence_map("sgd", {"lr": 0.01}, "himmelblau", n=9, steps=120, tol=tol)
    assert not np.array_equal(want.steps_to_converge, quiet.steps_to_converge)
    got = pixels(fig)
    assert ((got[..., 3] == 0) == (want.steps_to_converge < 0)).all()
    # the trajectory drawn from a pixel's start is that pixel's run: same end, same verdict
    i, j = 4, 6
    sx, sy = want.start_at(i, j)
    _, traj3 = scene(
        "himmelblau",
        ["sgd"],
        "120",
        start=(sx, sy),
        hyper={"sgd": {"lr": "0.01"}},
        noise={"sgd": {"sigma": "3", "seed": "5"}},
    )
    assert traj3["runs"][0]["loss"][-1] == pytest.approx(float(want.final_loss[i, j]), rel=1e-6)
    tampered = with_scene(state, r=[{**state["scene"]["r"][0], "n": "lots", "sd": 1}])
    fig, msg, *_ = convergence.compute_map(tampered, "sgd", "9", "", "outcome")
    assert fig is no_update and "noise" in msg


# ----------------------------------------------------------------------------- budgets

# A nested user function accepted by the app whose Newton step (gradient and Hessian) on
# a 200×200 map costs ~0.15 s of CPU: at 2,000 steps the map would run for minutes.
COSTLY = "sin(x*y)**7*cos(x+y)**7*exp(x*y)**3*tanh(x-y)**5*atan(x*y)**6"
MARGIN = 1.5  # s past the deadline: one step of the batch, on a busy 2-core machine


def custom_scene(text, optimizers=("newton",), steps="100"):
    out = compute(
        Settings(
            validate.CUSTOM,
            list(optimizers),
            steps,
            "0.5",
            "0.5",
            expression=text,
            x_range="-2, 2",
            y_range="-2, 2",
        )
    )
    assert out.ok, out.messages
    return out.state, out.traj


def tripwire(*args, **kwargs):
    raise AssertionError("the request ran: it should have been refused before")


def test_the_audits_480_key_sweep_is_refused_before_it_runs(monkeypatch):
    # The request of the audit, as the callback receives it: 480 copies of one key, 200
    # rates, 2,000 steps (it burned 75 s of CPU); and 480 distinct keys of one rule.
    monkeypatch.setattr(omaps, "lr_sweep", tripwire)
    state, _traj = scene("rosenbrock", ["adam"], "100")
    tampered = with_scene(state, r=state["scene"]["r"] * 480)
    fig, msg, _ = sweep.compute_sweep(tampered, "1e-4", "1", "200", "2000", "loss")
    assert fig is no_update
    assert f"choose at most {validate.MAX_RUNS} optimizers" in msg


def test_a_sweep_draws_one_curve_per_run_of_the_scene():
    """A scene's runs are its runs: a rule that appears twice (a preset's α = 0.02 and
    α = 0.1 SGD) is swept twice, each curve under its own label."""
    state, _traj = scene("rosenbrock", ["sgd", "adam"], "100")
    twice = with_scene(state, r=state["scene"]["r"] * 2)
    fig, msg, _ = sweep.compute_sweep(twice, "1e-3", "0.1", "5", "", "loss")
    assert msg == ""
    rules = [t.meta["rule"] for t in fig.data if t.meta["role"] == "sweep"]
    assert rules == ["sgd", "adam", "sgd", "adam"]


def test_a_sweep_over_the_work_cap_is_refused_with_the_budgets_message(monkeypatch):
    monkeypatch.setitem(budget.LIMITS, "sweep", budget.Limit(max_work=10_000, seconds=10))
    state, _traj = scene("rosenbrock", ["sgd", "adam"], "100")
    fig, msg, _ = sweep.compute_sweep(state, "1e-4", "1", "50", "500", "loss")
    assert fig is no_update
    assert msg == (
        "the sweep (2 rules × 50 rates × 500 steps) asks for 50,000 steps; "
        "the limit is 10,000: use fewer rates, steps or optimizers"
    )


def test_a_sweep_past_its_deadline_stops_with_a_message(monkeypatch):
    # 6 rules × 200 rates × 2,000 steps at rates where no run diverges (so none stops
    # early): ~2 s of CPU here, several times the shortened deadline.
    seconds = 0.3
    monkeypatch.setitem(budget.LIMITS, "sweep", budget.Limit(max_work=10**9, seconds=seconds))
    rules = ["sgd", "momentum", "adam", "rmsprop", "nadam", "amsgrad"]
    state, _traj = custom_scene(COSTLY, rules)
    t0 = time.monotonic()
    fig, msg, _ = sweep.compute_sweep(state, "1e-4", "1e-2", "200", "2000", "loss")
    took = time.monotonic() - t0
    assert fig is no_update
    assert msg.startswith("stopped after") and "use fewer rates, steps or optimizers" in msg
    assert took < seconds + MARGIN


def test_the_maximal_map_of_newton_on_a_costly_function_stops_at_its_deadline(monkeypatch):
    # The map at its limits (200×200 starts, 2,000 steps, every step: colour by loss) took
    # minutes; the request must answer within its deadline. A shorter deadline than the
    # app's keeps the test short: the same code path (budget.LIMITS is read per request).
    seconds = 2.0
    monkeypatch.setitem(budget.LIMITS, "map", budget.Limit(max_work=10**9, seconds=seconds))
    state, _traj = custom_scene(COSTLY)
    convergence.clear_map_cache()
    t0 = time.monotonic()
    fig, msg, summary, meta = convergence.compute_map(state, "newton", "200", "2000", "loss")
    took = time.monotonic() - t0
    assert (fig, summary, meta) == (no_update,) * 3
    assert msg.startswith("stopped after")
    assert "the map (200×200 starts × 2,000 steps)" in msg and "smaller grid" in msg
    assert took < seconds + MARGIN


def test_the_honest_maximal_map_and_sweep_complete_within_their_budgets():
    # The app's real budgets: a 200×200 map of 500 steps (~0.5 s of CPU) and a sweep of
    # 8 optimizers × 50 rates × 500 steps.
    convergence.clear_map_cache()
    state, _ = scene("himmelblau", ["sgd"], "500", hyper={"sgd": {"lr": "0.01"}})
    fig, msg, summary, _ = convergence.compute_map(state, "sgd", "200", "500", "loss")
    assert msg == "" and "200×200 starts, 500 steps" in str(summary)
    rules = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "nadam"]
    state, _traj = scene("rosenbrock", rules, "500")
    fig, msg, _ = sweep.compute_sweep(state, "1e-4", "1", "50", "500", "loss")
    assert msg == ""
    assert len([t for t in fig.data if t.meta["role"] == "sweep"]) == 8


def test_the_2d_panels_say_at_once_they_are_not_for_the_network_scene():
    from viz.ui.panels.common import NOT_FOR_NETWORK, network_note

    net = {"scene": {"s": "network", "nw": {}}}
    flat = {"scene": {"s": "beale"}}
    assert network_note(net, "") == NOT_FOR_NETWORK
    assert network_note(net, NOT_FOR_NETWORK) is None  # said already
    assert network_note(flat, NOT_FOR_NETWORK) == ""  # cleared on leaving
    assert network_note(flat, "a map's own message") is None  # not ours to clear
    assert network_note(None, "") is None


def test_tampered_choices_of_the_map_are_a_message_or_the_default():
    """A dict for the run and a list for the colouring raised TypeError: the generic
    server error and a traceback in the log."""
    state, _ = scene("himmelblau", ["sgd"], "30")
    fig, msg, *_ = convergence.compute_map(state, {"a": 1}, "6", "", "outcome")
    assert fig is no_update and msg == "choose one of the scene's optimizers"
    fig, msg, *_ = convergence.compute_map(state, "sgd", "6", "", ["x"])
    assert fig is not no_update and not msg
