"""A scene as ONE self-contained HTML page: plays, pauses, scrubs and rotates offline.

plotly.js (the copy the plotly package ships), the playback script (``page.js`` beside
this file) and the scene's data are inlined; the page fetches nothing, so it works from
``file://``, a course website or an e-mail attachment. The figures are the app's own
(``viz.figures``): the contour background under its transparent overlay, and the 3-D
surface with the paths drawn into it (one graph, so it rotates with the mouse).

``page_html(scene)`` is the text; ``render_html(scene, ...)`` its bytes with the
command line's options (``optviz export --out scene.html``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viz import figures
from viz.figures import landscape as landscape_figures
from viz.scene import landscape
from viz.scene.geometry import MARGIN

VIEWS = ("contour", "3d", "both")
MAX_SIZE = (1920, 1080)
MIN_SIZE = (64, 64)
MIN_FPS, MAX_FPS = 1, 50
MAX_FRAMES = 1000
STRIP_HEIGHT = 150  # the strip under a classifier's map or a network's plane, CSS pixels
SCRIPT = Path(__file__).with_name("page.js")


@dataclass(frozen=True)
class PageOptions:
    """What the page shows: its views, their size in all, and how fast it plays
    (``frames`` at ``fps`` last as long as the GIF of the same options would)."""

    view: str
    frames: int
    fps: int
    size: tuple[int, int]
    title: str | None = None


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


FIT_WIDTH = 1240  # with the page's margins and a scroll bar, within 1,280 px


def check_options(
    scene, view=None, frames=None, fps=None, size=None, camera=None, title=None, counter=False
) -> PageOptions:
    """Validated page options (the GIF's limits); ``ValueError`` otherwise. The page
    always has a counter and the 3-D camera is the user's to turn (``camera`` unused)."""
    view = "both" if view is None else view
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    steps = int(scene.steps)
    frames = min(steps + 1, 200) if frames is None else _whole("frames", frames)
    if not 1 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between 1 and {MAX_FRAMES:,}, got {frames:,}")
    fps = scene.style.fps if fps is None else _whole("fps", fps)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(f"fps must be between {MIN_FPS} and {MAX_FPS}, got {fps}")
    if size is None:  # the scene's, narrowed to fit a 1,280-px screen (a laptop, a projector)
        w, h = scene.style.size
        w, h = (2 * w, h) if view == "both" else (w, h)
        scale = min(1.0, FIT_WIDTH / w)
        size = (round(w * scale), round(h * scale))
    w, h = (_whole("size", v) for v in size)
    min_w = MIN_SIZE[0] * (2 if view == "both" else 1)
    if not (min_w <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        raise ValueError(
            f"size must be between {min_w}×{MIN_SIZE[1]} and {MAX_SIZE[0]}×{MAX_SIZE[1]} "
            f"for {view}, got {w}×{h}"
        )
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be text, got {type(title).__name__}")
    title = " ".join(title.split())[:120] if title else None
    return PageOptions(view, min(frames, steps + 1), fps, (w, h), title)


def plotly_js() -> str:
    """The plotly.js bundle of the installed plotly package (the app's own version)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _sized(fig: dict, w: int, h: int) -> dict:
    return {**fig, "layout": {**fig["layout"], "width": w, "height": h, "autosize": False}}


def scene_data(scene, opts: PageOptions, trajectories=None, budget=None) -> dict:
    """Everything the page's script needs: the figures and each run's points."""
    if trajectories is None:
        trajectories = scene.compute(budget)
    surface = scene.get_surface()
    window, style = scene.window(), scene.style
    net = scene.network is not None
    runs = [
        figures.trajectory_payload(
            surface, t, str(i), r.label, r.colour, window, style, on_surface=net
        )
        for i, (r, t) in enumerate(zip(scene.resolved_runs(), trajectories, strict=True))
    ]
    w, h = opts.size
    pw = w // 2 if opts.view == "both" else w
    data = {
        "steps": int(scene.steps),
        "steps_per_second": scene.steps * opts.fps / max(opts.frames - 1, 1),
        "start_step": int(scene.steps),  # opens on the whole run; Play starts it over
        "autoplay": False,
        "runs": runs,
        "names": [r["label"] for r in runs],
    }
    strip = _strip(scene, surface, trajectories, runs) if opts.view != "3d" else None
    if strip is not None:  # the strip under the views, as in the app
        fig, title, markers = strip
        wide = w if scene.network is not None else pw  # the network's check: two plots
        data["strip"] = {
            "figure": _sized(fig, wide, STRIP_HEIGHT),
            "title": title,
            "markers": markers,  # shapes[0 … markers − 1]: the step lines the page moves
        }
    if opts.view in ("contour", "both"):
        data["contour"] = _sized(figures.contour_figure(surface, window, style), pw, h)
        top = figures.contour_overlay(runs, window, style, scene.start_point(), step=0)
        data["contour_top"] = _sized(top, pw, h)
    if opts.view in ("3d", "both"):
        bg = figures.surface_figure(surface, window, style)
        moving = figures.surface_overlay(surface, runs, window, style, step=0)["data"]
        paths = [t for t in moving if t.get("meta", {}).get("role") in ("path", "dots3d")]
        data["surface"] = _sized({**bg, "data": [*bg["data"], *paths]}, w - pw, h)
    return data


def _strip(scene, surface, trajectories, runs):
    """(figure, title, step markers) of the strip under the views: a classifier's accuracy
    per step; the network's projection check (true loss against the plane's, distance from
    the plane: what its description says the strip shows); None for any other scene."""
    if scene.network is not None:
        spec = scene.network
        res = landscape.cached(spec, landscape.budget_for(spec))
        fig = landscape_figures.check_figure(res).to_plotly_json()
        return fig, landscape_figures.CHECK_TITLE, 2
    if not hasattr(surface, "accuracy"):
        return None
    with np.errstate(all="ignore"):
        acc = [surface.accuracy(np.asarray(t.points, dtype=float)) for t in trajectories]
    return figures.accuracy_figure(runs, acc), "Accuracy on all the data, per step", 1


def _json_for_script(data) -> str:
    # inside <script>: no "<" at all (no "</script>" closing it early, no "<!--" opening
    # the script's escaped states), and U+2028/9 escaped as in JSON for old parsers
    from plotly.utils import PlotlyJSONEncoder  # numpy arrays, NaN → null, as Dash sends them

    text = json.dumps(data, cls=PlotlyJSONEncoder, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_SAFE_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|rgba?\([0-9., %]*\)|[A-Za-z]{1,30}")


def _css_colour(colour: str) -> str:
    """A run's colour for the legend's CSS: only a hex, rgb()/rgba() or a colour name (a
    scene built in Python could hold anything, e.g. a url() the browser would fetch)."""
    return colour if _SAFE_COLOUR.fullmatch(colour or "") else "#888888"


# The page's margin; a phone shows the page's whole width (its viewport is that wide) and
# lets the reader zoom in, rather than cutting the fixed-size views at the screen's edge.
PAGE_MARGIN = 8
_CSS = """
body { font: 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: PAGE_MARGINpx; background: #fff; }
h1 { font-size: 18px; font-weight: 600; margin: 0 0 4px; }
p.about { margin: 0 0 12px; color: #555; max-width: 70em; }
.views { display: flex; flex-wrap: wrap; gap: 0; }
.stack { position: relative; }
.stack > div { position: absolute; left: 0; top: 0; }
.controls { display: flex; align-items: center; gap: 12px; margin: 10px 0; }
.controls input[type=range] { flex: 0 1 420px; }
.controls button { font: inherit; padding: 4px 12px; min-width: 6.5em; }  /* not the mode bar's */
#counter { font-variant-numeric: tabular-nums; }
.strip-title { font-size: 12px; color: #555; margin: 6px 0 0 8px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 22px; height: 3px; vertical-align: middle;
            margin-right: 5px; }
"""


def page_html(scene, opts: PageOptions | None = None, trajectories=None, budget=None) -> str:
    """The page of ``scene`` as text (one file, nothing to fetch)."""
    opts = opts or check_options(scene)
    data = scene_data(scene, opts, trajectories, budget)
    w, h = opts.size
    pw = w // 2 if opts.view == "both" else w
    views = []
    if "contour" in data:
        views.append(
            f'<div class="stack" style="width:{pw}px;height:{h}px" aria-label="contour map">'
            '<div id="contour-bg"></div><div id="contour-top"></div></div>'
        )
    if "surface" in data:
        views.append(
            f'<div id="surface" style="width:{w - pw}px;height:{h}px" '
            'aria-label="3-D surface (drag to rotate)"></div>'
        )
    strip, width = "", w
    if "strip" in data:
        box = data["strip"]["figure"]["layout"]
        width = max(width, box["width"])
        title = html.escape(data["strip"]["title"])
        strip = (
            f'<div class="strip"><div class="strip-title">{title}</div><div id="strip" '
            f'style="width:{box["width"]}px;height:{box["height"]}px" aria-label="{title}">'
            "</div></div>"
        )
    legend = "".join(
        f'<span><i style="background:{_css_colour(r["colour"])}"></i>'
        f"{html.escape(r['label'])}</span>"
        for r in data["runs"]
    )
    title = opts.title or scene.title or "optviz"
    about = html.escape(scene.description) if scene.description else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width={width + 2 * PAGE_MARGIN}">
<meta name="generator" content="optviz">
<title>{html.escape(title)}</title>
<style>{_CSS.replace("PAGE_MARGIN", str(PAGE_MARGIN))}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="about">{about}</p>
<div class="controls" style="margin-left:{MARGIN["l"]}px">
<button id="play" type="button" aria-pressed="false">▶ Play</button>
<input id="scrub" type="range" min="0" max="{data["steps"]}" step="1" value="0"
 aria-label="step">
<span id="counter" role="status">step 0 / {data["steps"]}</span>
</div>
<div class="legend" style="margin-left:{MARGIN["l"]}px">{legend}</div>
<div class="views">{"".join(views)}</div>
{strip}
<script type="application/json" id="optviz-data">{_json_for_script(data)}</script>
<script>{plotly_js()}</script>
<script>{SCRIPT.read_text(encoding="utf-8")}</script>
</body>
</html>
"""


def render_html(
    scene,
    view=None,
    frames=None,
    fps=None,
    size=None,
    camera=None,
    progress=None,
    trajectories=None,
    title=None,
    counter=False,
    budget=None,
) -> bytes:
    """The page's bytes with the command line's options (``progress`` told once, at the
    end: a page is written in one go)."""
    opts = check_options(scene, view, frames, fps, size, camera, title, counter)
    text = page_html(scene, opts, trajectories, budget)
    if progress is not None:
        progress(1, 1)
    return text.encode("utf-8")
