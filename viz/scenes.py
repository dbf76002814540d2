"""Scenes: a surface, a start, a step count and the runs to draw, plus how they look.

A scene's styling (colours, labels, ranges, contour levels, camera, size, fps) is
defined here once and read by both the Plotly figures (viz.figures) and the GIF
renderer (viz.gif), so a GIF looks like the screen.

Presets (``PRESETS``, ``get_preset``): Radford's ``radford-long-valley``,
``radford-beale``, ``radford-saddle`` and ``radford-noisy-moons`` in his look (his
labels and colours, white page, jet contour lines, 620×480 at 25 fps), and ours —
``newton-saddle``, ``ravine-adam-vs-sgd``, ``rosenbrock-race``, ``himmelblau-basins``,
``lr-too-high`` — in ours (viridis lines, the registry's colour-blind-safe colours).
Each has a one-paragraph ``description`` of what it shows; tests/viz/test_scenes.py
measures every such claim on the real rules, so a preset whose story stops being
true fails a test. To add one: ``register(Scene(...))`` here plus a test of its claim.

Ad-hoc scenes: ``Scene.from_args(surface, optimizers, hyper, start, steps)``; a
changed copy: ``scene.with_overrides(settings=..., steps=..., start=...)``. Settings
follow the command line's ``--set``: ``"lr"`` goes to every rule that has it,
``"adam.lr"`` to one (``apply_settings``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from optimizers import OPTIMIZERS, Optimizer, Trajectory, get_optimizer, run
from optimizers.run import check_run_args
from surfaces import SURFACES, Surface, get_surface

# Radford's colours for his rules (matplotlib's single-letter colours), by rule name.
RADFORD_COLOURS = {
    "sgd": "#ff0000",
    "momentum": "#008000",
    "nesterov": "#bf00bf",
    "adagrad": "#0000ff",
    "adadelta": "#bfbf00",
    "rmsprop": "#000000",
}
RADFORD_LABELS = {
    "sgd": "SGD",
    "momentum": "Momentum",
    "nesterov": "NAG",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "rmsprop": "Rmsprop",
}


@dataclass(frozen=True)
class RunSpec:
    """One optimizer in a scene."""

    optimizer: str
    hyper: dict = field(default_factory=dict)
    label: str = ""
    colour: str = ""

    def resolved(self) -> RunSpec:
        info = OPTIMIZERS[self.optimizer]
        return replace(self, label=self.label or info.label, colour=self.colour or info.colour)


@dataclass(frozen=True)
class Style:
    """How a scene looks, on screen and in a GIF."""

    background: str = "#ffffff"
    colorscale: str = "Jet"  # contour lines coloured by level
    contour_levels: int = 40
    log_levels: bool = False  # levels evenly spaced in log(f - min)
    log_floor: float = 1e-4  # with log levels: the lowest level, as a fraction of the span
    surface_colorscale: str = "RdBu_r"  # 3-D surface (Radford: coolwarm)
    star_colour: str = "#444444"
    line_width: float = 2.5
    dot_size: float = 9.0
    size: tuple[int, int] = (620, 480)
    fps: int = 25
    camera: dict = field(
        default_factory=lambda: {
            "eye": {"x": -1.4, "y": -1.4, "z": 1.1},
            "up": {"x": 0, "y": 0, "z": 1},
        }
    )
    z_range: tuple[float, float] | None = None


def radford_style(**changes) -> Style:
    """Radford's look: white background, jet contour lines, coolwarm surface, 620×480 at 25 fps."""
    return replace(Style(), **changes)


# Ours: the same white page and sizes, but contour lines in a calm sequential palette so the
# coloured trails (the registry's colour-blind-safe palette) stand out; log-spaced levels
# where the surface's values span decades.
OUR_COLORSCALE = "Viridis"


def our_style(**changes) -> Style:
    """Our scenes' look: white background, viridis contour lines, 800×600 at 25 fps."""
    base = Style(colorscale=OUR_COLORSCALE, contour_levels=30, size=(800, 600))
    return replace(base, **changes)


