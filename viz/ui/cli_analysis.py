"""``optviz tune`` and ``optviz phase``: the command-line side of the tuning and
phase-diagram panels (no dash here; ``optviz_cli`` registers these two commands).

    optviz tune --preset radford-beale --objective area --budget 64 [--starts 3] --format json
    optviz tune --surface rosenbrock --optimizer adam --optimizer sgd --objective final
    optviz phase --surface ravine --optimizer momentum --x lr:1e-4:1:log --y momentum:0:0.99 \\
                 --cells 200 --out map.png

``tune`` prints the table (JSON, or text), the ``--set`` lines and the share link of the
race at the tuned values: ``optviz trajectory --link LINK`` (or the ``--set`` lines) replays
it. An axis of ``phase`` is ``name:low:high[:log|lin]``; ``--out`` ends in .png, .gif or
.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys

from optimizers.budget import Budget
from optimizers.phase import MAX_CELLS, analytic
from optimizers.tuning import MAX_STARTS, MAX_TRIALS, OBJECTIVES
from viz import files
from viz.scene.link import scene_to_link
from viz.scene.tuning import phase_of_scene, tune_scene, tuning_document

DEFAULT_BASE = "http://127.0.0.1:8050/"
PHASE_OUT = (".png", ".gif", ".json")


def _whole(option: str, low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:,} and {high:,}, got {value:,}")
        return value

    return parse


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like low,high, got {text!r}") from None
    return lo, hi


def _objective(parser: argparse.ArgumentParser, default: str) -> None:
    """The --objective option of tune and phase, each with its own default."""
    parser.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=default,
        help=OBJECTIVE_HELP + " (default: %(default)s)",
    )


def _base(text: str) -> str:
    """The app's address for a printed link: an http(s) URL, nothing a page would run."""
    if not re.fullmatch(r"https?://[^\s#\"'<>]+", text):
        raise argparse.ArgumentTypeError(
            f"must be the app's http(s) address, like {DEFAULT_BASE}, got {text!r}"
        )
    return text


