"""Convergence maps and learning-rate sweeps: what the app's map and sweep panels compute.

Map: 200×200 starts × 500 steps as one batch (``optimizers.maps.convergence_map``:
one run() with ``record="last"`` and a per-step monitor). Peer: torch.optim on the same
batch doing the same work per step — the update (autograd for ∇), the divergence check
(point within 1e6, loss finite) and the distance to the minima — checked first to
reach the same outcomes. Both single-threaded (numpy is), float64.

Sweep: 8 rules × 50 learning rates × 500 steps from one start, one batched run() per
rule (α a column of rates), against one run() per learning rate, the unbatched way.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.common import Row, median_seconds, torch_one_thread
from optimizers.maps import convergence_map, lr_sweep
from surfaces import get_surface

N, STEPS, TOL = 200, 500, 1e-2
MAPS = (  # rule, hyperparameters, surface, torch.optim class, its kwargs
    ("adam", {"lr": 0.01}, "rosenbrock", "Adam", {"lr": 0.01}),
    ("sgd", {"lr": 0.01}, "himmelblau", "SGD", {"lr": 0.01}),
)
SWEEP_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "nadam")
SWEEP_LRS = np.geomspace(1e-4, 1.0, 50)


def _torch_f(name: str):
    if name == "rosenbrock":
        return lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2
    if name == "himmelblau":
        return lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    raise ValueError(name)


def torch_map(surface: str, cls_name: str, kwargs: dict, starts: np.ndarray, minima):
    """The map's work in torch: per step the update, divergence, distance to the minima.

    Returns ``(outcome, steps_to_converge)`` with convergence_map's conventions.
    """
    import torch

    f = _torch_f(surface)
    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([p], **kwargs)
    batch = len(starts)
    alive = torch.ones(batch, dtype=torch.bool)
    diverged = torch.full((batch,), -1, dtype=torch.int64)
    last_out = torch.full((batch,), -1, dtype=torch.int64)
    for t in range(STEPS + 1):
        with torch.no_grad():
            x, y = p[:, 0], p[:, 1]
            ok = (x * x + y * y <= 1e12) & torch.isfinite(f(x, y))
            diverged[alive & ~ok] = t
            alive &= ok
            last_out[_nearest2(x, y, minima) > TOL * TOL] = t
        if t == STEPS or not alive.any():
            break
        opt.zero_grad()
        f(p[:, 0], p[:, 1]).sum().backward()
        opt.step()
    with torch.no_grad():
        ms = torch.tensor(minima, dtype=torch.float64)
        nearest = ((p[:, None, :] - ms) ** 2).sum(-1).argmin(-1)
    settled = last_out < STEPS
    outcome = torch.where(settled, nearest, -1)
    outcome[diverged >= 0] = -2
    since = torch.where(settled & (diverged < 0), last_out + 1, -1)
    return outcome.numpy(), since.numpy()


def _nearest2(x, y, minima):
    """Squared distance to the nearest minimum, column by column (as optviz does it)."""
    import torch

    best = None
    for mx, my in minima:
        d2 = (x - mx) ** 2 + (y - my) ** 2
        best = d2 if best is None else torch.minimum(best, d2)
    return best


def _grid(s) -> np.ndarray:
    xs, ys = np.linspace(*s.x_range, N), np.linspace(*s.y_range, N)
    return np.stack([np.tile(xs, N), np.repeat(ys, N)], axis=-1)


def _unbatched_sweep(surface: str, start) -> None:
    from optimizers import get_optimizer, run

    s = get_surface(surface)
    for rule in SWEEP_RULES:
        for lr in SWEEP_LRS:
            run(get_optimizer(rule, lr=lr), s, start, STEPS).losses[-1]


def main(repeats: int = 3) -> list[Row]:
    with torch_one_thread():
        return _rows(repeats)


def _load() -> str:
    """The load average, when other work shares the cores (wall time then exceeds CPU time)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = os.cpu_count() or 1
    return f" (cores shared: load average {load:.1f} on {cores})" if load > cores / 2 else ""


def _timed(fn, repeats: int):
    """Median wall time of ``repeats`` calls and the first call's result (checked by the
    caller, so the check costs no extra run)."""
    times, first = [], None
    for k in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if k == 0:
            first = out
    return statistics.median(times), first


