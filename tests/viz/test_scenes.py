"""Scene presets: each computes, Radford's look like his, and each shows what its caption says.

The caption tests measure the claim on the real rules and surfaces (no stored results):
if a rule or a surface changes so that a scene stops showing its story, they fail.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from optimizers import OPTIMIZERS
from optimizers.budget import Budget, BudgetError
from optimizers.colours import DISTINCT, delta_e
from surfaces import SURFACES, from_expression, get_surface
from viz.scene import (
    PRESETS,
    RADFORD_COLOURS,
    RADFORD_LABELS,
    RunSpec,
    Scene,
    Style,
    apply_settings,
    camera_angles,
    camera_from_angles,
    contour_levels,
    get_preset,
    link,
    parse_setting,
)

RADFORD = ("radford-long-valley", "radford-beale", "radford-saddle") + (
    ("radford-noisy-moons",) if "logistic_moons" in SURFACES else ()
)
RADFORD_ORDER = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop")
OURS = (
    "newton-saddle",
    "ravine-adam-vs-sgd",
    "rosenbrock-race",
    "himmelblau-basins",
    "lr-too-high",
)

_cache: dict[str, dict] = {}


def runs_of(name: str) -> dict:
    """The preset's trajectories by rule name (by label where a rule repeats)."""
    if name not in _cache:
        scene = get_preset(name)
        specs = scene.resolved_runs()
        rules = [r.optimizer for r in specs]
        keys = rules if len(set(rules)) == len(rules) else [r.label for r in specs]
        _cache[name] = dict(zip(keys, scene.compute(), strict=True))
    return _cache[name]


def sign_changes(v: np.ndarray) -> int:
    return int((np.diff(np.sign(v)) != 0).sum())


# ---------------------------------------------------------------- every preset


def test_the_presets_we_promise_are_registered():
    assert set(RADFORD + OURS) <= set(PRESETS)
    if "logistic_moons" in SURFACES:
        assert "radford-noisy-moons" in PRESETS
    if "noisy_moons" in SURFACES:
        assert "noisy-moons-mlp" in PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_computes_finite_or_flagged(name):
    scene = get_preset(name).validate()
    assert scene.description and scene.title
    assert scene.view in ("contour", "3d", "both")
    trajectories = scene.compute()
    assert len(trajectories) == len(scene.runs) >= 1
    for traj in trajectories:
        assert traj.points.shape == (scene.steps + 1, 2)
        assert traj.losses.shape == (scene.steps + 1,)
        end = scene.steps + 1 if traj.diverged_at is None else traj.diverged_at
        assert np.isfinite(traj.points[:end]).all()
        assert np.isfinite(traj.losses[:end]).all()
        if traj.diverged_at is not None:
            assert np.isnan(traj.points[traj.diverged_at + 1 :]).all()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_has_distinct_labels_and_colours(name):
    runs = get_preset(name).resolved_runs()
    assert len({r.label for r in runs}) == len(runs)
    assert all(r.colour.startswith("#") and len(r.colour) == 7 for r in runs)
    for a, b in itertools.combinations(runs, 2):
        assert delta_e(a.colour, b.colour) >= DISTINCT, (a.label, b.label)


@pytest.mark.parametrize("name", RADFORD)
def test_radford_scenes_look_like_his(name):
    scene = get_preset(name)
    runs = scene.resolved_runs()
    assert tuple(r.optimizer for r in runs) == RADFORD_ORDER
    assert [r.label for r in runs] == [RADFORD_LABELS[r] for r in RADFORD_ORDER]
    assert [r.colour for r in runs] == [RADFORD_COLOURS[r] for r in RADFORD_ORDER]
    assert [r.label for r in runs] == ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "Rmsprop"]
    for r in runs:  # his code put ε inside the root
        if r.optimizer in ("adagrad", "adadelta", "rmsprop"):
            assert r.hyper["eps_in_sqrt"] is True
            assert scene.optimizers()[runs.index(r)].hyper["eps_in_sqrt"] is True
    style = scene.style
    assert style.size == (620, 480) and style.fps == 25
    assert style.background.lower() in ("#ffffff", "white")
    assert style.colorscale.lower() == "jet"


def test_radford_colours_are_his_matplotlib_letters():
    # r, g, m, b, y, k as matplotlib draws them.
    assert RADFORD_COLOURS == {
        "sgd": "#ff0000",
        "momentum": "#008000",
        "nesterov": "#bf00bf",
        "adagrad": "#0000ff",
        "adadelta": "#bfbf00",
        "rmsprop": "#000000",
    }


