"""Batched optimizer runs against torch.optim, and the app's per-change computation.

10,000 starts × 500 steps on Rosenbrock in float64: optviz's run() (one vectorised
numpy batch) against torch.optim with autograd on the same batch, both recording every
step's points (the trajectory is the product). Then the same for every rule torch has,
and the single-start work the app does per settings change (8 rules × 1,000 steps).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import Row, median_seconds
from optimizers import get_optimizer, run
from surfaces import get_surface

BATCH, STEPS = 10_000, 500

# optviz rule -> (torch.optim class name, kwargs, optviz hyperparameters) for the same rule.
TORCH_PEERS = {
    "sgd": ("SGD", {"lr": 1e-4}, {"lr": 1e-4}),
    "momentum": ("SGD", {"lr": 1e-4, "momentum": 0.9}, {"lr": 1e-4, "momentum": 0.9}),
    "nesterov": (
        "SGD",
        {"lr": 1e-4, "momentum": 0.9, "nesterov": True},
        {"lr": 1e-4, "momentum": 0.9},
    ),
    "adagrad": ("Adagrad", {"lr": 0.05}, {"lr": 0.05}),
    "rmsprop": ("RMSprop", {"lr": 0.01, "alpha": 0.9}, {"lr": 0.01, "decay": 0.9}),
    "adadelta": ("Adadelta", {"lr": 1.0, "rho": 0.95, "eps": 1e-6}, {"lr": 1.0}),
    "adam": ("Adam", {"lr": 0.01}, {"lr": 0.01}),
    "nadam": ("NAdam", {"lr": 0.01}, {"lr": 0.01}),
    "amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True}, {"lr": 0.01}),
}


def _starts() -> np.ndarray:
    return np.random.default_rng(0).uniform((-2, -1), (2, 3), (BATCH, 2))


def ours(rule: str, hyper: dict, starts: np.ndarray) -> np.ndarray:
    return run(get_optimizer(rule, **hyper), get_surface("rosenbrock"), starts, STEPS).points


def torch_run(cls_name: str, kwargs: dict, starts: np.ndarray):
    """torch.optim on the same batch: the loss summed over starts, autograd for ∇."""
    import torch

    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([p], **kwargs)
    out = torch.empty((STEPS + 1, *starts.shape), dtype=torch.float64)
    out[0] = p.detach()
    for t in range(STEPS):
        opt.zero_grad()
        x, y = p[:, 0], p[:, 1]
        ((1 - x) ** 2 + 100 * (y - x**2) ** 2).sum().backward()
        opt.step()
        out[t + 1] = p.detach()
    return out


def single_trajectories() -> None:
    """What the app computes per change: eight rules, one start, 1,000 steps each."""
    s = get_surface("rosenbrock")
    for rule in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "nadam"):
        run(get_optimizer(rule), s, (-1.5, 2.0), 1000)


def main(repeats: int = 3) -> list[Row]:
    starts = _starts()
    rows = []
    for rule, (cls_name, tkw, hyper) in TORCH_PEERS.items():
        t_ours = median_seconds(lambda r=rule, h=hyper: ours(r, h, starts), repeats)
        t_torch = median_seconds(lambda c=cls_name, k=tkw: torch_run(c, k, starts), repeats)
        goal = 0.2 if rule == "adam" else 0.5
        rows.append(
            Row(
                f"{BATCH:,} starts × {STEPS} steps, {rule}, Rosenbrock, float64",
                t_ours,
                "s",
                f"≤ {goal}× torch",
                t_ours <= goal * t_torch,
                peer=t_torch,
                peer_name=f"torch.optim.{cls_name}",
            )
        )
    t_single = median_seconds(single_trajectories, max(repeats, 5))
    rows.append(
        Row("single trajectory, 8 rules × 1,000 steps", t_single, "s", "< 50 ms", t_single < 0.05)
    )
    return rows


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(main()))