Setting = tuple[str, object]  # ("lr", 0.01) for every rule that has lr; ("adam.beta1", 0.9)


def parse_setting(text: str) -> Setting:
    """``"lr=0.01"`` -> ``("lr", "0.01")``; ``"adam.beta1=0.9"`` -> ``("adam.beta1", "0.9")``.

    The value stays text here; the rule's hyperparameter spec validates and converts it.
    """
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(f"a setting must look like name=value or rule.name=value, got {text!r}")
    key, value = (part.strip() for part in text.split("=", 1))
    if not key or not value:
        raise ValueError(f"a setting must look like name=value or rule.name=value, got {text!r}")
    return key, value


def apply_settings(runs, settings) -> tuple[RunSpec, ...]:
    """``runs`` with each setting applied, validated by the rules' hyperparameter specs.

    ``name=value`` goes to every run whose rule has ``name`` (an error if none has it);
    ``rule.name=value`` goes to the runs of ``rule`` (an error if that rule isn't in the
    scene). ``settings`` is a mapping or an iterable of ``(key, value)`` pairs, applied
    in order. ``ValueError`` names the first bad setting; nothing is changed then.
    """
    runs = list(runs)
    items = settings.items() if isinstance(settings, Mapping) else settings
    chosen = ", ".join(dict.fromkeys(r.optimizer for r in runs)) or "none"
    for key, value in items:
        rule, dot, name = str(key).rpartition(".")
        if dot:
            if rule not in OPTIMIZERS:
                raise ValueError(f"setting {key!r}: unknown optimizer {rule!r}")
            targets = [i for i, r in enumerate(runs) if r.optimizer == rule]
            if not targets:
                raise ValueError(f"setting {key!r}: {rule} is not among the optimizers ({chosen})")
            try:
                OPTIMIZERS[rule].spec(name)
            except ValueError as exc:  # names the rule's hyperparameters
                raise ValueError(f"setting {key!r}: {exc}") from None
        else:
            targets = [i for i, r in enumerate(runs) if _has_hyper(r.optimizer, name)]
            if not targets:
                raise ValueError(
                    f"setting {key!r}: none of the optimizers ({chosen}) has a hyperparameter "
                    f"{name!r}"
                )
        for i in targets:
            r = runs[i]
            checked = OPTIMIZERS[r.optimizer].spec(name).check(value, r.optimizer)
            runs[i] = replace(r, hyper={**r.hyper, name: checked})
    return tuple(runs)


def _has_hyper(rule: str, name: str) -> bool:
    return any(h.name == name for h in OPTIMIZERS[rule].hyper)


