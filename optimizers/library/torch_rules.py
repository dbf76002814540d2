"""torch.optim and pytorch-optimizer rules as pure (init, step) pairs.

Each start's point is a float64 ``torch`` parameter; every step writes the surface's
exact gradient into ``param.grad`` (no autograd through our numpy) and calls the
library's own ``optimizer.step()``. The rule keeps its state in the torch optimizer;
the state we hand back holds a copy of it taken after the step, so a step is pure from
the caller's side: stepping again from an older state loads that copy back first.

Rules whose maths is per coordinate (torch.optim's SGD, Adam, ... below) run a batch
of B starts as one (B, 2) parameter; any other rule gets one optimizer per start, so
that norms, trust ratios and other whole-parameter quantities are each start's own.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from typing import Any, NamedTuple

import numpy as np

from optimizers.base import Optimizer, RuleFailed

INSTALL = "pip install 'optviz[torch]'"

# torch.optim rules that act coordinate by coordinate: a batch is one (B, 2) tensor.
ELEMENTWISE = frozenset(
    {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop"}
)


def import_torch():
    """``torch``, or ``ValueError`` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ValueError(f"torch is not installed: {INSTALL}") from None
    return torch


_ATOMS = frozenset({int, float, bool, str, type(None)})


def _clone(v):
    """A deep copy of optimizer state: tensors cloned, containers rebuilt, numbers shared."""
    t = type(v)
    if t in _ATOMS:
        return v
    if t is _tensor_type():
        return v.detach().clone()
    if isinstance(v, dict):
        out = v.copy()
        for k, x in v.items():
            if type(x) not in _ATOMS:
                out[k] = _clone(x)
        return out
    if t is list:
        return [_clone(x) for x in v]
    if t is tuple:
        return tuple(_clone(x) for x in v)
    if isinstance(v, _tensor_type()):  # a Parameter or another subclass
        return v.detach().clone()
    return copy.deepcopy(v)


def _from_numpy(a: np.ndarray):
    return import_torch().from_numpy(a)


@functools.cache
def _tensor_type():
    return import_torch().Tensor


# A rule that re-evaluates f inside its step (LBFGS's line search: 25 at its defaults) may
# do so this often per step: max_iter = 10⁹ held a server thread for good.
MAX_EVALUATIONS = 100


