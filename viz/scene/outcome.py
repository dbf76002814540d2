"""How each run ended: the results table's numbers and status words, defined once.

With tolerance ``tol``, the last finite point W of a run and f* the surface's known
minimum value (if it knows one), the status is the first of these that holds:

- **diverged at step k** — the run left the finite world (or went past 1e6) at step k.
- **converged** — W is at a minimum: |f(W) − f*| ≤ tol, or W is within tol of a known
  minimum; on a surface that knows no minimum (your own f(x, y)), W is a stationary point
  (‖∇f(W)‖ ≤ tol) whose Hessian is positive definite.
- **at a local minimum** — W is stationary with a positive-definite Hessian, but f(W) is
  more than tol above the known f*.
- **at a saddle point** — W is stationary and its Hessian has a negative eigenvalue.
- **stationary** — W is stationary and the surface has no Hessian to tell which kind.
- **stalled** — W is not stationary, yet the last step moved less than 1e-9 of the
  window's diagonal (a plateau, or a step size that has shrunk to nothing).
- **still moving** — anything else.

Converged, at a local minimum, at a saddle point and stationary need the run to be
resting: its last step no longer than tol (a run stepping to and fro across a minimum, as
Lion's fixed-size steps do, is still moving when a step happens to land on it).

A run of the network scene is judged in its own space, the network's weights θ: given
``grad_norm`` = ‖∇C(θ)‖ at its last step (full data set), it is **stationary** when that is
≤ tol and **still moving** otherwise (the plane's gradient at a projection says nothing
about the network, and the network knows no minimum).

"Steps to tol" is the first step from which |f − f*| ≤ tol holds to the end of the run
(a run that touches the tolerance and leaves it again has not reached it); "—" where f*
is unknown.
"""

from __future__ import annotations

import math

import numpy as np

STALL = 1e-9  # a last step shorter than this fraction of the window's diagonal is "stalled"


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def steps_to_tol(loss: np.ndarray, f_star: float | None, tol: float) -> int | None:
    """The first step from which |f − f*| ≤ tol holds to the last step, or None."""
    if f_star is None or loss.size == 0:
        return None
    inside = np.abs(loss - f_star) <= tol
    if not inside[-1]:
        return None
    outside = np.nonzero(~inside)[0]
    return int(outside[-1] + 1) if outside.size else 0


def status(
    surface, points: np.ndarray, loss: np.ndarray, diverged_at, tol: float, window, grad_norm=None
):
    """The status word of one run (see the module's docstring)."""
    if diverged_at is not None:
        return f"diverged at step {diverged_at}"
    if grad_norm is not None:  # a network's run: its own gradient decides
        return "stationary" if grad_norm <= tol else "still moving"
    finite = np.nonzero(np.isfinite(points).all(axis=1))[0]
    if finite.size == 0:
        return "still moving"
    w = points[finite[-1]]
    f_star = surface.min_value
    minima = np.array(surface.minima, dtype=float).reshape(-1, 2)
    before = finite[-2] if len(finite) > 1 else finite[-1]
    resting = float(np.hypot(*(w - points[before]))) <= tol
    near = len(minima) and float(np.min(np.hypot(*(minima - w).T))) <= tol
    at_min = (f_star is not None and abs(loss[finite[-1]] - f_star) <= tol) or near
    if resting and at_min:
        return "converged"
    with np.errstate(all="ignore"):
        g = np.asarray(surface.grad(w), dtype=float)
    if resting and np.all(np.isfinite(g)) and float(np.hypot(*g)) <= tol:
        if not surface.has_hessian:
            return "stationary"
        with np.errstate(all="ignore"):
            h = np.asarray(surface.hessian(w), dtype=float)
        if np.all(np.isfinite(h)):
            eig = np.linalg.eigvalsh((h + h.T) / 2)
            if eig.min() < 0:
                return "at a saddle point"
            if eig.min() > 0:
                return "converged" if f_star is None and not len(minima) else "at a local minimum"
        return "stationary"
    (x0, x1), (y0, y1) = window
    if len(finite) > 1 and finite[-2] == finite[-1] - 1:
        last = float(np.hypot(*(points[finite[-1]] - points[finite[-2]])))
        if last < STALL * math.hypot(x1 - x0, y1 - y0):
            return "stalled"
    return "still moving"


def results_rows(runs: list[dict], surface, tol: float, window) -> list[dict]:
    """Per drawn run (``x``, ``y``, ``loss`` lists with None where diverged; a network's
    run also ``grad_norm``): final loss, distance to the nearest known minimum, steps to tol
    and status."""
    minima = np.array(surface.minima, dtype=float).reshape(-1, 2)
    rows = []
    for r in runs:
        pts = np.stack([_floats(r["x"]), _floats(r["y"])], axis=-1)
        loss = _floats(r["loss"])
        finite = np.nonzero(np.isfinite(loss))[0]
        final = float(loss[finite[-1]]) if finite.size else math.nan
        ok = np.nonzero(np.isfinite(pts).all(axis=1))[0]
        dist = None
        if len(minima) and ok.size:
            dist = float(np.min(np.hypot(*(minima - pts[ok[-1]]).T)))
        reached = None
        if r["diverged_at"] is None:
            reached = steps_to_tol(loss, surface.min_value, tol)
        rows.append(
            {
                "label": r["label"],
                "colour": r["colour"],
                "final_loss": final,
                "distance": dist,
                "steps_to_tol": reached,
                "status": status(
                    surface, pts, loss, r["diverged_at"], tol, window, r.get("grad_norm")
                ),
            }
        )
    return rows
