"""The page's layout at every size, in headless Chromium (issue 14).

Each test drives the real app and measures what the page shows: element rectangles,
the graphs' own axes, the visibility of the sidebar. Sizes are set as the viewport's
(CSS pixels) through the DevTools protocol, so 400 × 800 is exactly a narrow phone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from optimizers import OPTIMIZERS
from surfaces import SURFACES
from tests.e2e.browser import element, js, set_props, type_into, wait
from viz.scene import get_preset
from viz.ui import ids

pytestmark = pytest.mark.e2e

GRAPH = "document.querySelector('#{} .js-plotly-plot')"
STATE = "window.dash_clientside.optviz.state"
SHOTS = os.environ.get("OPTVIZ_SHOTS")  # a directory: save screenshots there


def viewport(duo, width: int, height: int) -> None:
    """The page's viewport in CSS pixels (a window size would include no-one knows what)."""
    duo.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def rect(duo, selector: str) -> dict:
    return js(
        duo,
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,"
        " width: r.width, height: r.height};",
        selector,
    )


def ready(duo, runs: int) -> None:
    """The scene's runs are loaded and both overlays hold them."""
    wait(duo, f"{STATE}.runs.length === {runs}")
    top3 = GRAPH.format(ids.SURFACE3D_TOP)
    wait(duo, f"{top3} && {top3}.data && {top3}.data.length === {runs + 2}")


def load_preset(duo, name: str) -> None:
    runs = get_preset(name).runs
    set_props(duo, ids.PRESET, {"value": name})
    labels = "|".join(r.resolved().label for r in runs)
    wait(duo, f"{STATE}.runs.map(r => r.label).join('|') === arguments[0]", 60, labels)
    ready(duo, len(runs))


def settle(duo) -> None:
    """Two animation frames: layout and Plotly's resize handlers have run."""
    js(duo, "return null;")
    duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));"
    )


def shot(duo, name: str) -> None:
    if SHOTS:
        duo.driver.save_screenshot(str(Path(SHOTS) / name))


@pytest.fixture
def app_url(app_tab):
    return app_tab  # blank: each test opens the page at its viewport (open_at)


def open_at(duo, width: int, height: int) -> None:
    """(Re)load the page at this viewport, so it is laid out there from the start."""
    viewport(duo, width, height)
    if not duo.driver.current_url.startswith(duo.app_url):  # the test's first load
        duo.driver.get(duo.app_url)
    else:
        duo.driver.refresh()
    duo.wait_for_element(f"#{ids.CONTOUR_TOP} .js-plotly-plot", timeout=60)
    ready(duo, len(get_preset("radford-beale").runs))  # the page opens on Radford's Beale
    settle(duo)


def visible(duo, selector: str) -> bool:
    """Rendered and inside the viewport (a drawer slid out of view is not visible)."""
    return js(
        duo,
        "const el = document.querySelector(arguments[0]);"
        "if (!el || !el.checkVisibility({checkVisibilityCSS: true})) return false;"
        "const r = el.getBoundingClientRect();"
        "return r.width > 0 && r.right > 1 && r.left < window.innerWidth - 1;",
        selector,
    )


def toggle_sidebar(duo, shown: bool) -> None:
    duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.SIDEBAR_TOGGLE} label").click()
    if shown:
        wait(duo, "document.querySelector('.sidebar').getBoundingClientRect().left >= -0.5", 5)
    else:
        wait(
            duo,
            "!document.querySelector('.sidebar').checkVisibility({checkVisibilityCSS: true})",
            5,
        )
    settle(duo)


# ----------------------------------------------------------------------------- narrow


