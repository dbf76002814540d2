"""The network landscape tab's callbacks as plain functions, and its figures."""

from __future__ import annotations

import numpy as np
import pytest
from dash.exceptions import PreventUpdate

from viz.figures import landscape as F
from viz.scene import landscape as L
from viz.ui.panels import landscape as P

FIELDS = ["xor", "2,5,1", "relu", ["sgd", "adam"], "25", "", "pca", "9", "1", ""]


@pytest.fixture(scope="module")
def spec():
    return P.spec_of_fields(*FIELDS)


def test_fields_round_trip_through_the_spec(spec):
    assert spec.widths == (2, 5, 1) and spec.activation == "relu" and spec.data == "xor"
    assert P.fields_of_spec(spec) == FIELDS


@pytest.mark.parametrize(
    ("i", "value", "message"),
    [
        (1, "2,100000,1", "at most 64"),
        (1, "", "whole number"),
        (3, [], "at least one optimizer"),
        (3, None, "at least one optimizer"),
        (4, "-3", "steps"),
        (5, "abc", "batch size"),
        (7, "1e9", "grid"),
        (9, "momentum", "reference"),
    ],
)
def test_bad_fields_raise_a_message(i, value, message):
    fields = list(FIELDS)
    fields[i] = value
    with pytest.raises(ValueError, match=message):
        P.spec_of_fields(*fields)


def test_picture_draws_every_view_and_the_link_reopens_the_spec(spec):
    out = P.picture(spec, "http://h/x#v2=old")
    data, msg, ev, contour, surface, loss, check, boundary, table, paths, mx, k, link = out
    assert [t.name for t in loss.data[::2]] == ["SGD", "Adam"]
    assert len(table.children[1].children) == 2  # a row per rule
    assert msg == "" and mx == k == 25
    assert L.spec_from_dict(data) == spec
    assert L.from_link(link) == spec and link.startswith("http://h/x#net1=")
    res = L.cached(spec)
    e1, e2 = res.plane.explained
    assert f"{e1:.1%}" in ev and f"{e2:.1%}" in ev
    # the traces the animation restyles: trail and dot per rule after TRACES_BEFORE
    for fig in (contour, surface):
        first = F.TRACES_BEFORE
        assert len(fig.data) == first + 2 * len(spec.rules)
        for i in range(len(spec.rules)):
            trail, dot = fig.data[first + 2 * i], fig.data[first + 2 * i + 1]
            np.testing.assert_allclose(np.array(trail.x, dtype=float), res.coords[i, :, 0])
            assert dot.x[0] == pytest.approx(res.coords[i, -1, 0], rel=1e-12)
    assert np.asarray(contour.data[0].z).shape == (9, 9)
    assert [len(r["a"]) for r in paths["runs"]] == [26, 26]
    assert paths["first"] == F.TRACES_BEFORE
    assert boundary.layout.meta["step"] == 25
    roles = [t.meta["role"] for t in check.data]
    assert roles == ["true", "plane", "distance"] * 2


def test_the_reference_field_picks_the_plane_through_that_rules_end():
    fields = list(FIELDS)
    fields[9] = "adam"
    spec = P.spec_of_fields(*fields)
    assert P.fields_of_spec(spec) == fields
    res = L.cached(spec)
    assert res.ref_rule == "adam"
    np.testing.assert_allclose(res.coords[1, -1], [0, 0], atol=1e-12)


def test_boundary_follows_the_step_and_ignores_bad_input(spec):
    P.picture(spec, "")
    data = L.spec_to_dict(spec)
    fig = P.boundary(7, data)
    assert fig.layout.meta["step"] == 7
    res = L.cached(spec)
    _, _, prob = res.boundary(0, 7, 40)
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), prob)
    for bad in [(-1, data), (26, data), ("x", data), (3, None), (3, {"w": "zz"})]:
        with pytest.raises(PreventUpdate):
            P.boundary(*bad)


def test_table_rows_hold_the_last_steps_numbers(spec):
    res = L.cached(spec)
    rows = F.table_rows(res)
    assert [r["optimizer"] for r in rows] == ["SGD", "Adam"]
    assert rows[1]["final loss"] == pytest.approx(res.true_loss[1, -1], rel=1e-12)
    assert rows[1]["accuracy"] == pytest.approx(res.accuracy[1, -1], rel=1e-12)
    assert rows[0]["distance from plane"] == pytest.approx(0.0, abs=1e-9)  # the reference


def test_gif_download_is_the_pictures_animation(spec):
    import base64
    import io

    from PIL import Image

    P.picture(spec, "")
    out = P.gif(1, L.spec_to_dict(spec))
    assert out["filename"] == "network-2-5-1-xor.gif"
    data = base64.b64decode(out["content"]) if out.get("base64") else out["content"]
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == min(P.GIF_FRAMES, spec.steps + 1)
    for bad in [(0, L.spec_to_dict(spec)), (1, None), (1, {"g": 1})]:
        with pytest.raises(PreventUpdate):
            P.gif(*bad)


def test_the_scene_link_reader_names_a_network_link():
    from viz.scene import link

    with pytest.raises(ValueError, match="network landscape link"):
        link.decode("#net1=abc")


def test_a_spec_that_cannot_be_computed_leaves_boundary_and_gif_unchanged():
    data = L.spec_to_dict(
        L.check(
            L.LandscapeSpec(widths=(2, 3, 1), steps=5, grid=5, rules=(L.Rule("sgd", {"lr": 1e6}),))
        )
    )
    with pytest.raises(ValueError, match="every optimizer diverged"):
        L.compute(L.spec_from_dict(data))
    with pytest.raises(PreventUpdate):
        P.boundary(2, data)
    with pytest.raises(PreventUpdate):
        P.gif(1, data)
