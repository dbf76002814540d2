"""The network scene's maths: a small MLP trained in full dimension by several rules,
drawn in one plane (Li et al. 2018). Pure: the spec, its validation and plain-data form,
the budgeted computation, and its JSON document.

A ``Scene`` carries a :class:`LandscapeSpec` (``Scene.network``) and computes through
:func:`cached`; its surface is the plane's loss on the grid (:meth:`Result.grid_surface`)
and its trajectories are the paths' projections with each path's true loss. This module
imports nothing of ``viz.scene`` (the model imports it); the share link (``#v2=``, and
the older ``#net1=``) is ``viz.scene.link``'s.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from threadpoolctl import threadpool_limits

from optimizers import OPTIMIZERS, get_optimizer
from optimizers.budget import Budget
from optimizers.fulldim import FullRun, train_many
from surfaces.base import Surface
from surfaces.landscape import (
    DATASETS,
    Plane,
    PlaneSurface,
    batched_eval,
    batched_loss,
    grid_loss,
    grid_surface,
    make_data,
    pca_plane,
    project,
    random_plane,
)
from surfaces.network import ACTIVATIONS, MLP

ACTIVATION_CHOICES = ("tanh", "relu")
PLANES = ("pca", "random")
MAX_HIDDEN_LAYERS = 4
MAX_WIDTH = 64
MAX_RULES = 8
MAX_STEPS = 2000
MAX_SAMPLES = 1000
MAX_GRID = 101
MIN_GRID = 5
# Work: network passes (rule steps + grid points + path points, twice) × weights × samples,
# and the PCA plane's eigenproblem on the kept vectors. 6 rules × 300 steps + a 60×60 grid
# of a 2-16-16-1 net on 200 points is ~9e8; the cap is ~5× that, about 10 s on the loaded
# 2-core VM; the deadline stops anything slower.
MAX_WORK = 5_000_000_000
# Every rule's every parameter vector is kept (rules × (steps + 1) × weights floats)
MAX_VECTORS = 20_000_000  # 160 MB
SECONDS = 30.0
LINK_PREFIX = "#net1="  # the first links of the network scene (viz.scene.link reads them)
PAD = 0.25  # the grid covers the paths' projections plus this share of their span

# Learning rates that train a small net in a few hundred steps (the registry's defaults
# are for the 2-D test functions); any hyperparameter can be set per rule.
NETWORK_LR = {
    "sgd": 0.5,
    "momentum": 0.1,
    "nesterov": 0.1,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adadelta": 1.0,
    "adam": 0.02,
    "nadam": 0.02,
    "amsgrad": 0.02,
    "lion": 0.002,
}


@dataclass(frozen=True)
class Rule:
    optimizer: str
    hyper: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return OPTIMIZERS[self.optimizer].label

    @property
    def colour(self) -> str:
        return OPTIMIZERS[self.optimizer].colour

    def full_hyper(self) -> dict:
        h = {"lr": NETWORK_LR[self.optimizer]} if self.optimizer in NETWORK_LR else {}
        return {**h, **self.hyper}


@dataclass(frozen=True)
class LandscapeSpec:
    """What the network scene shows; every field validated by :func:`check`."""

    data: str = "moons"
    samples: int = 200
    noise: float = 0.2
    widths: tuple[int, ...] = (2, 16, 16, 1)
    activation: str = "tanh"
    rules: tuple[Rule, ...] = (Rule("sgd"), Rule("momentum"), Rule("adam"))
    steps: int = 300
    batch_size: int | None = None
    seed: int = 0
    plane: str = "pca"
    ref: str = ""  # the rule whose final vector is θ_ref ("" = the first rule that did not diverge)
    grid: int = 60

    @property
    def model(self) -> MLP:
        return MLP(self.widths, self.activation)


def _whole(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        try:
            text = str(value).strip()
            if not text.lstrip("-").isdigit():
                raise ValueError
            value = int(text)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be from {lo:,} to {hi:,}, got {value:,}")
    return int(value)


def parse_widths(text) -> tuple[int, ...]:
    """``"2,16,16,1"`` (or a list) → ``(2, 16, 16, 1)``: 2 inputs, 1 output, hidden bounded."""
    parts = text.split(",") if isinstance(text, str) else text
    if not isinstance(parts, list | tuple) or not parts:
        raise ValueError(f"widths must be a list like 2,16,16,1, got {text!r}")
    widths = tuple(_whole(p, "each width", 1, 10**9) for p in parts)
    if len(widths) < 2 or widths[0] != 2 or widths[-1] != 1:
        raise ValueError(f"widths must start with 2 (inputs) and end with 1 (output), got {text!r}")
    hidden = widths[1:-1]
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}")
    if any(w > MAX_WIDTH for w in hidden):
        raise ValueError(f"a hidden layer has at most {MAX_WIDTH} units, got {max(hidden)}")
    return widths


def check(spec: LandscapeSpec) -> LandscapeSpec:
    """The spec with every field validated; ``ValueError`` naming the first problem."""
    if spec.data not in DATASETS:
        raise ValueError(f"unknown data set {spec.data!r}; choose one of: {', '.join(DATASETS)}")
    if spec.activation not in ACTIVATION_CHOICES or spec.activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {spec.activation!r}; choose one of: "
            + ", ".join(ACTIVATION_CHOICES)
        )
    if spec.plane not in PLANES:
        raise ValueError(f"unknown plane {spec.plane!r}; choose one of: {', '.join(PLANES)}")
    samples = _whole(spec.samples, "samples", 10, MAX_SAMPLES)
    try:
        noise = float(spec.noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be a number, got {spec.noise!r}") from None
    if not (math.isfinite(noise) and 0 <= noise <= 2):
        raise ValueError(f"noise must be from 0 to 2, got {spec.noise!r}")
    widths = parse_widths(list(spec.widths))
    steps = _whole(spec.steps, "steps", 1, MAX_STEPS)
    grid = _whole(spec.grid, "grid", MIN_GRID, MAX_GRID)
    seed = _whole(spec.seed, "seed", 0, 2**31 - 1)
    batch = (
        None if spec.batch_size in (None, "") else _whole(spec.batch_size, "batch size", 1, samples)
    )
    if not spec.rules:
        raise ValueError("choose at least one optimizer")
    if len(spec.rules) > MAX_RULES:
        raise ValueError(f"at most {MAX_RULES} optimizers, got {len(spec.rules)}")
    rules = []
    for r in spec.rules:
        if r.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {r.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        if OPTIMIZERS[r.optimizer].second_order:
            raise ValueError(f"{r.optimizer} needs the network's P×P Hessian: not offered here")
        opt = get_optimizer(r.optimizer, **r.full_hyper())  # validates every value
        rules.append(Rule(r.optimizer, {k: opt.hyper[k] for k in r.hyper}))
    names = [r.optimizer for r in rules]
    if spec.ref and spec.ref not in names:
        raise ValueError(f"the reference must be one of the chosen optimizers, got {spec.ref!r}")
    return replace(
        spec,
        samples=samples,
        noise=noise,
        widths=widths,
        steps=steps,
        grid=grid,
        seed=seed,
        batch_size=batch,
        rules=tuple(rules),
    )


def work(spec: LandscapeSpec) -> int:
    """Multiply-adds, roughly: network passes × weights × samples, and the PCA plane's
    Gram matrix and eigenproblem on its smaller side (decided before running)."""
    passes = (
        2 * len(spec.rules) * spec.steps + spec.grid**2 + 2 * len(spec.rules) * (spec.steps + 1)
    )
    vectors, weights = len(spec.rules) * (spec.steps + 1), spec.model.size
    small, big = sorted((vectors, weights))
    # in the passes' time: one BLAS thread does the Gram product's multiply-adds ~80× and
    # the eigenproblem's n³ ~12× as fast as the small passes' (1,806 × 4,417: 0.4 s, 1.0 s)
    pca = small**2 * big // 80 + small**3 // 12 if spec.plane == "pca" else 0
    return passes * weights * spec.samples + pca


def check_work(spec: LandscapeSpec) -> None:
    """``ValueError`` saying what to reduce when the spec's work or kept vectors are over
    their caps."""
    kept = len(spec.rules) * (spec.steps + 1) * spec.model.size
    if kept > MAX_VECTORS:
        raise ValueError(
            f"{_what(spec)} keeps {kept / MAX_VECTORS:.1f}× over the limit of parameter "
            "vectors (every step of every rule): use fewer or narrower layers, fewer steps "
            "or optimizers"
        )
    w = work(spec)
    if w > MAX_WORK:
        raise ValueError(
            f"{_what(spec)} is {w / MAX_WORK:.1f}× over the limit: use fewer or narrower "
            "layers, fewer steps, points or optimizers, or a coarser grid"
        )


def _what(spec: LandscapeSpec) -> str:
    return (
        f"the network scene ({len(spec.rules)} optimizers × {spec.steps} steps and a "
        f"{spec.grid}×{spec.grid} grid, {spec.model.size:,} weights, {spec.samples} points)"
    )


def budget_for(spec: LandscapeSpec, seconds: float = SECONDS, cancelled=None) -> Budget:
    """The request's budget, checked against the spec's work before anything runs; its
    deadline ``seconds`` from now (at most ``SECONDS``), ``cancelled`` asked at each tick."""
    check_work(spec)
    b = Budget(MAX_WORK, min(float(seconds), SECONDS), cancelled)
    b.check(work(spec), _what(spec), "use a smaller network, fewer steps or a coarser grid")
    return b


# ----------------------------------------------------------------------------- computing


@dataclass(frozen=True)
class Result:
    """Everything the views draw, for one spec."""

    spec: LandscapeSpec
    X: np.ndarray
    y: np.ndarray
    runs: tuple[FullRun, ...]
    plane: Plane
    ref_rule: str
    a: np.ndarray  # (grid,) plane coordinates
    b: np.ndarray
    z: np.ndarray  # (grid, grid), rows = b
    coords: np.ndarray  # (rules, steps + 1, 2) projections (NaN after divergence)
    true_loss: np.ndarray  # (rules, steps + 1) loss of θ_t itself
    plane_loss: np.ndarray  # (rules, steps + 1) loss at the projected point
    distance: np.ndarray  # (rules, steps + 1) ‖θ_t − its projection‖
    accuracy: np.ndarray  # (rules, steps + 1) on the whole data set
    seconds: float

    @property
    def model(self) -> MLP:
        return self.spec.model

    def axes(self) -> tuple[str, str]:
        """The plane's axis titles: PC1/PC2 with the share each explains, or a/b."""
        if self.plane.explained is None:
            return "a (random)", "b (random)"  # short: a narrow 3-D view keeps them whole
        e1, e2 = self.plane.explained
        return f"PC1 ({e1:.1%})", f"PC2 ({e2:.1%})"

    def _plane_fields(self) -> dict:
        """What both surfaces of the plane are called, and where their runs start."""
        return {
            "name": "network",
            "label": f"Network {'-'.join(map(str, self.spec.widths))} on {self.spec.data}",
            "description": "the loss of the network over the plane of its runs",
            "latex": r"C(\theta_{ref} + a\,d_1 + b\,d_2)",
            "start": tuple(float(v) for v in self.coords[0, 0]),
            "extra": {"axes": self.axes()},
        }

    def surface(self) -> PlaneSurface:
        """The plane's loss as a Surface over (a, b), by the network itself."""
        (a0, a1), (b0, b1) = self.window()
        return PlaneSurface.build(
            self.model,
            self.plane,
            self.X,
            self.y,
            x_range=(a0, a1),
            y_range=(b0, b1),
            **self._plane_fields(),
        )

    @cached_property
    def grid_surface(self) -> Surface:
        """The same plane known on the result's grid, bilinear between nodes: what the
        views draw (one object per result, so what is cached per surface is found again)."""
        return grid_surface(self.a, self.b, self.z, **self._plane_fields())

    def window(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return (float(self.a[0]), float(self.a[-1])), (float(self.b[0]), float(self.b[-1]))

    @cached_property
    def grad_norm(self) -> tuple[float | None, ...]:
        """Per rule: ‖∇C(θ)‖ at its last step on the whole data set (None if diverged),
        by backpropagation: what says whether a run has stopped, in the network's space."""
        norms = []
        for run in self.runs:
            if run.diverged_at is not None:
                norms.append(None)
                continue
            _, g = self.model.backprop(run.thetas[-1], self.X, self.y, loss=False)
            norms.append(float(np.linalg.norm(g)))
        return tuple(norms)

    def boundary(self, rule: int, step: int, n: int = 40):
        """``(xs, ys, prob (n, n))``: rule ``rule``'s network at ``step`` over the inputs."""
        theta = self.runs[rule].thetas[min(step, self.spec.steps)]
        lo, hi = self.X.min(axis=0) - 0.5, self.X.max(axis=0) + 0.5
        xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
        xx, yy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            prob = self.model.predict(theta, np.stack([xx.ravel(), yy.ravel()], axis=1))
        return xs, ys, prob.reshape(n, n)


def _window(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = coords.reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * max(1.0, float(np.abs(pts).max())))
    return lo - PAD * span, hi + PAD * span


def compute(spec: LandscapeSpec, budget: Budget | None = None) -> Result:
    """Train every rule from one initialisation, choose the plane, evaluate the grid.

    BLAS runs on one thread meanwhile: its matrices are 200×16, far too small to share,
    and on the loaded 2-core VM two threads made the whole 2.5-3× slower (6 rules × 300
    steps + 60×60 grid: 3.0-6.1 s with the default threads, 1.9-2.1 s with one).
    """
    with threadpool_limits(1, "blas"):
        return _compute(spec, budget)


def _compute(spec: LandscapeSpec, budget: Budget | None) -> Result:
    t0 = time.perf_counter()
    spec = check(spec)
    budget = budget if budget is not None else budget_for(spec)
    tick = budget.tick
    model = spec.model
    X, y = make_data(spec.data, spec.samples, spec.noise, spec.seed)
    theta0 = model.init(np.random.default_rng(spec.seed))
    opts = [get_optimizer(r.optimizer, **r.full_hyper()) for r in spec.rules]
    runs = tuple(
        train_many(opts, model, X, y, theta0, spec.steps, spec.batch_size, spec.seed, tick)
    )
    names = [r.optimizer for r in spec.rules]
    alive = [i for i, run in enumerate(runs) if run.diverged_at is None]
    if not alive:
        raise ValueError("every optimizer diverged: lower the learning rates")
    ref_i = names.index(spec.ref) if spec.ref else alive[0]
    if runs[ref_i].diverged_at is not None:
        raise ValueError(f"the reference {spec.ref} diverged: choose another reference")
    ref = runs[ref_i].thetas[-1]
    thetas = np.stack([r.thetas for r in runs])  # (R, steps + 1, P)
    tick()
    if spec.plane == "pca":
        plane = pca_plane(thetas.reshape(-1, model.size), ref)
    else:
        plane = random_plane(model, ref, spec.seed)
    coords, distance = project(plane, thetas)
    true_loss, accuracy = batched_eval(model, thetas, X, y, tick)
    plane_loss = batched_loss(model, plane.at(coords[..., 0], coords[..., 1]), X, y, tick)
    lo, hi = _window(coords)
    a = np.linspace(lo[0], hi[0], spec.grid)
    b = np.linspace(lo[1], hi[1], spec.grid)
    z = grid_loss(model, plane, a, b, X, y, tick)
    return Result(
        spec,
        X,
        y,
        runs,
        plane,
        names[ref_i],
        a,
        b,
        z,
        coords,
        true_loss,
        plane_loss,
        distance,
        accuracy,
        time.perf_counter() - t0,
    )


CACHE = 8  # results kept: the page's step, strip, export and link read the one computed
CACHE_BYTES = 256 * 2**20  # and at most this much of their parameter vectors (the newest kept)
_results: OrderedDict = OrderedDict()
_lock = threading.Lock()


def cached(spec: LandscapeSpec, budget: Budget | None = None) -> Result:
    """``compute(spec, budget)``, remembered (the computation is deterministic, so any
    worker recomputes the same one): the page's views, strip, export and link share it."""
    spec = check(spec)
    key = json.dumps(spec_to_dict(spec), sort_keys=True)
    with _lock:
        hit = _results.get(key)
        if hit is not None:
            _results.move_to_end(key)
            return hit
    res = compute(spec, budget)
    with _lock:
        _results[key] = res
        while len(_results) > 1 and (len(_results) > CACHE or _held() > CACHE_BYTES):
            _results.popitem(last=False)
    return res


def _held() -> int:
    return sum(run.thetas.nbytes for res in _results.values() for run in res.runs)


# ----------------------------------------------------------------------------- JSON


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def document(res: Result) -> dict:
    """The JSON document of ``optviz landscape --format json``."""
    s = res.spec
    return {
        "spec": spec_to_dict(s),
        "weights": res.model.size,
        "plane": {
            "kind": res.plane.kind,
            "reference": res.ref_rule,
            "explained_variance": None
            if res.plane.explained is None
            else list(res.plane.explained),
        },
        "a": [float(v) for v in res.a],
        "b": [float(v) for v in res.b],
        "loss": [[_num(v) for v in row] for row in res.z],
        "runs": [
            {
                "optimizer": r.optimizer,
                "label": r.label,
                "colour": r.colour,
                "hyper": {
                    k: v for k, v in get_optimizer(r.optimizer, **r.full_hyper()).hyper.items()
                },
                "points": [[_num(p[0]), _num(p[1])] for p in res.coords[i]],
                "true_loss": [_num(v) for v in res.true_loss[i]],
                "plane_loss": [_num(v) for v in res.plane_loss[i]],
                "distance": [_num(v) for v in res.distance[i]],
                "accuracy": [_num(v) for v in res.accuracy[i]],
                "diverged_at": run.diverged_at,
            }
            for i, (r, run) in enumerate(zip(s.rules, res.runs, strict=True))
        ],
        "seconds": round(res.seconds, 4),
    }


def spec_to_dict(s: LandscapeSpec) -> dict:
    out = {
        "d": s.data,
        "n": s.samples,
        "e": s.noise,
        "w": list(s.widths),
        "f": s.activation,
        "r": [[r.optimizer, dict(r.hyper)] if r.hyper else [r.optimizer] for r in s.rules],
        "st": s.steps,
        "sd": s.seed,
        "p": s.plane,
        "g": s.grid,
    }
    if s.batch_size is not None:
        out["b"] = s.batch_size
    if s.ref:
        out["ref"] = s.ref
    return out


_FIELDS = {"d", "n", "e", "w", "f", "r", "st", "sd", "p", "g", "b", "ref"}


def spec_from_dict(d) -> LandscapeSpec:
    """The spec of plain data (from a link or a store); validated; ``ValueError``."""
    if not isinstance(d, dict):
        raise ValueError("the network scene is not an object")
    unknown = set(d) - _FIELDS
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
    rules = d.get("r", [["sgd"], ["momentum"], ["adam"]])
    if not isinstance(rules, list):
        raise ValueError("optimizers must be a list")
    parsed = []
    for r in rules[: MAX_RULES + 1]:
        if not (isinstance(r, list) and 1 <= len(r) <= 2 and isinstance(r[0], str)):
            raise ValueError("each optimizer must be [name] or [name, {hyper}]")
        hyper = r[1] if len(r) == 2 else {}
        if not isinstance(hyper, dict) or not all(isinstance(k, str) for k in hyper):
            raise ValueError("an optimizer's hyperparameters must be an object")
        parsed.append(Rule(r[0], dict(hyper)))
    defaults = LandscapeSpec()
    strs = {"d": "data", "f": "activation", "p": "plane", "ref": "reference"}
    for key, what in strs.items():
        if key in d and not isinstance(d[key], str):
            raise ValueError(f"{what} must be text")
    return check(
        LandscapeSpec(
            data=d.get("d", defaults.data),
            samples=d.get("n", defaults.samples),
            noise=d.get("e", defaults.noise),
            widths=parse_widths(d.get("w", list(defaults.widths))),
            activation=d.get("f", defaults.activation),
            rules=tuple(parsed),
            steps=d.get("st", defaults.steps),
            batch_size=d.get("b"),
            seed=d.get("sd", defaults.seed),
            plane=d.get("p", defaults.plane),
            ref=d.get("ref", ""),
            grid=d.get("g", defaults.grid),
        )
    )