@dataclass(frozen=True)
class Scene:
    """A surface, a start, a step count, the runs to draw and how they look.

    ``surface`` is a registered surface's name, or a ``Surface`` object (e.g. one built
    by ``surfaces.from_expression``). Presets are built once at import; ad-hoc scenes
    come from ``Scene.from_args``; ``with_overrides`` derives a changed copy (the CLI's
    ``--set``/``--steps``/``--start``).
    """

    name: str
    title: str
    description: str
    surface: str | Surface
    start: tuple[float, float]
    steps: int
    runs: tuple[RunSpec, ...]
    view: str = "contour"  # contour | 3d | both
    style: Style = field(default_factory=Style)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    noise: float = 0.0
    seed: int = 0
    batch_size: int | None = None  # mini-batches, for surfaces that sample them (noisy_moons)

    def get_surface(self) -> Surface:
        s = self.surface if isinstance(self.surface, Surface) else get_surface(self.surface)
        if self.batch_size is not None:
            if not hasattr(s, "with_batch_size"):
                raise ValueError(f"surface '{s.name}' has no mini-batches (batch_size)")
            s = s.with_batch_size(self.batch_size)
        return s

    @property
    def surface_name(self) -> str:
        return self.surface.name if isinstance(self.surface, Surface) else self.surface

    def window(self) -> tuple[tuple[float, float], tuple[float, float]]:
        s = self.get_surface()
        return self.x_range or s.x_range, self.y_range or s.y_range

    def resolved_runs(self) -> tuple[RunSpec, ...]:
        """The runs with labels and colours filled in from the registry where unset."""
        return tuple(r.resolved() for r in self.runs)

    def optimizers(self) -> list[Optimizer]:
        """Each run's rule, built (and so validated) with its hyperparameters."""
        return [get_optimizer(r.optimizer, **r.hyper) for r in self.runs]

    def validate(self) -> Scene:
        """``self`` if every part is usable; ``ValueError`` naming the first problem otherwise."""
        try:
            self.get_surface()
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        if not self.runs:
            raise ValueError("a scene needs at least one optimizer")
        self.optimizers()
        check_run_args(self.start, self.steps, self.noise)
        return self

    def compute(self) -> list[Trajectory]:
        """Every run of the scene, in order."""
        s = self.get_surface()
        return [
            run(opt, s, self.start, self.steps, self.noise, self.seed) for opt in self.optimizers()
        ]

    def with_overrides(
        self,
        *,
        settings=(),
        steps: int | None = None,
        start=None,
        noise: float | None = None,
        seed: int | None = None,
        view: str | None = None,
        batch_size: int | None = None,
        **style,
    ) -> Scene:
        """A validated copy with some parts changed; ``settings`` as in ``apply_settings``.

        Extra keywords (``size``, ``fps``, ``camera``, ...) change the style.
        """
        changes: dict = {"runs": apply_settings(self.runs, settings)}
        if steps is not None:
            changes["steps"] = steps
        if start is not None:
            changes["start"] = _as_point(start)
        if noise is not None:
            changes["noise"] = noise
        if seed is not None:
            changes["seed"] = seed
        if batch_size is not None:
            changes["batch_size"] = batch_size
        if view is not None:
            changes["view"] = view
        if style:
            unknown = set(style) - {f.name for f in fields(Style)}
            if unknown:
                raise ValueError(f"unknown style option(s): {', '.join(sorted(unknown))}")
            changes["style"] = replace(self.style, **style)
        return replace(self, **changes).validate()

    @classmethod
    def from_args(
        cls,
        surface: str | Surface,
        optimizers,
        hyper=(),
        start=None,
        steps: int = 200,
        *,
        noise: float = 0.0,
        seed: int = 0,
        batch_size: int | None = None,
        name: str = "custom",
        title: str = "",
        description: str = "",
        view: str = "contour",
        style: Style | None = None,
        x_range=None,
        y_range=None,
    ) -> Scene:
        """An ad-hoc scene: ``optimizers`` by name, ``hyper`` as in ``apply_settings``.

        ``start`` defaults to the surface's own start; the style follows ours (log-spaced
        levels where the surface asks for them). ``ValueError`` names the first problem.
        """
        if isinstance(optimizers, str):
            optimizers = [optimizers]
        optimizers = list(optimizers)
        for rule in optimizers:
            if rule not in OPTIMIZERS:
                raise ValueError(
                    f"unknown optimizer {rule!r}; choose one of: {', '.join(OPTIMIZERS)}"
                )
        seen = set()
        for rule in optimizers:
            if rule in seen:
                raise ValueError(f"optimizer {rule!r} is chosen twice")
            seen.add(rule)
        try:
            s = surface if isinstance(surface, Surface) else get_surface(surface)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        runs = apply_settings([RunSpec(rule) for rule in optimizers], hyper)
        scene = cls(
            name=name,
            title=title or f"{', '.join(optimizers)} on {s.label or s.name}",
            description=description,
            surface=surface,
            start=_as_point(s.start if start is None else start),
            steps=steps,
            runs=runs,
            view=view,
            style=style or our_style(log_levels=s.log_scale),
            x_range=None if x_range is None else tuple(x_range),
            y_range=None if y_range is None else tuple(y_range),
            noise=noise,
            seed=seed,
            batch_size=batch_size,
        )
        return scene.validate()