def test_radford_star_marks_the_minimum_where_there_is_one():
    assert get_surface("long_valley").minima
    assert get_preset("radford-beale").get_surface().minima == ((3.0, 0.5),)
    x_range, y_range = get_preset("radford-beale").window()
    assert x_range == (-4.5, 4.5) and y_range == (-4.5, 4.5)


def test_radford_saddle_is_3d_with_his_camera():
    scene = get_preset("radford-saddle")
    assert scene.view == "3d" and scene.surface == "saddle"
    elev, azim = camera_angles(scene.style.camera)
    assert elev == pytest.approx(45.0, abs=1e-9) and azim == pytest.approx(45.0, abs=1e-9)
    lo, hi = scene.style.z_range
    values = scene.get_surface().grid(50)[2]
    assert lo <= values.min() and values.max() <= hi


# ---------------------------------------------------------------- Radford's captions


def test_long_valley_sgd_gets_nowhere():
    t = runs_of("radford-long-valley")
    x_min = get_surface("long_valley").minima[0][0]
    start_x = get_preset("radford-long-valley").start[0]
    progress = t["sgd"].points[-1, 0] - start_x
    assert 0 < progress < 0.05 * (x_min - start_x)


def test_long_valley_momentum_oscillates_then_builds_velocity():
    t = runs_of("radford-long-valley")
    for rule in ("momentum", "nesterov"):
        x, y = t[rule].points.T
        assert sign_changes(y[:51]) >= 5  # wall to wall across the trough
        speed = np.diff(x)  # along the floor, per step
        assert speed[-50:].mean() > 2 * speed[:10].mean()  # faster once velocity has built up
        assert speed[-50:].mean() > 5 * np.diff(t["sgd"].points[:, 0]).mean()
        assert x[-1] - x[0] > 5 * (t["sgd"].points[-1, 0] - x[0])


def test_long_valley_adaptive_rules_break_symmetry_at_once():
    t = runs_of("radford-long-valley")
    first20 = {rule: tr.points[20, 0] - tr.points[0, 0] for rule, tr in t.items()}
    for rule in ("adagrad", "adadelta", "rmsprop"):
        assert sign_changes(t[rule].points[:51, 1]) <= 1  # no swinging across
        assert first20[rule] > 3 * max(first20["momentum"], first20["nesterov"])
        assert first20[rule] > 20 * first20["sgd"]


def test_beale_velocity_methods_shoot_off():
    scene = get_preset("radford-beale")
    t = runs_of("radford-beale")
    start, minimum = np.array(scene.start), np.array(scene.get_surface().minima[0])
    along = (minimum - start) / np.linalg.norm(minimum - start)
    normal = np.array([-along[1], along[0]])

    def off_course(rule):  # farthest distance from the straight line start → minimum
        return np.abs((t[rule].points - start) @ normal).max()

    def reach(rule):
        return np.linalg.norm(t[rule].points - start, axis=1).max()

    for rule in ("momentum", "nesterov"):
        assert off_course(rule) > 2 * off_course("sgd")
        assert off_course(rule) > 2 * off_course("rmsprop")
        assert t[rule].points[:, 1].min() < -0.5  # far below the valley they end in
        assert reach(rule) > 1.5 * reach("sgd")
        # ... and still they swing back to the minimum.
        assert np.linalg.norm(t[rule].points[-1] - minimum) < 0.1
    for rule in ("sgd", "rmsprop", "adadelta"):
        assert t[rule].points[:, 1].min() > 0
    for rule in ("rmsprop", "adadelta"):  # they curve into the valley and reach the star
        assert np.linalg.norm(t[rule].points[-1] - minimum) < 0.15


def test_beale_adagrad_nearly_goes_unstable():
    scene = get_preset("radford-beale")
    t = runs_of("radford-beale")
    minimum = np.array(scene.get_surface().minima[0])
    steps = {
        rule: np.linalg.norm(np.diff(tr.points, axis=0), axis=1).max() for rule, tr in t.items()
    }
    assert steps["adagrad"] > 3 * max(v for rule, v in steps.items() if rule != "adagrad")
    assert t["adagrad"].points[:, 0].min() < 0.05  # thrown to the ridge at x = 0 ...
    assert t["adagrad"].diverged_at is None  # ... but not over it
    assert np.linalg.norm(t["adagrad"].points[-1] - minimum) < 0.25


