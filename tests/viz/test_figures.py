"""Figure builders: traces, fixed ranges, kept zoom/camera, colours, layers that line up."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from optimizers import get_optimizer, run
from surfaces import SURFACES
from viz import figures
from viz.scene import RADFORD_COLOURS, Style, contour_levels, geometry, get_preset


def payload(
    surface="quadratic",
    rules=("sgd", "momentum"),
    steps=30,
    start=(-1.5, 1.2),
    style=None,
    **hyper,
):
    s = SURFACES[surface]
    style = style or Style()
    window = (s.x_range, s.y_range)
    runs = []
    for i, r in enumerate(rules):
        traj = run(get_optimizer(r, **hyper.get(r, {})), s, start, steps)
        runs.append(
            figures.trajectory_payload(
                s, traj, r, r.upper(), f"#00000{i}", window, style, momentum=r == "momentum"
            )
        )
    return s, window, runs


def plain(d: dict) -> go.Figure:
    """A per-change figure (overlays, loss): a plain JSON dict that Plotly's schema accepts.

    ``go.Figure`` validates every property (an unknown name or bad value raises) and must
    not change anything: the dict is what ``go.Figure(...).to_plotly_json()`` would send.
    """
    assert type(d) is dict and set(d) == {"data", "layout"}
    text = json.dumps(d)  # plain JSON: no numpy, no Plotly objects
    fig = go.Figure(d)
    assert json.loads(fig.to_json()) == json.loads(text)
    return fig


def roles(fig):
    return [(t.meta or {}).get("role") for t in fig.data]


def test_contour_background_levels_are_the_scenes_levels():
    s = SURFACES["quadratic"]
    style = Style(contour_levels=25)
    fig = go.Figure(figures.contour_figure(s, (s.x_range, s.y_range), style))
    c = fig.data[0]
    assert c.type == "contour" and c.contours.coloring == "lines"
    _, _, zz = geometry.grid(s, (s.x_range, s.y_range), 120)
    want = contour_levels(zz, style)
    got = np.arange(c.contours.start, c.contours.end + c.contours.size / 2, c.contours.size)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert fig.data[1].marker.symbol == "star"  # the minimum
    assert list(fig.data[1].x) == [0.0] and list(fig.data[1].y) == [0.0]


def test_log_levels_are_evenly_spaced_in_log_of_the_gap():
    s = SURFACES["rosenbrock"]
    style = Style(log_levels=True, contour_levels=30)
    fig = go.Figure(figures.contour_figure(s, (s.x_range, s.y_range), style))
    c = fig.data[0]
    _, _, zz = geometry.grid(s, (s.x_range, s.y_range), 120)
    base = geometry.floor_value(s, zz)
    want = np.log10(contour_levels(zz, style, base) - base)
    got = np.arange(c.contours.start, c.contours.end + c.contours.size / 2, c.contours.size)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_background_and_overlay_share_margins_ranges_and_uirevision():
    s, window, runs = payload()
    bg = go.Figure(figures.contour_figure(s, window, Style()))
    top = plain(figures.contour_overlay(runs, window, Style(), start=(-1.5, 1.2)))
    for f in (bg, top):
        assert f.layout.margin.to_plotly_json() == geometry.MARGIN
        assert list(f.layout.xaxis.range) == list(window[0])
        assert list(f.layout.yaxis.range) == list(window[1])
    assert bg.layout.uirevision == top.layout.uirevision == figures.uirevision_2d(window)
    assert top.layout.paper_bgcolor == top.layout.plot_bgcolor == figures.TRANSPARENT
    # no contour, no grid in the overlay: only what moves
    assert {t.type for t in top.data} == {"scatter"}


def test_overlay_traces_have_roles_and_the_runs_colours():
    _s, window, runs = payload()
    fig = plain(figures.contour_overlay(runs, window, Style(line_width=3.0), step=10))
    assert roles(fig) == ["start", "trail", "trail", "grad", "velocity", "dots", "crosses"]
    trails = [t for t in fig.data if t.meta["role"] == "trail"]
    assert [t.line.color for t in trails] == [r["colour"] for r in runs]
    assert all(t.line.width == 3.0 for t in trails)
    assert [len(t.x) for t in trails] == [11, 11]  # steps 0..10
    dots = fig.data[roles(fig).index("dots")]
    assert list(dots.marker.color) == [r["colour"] for r in runs]
    assert dots.x == (runs[0]["x"][10], runs[1]["x"][10])


def test_diverged_run_ends_at_its_last_finite_point_with_a_cross():
    _s, window, runs = payload(rules=("sgd",), steps=60, sgd={"lr": 1.5})
    r = runs[0]
    d = r["diverged_at"]
    assert d is not None and len(r["x"]) == d
    before = plain(figures.contour_overlay(runs, window, Style(), step=d - 1))
    after = plain(figures.contour_overlay(runs, window, Style(), step=d + 5))
    assert len(before.data[roles(before).index("crosses")].x) == 0
    cross = after.data[roles(after).index("crosses")]
    assert cross.x == (r["x"][-1],) and cross.y == (r["y"][-1],)
    trail = after.data[roles(after).index("trail")]
    assert len(trail.x) == d and all(np.isfinite(trail.x))


def test_surface_figures_fix_ranges_keep_the_camera_and_line_up():
    s, window, runs = payload()
    style = Style()
    bg = go.Figure(figures.surface_figure(s, window, style))
    top = plain(figures.surface_overlay(s, runs, window, style, step=5))
    assert bg.data[0].type == "surface"
    assert {t.type for t in top.data} == {"scatter3d"}
    for f in (bg, top):
        sc = f.layout.scene
        assert f.layout.uirevision == figures.uirevision_3d(style)
        assert list(sc.xaxis.range) == list(window[0]) and list(sc.yaxis.range) == list(window[1])
        assert tuple(sc.zaxis.range) == geometry.z_range(s, window, style)
        assert sc.aspectmode == "manual"
        assert sc.camera.eye.to_plotly_json() == style.camera["eye"]
    assert top.layout.scene.bgcolor == figures.TRANSPARENT
    assert top.layout.scene.xaxis.visible is False
    paths = [t for t in top.data if t.meta["role"] == "path"]
    assert [len(t.x) for t in paths] == [6, 6]
    # paths ride on the surface: z is the loss (display scale) lifted a hair
    z0, z1 = geometry.z_range(s, window, style)
    loss = s.value(np.c_[runs[0]["x"][:6], runs[0]["y"][:6]])
    np.testing.assert_allclose(paths[0].z, loss + 0.012 * (z1 - z0), rtol=1e-5, atol=1e-6)


def test_log_surfaces_are_drawn_as_log_heights():
    s = SURFACES["rosenbrock"]
    z = geometry.display_z(s, np.array([0.0, 9.0, 99.0]), 0.0)
    np.testing.assert_allclose(z, [0.0, 1.0, 2.0], rtol=1e-12)
    assert geometry.z_title(s) == "log f"


def test_gradient_arrow_points_downhill_with_a_fixed_screen_length():
    s, window, runs = payload(rules=("sgd",), steps=3)
    r = runs[0]
    g = s.grad(np.array([r["x"][0], r["y"][0]]))
    arrow = np.array([r["gdx"][0], r["gdy"][0]])
    assert np.dot(arrow, -g) > 0
    spans = np.array([np.ptp(window[0]), np.ptp(window[1])])
    assert np.hypot(*(arrow / spans)) == pytest.approx(figures.ARROW_FRACTION, rel=1e-6)


def test_loss_plot_switches_to_log_of_the_gap_when_it_spans_decades():
    s, _window, runs = payload(rules=("sgd",), steps=200, sgd={"lr": 0.1})
    fig = plain(figures.loss_figure(runs, s.min_value, Style()))
    assert fig.layout.yaxis.type == "log" and "f − f*" in fig.layout.yaxis.title.text
    assert fig.data[0].line.color == runs[0]["colour"]
    flat = [dict(runs[0], loss=[1.0, 0.9, 0.8])]
    lin = plain(figures.loss_figure(flat, None, Style()))
    assert lin.layout.yaxis.type == "linear"


def test_radford_preset_runs_keep_his_colours():
    sc = get_preset("radford-beale")
    assert {r.optimizer: r.resolved().colour for r in sc.runs} == {
        k: v for k, v in RADFORD_COLOURS.items() if k in {r.optimizer for r in sc.runs}
    }
    s = sc.get_surface()
    fig = go.Figure(figures.contour_figure(s, sc.window(), sc.style))
    assert fig.data[0].colorscale[0][1] != fig.data[0].colorscale[-1][1]
    assert fig.layout.paper_bgcolor == sc.style.background == "#ffffff"


def test_nice_ticks_are_round_and_evenly_spaced():
    for lo, hi in [(-2, 2), (-4.5, 4.5), (-1.5, 1), (0, 4.2), (0, 1e-3), (-0.5, 7.3), (3, 3.01)]:
        ticks = figures.nice_ticks(lo, hi)
        assert 3 <= len(ticks) <= 5, (lo, hi, ticks)
        gaps = np.diff(ticks)
        np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9)
        mant = gaps[0] / 10 ** np.floor(np.log10(gaps[0]))
        assert min(abs(mant - m) for m in (1, 2, 2.5, 5)) < 1e-9
    assert figures.nice_ticks(1, 1) == [] and figures.nice_ticks(0, float("inf")) == []


def test_loss_axis_autoranges_unless_capped_and_its_zoom_is_per_scene():
    """Issue 14: after the saddle (a capped linear axis) the next scene's log axis kept a
    range of its own (10⁻¹…10⁴) and hid the curves below 0.1."""
    s, _window, runs = payload(rules=("sgd",), steps=200, sgd={"lr": 0.1})
    log = plain(figures.loss_figure(runs, s.min_value, Style()))
    assert log.layout.yaxis.autorange is True and log.layout.yaxis.range is None
    down = [dict(runs[0], loss=[0.0, -5.0, -1e6])]  # a run escaping down a saddle
    capped = plain(figures.loss_figure(down, None, Style(), value_range=(-2.0, 2.0)))
    assert capped.layout.yaxis.type == "linear" and capped.layout.yaxis.autorange is not True
    lo, hi = capped.layout.yaxis.range
    assert -2.5 < lo < -2.0 and 0.0 < hi < 0.5
    assert log.layout.uirevision != capped.layout.uirevision
    # a hyperparameter change (same runs, same axis) keeps the user's zoom
    _, _, other = payload(rules=("sgd",), steps=200, sgd={"lr": 0.05})
    again = plain(figures.loss_figure(other, s.min_value, Style()))
    assert again.layout.uirevision == log.layout.uirevision


def test_the_colour_scales_are_plotlys_named_ones():
    """The GIF renderer reads the stops without Plotly (viz.scene.colours): they must be
    the very scales the screen's figures name."""
    from plotly.colors import get_colorscale

    from viz.scene import colours

    def rgb(c: str) -> tuple[int, ...]:
        if c.startswith("#"):
            return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))
        return tuple(int(v) for v in c[c.index("(") + 1 : -1].split(","))

    for name, stops in colours.COLORSCALES.items():
        theirs = get_colorscale(name)
        assert len(stops) == len(theirs), name
        for (p, c), (q, d) in zip(stops, theirs, strict=True):
            assert p == pytest.approx(q, abs=1e-12) and rgb(c) == rgb(d), (name, p)


