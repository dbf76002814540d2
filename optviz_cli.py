"""The ``optviz`` command line: serve the app, print trajectories, export GIFs.

    optviz serve [--host 127.0.0.1] [--port 8050] [--debug]
    optviz trajectory --surface rosenbrock --optimizer adam [--optimizer sgd ...]
                      --start -1.5,2 --steps 500 [--set lr=0.01 --set adam.beta1=0.9 ...]
                      [--noise σ --seed k] [--format json|csv]
    optviz trajectory --preset radford-saddle --format json
    optviz trajectory --link 'http://127.0.0.1:8050/#v2=...' [--format json]
    optviz trajectory --expression "x**2 + 3*y**2" --x-range -2,2 --y-range -2,2 ...
    optviz export --preset radford-beale --out beale.gif [--view contour|3d|both]
                  [--frames N] [--fps F] [--size 800x600]
    optviz export --link URL --out x.gif
    optviz export --preset radford-saddle --out saddle.mp4 [--title T] [--counter] [--dpi 200]
                  [--camera ELEV,AZIM]
    optviz landscape --data moons --widths 2,16,16,1 --optimizer sgd --optimizer adam
                     [--plane pca|random] [--format json|gif --out x.gif]
    optviz presets [-v]
    optviz tune --preset radford-beale --objective area --budget 64 [--starts 3] --format json
    optviz phase --surface ravine --optimizer momentum --x lr:1e-4:1:log
                 --y momentum:0:0.99 --out map.png
    optviz optimizers [--all]      (torch:Adam, pytorch_optimizer:Lamb, optax:adamw, ...)

A scene comes from ``--preset``, from ``--link`` (the app's share link: the whole scene
in its ``#v2=...`` part), from ``--surface`` or from ``--expression``. A preset's or a
link's settings can be overridden by ``--set``, ``--steps``, ``--start``, ``--noise``,
``--seed``. ``--set name=value`` applies to every chosen optimizer that has ``name``;
``--set rule.name=value`` to that rule only.

The app's rules hold here too: a start outside the scene's window is clamped to its edge
(``viz.scene.validate.start``), with a note on stderr; an exported GIF is, by default,
the scene's own size, as the app's Export panel makes it.

``export`` writes through a fresh temporary file in the target's folder (random name,
never a pre-existing one), fsynced, then renamed onto ``--out``. It replaces only a
regular file: a symbolic link, device, FIFO, socket or directory at ``--out`` is refused.

Every bad argument ends with exit status 2 and one line on stderr naming the problem.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import inspect
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from viz import files

EXIT_USAGE = 2
MAX_FRAMES = 1000
MAX_SIZE = (1920, 1080)  # viz.figures.page's bounds, without importing plotly to parse
MIN_SIZE = (64, 64)
MAX_FPS = 50


class ExportFormat(NamedTuple):
    """A file format ``export`` writes: what it is, and the module and function rendering it.

    ``module`` has ``check_options(scene, view, frames, fps, size)`` and ``function`` takes
    the scene and those options (plus ``progress``) and returns the file's bytes.
    """

    description: str
    module: str
    function: str


# Every format ``export --out`` accepts, by extension (lower case). One table: the help,
# the error for an unknown extension and the renderer all read it.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    ".gif": ExportFormat("animated GIF, loops forever", "viz.gif", "render_gif_bytes"),
    ".mp4": ExportFormat("H.264 video (slides, browsers)", "viz.gif.formats", "render_mp4"),
    ".webm": ExportFormat("VP9 video", "viz.gif.formats", "render_webm"),
    ".webp": ExportFormat("animated WebP, lossless", "viz.gif.formats", "render_webp"),
    ".apng": ExportFormat("animated PNG, lossless", "viz.gif.formats", "render_apng"),
    ".html": ExportFormat(
        "one self-contained interactive page (plays offline)", "viz.figures.page", "render_html"
    ),
}

# Default GIF sizes, for the help (tests/test_cli_export_files.py checks them against the
# scene styles: Radford's presets are 620x480, every other scene 800x600).
RADFORD_SIZE = "620x480"
DEFAULT_SIZE = "800x600"

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


class _Terminated(BaseException):
    """SIGTERM or SIGHUP (the terminal closed), raised where the program is, so that a
    file being written is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminated(signum, frame):
    raise _Terminated(signum)


