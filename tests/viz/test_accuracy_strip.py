"""The accuracy strip under the views (viz/ui/panels/accuracy.py) as a plain function."""

from __future__ import annotations

import numpy as np

from surfaces import SURFACES
from viz.ui import ids, layout
from viz.ui.callbacks import Settings, compute
from viz.ui.panels import accuracy


def scene(surface, optimizers, steps, **kw):
    s = SURFACES[surface]
    out = compute(Settings(surface, list(optimizers), steps, *map(str, s.start), **kw))
    assert out.ok, out.messages
    return out.state, out.traj


def test_a_classifier_scene_shows_each_runs_accuracy_per_step():
    state, traj = scene("logistic_moons", ["sgd", "momentum"], "50", batch_size="32")
    fig, style = accuracy.strip(state, traj)
    assert style == {}  # shown
    s = SURFACES["logistic_moons"]
    assert [t.meta["run"] for t in fig.data] == ["sgd", "momentum"]
    for t, r in zip(fig.data, traj["runs"], strict=True):
        pts = np.stack([r["x"], r["y"]], axis=-1)
        np.testing.assert_array_equal(np.array(t.y, dtype=float), s.accuracy(pts))
        assert list(t.x) == list(range(51)) and t.line.color == r["colour"]
    marker, guide = fig.layout.shapes
    assert marker.x0 == marker.x1 == 0 and marker.xref == "x"  # the step the browser moves
    assert guide.y0 == guide.y1 == 0.8


def test_the_mlp_scene_has_the_strip_too_and_others_hide_it():
    state, traj = scene("noisy_moons", ["sgd"], "20")
    assert accuracy.strip(state, traj)[1] == {}
    state, traj = scene("beale", ["sgd"], "20")
    fig, style = accuracy.strip(state, traj)
    assert style == accuracy.HIDDEN and not fig.data
    # leaving a classifier's scene: the store holds no runs (assets: {runs: null})
    state, _ = scene("logistic_moons", ["sgd"], "20")
    assert accuracy.strip(state, {"runs": None})[1] == accuracy.HIDDEN
    # a store that comes back from the browser damaged: hidden, no error
    assert accuracy.strip(state, {"runs": [{"x": "no"}]})[1] == accuracy.HIDDEN
    assert accuracy.strip({"scene": "x"}, None)[1] == accuracy.HIDDEN


def test_the_strip_sits_right_under_the_views():
    main = layout.main_area()
    kids = main.children
    at = [i for i, c in enumerate(kids) if getattr(c, "id", None) == ids.ACC_STRIP_BOX]
    assert len(at) == 1 and kids[at[0] - 1].className == "views"
    assert kids[at[0]].style == accuracy.HIDDEN  # until a classifier's runs arrive
