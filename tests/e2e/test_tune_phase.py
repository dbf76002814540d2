"""The Tune and Phase diagram tabs in the real app (headless Chromium): the race replayed at
the tuned values, and a click on a phase-diagram cell setting the cards."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from selenium.webdriver.common.action_chains import ActionChains

from optimizers import compiled
from optimizers.phase import parse_axis
from tests.e2e.browser import element, js, set_props, type_into, wait
from tests.e2e.test_panels import GRAPH, duo, open_tab, shot  # noqa: F401 - the fixture
from viz.scene import get_preset
from viz.scene.tuning import tune_scene
from viz.ui import ids, progress
from viz.ui.layout import fmt
from viz.ui.panels import phase, tune

pytestmark = pytest.mark.e2e


def card_value(d, rule: str, name: str) -> str:
    return element(d, ids.hyper(rule, name)).get_attribute("value")


def first_step(d) -> list:
    """Each run's point after one step, as the page animates it."""
    return js(d, f"return {STEP1};")


STEP1 = "window.dash_clientside.optviz.state.runs.map(r => [r.x[1], r.y[1]])"


def test_tune_in_the_browser_and_the_race_replays_at_the_tuned_values(duo):  # noqa: F811
    open_tab(duo, "Tune")
    duo.wait_for_element(f"#{tune.TUNE_BTN}")
    # a budget of 10⁹ trials: a message, nothing runs, nothing to replay
    type_into(duo, tune.TUNE_BUDGET, "1000000000")
    duo.find_element(f"#{tune.TUNE_BTN}").click()
    duo.wait_for_contains_text(f"#{tune.TUNE_MSG}", "between 2 and 1,000", timeout=30)
    assert duo.find_element(f"#{tune.TUNE_REPLAY}").get_attribute("disabled")

    type_into(duo, tune.TUNE_BUDGET, "16")
    duo.find_element(f"#{tune.TUNE_BTN}").click()
    duo.wait_for_contains_text(f"#{tune.TUNE_TABLE}", "Tuned in", timeout=60)
    assert duo.find_element(f"#{tune.TUNE_MSG}").text == ""  # the old message went
    scene = get_preset("radford-beale")
    tunings, tuned = tune_scene(scene, objective="area", trials=16)
    rows = duo.driver.find_elements("css selector", ".tune-result tr")
    assert len(rows) == 1 + len(scene.runs)
    for row, t in zip(rows[1:], tunings, strict=True):
        assert f"lr = {t.rules[0].hyper['lr']:.4g}" in row.text
    shot(duo, "panel-tune.png", tune.TUNE_TABLE)

    before = first_step(duo)
    wait(duo, f"!document.getElementById('{tune.TUNE_REPLAY}').disabled")
    duo.find_element(f"#{tune.TUNE_REPLAY}").click()
    # the cards show the tuned values and the race runs with them
    for run in tuned.runs:
        want = fmt(run.hyper["lr"])
        wait(
            duo,
            "(() => { const e = document.querySelector(arguments[0]);"
            " return e && e.value === arguments[1]; })()",
            60,
            f'[id=\'{{"name":"lr","opt":"{run.optimizer}","type":"hyper"}}\']',
            want,
        )
    wait(duo, f"JSON.stringify({STEP1}) !== arguments[0]", 60, json.dumps(before))
    after = first_step(duo)
    x0, y0 = scene.start
    g = scene.get_surface().grad(np.array([x0, y0]))
    for run, (x1, y1) in zip(tuned.runs, after, strict=True):
        if run.optimizer == "sgd":  # one plain step: start − α ∇f(start)
            # the cards hold 6 significant digits (layout.fmt) and the race runs at them
            lr = float(card_value(duo, "sgd", "lr"))
            assert lr == float(fmt(run.hyper["lr"]))
            assert x1 == pytest.approx(x0 - lr * g[0], rel=1e-12)
            assert y1 == pytest.approx(y0 - lr * g[1], rel=1e-12)


