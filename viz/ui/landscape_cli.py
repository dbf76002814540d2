"""``optviz landscape``: a network trained in full dimension by several rules, drawn in one
plane (``viz.scene.landscape``), printed as JSON or rendered as a GIF.

    optviz landscape --data moons --widths 2,16,16,1 --activation tanh \\
                     --optimizer sgd --optimizer adam --steps 300 [--plane pca|random] \\
                     [--set lr=0.1 --set adam.lr=0.01] [--batch-size 32] [--seed 0] \\
                     [--grid 60] [--format json|gif] [--out FILE] [--view contour|3d|both]
    optviz landscape --link 'http://127.0.0.1:8050/#v2=...' --format gif --out net.gif

The network scene is a ``Scene`` like every other (``Scene.of_network``): ``optviz
trajectory`` and ``optviz export`` take it too (``--preset network-moons`` or its
``--link``); this command is its flags.

No dash here: the command line imports this module without starting the app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from viz import files

if TYPE_CHECKING:
    from viz.scene import landscape as L

# The parser's choices and defaults, written out so that building the parser imports no
# numpy (every optviz command builds it); tests/test_cli_landscape.py checks them against
# viz.scene.landscape.
DATASETS = ("moons", "circles", "spirals", "xor")
ACTIVATIONS = ("tanh", "relu")
PLANES = ("pca", "random")


class _Defaults:
    data, samples, noise, activation, steps, plane, grid = "moons", 200, 0.2, "tanh", 300, "pca", 60


def add_command(sub) -> None:
    """The ``landscape`` subcommand on ``sub`` (argparse's subparsers)."""
    d = _Defaults
    p = sub.add_parser(
        "landscape",
        help="train a small network with several rules and draw them in one plane",
        description=(
            "Train an MLP in full dimension with each optimizer (gradients by "
            "backpropagation, one shared initialisation), then draw the loss over one plane "
            "through the reference network: PCA of every run's θ − θ_ref, or two random "
            "filter-normalised directions (Li et al. 2018)."
        ),
    )
    p.add_argument("--link", help="the app's share link of a network scene (#v2=… or #net1=…)")
    p.add_argument("--data", choices=DATASETS, help=f"default {d.data}")
    p.add_argument("--samples", type=int, help=f"points in the data set (default {d.samples})")
    p.add_argument("--noise", type=float, help=f"default {d.noise}")
    p.add_argument("--widths", help="layer widths, e.g. 2,16,16,1 (2 inputs, 1 output)")
    p.add_argument("--activation", choices=ACTIVATIONS, help=f"default {d.activation}")
    p.add_argument("--optimizer", action="append", metavar="NAME", help="repeat for several")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[RULE.]NAME=VALUE",
        help="a hyperparameter of every rule with it, or of one rule; repeat for several",
    )
    p.add_argument("--steps", type=int, help=f"default {d.steps}")
    p.add_argument("--batch-size", type=int, help="mini-batch size (default: full batch)")
    p.add_argument("--seed", type=int, help="data, initialisation, mini-batches, directions")
    p.add_argument("--plane", choices=PLANES, help=f"default {d.plane}")
    p.add_argument("--ref", help="the optimizer whose final network is θ_ref (default: first)")
    p.add_argument("--grid", type=int, help=f"grid points per side (default {d.grid})")
    p.add_argument(
        "--format",
        choices=("json", "gif"),
        default="json",
        help="json: the plane, the grid and each path; gif: the animation (default json)",
    )
    p.add_argument("--out", metavar="FILE", help="where to write (gif: required)")
    p.add_argument(
        "--view", choices=("contour", "3d", "both"), default="both", help="GIF views (default both)"
    )
    p.add_argument("--frames", type=int, help="GIF frames (default: up to 200)")
    p.add_argument("--fps", type=int, help="GIF frames per second (default: the scene's)")
    p.set_defaults(command=cmd_landscape)


def spec_of(args: argparse.Namespace) -> L.LandscapeSpec:
    """The spec the arguments ask for (a link's, then the options over it); validated."""
    from viz.scene import landscape as L
    from viz.scene import link
    from viz.scene.model import RunSpec, apply_settings, parse_setting

    spec = L.LandscapeSpec()
    if args.link:
        spec = link.scene_from_link(args.link).network
        if spec is None:
            raise ValueError("the link holds no network scene (choose the network scene first)")
    changes = {
        "data": args.data,
        "samples": args.samples,
        "noise": args.noise,
        "activation": args.activation,
        "steps": args.steps,
        "seed": args.seed,
        "plane": args.plane,
        "ref": args.ref,
        "grid": args.grid,
        "batch_size": args.batch_size,
    }
    spec = replace(spec, **{k: v for k, v in changes.items() if v is not None})
    if args.widths is not None:
        spec = replace(spec, widths=L.parse_widths(args.widths))
    if args.optimizer:
        twice = sorted({n for n in args.optimizer if args.optimizer.count(n) > 1})
        if twice:  # as trajectory and export say it: one run per rule
            raise ValueError(f"optimizer {twice[0]!r} is chosen twice")
        spec = replace(spec, rules=tuple(L.Rule(name) for name in args.optimizer))
    if args.set:
        spec = L.check(spec)  # names known before settings go to them
        runs = [RunSpec(r.optimizer, dict(r.hyper)) for r in spec.rules]
        runs = apply_settings(runs, [parse_setting(s) for s in args.set])
        spec = replace(spec, rules=tuple(L.Rule(r.optimizer, r.hyper) for r in runs))
    return L.check(spec)


def cmd_landscape(args: argparse.Namespace) -> int:
    from viz.gif.export import render_gif_bytes
    from viz.scene import Scene
    from viz.scene import landscape as L

    if args.format == "gif" and not args.out:
        raise ValueError("--format gif needs --out FILE.gif")
    if args.out:
        ext = os.path.splitext(args.out)[1].lower()
        if ext != f".{args.format}":
            raise ValueError(
                f"--out {args.out!r} does not end in .{args.format}, the --format written "
                f"(json unless --format gif; other formats: optviz export --link or --preset)"
            )
        files.check_target(args.out)  # before any work: a refusal costs nothing
    spec = spec_of(args)
    res = L.cached(spec, L.budget_for(spec))
    if args.format == "json":
        text = json.dumps(L.document(res), allow_nan=False)
        if args.out:
            files.write_replacing(args.out, lambda fp: fp.write(text.encode()))
        else:
            sys.stdout.write(text + "\n")
        return 0
    if args.frames is not None and not 1 <= args.frames <= 1000:
        raise ValueError(f"--frames must be from 1 to 1000, got {args.frames}")
    scene = Scene.of_network(spec, view=args.view)  # its runs: the result just computed
    data = render_gif_bytes(scene, frames=args.frames, fps=args.fps)
    size = files.write_replacing(args.out, lambda fp: fp.write(data))
    print(f"wrote {args.out}: {size / 1024:.0f} KiB, {res.seconds:.2f} s of training and grid")
    return 0
