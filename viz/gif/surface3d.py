"""The 3-D view of a GIF: the surface drawn once, the paths projected by the same camera.

The surface is a grid of quadrilateral facets coloured by height with the scene's
surface colour scale, lit from the viewer's side, outlined with thin dark grid lines
and drawn back to front (painter's algorithm) with a perspective projection set by the
scene's Plotly-style camera (``eye``, ``up``, ``center``, and ``projection.type``
"orthographic" if set; the scene box has the app's aspect ratio; the projected box is
scaled to fill the panel, so the eye's distance sets the perspective, not the zoom).
Back panes with grid lines, ticks and titles frame it, as in the app. The facets are
80×80 (fine enough that a narrow valley does not zigzag); the mesh lines are drawn on
every second facet edge, Radford's density.

The moving paths use the same projection. Each step is cut into pieces a few pixels
long; a piece is *hidden* when the facet drawn at its pixel (an id image drawn in the
same painter's order) lies in front of it by more than a facet's own depth. Hidden
pieces and dots are drawn faint (``viz.gif.HIDDEN_ALPHA``) rather than on top, so a path
that goes behind a ridge reads as behind it. Pieces outside the box are not drawn: the
app's axis ranges are fixed, so a run that leaves them leaves the picture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

import viz.gif.raster as raster
from viz.gif.contour import REFERENCE, legend_box, paint_legend
from viz.gif.mover import HIDDEN_ALPHA, Mover
from viz.scene.geometry import (
    SCENE_ASPECT,
    axis_titles,
    display_z,
    floor_value,
    grid,
    z_range,
    z_title,
)

GRID = 80  # facets per side (shading); a narrow valley needs this many not to zigzag
MESH_EVERY = 2  # grid lines on every 2nd facet boundary: Radford's mesh, 40 lines a side
PANE = (244, 245, 247)  # the app's axis backgrounds
GRID_LINE = (213, 216, 220)
EDGE = (30, 30, 30)  # the facets' outline
EDGE_ALPHA = 0.45
TEXT = (68, 68, 68)
# px at the reference size: a label this close to another axis' is left out (where two
# axes meet, "−4 −4" read as one label)
LABEL_GAP = 16.0
PIECE_PX = 3.0  # paths are cut into pieces about this long for the hidden test


class Camera:
    """Perspective projection of scene-box coordinates, looking from ``eye`` at ``center``."""

    def __init__(self, camera: dict):
        def vec(part, default):
            v = camera.get(part) or default
            return np.array([float(v[k]) for k in "xyz"])

        self.eye = vec("eye", {"x": 1.25, "y": 1.25, "z": 1.25})
        centre = vec("center", {"x": 0, "y": 0, "z": 0})
        up = vec("up", {"x": 0, "y": 0, "z": 1})
        forward = centre - self.eye
        self.forward = forward / np.linalg.norm(forward)
        right = np.cross(self.forward, up)
        if np.linalg.norm(right) < 1e-9:  # looking along "up": pick any sideways direction
            right = np.cross(self.forward, [0.0, 1.0, 0.0])
        self.right = right / np.linalg.norm(right)
        self.up = np.cross(self.right, self.forward)
        self.scale, self.offset = 1.0, np.zeros(2)
        projection = camera.get("projection") or {}
        self.orthographic = (
            isinstance(projection, dict) and projection.get("type") == "orthographic"
        )

    def depth(self, p: np.ndarray) -> np.ndarray:
        return (np.asarray(p) - self.eye) @ self.forward

    def raw(self, p: np.ndarray) -> np.ndarray:
        v = np.asarray(p, dtype=float) - self.eye
        d = 1.0 if self.orthographic else np.maximum(v @ self.forward, 1e-6)
        return np.stack([(v @ self.right) / d, -(v @ self.up) / d], axis=-1)

    def fit(self, corners: np.ndarray, box) -> None:
        """Scale and shift so that ``corners`` fill ``box`` (x0, y0, x1, y1), centred."""
        r = self.raw(corners)
        lo, hi = r.min(axis=0), r.max(axis=0)
        x0, y0, x1, y1 = box
        self.scale = min((x1 - x0) / (hi[0] - lo[0]), (y1 - y0) / (hi[1] - lo[1]))
        self.offset = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - self.scale * (lo + hi) / 2

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Scene-box points ``(..., 3)`` -> panel pixels ``(..., 2)``."""
        return self.raw(p) * self.scale + self.offset


