"""A pytorch-optimizer rule picked from the optimizer picker races in the real app.

The app runs in a process of its own, new, so that its page opens before the server has
looked the library rules up: the picker holds the notes' rules at once, the line says
"Looking up…", then counts the library rules, and typing a name finds one."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from optimizers import OPTIMIZERS, library
from tests.e2e.browser import free_port, js, set_props, wait
from viz.ui import ids, library_picker, rule_editor

pytestmark = pytest.mark.e2e
pytest.importorskip("pytorch_optimizer")

ROOT = Path(__file__).resolve().parents[2]
RULE = "pytorch_optimizer:Lamb"
TOP = f"document.querySelector('#{ids.CONTOUR_TOP} .js-plotly-plot')"
KEYS = "window.dash_clientside.optviz.state.runs.map(r => r.key).join()"


@pytest.fixture
def new_server(tmp_path):
    """``python app.py`` on a free port: the address of an app process just started."""
    port, log = free_port(), tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=out, stderr=out
        )
    url, end = f"http://127.0.0.1:{port}/", time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "_dash-layout", timeout=5) as r:
                    layout = json.loads(r.read())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < end, log.read_text()
                time.sleep(0.2)
        yield url, layout
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _find(node, id_):
    """The component of ``id_`` in a layout's JSON."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == id_:
            return node
        node = list(node.get("props", {}).values())
    for child in node if isinstance(node, list) else []:
        if (got := _find(child, id_)) is not None:
            return got
    return None


def test_pick_a_pytorch_optimizer_rule_and_see_it_race(browser_tab, new_server):
    url, layout = new_server
    # served before the rules were looked up: the notes' rules at once, and the line says so
    values = [o["value"] for o in _find(layout, ids.OPTIMIZERS)["props"]["options"]]
    assert set(OPTIMIZERS) <= set(values) and rule_editor.OWN in values
    assert not [v for v in values if v.partition(":")[0] in library.PREFIXES]
    assert _find(layout, library_picker.NOTE)["props"]["children"] == library_picker.LOOKING
    app_page = browser_tab
    app_page.driver.get(url)
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
