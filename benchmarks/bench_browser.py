"""Frame rates of the app's two views in headless Chromium, ours beside the straightforward way.

8 optimizers × 1,000 steps. For each view we count *drawn updates per second* in a
``requestAnimationFrame`` loop (assets/optviz.js ``benchLoop``):

- contour, ours: the transparent trajectories-only overlay over a static contour graph,
  updated with ``Plotly.animate(..., redraw=False)``;
- contour, straightforward: one graph holding the contour and the trails, ``restyle``;
- 3-D, ours: the transparent paths-only scene over a static surface scene, ``restyle``;
- 3-D, straightforward: one scene holding the surface and the paths, ``restyle``.

Run ``python -m benchmarks.bench_browser`` (prints a table, returns a dict from
``main()``), or ``python -m benchmarks.bench_browser --screenshot docs/screenshot.png``
for a 1280×800 screenshot of the app.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_RUNS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "nadam"]
STEPS = 1000
SECONDS = 3.0
ROUNDS = 3

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


@contextmanager
def serve_app(port: int = 0):
    """The app on a free local port, in a thread; yields its URL."""
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def chromium(width: int = 1280, height: int = 800):
    """Headless Debian Chromium through selenium (the flags of tests/conftest.py)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    profile = tempfile.mkdtemp(prefix="optviz-bench-")
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(width, height)
        # the viewport itself (window-size includes browser chrome in new headless mode)
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, timeout: float = 90.0):
    """Poll a JS expression until it is truthy; return its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"waited {timeout} s for: {script}")


def overlay_len(driver, graph_id: str = "contour-top") -> int:
    """How many points the first trail of an overlay graph holds."""
    return driver.execute_script(
        "const g = document.querySelector('#" + graph_id + " .js-plotly-plot');"
        "if (!g || !g.data) return -1;"
        "const t = g.data.find(d => d.meta && (d.meta.role === 'trail' || d.meta.role === 'path'));"
        "return t ? (t.x || []).length : -1;"
    )


def load_app(driver, url: str) -> None:
    driver.get(url)
    wait_for(driver, "document.querySelector('#contour .js-plotly-plot .contour') !== null")
    wait_for(
        driver,
        "window.dash_clientside && window.dash_clientside.optviz"
        " && window.dash_clientside.optviz.state.runs.length > 0",
    )
    wait_for(
        driver,
        "document.querySelector('#surface3d-top .js-plotly-plot') &&"
        " document.querySelector('#surface3d-top .js-plotly-plot').data &&"
        " document.querySelector('#surface3d-top .js-plotly-plot').data.length > 0",
    )


def screenshot(path: str | Path, width: int = 1280, height: int = 800, preset: str = "") -> Path:
    """Save a screenshot of the app, partway through its animation, to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with serve_app() as url, chromium(width, height) as driver:
        load_app(driver, url)
        if preset:
            set_dropdown(driver, "preset", preset)
            time.sleep(1.5)
        driver.execute_script(
            "const o = window.dash_clientside.optviz;o.show(Math.round(o.state.steps * 0.6), true);"
        )
        time.sleep(1.0)
        driver.save_screenshot(str(path))
    return path


def set_dropdown(driver, dropdown_id: str, value: str) -> None:
    driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});",
        dropdown_id,
        value,
    )


def _bench_payload():
    """The trajectories of 8 optimizers × 1,000 steps, and the straightforward figures."""
    from surfaces import get_surface
    from viz import callbacks, figures
    from viz.scenes import Style

    settings = callbacks.Settings("rosenbrock", BENCH_RUNS, str(STEPS), "-1.5", "2")
    out = callbacks.compute(settings)
    assert out.ok, out.messages
    s = get_surface("rosenbrock")
    window = (s.x_range, s.y_range)
    runs = out.traj["runs"]
    plain2d = figures.straightforward_contour(s, runs, window, Style())
    plain3d = figures.straightforward_surface(s, runs, window, Style())
    return out.traj, plain2d.to_plotly_json(), plain3d.to_plotly_json()


def _measure(driver, graph_id: str, kind: str, method: str = "animate") -> dict:
    driver.set_script_timeout(SECONDS + 30)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.dash_clientside.optviz.benchLoop(arguments[0], arguments[1], arguments[2],"
        " arguments[3]).then(done);",
        graph_id,
        kind,
        SECONDS,
        method,
    )


def _measure_playback(driver) -> dict:
    """The app's own play loop (both views at once, 3-D every few frames), counted."""
    driver.set_script_timeout(SECONDS + 30)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const o = window.dash_clientside.optviz, S = o.state;"
        # about 62 steps a second: a new step every frame, and no end-of-run pause in 3 s
        "S.speed = 0.5; S.loop = true; o.show(0, true);"
        "const c0 = Object.assign({}, S.counters), t0 = performance.now();"
        "o.play();"
        "setTimeout(function () {"
        "  o.pause(); const t = (performance.now() - t0) / 1000;"
        "  const f = S.counters.frames - c0.frames;"
        "  done({app_contour: {draws: S.counters.contour - c0.contour, frames: f, seconds: t},"
        "        app_surface: {draws: S.counters.surface - c0.surface, frames: f, seconds: t}});"
        "}, arguments[0] * 1000);",
        SECONDS,
    )


