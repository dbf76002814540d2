"""The standalone page as text (issue 19 item 2): its data, its options, hostile text.

The page in a browser is tests/e2e/test_page.py."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from viz.figures import page
from viz.scene import get_preset

DATA = re.compile(r'<script type="application/json" id="optviz-data">(.*?)</script>', re.S)


def data_of(text: str) -> dict:
    return json.loads(DATA.search(text).group(1))


def small(**changes):
    return replace(get_preset("radford-saddle"), steps=20, **changes)


def test_the_data_holds_every_run_and_both_views():
    sc = small()
    doc = data_of(page.page_html(sc))
    assert doc["steps"] == 20 and doc["names"] == [r.label for r in sc.resolved_runs()]
    runs = sc.compute()
    for shown, traj in zip(doc["runs"], runs, strict=True):
        assert shown["x"] == pytest.approx(traj.points[:, 0].tolist(), rel=1e-6)
    assert {"contour", "contour_top", "surface"} <= doc.keys()
    # played as long as the GIF of the same options: 21 frames at 25 fps
    assert doc["steps_per_second"] == pytest.approx(20 * 25 / 20)


@pytest.mark.parametrize(("view", "keys"), [("contour", {"contour"}), ("3d", {"surface"})])
def test_one_view_pages(view, keys):
    doc = data_of(page.page_html(small(), page.check_options(small(), view)))
    assert keys <= doc.keys() and not ({"contour", "surface"} - keys) & doc.keys()


def test_hostile_text_stays_text():
    evil = "</script><script>alert(1)</script>"
    sc = small(title=evil, description=evil)
    runs = tuple(replace(r, label=evil, colour="url(http://example.invalid/x)") for r in sc.runs)
    text = page.page_html(replace(sc, runs=runs))
    # the only </script> closings are the page's own three scripts
    assert text.count("</script>") == 3 and "<script>alert" not in text
    assert data_of(text)["names"][0] == evil
    assert "example.invalid" not in text.replace(DATA.search(text).group(1), "")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"view": "side"}, "view must be one of"),
        ({"size": (5000, 100)}, "size must be between"),
        ({"fps": 0}, "fps must be between"),
        ({"frames": 0}, "frames must be between"),
        ({"title": 3}, "title must be text"),
    ],
)
def test_bad_options_are_refused(options, words):
    with pytest.raises(ValueError, match=words):
        page.render_html(small(), **options)


def test_a_classifiers_page_has_the_accuracy_strip_its_description_promises():
    """radford-noisy-moons says "the strip under the map is each rule's accuracy": the
    page draws it, each run's whole-data accuracy per step; the saddle's page has none."""
    moons = replace(get_preset("radford-noisy-moons"), steps=30)
    assert "strip under the map" in moons.description
    data = page.scene_data(moons, page.check_options(moons))
    surface, runs = moons.get_surface(), moons.compute()
    assert data["strip"]["title"] == "Accuracy on all the data, per step"
    assert data["strip"]["markers"] == 1
    got = [trace["y"] for trace in data["strip"]["figure"]["data"]]
    want = [surface.accuracy(t.points) for t in runs]
    assert len(got) == len(want) == len(moons.runs)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(list(w), abs=1e-12)
    assert 'id="strip"' in page.page_html(moons)
    saddle = get_preset("radford-saddle")
    assert "strip" not in page.scene_data(saddle, page.check_options(saddle))
    assert "strip" not in page.scene_data(moons, page.check_options(moons, "3d"))


def test_the_network_page_has_the_projection_check_its_description_promises():
    """network-moons says "the strip under the views shows both" (true loss against the
    plane's, and the distance from the plane): the page draws the app's check."""
    from viz.scene import landscape

    net = get_preset("network-moons")
    assert "strip under the views shows both" in net.description
    data = page.scene_data(net, page.check_options(net))
    res = landscape.cached(net.network, landscape.budget_for(net.network))
    traces = data["strip"]["figure"]["data"]
    roles = {t["meta"]["role"] for t in traces}
    assert roles == {"true", "plane", "distance"} and data["strip"]["markers"] == 2
    distance = [t["y"] for t in traces if t["meta"]["role"] == "distance"]
    for got, want in zip(distance, res.distance, strict=True):
        assert got == pytest.approx(list(want), rel=5e-5)  # the figure keeps 5 digits