_STOPPING = (signal.SIGTERM, signal.SIGHUP)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad arguments; after Ctrl-C,
    SIGTERM or SIGHUP 128 + the signal, as a shell reports it: a half-written file is
    removed, no traceback)."""
    argv = _glue_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = _build_parser()
    in_main = threading.current_thread() is threading.main_thread()
    before = {  # a signal ignored on purpose (nohup) stays ignored
        n: signal.signal(n, _terminated)
        for n in (_STOPPING if in_main else ())
        if signal.getsignal(n) is not signal.SIG_IGN
    }
    try:
        args = parser.parse_args(argv)
        return args.command(args)
    except KeyboardInterrupt:
        print("optviz: interrupted", file=sys.stderr)
        return 130
    except _Terminated as stop:
        print(f"optviz: stopped ({signal.Signals(stop.signum).name})", file=sys.stderr)
        return 128 + stop.signum
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
    finally:
        for n, handler in before.items():
            signal.signal(n, signal.SIG_DFL if handler is None else handler)


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


def _version() -> str:
    """The installed package's version ("unknown" run from a checkout never installed)."""
    from importlib import metadata

    try:
        return metadata.version("optviz")
    except metadata.PackageNotFoundError:
        return "unknown"


def _build_parser() -> argparse.ArgumentParser:
    intro, examples = __doc__.split("\n\n")[:2]
    parser = _Parser(
        prog="optviz",
        description=intro.replace("``", ""),
        epilog="examples:\n" + examples + "\n\nEach command's --help says more.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"optviz {_version()}")
    sub = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=_Parser
    )

    serve = sub.add_parser("serve", help="serve the app, to open in a browser (Dash)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=_port, default=8050, help="default 8050")
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, errors)")
    serve.set_defaults(command=cmd_serve)

    traj = sub.add_parser("trajectory", help="print every optimizer's path as JSON or CSV")
    _add_scene_arguments(traj)
    traj.add_argument("--format", choices=("json", "csv"), default="json", help="default json")
    traj.set_defaults(command=cmd_trajectory)

    formats = ", ".join(EXPORT_FORMATS)
    described = "; ".join(f"{ext}: {f.description}" for ext, f in EXPORT_FORMATS.items())
    export = sub.add_parser(
        "export",
        help="render a scene to an animated GIF, a video or an animated image",
        description=(
            f"Render a scene's animation to a file ({described}). The file is written to a "
            "new temporary file beside it and renamed into place when complete; only a "
            "regular file is ever replaced."
        ),
    )
    _add_scene_arguments(export)
    export.add_argument(
        "--out",
        required=True,
        type=_out_path,
        metavar="FILE",
        help=(
            f"the file to write; its extension picks the format ({formats}). An existing "
            "regular file is replaced; a symbolic link is refused (name the file it points "
            "to instead), and so is anything that is not a regular file (device, FIFO, "
            "socket, directory)"
        ),
    )
    export.add_argument(
        "--view",
        choices=("contour", "3d", "both"),
        help="default: the scene's (a preset's or a link's own, else contour)",
    )
    export.add_argument(
        "--frames",
        type=_positive_int("--frames"),
        help=f"frames in the GIF, spread over the run (at most {MAX_FRAMES})",
    )
    export.add_argument(
        "--fps",
        type=_positive_int("--fps"),
        help="frames per second, at most 50 (default: the scene's, 25)",
    )
    export.add_argument(
        "--size",
        type=_size,
        help=(
            f"WxH in pixels, {MIN_SIZE[0]}x{MIN_SIZE[1]} to {MAX_SIZE[0]}x{MAX_SIZE[1]}. "
            f"Default: the scene's own size, as the app's Export panel "
            f"makes it: {RADFORD_SIZE} for Radford's presets, {DEFAULT_SIZE} for every "
            "other scene (other presets, --surface, --expression; a --link as the scene "
            "it shows); twice as wide for "
            "--view both"
        ),
    )
    export.add_argument(
        "--dpi",
        type=_positive_int("--dpi"),
        help=(
            "scale the default size as matplotlib would: the scene's size is at 100 dpi "
            "(--dpi 200 doubles it), at most "
            f"{MAX_SIZE[0]}x{MAX_SIZE[1]}; not with --size"
        ),
    )
    export.add_argument(
        "--camera",
        type=_camera,
        metavar="ELEV,AZIM",
        help="the 3-D view's camera: elevation -90 to 90 and azimuth in degrees, as "
        "matplotlib's view_init (default: the scene's; most scenes' is about 29,-135)",
    )
    export.add_argument("--title", help="a one-line title drawn in the frame")
    export.add_argument("--counter", action="store_true", help="draw the step counter in the frame")
    export.set_defaults(command=cmd_export)

    from viz.ui import cli_analysis  # optviz tune, optviz phase (issue #17)

    cli_analysis.add_commands(sub, _add_scene_arguments, _prepare)
    rules = sub.add_parser("optimizers", help="list every update rule available, with its source")
    rules.add_argument("--all", action="store_true", help="also the refused ones, with why")
    rules.set_defaults(command=cmd_optimizers)
    from viz.ui import landscape_cli  # optviz landscape: a network's loss in one plane

    landscape_cli.add_command(sub)

    listing = sub.add_parser("presets", help="list the scene presets")
    listing.add_argument("--verbose", "-v", action="store_true", help="with their descriptions")
    listing.set_defaults(command=cmd_presets)
    return parser


