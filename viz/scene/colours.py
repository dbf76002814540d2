"""The colour scales a scene's style may name, as stops, read by the Plotly figures and
the GIF renderer alike (so a GIF looks like the screen without importing Plotly).

The stops are the named scales of Plotly's colour library (Jet, Viridis, RdBu_r);
tests/viz/test_figures.py checks them against it.
"""

from __future__ import annotations

from optimizers.colours import rgb_of

COLORSCALES: dict[str, tuple[tuple[float, str], ...]] = {
    "Jet": (
        (0.0, "#000083"),
        (0.2, "#003caa"),
        (0.4, "#05ffff"),
        (0.6, "#ffff00"),
        (0.8, "#fa0000"),
        (1.0, "#800000"),
    ),
    "Viridis": tuple(
        (i / 9, c)
        for i, c in enumerate(
            (
                "#440154",
                "#482878",
                "#3e4989",
                "#31688e",
                "#26828e",
                "#1f9e89",
                "#35b779",
                "#6ece58",
                "#b5de2b",
                "#fde725",
            )
        )
    ),
    "RdBu_r": tuple(
        (i / 10, c)
        for i, c in enumerate(
            (
                "#053061",
                "#2166ac",
                "#4393c3",
                "#92c5de",
                "#d1e5f0",
                "#f7f7f7",
                "#fddbc7",
                "#f4a582",
                "#d6604d",
                "#b2182b",
                "#67001f",
            )
        )
    ),
}


def scale(name: str, fade: float = 0.0) -> list[list]:
    """The stops of the scale ``name`` as Plotly takes them: ``[[position, colour], ...]``,
    each colour mixed with the share ``fade`` of white."""
    try:
        stops = COLORSCALES[name]
    except KeyError:
        raise ValueError(
            f"unknown colour scale {name!r}; choose one of: {', '.join(COLORSCALES)}"
        ) from None
    return [[p, _towards_white(c, fade) if fade else c] for p, c in stops]


def _towards_white(colour: str, fade: float) -> str:
    """``#rrggbb`` with the share ``fade`` (0..1) of white mixed in."""
    return "#" + "".join(f"{round(v + (255 - v) * fade):02x}" for v in rgb_of(colour))
