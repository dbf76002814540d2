"""Scenes: a surface, a start, a step count and the runs to draw, plus how they look.

A scene's styling (colours, labels, ranges, contour levels, camera, size, fps) is
defined here once and read by both the Plotly figures (viz.figures) and the GIF
renderer (viz.gif), so a GIF looks like the screen.

Presets (``PRESETS``, ``get_preset``): Radford's ``radford-long-valley``,
``radford-beale``, ``radford-saddle`` and ``radford-noisy-moons`` in his look (his
labels and colours, white page, jet contour lines, 620×480 at 25 fps), and ours —
``newton-saddle``, ``ravine-adam-vs-sgd``, ``rosenbrock-race``, ``himmelblau-basins``,
``lr-too-high`` — in ours (viridis lines faded toward white, the registry's colour-blind-safe
colours).
Each has a one-paragraph ``description`` of what it shows; tests/viz/test_scenes.py
measures every such claim on the real rules, so a preset whose story stops being
true fails a test. To add one: ``register(Scene(...))`` here plus a test of its claim.

The network scene (Li et al. 2018): ``Scene.of_network(spec)`` — a small MLP trained
in full dimension by the runs' rules, drawn in one plane (``viz.scene.landscape``); its
surface is the plane's loss, its trajectories the paths' projections with their true
loss. It is drawn, animated, tabled, exported and linked as every other scene.

Ad-hoc scenes: ``Scene.from_args(surface, optimizers, hyper, start, steps)``; a
changed copy: ``scene.with_overrides(settings=..., steps=..., start=...)``. Settings
follow the command line's ``--set``: ``"lr"`` goes to every rule that has it,
``"adam.lr"`` to one (``apply_settings``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

import viz.scene.landscape as landscape
from optimizers import OPTIMIZERS, Optimizer, RuleInfo, Trajectory, run
from optimizers.budget import Budget, charged, runs_work
from optimizers.colours import clear_of, hue_clear_of, hue_of
from optimizers.run import check_run_args
from optimizers.schedules import make_schedule
from optimizers.typed import check_name, pick_colour, rule_info
from surfaces import Surface, get_surface

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


_PLACE = re.compile(r"\{(\w+)\}")


def label_with_values(label: str, hyper: dict) -> str:
    """``label`` with each ``{name}`` of a hyperparameter in ``hyper`` written as its value
    ("SGD α = {lr}" -> "SGD α = 0.05"), so a label follows a value the user changes; any
    other text, braces included, stays as it is."""

    def value(m: re.Match) -> str:
        v = hyper.get(m.group(1))
        return f"{v:.6g}" if isinstance(v, int | float) and not isinstance(v, bool) else m[0]

    return _PLACE.sub(value, label)


@dataclass(frozen=True)
class RunSpec:
    """One optimizer in a scene: its rule, hyperparameters, look, α schedule and noise.

    ``schedule`` is ``None`` (constant α) or ``(name, {param: value})`` of
    ``optimizers.schedules``; ``noise`` is the σ of the seeded gradient noise of this run
    (``seed``), 0 for none (the scene's own ``noise`` applies then).
    ``code``, when set, is a rule typed by the user (``optimizers.from_rule``) and
    ``optimizer`` is then the name the user gave it.
    """

    optimizer: str
    hyper: dict = field(default_factory=dict)
    label: str = ""
    colour: str = ""
    schedule: tuple[str, dict] | None = None
    noise: float = 0.0
    seed: int = 0
    code: str = ""

    def info(self) -> RuleInfo:
        """The rule's registry entry, or the typed rule's (``RuleError`` if its text is bad)."""
        return rule_info(self.code, self.optimizer) if self.code else OPTIMIZERS[self.optimizer]

    def resolved(self) -> RunSpec:
        """The run as drawn: its label (its values written in, ``label_with_values``) or
        the rule's, its colour or the rule's."""
        info = self.info()
        label = label_with_values(self.label, self.hyper) if self.label else info.label
        return replace(self, label=label, colour=self.colour or info.colour)

    def full_hyper(self) -> dict:
        """Every hyperparameter of the rule: the run's own values over the rule's defaults."""
        return {**self.info().defaults(), **self.hyper}

    def build(self) -> Optimizer:
        """The rule with its hyperparameters and, when set, its α schedule."""
        hyper = dict(self.hyper)
        if self.schedule is not None and self.schedule[0] != "constant":
            name, params = self.schedule
            hyper["lr"] = make_schedule(name, self.full_hyper()["lr"], **params)
        return self.info().build(**hyper)


@dataclass(frozen=True)
class Style:
    """How a scene looks, on screen and in a GIF."""

    background: str = "#ffffff"
    colorscale: str = "Jet"  # contour lines coloured by level
    line_fade: float = 0.0  # share of white mixed into the contour lines' colours
    contour_levels: int = 40
    log_levels: bool = False  # levels evenly spaced in log(f - min)
    # With log levels: the lowest level, as a fraction of the span; None: 1e-4, or lower
    # where more than BLANK_AT_MOST of the grid would lie under it (Beale's valley: 18 %).
    log_floor: float | None = None
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


# Ours: the same white page and sizes, but contour lines in a calm sequential palette, faded
# toward white so that the coloured trails (the registry's colour-blind-safe palette)
# stand out: Momentum's green had been lost in viridis' greens. Log-spaced levels where
# the surface's values span decades.
OUR_COLORSCALE = "Viridis"
OUR_LINE_FADE = 0.6


def our_style(**changes) -> Style:
    """Our scenes' look: white background, faded viridis contour lines, 800×600 at 25 fps."""
    base = Style(
        colorscale=OUR_COLORSCALE, line_fade=OUR_LINE_FADE, contour_levels=30, size=(800, 600)
    )
    return replace(base, **changes)


def default_style(surface: Surface) -> Style:
    """The look of a scene that is not a preset (app and CLI alike): ours, with log-spaced
    contour levels where the surface's values span decades."""
    return our_style(log_levels=surface.log_scale)


def distinct_colours(runs) -> tuple[RunSpec, ...]:
    """``runs`` with another library's rule, whose colour is left to its registry entry (a
    hue hashed from its name), given a colour clear of the scene's other runs (the fixed
    ones, and such rules before it): torch:RMSprop and optax:adamw hashed to the same red,
    torch:SGD and torch:Adam to two greens."""

    def hashed(r: RunSpec) -> bool:
        return not r.colour and not r.code and ":" in r.optimizer

    taken = [r.colour or r.info().colour for r in runs if not hashed(r)]
    out = []
    for r in runs:
        if hashed(r):
            own = r.info().colour
            r = r if clear_of(own, taken) else replace(r, colour=hue_clear_of(hue_of(own), taken))
            taken.append(r.colour or own)
        out.append(r)
    return tuple(out)


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
            targets = [i for i, r in enumerate(runs) if r.optimizer == rule]
            if rule not in OPTIMIZERS and not targets:
                raise ValueError(f"setting {key!r}: unknown optimizer {rule!r}")
            if not targets:
                raise ValueError(f"setting {key!r}: {rule} is not among the optimizers ({chosen})")
            try:
                runs[targets[0]].info().spec(name)
            except ValueError as exc:  # names the rule's hyperparameters
                raise ValueError(f"setting {key!r}: {exc}") from None
        else:
            targets = [i for i, r in enumerate(runs) if _has_hyper(r, name)]
            if not targets:
                raise ValueError(
                    f"setting {key!r}: none of the optimizers ({chosen}) has a hyperparameter "
                    f"{name!r}"
                )
        for i in targets:
            r = runs[i]
            checked = r.info().spec(name).check(value, r.optimizer)
            runs[i] = replace(r, hyper={**r.hyper, name: checked})
    return tuple(runs)


def _has_hyper(run: RunSpec, name: str) -> bool:
    return any(h.name == name for h in run.info().hyper)


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
    # What the page shows besides the runs (the share link keeps it; GIFs ignore it).
    step: int = 0  # the playback step the page opens at
    tolerance: float = 1e-3  # |f − f*| under which a run counts as arrived
    arrows: bool = False  # −∇f and velocity arrows at the current step
    # The network scene: its net, data and plane; runs and steps are the spec's rules and
    # steps (``of_network``). Its surface exists once computed (``landscape.cached``).
    network: landscape.LandscapeSpec | None = None

    def get_surface(self) -> Surface:
        if self.network is not None:
            return landscape.cached(self.network).grid_surface
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

    def changes_from(self, other: Scene) -> tuple[str, ...]:
        """What of this scene's race differs from ``other``'s, in words (empty: the same):
        its surface, start, steps, rules, or their hyperparameters, schedules or noise
        (numbers to 1e-9, as the page's boxes write them back)."""

        def same(a, b) -> bool:
            if isinstance(a, dict) and isinstance(b, dict):
                return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            if isinstance(a, list | tuple) and isinstance(b, list | tuple):
                return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
            if isinstance(a, int | float) and isinstance(b, int | float):
                return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            return a == b

        def rules(sc: Scene):
            return [(r.optimizer, r.code) for r in sc.runs]

        def tuned(sc: Scene):
            return [(r.full_hyper(), r.schedule, r.noise, r.seed) for r in sc.runs]

        retuned = rules(self) == rules(other) and not same(tuned(self), tuned(other))
        parts = (
            ("surface", self.surface_name != other.surface_name),
            ("start", not same(tuple(self.start), tuple(other.start))),
            ("steps", self.steps != other.steps),
            ("optimizers", rules(self) != rules(other)),
            ("hyperparameters", retuned),
        )
        return tuple(name for name, differs in parts if differs)

    def resolved_runs(self) -> tuple[RunSpec, ...]:
        """The runs with labels and colours filled in from the registry where unset (other
        libraries' rules told apart, ``distinct_colours``)."""
        return tuple(r.resolved() for r in distinct_colours(self.runs))

    def optimizers(self) -> list[Optimizer]:
        """Each run's rule, built (and so validated) with its hyperparameters and schedule."""
        return [r.build() for r in self.runs]

    def run_noise(self, r: RunSpec) -> tuple[float, int]:
        """The gradient noise σ and seed of run ``r``: its own, else the scene's."""
        return (r.noise, r.seed) if r.noise else (self.noise, self.seed)

    def start_point(self) -> tuple[float, float]:
        """Where the runs start as drawn: the network's θ₀ projected, else ``start``."""
        return self.get_surface().start if self.network is not None else self.start

    def validate(self) -> Scene:
        """``self`` if every part is usable; ``ValueError`` naming the first problem otherwise."""
        if self.network is not None:
            return self._validate_network()
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

    def _validate_network(self) -> Scene:
        """The network scene: its spec checked (``landscape.check``: widths, data, plane,
        rules that need no Hessian, ...), its work under the cap, its runs the spec's."""
        spec = landscape.check(self.network)
        landscape.check_work(spec)
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        rules = tuple((r.optimizer, r.full_hyper()) for r in spec.rules)
        if tuple((r.optimizer, dict(r.hyper)) for r in self.runs) != rules:
            raise ValueError("the network scene's runs must be its spec's rules")
        if self.steps != spec.steps:
            raise ValueError("the network scene's steps must be its spec's")
        return replace(self, network=spec)

    def work(self) -> int:
        """What computing the scene costs, in point-steps (``optimizers.budget``: a library
        rule's step counts its ``RuleInfo.step_work``); for the network scene, its own
        measure (``landscape.work``: weights × samples × passes)."""
        if self.network is not None:
            return landscape.work(self.network)
        return runs_work([r.info() for r in self.runs], self.steps)

    def compute(self, budget: Budget | None = None) -> list[Trajectory]:
        """Every run of the scene, in order; with a ``budget``, its work is checked first and
        its deadline holds inside the runs (``BudgetError``, a ``ValueError``).

        The network scene's runs are the paths projected on the plane, each with its TRUE
        loss (not the plane's at the projection); its work is checked against its own cap
        (``landscape.budget_for``) under the deadline of ``budget``."""
        if self.network is not None:
            return self._network_runs(budget)
        if budget is not None:
            budget.check(self.work(), "this scene", "use fewer steps or optimizers")
        s = self.get_surface()
        return [
            run(opt, s, self.start, self.steps, *self.run_noise(r),
                budget=charged(budget, r.info().step_work(1), 1))
            for r, opt in zip(self.runs, self.optimizers(), strict=True)
        ]  # fmt: skip

    def _network_runs(self, budget: Budget | None) -> list[Trajectory]:
        seconds, cancelled = landscape.SECONDS, None
        if budget is not None:  # the time the request has left, and its client's presence
            seconds = max(budget.seconds - budget.elapsed, 1e-3)
            cancelled = budget.cancelled
        res = landscape.cached(self.network, landscape.budget_for(self.network, seconds, cancelled))
        return [
            Trajectory(res.coords[i], res.true_loss[i], run.diverged_at)
            for i, run in enumerate(res.runs)
        ]

    @classmethod
    def of_network(
        cls,
        spec: landscape.LandscapeSpec,
        *,
        name: str = "network",
        title: str = "",
        description: str = "",
        view: str = "both",
        style: Style | None = None,
    ) -> Scene:
        """The network scene of ``spec``: its rules as runs (their labels and colours),
        its steps, our look with log-spaced levels (a loss spans decades); validated."""
        spec = landscape.check(spec)
        runs = tuple(RunSpec(r.optimizer, r.full_hyper()) for r in spec.rules)
        return cls(
            name=name,
            title=title or f"Network {'-'.join(map(str, spec.widths))} on {spec.data}",
            description=description,
            surface="network",
            start=(0.0, 0.0),  # θ₀ projected: known once computed (start_point)
            steps=spec.steps,
            runs=runs,
            view=view,
            style=style or our_style(log_levels=True),
            network=spec,
        ).validate()

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
        if self.network is not None:
            return self._network_overrides(
                settings, steps, start, noise, seed, view, batch_size, style
            )
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

    def _network_overrides(self, settings, steps, start, noise, seed, view, batch_size, style):
        """``with_overrides`` of the network scene: settings, steps, seed and batch size
        go to its spec (the runs follow it); it has no start or gradient noise to set."""
        if start is not None:
            raise ValueError("the network scene starts at its initialisation: no start to set")
        if noise is not None:
            raise ValueError("the network scene has no gradient noise (use a batch size)")
        runs = apply_settings(self.runs, settings)
        spec = replace(
            self.network, rules=tuple(landscape.Rule(r.optimizer, r.hyper) for r in runs)
        )
        changes = {"steps": steps, "seed": seed, "batch_size": batch_size}
        spec = replace(spec, **{k: v for k, v in changes.items() if v is not None})
        scene = Scene.of_network(
            spec, name=self.name, title=self.title, description=self.description,
            view=view or self.view, style=self.style,
        )  # fmt: skip
        if style:
            unknown = set(style) - {f.name for f in fields(Style)}
            if unknown:
                raise ValueError(f"unknown style option(s): {', '.join(sorted(unknown))}")
            scene = replace(scene, style=replace(scene.style, **style))
        return replace(scene, step=self.step, tolerance=self.tolerance, arrows=self.arrows)

    @staticmethod
    def typed_runs(rules, others=()) -> tuple[RunSpec, ...]:
        """Runs of typed rules ``(name, text)``, each checked (``RuleError`` says what and
        where); a name already taken by another run is refused."""
        taken = {r.optimizer for r in others}
        colours = [r.colour or r.info().colour for r in others]
        runs = []
        for name, text in rules:
            if name in taken:
                raise ValueError(f"optimizer {name!r} is chosen twice")
            taken.add(name)
            try:
                colour = pick_colour(check_name(name), colours)
                run_ = RunSpec(name, code=text, colour=colour)
                run_.info()
            except ValueError as exc:
                raise ValueError(f"rule {str(name)[:40]!r}: {exc}") from None
            colours.append(colour)
            runs.append(run_)
        return tuple(runs)

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
        rules=(),
    ) -> Scene:
        """An ad-hoc scene: ``optimizers`` by name, ``hyper`` as in ``apply_settings``.

        ``rules``: typed rules as ``(name, text)`` pairs, run after the named optimizers.

        ``start`` defaults to the surface's own start; the style follows ours (log-spaced
        levels where the surface asks for them). ``ValueError`` names the first problem.
        """
        if isinstance(optimizers, str):
            optimizers = [optimizers]
        optimizers = list(optimizers)
        for rule in optimizers:
            if not isinstance(rule, str):
                raise ValueError(
                    f"unknown optimizer {rule!r}; choose one of: {', '.join(OPTIMIZERS)}"
                )
            OPTIMIZERS.find(rule)  # a library rule's message says how to install a missing one
        for rule in optimizers:
            if optimizers.count(rule) > 1:
                raise ValueError(f"optimizer {rule!r} is chosen twice")
        typed = cls.typed_runs(rules, [RunSpec(rule) for rule in optimizers])
        try:
            s = surface if isinstance(surface, Surface) else get_surface(surface)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        runs = apply_settings([*(RunSpec(rule) for rule in optimizers), *typed], hyper)
        names = [*optimizers, *(r.optimizer for r in typed)]
        scene = cls(
            name=name,
            title=title or f"{', '.join(names)} on {s.label or s.name}",
            description=description,
            surface=surface,
            start=_as_point(s.start if start is None else start),
            steps=steps,
            runs=runs,
            view=view,
            style=style or default_style(s),
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


LOG_FLOOR = 1e-4  # the lowest log level, as a fraction of the span, unless a style says
BLANK_AT_MOST = 0.01  # … or lower, so that at most this share of the grid lies under it


def contour_levels(z: np.ndarray, style: Style, z_min: float | None = None) -> np.ndarray:
    """The contour levels both renderers draw: linear, or log-spaced above the minimum."""
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if style.log_levels:
        base = lo if z_min is None else min(lo, z_min)
        span = max(hi - base, 1e-12)
        if style.log_floor is not None:
            low = span * style.log_floor
        else:
            under = np.quantile(finite - base, BLANK_AT_MOST)
            low = min(span * LOG_FLOOR, max(under, span * 1e-12))
        return base + np.geomspace(low, span, style.contour_levels)
    return np.linspace(lo, hi, style.contour_levels + 2)[1:-1]
