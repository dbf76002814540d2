"""A rule typed in the real app (headless Chromium): refused text says where and changes
nothing; an accepted one races, is tuned in the Tune tab, travels in the share link to a
second browser, and is exported in a GIF."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import pytest_setup_options
from tests.e2e.browser import set_props, until, wait, wait_file
from tests.e2e.test_panels import open_tab
from viz.scene import get_preset
from viz.ui import ids, share
from viz.ui import rule_editor as ed
from viz.ui.panels import tune

pytestmark = pytest.mark.e2e

LOAD = 120.0
RULE = "W = W - lr * sign(g)"
KEYS = "window.dash_clientside.optviz.state.runs.map(r => r.key).join()"


def write(driver, id_, text):
    box = driver.find_element(By.ID, id_)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def runs_of(driver):
    return driver.execute_script(
        "return window.dash_clientside.optviz.state.runs.map("
        "r => [r.key, r.label, r.colour, Array.from(r.x), Array.from(r.y)]);"
    )


def box_id(opt, name):
    return json.dumps(ids.hyper(opt, name), sort_keys=True, separators=(",", ":"))


def test_type_a_rule_race_it_share_it_and_export_it(app_page, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    d1 = app_page.driver
    d1.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    n = len(get_preset("radford-beale").runs)
    wait(app_page, f"window.dash_clientside.optviz.state.runs.length === {n}", LOAD)

    # "Write your own…" from the picker opens the editor.
    assert not d1.find_element(By.ID, ed.RULE_BOX).is_displayed()
    set_props(app_page, ids.OPTIMIZERS, {"value": ["sgd", "adam", ed.OWN]})
    until(lambda: d1.find_element(By.ID, ed.RULE_BOX).is_displayed())
    wait(app_page, f"{KEYS} === 'sgd,adam'")
    before = runs_of(d1)

    # A hostile text: a message under the editor, the page as it was.
    write(d1, ed.RULE_NAME, "signum")
    write(d1, ed.RULE_TEXT, "W = W.__class__")
    d1.find_element(By.ID, ed.RULE_DRAW).click()
    app_page.wait_for_contains_text(f"#{ed.RULE_MSG}", "attribute access (a.b) is not allowed")
    assert "(line 1, column 5)" in d1.find_element(By.ID, ed.RULE_MSG).text
    time.sleep(1.0)
    assert runs_of(d1) == before

    # The rule as the notes would write it: it races, with its own colour and its name.
    write(d1, ed.RULE_TEXT, RULE)
    d1.find_element(By.ID, ed.RULE_DRAW).click()
    wait(app_page, f"{KEYS} === 'sgd,adam,own:signum'", LOAD)
    assert d1.find_element(By.ID, ed.RULE_MSG).text == ""
    runs = runs_of(d1)
    mine = runs[-1]
    assert mine[1] == "signum" and mine[2] not in {r[2] for r in runs[:-1]}
    steps = len(mine[3]) - 1
    assert steps > 10 and np.isfinite(mine[3]).all()
    # a sign step moves each coordinate by exactly α = 0.01 while the gradient is not 0
    assert np.allclose(np.abs(np.diff(mine[3][:10])), 0.01)
    until(lambda: "signum" in d1.find_element(By.ID, ids.LEGEND).text)
    until(lambda: "signum" in d1.find_element(By.ID, ids.RESULTS).text)
    card = d1.find_element(By.ID, ed.RULE_CARDS)
    assert "signum" in card.text and card.find_elements(By.CSS_SELECTOR, "mjx-container")
    d1.save_screenshot("/tmp/optviz-rule-editor.png")

    # Its card's α box (from the rule's own HyperSpec, on a log slider) changes its step.
    alpha = d1.find_element(By.CSS_SELECTOR, f"[id='{box_id('own:signum', 'lr')}']")
    alpha.send_keys(Keys.CONTROL, "a")
    alpha.send_keys("0.05", Keys.ENTER)
    until(lambda: np.isclose(abs(runs_of(d1)[-1][3][1] - runs_of(d1)[-1][3][0]), 0.05))
    runs = runs_of(d1)
    mine = runs[-1]

    # The Tune tab tunes it with the others; the replay sets its own card's α.
    open_tab(app_page, "Tune")
    write(d1, tune.TUNE_BUDGET, "8")
    d1.find_element(By.ID, tune.TUNE_BTN).click()
    app_page.wait_for_contains_text(f"#{tune.TUNE_TABLE}", "Tuned in", timeout=LOAD)
    rows = d1.find_elements(By.CSS_SELECTOR, ".tune-result tr")
    assert len(rows) == 4 and "signum" in rows[-1].text and "lr = " in rows[-1].text
    assert d1.find_element(By.ID, tune.TUNE_MSG).text == ""
    tuned_lr = rows[-1].text.split("lr = ")[1].split()[0]
    until(lambda: not d1.find_element(By.ID, tune.TUNE_REPLAY).get_attribute("disabled"))
    d1.find_element(By.ID, tune.TUNE_REPLAY).click()
    box = f"[id='{box_id('own:signum', 'lr')}']"
    # read in one script: the replay re-renders the cards (a found element can go stale)
    value = "const e = document.querySelector(arguments[0]); return e ? e.value : '';"
    until(lambda: d1.execute_script(value, box) not in ("", "0.05"))
    got = float(d1.execute_script(value, box))
    assert got == pytest.approx(float(tuned_lr), rel=1e-3)  # the table shows 4 digits
    until(lambda: np.isclose(abs(runs_of(d1)[-1][3][1] - runs_of(d1)[-1][3][0]), got))
    alpha = d1.find_element(By.CSS_SELECTOR, box)
    alpha.send_keys(Keys.CONTROL, "a")
    alpha.send_keys("0.05", Keys.ENTER)  # back to the α the link below is checked with
    until(lambda: np.isclose(abs(runs_of(d1)[-1][3][1] - runs_of(d1)[-1][3][0]), 0.05))
    runs = runs_of(d1)
    mine = runs[-1]

    # The share link carries it; a second browser opens the link and races the same rule.
    def shared():
        value = d1.find_element(By.ID, ids.SHARE_LINK).get_attribute("value")
        if not value or "#" not in value:
            return None
        scene, _ = share.read("#" + value.split("#", 1)[1])
        ok = scene and any(r.code == RULE and r.hyper.get("lr") == 0.05 for r in scene.runs)
        return value if ok else None

    link = until(shared)
    d2 = webdriver.Chrome(options=pytest_setup_options())
    try:
        d2.get(link)
        until(
            lambda: (
                d2.execute_script(f"try {{ return {KEYS}; }} catch (e) {{ return ''; }}")
                == "sgd,adam,own:signum"
            ),
            timeout=LOAD,
        )
        assert until(lambda: runs_of(d2) == runs and runs_of(d2))
        assert d2.find_element(By.ID, ed.RULE_TEXT).get_attribute("value") == RULE
        assert d2.find_element(By.ID, ed.RULE_NAME).get_attribute("value") == "signum"
        assert d2.find_element(By.ID, ed.RULE_BOX).is_displayed()
    finally:
        d2.quit()

    # The GIF export of the first page holds it: frames, and its colour in the picture.
    d1.find_element(By.CSS_SELECTOR, f"#{ids.EXPORT_VIEW} input[value='contour']").click()
    write(d1, ids.EXPORT_FRAMES, "12")
    d1.find_element(By.ID, ids.EXPORT_BTN).click()
    path = wait_file(downloads, timeout=90.0)
    colour = mine[2]
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    with Image.open(path) as im:
        assert im.n_frames > 1
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB")).astype(int)
    assert (np.abs(last - rgb).sum(axis=-1) < 30).sum() > 50