def _as_point(p) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in p)
    except (TypeError, ValueError):
        raise ValueError(f"start must be a point (x, y), got {p!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"start must be finite, got ({x}, {y})")
    return x, y


VIEWS = ("contour", "3d", "both")


def camera_from_angles(elev: float, azim: float, distance: float = 2.2) -> dict:
    """A Plotly scene camera looking from elevation/azimuth in degrees (matplotlib's convention).

    The eye sits at ``distance`` from the centre of the (unit-aspect) box, towards
    ``(cos elev cos azim, cos elev sin azim, sin elev)``.
    """
    e, a = math.radians(elev), math.radians(azim)
    eye = {
        "x": distance * math.cos(e) * math.cos(a),
        "y": distance * math.cos(e) * math.sin(a),
        "z": distance * math.sin(e),
    }
    return {"eye": eye, "up": {"x": 0, "y": 0, "z": 1}, "center": {"x": 0, "y": 0, "z": 0}}


def camera_angles(camera: dict) -> tuple[float, float]:
    """Elevation and azimuth in degrees of a Plotly camera's eye (inverse of the above)."""
    eye = camera.get("eye", {})
    x, y, z = (float(eye.get(k, 0.0)) for k in ("x", "y", "z"))
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def radford_run(rule: str, **hyper) -> RunSpec:
    return RunSpec(rule, hyper, RADFORD_LABELS[rule], RADFORD_COLOURS[rule])


PRESETS: dict[str, Scene] = {}


def register(scene: Scene) -> Scene:
    PRESETS[scene.name] = scene
    return scene


def get_preset(name: str) -> Scene:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def contour_levels(z: np.ndarray, style: Style, z_min: float | None = None) -> np.ndarray:
    """The contour levels both renderers draw: linear, or log-spaced above the minimum."""
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if style.log_levels:
        base = lo if z_min is None else min(lo, z_min)
        span = max(hi - base, 1e-12)
        return base + np.geomspace(span * style.log_floor, span, style.contour_levels)
    return np.linspace(lo, hi, style.contour_levels + 2)[1:-1]


# ---------------------------------------------------------------- Radford's scenes
#
# His six rules with his labels and colours; the adaptive rules put ε inside the root as
# his code did. Starts, step counts and step sizes were chosen so that each scene shows
# what his caption says (tests/viz/test_scenes.py checks every claim numerically); the
# Beale start was measured from his last frame: the dot sits at (1.0, 1.5), and Adagrad's
# first step (α·sign ∇ with α = 1) lands exactly on the x = 0 line as in his frame.

RADFORD_RULES = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop")


def _radford_runs(hyper: dict[str, dict]) -> tuple[RunSpec, ...]:
    adaptive = {"adagrad", "adadelta", "rmsprop"}
    return tuple(
        radford_run(rule, **({"eps_in_sqrt": True} if rule in adaptive else {}), **hyper[rule])
        for rule in RADFORD_RULES
    )


register(
    Scene(
        name="radford-long-valley",
        title="Long valley (Radford)",
        description=(
            "A trough that is steep across and nearly flat along its floor. Methods that do "
            "not scale their steps by gradient information struggle to break the symmetry: "
            "SGD barely moves along the floor, Momentum and NAG swing from wall to wall until "
            "they have built up velocity along it, while Adagrad, Adadelta and RMSprop divide "
            "the tiny along-floor gradient by its own scale and set off down the valley at once."
        ),
        surface="long_valley",
        start=(-2.5, 0.3),
        steps=300,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.01},
                "momentum": {"lr": 0.01, "momentum": 0.9},
                "nesterov": {"lr": 0.01, "momentum": 0.9},
                "adagrad": {"lr": 0.1},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-5},
                "rmsprop": {"lr": 0.01, "decay": 0.9},
            }
        ),
        style=radford_style(log_levels=True, star_colour="#808080"),
    )
)

