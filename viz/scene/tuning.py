"""A scene's race tuned, and a phase diagram of one of its runs (pure: no UI).

``tune_scene`` tunes every run of a scene (``optimizers.tuning.tune``: same budget of
trials, objective and starts for each) and returns the scene replayed at the tuned values;
``phase_of_scene`` maps one run's rule over two hyperparameters from the scene's start.
Both check their whole work against a budget before anything runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimizers.budget import Budget
from optimizers.phase import PhaseMap, phase_diagram
from optimizers.tuning import (
    MAX_STARTS,
    MAX_TRIALS,
    Tuning,
    budget_part,
    check_budget,
    tune,
)
from viz.scene.model import Scene


def _check_constant_lr(scene: Scene) -> None:
    for r in scene.resolved_runs():
        if r.schedule is not None and r.schedule[0] != "constant":
            raise ValueError(
                f"tuning needs a constant lr: {r.label} has the {r.schedule[0]} schedule"
            )


NOT_FOR_NETWORK = (
    "the network scene trains every weight of a network, and tuning and phase diagrams run "
    "rules on a 2-D surface: choose a surface or another preset"
)


def _check_2d(scene: Scene) -> None:
    if scene.network is not None:
        raise ValueError(NOT_FOR_NETWORK)


def tune_scene(
    scene: Scene,
    *,
    objective: str = "final",
    trials: int = 64,
    starts: int = 1,
    also: str | None = None,
    also_range=None,
    lr_range=None,
    replicas: int = 1,
    tol: float = 1e-6,
    budget: Budget | None = None,
) -> tuple[list[Tuning], Scene]:
    """``(one Tuning per run, the scene with each run at its tuned values)``.

    Runs sharing their gradient noise are tuned together; ``also`` is tuned for the runs
    whose rule has it. ``ValueError`` for bad input, before anything runs.
    """
    _check_2d(scene)
    _check_constant_lr(scene)
    surface = scene.get_surface()
    per_run = []
    for r in scene.runs:
        noise, seed = scene.run_noise(r)
        per_run.append(((r.info(), r.full_hyper()), noise, seed))
    options = dict(
        objective=objective,
        trials=trials,
        starts=starts,
        lr_range=lr_range,
        also_range=also_range,
        tol=tol,
    )

    def has(i: int) -> bool:
        return also is not None and any(h.name == also for h in per_run[i][0][0].hyper)

    if also is not None and also != "lr" and not any(has(i) for i in range(len(per_run))):
        names = sorted({p[0][0].name for p in per_run})
        raise ValueError(f"no optimizer of the scene ({', '.join(names)}) has {also!r}")
    valid = isinstance(trials, int) and trials in range(2, MAX_TRIALS + 1)
    valid = valid and isinstance(starts, int) and starts in range(1, MAX_STARTS + 1)
    if budget is not None and valid:  # else tune() says what is wrong
        # the whole request's work, before the first run (tune() then checks each group)
        parts = [
            budget_part(
                info,
                hyper,
                starts * starts * (replicas if noise else 1),
                also if has(i) and also != "lr" else None,
            )
            for i, ((info, hyper), noise, _) in enumerate(per_run)
        ]
        check_budget(budget, parts, trials, scene.steps, "runs")
    groups: dict[tuple[float, int], list[int]] = {}
    for i, (_, noise, seed) in enumerate(per_run):
        groups.setdefault((noise, seed), []).append(i)
    results: list = [None] * len(per_run)
    for (noise, seed), idx in groups.items():
        t = tune(
            [per_run[i][0] for i in idx],
            surface,
            scene.start,
            scene.steps,
            noise=noise,
            seed=seed,
            replicas=replicas if noise else 1,
            also=also if any(has(i) for i in idx) else None,
            budget=budget,
            **options,
        )
        for k, i in enumerate(idx):
            results[i] = replace(t, rules=[t.rules[k]])
    runs = []
    for r, t in zip(scene.runs, results, strict=True):
        tuned = t.rules[0].hyper
        keep = {k: v for k, v in tuned.items() if k in r.hyper or k in ("lr", also)}
        runs.append(replace(r, hyper={**r.hyper, **keep}))
    return results, replace(scene, runs=tuple(runs)).validate()


def tuning_document(scene: Scene, tunings: list[Tuning], tuned: Scene, link: str) -> dict:
    """What ``optviz tune --format json`` prints: the table, ``--set`` lines and a link."""
    first = tunings[0]
    rows = []
    for spec, t in zip(scene.resolved_runs(), tunings, strict=True):
        row = t.rules[0].to_dict()
        row["label"] = spec.label
        rows.append(row)
    return {
        "surface": scene.surface_name,
        "start": list(scene.start),
        "steps": scene.steps,
        "objective": first.objective,
        "budget": first.trials,
        "starts": first.starts,
        "also": first.other,
        "tol": first.tol,
        "f_star": first.fstar,
        "rules": rows,
        "set": set_lines(scene, tuned),
        "link": link,
    }


def set_lines(scene: Scene, tuned: Scene) -> list[str]:
    """``rule.name=value`` for every tuned value that changed (``optviz trajectory --set``)."""
    out = []
    for before, after in zip(scene.runs, tuned.runs, strict=True):
        old = before.full_hyper()
        for k, v in after.hyper.items():
            if isinstance(v, float) and old.get(k) != v:
                out.append(f"{after.optimizer}.{k}={v!r}")
    return out


def phase_of_scene(
    scene: Scene,
    run: int,
    x,
    y,
    *,
    cells: int = 100,
    objective: str = "final",
    starts: int = 1,
    tol: float = 1e-6,
    budget: Budget | None = None,
) -> PhaseMap:
    """Run ``run`` (an index into the scene's runs) of the scene over two hyperparameters,
    its other hyperparameters as they are, from the scene's start and noise."""
    _check_2d(scene)
    if isinstance(run, bool) or not isinstance(run, int) or not 0 <= run < len(scene.runs):
        raise ValueError(f"run must be one of the scene's {len(scene.runs)} runs, got {run!r}")
    r = scene.runs[run]
    noise, seed = scene.run_noise(r)
    return phase_diagram(
        r.info(),
        scene.get_surface(),
        x,
        y,
        cells,
        scene.steps,
        start=scene.start,
        hyper=dict(r.hyper),
        objective=objective,
        starts=starts,
        tol=tol,
        noise=noise,
        seed=seed,
        budget=budget,
    )


def scene_with_hyper(scene: Scene, run: int, values: dict) -> Scene:
    """The scene with run ``run``'s hyperparameters ``values`` set (validated)."""
    r = scene.runs[run]
    runs = list(scene.runs)
    runs[run] = replace(r, hyper={**r.hyper, **values})
    return replace(scene, runs=tuple(runs)).validate()


def scene_at_cell(scene: Scene, run: int, m: PhaseMap, i: int, j: int) -> Scene:
    """The scene with run ``run`` at the hyperparameters of cell (row ``i``, column ``j``)."""
    return scene_with_hyper(scene, run, {m.x: float(m.xs[j]), m.y: float(m.ys[i])})


PHASE_SCALE = "Viridis"  # low (good) is dark, high (bad) is yellow; diverged cells are grey
DIVERGED_COLOUR = "#bdbdbd"


def phase_field(m: PhaseMap) -> tuple[np.ndarray, str]:
    """What a phase diagram colours, per cell (NaN where diverged), and its legend title:
    log₁₀ of ``final`` (the largest f − f* over the last 10 % of the steps, under 1e-20
    as 1e-20), steps, or the area."""
    with np.errstate(all="ignore"):
        if m.objective == "final":
            z = np.log10(m.final)
            title = "log10(f − f*), last 10 % of steps"
        elif m.objective == "steps":
            z = m.steps_to_tol.astype(float)
            title = f"steps to f − f* ≤ {m.tol:g}"
        else:
            z = m.area.copy()
            title = "mean log10(f − f*)"
    z = np.where(m.diverged | ~np.isfinite(z), np.nan, z)
    return z, title
