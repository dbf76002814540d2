"""Rules typed by a user (optimizers.from_rule) against torch.optim driving the same loop.

A typed rule runs as closures over numpy built from its checked syntax tree, so every
operation of the text costs a Python call per step. The peer is what a user would
otherwise write: torch.optim on a float64 tensor with autograd for ∇ on Rosenbrock, one
(2,) start × 1,000 steps (momentum, written out) and 10,000 starts × 500 steps (Adam
with its bias correction, written out), recording every step's points, single-threaded
and warmed up. Each row gives the warm median of both and, in its note, the typed rule's
first run in a fresh process (read, check, build and run) and its ratio to the built-in
rule of the same maths.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from benchmarks.bench_optimizers import torch_run
from benchmarks.common import Row, median_seconds, torch_one_thread
from optimizers import from_rule, get_optimizer, run
from surfaces import get_surface

MOMENTUM = "mu = 0.9\nv = mu * v - lr * g\nW = W + v"
ADAM = """
beta1 = 0.9
beta2 = 0.999
eps = 1e-8
m = beta1 * m + (1 - beta1) * g
v = beta2 * v + (1 - beta2) * g**2
W = W - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
"""
GOAL = 1.5  # typed rule's time / torch.optim's

CASES = [
    # name, text, lr, built-in rule, torch class and kwargs, starts, steps
    ("1 start × 1,000 steps (momentum)", MOMENTUM, 1e-4, "momentum", "SGD", 1, 1000),
    ("10,000 starts × 500 steps (Adam)", ADAM, 1e-2, "adam", "Adam", 10_000, 500),
]

FRESH = """
import sys, time
t0 = time.perf_counter()
import numpy as np
from optimizers import from_rule, run
from surfaces import get_surface
text, lr, n, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
starts = np.random.default_rng(0).uniform((-2, -1), (2, 3), (n, 2)) if n > 1 else (-1.5, 2.0)
t1 = time.perf_counter()
run(from_rule(text, lr=lr), get_surface("rosenbrock"), starts, steps)
print(time.perf_counter() - t1)
"""


def fresh_seconds(text: str, lr: float, n: int, steps: int) -> float:
    """The typed rule's first read-and-run in a new process (imports not counted)."""
    out = subprocess.run(
        [sys.executable, "-c", FRESH, text, str(lr), str(n), str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def case_row(case: tuple, repeats: int) -> Row:
    name, text, lr, rule, cls, n, steps = case
    s = get_surface("rosenbrock")
    rng = np.random.default_rng(0)
    starts = rng.uniform((-2, -1), (2, 3), (n, 2)) if n > 1 else np.array([-1.5, 2.0])
    typed, builtin = from_rule(text, lr=lr), get_optimizer(rule, lr=lr)
    kwargs = {"lr": lr, "momentum": 0.9} if cls == "SGD" else {"lr": lr}
    reps = repeats if n == 1 else max(1, repeats // 2)
    ours = median_seconds(lambda: run(typed, s, starts, steps), reps)
    peer = median_seconds(lambda: torch_run(cls, kwargs, starts, steps), reps)
    base = median_seconds(lambda: run(builtin, s, starts, steps), reps)
    # The same maths in another order of operations: how many paths end where torch's do.
    a, b = (
        run(typed, s, starts, steps).points[-1],
        torch_run(cls, kwargs, starts, steps).numpy()[-1],
    )
    gap = np.linalg.norm((a - b).reshape(-1, 2), axis=-1)
    same = float(np.mean((gap <= 1e-9) | (np.isnan(gap) & np.isnan(a).reshape(-1, 2).any(-1))))
    first = fresh_seconds(text, lr, n, steps)
    return Row(
        benchmark=f"typed rule, {name}",
        ours=ours,
        unit="s",
        goal=f"≤ {GOAL}× torch.optim",
        met=ours <= GOAL * peer,
        peer=peer,
        peer_name="torch.optim, 1 thread",
        note=(
            f"first run in a fresh process {first:.3f} s; {ours / base:.2f}× the built-in "
            f"{rule}; {same:.0%} of paths end within 1e-9 of torch's"
        ),
    )


def main(repeats: int = 5) -> list[Row]:
    with torch_one_thread():
        return [case_row(case, repeats) for case in CASES]


if __name__ == "__main__":
    for r in main():
        print(r.as_dict())