def test_at_400px_the_views_stack_full_width_the_sidebar_folds_and_play_runs(app_url):
    duo = app_url
    open_at(duo, 400, 800)
    # a classic scroll bar may take its 15 px; what is left is the page's
    assert js(duo, "return window.innerWidth") == 400
    contour = rect(duo, f"#{ids.CONTOUR} .js-plotly-plot")
    surface = rect(duo, f"#{ids.SURFACE3D} .js-plotly-plot")
    for r in (contour, surface):
        assert r["width"] >= 350, r
        assert 250 <= r["height"] <= 600, r
        assert r["left"] >= 0 and r["right"] <= 400, r
    # (a 385 px page less its paddings and borders still leaves the plots 350 px)
    assert surface["top"] >= contour["bottom"]  # stacked: contour above the 3-D view
    # the overlays lie exactly on their backgrounds
    for bottom, top in ((ids.CONTOUR, ids.CONTOUR_TOP), (ids.SURFACE3D, ids.SURFACE3D_TOP)):
        a, b = rect(duo, f"#{bottom} .js-plotly-plot"), rect(duo, f"#{top} .js-plotly-plot")
        assert all(abs(a[k] - b[k]) < 0.5 for k in a), (a, b)
    # the page does not scroll sideways, nor do the results (their status column was cut)
    assert js(duo, "return document.documentElement.scrollWidth") <= 400
    wait(duo, f"document.querySelectorAll('#{ids.RESULTS} td.status').length > 0", 30)
    table = f"document.querySelector('#{ids.RESULTS}')"
    assert js(duo, f"return {table}.scrollWidth - {table}.clientWidth") <= 0

    # the sidebar is folded away; its button shows it and hides it again
    assert not visible(duo, ".sidebar")
    assert visible(duo, f"#{ids.SIDEBAR_TOGGLE} label")
    toggle_sidebar(duo, True)
    assert visible(duo, ".sidebar")
    side = rect(duo, ".sidebar")
    assert side["left"] >= -0.5 and side["right"] <= 400.5, side
    assert visible(duo, f"#{ids.SURFACE}")
    shot(duo, "layout-400-sidebar.png")
    toggle_sidebar(duo, False)

    # the animation plays: the step advances and the contour's trails grow
    element(duo, ids.PLAY).click()
    wait(duo, f"{STATE}.k > 20", 30)
    wait(
        duo,
        f"{GRAPH.format(ids.CONTOUR_TOP)}.data.filter(t => t.meta && t.meta.role === 'trail')"
        ".every(t => t.x.length > 10)",
        30,
    )
    element(duo, ids.PLAY).click()
    shot(duo, "layout-400.png")


def test_wide_screens_show_the_sidebar_without_a_toggle(app_url):
    duo = app_url
    open_at(duo, 1280, 800)
    assert visible(duo, ".sidebar")
    assert not visible(duo, f"#{ids.SIDEBAR_TOGGLE} label")
    contour = rect(duo, f"#{ids.CONTOUR} .js-plotly-plot")
    surface = rect(duo, f"#{ids.SURFACE3D} .js-plotly-plot")
    assert abs(contour["top"] - surface["top"]) < 0.5  # side by side
    assert contour["left"] >= rect(duo, ".sidebar")["right"]
    # scrolled to the page's foot, the sidebar reaches the viewport's (it stopped 54 px short)
    js(duo, "window.scrollTo(0, document.documentElement.scrollHeight)")
    wait(duo, "window.scrollY > 54", 5)
    bottom = js(duo, "return window.innerHeight")
    assert abs(rect(duo, ".sidebar")["bottom"] - bottom) <= 1, (rect(duo, ".sidebar"), bottom)
    js(duo, "window.scrollTo(0, 0)")
    # a tuned value's digits fit its box (0.00177828 showed as 0.0017)
    box = "document.querySelector('.hyper-input input')"
    js(duo, f"const e = {box}; e.value = '0.00177828';")
    assert js(duo, f"return {box}.scrollWidth - {box}.clientWidth") <= 0


# ----------------------------------------------------------------------------- loss plot


def loss_extent(duo):
    """The loss plot's y range (data units) and the extent of its curves' y values."""
    return js(
        duo,
        f"const g = {GRAPH.format(ids.LOSS)}, ya = g._fullLayout.yaxis;"
        "const ys = g._fullData.filter(t => t.mode === 'lines')"
        "  .flatMap(t => Array.from(t.y)).filter(v => v !== null && isFinite(v)"
        "  && (ya.type !== 'log' || v > 0));"
        "const r = ya.range.map(v => ya.type === 'log' ? Math.pow(10, v) : v);"
        "return {type: ya.type, lo: Math.min(r[0], r[1]), hi: Math.max(r[0], r[1]),"
        " ymin: Math.min(...ys), ymax: Math.max(...ys), n: g._fullData.length};",
    )