def test_saddle_sgd_stays_stuck_on_the_ridge():
    t = runs_of("radford-saddle")
    x, y = t["sgd"].points.T
    assert np.abs(y).max() < 1e-2
    assert abs(x[-1]) < 0.05  # it slid along the ridge to the saddle point and sits there
    assert x.min() >= 0  # and never crossed it
    assert abs(t["rmsprop"].points[-1, 1]) > 1000 * abs(y[-1])


def test_saddle_adaptive_rules_run_down_the_negative_curvature():
    t = runs_of("radford-saddle")
    for rule in ("adagrad", "rmsprop", "adadelta"):
        y = t[rule].points[:, 1]
        assert abs(y[100]) > 1.0  # well off the ridge within half the run
        assert np.all(np.diff(y) >= 0)  # straight down the side it started on (y > 0)
        assert t[rule].losses[-1] < -1.0


def test_saddle_momentum_explores_around_before_escaping():
    t = runs_of("radford-saddle")
    for rule in ("momentum", "nesterov"):
        x, y = t[rule].points.T
        assert x.min() < -0.1  # overshoots the saddle point along the ridge
        assert sign_changes(x[:100]) >= 2  # and swings back and forth over it
        assert abs(y[50]) < 0.01  # still around the ridge while the adaptive rules are gone
        assert abs(t["rmsprop"].points[50, 1]) > 50 * abs(y[50])
        assert abs(y[-1]) > 1.0  # their velocity carries them off in the end


def test_noisy_moons_is_his_logistic_regression_on_mini_batches():
    scene = get_preset("radford-noisy-moons")
    s = scene.get_surface()
    assert scene.surface == "logistic_moons" and s.batch_size == 32
    assert s.X.shape == (200, 2)  # two weights, no bias: the whole model is the picture
    full = replace(scene, batch_size=None, runs=scene.runs[:1]).compute()[0]
    again = replace(scene, runs=scene.runs[:1]).compute()[0]
    batched = runs_of("radford-noisy-moons")["sgd"]
    assert np.array_equal(again.points, batched.points)  # seeded: reproducible
    assert not np.allclose(full.points, batched.points)  # but not the full-batch path
    # The landscape is the full-data loss: what each path's recorded loss is, too.
    np.testing.assert_allclose(batched.losses, s.value(batched.points), rtol=1e-13)


