"""Scenes: a surface, a start, a step count and the runs to draw, plus how they look.

A scene's styling (colours, labels, ranges, contour levels, camera, size, fps) is
defined here once and read by both the Plotly figures (viz.figures) and the GIF
renderer (viz.gif), so a GIF looks like the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from optimizers import OPTIMIZERS, Trajectory, get_optimizer, run
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
    surface_colorscale: str = "RdBu_r"  # 3-D surface (Radford: coolwarm)
    star_colour: str = "#444444"
    line_width: float = 2.5
    dot_size: float = 9.0
    size: tuple[int, int] = (620, 480)
    fps: int = 25
    camera: dict = field(
        default_factory=lambda: {"eye": {"x": -1.4, "y": -1.4, "z": 1.1}, "up": {"x": 0, "y": 0, "z": 1}}
    )
    z_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    description: str
    surface: str
    start: tuple[float, float]
    steps: int
    runs: tuple[RunSpec, ...]
    view: str = "contour"  # contour | 3d | both
    style: Style = field(default_factory=Style)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    noise: float = 0.0
    seed: int = 0

    def get_surface(self) -> Surface:
        return get_surface(self.surface)

    def window(self) -> tuple[tuple[float, float], tuple[float, float]]:
        s = self.get_surface()
        return self.x_range or s.x_range, self.y_range or s.y_range

    def compute(self) -> list[Trajectory]:
        """Every run of the scene, in order."""
        s = self.get_surface()
        return [
            run(get_optimizer(r.optimizer, **r.hyper), s, self.start, self.steps, self.noise,
                self.seed)
            for r in self.runs
        ]


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
        return base + np.geomspace(span * 1e-4, span, style.contour_levels)
    return np.linspace(lo, hi, style.contour_levels + 2)[1:-1]
