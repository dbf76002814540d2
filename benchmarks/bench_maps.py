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

from benchmarks.common import Row, median_seconds
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
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # numpy runs on one core: compare like with like
    try:
        return _rows(repeats)
    finally:
        torch.set_num_threads(threads)


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
    return rows


if __name__ == "__main__":
    from benchmarks.common import table

    rows = main()
    print(table(rows))
    for r in rows:
        if r.note:
            print(f"- {r.benchmark}: {r.note}")