def noisy_moons_numbers() -> dict:
    """The numbers the README's noisy-moons captions state, measured on his scene."""
    scene = get_preset("radford-noisy-moons")
    s = scene.get_surface()
    t = runs_of("radford-noisy-moons")
    start, m = np.array(scene.start), np.array(s.minima[0])
    line = (m - start) / np.linalg.norm(m - start)
    out = {}
    for rule, tr in t.items():
        acc = s.accuracy(tr.points)
        steps = tr.points[1:] - tr.points[:-1]
        heading = np.arctan2(steps[:, 1], steps[:, 0])
        turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
        out[rule] = {
            "first_80": int(np.flatnonzero(acc >= 0.8)[0]),
            "final_acc": float(acc[-1]),
            # how far past the minimum along the start→minimum line, in units of that distance
            "overshoot": float(((tr.points - start) @ line).max() / np.linalg.norm(m - start)),
            "end_along": float((tr.points[-1] - start) @ line / np.linalg.norm(m - start)),
            "turn": float(turn[len(turn) // 2 :].mean()),  # radians per step, second half
            "diverged": tr.diverged_at,
        }
    return out, float(s.accuracy(m))


def test_noisy_moons_captions_hold_as_numbers():
    n, best = noisy_moons_numbers()
    assert all(v["diverged"] is None for v in n.values())
    # Everyone ends at the model's best accuracy (the minimum's), within one point of 200
    # (the mini-batches keep the paths jittering around the minimum).
    for v in n.values():
        assert abs(v["final_acc"] - best) <= 1 / 200 + 1e-12
    # Who reaches 80 % first: SGD, Adagrad, Momentum and NAG within ten steps; RMSprop and
    # Adadelta, whose first steps are small (α·∇/√c and Adadelta's ε-sized start), after 30.
    fast, slow = ("sgd", "adagrad", "momentum", "nesterov"), ("rmsprop", "adadelta")
    assert max(n[r]["first_80"] for r in fast) <= 10
    assert min(n[r]["first_80"] for r in slow) > 30
    # Momentum and NAG overshoot: past the minimum by over a fifth of the way, then correct.
    for r in ("momentum", "nesterov"):
        assert n[r]["overshoot"] > 1.2 and abs(n[r]["end_along"] - 1) < 0.1
    for r in ("sgd", "adagrad", "rmsprop", "adadelta"):
        assert n[r]["overshoot"] < 1.1
    # ... and smooth the mini-batch noise: their heading turns under half as much per step.
    for r in ("momentum", "nesterov"):
        assert n[r]["turn"] < 0.5 * n["sgd"]["turn"]


def test_the_readmes_noisy_moons_table_is_what_the_runs_give():
    """README.md states the captions' numbers in a table: each cell must be the measured one."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    n, _ = noisy_moons_numbers()
    rows = {
        "first step at ≥ 80 % accuracy": lambda v: str(v["first_80"]),
        "farthest along the start→minimum line (1 = the minimum)": lambda v: (
            f"{v['overshoot']:.2f}"
        ),
        "mean turn of heading per step, steps 100–200 (rad)": lambda v: f"{v['turn']:.2f}",
        "accuracy at step 200": lambda v: f"{100 * v['final_acc']:.1f} %",
    }
    order = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop")
    for title, cell in rows.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {title} |"))
        cells = [c.strip() for c in line.strip("|").split("|")[1:]]
        assert cells == [cell(n[r]) for r in order], title


def test_noisy_moons_mlp_trains_on_mini_batches():
    scene = get_preset("noisy-moons-mlp")
    assert scene.surface == "noisy_moons" and scene.get_surface().batch_size == 32
    full = replace(scene, batch_size=None, runs=scene.runs[:1]).compute()[0]
    again = replace(scene, runs=scene.runs[:1]).compute()[0]
    batched = runs_of("noisy-moons-mlp")["sgd"]
    assert np.array_equal(again.points, batched.points)  # seeded: reproducible
    assert not np.allclose(full.points, batched.points)  # but not the full-batch path


def test_noisy_moons_mlp_caption():
    scene = get_preset("noisy-moons-mlp")
    t = runs_of("noisy-moons-mlp")
    minimum = np.array(scene.get_surface().minima[0])
    d = {rule: np.linalg.norm(tr.points - minimum, axis=1) for rule, tr in t.items()}
    for rule, dist in d.items():
        assert t[rule].diverged_at is None and dist[-1] < dist[0], rule
    assert d["sgd"][-1] == max(dist[-1] for dist in d.values()) > 0.4 * d["sgd"][0]
    for rule in ("adagrad", "rmsprop"):  # get there first
        assert d[rule][:150].min() < 0.1
    for rule in ("sgd", "momentum", "nesterov"):
        assert d[rule][:150].min() > 1.0
    for rule in ("momentum", "nesterov"):  # speed up as the velocity builds
        speed = np.linalg.norm(np.diff(t[rule].points, axis=0), axis=1)
        assert speed[50:125].mean() > 2.5 * speed[:50].mean()


# ---------------------------------------------------------------- ours


def test_newton_is_drawn_to_the_saddle_while_sgd_and_adam_escape():
    t = runs_of("newton-saddle")
    assert np.linalg.norm(t["newton"].points[-1]) < 1e-3  # the saddle point (0, 0)
    # Along y the Newton step goes uphill: |y| shrinks while f rises.
    assert np.all(np.diff(np.abs(t["newton"].points[:, 1])) <= 0)
    for rule in ("sgd", "adam"):
        assert abs(t[rule].points[-1, 1]) > 2.0
        assert t[rule].losses[-1] < t["newton"].losses[-1] - 1.0


def test_ravine_sgd_zigzags_and_adaptive_rules_follow_the_floor():
    scene = get_preset("ravine-adam-vs-sgd")
    t = runs_of("ravine-adam-vs-sgd")
    theta = math.radians(scene.get_surface().extra["angle_deg"])
    across = np.array([-math.sin(theta), math.cos(theta)])

    def crossings(rule):
        return sign_changes(t[rule].points[:41] @ across)

    assert crossings("sgd") >= 30
    for rule in ("rmsprop", "adam"):
        assert crossings(rule) <= 8
        assert t[rule].losses[40] < t["sgd"].losses[40]
    assert crossings("momentum") < crossings("sgd") / 3
    # SGD's α is at the edge: a little more and the steep direction blows up.
    lam_max = np.linalg.eigvalsh(scene.get_surface().hessian(np.zeros(2))).max()
    assert scene.runs[0].hyper["lr"] < 2 / lam_max < 1.1 * scene.runs[0].hyper["lr"]


def test_rosenbrock_race_has_every_rule_and_none_diverges():
    scene = get_preset("rosenbrock-race")
    t = runs_of("rosenbrock-race")
    assert set(t) == set(OPTIMIZERS)
    for rule, traj in t.items():
        assert traj.diverged_at is None, rule
        assert traj.losses[-1] < traj.losses[0] / 3, rule
    newton = t["newton"]
    assert np.linalg.norm(newton.points[-1] - np.array([1.0, 1.0])) < 1e-8
    first = int(np.argmax(newton.losses < 1e-6))
    assert 0 < first < scene.steps / 5
    for rule, traj in t.items():
        if rule != "newton":
            assert not (traj.losses[: first + 1] < 1e-6).any(), rule


def test_himmelblau_one_start_three_minima():
    scene = get_preset("himmelblau-basins")
    minima = np.array(scene.get_surface().minima)
    ends = set()
    for rule, traj in runs_of("himmelblau-basins").items():
        d = np.linalg.norm(minima - traj.points[-1], axis=1)
        assert d.min() < 0.05, rule
        ends.add(int(d.argmin()))
    assert len(ends) >= 3


def test_lr_too_high_converges_oscillates_diverges():
    scene = get_preset("lr-too-high")
    assert {r.optimizer for r in scene.runs} == {"sgd"}
    lrs = [r.hyper["lr"] for r in scene.runs]
    assert lrs == sorted(lrs) and len(set(lrs)) == 3
    surface = scene.get_surface()
    minimum = np.array(surface.minima[0])
    curvatures, axes = np.linalg.eigh(surface.hessian(minimum))
    steep = axes[:, np.argmax(curvatures)]
    # The story's three regimes are set by α against the steep curvature.
    assert lrs[0] < 1 / curvatures.max() < lrs[1] < 2 / curvatures.max() < lrs[2]
    smooth, zigzag, diverging = (runs_of("lr-too-high")[r.label] for r in scene.resolved_runs())

    def across(traj, end=None):
        return (traj.points[:end] - minimum) @ steep

    assert np.all(np.diff(smooth.losses) < 0)
    assert sign_changes(across(smooth)[:30]) == 0  # (later it is down at round-off)
    assert np.all(np.diff(np.linalg.norm(smooth.points - minimum, axis=1)) < 0)
    assert sign_changes(across(zigzag)[:21]) == 20  # to the other side at every step
    assert zigzag.diverged_at is None
    assert np.linalg.norm(zigzag.points[-1] - minimum) < 1e-3
    assert diverging.diverged_at is not None
    a = np.abs(across(diverging, diverging.diverged_at))
    assert np.all(np.diff(a) > 0)  # every overshoot bigger than the last
    assert sign_changes(across(diverging, diverging.diverged_at)) == diverging.diverged_at - 1


# ---------------------------------------------------------------- settings and overrides


def test_parse_setting():
    assert parse_setting("lr=0.01") == ("lr", "0.01")
    assert parse_setting(" adam.beta1 = 0.8 ") == ("adam.beta1", "0.8")
    for bad in ("lr", "=1", "lr=", ""):
        with pytest.raises(ValueError, match="name=value"):
            parse_setting(bad)


def test_plain_setting_goes_to_every_rule_that_has_it():
    runs = (RunSpec("sgd"), RunSpec("adam"), RunSpec("momentum"))
    out = apply_settings(runs, [("lr", "0.05"), ("beta1", "0.8")])
    assert [r.hyper["lr"] for r in out] == [0.05, 0.05, 0.05]
    assert out[1].hyper["beta1"] == 0.8
    assert "beta1" not in out[0].hyper and "beta1" not in out[2].hyper
    assert runs[0].hyper == {}  # the input is untouched


def test_dotted_setting_goes_to_one_rule():
    runs = (RunSpec("sgd"), RunSpec("adam"))
    out = apply_settings(runs, {"adam.lr": 0.2, "adam.bias_correction": "false"})
    assert out[0].hyper == {} and out[1].hyper == {"lr": 0.2, "bias_correction": False}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (("beta1", 0.9), "none of the optimizers"),
        (("adam.lr", 0.1), "adam is not among"),
        (("nope.lr", 0.1), "unknown optimizer 'nope'"),
        (("sgd.foo", 0.1), "sgd has no hyperparameter 'foo'"),
        (("lr", "nan"), "finite"),
        (("lr", -1), "lr must be >"),
        (("lr", "abc"), "must be a number"),
    ],
)
def test_bad_settings_are_named(setting, message):
    with pytest.raises(ValueError, match=message):
        apply_settings((RunSpec("sgd"),), [setting])


def test_with_overrides_changes_only_what_it_is_told():
    scene = get_preset("radford-saddle")
    out = scene.with_overrides(settings=[("lr", "0.02")], steps=10, start=(0.5, 0.1), fps=12)
    assert out.steps == 10 and out.start == (0.5, 0.1) and out.style.fps == 12
    assert all(r.hyper["lr"] == 0.02 for r in out.runs)
    assert out.runs[4].hyper["rho"] == 0.95 and out.runs[4].hyper["eps_in_sqrt"] is True
    assert out.style.camera == scene.style.camera and out.view == scene.view
    assert scene.steps == 200 and scene.runs[0].hyper["lr"] == 0.01  # the preset is untouched
    with pytest.raises(ValueError, match="steps"):
        scene.with_overrides(steps=-3)
    with pytest.raises(ValueError, match="start"):
        scene.with_overrides(start=(float("nan"), 0.0))
    with pytest.raises(ValueError, match="style"):
        scene.with_overrides(colour="red")


def test_from_args_builds_a_validated_scene():
    scene = Scene.from_args("rosenbrock", ["adam", "sgd"], {"lr": 0.001}, steps=5)
    assert scene.start == get_surface("rosenbrock").start
    assert [r.optimizer for r in scene.runs] == ["adam", "sgd"]
    assert [r.hyper for r in scene.runs] == [{"lr": 0.001}, {"lr": 0.001}]
    assert [r.label for r in scene.resolved_runs()] == ["Adam", "SGD"]
    trajectories = scene.compute()
    assert trajectories[1].points.shape == (6, 2)
    for bad, message in [
        (("nope", ["sgd"]), "unknown surface"),
        (("rosenbrock", ["nope"]), "unknown optimizer"),
        (("rosenbrock", ["sgd", "sgd"]), "twice"),
        (("rosenbrock", []), "at least one"),
    ]:
        with pytest.raises(ValueError, match=message):
            Scene.from_args(*bad)


def test_from_args_takes_a_surface_object():
    surface = from_expression("x**2 + 3*y**2", x_range=(-2, 2), y_range=(-2, 2))
    scene = Scene.from_args(surface, ["sgd"], start=(1.0, 1.0), steps=3)
    assert scene.get_surface() is surface
    p = scene.compute()[0].points
    assert p[1] == pytest.approx([1 - 0.01 * 2, 1 - 0.01 * 6], abs=1e-12)


def test_camera_angles_round_trip():
    for elev, azim in [(45.0, 45.0), (30.0, -60.0), (10.0, 170.0)]:
        camera = camera_from_angles(elev, azim, distance=2.0)
        eye = camera["eye"]
        assert math.hypot(eye["x"], eye["y"], eye["z"]) == pytest.approx(2.0, abs=1e-12)
        assert camera_angles(camera) == pytest.approx((elev, azim), abs=1e-12)


def test_unknown_preset_names_the_choices():
    with pytest.raises(KeyError, match="radford-beale"):
        get_preset("nope")


def test_style_is_shared_by_value():
    # Presets must not share a mutable camera dict: changing one copy leaves the others.
    a, b = Style(), Style()
    assert a.camera == b.camera and a.camera is not b.camera
    assert replace(get_preset("radford-beale").style, fps=5).fps == 5


def test_log_levels_start_at_the_styles_floor():
    z = np.array([[0.0, 10.0], [1e3, 2e5]])
    for floor in (1e-4, 5e-6):
        style = Style(log_levels=True, log_floor=floor, contour_levels=35)
        levels = contour_levels(z, style, 0.0)
        assert len(levels) == 35 and np.all(np.diff(levels) > 0)
        assert levels[0] == pytest.approx(2e5 * floor, rel=1e-12)
        assert levels[-1] == pytest.approx(2e5, rel=1e-12)
        ratios = levels[1:] / levels[:-1]
        np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # evenly spaced in log


def test_the_default_floor_leaves_no_valley_blank():
    """1e-4 of the span, unless more than 1 % of the grid lies under it: Beale's floor
    over its window was 18 above the minimum, and 18 % of the map (the valleys the runs
    follow) had no line; the floor comes down to the 1 % quantile there."""
    style = Style(log_levels=True)
    for name, lowered in (("beale", True), ("goldstein_price", True), ("rosenbrock", False)):
        s = SURFACES[name]
        _, _, z = s.grid(200)
        levels = contour_levels(z, style, s.min_value)
        base, span = min(z.min(), s.min_value), z.max() - min(z.min(), s.min_value)
        under = (z < levels[0]).mean()
        assert under <= 0.01 + 1e-9, (name, under)
        assert (levels[0] < base + span * 1e-4 * (1 - 1e-9)) == lowered, name


def test_the_ravine_presets_description_is_what_its_runs_do():
    """Its text says SGD turns at every step, Momentum and Adam cross a handful of times
    and end lowest, RMSprop is lowest at first and climbs back after step 50."""
    scene = get_preset("ravine-adam-vs-sgd")
    runs = {r.optimizer: t for r, t in zip(scene.runs, scene.compute(), strict=True)}
    turns = {
        k: int(np.sum(np.diff(np.sign(np.diff(t.points[:, 0]))) != 0)) for k, t in runs.items()
    }
    final = {k: t.losses[-1] for k, t in runs.items()}
    assert turns["sgd"] == 28 and turns["momentum"] <= 8 and turns["adam"] <= 8
    assert max(final["momentum"], final["adam"]) < min(final["sgd"], final["rmsprop"])
    rms = runs["rmsprop"].losses
    assert rms[5] == min(t.losses[5] for t in runs.values())
    assert rms[50] == pytest.approx(0.0016, rel=0.05) and rms[100] == pytest.approx(0.033, rel=0.05)


def test_a_label_with_a_value_in_it_follows_the_value():
    """ "One rule, three learning rates" names its runs "SGD α = {lr}": the card, the
    legend, the results and an export show the run's α, also after the user changes it
    (they said "SGD α = 0.02" of a run at 0.05); the link keeps the label as written."""
    from viz.scene.model import label_with_values
    from viz.ui import layout

    assert label_with_values("SGD α = {lr}", {"lr": 0.05}) == "SGD α = 0.05"
    assert label_with_values("{lr} {x} {}", {"lr": 1e-5}) == "1e-05 {x} {}"  # others stay
    assert label_with_values("{nesterov}", {"nesterov": True}) == "{nesterov}"
    scene = get_preset("lr-too-high")
    assert [r.label for r in scene.resolved_runs()] == [
        "SGD α = 0.02",
        "SGD α = 0.1",
        "SGD α = 0.12",
    ]
    faster = replace(scene, runs=(replace(scene.runs[0], hyper={"lr": 0.05}), *scene.runs[1:]))
    assert faster.resolved_runs()[0].label == "SGD α = 0.05"
    back = link.scene_from_dict(link.scene_to_dict(faster))
    assert back.runs[0].label == "SGD α = {lr}" and back.resolved_runs()[0].label.endswith("0.05")
    card = layout.optimizer_card("sgd@1", {"lr": 0.05}, "SGD α = {lr}")
    title = card.children[0].children[1]
    assert title.children == "SGD α = 0.05" and title.to_plotly_json()["props"]["data-template"]


def test_a_library_rule_counts_its_step_in_the_scenes_work():
    """A torch rule's step costs ~2,000 of a built-in one's: the scene's budget says so
    before it runs, and its ticks add up to what was planned."""
    pytest.importorskip("torch")
    sc = Scene.from_args("beale", ["sgd", "torch:SGD"], steps=50)
    per_step = 1 + OPTIMIZERS["torch:SGD"].step_work(1)
    assert OPTIMIZERS["torch:SGD"].step_work(1) >= 2000
    assert sc.work() == 50 * per_step
    with pytest.raises(BudgetError, match=f"{50 * per_step:,} steps"):
        sc.compute(Budget(max_work=50 * 2 * 1000, seconds=30))
    b = Budget(max_work=sc.work(), seconds=30)
    sc.compute(b)
    assert b.done == pytest.approx(sc.work(), rel=0.02)
