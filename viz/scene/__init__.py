"""The scene layer: pure Python (numpy and the maths packages; no dash, plotly or PIL).

A ``Scene`` is one whole picture: surface or expression and window, the runs (rule,
hyperparameters, label, colour, schedule, noise), the start, the steps and how it looks.
Presets are Scenes; the share link, the app and the CLI read and write Scenes.
"""

from viz.scene.model import (
    RADFORD_COLOURS,
    RADFORD_LABELS,
    VIEWS,
    RunSpec,
    Scene,
    Style,
    apply_settings,
    camera_angles,
    camera_from_angles,
    contour_levels,
    default_style,
    distinct_colours,
    our_style,
    parse_setting,
    radford_style,
)
from viz.scene.presets import PRESETS, get_preset, radford_run, register

__all__ = [
    "PRESETS",
    "RADFORD_COLOURS",
    "RADFORD_LABELS",
    "VIEWS",
    "RunSpec",
    "Scene",
    "Style",
    "apply_settings",
    "camera_angles",
    "camera_from_angles",
    "contour_levels",
    "default_style",
    "distinct_colours",
    "get_preset",
    "our_style",
    "parse_setting",
    "radford_run",
    "radford_style",
    "register",
]
