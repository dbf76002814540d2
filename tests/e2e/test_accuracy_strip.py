"""Radford's noisy moons in the real app: the accuracy strip under the views (headless Chromium)."""

from __future__ import annotations

import pytest

from surfaces import get_surface
from tests.e2e.browser import js, set_props, wait
from viz.scene import get_preset
from viz.ui import ids

pytestmark = pytest.mark.e2e

STRIP = f"document.querySelector('#{ids.ACC_STRIP} .js-plotly-plot')"
BOX = f"document.getElementById('{ids.ACC_STRIP_BOX}')"


@pytest.fixture
def window_size():
    return (1280, 900)


@pytest.fixture
def duo(app_page):
    app_page.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=30)
    n = len(get_preset("radford-beale").runs)  # the page opens on Radford's Beale
    wait(app_page, f"window.dash_clientside.optviz.state.runs.length === {n}")
    return app_page


def marker(duo) -> float:
    return js(duo, f"return {STRIP}.layout.shapes[0].x0")


def test_the_noisy_moons_accuracy_strip_is_drawn_and_follows_the_step(duo):
    sc = get_preset("radford-noisy-moons")
    assert js(duo, f"return getComputedStyle({BOX}).display") == "none"  # Beale: no strip
    set_props(duo, ids.PRESET, {"value": "radford-noisy-moons"})
    wait(
        duo,
        f"{STRIP} && {STRIP}.data.length === {len(sc.runs)} && "
        f"getComputedStyle({BOX}).display !== 'none'",
        timeout=60,
    )
    # right under the two views, as wide as they are
    views = js(
        duo,
        "const v = document.querySelector('.views').getBoundingClientRect();"
        f"const s = {BOX}.getBoundingClientRect();"
        "return [v.bottom, s.top, v.width, s.width];",
    )
    assert 0 <= views[1] - views[0] < 40 and abs(views[2] - views[3]) < 2
    # each run's curve in its colour: the whole data set's accuracy at every step
    got = js(duo, f"return {STRIP}.data.map(t => [t.meta.run, t.line.color, t.y]);")
    runs = sc.resolved_runs()
    assert [g[1] for g in got] == [r.colour for r in runs]
    paths = js(duo, "return window.dash_clientside.optviz.state.runs.map(r => [r.x, r.y]);")
    s = get_surface("logistic_moons")
    for (_, _, ys), (xs, yv) in zip(got, paths, strict=True):
        assert len(ys) == sc.steps + 1
        want = s.accuracy(list(zip(xs, yv, strict=True)))
        assert [round(v, 12) for v in ys] == [round(float(v), 12) for v in want]
    # the drawn plot has pixels: the SVG paths of the six lines are not empty
    lengths = js(
        duo,
        f"return Array.from({STRIP}.querySelectorAll('.scatterlayer path.js-line'))"
        ".map(p => p.getTotalLength());",
    )
    assert len(lengths) == len(sc.runs) and min(lengths) > 100
    # the step marker follows the playback: to the end, back to the start, one step on
    duo.find_element(f"#{ids.TO_END}").click()
    wait(duo, f"{STRIP}.layout.shapes[0].x0 === {sc.steps}")
    duo.find_element(f"#{ids.TO_START}").click()
    wait(duo, f"{STRIP}.layout.shapes[0].x0 === 0")
    for _ in range(3):
        duo.find_element(f"#{ids.STEP_FORWARD}").click()
    wait(duo, f"{STRIP}.layout.shapes[0].x0 === 3")
    assert js(duo, "return window.dash_clientside.optviz.state.k") == marker(duo) == 3
    # another scene: the strip goes away
    set_props(duo, ids.PRESET, {"value": "radford-beale"})
    wait(duo, f"getComputedStyle({BOX}).display === 'none'", timeout=60)