@pytest.mark.parametrize("then", ["ravine-adam-vs-sgd", "rosenbrock-race"])
def test_the_loss_axis_follows_the_next_scene_after_the_saddle(app_url, then):
    duo = app_url
    open_at(duo, 1280, 800)
    load_preset(duo, "radford-saddle")
    wait(duo, f"{GRAPH.format(ids.LOSS)}._fullData.length >= 6")
    # the loss plot is the saddle's (not still Beale's, log axis, six curves too)
    lines = f"{GRAPH.format(ids.LOSS)}._fullData.filter(t => t.mode === 'lines')"
    names = "|".join(r.resolved().label for r in get_preset("radford-saddle").runs)
    wait(duo, f"{lines}.map(t => t.name).join('|') === arguments[0]", 60, names)
    # Beale's curves have the same six names: the saddle's plot is the one on a linear axis
    wait(duo, f"{GRAPH.format(ids.LOSS)}._fullLayout.yaxis.type === 'linear'", 60)
    load_preset(duo, then)
    n = len(get_preset(then).runs)
    wait(duo, f"{GRAPH.format(ids.LOSS)}._fullData.filter(t => t.mode === 'lines').length === {n}")
    wait(duo, f"{GRAPH.format(ids.LOSS)}._fullLayout.yaxis.type === 'log'")
    settle(duo)
    ext = loss_extent(duo)
    assert ext["ymin"] < 0.1  # the scene's curves go below 0.1 ...
    # ... and the axis shows them all (log axis: within 2 % of a decade)
    assert ext["lo"] <= ext["ymin"] * 1.05, ext
    assert ext["hi"] >= ext["ymax"] / 1.05, ext


def test_the_loss_plot_keeps_its_height_whatever_the_results_table_holds(app_url):
    duo = app_url
    open_at(duo, 1280, 800)
    heights = []
    set_props(duo, ids.PRESET, {"value": ""})
    set_props(duo, ids.OPTIMIZERS, {"value": ["adam"]})
    ready(duo, 1)
    wait(duo, f"document.querySelectorAll('#{ids.RESULTS} tbody tr').length === 1")
    settle(duo)
    heights.append(rect(duo, f"#{ids.LOSS} .js-plotly-plot")["height"])
    load_preset(duo, "rosenbrock-race")
    n = len(get_preset("rosenbrock-race").runs)
    wait(duo, f"document.querySelectorAll('#{ids.RESULTS} tbody tr').length === {n}")
    settle(duo)
    heights.append(rect(duo, f"#{ids.LOSS} .js-plotly-plot")["height"])
    assert all(240 <= h <= 360 for h in heights), heights
    assert abs(heights[0] - heights[1]) < 1, heights
    # eleven runs, and the status column is whole: no sideways scroll
    table = f"document.querySelector('#{ids.RESULTS}')"
    assert js(duo, f"return {table}.scrollWidth - {table}.clientWidth") <= 0
    # the plot area inside is as tall as the graph says (Plotly drew at that size)
    plot_h = js(duo, f"return {GRAPH.format(ids.LOSS)}._fullLayout.height")
    assert abs(plot_h - heights[1]) < 2


# ----------------------------------------------------------------------------- legend


def legend_room(duo) -> float:
    """Free width at the end of the legend's last line (CSS pixels)."""
    return js(
        duo,
        f"const L = document.getElementById('{ids.LEGEND}'), cs = getComputedStyle(L);"
        "const chips = Array.from(L.children).filter(c => c.getBoundingClientRect().width);"
        "const last = chips[chips.length - 1].getBoundingClientRect();"
        "return L.getBoundingClientRect().right - parseFloat(cs.paddingRight)"
        "  - parseFloat(cs.borderRightWidth) - last.right;",
    )