def _add_scene_arguments(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a scene preset, e.g. radford-saddle")
    source.add_argument(
        "--link",
        metavar="URL",
        help="the app's share link (the whole URL, or its #v2=... part): the scene it shows",
    )
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
        "--rule",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        dest="rules",
        help="your own update rule, e.g. NAME='v = mu*v - lr*g; W = W + v'; repeat for several",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="settings",
        help="a hyperparameter: name=value (every rule with it) or rule.name=value",
    )
    p.add_argument(
        "--start",
        type=_pair("--start"),
        help="start point x,y; outside the scene's window it is moved to the window's edge "
        "(as the app does), with a note on stderr",
    )
    p.add_argument(
        "--steps", type=_steps, help="number of steps (default: the preset's or link's, else 200)"
    )
    p.add_argument("--noise", type=_noise, help="σ of Gaussian noise added to each gradient")
    p.add_argument("--seed", type=_seed, help="seed of the noise and of the mini-batches")
    p.add_argument(
        "--batch-size",
        type=_positive_int("--batch-size"),
        help="mini-batch size, for surfaces that sample them (noisy_moons)",
    )


def _camera(text: str) -> tuple[float, float]:
    elev, azim = _pair("--camera")(text)
    if not -90 <= elev <= 90:
        raise argparse.ArgumentTypeError(f"elevation must be from -90 to 90, got {elev:g}")
    return elev, azim


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
    if not (MIN_SIZE[0] <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_SIZE[0]}x{MIN_SIZE[1]} and {MAX_SIZE[0]}x{MAX_SIZE[1]}, "
            f"got {w}x{h}"
        )
    return w, h


def _out_path(text: str) -> str:
    ext = os.path.splitext(text)[1].lower()
    if ext not in EXPORT_FORMATS:
        kinds = ", ".join(EXPORT_FORMATS)
        shown = f"extension {ext!r}" if ext else "no extension"
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r} has {shown}; the formats written are: {kinds}"
        )
    return text


# ---------------------------------------------------------------- scenes


def scene_from_args(args: argparse.Namespace):
    """The scene the arguments describe, validated, its start clamped into its window."""
    return scene_and_note(args)[0]


def scene_and_note(args: argparse.Namespace):
    """``(scene, note)``: the note says where an outside start was moved ("" if it wasn't).

    The start follows the app's rule (``viz.scene.validate.start``): a point outside the
    scene's window starts at the window's edge. ``UsageError``/``ValueError`` otherwise.
    """
    from viz.scene import validate

    scene = _scene(args)
    if scene.network is not None:
        return scene, ""  # its runs start at the network's initialisation
    start, note = validate.start(*scene.start, *scene.window())
    if note:
        scene = replace(scene, start=start)
    return scene, note