register(
    Scene(
        name="radford-beale",
        title="Beale's function (Radford)",
        description=(
            "Beale's function from (1, 1.5), the start of Radford's animation. The large "
            "gradients early on make the velocity-based methods (Momentum, NAG) shoot off "
            "down the hillside before they swing back to the minimum at (3, 0.5); Adagrad's "
            "first step is a full α in each coordinate and throws it to the ridge at x = 0, "
            "nearly unstable; RMSprop and Adadelta curve into the valley and reach the star."
        ),
        surface="beale",
        start=(1.0, 1.5),
        steps=200,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.001},
                "momentum": {"lr": 0.003, "momentum": 0.9},
                "nesterov": {"lr": 0.003, "momentum": 0.9},
                "adagrad": {"lr": 1.0},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 5e-4},
                "rmsprop": {"lr": 0.02, "decay": 0.9},
            }
        ),
        # His levels run from 1 to 1e5 (log-spaced); f spans ~2e5 here: a floor of 5e-6.
        style=radford_style(log_levels=True, log_floor=5e-6, star_colour="#808080"),
        x_range=(-4.5, 4.5),
        y_range=(-4.5, 4.5),
    )
)

register(
    Scene(
        name="radford-saddle",
        title="Saddle point (Radford)",
        description=(
            "f = x² − y² from a start on the ridge, a hair's breadth (y = 10⁻⁵) off the "
            "symmetry line. SGD sees almost no gradient across the ridge and stays stuck on "
            "it; Momentum and NAG overshoot the saddle point and explore around it before "
            "their velocity finally carries them off; Adagrad, RMSprop and Adadelta divide "
            "the tiny gradient by its own size, so they run down the negative-curvature side "
            "at once."
        ),
        surface="saddle",
        start=(0.7, 1e-5),
        steps=200,
        runs=_radford_runs(
            {
                "sgd": {"lr": 0.01},
                "momentum": {"lr": 0.01, "momentum": 0.9},
                "nesterov": {"lr": 0.01, "momentum": 0.9},
                "adagrad": {"lr": 0.05},
                "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
                "rmsprop": {"lr": 0.01, "decay": 0.9},
            }
        ),
        view="3d",
        style=radford_style(
            star_colour="#808080", camera=camera_from_angles(45.0, 45.0), z_range=(-4.0, 4.0)
        ),
    )
)

# ---------------------------------------------------------------- ours


def _run(rule: str, label: str = "", colour: str = "", **hyper) -> RunSpec:
    return RunSpec(rule, hyper, label, colour)


register(
    Scene(
        name="newton-saddle",
        title="Newton is drawn to the saddle",
        description=(
            "Newton's method jumps to where the local quadratic model has zero gradient — and "
            "on f = x² − y² that is the saddle point, not a minimum: with the Hessian's "
            "negative eigenvalue it steps uphill along y and settles on the saddle. SGD and "
            "Adam only follow the gradient downhill, so they slide off the ridge and escape. "
            "This is one reason plain Newton steps are not used to train networks, whose loss "
            "surfaces are full of saddles."
        ),
        surface="saddle",
        start=(0.7, 0.3),
        steps=100,
        runs=(
            _run("newton", lr=0.1),
            _run("sgd", lr=0.02),
            _run("adam", lr=0.05),
        ),
        view="both",
        style=our_style(camera=camera_from_angles(45.0, 45.0), z_range=(-4.0, 4.0)),
    )
)