@pytest.mark.parametrize("size", [(1280, 800), (400, 800)])
def test_a_run_diverging_does_not_move_the_views(app_url, size):
    """Type a huge lr for SGD: the views stay where they were, to the pixel.

    The page is first made as wide as leaves the legend's last line 40 px of room, less
    than a diverged run's status takes: a legend that grows with it would wrap there.
    """
    duo = app_url
    open_at(duo, *size)
    width = size[0] - round(legend_room(duo)) + 40
    if width != size[0]:
        open_at(duo, width, size[1])
    assert 20 <= legend_room(duo) <= 60
    before = rect(duo, f"#{ids.CONTOUR} .js-plotly-plot")
    assert js(duo, f"return document.querySelectorAll('#{ids.LEGEND} .chip.diverged').length") == 0
    folded = not visible(duo, ".sidebar")
    if folded:  # a narrow page: open the settings, type, fold them again
        toggle_sidebar(duo, True)
    type_into(duo, ids.hyper("sgd", "lr"), "1e6", enter=True)
    wait(duo, f"document.querySelectorAll('#{ids.LEGEND} .chip.diverged').length === 1", 30)
    if folded:
        toggle_sidebar(duo, False)
    settle(duo)
    after = rect(duo, f"#{ids.CONTOUR} .js-plotly-plot")
    shot(duo, f"layout-diverged-{size[0]}.png")
    assert abs(after["top"] - before["top"]) < 0.5, (width, before, after)
    assert abs(after["left"] - before["left"]) < 0.5, (width, before, after)
    # the run's status is still told at its name (tooltip; read out by screen readers)
    chip = js(
        duo,
        f"const c = document.querySelector('#{ids.LEGEND} .chip.diverged');"
        "return [c.title, c.textContent];",
    )
    assert chip[0].startswith("SGD: diverged at step") and "diverged at step" in chip[1]


# ----------------------------------------------------------------------------- panels


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800), (400, 800)])
def test_the_convergence_map_stays_inside_its_card_after_a_pixel_click(app_url, size):
    duo = app_url
    open_at(duo, *size)
    duo.driver.find_element(
        By.XPATH, f"//*[@id='{ids.PANEL_TABS}']//*[normalize-space(text())='Convergence map']"
    ).click()
    type_into(duo, ids.MAP_N, "30")
    type_into(duo, ids.MAP_STEPS, "100")
    element(duo, ids.MAP_BTN).click()
    wait(
        duo,
        f"{GRAPH.format(ids.MAP_GRAPH)}.data.length && "
        f"{GRAPH.format(ids.MAP_GRAPH)}.data[0].type === 'image'",
        60,
    )
    js(duo, f"document.getElementById('{ids.MAP_GRAPH}').scrollIntoView({{block: 'center'}});")
    settle(duo)

    def inside():
        g = rect(duo, f"#{ids.MAP_GRAPH} .js-plotly-plot")
        c = rect(duo, ".map-panel")
        ok = (
            g["left"] >= c["left"] - 0.5
            and g["right"] <= c["right"] + 0.5
            and g["top"] >= c["top"] - 0.5
            and g["bottom"] <= c["bottom"] + 0.5
        )
        return ok, g, c

    ok, g, c = inside()
    assert ok, (g, c)
    target = js(
        duo,
        f"const g = {GRAPH.format(ids.MAP_GRAPH)}, L = g._fullLayout;"
        "const r = g.getBoundingClientRect();"
        "return [r.left + L._size.l + L._size.w * 0.3, r.top + L._size.t + L._size.h * 0.4];",
    )
    before = js(duo, f"return {STATE}.runs[0].x[0]")
    actions = ActionChains(duo.driver)
    actions.w3c_actions.pointer_action.move_to_location(int(target[0]), int(target[1]))
    actions.w3c_actions.pointer_action.click()
    actions.perform()
    wait(duo, f"{STATE}.runs[0].x[0] !== {before}", 30)
    wait(duo, f"{GRAPH.format(ids.MAP_GRAPH)}.data.slice(-1)[0].x[0] === {STATE}.runs[0].x[0]")
    settle(duo)
    ok, g, c = inside()
    shot(duo, "layout-map-after-click.png")
    assert ok, (g, c)