def _positive(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


OBJECTIVE_HELP = (
    "final: the largest f − f* over the last 10 %% of the steps; steps: until f − f* ≤ tol "
    "for good; area: the mean of log10(f − f*) over the steps"
)


def add_commands(sub, add_scene_arguments, prepare) -> None:
    """Add ``tune`` and ``phase`` to the subparsers ``sub``; ``add_scene_arguments`` and
    ``prepare`` are the CLI's own (the scene options, and the scene they describe)."""
    tune = sub.add_parser(
        "tune",
        help="tune every optimizer of a scene with the same budget (a fair race)",
        description=(
            "Tune each optimizer's lr (and --also, one more hyperparameter) with the same "
            "budget of trials, objective and starts; print the tuned values, the objective, "
            "the flat range of lr and the share link of the race at the tuned values."
        ),
    )
    add_scene_arguments(tune)
    _objective(tune, "area")
    tune.add_argument(
        "--budget",
        type=_whole("--budget", 2, MAX_TRIALS),
        default=64,
        help="trials per optimizer, the same for each (default %(default)s)",
    )
    tune.add_argument(
        "--starts",
        type=_whole("--starts", 1, MAX_STARTS),
        default=1,
        help="k: tune over a k×k grid of starts around the start (default %(default)s)",
    )
    tune.add_argument("--also", metavar="NAME", help="a second hyperparameter to tune")
    tune.add_argument(
        "--also-range", type=_range, metavar="LO,HI", help="range of --also; default: each rule's"
    )
    tune.add_argument("--lr-range", type=_range, metavar="LO,HI", help="default: each rule's")
    tune.add_argument(
        "--tol", type=_positive, default=1e-6, help="the f − f* that 'steps' waits for"
    )
    tune.add_argument(
        "--base", type=_base, default=DEFAULT_BASE, help="the app's http(s) address, for the link"
    )
    tune.add_argument(
        "--format",
        choices=("json", "text", "set"),
        default="json",
        help="json: the table, --set lines and link; text: a table; set: the --set lines",
    )
    tune.set_defaults(command=lambda args: cmd_tune(args, prepare))

    phase = sub.add_parser(
        "phase",
        help="map one optimizer over two hyperparameters (a phase diagram)",
        description=(
            "One run per cell of a grid over two hyperparameters of one optimizer of the "
            "scene, coloured by the objective; diverged cells grey; Distill's analytic "
            "curves over it for momentum/nesterov over lr × momentum."
        ),
    )
    add_scene_arguments(phase)
    phase.add_argument(
        "--x",
        required=True,
        metavar="NAME:LOW:HIGH[:log]",
        help="the hyperparameter across and its range, :log for a log axis: lr:1e-4:1:log",
    )
    phase.add_argument(
        "--y", required=True, metavar="NAME:LOW:HIGH[:log]", help="the one up: momentum:0:0.99"
    )
    phase.add_argument(
        "--cells",
        type=_whole("--cells", 2, MAX_CELLS),
        default=100,
        help=f"cells per side, 2 to {MAX_CELLS} (default 100)",
    )
    _objective(phase, "final")
    phase.add_argument(
        "--starts",
        type=_whole("--starts", 1, MAX_STARTS),
        default=1,
        help="k: each cell is the mean over a k×k grid of starts around the start "
        "(default %(default)s)",
    )
    phase.add_argument(
        "--tol", type=_positive, default=1e-6, help="the f − f* that 'steps' waits for"
    )
    phase.add_argument(
        "--run", default="0", help="which optimizer of the scene: its index or its rule"
    )
    phase.add_argument("--out", required=True, metavar="FILE", help="map.png, map.gif or map.json")
    phase.set_defaults(command=lambda args: cmd_phase(args, prepare))


def cmd_tune(args, prepare) -> int:
    scene = prepare(args)
    tunings, tuned = tune_scene(
        scene,
        objective=args.objective,
        trials=args.budget,
        starts=args.starts,
        also=args.also,
        also_range=args.also_range,
        lr_range=args.lr_range,
        tol=args.tol,
        budget=Budget.of("tune"),
    )
    doc = tuning_document(scene, tunings, tuned, scene_to_link(tuned, args.base))
    out = sys.stdout
    if args.format == "json":
        json.dump(doc, out, allow_nan=False)
        out.write("\n")
    elif args.format == "set":
        out.write(" ".join(f"--set {shlex.quote(line)}" for line in doc["set"]) + "\n")
    else:
        out.write(
            f"objective: {doc['objective']}, {doc['budget']} trials per optimizer, "
            f"{doc['starts']}×{doc['starts']} starts, {doc['steps']} steps\n"
        )
        for row in doc["rules"]:
            lo, hi = row["flat_lr"]
            flat = f"{lo:.3g}–{hi:.3g}" if lo is not None else "—"
            obj = "diverged" if row["objective"] is None else f"{row['objective']:.4g}"
            default = (
                "diverged"
                if row["default_objective"] is None
                else f"{row['default_objective']:.4g}"
            )
            values = ", ".join(
                f"{k}={v:.4g}" for k, v in row["hyper"].items() if isinstance(v, float)
            )
            m = row["moved_objective"]
            moved = "diverged" if m is None else f"{m:.4g}"
            fragile = " (fragile)" if row["fragile"] else ""
            if row["kept_default"]:
                values += " (the default: no trial beat it)"
            out.write(
                f"{row['label']:<12} {values:<36} {obj:>10} (default {default}) flat lr {flat}"
                f", moved starts {moved}{fragile}\n"
            )
        for line in doc["set"]:
            out.write(f"--set {line}\n")
        out.write(doc["link"] + "\n")
    return 0


def _run_index(scene, text: str) -> int:
    if text.isdigit():
        return int(text)
    names = [r.optimizer for r in scene.runs]
    if text in names:
        return names.index(text)
    raise ValueError(
        f"--run must be an index or one of the scene's optimizers ({', '.join(names)})"
    )


def cmd_phase(args, prepare) -> int:
    ext = os.path.splitext(args.out)[1].lower()
    if ext not in PHASE_OUT:
        raise ValueError(f"--out must end in {', '.join(PHASE_OUT)}, got {args.out[:80]!r}")
    files.check_target(args.out)
    scene = prepare(args)
    run = _run_index(scene, args.run)
    m = phase_of_scene(
        scene,
        run,
        args.x,
        args.y,
        cells=args.cells,
        objective=args.objective,
        starts=args.starts,
        tol=args.tol,
        budget=Budget.of("phase"),
    )
    an = analytic(m.rule, scene.get_surface(), m.x, m.xs, m.y, m.ys)
    if ext == ".json":
        doc = m.to_dict()
        if an is not None:
            doc["analytic"] = {
                "eigenvalues": list(an.lams),
                "alpha_star": an.alpha_star,
                "beta_star": an.beta_star,
                "rate_star": an.rate_star,
            }
        data = (json.dumps(doc, allow_nan=False) + "\n").encode()
    else:
        from viz.gif.phase import phase_image_bytes

        data = phase_image_bytes(m, ext[1:], an)
    size = files.write_replacing(args.out, lambda fp: fp.write(data))
    diverged = int(m.diverged.sum())
    print(
        f"wrote {args.out}: {len(m.xs)}×{len(m.ys)} cells of {m.rule} over {m.x} × {m.y}, "
        f"{diverged} diverged, {size / 1024:.0f} KiB"
    )
    return 0
