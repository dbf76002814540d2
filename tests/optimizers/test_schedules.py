"""Learning-rate schedules: values against their formulas, specs, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers import get_optimizer, run, schedules
from optimizers.schedules import SCHEDULE_SPECS, SCHEDULES, as_schedule, make_schedule
from surfaces import get_surface

TS = [0, 1, 2, 49, 50, 99, 100, 101, 250, 999, 1000, 5000]


def test_constant():
    s = schedules.constant(0.3)
    assert [s(t) for t in TS] == [0.3] * len(TS)


def test_step_decay():
    s = schedules.step_decay(0.8, drop=0.25, every=50)
    for t in TS:
        assert s(t) == pytest.approx(0.8 * 0.25 ** (t // 50), rel=1e-15)
    assert s(49) == 0.8 and s(50) == 0.2 and s(100) == 0.05


def test_exponential():
    s = schedules.exponential(0.8, k=0.02)
    for t in TS:
        assert s(t) == pytest.approx(0.8 * math.exp(-0.02 * t), rel=1e-15)


def test_inverse_time():
    s = schedules.inverse_time(0.8, k=0.5)
    for t in TS:
        assert s(t) == pytest.approx(0.8 / (1 + 0.5 * t), rel=1e-15)
    assert s(2) == pytest.approx(0.4, rel=1e-15)


def test_cosine():
    s = schedules.cosine(0.8, total=100, lr_min=0.1)
    assert s(0) == pytest.approx(0.8, rel=1e-15)
    assert s(50) == pytest.approx(0.45, rel=1e-15)  # halfway: the mean of the two ends
    assert s(100) == pytest.approx(0.1, rel=1e-15)
    assert s(5000) == pytest.approx(0.1, rel=1e-15)  # stays at α_min after T
    for t in TS:
        want = 0.1 + 0.5 * 0.7 * (1 + math.cos(math.pi * min(t, 100) / 100))
        assert s(t) == pytest.approx(want, rel=1e-15)


def test_warmup():
    s = schedules.warmup(0.8, steps=4)
    assert [s(t) for t in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8], rel=1e-15)
    then = schedules.warmup(0.8, steps=4, after=schedules.inverse_time(0.8, k=1.0))
    assert then(4) == pytest.approx(0.8, rel=1e-15) and then(5) == pytest.approx(0.4, rel=1e-15)


def test_every_schedule_has_a_spec_whose_defaults_build():
    assert set(SCHEDULE_SPECS) == set(SCHEDULES)
    for name, spec in SCHEDULE_SPECS.items():
        assert spec.label and spec.latex
        for p in spec.params:
            assert p.low <= p.default <= p.high, (name, p)
            assert not p.log or p.low > 0, (name, p)
            # Both ends of every slider are accepted.
            for value in (p.low, p.high):
                s = make_schedule(name, 0.5, **{p.name: value})
                assert math.isfinite(s(0)) and s(0) > 0
        s = make_schedule(name, 0.5)
        assert s(0) == pytest.approx(SCHEDULES[name](0.5)(0), rel=1e-15)


def test_make_schedule_passes_its_parameters():
    s = make_schedule("step", 1.0, drop=0.1, every=3)
    assert s(2) == 1.0 and s(3) == pytest.approx(0.1, rel=1e-15)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: schedules.constant(math.nan), "lr"),
        (lambda: schedules.constant(0.0), "lr"),
        (lambda: schedules.step_decay(-1.0), "lr"),
        (lambda: schedules.step_decay(0.1, drop=0.0), "drop"),
        (lambda: schedules.step_decay(0.1, drop=1.5), "drop"),
        (lambda: schedules.step_decay(0.1, every=0), "every"),
        (lambda: schedules.step_decay(0.1, every=2.5), "every"),
        (lambda: schedules.exponential(0.1, k=-0.1), "k"),
        (lambda: schedules.exponential(0.1, k=math.inf), "k"),
        (lambda: schedules.inverse_time(0.1, k="fast"), "k"),
        (lambda: schedules.cosine(0.1, total=0), "total"),
        (lambda: schedules.cosine(0.1, lr_min=0.2), "lr_min"),
        (lambda: schedules.warmup(0.1, steps=-5), "steps"),
        (lambda: schedules.warmup(0.1, after=3), "after"),
        (lambda: make_schedule("sawtooth", 0.1), "unknown schedule"),
        (lambda: make_schedule("cosine", 0.1, every=3), "no parameter 'every'"),
        (lambda: as_schedule(math.nan), "lr"),
        (lambda: as_schedule("fast"), "lr"),
    ],
)
def test_bad_parameters_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_rule_reads_its_schedule_at_the_step_index():
    """SGD on x² + y² with α_t from a schedule: each step's factor is 1 − 2α_t, t from 0."""
    seen = []

    def lr(t):
        seen.append(t)
        return 0.1 * (t + 1)

    traj = run(get_optimizer("sgd", lr=lr), get_surface("quadratic"), (1.0, 0.0), 3)
    assert seen == [0, 1, 2]
    want = [1.0, 1 - 2 * 0.1, (1 - 2 * 0.1) * (1 - 2 * 0.2), (0.8 * 0.6) * (1 - 2 * 0.3)]
    np.testing.assert_allclose(traj.points[:, 0], want, rtol=1e-15)
