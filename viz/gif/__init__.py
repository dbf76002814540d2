"""The GIF layer: Pillow only (no Plotly, no dash). Frames of a ``Scene`` drawn directly.

``export_gif`` writes a file, ``render_gif_bytes`` returns the bytes (the app's download);
``viz.gif.formats`` writes the same frames as MP4, WebM, WebP or APNG too (``render``,
``export``; the format from the file's extension);
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
from viz.gif.formats import FORMATS, format_of, render, render_budget
from viz.gif.formats import export as export_file
from viz.gif.mover import HIDDEN_ALPHA

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "FORMATS",
    "HIDDEN_ALPHA",
    "MAX_FRAMES",
    "MAX_SIZE",
    "MIN_SIZE",
    "VIEWS",
    "ExportInfo",
    "check_options",
    "export_file",
    "export_gif",
    "format_of",
    "frame_delays",
    "frame_steps",
    "iter_frames",
    "render",
    "render_budget",
    "render_gif_bytes",
]
