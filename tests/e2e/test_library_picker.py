"""A pytorch-optimizer rule picked from the optimizer picker races in the real app."""

from __future__ import annotations

import json
import math

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from optimizers import OPTIMIZERS
from tests.e2e.browser import js, set_props, wait
from viz.ui import ids

pytestmark = pytest.mark.e2e
pytest.importorskip("pytorch_optimizer")

RULE = "pytorch_optimizer:Lamb"
TOP = f"document.querySelector('#{ids.CONTOUR_TOP} .js-plotly-plot')"
KEYS = "window.dash_clientside.optviz.state.runs.map(r => r.key).join()"


def test_pick_a_pytorch_optimizer_rule_and_see_it_race(app_page):
    wait(app_page, "window.dash_clientside.optviz.state.runs.length > 0")
    # the line counts the library rules once the server has found them (in the background)
    more = wait(
        app_page,
        "document.querySelector('.opt-more').innerText.includes(' from ')"
        " && document.querySelector('.opt-more').innerText",
    )
    assert "more from pytorch-optimizer" in more and "type a name to search" in more
    set_props(app_page, ids.PRESET, {"value": ""})
    set_props(app_page, ids.SURFACE, {"value": "rosenbrock"})
    set_props(app_page, ids.OPTIMIZERS, {"value": ["adam"]})
    wait(app_page, f"{KEYS} === 'adam'")

    # search the picker as a user would: open it, type part of the name, pick the option
    app_page.find_element(f"#{ids.OPTIMIZERS}").click()
    box = wait(
        app_page,
        f"document.querySelector('.dash-dropdown-search, [id=\"{ids.OPTIMIZERS}\"] input')",
    )
    box.send_keys("lamb")
    option = wait(
        app_page,
        "Array.from(document.querySelectorAll('.dash-dropdown-option, [role=option]'))"
        f".find(o => o.innerText.trim() === {json.dumps(RULE)})",
    )
    option.click()
    box.send_keys(Keys.ESCAPE)
    wait(app_page, f"{KEYS} === 'adam,{RULE}'")

    # its trail is drawn in its own colour, under its name, and grows when played
    trail = f"{TOP}.data.filter(t => t.meta && t.meta.role === 'trail')[1]"
    wait(app_page, f"{trail} && {trail}.line.color === {json.dumps(OPTIMIZERS[RULE].colour)}")
    app_page.find_element(f"#{ids.PLAY}").click()
    wait(app_page, f"{trail}.x.length > 30")
    xs = js(app_page, f"return {trail}.x;")
    assert all(math.isfinite(x) for x in xs) and len(set(xs)) > 10  # it moves
    wait(app_page, f"document.getElementById('{ids.LEGEND}').innerText.includes('{RULE}')")
    rows = f"[...document.querySelectorAll('#{ids.RESULTS} tbody tr')].map(r => r.innerText)"
    row = wait(app_page, f"{rows}.find(t => t.startsWith({json.dumps(RULE)}))")
    numbers = [float(w) for w in row.split()[1:] if _is_number(w)]
    assert numbers and all(math.isfinite(v) for v in numbers)
    # its card: the rule's name and its lr on a log slider; other numbers typed, no slider
    card = app_page.driver.find_element(By.CSS_SELECTOR, f".opt-card[data-opt='{RULE}']")
    assert RULE in card.text
    assert card.find_elements(By.CSS_SELECTOR, ".hyper-row.log .hyper-slider")
    typed = card.find_elements(By.CSS_SELECTOR, ".hyper-row.typed")
    assert typed and not any(t.find_elements(By.CSS_SELECTOR, ".hyper-slider") for t in typed)
    app_page.driver.save_screenshot("/tmp/optviz-library-picker.png")
    logs = [e for e in app_page.get_logs() or [] if e["level"] == "SEVERE"]
    assert not [e for e in logs if e.get("source") != "rendering"]


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
