"""The network scene: spec validation, budget, the computed result, JSON and share link."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest

from viz.scene import landscape as L
from viz.scene import link as K
from viz.ui.network_box import note

SMALL = L.LandscapeSpec(
    widths=(2, 6, 1),
    rules=(L.Rule("sgd"), L.Rule("adam", {"lr": 0.05})),
    steps=40,
    samples=60,
    grid=11,
)


@pytest.fixture(scope="module")
def res():
    return L.compute(SMALL)


def test_result_holds_every_runs_projection_losses_and_distance(res):
    model, X, y = res.model, res.X, res.y
    R, S = 2, SMALL.steps + 1
    assert res.coords.shape == (R, S, 2) and res.true_loss.shape == (R, S)
    assert res.z.shape == (11, 11)
    for i, run in enumerate(res.runs):
        for t in (0, 17, S - 1):
            theta = run.thetas[t]
            assert res.true_loss[i, t] == pytest.approx(model.loss(theta, X, y), rel=1e-12)
            p = res.plane.at(*res.coords[i, t])
            assert res.plane_loss[i, t] == pytest.approx(model.loss(p, X, y), rel=1e-12)
            assert res.distance[i, t] == pytest.approx(np.linalg.norm(theta - p), abs=1e-9)
    # one shared initialisation; the reference (first rule's end) lies in the plane
    np.testing.assert_array_equal(res.runs[0].thetas[0], res.runs[1].thetas[0])
    assert res.ref_rule == "sgd"
    np.testing.assert_allclose(res.coords[0, -1], [0, 0], atol=1e-12)
    assert res.distance[0, -1] < 1e-12
    # the grid covers every projected point
    (a0, a1), (b0, b1) = res.window()
    assert a0 < res.coords[..., 0].min() and res.coords[..., 0].max() < a1
    assert b0 < res.coords[..., 1].min() and res.coords[..., 1].max() < b1
    assert 0 < sum(res.plane.explained) <= 1 + 1e-12
    assert res.true_loss[1, -1] < res.true_loss[1, 0]


def test_compute_is_deterministic_and_random_plane_is_filter_normalised(res):
    again = L.compute(SMALL)
    np.testing.assert_array_equal(again.z, res.z)
    np.testing.assert_array_equal(again.coords, res.coords)
    rnd = L.compute(L.replace(SMALL, plane="random", ref="adam"))
    assert rnd.plane.kind == "random" and rnd.plane.explained is None
    assert rnd.ref_rule == "adam"
    np.testing.assert_array_equal(rnd.plane.ref, rnd.runs[1].thetas[-1])


def test_surface_of_the_result_is_the_grid(res):
    s = res.surface()
    A, B = np.meshgrid(res.a, res.b)
    np.testing.assert_allclose(s.value(np.stack([A, B], -1)), res.z, rtol=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": "blobs"}, "unknown data set"),
        ({"activation": "sigmoid"}, "unknown activation"),
        ({"widths": (2, 100000, 1)}, "at most 64 units"),
        ({"widths": (2, 4, 4, 4, 4, 4, 1)}, "at most 4 hidden layers"),
        ({"widths": (3, 4, 1)}, "start with 2"),
        ({"grid": 5000}, "grid must be"),
        ({"steps": 10**7}, "steps must be"),
        ({"rules": ()}, "at least one optimizer"),
        ({"rules": (L.Rule("newton"),)}, "Hessian"),
        ({"rules": (L.Rule("nope"),)}, "unknown optimizer"),
        ({"rules": (L.Rule("sgd", {"lr": -1}),)}, "sgd.lr"),
        ({"batch_size": 0}, "batch size"),
        ({"ref": "adam", "rules": (L.Rule("sgd"),)}, "reference"),
        ({"plane": "tsne"}, "unknown plane"),
    ],
)
def test_bad_specs_are_refused_with_a_message(change, message):
    with pytest.raises(ValueError, match=message):
        L.check(L.replace(SMALL, **change))


def test_the_benchmark_request_fits_and_an_absurd_one_is_refused_before_running():
    big = L.LandscapeSpec(
        rules=tuple(
            L.Rule(n) for n in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
        )
    )
    assert L.work(L.check(big)) < L.MAX_WORK
    L.budget_for(L.check(big))
    huge = L.check(L.replace(big, widths=(2, 64, 64, 64, 64, 1), steps=200, samples=1000))
    with pytest.raises(ValueError, match="over the limit"):
        L.budget_for(huge)
    # every step's 12,737 weights of every rule are kept: 160 MB at most
    kept = L.check(L.replace(big, widths=(2, 64, 64, 64, 64, 1), steps=1200, samples=10))
    with pytest.raises(ValueError, match=r"keeps 4\.6× over the limit of parameter vectors"):
        L.budget_for(kept)
    # the PCA's eigenproblem counts (4,417 weights at the page's defaults took 36 s, 14 of
    # them in a 4,417² eigenproblem, and were stopped at the deadline; now refused at once)
    wide = L.check(L.replace(big, widths=(2, 64, 64, 1), samples=100))
    assert L.work(wide) > L.MAX_WORK > L.work(L.replace(wide, plane="random"))


def test_a_small_run_of_a_wide_net_gets_its_pca_plane_from_the_small_side():
    """2 rules × 20 steps of a 12,737-weight net passed every check and then sat in a
    12,737² eigenproblem for minutes, 2.8 GB of memory, past its deadline."""
    spec = L.check(
        L.replace(
            SMALL,
            widths=(2, 64, 64, 64, 64, 1),
            steps=20,
            samples=10,
            grid=5,
            rules=(L.Rule("sgd"), L.Rule("adam")),
        )
    )
    assert L.work(spec) < L.MAX_WORK / 100
    res = L.compute(spec)
    assert res.plane.d1.shape == (12_737,) and sum(res.plane.explained) <= 1 + 1e-12


def test_widths_text_is_parsed_strictly():
    assert L.parse_widths("2,16,16,1") == (2, 16, 16, 1)
    for bad in ("2,x,1", "", "2", "2,,1", "2,-3,1"):
        with pytest.raises(ValueError):
            L.parse_widths(bad)


def test_link_round_trip_and_document(res):
    spec = L.replace(SMALL, batch_size=16, ref="adam", plane="random", data="xor")
    old = "http://h/app#net1=" + K.pack_token(L.spec_to_dict(spec))  # the first links
    assert K.scene_from_link(old).network == L.check(spec)
    doc = L.document(res)
    text = json.dumps(doc, allow_nan=False)
    back = json.loads(text)
    assert [r["optimizer"] for r in back["runs"]] == ["sgd", "adam"]
    assert len(back["runs"][0]["points"]) == SMALL.steps + 1
    assert back["runs"][1]["hyper"]["lr"] == 0.05
    assert back["plane"]["explained_variance"] == list(res.plane.explained)
    assert L.spec_from_dict(back["spec"]) == L.check(SMALL)


def _token(obj) -> str:
    raw = json.dumps(obj).encode()
    return "#net1=" + base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("hash_", "message"),
    [
        ("#net1=!!!", "base64url"),
        ("#net1=" + base64.urlsafe_b64encode(b"junk").rstrip(b"=").decode(), "damaged"),
        (_token([1, 2]), "not an object"),
        (_token({"d": "moons", "x": 1}), "unknown field"),
        (_token({"w": [2, 10**6, 1]}), "at most 64"),
        (_token({"r": [["sgd", {"lr": "__import__('os')"}]]}), "sgd.lr"),
        (_token({"d": 3}), "data must be text"),
        ("#net1=" + "A" * 9000, "too long"),
        (
            "#net1=" + base64.urlsafe_b64encode(zlib.compress(b"[" * 100000)).rstrip(b"=").decode(),
            "too large|not valid",
        ),
    ],
)
def test_hostile_links_are_refused_with_a_message(hash_, message):
    with pytest.raises(ValueError, match=message):
        K.scene_from_link(hash_)


def test_the_network_note_names_the_reference_by_its_label(res):
    assert res.ref_rule == "sgd"
    assert "through SGD's final network" in note(res)
