"""The noisy-moons surface on a 100×100 grid: batched backprop against torch autograd.

What the app computes to draw the network's landscape (loss at every grid point) and
what a convergence map or a gradient field needs (the gradient at every grid point).
optviz: ``surface.value``/``surface.grad`` (numpy, the notes' δ recursion, batched over
points). Peer: the same network, data and weights in torch (float64), the 10,000
parameter vectors as one batch, ``loss.sum().backward()`` for the gradients.
"""

from __future__ import annotations

import itertools

import numpy as np

from benchmarks.common import Row, median_seconds
from surfaces import get_surface

N_GRID = 100


def _grid(s) -> np.ndarray:
    xs = np.linspace(*s.x_range, N_GRID)
    ys = np.linspace(*s.y_range, N_GRID)
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def torch_loss_and_grad(s, p: np.ndarray, need_grad: bool):
    """Loss (and its gradient in the two weights) at every point, with torch autograd."""
    import torch

    theta = torch.tensor(s.params(p).reshape(-1, s.model.size), dtype=torch.float64)
    pair = torch.tensor(np.asarray(p, dtype=float).reshape(-1, 2), requires_grad=need_grad)
    i, j = s.pair
    theta = theta.clone()
    theta[:, i] = pair[:, 0]
    theta[:, j] = pair[:, 1]
    x = torch.tensor(np.asarray(s.X), dtype=torch.float64)
    y = torch.tensor(np.asarray(s.labels), dtype=torch.float64)
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[s.model.activation]
    start, h = 0, x.expand(len(theta), *x.shape)
    widths = s.model.widths
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(widths), start=1):
        W = theta[:, start : start + n_out * n_in].reshape(-1, n_out, n_in)
        b = theta[:, start + n_out * n_in : start + n_out * n_in + n_out]
        start += n_out * n_in + n_out
        z = h @ W.transpose(1, 2) + b[:, None, :]
        h = z if layer == s.model.layers else act(z)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        h[..., 0], y.expand(len(theta), -1), reduction="none"
    ).mean(dim=-1)
    if not need_grad:
        return loss.detach().numpy(), None
    loss.sum().backward()
    return loss.detach().numpy(), pair.grad.numpy()


def main(repeats: int = 3) -> list[Row]:
    import torch

    torch.set_num_threads(1)  # numpy here is single-threaded too: compare like with like
    s = get_surface("noisy_moons")
    p = _grid(s)
    # Same numbers first: a benchmark of different computations would mean nothing.
    loss, grad = torch_loss_and_grad(s, p, True)
    np.testing.assert_allclose(s.value(p).ravel(), loss, rtol=1e-10)
    np.testing.assert_allclose(s.grad(p).reshape(-1, 2), grad, rtol=1e-8, atol=1e-12)
    t_value = median_seconds(lambda: s.value(p), repeats)
    t_value_peer = median_seconds(lambda: torch_loss_and_grad(s, p, False), repeats)
    t_grad = median_seconds(lambda: s.grad(p), repeats)
    t_grad_peer = median_seconds(lambda: torch_loss_and_grad(s, p, True), repeats)
    what = f"noisy moons, {N_GRID}×{N_GRID} grid, {len(s.labels)} samples"
    return [
        Row(
            f"{what}: loss",
            t_value,
            "s",
            "≤ 1× torch",
            t_value <= t_value_peer,
            peer=t_value_peer,
            peer_name="torch, batched",
        ),
        Row(
            f"{what}: gradient",
            t_grad,
            "s",
            "≤ 1× torch",
            t_grad <= t_grad_peer,
            peer=t_grad_peer,
            peer_name="torch autograd, batched",
        ),
    ]


if __name__ == "__main__":
    from benchmarks.common import report

    report(main())
