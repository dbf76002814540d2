"""optimizers.memory: glibc's thresholds, set so batch temporaries reuse freed heap."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from optimizers import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A 10,000-start Adam batch, stepped by hand (no run(): its path array is fresh memory by
# design), 100 steps after 5 of warm-up; prints whether the allocator was tuned and the
# minor page faults of those 100 steps. With the argument "tune" it calls memory.tune().
FAULTS = """
import resource, sys
import numpy as np
import optimizers
from optimizers import get_optimizer
if sys.argv[1:] == ["tune"]:
    optimizers.memory.tune()  # what the app and the command line do at start-up
from surfaces import get_surface
s, opt = get_surface("rosenbrock"), get_optimizer("adam", lr=0.01)
x = np.random.default_rng(0).uniform((-2, -1), (2, 3), (10_000, 2))
state = opt.init(x)
for t in range(105):
    if t == 5:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x, state = opt.step(x, state, s)
print(optimizers.memory.applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(tune: bool = True, **env) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    clean.pop("OPTVIZ_MALLOC", None)
    out = subprocess.run(
        [sys.executable, "-c", FAULTS, *(["tune"] if tune else [])],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(memory.__file__)),
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_batch_steps_reuse_freed_memory_instead_of_faulting_pages_in():
    # Each step makes ~a dozen 160 KB temporaries. glibc's defaults serve them with mmap and
    # munmap, so every step faults their pages in again (~40 a temporary); tuned, the
    # heap the last step freed is reused.
    tuned, faults = _faults()
    default, default_faults = _faults(OPTVIZ_MALLOC="0")
    assert (tuned, default) == ("True", "False")
    assert default_faults > 100 * 40  # the cost being removed: pages of every step
    assert faults < 100  # a few stray pages, not a page of every temporary


@pytest.mark.parametrize(
    "env",
    [{"OPTVIZ_MALLOC": "0"}, {"MALLOC_TRIM_THRESHOLD_": "1000000"}, {"GLIBC_TUNABLES": "x=1"}],
)
def test_a_users_own_malloc_settings_are_left_alone(env):
    assert _faults(**env)[0] == "False"


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_importing_optimizers_leaves_the_allocator_alone():
    # A library must not retune its host: without a call to tune(), the same batch pays
    # glibc's default page faults, as a process that never imported optimizers would.
    applied, faults = _faults(tune=False)
    assert applied == "False"
    assert faults > 100 * 40
