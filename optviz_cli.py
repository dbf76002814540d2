"""The ``optviz`` command line: serve the app, print trajectories, export GIFs.

    optviz serve [--host 127.0.0.1] [--port 8050] [--debug]
    optviz trajectory --surface rosenbrock --optimizer adam [--optimizer sgd ...]
                      --start -1.5,2 --steps 500 [--set lr=0.01 --set adam.beta1=0.9 ...]
                      [--noise σ --seed k] [--format json|csv]
    optviz trajectory --preset radford-saddle --format json
    optviz trajectory --expression "x**2 + 3*y**2" --x-range -2,2 --y-range -2,2 ...
    optviz export --preset radford-beale --out beale.gif [--view contour|3d|both]
                  [--frames N] [--fps F] [--size 800x600]
    optviz presets [-v]

A scene comes from ``--preset`` (its settings overridable by ``--set``, ``--steps``,
``--start``, ``--noise``, ``--seed``), from ``--surface`` or from ``--expression``.
``--set name=value`` applies to every chosen optimizer that has ``name``;
``--set rule.name=value`` to that rule only.

Every bad argument ends with exit status 2 and one line on stderr naming the problem.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import math
import re
import sys
from collections.abc import Sequence

EXIT_USAGE = 2
MAX_FRAMES = 1000
MAX_SIZE = (1920, 1080)

# Options whose value may start with "-" (a negative coordinate): argparse would take
# "--start -1.5,2" for two options, so such values are glued on as "--start=-1.5,2".
_VALUE_OPTIONS = ("--start", "--x-range", "--y-range", "--set")
_NEGATIVE = re.compile(r"^-\d|^-\.\d|^-inf|^-nan", re.IGNORECASE)


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (no usage dump) and exit with status 2."""

    def error(self, message: str):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad arguments)."""
    argv = _glue_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return args.command(args)
    except UsageError as exc:
        return _fail(str(exc))
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        # The core's messages are written for users; KeyError wraps its message in quotes.
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        return _fail(message)
    except SystemExit as exc:  # --help, or argparse giving up on its own
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:  # `optviz trajectory ... | head`
        return 0


def _fail(message: str) -> int:
    line = " ".join(str(message).split())  # one line, whatever the message held
    print(f"optviz: error: {line}", file=sys.stderr)
    return EXIT_USAGE


def _glue_negative_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in _VALUE_OPTIONS and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


# ---------------------------------------------------------------- parsing


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optviz", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=_Parser
    )

    serve = sub.add_parser("serve", help="open the app in the browser (Dash)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8050)
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, errors)")
    serve.set_defaults(command=cmd_serve)

    traj = sub.add_parser("trajectory", help="print every optimizer's path as JSON or CSV")
    _add_scene_arguments(traj)
    traj.add_argument("--format", choices=("json", "csv"), default="json")
    traj.set_defaults(command=cmd_trajectory)

    export = sub.add_parser("export", help="render a scene to an animated GIF")
    _add_scene_arguments(export)
    export.add_argument("--out", required=True, help="the GIF file to write")
    export.add_argument(
        "--view", choices=("contour", "3d", "both"), help="default: the preset's view, else contour"
    )
    export.add_argument(
        "--frames",
        type=_positive_int("--frames"),
        help=f"frames in the GIF, spread over the run (at most {MAX_FRAMES})",
    )
    export.add_argument("--fps", type=_positive_int("--fps"), help="default: the scene's (25)")
    export.add_argument("--size", type=_size, help="WxH in pixels, e.g. 800x600")
    export.set_defaults(command=cmd_export)

    listing = sub.add_parser("presets", help="list the scene presets")
    listing.add_argument("--verbose", "-v", action="store_true", help="with their descriptions")
    listing.set_defaults(command=cmd_presets)
    return parser


def _add_scene_arguments(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a scene preset, e.g. radford-saddle")
    source.add_argument("--surface", help="a registered surface, e.g. rosenbrock")
    source.add_argument("--expression", help='your own surface, e.g. "x**2 + 3*y**2"')
    p.add_argument("--x-range", type=_pair("--x-range"), help="window for --expression: lo,hi")
    p.add_argument("--y-range", type=_pair("--y-range"), help="window for --expression: lo,hi")
    p.add_argument(
        "--optimizer",
        action="append",
        default=[],
        metavar="RULE",
        help="an update rule; repeat for several",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="settings",
        help="a hyperparameter: name=value (every rule with it) or rule.name=value",
    )
    p.add_argument("--start", type=_pair("--start"), help="start point x,y")
    p.add_argument("--steps", type=_steps, help="number of steps (default: preset's, else 200)")
    p.add_argument("--noise", type=_noise, help="σ of Gaussian noise added to each gradient")
    p.add_argument("--seed", type=_seed, help="seed of the noise and of the mini-batches")
    p.add_argument(
        "--batch-size",
        type=_positive_int("--batch-size"),
        help="mini-batch size, for surfaces that sample them (noisy_moons)",
    )


def _pair(option: str):
    def parse(text: str) -> tuple[float, float]:
        parts = text.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            x, y = (float(v) for v in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be two numbers a,b (e.g. -1.5,2), got {text!r}"
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise argparse.ArgumentTypeError(f"must be finite numbers, got {text!r}")
        return x, y

    parse.__name__ = option  # argparse names the type in its fallback message
    return parse


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _steps(text: str) -> int:
    from optimizers.run import MAX_STEPS

    n = _int(text, "--steps")
    if not 0 <= n <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_STEPS:,}, got {n}")
    return n


def _seed(text: str) -> int:
    n = _int(text, "--seed")
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {n}")
    return n


def _port(text: str) -> int:
    n = _int(text, "--port")
    if not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {n}")
    return n


def _float(text: str, option: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return x


def _noise(text: str) -> float:
    x = _float(text, "--noise")
    if x < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text!r}")
    return x


def _positive_int(option: str):
    def parse(text: str) -> int:
        n = _int(text, option)
        if n < 1:
            raise argparse.ArgumentTypeError(f"must be ≥ 1, got {n}")
        return n

    return parse


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"must look like 800x600, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= MAX_SIZE[0] and 16 <= h <= MAX_SIZE[1]):
        raise argparse.ArgumentTypeError(
            f"must be between 16x16 and {MAX_SIZE[0]}x{MAX_SIZE[1]}, got {w}x{h}"
        )
    return w, h


# ---------------------------------------------------------------- scenes


def scene_from_args(args: argparse.Namespace):
    """The scene the arguments describe, validated; ``UsageError``/``ValueError`` otherwise."""
    from viz.scene import Scene, get_preset, parse_setting

    settings = [parse_setting(text) for text in args.settings]
    if args.preset is not None:
        if args.optimizer:
            raise UsageError("--optimizer cannot be combined with --preset (use --set to tune it)")
        if args.x_range or args.y_range:
            raise UsageError("--x-range/--y-range go with --expression")
        try:
            scene = get_preset(args.preset)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
        return scene.with_overrides(
            settings=settings,
            steps=args.steps,
            start=args.start,
            noise=args.noise,
            seed=args.seed,
            batch_size=args.batch_size,
        )
    if not args.optimizer:
        raise UsageError("choose at least one --optimizer (or a --preset)")
    if args.expression is not None:
        from surfaces import from_expression

        try:
            surface = from_expression(
                args.expression,
                x_range=args.x_range or (-2.0, 2.0),
                y_range=args.y_range or (-2.0, 2.0),
            )
        except ValueError as exc:
            raise UsageError(f"--expression {args.expression!r}: {exc}") from None
    else:
        if args.x_range or args.y_range:
            raise UsageError("--x-range/--y-range go with --expression")
        surface = args.surface
    return Scene.from_args(
        surface,
        args.optimizer,
        settings,
        start=args.start,
        steps=200 if args.steps is None else args.steps,
        noise=args.noise or 0.0,
        seed=args.seed or 0,
        batch_size=args.batch_size,
    )


# ---------------------------------------------------------------- trajectory


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _json_value(v):
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, float):
        return _finite_or_none(v)
    try:
        return _finite_or_none(float(v))
    except (TypeError, ValueError):
        return repr(v)  # a schedule given from Python


def trajectory_document(scene, trajectories) -> dict:
    """The JSON document of ``optviz trajectory``: NaN and ±inf become null."""
    runs = []
    for spec, opt, traj in zip(
        scene.resolved_runs(), scene.optimizers(), trajectories, strict=True
    ):
        runs.append(
            {
                "optimizer": spec.optimizer,
                "label": spec.label,
                "hyper": {k: _json_value(v) for k, v in (opt.hyper or {}).items()},
                "start": [float(scene.start[0]), float(scene.start[1])],
                "points": [
                    [_finite_or_none(float(x)), _finite_or_none(float(y))]
                    for x, y in traj.points.tolist()
                ],
                "losses": [_finite_or_none(float(v)) for v in traj.losses.tolist()],
                "diverged_at": traj.diverged_at,
            }
        )
    return {"surface": scene.surface_name, "steps": scene.steps, "runs": runs}


def cmd_trajectory(args: argparse.Namespace) -> int:
    scene = scene_from_args(args)
    trajectories = scene.compute()
    out = sys.stdout
    if args.format == "json":
        json.dump(trajectory_document(scene, trajectories), out, allow_nan=False)
        out.write("\n")
        return 0
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["optimizer", "label", "step", "x", "y", "loss"])
    for spec, traj in zip(scene.resolved_runs(), trajectories, strict=True):
        for step, ((x, y), loss) in enumerate(
            zip(traj.points.tolist(), traj.losses.tolist(), strict=True)
        ):
            writer.writerow([spec.optimizer, spec.label, step, _csv(x), _csv(y), _csv(loss)])
    return 0


def _csv(x: float) -> str:
    return repr(x) if math.isfinite(x) else ""


# ---------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    scene = scene_from_args(args)
    try:
        from viz.gif import export_gif
    except ModuleNotFoundError as exc:
        if exc.name in ("viz.gif", "viz"):
            raise UsageError("export is unavailable: viz.gif is not installed yet") from None
        raise UsageError(f"export is unavailable: {exc}") from None
    if args.frames is not None and args.frames > MAX_FRAMES:
        raise UsageError(f"--frames must be at most {MAX_FRAMES}, got {args.frames}")
    bar = _ProgressBar(sys.stderr)
    try:
        # Unset options stay None: the writer then takes the scene's view, fps and size.
        info = export_gif(
            scene,
            args.out,
            view=args.view,
            frames=args.frames,
            fps=args.fps,
            size=args.size,
            progress=bar,
        )
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    finally:
        bar.close()
    print(f"wrote {info}" if info is not None else f"wrote {args.out}")
    return 0


class _ProgressBar:
    """A one-line progress bar on a terminal; silent when stderr is not one.

    Accepts ``progress(done, total)`` or ``progress(fraction)``.
    """

    width = 30

    def __init__(self, stream):
        self.stream = stream
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.drawn = False

    def __call__(self, done, total=None, *_):
        if not self.live:
            return
        frac = done / total if total else float(done)
        frac = min(max(frac, 0.0), 1.0)
        filled = round(frac * self.width)
        count = f" {int(done)}/{int(total)}" if total else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {frac:4.0%}{count}")
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------- presets


def cmd_presets(args: argparse.Namespace) -> int:
    from viz.scene import PRESETS

    width = max(map(len, PRESETS), default=0)
    for name, scene in PRESETS.items():
        rules = ", ".join(r.label for r in scene.resolved_runs())
        print(
            f"{name:<{width}}  {scene.title} — {scene.surface_name}, {scene.steps} steps: {rules}"
        )
        if args.verbose:
            print(f"{'':<{width}}  {scene.description}\n")
    return 0


# ---------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    import app

    options = {"host": args.host, "port": args.port, "debug": args.debug}
    params = inspect.signature(app.main).parameters
    if all(name in params for name in options) or any(
        p.kind is p.VAR_KEYWORD for p in params.values()
    ):
        result = app.main(**options)
    elif "argv" in params:
        argv = ["--host", args.host, "--port", str(args.port)] + (["--debug"] if args.debug else [])
        result = app.main(argv)
    else:
        result = app.main()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