def _add_plain_graph(driver, div_id: str, fig: dict, over: str) -> None:
    """A graph of the same size as ``over``'s, holding the figure (the straightforward peer).

    It gets the overlays' own advantages (its own compositor layer, GL pixel ratio 1),
    so the comparison is of the architecture alone.
    """
    driver.execute_script(
        "const host = document.getElementById(arguments[2]);"
        "const d = document.createElement('div'); d.id = arguments[0];"
        "d.style.cssText = 'position:absolute;inset:0;background:#fff;will-change:transform';"
        "host.closest('.stack').appendChild(d);"
        "return Plotly.newPlot(d, arguments[1].data, arguments[1].layout,"
        " {displayModeBar: false, plotGlPixelRatio: 1});",
        div_id,
        json.loads(json.dumps(fig, default=float)),
        over,
    )


def _show_only(driver, graph_id: str) -> None:
    """Hide the peer graphs so each approach is drawn (and composited) on its own."""
    driver.execute_script(
        "for (const id of ['plain2d', 'plain3d']) {"
        "  const el = document.getElementById(id);"
        "  if (el) el.style.visibility = id === arguments[0] ? 'visible' : 'hidden'; }",
        graph_id,
    )


def run_benchmark() -> dict:
    from plotly.utils import PlotlyJSONEncoder

    traj, plain2d, plain3d = _bench_payload()
    traj = json.loads(json.dumps(traj, cls=PlotlyJSONEncoder))
    plain2d = json.loads(json.dumps(plain2d, cls=PlotlyJSONEncoder))
    plain3d = json.loads(json.dumps(plain3d, cls=PlotlyJSONEncoder))
    results: dict = {}

    def keep_best(name, r):
        if name not in results or r["draws"] / r["seconds"] > (
            results[name]["draws"] / results[name]["seconds"]
        ):
            results[name] = r

    with serve_app() as url, chromium() as driver:
        load_app(driver, url)
        driver.execute_script(
            "window.dash_clientside.set_props('traj', {data: arguments[0]});", traj
        )
        wait_for(
            driver,
            f"window.dash_clientside.optviz.state.steps === {STEPS} &&"
            f" window.dash_clientside.optviz.state.runs.length === {len(BENCH_RUNS)}",
        )
        time.sleep(2.0)
        _add_plain_graph(driver, "plain2d", plain2d, "contour")
        _add_plain_graph(driver, "plain3d", plain3d, "surface3d")
        time.sleep(2.0)
        # The machine is shared: interleave the approaches and keep each one's best round.
        for _ in range(ROUNDS):
            for name, graph, kind, method in (
                ("contour_overlay", "contour-top", "2d", "fast"),
                ("contour_overlay_animate", "contour-top", "2d", "animate"),
                ("contour_straightforward", "plain2d", "2d", "restyle"),
                ("surface_overlay", "surface3d-top", "3d", ""),
                ("surface_straightforward", "plain3d", "3d", ""),
            ):
                _show_only(driver, graph)
                keep_best(name, _measure(driver, graph, kind, method))
            _show_only(driver, "")
            for name, r in _measure_playback(driver).items():
                keep_best(name, r)
    table = {}
    for name, r in results.items():
        table[name] = {
            "fps": r["draws"] / r["seconds"],
            "frames_per_s": r["frames"] / r["seconds"],
            **r,
        }
    return table


def print_table(table: dict) -> None:
    names = {
        "contour_overlay": "contour: overlay, SVG fast path (ours)",
        "contour_overlay_animate": "contour: overlay, Plotly.animate every frame",
        "contour_straightforward": "contour: one graph, restyle (straightforward)",
        "surface_overlay": "3-D: paths-only overlay scene (ours)",
        "surface_straightforward": "3-D: surface + paths in one scene (straightforward)",
        "app_contour": "app playing (both views): contour updates",
        "app_surface": "app playing (both views): 3-D updates",
    }
    print(
        f"{len(BENCH_RUNS)} optimizers × {STEPS} steps, headless Chromium,"
        f" best of {ROUNDS} interleaved rounds of {SECONDS:g} s"
    )
    print(f"{'view / approach':52s} {'updates/s':>10s} {'rAF/s':>8s}")
    for key, label in names.items():
        if key in table:
            print(f"{label:52s} {table[key]['fps']:10.1f} {table[key]['frames_per_s']:8.1f}")
    c, cs = table["contour_overlay"]["fps"], table["contour_straightforward"]["fps"]
    s, ss = table["surface_overlay"]["fps"], table["surface_straightforward"]["fps"]
    print(
        f"ratio contour ours / straightforward: {c / max(cs, 1e-9):.2f}×;"
        f" 3-D: {s / max(ss, 1e-9):.2f}×"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", help="save a 1280×800 screenshot of the app here")
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--preset", default="")
    args = parser.parse_args(argv)
    if args.screenshot:
        w, h = (int(v) for v in args.size.split("x"))
        print(screenshot(args.screenshot, w, h, args.preset))
        return {"screenshot": args.screenshot}
    table = run_benchmark()
    print_table(table)
    return {k: round(v["fps"], 1) for k, v in table.items()}


if __name__ == "__main__":
    main()
