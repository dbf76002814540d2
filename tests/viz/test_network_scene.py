"""The network scene as a Scene like every other: its link round trip, what it computes
(points: the paths' projections, losses: the network's true loss), bad input, and the
page's callbacks for it (plain functions): compute, the strip under the views, export."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import diskcache
import numpy as np
import pytest
from PIL import Image

from viz import figures, gif
from viz.figures import landscape as F
from viz.scene import PRESETS, Scene, link, outcome, validate
from viz.scene import landscape as L
from viz.scene.geometry import axis_titles
from viz.ui import callbacks, network_box, share
from viz.ui.export_panel import export, scene_from_state
from viz.ui.jobs import ExportSlots
from viz.ui.panels import common, netstrip

SMALL = L.LandscapeSpec(
    widths=(2, 5, 1),
    data="xor",
    activation="relu",
    rules=(L.Rule("sgd"), L.Rule("adam", {"lr": 0.05})),
    steps=30,
    samples=50,
    grid=9,
    seed=1,
)


@pytest.fixture(scope="module")
def scene():
    return Scene.of_network(SMALL)


# ----------------------------------------------------------------------------- the Scene


def test_link_to_scene_to_link_is_the_same_scene(scene):
    url = link.scene_to_link(scene, "http://h/app")
    back = link.scene_from_link(url)
    assert back == scene and back.network == L.check(SMALL)
    assert link.scene_to_link(back, "http://h/app") == url
    # the page's view state rides along: step, tolerance, arrows, a turned camera
    cam = {"eye": {"x": 2.0, "y": 0.5, "z": 0.3}, "up": {"x": 0, "y": 0, "z": 1}}
    moved = replace(scene, step=12, tolerance=0.01, style=replace(scene.style, camera=cam))
    again = link.scene_from_link(link.scene_to_link(moved))
    assert (again.step, again.tolerance, again.style.camera) == (12, 0.01, moved.style.camera)
    # a preset keeps its name, title and words; the first links (#net1=) still open
    preset = PRESETS["network-moons"]
    assert link.scene_from_link(link.scene_to_link(preset)) == preset
    old = "http://h/#net1=" + link.pack_token(L.spec_to_dict(SMALL))
    assert link.scene_from_link(old) == scene


def test_compute_gives_the_projections_and_the_true_loss(scene):
    trajs = scene.compute()
    res = L.cached(SMALL)
    model, X, y = res.model, res.X, res.y
    assert [t.points.shape for t in trajs] == [(31, 2), (31, 2)]
    for t, run in zip(trajs, res.runs, strict=True):
        for k in (0, 11, 30):
            theta = run.thetas[k]
            # the point is theta's least-squares coordinates in the plane ...
            coords, _ = np.linalg.lstsq(
                np.stack([res.plane.d1, res.plane.d2], 1), theta - res.plane.ref, rcond=None
            )[:2]
            np.testing.assert_allclose(t.points[k], coords, rtol=1e-9, atol=1e-12)
            # ... and its loss the network's own, not the plane's under it
            assert t.losses[k] == pytest.approx(model.loss(theta, X, y), rel=1e-12)
        assert t.diverged_at == run.diverged_at
    assert not np.allclose(trajs[1].losses, res.plane_loss[1])  # off the plane, they differ
    # its surface is the plane's grid, named by its axes; the runs start at θ₀ projected
    s = scene.get_surface()
    A, B = np.meshgrid(res.a, res.b)
    np.testing.assert_allclose(s.value(np.stack([A, B], -1)), res.z, rtol=1e-12)
    e1, e2 = res.plane.explained
    assert axis_titles(s) == (f"PC1 ({e1:.1%})", f"PC2 ({e2:.1%})")
    assert scene.start_point() == tuple(trajs[0].points[0])
    random = Scene.of_network(replace(SMALL, plane="random"))
    assert axis_titles(random.get_surface())[0].startswith("a (random")


def test_settings_steps_and_batch_go_to_the_spec(scene):
    s = scene.with_overrides(settings=[("adam.lr", "0.2")], steps=12, batch_size=10)
    assert s.network.rules[1].hyper == {"lr": 0.2} and s.network.steps == s.steps == 12
    assert s.network.batch_size == 10 and [r.hyper["lr"] for r in s.runs] == [0.5, 0.2]
    with pytest.raises(ValueError, match="no start"):
        scene.with_overrides(start=(1, 2))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"widths": (2, 0, 1)}, "from 1"),
        ({"widths": (2, 65, 1)}, "at most 64 units"),
        ({"rules": (L.Rule("newton"),)}, "Hessian"),
        ({"steps": 5000}, "steps must be"),
        ({"widths": (2, 64, 64, 64, 64, 1), "steps": 2000, "samples": 1000}, "over the limit"),
    ],
)
def test_bad_network_scenes_are_refused_with_a_message(change, message):
    with pytest.raises(ValueError, match=message):
        Scene.of_network(replace(SMALL, **change))


def test_a_scene_whose_runs_are_not_its_specs_rules_is_refused(scene):
    with pytest.raises(ValueError, match="runs must be"):
        replace(scene, runs=scene.runs[:1]).validate()
    with pytest.raises(ValueError, match="steps must be"):
        replace(scene, steps=7).validate()


# ----------------------------------------------------------------------------- the page


def settings(**net) -> callbacks.Settings:
    values = {**network_box.values_of(SMALL), **net}
    return callbacks.Settings(
        surface=network_box.NETWORK,
        optimizers=["sgd", "adam"],
        steps="30",
        start_x="0",
        start_y="0",
        hyper={"adam": {"lr": "0.05"}},
        network=values,
    )


def test_page_compute_draws_the_scene_with_the_main_views():
    o = callbacks.compute(settings())
    assert o.ok, o.messages
    res = L.cached(SMALL)
    assert link.scene_from_dict(o.state["scene"]) == Scene.of_network(SMALL)
    # the main views: contour and 3-D of the plane, axes named by it, runs as projections
    e1 = res.plane.explained[0]
    assert o.contour["layout"]["xaxis"]["title"]["text"] == f"PC1 ({e1:.1%})"
    assert o.surface3d["layout"]["scene"]["xaxis"]["title"]["text"] == f"PC1 ({e1:.1%})"
    sgd = o.traj["runs"][0]
    np.testing.assert_allclose(sgd["x"], res.coords[0, :, 0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sgd["loss"], res.true_loss[0], rtol=1e-6)
    assert "loss of the network" in o.loss["layout"]["yaxis"]["title"]["text"]
    assert "PCA plane" in o.network_note and f"{res.model.size}" in o.network_note
    # the other panels say they are not for this scene
    with pytest.raises(ValueError, match="network scene"):
        common.scene_of(o.state)


def test_status_words_come_from_the_networks_own_gradient():
    o = callbacks.compute(settings())
    res = L.cached(SMALL)
    runs = o.traj["runs"]
    for i, r in enumerate(runs):
        _, g = res.model.backprop(res.runs[i].thetas[-1], res.X, res.y, loss=False)
        assert r["grad_norm"] == pytest.approx(float(np.linalg.norm(g)), rel=1e-12)
    norms = [r["grad_norm"] for r in runs]
    window = res.window()
    low = outcome.results_rows(runs, res.grid_surface, min(norms) / 2, window)
    assert [row["status"] for row in low] == ["still moving"] * len(runs)
    high = outcome.results_rows(runs, res.grid_surface, max(norms) * 2, window)
    assert [row["status"] for row in high] == ["stationary"] * len(runs)
    # what the browser sends back is checked: a damaged norm is a message, not a crash
    traj = {**o.traj, "runs": [{**runs[0], "grad_norm": "abc"}, *runs[1:]]}
    with pytest.raises(ValueError, match="damaged"):
        validate.drawn_runs(traj)


@pytest.mark.parametrize(
    ("widths", "message"),
    [("2,0,1", "from 1"), ("abc", "whole number"), ("", "widths"), ("2,64,64,64,64,1", "")],
)
def test_bad_widths_are_a_message_by_the_boxes_and_nothing_is_drawn(widths, message):
    s = settings(net_widths=widths)
    if not message:  # too large a network: its work, refused before anything runs
        s.steps, s.network["net_samples"] = "2000", "1000"
        message = "over the limit"
    o = callbacks.compute(s)
    assert not o.ok and o.traj is None and o.contour is None
    assert message in o.messages[callbacks.ids.NETWORK_MSG]


def test_rules_the_network_cannot_train_are_a_message():
    s = settings()
    s.optimizers = ["newton"]
    assert "Hessian" in callbacks.compute(s).messages[callbacks.ids.OPTIMIZERS_MSG]
    s = settings()
    s.schedule = {"sgd": {"name": "cosine", "params": {}}}
    assert "schedule" in callbacks.compute(s).messages[("sched", "sgd")]


def test_the_preset_is_applied_when_the_network_is_picked_by_hand():
    assert callbacks.surface_changed("network", {})[2] == callbacks.NETWORK_PRESET
    got = callbacks.apply_preset(callbacks.NETWORK_PRESET)
    assert got["surface"] == "network" and got["net_widths"] == "2,16,16,1"
    assert got["store"]["runs"]["sgd"]["hyper"] == {"lr": L.NETWORK_LR["sgd"]}
    store = {"preset": callbacks.NETWORK_PRESET}
    assert callbacks.surface_changed("network", store)[2] is callbacks.no_update


def test_strip_draws_the_check_and_every_rules_boundary_per_step():
    o = callbacks.compute(settings())
    check, bounds, style = netstrip.strip(o.state["scene"])
    assert style == {}
    roles = [t.meta["role"] for t in check.data]
    assert roles == ["true", "plane", "distance"] * 2
    res = L.cached(SMALL)
    np.testing.assert_allclose(check.data[3].y, res.true_loss[1], rtol=1e-4)
    meta = bounds.layout.meta
    assert meta["steps"][0] == 0 and meta["steps"][-1] == 30 and meta["traces"] == [0, 1]
    # frame j, rule i: that rule's network at that step, in percent
    prob = res.boundary(1, meta["steps"][3], F.BOUNDARY_GRID)[2]
    np.testing.assert_array_equal(meta["z"][3][1], np.rint(prob * 100).astype(int))
    assert netstrip.strip({"s": "beale"})[2] == netstrip.HIDDEN


def test_export_panel_exports_the_network_scene(tmp_path):
    o = callbacks.compute(settings())
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        out = export(None, 1, "both", "6", "5", "400", "150", None, o.state, ExportSlots(cache))
    assert out[1] == "" and out[0]["filename"] == "optviz-network-both.gif"
    im = Image.open(io.BytesIO(base64.b64decode(out[0]["content"])))
    assert (im.n_frames, im.size) == (6, (400, 150))
    scene = scene_from_state(o.state)
    data = base64.b64decode(out[0]["content"])
    assert data == gif.render_gif_bytes(scene, "both", 6, 5, (400, 150))


def test_figures_name_the_plane_axes_on_every_view():
    s = Scene.of_network(SMALL).get_surface()
    window = (s.x_range, s.y_range)
    style = Scene.of_network(SMALL).style
    tx, ty = axis_titles(s)
    c = figures.contour_figure(s, window, style)
    assert (c["layout"]["xaxis"]["title"]["text"], c["layout"]["yaxis"]["title"]["text"]) == (
        tx,
        ty,
    )
    assert "PC1 = " in c["data"][0]["hovertemplate"]


def test_the_page_opens_a_first_network_link_as_the_network_scene():
    old = "#net1=" + link.pack_token(L.spec_to_dict(SMALL))
    out = share.restore(old, "")
    assert out["msg"] == "" and out["surface"] == "network"
    assert out["net_widths"] == "2,5,1" and out["net_data"] == "xor" and out["net_grid"] == "9"
    assert out["optimizers"] == ["sgd", "adam"]
    bad = share.restore("#net1=%%%", "")
    assert "could not be read" in bad["msg"] and set(bad) == {"msg"}


def test_the_network_presets_story_holds():
    """What ``network-moons``' description says, measured on its runs."""
    scene = PRESETS["network-moons"]
    res = L.cached(scene.network)
    labels = [r.resolved().label for r in scene.runs]
    adam = labels.index("Adam")
    at100 = res.true_loss[:, 100]
    assert at100[adam] < 0.05 and all(v > 0.08 for i, v in enumerate(at100) if i != adam)
    assert np.argmin(res.true_loss[:, -1]) == adam
    assert (res.accuracy[:, -1] >= 0.97).all()
    assert 5 < np.nanmax(res.distance) <= 6.5
    rms = labels.index("RMSprop")
    assert res.plane_loss[rms, -1] > 3 * res.true_loss[rms, -1]
    assert res.ref_rule == "sgd" and res.model.size == 337
