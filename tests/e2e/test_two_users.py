"""Two users at once on one server (issue 6): each page shows only its own settings.

Two headless Chromiums with their own profiles open the same server and change the same
controls to different values, interleaved. Each page's contour map must be its own
surface, its trajectories and loss curves exactly those its own settings give (computed
here by the same ``compute`` the server runs), and nothing of the other user's.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import pytest_setup_options
from viz.ui import callbacks, ids

pytestmark = pytest.mark.e2e

# Optimizers outside the default preset, so each card starts at the rule's own defaults.
ALICE = {"surface": "himmelblau", "optimizers": ["adam", "lion"], "lr": ("adam", "0.0137")}
BOB = {"surface": "rosenbrock", "optimizers": ["nadam", "amsgrad"], "lr": ("nadam", "0.0421")}

PAGE = f"""
const S = window.dash_clientside.optviz.state;
const g = document.querySelector('#{ids.CONTOUR} .js-plotly-plot');
const l = document.querySelector('#{ids.LOSS} .js-plotly-plot');
if (!S || !S.runs || !g || !g._fullData || !l || !l.data) return null;
const c = g._fullData.find(t => t.type === 'contour');
if (!c) return null;
const val = id => {{ const e = document.getElementById(id); return e ? e.value : null; }};
return {{
  runs: S.runs.map(r => [r.key, Array.from(r.x), Array.from(r.y)]),
  z: Array.from(c.z, r => Array.from(r)),
  loss_names: l.data.map(t => t.name),
  steps: val('{ids.STEPS}'), sx: val('{ids.START_X}'), sy: val('{ids.START_Y}'),
}};
"""


def until(driver, script, timeout=60.0):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = driver.execute_script(script)
        if last:
            return last
        time.sleep(0.2)
    driver.save_screenshot("/tmp/optviz-two-users-timeout.png")
    raise AssertionError(f"timed out: {script[:120]} (last {str(last)[:300]})")


def set_props(driver, id_, props):
    driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], arguments[1]);", id_, props
    )


def type_into(driver, id_, text):
    sel = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True, separators=(",", ":"))
    box = driver.find_element(By.CSS_SELECTOR, f"[id='{sel}']")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text, Keys.ENTER)


def keys_are(names):
    return (
        "const S = window.dash_clientside.optviz.state; return !!(S && S.runs && "
        f"S.runs.map(r => r.key).join() === {json.dumps(','.join(names))});"
    )


def expected(user, page):
    """What the user's own settings give, by the server's own compute."""
    opt, lr = user["lr"]
    s = callbacks.Settings(
        user["surface"],
        user["optimizers"],
        page["steps"],
        page["sx"],
        page["sy"],
        hyper={opt: {"lr": lr}},
    )
    o = callbacks.compute(s)
    assert o.ok, o.messages
    contour = o.contour.to_plotly_json() if hasattr(o.contour, "to_plotly_json") else o.contour
    z = next(t["z"] for t in contour["data"] if t.get("type") == "contour")
    loss = o.loss.to_plotly_json() if hasattr(o.loss, "to_plotly_json") else o.loss
    return o.traj["runs"], np.asarray(z, dtype=float), [t.get("name") for t in loss["data"]]


def test_two_browsers_at_once_each_see_only_their_own_settings(app_page):
    a = app_page.driver
    b = webdriver.Chrome(options=pytest_setup_options())  # its own fresh profile
    try:
        b.get(app_page.server_url)
        for d in (a, b):
            until(
                d,
                "const S = window.dash_clientside.optviz.state; "
                "return !!(S && S.runs && S.runs.length);",
            )
        # Interleaved: the same control changed by both users before either is done.
        for key in ("surface", "optimizers"):
            set_props(a, ids.SURFACE if key == "surface" else ids.OPTIMIZERS, {"value": ALICE[key]})
            set_props(b, ids.SURFACE if key == "surface" else ids.OPTIMIZERS, {"value": BOB[key]})
        for d, user in ((a, ALICE), (b, BOB)):
            until(d, keys_are(user["optimizers"]))
            opt, _ = user["lr"]
            sel = json.dumps(ids.hyper(opt, "lr"), sort_keys=True, separators=(",", ":"))
            until(d, f"return !!document.getElementById({json.dumps(sel)});")
        type_into(a, ids.hyper(ALICE["lr"][0], "lr"), ALICE["lr"][1])
        type_into(b, ids.hyper(BOB["lr"][0], "lr"), BOB["lr"][1])

        pages = {}
        for d, user, other in ((a, ALICE, BOB), (b, BOB, ALICE)):
            want_runs, want_z, want_names = expected(user, until(d, PAGE))

            def matches(d=d, want_runs=want_runs):
                page = d.execute_script(PAGE)
                if not page or [r[0] for r in page["runs"]] != [r["key"] for r in want_runs]:
                    return None
                same = all(
                    np.allclose(got[1], want["x"], rtol=1e-6, atol=1e-9)
                    and np.allclose(got[2], want["y"], rtol=1e-6, atol=1e-9)
                    for got, want in zip(page["runs"], want_runs, strict=True)
                )
                return page if same else None

            try:
                page, end = None, time.monotonic() + 60
                while page is None and time.monotonic() < end:
                    page = matches()
                    time.sleep(0.2)
                assert page is not None, f"{user['surface']}: the page never showed its runs"
            finally:
                d.save_screenshot(f"/tmp/optviz-two-users-{user['surface']}.png")
            got_z = np.asarray(page["z"], dtype=float)
            assert got_z.shape == want_z.shape
            assert np.allclose(got_z, want_z, rtol=1e-6, atol=1e-9, equal_nan=True)
            assert page["loss_names"] == want_names
            # Nothing of the other user's: their optimizers' labels are not drawn here.
            _, other_z, other_names = expected(other, page)
            assert not set(other_names) & set(page["loss_names"])
            assert got_z.shape != other_z.shape or not np.allclose(got_z, other_z, equal_nan=True)
            pages[user["surface"]] = page
        assert pages[ALICE["surface"]]["runs"] != pages[BOB["surface"]]["runs"]
    finally:
        b.quit()