# ----------------------------------------------------------------------------- formulas


# Every drawn formula (MathJax's SVG): inside its card, not cut by any box around it, and
# drawn at 60 % of its natural size or more (a formula shrunk to fit must stay legible).
FORMULAS = """
const out = [];
for (const svg of document.querySelectorAll(arguments[0] + ' mjx-container > svg')) {
  const r = svg.getBoundingClientRect();
  if (!r.width) continue;
  const name = svg.closest('mjx-container').textContent.slice(0, 30);
  const card = svg.closest(arguments[1]).getBoundingClientRect();
  if (r.left < card.left - 0.5 || r.right > card.right + 0.5)
    out.push([name, 'outside its card', r.left, r.right, card.left, card.right]);
  const scale = r.width / svg.width.baseVal.value;
  if (scale < 0.6) out.push([name, 'shrunk to', scale]);
  // a box that clips (hidden, clip) must hold it; one that scrolls (the sidebar) may not
  const clips = v => v === 'hidden' || v === 'clip';
  for (let a = svg.parentElement; a && a !== document.body; a = a.parentElement) {
    const cs = getComputedStyle(a), ar = a.getBoundingClientRect();
    const cutX = clips(cs.overflowX) && (r.left < ar.left - 0.5 || r.right > ar.right + 0.5);
    const cutY = clips(cs.overflowY) && (r.top < ar.top - 0.5 || r.bottom > ar.bottom + 0.5);
    if (cutX || cutY) {
      out.push([name, 'cut by', a.className, [r.left, r.top, r.right, r.bottom],
                [ar.left, ar.top, ar.right, ar.bottom]]);
      break;
    }
  }
}
return out;
"""


def typeset(duo, selector: str, count: int) -> None:
    wait(duo, f"document.querySelectorAll(`{selector} mjx-container > svg`).length >= {count}", 30)
    settle(duo)


def test_every_formula_fits_in_its_card(app_url):
    """At each size, every rule's card and every surface's formula. The page is laid out
    by CSS alone (the SVG scales to its box), so each surface is chosen once and looked at
    in all three viewports: 17 recomputes instead of 51."""
    duo = app_url
    sizes = [(1280, 800), (1920, 1080), (400, 800)]
    open_at(duo, *sizes[0])
    set_props(duo, ids.PRESET, {"value": ""})
    names = list(OPTIMIZERS)
    set_props(duo, ids.OPTIMIZERS, {"value": names})
    wait(duo, f"document.querySelectorAll('#{ids.HYPER_PANEL} .opt-card').length === {len(names)}")
    typeset(duo, f"#{ids.HYPER_PANEL} .rule-latex", len(names))
    bad, seen = [], []

    def at_every_size(name, selector, card):
        for size in sizes:
            viewport(duo, *size)
            if not visible(duo, ".sidebar"):
                toggle_sidebar(duo, True)
            settle(duo)
            seen.append((name, size, js(duo, "return window.innerWidth")))
            bad.extend([name, size, *b] for b in js(duo, FORMULAS, selector, card))
            if name == "rules":
                shot(duo, f"layout-formulas-{size[0]}.png")

    at_every_size("rules", ".opt-card", ".opt-card")
    # the surfaces' formulas with one rule: each switch recomputes 1 run, not 11
    set_props(duo, ids.OPTIMIZERS, {"value": ["sgd"]})
    wait(duo, f"document.querySelectorAll('#{ids.HYPER_PANEL} .opt-card').length === 1")
    for name, s in SURFACES.items():
        set_props(duo, ids.SURFACE, {"value": name})
        wait(
            duo,
            f"document.querySelector('#{ids.SURFACE_FORMULA} .hint').textContent === arguments[0]",
            30,
            s.description,
        )
        typeset(duo, f"#{ids.SURFACE_FORMULA}", 1)
        at_every_size(name, f"#{ids.SURFACE_FORMULA}", ".sidebar")
    assert all(width == size[0] for _, size, width in seen), seen  # the viewports were set
    assert not bad, bad
