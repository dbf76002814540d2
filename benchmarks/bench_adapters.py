"""A torch-backed rule through ``optimizers.from_torch`` against torch.optim driving the
same loop itself.

Both sides run torch's own Adam (lr 0.01, float64) on Rosenbrock with the surface's exact
gradient written into ``p.grad`` each step, and keep every step's points and losses (the
trajectory is the product): the peer is the loop a user would write by hand
(``p.grad = torch.from_numpy(surface.grad(p)); opt.step(); record``), optviz is
``run(from_torch("Adam", lr=0.01), ...)``, which adds the state copy that keeps each step
pure and run()'s divergence check. Shapes: 1 start × 1,000 steps, 10,000 starts × 500
steps. torch is single-threaded (``torch.set_num_threads(1)``) on both sides. Each row
gives the warm median (one warm-up, then alternating runs) and, in its note, the first
run in a fresh process (a subprocess that imports, builds and runs once per side).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Row

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
SHAPES = ((1, 1000), (10_000, 500))
LR = 0.01


def _starts(batch: int) -> np.ndarray:
    from surfaces import get_surface

    s = get_surface("rosenbrock")
    if batch == 1:
        return np.array(s.start, dtype=float)
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = s.x_range, s.y_range
    return np.column_stack([rng.uniform(x0, x1, batch), rng.uniform(y0, y1, batch)])


def ours(starts: np.ndarray, steps: int) -> np.ndarray:
    from optimizers import from_torch, run
    from surfaces import get_surface

    return run(from_torch("Adam", lr=LR), get_surface("rosenbrock"), starts, steps).points


def peer(starts: np.ndarray, steps: int) -> np.ndarray:
    """torch.optim.Adam driving the loop: exact gradient into p.grad, step, record."""
    import torch

    from surfaces import get_surface

    s = get_surface("rosenbrock")
    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=LR)
    points = np.empty((steps + 1, *starts.shape))
    points[0] = starts
    for t in range(steps):
        p.grad = torch.from_numpy(s.grad(p.detach().numpy()))
        opt.step()
        points[t + 1] = p.detach().numpy()
    with np.errstate(all="ignore"):
        s.value(points)  # the losses, as run() keeps them
    return points


def _fresh(batch: int, steps: int) -> dict:
    """First run of each side, each in a new process of its own (imports not timed; the
    first call is, with whatever torch loads lazily on its first step)."""
    out = {}
    for side in ("ours", "peer"):
        code = (
            "import json, time, torch; torch.set_num_threads(1)\n"
            "from benchmarks import bench_adapters as b\n"
            f"x = b._starts({batch})\n"
            "t0 = time.perf_counter()\n"
            f"b.{side}(x, {steps})\n"
            "print(json.dumps(time.perf_counter() - t0))\n"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        res = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        )
        out[side] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main(repeats: int = 3) -> list[Row]:
    import torch

    torch.set_num_threads(1)
    rows = []
    for batch, steps in SHAPES:
        starts = _starts(batch)
        a, b = ours(starts, steps), peer(starts, steps)  # warm-up, and the same path
        same = np.array_equal(a, b, equal_nan=True)
        t_ours, t_peer = [], []
        for _ in range(max(repeats, 3)):  # alternated, so a busy moment hits both sides
            t0 = time.perf_counter()
            ours(starts, steps)
            t_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            peer(starts, steps)
            t_peer.append(time.perf_counter() - t0)
        mo, mp = statistics.median(t_ours), statistics.median(t_peer)
        first = _fresh(batch, steps)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        rows.append(
            Row(
                f"from_torch('Adam'), {batch:,} start{'s' * (batch > 1)} × {steps:,} steps, "
                "Rosenbrock, float64",
                mo,
                "s",
                f"≤ {GOAL}× torch",
                mo <= GOAL * mp,
                peer=mp,
                peer_name="torch.optim.Adam driving the loop",
                note=(
                    f"warm median of {len(t_ours)} alternated runs; first run in a fresh "
                    f"process: optviz {first['ours'] * 1000:.0f} ms, torch "
                    f"{first['peer'] * 1000:.0f} ms ({first['ours'] / first['peer']:.2f}×); "
                    f"paths {'identical' if same else 'DIFFER'}; torch single-threaded; "
                    f"load average {load:.1f}"
                ),
            )
        )
    return rows


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(main()))