def _rows(repeats: int) -> list[Row]:
    rows = []
    for rule, hyper, surface, cls_name, tkw in MAPS:
        s = get_surface(surface)
        starts = _grid(s)
        convergence_map(rule, hyper, s, n=N, steps=STEPS, tol=TOL)  # warm-up
        c0 = time.process_time()
        ours = convergence_map(rule, hyper, s, n=N, steps=STEPS, tol=TOL)
        cpu = time.process_time() - c0
        t_ours = median_seconds(
            lambda r=rule, h=hyper, s=s: convergence_map(r, h, s, n=N, steps=STEPS, tol=TOL),
            repeats,
            warmup=0,
        )
        t_peer, (peer_outcome, peer_since) = _timed(
            lambda su=surface, c=cls_name, k=tkw, st=starts, m=s.minima: torch_map(su, c, k, st, m),
            repeats,
        )
        # The same work: the same verdicts (torch's rules round differently in the last
        # bits, so a pixel on a basin's edge could differ).
        agree = np.mean(ours.outcome.ravel() == peer_outcome)
        agree_steps = np.mean(np.abs(ours.steps_to_converge.ravel() - peer_since) <= 1)
        assert min(agree, agree_steps) > 0.99, f"torch's map differs: {agree:.2%} {agree_steps:.2%}"
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(ours.counts().items()))
        rows.append(
            Row(
                f"convergence map {N}×{N} × {STEPS} steps, {rule} on {surface}",
                t_ours,
                "s",
                "< 2 s",
                t_ours < 2.0,
                peer=t_peer,
                peer_name=f"torch.optim.{cls_name}, same batch and checks",
                note=f"optviz CPU time {cpu:.2f} s{_load()}; outcomes agree with torch on "
                f"{agree:.2%} of pixels (steps to converge within 1 on {agree_steps:.2%}); "
                f"outcome counts {{{counts}}}",
            )
        )
    start = (-1.5, 2.0)
    rules = [(r, {}) for r in SWEEP_RULES]
    t_sweep = median_seconds(
        lambda: lr_sweep(rules, "rosenbrock", start, SWEEP_LRS, STEPS, TOL), repeats
    )
    c0 = time.process_time()
    lr_sweep(rules, "rosenbrock", start, SWEEP_LRS, STEPS, TOL)
    cpu = time.process_time() - c0
    t_single = median_seconds(lambda: _unbatched_sweep("rosenbrock", start), 1, warmup=0)
    rows.append(
        Row(
            f"lr sweep, {len(SWEEP_RULES)} rules × {len(SWEEP_LRS)} rates × {STEPS} steps",
            t_sweep,
            "s",
            "< 0.5 s",
            t_sweep < 0.5,
            peer=t_single,
            peer_name="optviz run() per rate, unbatched",
            note=f"optviz CPU time {cpu:.2f} s{_load()}; the peer is timed once (it loses by "
            "an order of magnitude)",
        )
    )
    rows += _app_rows(repeats)
    return rows


# ----------------------------------------------------------------------------- in the app

APP_RULE, APP_PRESET = "rmsprop", "radford-beale"  # few of its starts settle: every step runs


def _app_scene(rule: str, steps: int):
    from viz.scene import get_preset
    from viz.ui.callbacks import Settings, compute

    sc = get_preset(APP_PRESET)
    out = compute(Settings(sc.surface, [rule], str(steps), str(sc.start[0]), str(sc.start[1])))
    assert out.ok, out.messages
    return out.state, out.traj


def _previous_path(state: dict, traj: dict, rule: str, n: int, steps: int) -> str:
    """The map callback the straightforward way (as the panel did before): run() with the
    surface's loss at every step and no early stop, then the map as a Heatmap of float32
    z under the same contour lines; returns Dash's JSON of the figure."""
    import plotly.graph_objects as go
    from dash._utils import to_json

    from optimizers import get_optimizer, run
    from optimizers.maps import _Settle
    from viz.ui.panels import convergence
    from viz.ui.panels.common import quiet, scene_of, scene_tol

    ps = scene_of(state)
    surface, window = ps.surface, ps.window
    xs, ys = np.linspace(*window[0], n), np.linspace(*window[1], n)
    starts = np.stack([np.tile(xs, n), np.repeat(ys, n)], axis=-1)
    settle = _Settle(surface, scene_tol(window), (n * n,))
    opt = get_optimizer(rule, **ps.scheduled_hyper(rule))
    t = quiet(run, opt, surface, starts, steps, record="last", monitor=settle)
    outcome, _ = quiet(settle.result, t.points[-1], steps, t.diverged_at)
    ours = convergence.compute_map(state, rule, str(n), "1", "outcome")[0]
    heat = go.Heatmap(x=xs, y=ys, z=outcome.reshape(n, n).astype(np.float32), showscale=False)
    return to_json(go.Figure([heat, *ours.data[1:]], layout=ours.layout))


