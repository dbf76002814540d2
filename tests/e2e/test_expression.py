"""The "f(x, y) =" box and the schedule chooser in headless Chromium (issue 5, items 1 and 3)."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from selenium.webdriver.common.by import By

from surfaces import from_expression
from tests.e2e.browser import element as el
from tests.e2e.browser import type_into as _type
from tests.e2e.browser import wait
from viz.ui import ids

pytestmark = pytest.mark.e2e


def type_into(duo, id_, text):
    _type(duo, id_, text, enter=True)


GRAPH = "document.querySelector('#{} .js-plotly-plot')"
CONTOUR_Z = f"(function(){{const g = {GRAPH.format(ids.CONTOUR)};"
CONTOUR_Z += " if (!g || !g._fullData) return null;"
CONTOUR_Z += " const c = g._fullData.find(t => t.type === 'contour'); if (!c) return null;"
CONTOUR_Z += " return {x: Array.from(c.x), y: Array.from(c.y),"
CONTOUR_Z += " z: Array.from(c.z, r => Array.from(r))};})()"


def contour(duo):
    return duo.driver.execute_script(f"return {CONTOUR_Z};")


def test_expression_box_good_then_bad(app_page):
    wait(app_page, f"{CONTOUR_Z} !== null")
    wait(app_page, "window.dash_clientside.optviz.state.runs.length > 0")
    wait(app_page, f"{CONTOUR_Z}.x[0] === -4.5")  # the page settled on Radford's Beale
    before = contour(app_page)
    # Beale has its own window: the boxes of your function's window are not shown
    assert not el(app_page, ids.X_RANGE).is_displayed()

    text = "x**2 + 3*y**2 + sin(3*x)"
    type_into(app_page, ids.EXPRESSION, text)
    # The contour is the typed function's: its grid values equal f on the same grid.
    wait(app_page, f"JSON.stringify({CONTOUR_Z}) !== {json.dumps(json.dumps(before))}")
    wait(app_page, f"{CONTOUR_Z}.x[0] === -2")
    got = contour(app_page)
    f = from_expression(text, x_range=(-2, 2), y_range=(-2, 2))
    x0, y0 = got["x"][3], got["y"][5]
    # the grid travels with 7 significant digits (figures._finite_or_none)
    assert got["z"][5][3] == pytest.approx(float(f.value((x0, y0))), rel=1e-6, abs=1e-12)
    assert got != before
    assert el(app_page, ids.EXPRESSION_MSG).text == ""
    # your function's window: its boxes are shown, and a new window redraws the map
    assert el(app_page, ids.X_RANGE).is_displayed() and el(app_page, ids.Y_RANGE).is_displayed()
    type_into(app_page, ids.X_RANGE, "-3, 3")
    wait(app_page, f"{CONTOUR_Z}.x[0] === -3")
    type_into(app_page, ids.X_RANGE, "-2, 2")
    wait(app_page, f"{CONTOUR_Z}.x[0] === -2")
    got = contour(app_page)

    # A bad expression: the located message, and the previous surface stays.
    type_into(app_page, ids.EXPRESSION, "x**2 + z")
    msg = wait(app_page, f"document.getElementById('{ids.EXPRESSION_MSG}').innerText")
    assert "'z'" in msg and "column 8" in msg
    time.sleep(1.0)
    assert contour(app_page) == got
    app_page.driver.save_screenshot("/tmp/optviz-expression.png")


def test_schedule_chooser_draws_lr_plot(app_page):
    wait(app_page, "window.dash_clientside.optviz.state.runs.length > 0")
    opt = json.loads(
        app_page.driver.execute_script(
            f'return document.querySelector(\'[id*="{ids.SCHED}"][id*="opt"]\').id;'
        )
    )["opt"]
    plot = json.dumps(ids.sched_plot(opt), sort_keys=True, separators=(",", ":"))
    assert not app_page.driver.find_element(By.CSS_SELECTOR, f"[id='{plot}']").is_displayed()
    dd = el(app_page, ids.sched(opt))
    dd.click()
    option = wait(
        app_page,
        "Array.from(document.querySelectorAll('.dash-dropdown-option, [role=option]'))"
        ".find(o => o.innerText.trim() === 'Exponential decay')",
    )
    option.click()
    sel = f"[id='{plot}'] .js-plotly-plot"
    ys = wait(
        app_page,
        f"(function(){{const g = document.querySelector({json.dumps(sel)});"
        " return g && g._fullData && g._fullData[0] && Array.from(g._fullData[0].y);})()",
    )
    lr = float(el(app_page, ids.hyper(opt, "lr")).get_attribute("value"))
    assert ys[0] == pytest.approx(lr, rel=1e-12)
    assert all(b < a for a, b in itertools.pairwise(ys))  # exponential decay: falls
    # a new α₀ (typed; the recompute redraws the plot): the curve starts there, same decay
    new = f"{lr * 3:.6g}"
    type_into(app_page, ids.hyper(opt, "lr"), new)
    first = f"document.querySelector({json.dumps(sel)})._fullData[0].y[0]"
    wait(app_page, f"Math.abs({first} - {new}) <= 1e-12 * {new}")
    ys3 = app_page.driver.execute_script(
        f"return Array.from(document.querySelector({json.dumps(sel)})._fullData[0].y);"
    )
    assert ys3 == pytest.approx([y * float(new) / lr for y in ys], rel=1e-9)
    app_page.driver.save_screenshot("/tmp/optviz-schedule.png")
