"""The GIF layer: Pillow only (no Plotly, no dash). Frames of a ``Scene`` drawn directly.

``export_gif`` writes a file, ``render_gif_bytes`` returns the bytes (the app's download);
``viz.gif.contour`` and ``viz.gif.surface3d`` draw the two views' panels.
"""

from viz.gif.export import (
    DEFAULT_MAX_FRAMES,
    MAX_FRAMES,
    MAX_SIZE,
    MIN_SIZE,
    VIEWS,
    ExportInfo,
    check_options,
    export_gif,
    frame_delays,
    frame_steps,
    iter_frames,
    render_gif_bytes,
)
from viz.gif.mover import HIDDEN_ALPHA

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "HIDDEN_ALPHA",
    "MAX_FRAMES",
    "MAX_SIZE",
    "MIN_SIZE",
    "VIEWS",
    "ExportInfo",
    "check_options",
    "export_gif",
    "frame_delays",
    "frame_steps",
    "iter_frames",
    "render_gif_bytes",
]