def app_callback(n: int = N, steps: int = STEPS, rule: str = APP_RULE, repeats: int = 3):
    """The map callback's server side, ours and the previous way: for each, (median wall
    s, CPU s of one call, bytes of the figure's JSON) for compute, figure and Dash's JSON."""
    from dash._utils import to_json

    from viz.ui.panels import convergence

    state, traj = _app_scene(rule, steps)

    def ours():
        convergence.clear_map_cache()  # a map computed afresh, not the one kept
        out = convergence.compute_map(state, rule, str(n), str(steps), "outcome")
        assert out[1] == "", out[1]
        return to_json(out[0])

    def previous():
        return _previous_path(state, traj, rule, n, steps)

    result = []
    for fn in (ours, previous):
        fn()  # warm-up: imports, the contour lines' cache
        c0 = time.process_time()
        body = fn()
        cpu = time.process_time() - c0
        result.append((median_seconds(fn, repeats, warmup=0), cpu, len(body)))
    return result


_CLICK = """
const box = document.getElementById(arguments[0]);
window.__mapDrawn = null;
const t0 = performance.now();
window.__t0 = t0;
(function loop() {
  const g = box.querySelector('.js-plotly-plot');
  if (g && g._fullData && g._fullData.length > 0) {  // the placeholder holds no trace
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.__mapDrawn = performance.now() - t0;
    }));
    return;
  }
  requestAnimationFrame(loop);
})();
document.getElementById(arguments[1]).click();
"""


def app_click_to_drawn(n: int = N, steps: int = STEPS, rule: str = APP_RULE) -> tuple:
    """Seconds from the "Compute map" click to the map on screen, in headless Chromium,
    and the seconds of that its callback's request took (server and transport).

    The page times itself: a requestAnimationFrame loop started at the click stops two
    frames after the graph first holds the map (so it has been painted); Selenium's
    polling adds nothing. The server is warmed by one map first, in another page load.
    """
    import logging

    from selenium.webdriver.common.by import By

    from benchmarks.bench_browser import chromium, load_app, serve_app, set_dropdown, wait_for
    from viz.ui import ids
    from viz.ui.panels import convergence

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    def one(driver, url):
        load_app(driver, url)
        driver.find_element(
            By.XPATH, f"//*[@id='{ids.PANEL_TABS}']//*[normalize-space(text())='Convergence map']"
        ).click()
        wait_for(driver, f"document.getElementById('{ids.MAP_BTN}') !== null")
        time.sleep(0.5)
        for id_, value in ((ids.MAP_OPT, rule), (ids.MAP_N, str(n)), (ids.MAP_STEPS, str(steps))):
            set_dropdown(driver, id_, value)  # set_props on the control's value
        time.sleep(0.5)
        convergence.clear_map_cache()  # the server (this process) computes the map afresh
        driver.execute_script(_CLICK, ids.MAP_GRAPH, ids.MAP_BTN)
        drawn = wait_for(driver, "window.__mapDrawn", timeout=120) / 1000
        request = driver.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('update-component') && e.startTime > window.__t0)"
            ".reduce((m, e) => Math.max(m, e.duration), 0);"
        )
        return drawn, request / 1000

    with serve_app() as url, chromium() as driver:
        one(driver, url)  # warm-up
        return one(driver, url)


def _app_rows(repeats: int) -> list[Row]:
    (t_ours, cpu_ours, size_ours), (t_prev, cpu_prev, size_prev) = app_callback(repeats=repeats)
    rows = [
        Row(
            f"map panel callback {N}×{N} × {STEPS} steps, {APP_RULE} on {APP_PRESET}",
            t_ours,
            "s",
            "< 1.5 s",
            t_ours < 1.5,
            peer=t_prev,
            peer_name="the same callback the previous way (loss every step, heatmap z)",
            note=f"CPU {cpu_ours:.2f} s vs {cpu_prev:.2f} s{_load()}; figure JSON "
            f"{size_ours / 1024:.0f} KiB (PNG picture) vs {size_prev / 1024:.0f} KiB (z)",
        )
    ]
    try:
        drawn, request = app_click_to_drawn()
    except Exception as exc:  # no Chromium here: the server-side row still stands
        print(f"bench_maps: browser part skipped: {type(exc).__name__}: {exc}")
        return rows
    rows.append(
        Row(
            f"map in the app, click to drawn (Chromium), {N}×{N} × {STEPS} steps, {APP_RULE}",
            drawn,
            "s",
            "< 2 s",
            drawn < 2.0,
            peer=request,
            peer_name="its callback's request alone (server + transport)",
            note=f"drawing after the response: {drawn - request:.2f} s{_load()}",
        )
    )
    return rows


if __name__ == "__main__":
    from benchmarks.common import report

    report(main())