def _scene(args: argparse.Namespace):
    from viz.scene import Scene, get_preset, parse_setting

    settings = [parse_setting(text) for text in args.settings]
    rules = [_typed_rule(text) for text in getattr(args, "rules", [])]
    if args.preset is not None or args.link is not None:
        source = "--preset" if args.preset is not None else "--link"
        if args.optimizer:
            raise UsageError(f"--optimizer cannot be combined with {source} (use --set to tune it)")
        if args.x_range or args.y_range:
            raise UsageError("--x-range/--y-range go with --expression")
        if args.preset is not None:
            try:
                scene = get_preset(args.preset)
            except KeyError as exc:
                raise UsageError(exc.args[0]) from None
        else:
            scene = _scene_of_link(args.link)
        if rules:  # typed rules join the preset's or the link's runs
            scene = replace(scene, runs=scene.runs + Scene.typed_runs(rules, scene.runs))
        return scene.with_overrides(
            settings=settings,
            steps=args.steps,
            start=args.start,
            noise=args.noise,
            seed=args.seed,
            batch_size=args.batch_size,
        )
    if not args.optimizer and not rules:
        raise UsageError("choose at least one --optimizer or --rule (or a --preset or --link)")
    if args.expression is not None:
        from surfaces import from_expression

        try:
            surface = from_expression(
                args.expression,
                x_range=args.x_range or (-2.0, 2.0),
                y_range=args.y_range or (-2.0, 2.0),
            )
        except ValueError as exc:
            text = args.expression if len(args.expression) <= 80 else args.expression[:77] + "…"
            raise UsageError(f"--expression {text!r}: {exc}") from None
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
        rules=rules,
    )


def _typed_rule(text: str) -> tuple[str, str]:
    """``NAME=TEXT`` of ``--rule`` as ``(name, text)``; the name and text are checked later."""
    name, eq, body = text.partition("=")
    if not eq or not name.strip() or not body.strip() or name.strip() == "W" or " " in name.strip():
        raise UsageError(
            f"--rule must look like NAME='W = W - lr * g' (the rule's name, then its text), "
            f"got {text[:60]!r}"
        )
    return name.strip(), body


def _scene_of_link(text: str):
    from viz.scene.link import scene_from_link

    try:
        return scene_from_link(text)
    except ValueError as exc:
        raise UsageError(f"--link: {exc}") from None


def _prepare(args: argparse.Namespace):
    """The scene of a computing command, with the allocator tuned for its runs."""
    from optimizers import memory

    memory.tune()  # the app and the CLI tune at start-up; importing the library does not
    scene, note = scene_and_note(args)
    if note:
        print(f"optviz: note: {' '.join(note.split())}", file=sys.stderr)
    return scene


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
    """The JSON document of ``optviz trajectory``: NaN and ±inf become null. A classifier's
    runs (``radford-noisy-moons``) also carry their ``accuracy`` on all the data per step;
    the network scene's (points: projections on the plane, losses: the network's true
    loss) also the plane's loss under each point and the distance from the plane."""
    runs = []
    surface = scene.get_surface()
    net = None
    if scene.network is not None:
        from viz.scene import landscape

        net = landscape.cached(scene.network)
    for spec, opt, traj in zip(
        scene.resolved_runs(), scene.optimizers(), trajectories, strict=True
    ):
        runs.append(
            {
                "optimizer": spec.optimizer,
                "label": spec.label,
                "hyper": {k: _json_value(v) for k, v in (opt.hyper or {}).items()},
                "start": [float(v) for v in scene.start_point()],
                "points": [
                    [_finite_or_none(float(x)), _finite_or_none(float(y))]
                    for x, y in traj.points.tolist()
                ],
                "losses": [_finite_or_none(float(v)) for v in traj.losses.tolist()],
                "diverged_at": traj.diverged_at,
            }
        )
        if spec.code:
            runs[-1]["rule"] = spec.code
        if hasattr(surface, "accuracy"):  # a classifier's: its whole data set's, per step
            acc = surface.accuracy(traj.points).tolist()
            runs[-1]["accuracy"] = [_finite_or_none(float(v)) for v in acc]
        if net is not None:
            i = len(runs) - 1
            for key, values in (
                ("accuracy", net.accuracy[i]),
                ("plane_loss", net.plane_loss[i]),
                ("distance", net.distance[i]),
            ):
                runs[-1][key] = [_finite_or_none(float(v)) for v in values.tolist()]
    doc = {"surface": scene.surface_name, "steps": scene.steps, "runs": runs}
    expression = getattr(surface, "extra", {}).get("expression")
    if expression:  # the formula itself, as a typed rule's run carries its text
        doc["expression"] = expression
    if net is not None:
        doc["plane"] = {"kind": net.plane.kind, "axes": list(net.axes()), "reference": net.ref_rule}
    return doc