def test_a_faded_scale_mixes_white_into_each_stop():
    from viz.scene import colours

    def rgb(c: str) -> np.ndarray:
        return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)

    for name, stops in colours.COLORSCALES.items():
        assert colours.scale(name, 0.0) == [[p, c] for p, c in stops]
        assert all(c == "#ffffff" for _, c in colours.scale(name, 1.0))
        for (p, c), (q, d) in zip(stops, colours.scale(name, 0.6), strict=True):
            assert p == q
            assert np.abs(rgb(d) - (rgb(c) + 0.6 * (255 - rgb(c)))).max() <= 0.5, (name, p)


def test_every_built_in_colour_stands_out_from_our_contour_lines():
    """Our look fades its viridis lines toward white: unfaded, Momentum's green was 5 ΔE
    from a level line's (himmelblau-basins' trail vanished into its basin's rings)."""
    from optimizers import OPTIMIZERS
    from optimizers.colours import DISTINCT, delta_e
    from viz.gif import contour, raster
    from viz.scene.model import OUR_COLORSCALE, OUR_LINE_FADE, our_style

    style = our_style()
    assert (style.colorscale, style.line_fade) == (OUR_COLORSCALE, OUR_LINE_FADE)
    n = style.contour_levels

    def line_colours(fade: float) -> list[str]:
        """The level lines' colours as the GIF draws them: a ramp crossing every level."""
        t = np.tile(np.linspace(0, n - 1, 40 * (n - 1) + 1), (3, 1))  # each level hit exactly
        picture = contour.draw_levels(t, n, style.colorscale, 3.0, (255, 255, 255), fade)
        on_line = np.abs(t - np.rint(t)) < 1e-9
        return sorted({hex_of(c) for c in picture[on_line]})

    faded, plain = line_colours(style.line_fade), line_colours(0.0)
    stops = raster.sample_scale(style.colorscale, (np.arange(n) + 1) / (n + 1), OUR_LINE_FADE)
    assert faded == sorted({hex_of(c) for c in np.rint(stops).astype(int)})
    closest = {r: min(delta_e(OPTIMIZERS[r].colour, c) for c in faded) for r in OPTIMIZERS}
    assert min(closest.values()) >= DISTINCT, closest
    assert min(delta_e(OPTIMIZERS["momentum"].colour, c) for c in plain) < 10  # why it fades

    # the screen draws the same lines: the figure's scale is the faded one, Radford's is not
    sc = get_preset("himmelblau-basins")
    fig = figures.contour_figure(sc.get_surface(), sc.window(), sc.style)
    assert fig["data"][0]["colorscale"] == colours_scale(OUR_COLORSCALE, OUR_LINE_FADE)
    rb = get_preset("radford-beale")
    fig = figures.contour_figure(rb.get_surface(), rb.window(), rb.style)
    assert fig["data"][0]["colorscale"] == colours_scale("Jet", 0.0)


def hex_of(rgb) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def colours_scale(name: str, fade: float) -> list:
    from viz.scene import colours

    return colours.scale(name, fade)


def test_a_preset_with_a_camera_of_its_own_turns_the_3d_view_to_it():
    """Plotly keeps a turned camera while the uirevision stays: with one constant for every
    scene, a user who had turned Beale's view saw Radford's saddle from there, not 45°/45°."""
    key = {
        n: figures.uirevision_3d(get_preset(n).style)
        for n in ("radford-beale", "radford-saddle", "radford-long-valley")
    }
    assert key["radford-beale"] == key["radford-long-valley"] != key["radford-saddle"]
    sc = get_preset("radford-saddle")
    s, window = sc.get_surface(), sc.window()
    bg = figures.surface_figure(s, window, sc.style)
    top = figures.surface_overlay(s, [], window, sc.style, step=0)
    assert bg["layout"]["uirevision"] == top["layout"]["uirevision"] == key["radford-saddle"]