def test_click_a_phase_diagram_cell_and_the_cards_change(duo):  # noqa: F811
    open_tab(duo, "Phase diagram")
    duo.wait_for_element(f"#{phase.PHASE_BTN}")
    set_props(duo, phase.PHASE_OPT, {"value": "momentum"})
    wait(duo, f"document.getElementById('{phase.PHASE_Y}').value.startsWith('momentum:')")
    # a hyperparameter momentum does not have: a message
    type_into(duo, phase.PHASE_Y, "beta2:0.9:0.99")
    duo.find_element(f"#{phase.PHASE_BTN}").click()
    duo.wait_for_contains_text(f"#{phase.PHASE_MSG}", "no hyperparameter 'beta2'", timeout=30)

    type_into(duo, phase.PHASE_X, "lr:1e-4:0.01:log")
    type_into(duo, phase.PHASE_Y, "momentum:0:0.95")
    type_into(duo, phase.PHASE_CELLS, "20")
    duo.find_element(f"#{phase.PHASE_BTN}").click()
    g = GRAPH.format(phase.PHASE_GRAPH)
    wait(duo, f"{g}.data.length > 0 && {g}.data[0].type === 'heatmap'", 60)
    assert "20×20 cells" in js(duo, f"return {g}.layout.title.text")
    shot(duo, "panel-phase.png", phase.PHASE_GRAPH)
    xs, ys = parse_axis("lr:1e-4:0.01:log").values(20), parse_axis("momentum:0:0.95").values(20)
    i, j = 12, 5
    target = js(
        duo,
        f"const g = {g}, L = g._fullLayout, r = g.getBoundingClientRect();"
        "return {px: r.left + L._size.l + L.xaxis.l2p(L.xaxis.d2l(arguments[0])),"
        " py: r.top + L._size.t + L.yaxis.l2p(L.yaxis.d2l(arguments[1]))};",
        float(xs[j]),
        float(ys[i]),
    )
    actions = ActionChains(duo.driver)
    actions.w3c_actions.pointer_action.move_to_location(int(target["px"]), int(target["py"]))
    actions.w3c_actions.pointer_action.click()
    actions.perform()
    wait(
        duo,
        "(() => { const e = document.querySelector(arguments[0]);"
        " return e && e.value === arguments[1]; })()",
        60,
        '[id=\'{"name":"lr","opt":"momentum","type":"hyper"}\']',
        fmt(float(xs[j])),
    )
    assert card_value(duo, "momentum", "momentum") == fmt(float(ys[i]))
    assert card_value(duo, "sgd", "lr") == fmt(get_preset("radford-beale").runs[0].hyper["lr"])


# Every 50 ms, the phase panel's bar as the page shows it: (ms since the click, shown?,
# value, label), kept in window.__bar until the test reads it.
WATCH_BAR = """
window.__bar = []; const t0 = Date.now();
window.__barTimer = setInterval(() => {
  const box = document.getElementById(arguments[0]);
  const bar = document.getElementById(arguments[0] + '-bar');
  const label = document.getElementById(arguments[0] + '-label');
  window.__bar.push([Date.now() - t0, getComputedStyle(box).display !== 'none',
                     Number(bar.value), label.textContent]);
}, 50);
"""


def long_phase_diagram(page) -> tuple[list, list]:
    """A 200×200 × 2,000-step phase diagram asked for and drawn: (every 50 ms of the bar
    from the click to the drawing, the moments it was shown)."""
    open_tab(page, "Phase diagram")
    set_props(page, phase.PHASE_OPT, {"value": "momentum"})
    wait(page, f"document.getElementById('{phase.PHASE_Y}').value.startsWith('momentum:')")
    type_into(page, phase.PHASE_CELLS, "200")
    type_into(page, phase.PHASE_STEPS, "2000")  # 80 M point-steps: seconds, not a blink
    # Every compiled loop loaded, as in a served app after start-up: while this process
    # was still loading them, its first report came 3 s late in CI.
    compiled.warm(block=True)
    hidden = "return getComputedStyle(document.getElementById(arguments[0])).display === 'none'"
    assert js(page, hidden, ids.PHASE_PROGRESS)  # no bar before a request
    js(page, WATCH_BAR, ids.PHASE_PROGRESS)
    page.find_element(f"#{phase.PHASE_BTN}").click()
    g = GRAPH.format(phase.PHASE_GRAPH)
    wait(page, f"{g}.layout.title && {g}.layout.title.text.includes('200×200 cells')", 90)
    wait(page, "window.__bar.length && !window.__bar[window.__bar.length - 1][1]", 10)
    seen = js(page, "clearInterval(window.__barTimer); return window.__bar;")
    return seen, [(ms, value, text) for ms, on, value, text in seen if on]


def test_the_bar_moves_when_each_answer_is_slower_than_the_pages_asks(duo, monkeypatch):  # noqa: F811
    """Dash drops a callback's answer once it has fired again: asking every 250 ms while
    each answer takes 400 ms (a loaded server) drew nothing at all before the page
    waited for each answer. The app runs in this process, so its reading is slowed here."""
    read = progress.read

    def slow(page, panels):
        time.sleep(0.4)
        return read(page, panels)

    monkeypatch.setattr(progress, "read", slow)
    _, shown = long_phase_diagram(duo)
    assert shown, "the bar never showed"
    values = [v for _, v, text in shown if "%" in text]
    assert len(set(values)) >= 2 and values == sorted(values), values


def test_a_long_phase_diagram_shows_how_far_it_has_got_until_it_arrives(duo):  # noqa: F811
    seen, shown = long_phase_diagram(duo)
    assert shown, "the bar never showed"
    # From about half a second on (1.5 s slack for CI); on a machine so loaded that the
    # whole wait stretches too, at least through its last three quarters (here: 0.9 of 8.4 s).
    assert shown[0][0] < max(2000, seen[-1][0] / 4), (shown[0], seen[-1][0])
    values = [v for _, v, text in shown if "%" in text]
    assert len(set(values)) >= 2 and values == sorted(values), values  # it moves, forward
    assert 0 <= values[0] < values[-1] <= 1
    assert any("s left" in text for *_, text in shown)
    assert not seen[-1][1]  # gone once the diagram is drawn
