"""The compiled path (optimizers.compiled, optimizers.fused): for every rule and surface it
covers, run() gives the pure step functions' points, losses and verdicts bit for bit; it
is taken where it applies and nowhere else; its cache directory is private."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from optimizers import compiled, get_optimizer, run
from optimizers.budget import Budget, BudgetError
from optimizers.schedules import make_schedule
from optimizers.tuning import batched_optimizer
from surfaces import SURFACES, get_surface
from surfaces.base import formulas

RULES = compiled.RULES
FORMULA_SURFACES = [name for name, s in SURFACES.items() if formulas(s) is not None]
STEPS = 300


def _ready(opt, surface):
    assert compiled.wait(opt, surface, timeout=600), (opt.name, surface.name)


def _pure(opt):
    """The same rule with no registered name: run() steps its pure functions."""
    return opt._replace(name="")


def _starts(surface, n=61):
    """Starts across the window and beyond it, with some that diverge: far out (the rule
    overshoots), beyond the divergence radius, and with a loss that overflows."""
    (x0, x1), (y0, y1) = surface.x_range, surface.y_range
    rng = np.random.default_rng(7)
    inside = rng.uniform((x0, y0), (x1, y1), (n, 2))
    outside = rng.uniform(-1, 1, (n // 4, 2)) * np.array([[3e3, 3e3]])
    special = [[2e6, 0.0], [1e200, 1e200], [0.0, 0.0], [-1e5, 1e5]]
    return np.concatenate([inside, outside, special])


def _same(a, b):
    assert np.array_equal(a.points, b.points, equal_nan=True)
    assert np.array_equal(a.losses, b.losses, equal_nan=True)
    assert np.array_equal(np.asarray(a.diverged_at), np.asarray(b.diverged_at))
    assert a.points.shape == b.points.shape and a.losses.shape == b.losses.shape
    if b.diverged_at is None or isinstance(b.diverged_at, int):
        assert a.diverged_at == b.diverged_at and type(a.diverged_at) is type(b.diverged_at)


def _lr(rule):
    """A step size large enough that some starts of the batch diverge."""
    return {"adadelta": 5.0, "adagrad": 0.5, "sgd": 1e-3, "momentum": 1e-4, "nesterov": 1e-4}.get(
        rule, 0.02
    )


@pytest.mark.parametrize("name", FORMULA_SURFACES)
@pytest.mark.parametrize("rule", RULES)
def test_fused_equals_pure_bit_for_bit(rule, name):
    surface = get_surface(name)
    opt = get_optimizer(rule, lr=_lr(rule))
    _ready(opt, surface)
    starts = _starts(surface)
    fast, pure = run(opt, surface, starts, STEPS), run(_pure(opt), surface, starts, STEPS)
    _same(fast, pure)
    verdicts = [pure.diverged_at]
    # A step so large that runs leave the disc on the way: verdicts after step 0 as well.
    wild = get_optimizer(rule, lr=1e6, **({"eps": 1.0} if rule == "adadelta" else {}))
    _ready(wild, surface)
    fast, pure = run(wild, surface, starts, STEPS), run(_pure(wild), surface, starts, STEPS)
    _same(fast, pure)
    verdicts = np.concatenate([*verdicts, pure.diverged_at])
    assert (verdicts == 0).any() and (verdicts > 0).any() and (verdicts < 0).any()
    for start in (starts[0], surface.start, starts[-4]):  # one start: shape (2,)
        _same(run(opt, surface, start, STEPS), run(_pure(opt), surface, start, STEPS))
    _same(run(opt, surface, starts[-1], 100), run(_pure(opt), surface, starts[-1], 100))


@pytest.mark.parametrize(
    "rule, hyper",
    [
        ("adam", {"eps_in_sqrt": True, "beta1": 0.5, "eps": 1e-3}),
        ("adam", {"bias_correction": False}),
        ("amsgrad", {"bias_correction": False, "eps_in_sqrt": True}),
        ("rmsprop", {"eps_in_sqrt": True, "decay": 0.5}),
        ("adagrad", {"eps_in_sqrt": True}),
        ("adadelta", {"eps_in_sqrt": False, "rho": 0.5}),
        ("nadam", {"eps_in_sqrt": True, "beta2": 0.9}),
        ("momentum", {"momentum": 0.99, "lr": 0.05}),
        ("nesterov", {"momentum": 0.5, "lr": 0.05}),
        ("sgd", {"lr": make_schedule("step", 0.002, drop=0.5, every=7)}),
        ("adam", {"lr": make_schedule("cosine", 0.05, total=150)}),
        ("nadam", {"lr": lambda t: 0.01 * (1 + (t % 3))}),  # ints and floats mixed
    ],
)
def test_fused_equals_pure_for_every_setting(rule, hyper):
    surface = get_surface("rosenbrock")
    opt = get_optimizer(rule, **hyper)
    _ready(opt, surface)
    starts = _starts(surface)
    _same(run(opt, surface, starts, STEPS), run(_pure(opt), surface, starts, STEPS))


@pytest.mark.parametrize(
    "rule, columns",
    [
        ("sgd", {"lr": [1e-4, 1e-3, 2e-3]}),
        ("momentum", {"lr": [1e-4, 1e-3, 5e-3], "momentum": [0.0, 0.5, 0.99]}),
        ("nesterov", {"lr": [1e-5, 1e-4, 1e-3], "momentum": [0.3, 0.9, 0.95]}),
        ("rmsprop", {"lr": [1e-3, 0.01, 0.1], "decay": [0.5, 0.9, 0.99]}),
        ("adagrad", {"eps": [1e-8, 1e-3, 1.0]}),
        ("adadelta", {"rho": [0.5, 0.9, 0.95]}),
        ("adam", {"lr": [1e-3, 0.02, 0.5], "eps": [1e-8, 1e-4, 0.1]}),
        ("nadam", {"lr": [1e-3, 0.02, 0.5]}),
    ],
)
def test_rows_with_their_own_values_equal_pure_bit_for_bit(rule, columns):
    """optimizers.tuning's batches (a value per row: the tuner's trials, the phase
    diagram's cells) take the fused loop, with the pure path's bits."""
    surface = get_surface("rosenbrock")
    starts = _starts(surface, 21)
    each = len(starts)
    cols = {k: np.repeat(v, each) for k, v in columns.items()}
    opt = batched_optimizer(rule, {}, cols)
    _ready(opt, surface)
    batch = np.tile(starts, (3, 1))
    broken = opt._replace(step=_no_step)  # the pure step would fail: the fused loop ran
    fast, pure = run(broken, surface, batch, STEPS), run(_pure(opt), surface, batch, STEPS)
    _same(fast, pure)
    assert (pure.diverged_at >= 0).any() and (pure.diverged_at < 0).any()


@pytest.mark.parametrize("steps", [0, 1, 5000])
def test_fused_equals_pure_at_any_length(steps):
    """No steps (the start alone), one, and more than one chunk of the loop."""
    surface, opt = get_surface("rosenbrock"), get_optimizer("adam", lr=0.003)
    _ready(opt, surface)
    starts = _starts(surface, 21)
    _same(run(opt, surface, starts, steps), run(_pure(opt), surface, starts, steps))
    _same(run(opt, surface, starts[3], steps), run(_pure(opt), surface, starts[3], steps))


def _no_step(params, state, oracle):
    raise AssertionError("the pure step ran")


def test_run_takes_the_fused_path_where_it_applies():
    """A rule whose pure step would fail still runs: run() did not call it."""
    surface, opt = get_surface("rosenbrock"), get_optimizer("adam")
    _ready(opt, surface)
    starts = _starts(surface)
    broken = opt._replace(step=_no_step)
    _same(run(broken, surface, starts, STEPS), run(_pure(opt), surface, starts, STEPS))
    _same(run(broken, surface, surface.start, 50), run(_pure(opt), surface, surface.start, 50))


@pytest.mark.parametrize(
    "case",
    [
        "noise",
        "monitor",
        "last",
        "unnamed",
        "lion",
        "mccormick",
        "minibatch",
        "array-lr",
        "rows",
    ],
)
def test_everything_else_takes_the_pure_path(case):
    surface = get_surface("mccormick" if case == "mccormick" else "rosenbrock")
    if case == "minibatch":
        surface = get_surface("logistic_moons")
    opt = get_optimizer("lion" if case == "lion" else "adam")
    if case == "array-lr":
        opt = get_optimizer("sgd", lr=lambda t: np.array([0.01, 0.02]))
    if case == "rows":  # each row its own β₁: the bias corrections 1 - β₁ᵗ are per row
        opt = batched_optimizer("adam", {}, {"beta1": np.array([0.5, 0.9])})
    _ready(get_optimizer("adam"), get_surface("rosenbrock"))
    calls = []

    def counted(params, state, oracle):
        calls.append(1)
        return opt.step(params, state, oracle)

    watched = opt._replace(step=counted, name="" if case == "unnamed" else opt.name)
    kwargs = {
        "noise": {"noise": 0.1},
        "monitor": {"monitor": lambda *a: None},
        "last": {"record": "last"},
    }.get(case, {})
    run(watched, surface, np.array([[0.5, 0.5], [-1.0, 1.0]]), 20, **kwargs)
    assert len(calls) == 20


def test_budget_stops_the_fused_loop_between_chunks():
    surface, opt = get_surface("rosenbrock"), get_optimizer("adam")
    _ready(opt, surface)
    asked = []

    def gone():
        asked.append(1)
        return len(asked) > 2

    budget = Budget(10**12, 60.0, cancelled=gone)
    with pytest.raises(BudgetError) as err:
        run(opt._replace(step=_no_step), surface, np.zeros((20_000, 2)), 2000, budget=budget)
    assert err.value.reason == "cancelled" and len(asked) == 3


def test_cache_dir_is_private(tmp_path):
    path = compiled.cache_dir({"XDG_CACHE_HOME": str(tmp_path)})
    assert path == tmp_path / "optviz" / "numba"
    for part in (path, path.parent):
        assert stat.S_IMODE(os.stat(part).st_mode) == 0o700
    # One another user could write to is never used (numba unpickles its index).
    os.chmod(path, 0o770)
    assert compiled.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) is None
    os.chmod(path, 0o700)
    os.symlink("/etc/passwd", path / "link")
    assert compiled.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) is None
    os.remove(path / "link")
    assert compiled.cache_dir({"XDG_CACHE_HOME": "relative/dir"}) is None
    os.chmod(path.parent, 0o755)
    assert compiled.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) is None


def test_cached_files_are_private():
    surface, opt = get_surface("rosenbrock"), get_optimizer("adam")
    _ready(opt, surface)
    path = compiled.cache_dir()
    files = list(path.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


# A gunicorn-like parent in a process of its own (this one may hold threads, e.g. JAX's,
# that make a fork unsafe): it builds two loops, forks while no build is under way, and
# the child takes the fused path.
_FORKING_PARENT = """
import os, sys
import numpy as np
from optimizers import compiled, get_optimizer, run
from surfaces import get_surface
surface = get_surface("booth")
assert compiled.wait(get_optimizer("adam"), surface, timeout=600)
assert compiled.wait(get_optimizer("nesterov"), surface, timeout=600)
pid = os.fork()
if pid == 0:
    opt = get_optimizer("nesterov", lr=0.01)
    ok = compiled.wait(opt, surface, timeout=600)
    broken = opt._replace(step=None)  # the pure step is never called on the fused path
    fast = run(broken, surface, np.array([[1.0, 2.0], [3e3, -1.0]]), 50) if ok else None
    pure = run(opt._replace(name=""), surface, np.array([[1.0, 2.0], [3e3, -1.0]]), 50)
    same = ok and np.array_equal(fast.points, pure.points, equal_nan=True)
    os._exit(0 if same else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_worker_takes_the_fused_path():
    """gunicorn forks its workers: a child has no builder thread of its parent's, yet
    keeps the loops its parent built."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", _FORKING_PARENT], cwd=root, timeout=900, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


# A build that holds the build lock and then needs logging's (numba's import logs) while
# the main thread forks, logging first imported after compiled (as when numba's import
# brought it in): a fork with a preexec_fn (ffmpeg's) deadlocked so, logging's handler
# holding its lock while ours waited for the build. Then a builder going from build to
# build, as a new gunicorn worker's warm-up does: a fork waits for one build, not all.
_FORK_MID_BUILD = """
import os, sys, threading, time, subprocess
import numpy as np
from optimizers import compiled, get_optimizer, run
from surfaces import get_surface
import logging
surface, opt = get_surface("booth"), get_optimizer("adam")
assert compiled.wait(opt, surface, timeout=600)
held = threading.Event()

def build():
    with compiled._next_build():
        held.set()
        time.sleep(1.0)
        logging.getLogger("a build")

threading.Thread(target=build, daemon=True).start()
held.wait()
subprocess.run(["true"], preexec_fn=lambda: None, check=True, timeout=60)

def builds():
    for _ in range(200):  # 20 s of builds of 0.1 s, back to back
        with compiled._next_build():
            held.set()
            time.sleep(0.1)

held.clear()
threading.Thread(target=builds, daemon=True).start()
held.wait()
t = time.monotonic()
pid = os.fork()
if pid == 0:
    ready = compiled.wait(opt, surface, timeout=5)
    traj = run(opt, surface, np.array([[1.0, 2.0], [0.5, -1.0]]), 30)
    pure = [run(opt, surface, np.array(p), 30).points for p in ([1.0, 2.0], [0.5, -1.0])]
    same = all(np.array_equal(traj.points[:, i], p) for i, p in enumerate(pure))
    os._exit(0 if same and ready else 3)
waited = time.monotonic() - t
_, status = os.waitpid(pid, 0)
assert waited < 2.0, waited  # one build, not the 200
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_fork_waits_for_one_build_and_never_deadlocks_on_logging():
    child = _python(_FORK_MID_BUILD)
    assert child.wait(timeout=300) == 0


# A forked job (an export) never goes on with its parent's queue: forked while the
# parent builds every loop (warm) or idle, it builds none by itself and exactly the one
# it asks for.
_FORKED_JOB = """
import os, sys
from optimizers import compiled, get_optimizer
from surfaces import get_surface
surface = get_surface("booth")

def child():
    pid = os.fork()
    if pid == 0:
        idle = compiled._worker is None and compiled._queue.empty()
        before = len(compiled._ready)
        ok = compiled.wait(get_optimizer("sgd"), surface, timeout=600)
        only = len(compiled._ready) == before + 1
        os._exit(0 if idle and ok and only and compiled._queue.empty() else 3)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)

assert compiled.wait(get_optimizer("adam"), surface, timeout=600)
assert child() == 0  # the parent idle
compiled.warm()
assert child() == 0  # the parent building
sys.exit(0)
"""

# Another process builds into the same cache while the test holds the build lock.
_WAITING_BUILDER = """
import sys
from optimizers import compiled, get_optimizer
from surfaces import get_surface
opt, surface = get_optimizer("adam"), get_surface("booth")
print(compiled.wait(opt, surface, timeout=3), flush=True)  # the lock is held: not yet
sys.stdin.readline()  # the test lets the lock go
print(compiled.wait(opt, surface, timeout=600), flush=True)
"""


# A process that exits while another holds the build lock: its builder waits for it.
_EXITING = """
import time
from optimizers import compiled
compiled.warm()
time.sleep(1.0)
"""


def _python(script: str, env: dict | None = None, **kw):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=root, env={**os.environ, **(env or {})}, **kw
    )


def test_a_forked_job_builds_only_the_loops_it_asks_for():
    child = _python(_FORKED_JOB)
    assert child.wait(timeout=900) == 0


def test_one_process_at_a_time_builds_into_a_cache(tmp_path):
    """gunicorn's two workers warm up together on a new machine: while one builds, the
    other waits for it (and then loads what it built) instead of compiling the same."""
    import fcntl
    import subprocess

    env = {"XDG_CACHE_HOME": str(tmp_path)}
    path = compiled.cache_dir(env)
    fd = os.open(path / "build.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    with _python(_WAITING_BUILDER, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 text=True) as builder:  # fmt: skip
        try:
            # A process stopping meanwhile does not wait for the lock (gunicorn's graceful
            # stop).
            assert _python(_EXITING, env).wait(timeout=30) == 0
            assert builder.stdout.readline().strip() == "False"
            assert not any(p.suffix == ".nbi" for p in path.iterdir())  # nothing built
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
            os.close(fd)
        builder.stdin.write("\n")
        builder.stdin.flush()
        assert builder.stdout.readline().strip() == "True"
        assert builder.wait(timeout=60) == 0
    assert stat.S_IMODE((path / "build.lock").stat().st_mode) == 0o600