def cmd_trajectory(args: argparse.Namespace) -> int:
    scene = _prepare(args)
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
    fmt = EXPORT_FORMATS[os.path.splitext(args.out)[1].lower()]
    try:
        files.check_target(args.out)  # before any work: a refusal costs nothing
    except files.UnsafeTarget as exc:
        raise UsageError(str(exc)) from None
    scene = _prepare(args)
    if args.camera is not None:
        from viz.scene import camera_from_angles

        eye = scene.style.camera.get("eye", {})  # turned, at the scene's own distance
        far = math.hypot(*(float(eye.get(k, 0.0)) for k in "xyz")) or 2.2
        scene = scene.with_overrides(camera=camera_from_angles(*args.camera, far))
    try:
        renderer = importlib.import_module(fmt.module)
    except ModuleNotFoundError as exc:
        if exc.name in (fmt.module, "viz"):
            raise UsageError(f"export is unavailable: {fmt.module} is not installed yet") from None
        raise UsageError(f"export is unavailable: {exc}") from None
    if args.frames is not None and args.frames > MAX_FRAMES:
        raise UsageError(f"--frames must be at most {MAX_FRAMES}, got {args.frames}")
    # Unset options stay None: the renderer then takes the scene's view, fps and size.
    size = _dpi_size(renderer, scene, args) if args.dpi is not None else args.size
    extra = {"title": args.title, "counter": args.counter}
    opts = renderer.check_options(scene, args.view, args.frames, args.fps, size, **extra)
    render = getattr(renderer, fmt.function)
    if hasattr(renderer, "render_budget"):
        extra["budget"] = renderer.render_budget()
    t0 = time.perf_counter()
    bar = _ProgressBar(sys.stderr)

    def write(fp) -> None:
        try:
            data = render(
                scene,
                view=opts.view,
                frames=opts.frames,
                fps=opts.fps,
                size=opts.size,
                progress=bar,
                **extra,
            )
        finally:
            bar.close()
        fp.write(data)

    try:
        size = files.write_replacing(args.out, write)
    except files.UnsafeTarget as exc:
        raise UsageError(str(exc)) from None
    w, h = opts.size
    print(
        f"wrote {args.out}: {opts.frames} frames, {w}×{h}, {opts.fps} fps, "
        f"{size / 1024:.0f} KiB in {time.perf_counter() - t0:.2f} s"
    )
    return 0


def _dpi_size(renderer, scene, args) -> tuple[int, int]:
    """The scene's default size (for the view) scaled by --dpi / 100."""
    if args.size is not None:
        raise UsageError("--dpi and --size cannot be combined (--size is in pixels)")
    w, h = renderer.check_options(scene, args.view).size
    size = round(w * args.dpi / 100), round(h * args.dpi / 100)
    if size[0] > MAX_SIZE[0] or size[1] > MAX_SIZE[1]:
        raise UsageError(
            f"--dpi {args.dpi} makes {size[0]}x{size[1]} pixels; the most is "
            f"{MAX_SIZE[0]}x{MAX_SIZE[1]} (--dpi {_max_dpi(w, h)} at most for this scene)"
        )
    return size


def _max_dpi(w: int, h: int) -> int:
    return int(min(MAX_SIZE[0] * 100 / w, MAX_SIZE[1] * 100 / h))


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


def cmd_optimizers(args: argparse.Namespace) -> int:
    from optimizers import library

    rows = [r for r in library.listing() if args.all or not r[2]]
    width = max(len(r[0]) for r in rows)
    for name, source, note in rows:
        print(f"{name:<{width}}  {source}" + (f"  ({note})" if note else ""))
    for line in library.missing():
        print(f"optviz: note: {line}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- serve


def _can_listen(host: str, port: int) -> None:
    """UsageError in one line where the server could not listen (a port in use, an
    unknown host): checked before the app is built, as Werkzeug would say it in two."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"--host {host!r}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    _can_listen(args.host, args.port)
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