class SurfacePanel:
    """The 3-D surface at ``size``, placed at ``origin`` in the GIF."""

    def __init__(self, scene, runs, size, origin, camera: dict, legend: bool = True):
        self.scene, self.runs = scene, runs
        self.size, self.origin = tuple(size), tuple(origin)
        w, h = self.size
        self.u = u = min(w / REFERENCE[0], h / REFERENCE[1])
        self.style = style = scene.style
        self.surface = surface = scene.get_surface()
        self.window = window = scene.window()
        (x0, x1), (y0, y1) = window
        _, _, zz_app = grid(surface, window, 70)  # the app's 3-D grid: same base
        self.base = floor_value(surface, zz_app)
        self.zr = z_range(surface, window, style)
        self.half = np.array([SCENE_ASPECT["x"], SCENE_ASPECT["y"], SCENE_ASPECT["z"]]) / 2
        self.cam = cam = Camera(camera)
        corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        self.corners = corners * self.half
        margin = 46 * u
        cam.fit(self.corners, (margin, margin * 0.8, w - margin, h - margin * 0.9))
        self.line_width = style.line_width * u
        self.dot_radius = style.dot_size / 2 * u + 1.0

        xs, ys = np.linspace(x0, x1, GRID + 1), np.linspace(y0, y1, GRID + 1)
        xx, yy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            zz = surface.value(np.stack([xx, yy], axis=-1))
        dz = display_z(surface, zz, self.base, style)
        self.box_pts = self.to_box(xx, yy, np.clip(dz, *self.zr))
        self._facets(dz)
        legend = legend_box(runs, u, w - 8 * u, 8 * u) if legend else None
        s = raster.SUPERSAMPLE
        big = Image.new("RGB", (w * s, h * s), raster.rgb(style.background))
        draw = ImageDraw.Draw(big, "RGBA")
        self._paint_axes(draw, s)
        self._paint_surface(draw, s)
        self._paint_minima(draw, s)
        self._paint_labels(draw, s)
        if legend:
            paint_legend(draw, s, runs, u, *legend)
        self.background = np.asarray(big.resize((w, h), Image.Resampling.BOX), dtype=np.uint8)
        self.allowed = np.ones((h, w), dtype=np.float32)
        if legend:
            lx0, ly0, lx1, ly1 = (round(v) for v in legend[0])
            self.allowed[max(ly0, 0) : ly1 + 1, max(lx0, 0) : lx1 + 1] = 0.0

    # geometry -------------------------------------------------------------------------
    def to_box(self, x, y, z) -> np.ndarray:
        """Data (x, y, display z) -> scene-box coordinates, the box being ±aspect/2."""
        (x0, x1), (y0, y1) = self.window
        z0, z1 = self.zr
        bx = ((np.asarray(x) - x0) / (x1 - x0) - 0.5) * 2 * self.half[0]
        by = ((np.asarray(y) - y0) / (y1 - y0) - 0.5) * 2 * self.half[1]
        bz = ((np.asarray(z) - z0) / ((z1 - z0) or 1.0) - 0.5) * 2 * self.half[2]
        return np.stack([bx, by, bz], axis=-1)

    def _facets(self, dz: np.ndarray) -> None:
        p = self.box_pts
        quads = np.stack([p[:-1, :-1], p[:-1, 1:], p[1:, 1:], p[1:, :-1]], axis=2)  # (n,n,4,3)
        quads = quads.reshape(-1, 4, 3)
        zq = np.stack([dz[:-1, :-1], dz[:-1, 1:], dz[1:, 1:], dz[1:, :-1]], axis=-1)
        ok = np.isfinite(zq).all(axis=-1).reshape(-1)
        depth = self.cam.depth(quads)  # (m, 4)
        self.q_pix = self.cam(quads)  # (m, 4, 2)
        self.q_far = depth.max(axis=1)
        self.q_extent = depth.max(axis=1) - depth.min(axis=1)
        order = np.argsort(-depth.mean(axis=1), kind="stable")
        self.order = order[ok[order]]
        # colour by height, lit from the viewer's side (two-sided Lambert)
        # Plotly colours a surface over its own values (cmin/cmax), not the axis range
        z0, z1 = self.zr
        zc = np.clip(zq.mean(axis=-1).reshape(-1), z0, z1)
        finite = zc[np.isfinite(zc)]
        c0, c1 = (float(finite.min()), float(finite.max())) if finite.size else (z0, z1)
        t = (zc - c0) / ((c1 - c0) or 1.0)
        base = raster.sample_scale(self.style.surface_colorscale, np.nan_to_num(t))
        normal = np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1])
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        light = -self.cam.forward + 0.6 * self.cam.up - 0.3 * self.cam.right
        light /= np.linalg.norm(light)
        shade = 0.72 + 0.36 * np.abs(normal @ light)
        bg = np.asarray(raster.rgb(self.style.background), dtype=float)
        colour = np.clip(base * shade[:, None], 0, 255) * 0.94 + bg * 0.06
        self.q_colour = np.rint(colour).astype(int)

    # static parts -------------------------------------------------------------------
    def _paint_surface(self, draw, s) -> None:
        edge = (*EDGE, int(255 * EDGE_ALPHA))
        width = max(round(0.5 * s * max(self.u, 0.8)), 1)
        pix = self.q_pix * s
        ids = Image.new("I", self.size, 0)
        id_draw = ImageDraw.Draw(ids)
        # which sides of each facet lie on a mesh line: corners are 00, 01, 11, 10
        row, col = np.divmod(np.arange(GRID * GRID), GRID)
        sides = np.stack(
            [
                row % MESH_EVERY == 0,
                (col + 1) % MESH_EVERY == 0,
                (row + 1) % MESH_EVERY == 0,
                col % MESH_EVERY == 0,
            ],
            axis=1,
        )
        big, small = pix.reshape(len(pix), -1).tolist(), self.q_pix.reshape(len(pix), -1).tolist()
        colours = [tuple(c) for c in self.q_colour.tolist()]
        mesh = [[k for k in range(4) if flags[k]] for flags in sides.tolist()]
        for i in self.order.tolist():
            q = big[i]
            draw.polygon(q, fill=colours[i])
            for k in mesh[i]:
                j = (k + 1) % 4
                draw.line((q[2 * k], q[2 * k + 1], q[2 * j], q[2 * j + 1]), fill=edge, width=width)
            id_draw.polygon(small[i], fill=i + 1)
        self.ids = np.asarray(ids, dtype=np.int32)

    def _paint_minima(self, draw, s) -> None:
        """A star at each minimum inside the box and in view, as on the contour map."""
        if not self.surface.minima:
            return
        m = np.asarray(self.surface.minima, dtype=float)
        with np.errstate(all="ignore"):
            z = display_z(self.surface, self.surface.value(m), self.base, self.style)
        box = self.to_box(m[:, 0], m[:, 1], z)
        keep = np.all(np.abs(box) <= self.half * (1 + 1e-9), axis=1)
        if not keep.any():
            return
        box = box[keep]
        pix = self.cam(box)
        fill = (*raster.rgb(self.style.star_colour), 217)
        for (cx, cy), seen in zip(pix, self._visible(box, pix), strict=True):
            if seen:
                pts = raster.star_points(cx * s, cy * s, 10 * self.u * s, 4.2 * self.u * s)
                draw.polygon(pts, fill=fill, outline=(17, 17, 17, 255), width=max(s // 2, 1))

    def _axis_sides(self):
        """For each axis, the side (±1) of the pane behind the surface, away from the eye."""
        return -np.sign(np.where(self.cam.eye == 0, 1e-9, self.cam.eye))

    def _paint_axes(self, draw, s) -> None:
        hx, hy, hz = self.half
        back = self._axis_sides()
        cam = self.cam
        panes = {
            0: [(back[0] * hx, a * hy, b * hz) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))],
            1: [(a * hx, back[1] * hy, b * hz) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))],
            2: [(a * hx, b * hy, back[2] * hz) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))],
        }
        for corners in panes.values():
            pix = cam(np.array(corners)) * s
            draw.polygon([tuple(p) for p in pix], fill=PANE)
        for axis in panes:
            for value in self._ticks_box(axis):  # grid lines on the two other panes
                for other, pts in panes.items():
                    if other == axis:
                        continue
                    a, b = np.array(pts[0], dtype=float), np.array(pts[2], dtype=float)
                    p0, p1 = a.copy(), b.copy()
                    p0[axis] = p1[axis] = value
                    # the line spans the pane along the third axis
                    third = 3 - axis - other
                    p0[third], p1[third] = a[third], b[third]
                    q = cam(np.array([p0, p1])) * s
                    draw.line([tuple(q[0]), tuple(q[1])], fill=GRID_LINE, width=max(s // 2, 1))

    def _ticks(self, axis: int) -> np.ndarray:
        (x0, x1), (y0, y1) = self.window
        lo, hi = ((x0, x1), (y0, y1), self.zr)[axis]
        return raster.nice_ticks(lo, hi, 5 if axis < 2 else 4)

    def _ticks_box(self, axis: int) -> np.ndarray:
        """The ticks of ``axis`` in scene-box coordinates."""
        values = self._ticks(axis)
        (x0, _), (y0, _) = self.window
        data = [
            np.full_like(values, x0),
            np.full_like(values, y0),
            np.full_like(values, self.zr[0]),
        ]
        data[axis] = values
        return self.to_box(*data)[:, axis]

    def _label_edge(self, axis: int) -> np.ndarray:
        """The box edge along ``axis`` where its tick labels go: on the front, at the bottom."""
        hx, hy, hz = self.half
        front = -self._axis_sides()
        if axis == 0:
            return np.array([0.0, front[1] * hy, -hz])
        if axis == 1:
            return np.array([front[0] * hx, 0.0, -hz])
        # z: the vertical edge farthest left on screen
        best = None
        for sx in (-1, 1):
            for sy in (-1, 1):
                p = np.array([sx * hx, sy * hy, 0.0])
                u = self.cam(p)[0]
                if best is None or u < best[0]:
                    best = (u, p)
        return best[1]

    def _paint_labels(self, draw, s) -> None:
        u = self.u
        cam = self.cam
        tick_font = raster.scaled_font(11, u, s)
        title_font = raster.scaled_font(13, u, s)
        centre = cam(np.zeros(3))
        titles = (*axis_titles(self.surface), z_title(self.surface, self.style))
        taken: list = []  # (box, axis) of the labels drawn, not to overlap
        self.labels: list = []  # (axis, text, box in pixels) of each tick label drawn
        for axis in range(3):
            edge = self._label_edge(axis)
            values = self._ticks(axis)
            pos = self._ticks_box(axis)
            mid = cam(edge)
            if axis == 2:
                out = np.array([-1.0, 0.0])
            else:  # perpendicular to the edge on screen, away from the box's centre
                along = np.zeros(3)
                along[axis] = self.half[axis]
                e = cam(edge + along) - cam(edge - along)
                out = np.array([-e[1], e[0]])
                if out @ (mid - centre) < 0:
                    out = -out
            out = out / max(np.linalg.norm(out), 1e-9)
            for _value, label, b in zip(values, raster.tick_text(values), pos, strict=True):
                p = edge.copy()
                p[axis] = b
                q = cam(p)
                tick_end = q + out * 5 * u
                draw.line(
                    [tuple(q * s), tuple(tick_end * s)], fill=(*TEXT, 255), width=max(s // 2, 1)
                )
                t = q + out * 20 * u
                bx = draw.textbbox(tuple(t * s), label, font=tick_font, anchor="mm")
                if any(
                    bx[0] < o[2] + gap
                    and o[0] < bx[2] + gap
                    and bx[1] < o[3] + gap
                    and o[1] < bx[3] + gap
                    for o, gap in ((o, (a != axis) * LABEL_GAP * u * s) for o, a in taken)
                ):
                    continue
                taken.append((bx, axis))
                self.labels.append((axis, label, tuple(v / s for v in bx)))
                draw.text(tuple(t * s), label, fill=(*TEXT, 255), font=tick_font, anchor="mm")
            if axis == 2:  # above the top of the z axis, like a column heading
                top = edge.copy()
                top[2] = self.half[2]
                t = cam(top) + np.array([0.0, -24 * u])
                anchor = "mm"
            else:
                t = mid + out * 40 * u
                anchor = "mm"
            draw.text(tuple(t * s), titles[axis], fill=(*TEXT, 255), font=title_font, anchor=anchor)

    # moving parts -------------------------------------------------------------------
    def _visible(self, box_pts: np.ndarray, pix: np.ndarray) -> np.ndarray:
        """True where a path point is in front of (or on) the surface drawn at its pixel."""
        w, h = self.size
        ix = np.clip(np.floor(pix[:, 0]).astype(int), 0, w - 1)
        iy = np.clip(np.floor(pix[:, 1]).astype(int), 0, h - 1)
        ids = self.ids[iy, ix] - 1
        depth = self.cam.depth(box_pts)
        on_top = ids < 0
        q = np.where(on_top, 0, ids)
        return on_top | (depth <= self.q_far[q] + 0.75 * self.q_extent[q] + 1e-9)

    def mover(self, colour, points):

        pts = np.asarray(points, dtype=float)
        with np.errstate(all="ignore"):
            z = display_z(self.surface, self.surface.value(pts), self.base, self.style)
        box = self.to_box(pts[:, 0], pts[:, 1], z)
        inside = np.all(np.abs(box) <= self.half * (1 + 1e-9), axis=1) & np.isfinite(box).all(1)
        box = np.where(inside[:, None], box, np.nan)
        # cut each step into pieces about PIECE_PX long on screen
        pix = self.cam(box)
        seg = np.hypot(*np.diff(pix, axis=0).T) if len(pix) > 1 else np.zeros(0)
        cuts = np.clip(np.ceil(np.nan_to_num(seg) / PIECE_PX), 1, 400).astype(int)
        start = np.concatenate([[0], np.cumsum(cuts)])
        n = int(start[-1]) + 1
        step_of = np.repeat(np.arange(len(cuts)), cuts)
        frac = (np.arange(n - 1) - start[step_of]) / cuts[step_of]
        dense = np.empty((n, 3))
        dense[:-1] = box[step_of] + frac[:, None] * (box[step_of + 1] - box[step_of])
        dense[-1] = box[-1]
        step_of_vertex = np.append(step_of, len(cuts))
        dpix = self.cam(dense)
        finite = np.isfinite(dense).all(axis=1)
        dpix[~finite] = np.nan
        vis = np.where(self._visible(np.nan_to_num(dense), np.nan_to_num(dpix)), 1.0, HIDDEN_ALPHA)
        seg_alpha = np.minimum(vis[:-1], vis[1:])
        mover = Mover(
            self,
            dpix + self.origin,
            seg_alpha,
            start,
            colour,
            self.line_width * 1.1,
            self.dot_radius * 0.9,
        )
        mover.vertex_alpha = vis
        # no dot outside the box; after a divergence, none unless the last finite point
        # was inside it (the dot stays there, as in the contour view)
        k = np.minimum(step_of_vertex, len(pts) - 1)
        data_ok = np.isfinite(pts).all(axis=1)
        last = np.maximum.accumulate(np.where(data_ok, np.arange(len(pts)), -1))
        was_inside = (last >= 0) & inside[np.maximum(last, 0)]
        mover.offview = np.where(data_ok[k], ~finite, ~was_inside[k])
        return mover

    def point_alpha(self, mover, vertex: int) -> float:
        return float(mover.vertex_alpha[vertex])
