"""The exported phase-diagram picture: round ticks, and a key to Distill's curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers.phase import analytic, phase_diagram
from surfaces import get_surface
from viz.gif import phase as picture
from viz.gif.raster import rgb


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0.0, 0.99, [0.0, 0.2, 0.4, 0.6, 0.8]),  # momentum: not 0, 0.2475, 0.495, …
        (0.5, 0.999, [0.5, 0.6, 0.7, 0.8, 0.9]),
        (-20.0, 12.6, [-20.0, -10.0, 0.0, 10.0]),  # a colour bar of log10(f − f*)
        (0.9, 0.99, [0.9, 0.92, 0.94, 0.96, 0.98]),
    ],
)
def test_linear_ticks_are_round_numbers(lo, hi, ticks):
    np.testing.assert_allclose(picture._round_ticks(lo, hi), ticks, rtol=0, atol=1e-12)


def test_any_range_gets_three_to_seven_evenly_spaced_round_ticks_inside_it():
    rng = np.random.default_rng(0)
    for _ in range(500):
        scale = 10.0 ** rng.integers(-6, 6)  # an axis or a colour bar of any size
        lo = rng.uniform(-100, 100) * scale
        hi = lo + rng.uniform(0.5, 100) * scale
        t = picture._round_ticks(lo, hi)
        assert 3 <= len(t) <= 7, (lo, hi, t)
        span = hi - lo
        assert lo - 1e-9 * span <= t[0] and t[-1] <= hi + 1e-9 * span
        steps = np.diff(t)
        np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
        mantissa = steps[0] / 10.0 ** math.floor(math.log10(steps[0]))
        assert any(abs(mantissa / m - 1) < 1e-6 for m in (1, 2, 2.5, 5, 10)), (lo, hi, t)


def test_distills_curves_come_with_a_key_and_other_maps_use_the_room():
    x, y = "lr:1e-4:1:log", "momentum:0:0.99"
    m = phase_diagram("momentum", "ravine", x, y, cells=20, steps=100)
    an = analytic("momentum", get_surface("ravine"), m.x, m.xs, m.y, m.ys)
    assert an is not None
    with_key = np.asarray(picture.render(m, an))
    bare = np.asarray(picture.render(m))
    h = with_key.shape[0]
    row = with_key[h - picture.KEY :]  # the key's row, under the axis label
    orange, swatch = rgb(picture.CURVES["optimum"]), picture.SWATCH
    assert (np.abs(row - orange).max(axis=-1) <= 1).any()  # the optimum's ring
    assert (row == swatch).all(axis=-1).sum() > 3 * 100  # three samples' dark boxes
    assert (bare[h - picture.KEY :] == swatch).all(axis=-1).sum() < 30  # text's, no key
    # Without the key the cells reach KEY pixels lower: the map there is not white.
    below = bare[h - picture.BOTTOM - picture.KEY + 4, picture.LEFT + 10]
    assert tuple(below) != (255, 255, 255)
    assert tuple(with_key[h - picture.BOTTOM - picture.KEY + 4, picture.LEFT + 10]) == (
        255,
        255,
        255,
    )
