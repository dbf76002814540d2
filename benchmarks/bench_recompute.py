"""The server's recompute: what one settings change costs (issues 6 and 7).

``viz.ui.callbacks.compute`` (the recompute callback's work: validate, run every chosen
optimizer, build the overlays, the loss plot, the results and legend) plus Dash's JSON
serialisation of its outputs, in CPU time per call, for

* the page's default scene (Radford's Beale: 6 optimizers × 200 steps) and
* 8 optimizers × 1,000 steps on the same surface,

each after a *hyperparameter change* (one optimizer's α moves, as a slider does: the
other runs' values are unchanged) and *cold* (no run cached: a new surface, start or
step count). The background surface/contour is not rebuilt in either (only a new
surface or window does that), as on the page.

Peer (same run, same process): the same callback the way it was first written — the
per-change figures built as ``go.Figure`` objects (Plotly validates every property) and
every optimizer rerun on every change (no run cache).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator

import plotly.graph_objects as go
from dash._utils import to_json

from benchmarks.common import Row
from optimizers import OPTIMIZERS, compiled
from viz import figures
from viz.ui import callbacks
from viz.ui.callbacks import Settings, compute

GOAL_MS = 40.0  # CPU per recompute of the default scene: 20 users × 2 workers stay < 500 ms


def _eight_by_thousand() -> Settings:
    s = callbacks.initial_settings()
    names = [n for n, o in OPTIMIZERS.items() if not o.second_order][:8]
    return Settings(s.surface, names, "1000", s.start_x, s.start_y)


class Scene:
    """Calls of one scene's recompute; each call moves the first optimizer's α a little."""

    def __init__(self, settings: Settings):
        self.settings = settings
        first = compute(settings)
        assert first.ok, first.messages
        self.state = first.state  # the page already shows this surface: no background
        self.key = settings.optimizers[0]
        self.lr = first.state["hyper"][self.key]["lr"]
        self.i = 0

    def call(self) -> int:
        self.i += 1
        lr = self.lr * (1 + 1e-4 * self.i)  # a new value every call: never a cached run
        hyper = {**(self.settings.hyper or {}), self.key: {"lr": repr(lr)}}
        s = Settings(**{**self.settings.__dict__, "hyper": hyper})
        o = compute(s, self.state)
        assert o.ok and o.contour is None and o.surface3d is None, o.messages
        body = {"traj": o.traj, "state": o.state, "loss": o.loss}
        body.update(results=o.results, legend=o.legend)
        return len(to_json(body))


@contextlib.contextmanager
def figure_objects_without_cache() -> Iterator[None]:
    """The peer: go.Figure for the per-change figures, and no run survives a call."""
    saved = figures.contour_overlay, figures.surface_overlay, figures.loss_figure
    real_run_payload = callbacks.run_payload
    c, s, loss = saved

    def uncached(*a, **kw):
        callbacks.clear_payload_cache()
        return real_run_payload(*a, **kw)

    figures.contour_overlay = lambda *a, **kw: go.Figure(c(*a, **kw)).to_plotly_json()
    figures.surface_overlay = lambda *a, **kw: go.Figure(s(*a, **kw)).to_plotly_json()
    figures.loss_figure = lambda *a, **kw: go.Figure(loss(*a, **kw))
    callbacks.run_payload = uncached
    try:
        yield
    finally:
        figures.contour_overlay, figures.surface_overlay, figures.loss_figure = saved
        callbacks.run_payload = real_run_payload


def cpu_ms(fn, repeats: int, before=None) -> float:
    """Median CPU milliseconds of ``fn()`` (``before()`` runs untimed ahead of each)."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return 1000 * statistics.median(times)


def main(repeats: int = 7) -> list[Row]:
    # As the app does at start-up: the compiled loops are loaded before any request, so
    # their loading (a background thread's CPU) is not counted in a recompute.
    compiled.warm(block=True)
    rows = []
    for name, settings, goal in (
        ("default scene (Beale, 6 opt × 200 steps)", callbacks.initial_settings(), GOAL_MS),
        ("8 optimizers × 1,000 steps", _eight_by_thousand(), None),
    ):
        scene = Scene(settings)
        nbytes = scene.call()
        change = cpu_ms(scene.call, repeats)
        cold = cpu_ms(scene.call, repeats, before=callbacks.clear_payload_cache)
        with figure_objects_without_cache():
            peer_bytes = scene.call()
            peer = cpu_ms(scene.call, repeats)
        for what, ours in (("hyperparameter change", change), ("cold (no run cached)", cold)):
            met = ours <= goal if goal is not None else ours <= peer
            rows.append(
                Row(
                    benchmark=f"recompute CPU, {name}, {what}",
                    ours=ours,
                    unit="ms",
                    goal=f"≤ {goal:g} ms CPU" if goal is not None else "faster than peer",
                    met=met,
                    peer=peer,
                    peer_name="go.Figure figures, every run redone",
                    note=f"with Dash JSON: {nbytes / 1e3:.0f} KB (peer {peer_bytes / 1e3:.0f} KB)",
                )
            )
    return rows


if __name__ == "__main__":
    from benchmarks.common import report

    report(main())
