"""optimizers.checks: the argument checks tuning, phase diagrams and maps share."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.checks import interval, whole
from optimizers.maps import convergence_map
from optimizers.phase import phase_diagram
from optimizers.tuning import tune
from surfaces import get_surface


def test_whole_accepts_whole_numbers_in_range_and_returns_ints():
    assert whole("n", 5, 1, 10) == 5
    got = whole("n", np.int64(10), 1, 10)
    assert got == 10 and type(got) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "n must be a whole number, got True"),
        (2.0, "n must be a whole number, got 2.0"),
        ("3", "n must be a whole number, got '3'"),
        (0, "n must be between 1 and 2,000, got 0"),
        (12345, "n must be between 1 and 2,000, got 12,345"),
    ],
)
def test_whole_refuses_with_one_message(value, message):
    with pytest.raises(ValueError) as info:
        whole("n", value, 1, 2000)
    assert str(info.value) == message


def test_interval_gives_floats_and_refuses_bad_pairs():
    assert interval("w", (1, "2.5")) == (1.0, 2.5)
    for value, message in [
        ((1, 2, 3), "w must be a pair (low, high), got (1, 2, 3)"),
        (None, "w must be a pair (low, high), got None"),
        ((2, 1), "w must be finite with low < high, got (2, 1)"),
        ((0, float("inf")), "w must be finite with low < high, got (0, inf)"),
    ]:
        with pytest.raises(ValueError) as info:
            interval("w", value)
        assert str(info.value) == message


def test_tuning_and_maps_refuse_a_bad_window_in_the_same_words():
    s = get_surface("quadratic")
    with pytest.raises(ValueError, match=r"^x_range must be finite with low < high, got \(1, 0\)$"):
        convergence_map("sgd", None, s, n=4, steps=5, x_range=(1, 0))
    with pytest.raises(ValueError, match=r"^sgd\.lr range must be finite with low < high"):
        tune(["sgd"], s, s.start, 10, lr_range=(0.1, 0.01))
    with pytest.raises(ValueError, match=r"^steps must be between 1 and 2,000, got 10,000$"):
        convergence_map("sgd", None, s, n=4, steps=10_000)


@pytest.mark.parametrize(("value", "message"), [("small", "tol must be a number"), (0, "> 0")])
def test_tuning_phase_and_maps_refuse_a_bad_tolerance_in_the_same_words(value, message):
    s = get_surface("quadratic")
    calls = [
        lambda: tune(["sgd"], s, s.start, 10, tol=value),
        lambda: phase_diagram("momentum", s, "lr:0.01:0.5", "momentum:0:0.9", 4, 5, tol=value),
        lambda: convergence_map("sgd", None, s, n=4, steps=5, tol=value),
    ]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value).startswith("tol must be") and message in str(info.value)
        assert str(info.value).endswith(f"got {value!r}")
