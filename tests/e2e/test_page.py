"""The standalone page (issue 19 item 2), opened from ``file://`` in headless Chromium with
its network switched off (DevTools' offline emulation): it plays, scrubs, rotates, shows
both views, and the browser records no resource but the file itself."""

from __future__ import annotations

import json
import re
import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

import optviz_cli
from tests.conftest import pytest_setup_options
from viz.figures import page
from viz.scene import get_preset

pytestmark = pytest.mark.e2e


PATHS = "document.getElementById('surface').data.filter(t => (t.meta || {}).role === 'path')"


def run(driver, script, *args):
    return driver.execute_script(script, *args)


def wait(driver, script, timeout=60.0):
    end, value = time.monotonic() + timeout, None
    while time.monotonic() < end:
        value = run(driver, f"return ({script});")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script} (last {value!r})")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "saddle.html"
    assert optviz_cli.main(["export", "--preset", "radford-saddle", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def browser(saved):
    driver = webdriver.Chrome(options=pytest_setup_options())
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        driver.get(saved.as_uri())
        wait(driver, "document.body.dataset.ready === '1'", 120)
        yield driver
    finally:
        driver.quit()


def counter(driver) -> str:
    return driver.find_element(By.ID, "counter").text


def test_the_page_is_one_file_with_plotly_and_the_data_inlined(saved):
    text = saved.read_text(encoding="utf-8")
    assert page.plotly_js() in text
    own = text.replace(page.plotly_js(), "")  # the page's own parts link nothing either
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\(|https?:", own)
    data = re.search(r'<script type="application/json" id="optviz-data">(.*?)</script>', text, re.S)
    doc = json.loads(data.group(1))
    scene = get_preset("radford-saddle")
    assert doc["steps"] == scene.steps
    assert doc["names"] == [r.label for r in scene.resolved_runs()]


def test_both_views_are_drawn(browser):
    scene = get_preset("radford-saddle")
    names = [r.label for r in scene.resolved_runs()]
    top = run(browser, "return document.getElementById('contour-top').data.map(t => t.name)")
    assert [n for n in top if n in names] == names
    bg = run(browser, "return document.getElementById('contour-bg').data[0].type")
    assert bg == "contour"
    types = run(browser, "return document.getElementById('surface').data.map(t => t.type)")
    assert types[0] == "surface"
    paths = run(browser, f"return {PATHS}.map(t => t.name)")
    assert paths == names
    assert run(browser, "return !!document.querySelector('#surface canvas')")
    assert run(browser, "return !!document.querySelector('#contour-bg .contour')")


def test_the_mode_bar_keeps_its_small_buttons(browser):
    """The page's own button style is the Play button's, not Plotly's mode bar's (they
    were 104 px wide each, a scattered grid over the views)."""
    widths = run(browser, "return [...document.querySelectorAll('.modebar-btn')]"
                          ".map(b => b.getBoundingClientRect().width)")  # fmt: skip
    assert widths and max(widths) < 40, widths
    play = run(browser, "return document.getElementById('play').getBoundingClientRect().width")
    assert play >= 6 * 14  # 6.5em of the 14 px font


def test_it_plays(browser):
    steps = get_preset("radford-saddle").steps
    assert counter(browser) == f"step {steps} / {steps}"  # opens on the whole run
    browser.find_element(By.ID, "play").click()
    k = wait(browser, "window.optvizPage.k > 5 && window.optvizPage.k < 150 && window.optvizPage.k")
    later = wait(browser, f"window.optvizPage.k > {k} && window.optvizPage.k")
    assert later > k
    browser.find_element(By.ID, "play").click()  # pause
    wait(browser, "!window.optvizPage.playing")
    k = run(browser, "return window.optvizPage.k")
    assert counter(browser) == f"step {k} / {steps}"
    trail = run(browser, "return document.getElementById('contour-top').data[1].x.length")
    assert trail == k + 1


def test_scrubbing_sets_the_step(browser):
    steps = get_preset("radford-saddle").steps
    run(
        browser,
        "const s = document.getElementById('scrub'); s.value = 37;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    assert counter(browser) == f"step 37 / {steps}"
    assert run(browser, "return document.getElementById('contour-top').data[1].x.length") == 38
    lengths = run(browser, f"return {PATHS}.map(t => t.z.length)")
    assert lengths == [38] * len(lengths)


def test_the_3d_view_rotates(browser):
    eye = "JSON.stringify(document.getElementById('surface')._fullLayout.scene.camera.eye)"
    before = run(browser, f"return {eye}")
    surface = browser.find_element(By.ID, "surface")
    run(browser, "arguments[0].scrollIntoView({block: 'center'});", surface)
    turned = f"(() => {{ const e = {eye}; return e !== {json.dumps(before)} && e; }})()"
    after = None
    for _ in range(3):  # a drag as a hand makes it, in small moves (one 120 px jump can be
        # lost while software WebGL is busy drawing); dragged again if the view did not turn
        chain = ActionChains(browser).move_to_element(surface).click_and_hold()
        for _ in range(6):
            chain = chain.move_by_offset(20, 5).pause(0.05)
        chain.release().perform()
        try:
            after = wait(browser, turned, 10)
            break
        except AssertionError:
            continue
    assert after and after != before


def test_nothing_was_fetched(browser, saved):
    names = run(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(n.startswith(("file:", "data:", "blob:")) for n in names), names
    nav = run(browser, "return performance.getEntriesByType('navigation').map(e => e.name)")
    assert nav == [saved.as_uri()]
    online = run(browser, "return navigator.onLine")
    assert online is False  # the emulation was on: anything fetched would have failed


def test_a_classifiers_page_moves_its_accuracy_marker_with_the_step(browser, tmp_path):
    """The noisy-moons page's strip: its dotted step marker follows the scrub bar."""
    path = tmp_path / "moons.html"
    assert optviz_cli.main(["export", "--preset", "radford-noisy-moons", "--out", str(path)]) == 0
    browser.get(path.as_uri())
    wait(browser, "document.body.dataset.ready === '1'", 120)
    assert run(browser, "return document.getElementById('strip').data.length") == 6
    run(
        browser,
        "const s = document.getElementById('scrub'); s.value = 42;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
    )
    wait(browser, "document.getElementById('strip').layout.shapes[0].x0 === 42")