class _Engine:
    """One live torch optimizer over one parameter, and which state it currently holds."""

    def __init__(self, make, x: np.ndarray, elementwise: bool = False):
        torch = import_torch()
        self.param = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        self.view = self.param.detach().numpy()  # the parameter's memory, written in place
        # torch.optim's per-coordinate rules hold no reference to p.grad: one grad tensor,
        # refilled each step. Others get a fresh one (a rule may keep the last as state).
        self.grad = torch.zeros_like(self.param) if elementwise else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constructor notes (e.g. "lr is None") aren't ours
            self.opt = make([self.param])
        self.closure = _needs_closure(self.opt)
        # AdaHessian, SophiaH: step(hessian=[...]) takes the Hessian's diagonal, which
        # their Hutchinson estimate (autograd with create_graph) only samples.
        self.hessian = _takes(self.opt, "hessian")
        self.loaded: object = None  # the token of the state whose copy the optimizer holds
        self.evaluations = 0  # of f by the closure in the current step (MAX_EVALUATIONS)

    def snapshot(self):
        opt = self.opt
        groups = [_clone({k: v for k, v in g.items() if k != "params"}) for g in opt.param_groups]
        return {k: _clone(v) for k, v in opt.state.items()}, groups

    def load(self, snap) -> None:
        state, groups = snap
        self.opt.state.clear()
        self.opt.state.update(_clone(state))
        for g, saved in zip(self.opt.param_groups, groups, strict=True):
            params = g["params"]
            g.clear()  # keys a later step added (pytorch-optimizer's group["step"]) go too
            g["params"] = params
            g.update(_clone(saved))

    def step(self, x: np.ndarray, g: np.ndarray, surface) -> np.ndarray:
        self.view[...] = x
        if self.grad is None:
            self.param.grad = _from_numpy(np.array(g))
        else:
            self.grad.numpy()[...] = g
            self.param.grad = self.grad
        try:
            self._step(surface)
        except (ZeroDivisionError, OverflowError):
            # The library's own float arithmetic broke down (e.g. 0/0 in a Python
            # float): this start's path ends there, as a divergence would.
            return np.full_like(x, np.nan)
        except RuntimeError as exc:
            if "non-finite" not in str(exc):
                raise
            # torch.linalg refused a preconditioner that had overflowed (Shampoo's SVD
            # on Goldstein-Price, on some machines): as any overflow, a divergence
            return np.full_like(x, np.nan)
        return self.view.copy()

    def _step(self, surface) -> None:
        self.evaluations = 0
        if self.closure:
            self.opt.step(self._closure(surface))
        elif self.hessian:
            self.opt.step(hessian=self._diagonal(surface))
        else:
            try:
                self.opt.step()
            except Exception as exc:
                if type(exc).__name__ != "NoClosureError":
                    raise
                self.closure = True  # pytorch-optimizer says so at the first step
                self.opt.step(self._closure(surface))

    def _diagonal(self, surface):
        """The exact Hessian's diagonal at the parameter, when the rule's period asks for
        one (``update_period``: SophiaH's 10 steps), else None (it keeps its last)."""
        done = self.opt.param_groups[0].get("step", 0)
        if done % max(1, int(getattr(self.opt, "update_period", 1) or 1)):
            return None
        if not getattr(surface, "has_hessian", True):
            raise ValueError(
                f"it needs a Hessian: surface '{getattr(surface, 'name', '?')}' has none"
            )
        h = np.asarray(surface.hessian(self.view), dtype=np.float64)
        return [_from_numpy(np.ascontiguousarray(np.diagonal(h, axis1=-2, axis2=-1)))]

    def _closure(self, surface):
        """Re-evaluates loss and gradient at the parameter's current value (line searches)."""
        torch = import_torch()
        param = self.param

        def closure():
            self.evaluations += 1
            if self.evaluations > MAX_EVALUATIONS:  # no deadline reaches inside a step
                raise ValueError(
                    f"it evaluated f more than {MAX_EVALUATIONS} times in one step; "
                    "lower its max_iter or max_eval"
                )
            x = param.detach().numpy()
            value = surface.value(x[None] if x.ndim == 1 else x)
            param.grad = torch.from_numpy(np.array(surface.grad(x), dtype=np.float64))
            return torch.tensor(float(np.sum(value)), dtype=torch.float64)

        return closure


def _takes(opt, name: str) -> bool:
    try:
        return name in inspect.signature(opt.step).parameters
    except (TypeError, ValueError):
        return False


def _needs_closure(opt) -> bool:
    try:
        p = inspect.signature(opt.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return p is not None and p.default is inspect.Parameter.empty


class TorchState(NamedTuple):
    """A library rule's state: step count, copies of the optimizers' state, the engines."""

    count: int
    snaps: tuple
    engines: Any
    token: object


def adapter(make, label: str, elementwise: bool) -> Optimizer:
    """The (init, step) pair driving ``make([param]) -> torch.optim.Optimizer``."""

    def init(params):
        x = np.array(params, dtype=np.float64)
        try:
            if x.ndim == 1 or elementwise:
                engines = (_Engine(make, x, elementwise),)
            else:
                engines = tuple(_Engine(make, row) for row in x)
        except Exception as exc:  # the library's own complaint, as one line
            raise RuleFailed(f"{label} cannot be built here: {_line(exc)}") from None
        token = object()
        for e in engines:
            e.loaded = token
        return TorchState(0, tuple(e.snapshot() for e in engines), engines, token)

    def step(params, state, surface):
        x = np.asarray(params, dtype=np.float64)  # copied into the parameter, not kept
        g = np.asarray(surface.grad(x), dtype=np.float64)
        engines, token = state.engines, object()
        try:
            if x.ndim == 1 or elementwise:  # one engine over the whole batch
                e = engines[0]
                if e.loaded is not state.token:
                    e.load(state.snaps[0])
                out = e.step(x, g, surface)
            else:
                rows = []
                for i, e in enumerate(engines):
                    if e.loaded is not state.token:
                        e.load(state.snaps[i])
                    rows.append(e.step(x[i], g[i], surface))
                out = np.stack(rows)
        except Exception as exc:  # the library's own complaint, as one line
            raise RuleFailed(f"{label} failed at step {state.count + 1}: {_line(exc)}") from None
        for e in engines:
            e.loaded = token
        return out, TorchState(
            state.count + 1, tuple(e.snapshot() for e in engines), engines, token
        )

    return Optimizer(init, step)


def _line(exc: BaseException) -> str:
    """An exception's message on one line, at most 300 characters."""
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]