register(
    Scene(
        name="ravine-adam-vs-sgd",
        title="A ravine: SGD zig-zags, Adam follows the floor",
        description=(
            "An ill-conditioned bowl (condition number 50) whose valley runs at 30° to the "
            "axes. SGD, with the largest step that is still stable across the ravine, "
            "bounces from wall to wall at every step, and the same α caps its progress along "
            "the floor. Momentum averages the bounces away; RMSprop and Adam rescale their "
            "steps, cross the floor only a few times and are lower sooner."
        ),
        surface="ravine",
        start=(-2.55, -0.78),  # far up the valley, a little off its floor
        steps=100,
        runs=(
            _run("sgd", lr=0.19),
            _run("momentum", lr=0.02, momentum=0.9),
            _run("rmsprop", lr=0.1),
            _run("adam", lr=0.3),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="rosenbrock-race",
        title="Every rule on Rosenbrock's banana",
        description=(
            "Every update rule, each with a reasonable step size, from (−1.5, 2) on "
            "Rosenbrock's curved valley. Finding the valley is easy; following its flat, "
            "curved floor to the minimum at (1, 1) is what separates them: plain SGD and "
            "Adagrad crawl, the momentum rules and the Adam family get there, and Newton, "
            "which knows the curvature, arrives in a handful of steps."
        ),
        surface="rosenbrock",
        start=(-1.5, 2.0),
        steps=600,
        runs=(
            _run("sgd", lr=0.001),
            _run("momentum", lr=0.0009, momentum=0.9),
            _run("nesterov", lr=0.0007, momentum=0.9),
            _run("adagrad", lr=0.3),
            _run("rmsprop", lr=0.01),
            _run("adadelta", lr=1.0),
            _run("adam", lr=0.1),
            _run("nadam", lr=0.1),
            _run("amsgrad", lr=0.1),
            _run("lion", lr=0.005),
            _run("newton", lr=0.3),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="himmelblau-basins",
        title="One start, three minima",
        description=(
            "Himmelblau's function has four equally good minima. From one start just below "
            "its hump, the rules that follow the gradient itself (SGD, Momentum) take the "
            "steepest way down to the south-west minimum; the per-coordinate rules (Adagrad, "
            "RMSprop, Adam), whose first steps are about α·sign(∇), head east to another; "
            "Lion, which always steps by α·sign, ends in a third. Which minimum you reach "
            "depends on the rule as much as on the start."
        ),
        surface="himmelblau",
        start=(-0.2, -1.4),
        steps=300,
        runs=(
            _run("sgd", lr=0.01),
            _run("momentum", lr=0.005, momentum=0.9),
            _run("adagrad", lr=0.5),
            _run("rmsprop", lr=0.05),
            _run("adam", lr=0.1),
            _run("lion", lr=0.05),
        ),
        style=our_style(log_levels=True),
    )
)

register(
    Scene(
        name="lr-too-high",
        title="One rule, three learning rates",
        description=(
            "SGD on Booth's function, a bowl whose curvature is 18 across its long axis and 2 "
            "along it, so each step multiplies the across part of the distance to the "
            "minimum by (1 − 18α) and the along part by (1 − 2α). With α = 0.02 both factors "
            "are positive: a smooth curve into the minimum. With α = 0.1 the across factor "
            "is −0.8: every step overshoots to the other side and the run zig-zags in. With "
            "α = 0.12 it is −1.16: every overshoot is bigger than the last and the run "
            "diverges, although the same α would be fine along the long axis."
        ),
        surface="booth",
        start=(-3.0, 1.5),
        steps=100,
        runs=(
            _run("sgd", "SGD α = 0.02", "#0072B2", lr=0.02),
            _run("sgd", "SGD α = 0.1", "#009E73", lr=0.1),
            _run("sgd", "SGD α = 0.12", "#D55E00", lr=0.12),
        ),
        style=our_style(),
    )
)

if "noisy_moons" in SURFACES:  # registered with the network surface (surfaces.network)
    register(
        Scene(
            name="radford-noisy-moons",
            title="Noisy moons (Radford)",
            description=(
                "A small classifier on two noisy, interleaved half-moons, trained on "
                "mini-batches of 32 points (gradients by the notes' backpropagation); the "
                "landscape is its full-data loss over two of its weights. Each step sees a "
                "different batch, so the paths jitter. SGD creeps and is still far from the "
                "minimum at the end; Momentum and NAG start as slowly and speed up as their "
                "velocity builds; Adagrad and RMSprop, which scale each weight's step by its "
                "own gradient history, get there first."
            ),
            surface="noisy_moons",
            start=get_surface("noisy_moons").start,
            steps=200,
            runs=_radford_runs(
                {
                    "sgd": {"lr": 0.2},
                    "momentum": {"lr": 0.05, "momentum": 0.9},
                    "nesterov": {"lr": 0.05, "momentum": 0.9},
                    "adagrad": {"lr": 0.5},
                    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-4},
                    "rmsprop": {"lr": 0.05, "decay": 0.9},
                }
            ),
            style=radford_style(log_levels=True, star_colour="#808080"),
            batch_size=32,
        )
    )
