"""When run() takes the compiled path: one fused loop per (rule, surface), built with numba
(``optimizers.fused``), giving the pure path's points, losses and verdicts bit for bit.

It applies to the registered per-coordinate rules (sgd, momentum, nesterov, rmsprop,
adagrad, adadelta, adam, amsgrad, nadam; any learning rate or schedule) on a surface
whose f and df are Formulas (surfaces.base), recording every step, without noise or a
monitor. Everything else takes the pure path, and so does a run whose loop is not ready.

run() never waits for a compiler: it uses a loop that is ready and otherwise asks for it
in a background thread, taking the pure path meanwhile (the results are the same). The
app calls :func:`warm` at start-up so that its first request finds every loop ready.
Compiled loops are kept on disk in a private directory (:func:`cache_dir`): a new
process loads all 81 in about a second; only a new machine (or new code) compiles them,
once (95–120 s of CPU).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import logging  # noqa: F401 - before our fork handler: see _before_fork
import os
import queue
import stat
import threading
import time
from pathlib import Path

import numpy as np

from optimizers.base import OPTIMIZERS, Optimizer
from surfaces.base import formulas

AVAILABLE = importlib.util.find_spec("numba") is not None

# The built-in rules with a fused loop (optimizers.fused.UPDATES has their updates).
RULES = (
    "sgd",
    "momentum",
    "nesterov",
    "rmsprop",
    "adagrad",
    "adadelta",
    "adam",
    "amsgrad",
    "nadam",
)


def _eps(h: dict) -> tuple[float, float]:
    """(e_in, e_out) of √(c + e_in) + e_out: the rule's ε where it goes, 0.0 elsewhere."""
    return (h["eps"], 0.0) if h["eps_in_sqrt"] else (0.0, h["eps"])


def _numbers(rule: str, h: dict) -> list[float]:
    """The rule's fixed numbers, as its factory makes them (``1 - β`` in Python floats)."""
    if rule in ("momentum", "nesterov"):
        return [h["momentum"]]
    if rule == "rmsprop":
        return [h["decay"], 1 - h["decay"], *_eps(h)]
    if rule == "adagrad":
        return [*_eps(h)]
    if rule == "adadelta":
        return [h["rho"], 1 - h["rho"], *_eps(h)]
    if rule in ("adam", "amsgrad", "nadam"):
        return [h["beta1"], h["beta2"], 1 - h["beta1"], 1 - h["beta2"], *_eps(h)]
    return []


def _per_step(rule: str, h: dict, alpha: list[float], t0: int) -> np.ndarray:
    """Rows (α_t, bias corrections) of steps t0 … t0 + len(alpha) - 1, as the rule's step
    computes them (Python floats: ``1 - β**t`` with t counted from 1)."""
    c = np.ones((len(alpha), 4))
    c[:, 0] = alpha
    if rule in ("adam", "amsgrad") and h["bias_correction"]:
        b1, b2 = h["beta1"], h["beta2"]
        c[:, 1] = [1 - b1**t for t in range(t0 + 1, t0 + len(alpha) + 1)]
        c[:, 2] = [1 - b2**t for t in range(t0 + 1, t0 + len(alpha) + 1)]
    elif rule == "nadam":
        b1, b2 = h["beta1"], h["beta2"]
        c[:, 1] = [1 - b1 ** (t + 1) for t in range(t0 + 1, t0 + len(alpha) + 1)]
        c[:, 2] = [1 - b1**t for t in range(t0 + 1, t0 + len(alpha) + 1)]
        c[:, 3] = [1 - b2**t for t in range(t0 + 1, t0 + len(alpha) + 1)]
    return c


# The β's of the bias corrections: one value for all rows (1 - β**t is computed per step
# for all rows at once; a column of them takes the pure path).
_SHARED = {"beta1", "beta2"}


def _number(v) -> bool:
    return v.__class__ in (float, int, bool)


def _column(v) -> bool:
    """A column of per-row values as optimizers.tuning gives them: floats, shape (B, 1)."""
    return isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 2 and v.shape[1] == 1


def rule_of(opt: Optimizer) -> str | None:
    """The rule name if ``opt`` is a registered rule the fused loops cover, else None."""
    info = OPTIMIZERS.get(opt.name) if opt.name in RULES else None
    factory = getattr(info, "factory", None)
    # The registry's entry is still the built-in factory of that name (optimizers/<name>.py)
    if getattr(factory, "__module__", "") != f"optimizers.{opt.name}" or opt.hyper is None:
        return None
    # One number per hyperparameter, or one per row (optimizers.tuning's columns).
    others = all(
        _number(v) or (_column(v) and k not in _SHARED) for k, v in opt.hyper.items() if k != "lr"
    )
    lr = opt.hyper.get("lr")
    return opt.name if others and (_number(lr) or _column(lr) or callable(lr)) else None


def rows(opt: Optimizer) -> int | None:
    """How many rows ``opt``'s columns are for (None: no column, any batch)."""
    sizes = {len(v) for v in (opt.hyper or {}).values() if _column(v)}
    return sizes.pop() if sizes else None


def learning_rates(lr, steps: int) -> list[float] | None:
    """α_t for t < steps as the rule sees them, or None where a value is not a plain number
    (a schedule giving arrays: the pure path's broadcasting is its own business). A column
    of rates (each row its own) gives ones: the loop reads each row's from the plan."""
    if _column(lr):
        return [1.0] * steps
    if not callable(lr):
        return [float(lr)] * steps
    alpha = [lr(t) for t in range(steps)]
    if all(a.__class__ in (float, int, np.float64) for a in alpha):
        return [float(a) for a in alpha]
    return None


class Plan:
    """One run on the fused loop: the loop, the rule's numbers (a row, or one per row of
    the batch), its rates where each row has its own, the surface's numbers."""

    def __init__(self, loop, rule: str, hyper: dict, params: tuple[float, ...]):
        self.loop, self.rule, self.hyper = loop, rule, hyper
        numbers = _numbers(rule, hyper)  # floats, or columns (B, 1): 1 - β per row as numpy does
        n = max((len(v) for v in numbers if isinstance(v, np.ndarray)), default=1)
        self.h = np.zeros((n, 6))
        for j, v in enumerate(numbers):
            self.h[:, j] = np.ravel(v)
        self.hstride = int(n > 1 or any(isinstance(v, np.ndarray) for v in numbers))
        lr = hyper["lr"]
        self.lr = np.ravel(lr).copy() if _column(lr) else np.zeros(1)
        self.lstride = int(_column(lr))
        self.sp = np.zeros(3)
        self.sp[: len(params)] = params

    def args(self) -> tuple:
        """The loop's arguments before the per-step numbers."""
        return self.sp, self.h, self.hstride, self.lr, self.lstride

    def per_step(self, alpha: list[float], t0: int) -> np.ndarray:
        return _per_step(self.rule, self.hyper, alpha, t0)


def _key(opt: Optimizer, surface) -> tuple | None:
    """(rule, value fn, grad fn) of a run a fused loop could take, else None."""
    rule = rule_of(opt)
    form = formulas(surface) if rule is not None else None
    if form is None or len(form[2]) > 3 or not AVAILABLE:
        return None
    return rule, form[0], form[1]


def plan(opt: Optimizer, surface) -> Plan | None:
    """The fused loop for this rule and surface if it is ready, else None (and the loop is
    asked for in the background where it could exist)."""
    key = _key(opt, surface)
    loop = None if key is None else _ready.get(key)
    if loop is None:
        if key is not None:
            _ask(key)
        return None
    return Plan(loop, key[0], opt.hyper, surface.f.params)


def wait(opt: Optimizer, surface, timeout: float | None = None) -> bool:
    """Ask for the loop of this rule and surface and wait until it is built; whether run()
    now takes the fused path for them (False where it does not apply)."""
    key = _key(opt, surface)
    if key is None:
        return False
    _ask(key)
    _asked[key].wait(timeout)
    return key in _ready


def warm(block: bool = False) -> None:
    """Load (or compile, on a new machine) every rule's loop on every Formula surface of
    the registry, in the background thread; ``block``: return once all are ready."""
    if not AVAILABLE:
        return
    from surfaces import SURFACES

    keys = []
    for surface in SURFACES.values():
        form = formulas(surface)
        if form is not None:
            keys += [(rule, form[0], form[1]) for rule in RULES]
    for key in dict.fromkeys(keys):
        _ask(key)
    _ask(_PAGES)
    if block:
        _queue.join()


# The warm-up's last item: one batch's worth of memory (128 MB, the 120 MB of a 10,000 ×
# 500 run and then some) touched and freed. A process's first big arrays cost the kernel
# far more than later ones (fresh huge pages, compacted on a busy machine: 90–220 ms of
# system time against ~20 ms on this VM); paying that at start-up keeps it out of the
# first request. What a run allocates is unchanged.
_PAGES = "pages"


def _touch_pages() -> None:
    np.ones(16 << 20)


_ready: dict = {}  # (rule, value fn, grad fn) -> compiled loop
_asked: dict = {}  # key -> Event set once its loop is built (or failed to build)
_queue: queue.Queue = queue.Queue()
_lock = threading.Lock()
_building = threading.Lock()  # held while numba is imported or builds a loop
_worker: threading.Thread | None = None
_stopping = threading.Event()
_fork_waiting = threading.Event()  # a fork waits for _building: the builder lets it in first


def _before_fork() -> None:
    """Wait for the build in progress and hold _building across the fork: a child would
    inherit numba's import or compiler lock held for good (and the locks of the modules
    it imports). The builder lets a waiting fork in before its next build (a lock does
    not queue its waiters: an export forked as a new gunicorn worker warmed up waited for
    the whole warm-up). Fork handlers run in reverse order of registration, so logging's,
    imported above, runs after this one: numba's import, which logs, got stuck on the
    lock logging's handler held (a script spawning ffmpeg with a preexec_fn mid-import)."""
    _fork_waiting.set()
    _building.acquire()
    _fork_waiting.clear()


def _after_fork_in_parent() -> None:
    _building.release()


def _next_build() -> threading.Lock:
    """_building, once no fork waits for it (the builder's side of ``_before_fork``)."""
    while _fork_waiting.is_set():
        time.sleep(0.001)
    return _building


def _after_fork_in_child() -> None:
    """A forked process has no worker thread: start afresh with the loops already built.
    It asks for no other: a job forked for an export would otherwise build every loop its
    parent had not, at the parent's priority, for the minute it lives. What it runs asks
    for its own loops (``plan``); gunicorn's workers ask for all (``warm``)."""
    global _queue, _lock, _worker
    _building.release()
    _asked.clear()
    _asked.update({key: threading.Event() for key in _ready})
    for event in _asked.values():
        event.set()
    _queue, _lock, _worker = queue.Queue(), threading.Lock(), None


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)


def _ask(key) -> None:
    global _worker
    with _lock:
        if key in _asked:
            return
        _asked[key] = threading.Event()
        _queue.put(key)
        if _worker is None:
            _worker = threading.Thread(target=_work, name="optviz-compile", daemon=True)
            _worker.start()
            atexit.register(_stop)


def _stop() -> None:
    """At exit: finish the loop being built (a thread killed inside the compiler can crash
    the interpreter's shutdown), skip the rest."""
    _stopping.set()
    _queue.put(None)  # wakes the worker if it waits
    if _worker is not None:
        _worker.join()


def _work() -> None:
    with _next_build():  # a fork waits for numba's import too: its child would get half a module
        try:
            import optimizers.fused as fused
        except Exception:  # numba installed but unusable here: runs stay on the pure path
            fused = None
        directory = cache_dir() if fused is not None else None
        if fused is not None:
            fused.use_cache(directory)
    while True:
        key = _queue.get()
        if key is None:
            return
        try:
            if key == _PAGES:
                with _next_build():
                    _touch_pages()
            elif fused is not None and not _stopping.is_set():
                with _one_builder(directory) as mine:
                    if mine:
                        with _next_build():
                            _ready[key] = _build(fused, *key)
        except Exception:  # a loop numba cannot build: its runs stay on the pure path
            pass
        finally:
            if directory is not None and key != _PAGES:
                fused.private_files(directory)
            _asked[key].set()
            _queue.task_done()


# How often a builder asks again for the build lock another process holds.
LOCK_POLL_S = 0.02


@contextlib.contextmanager
def _one_builder(directory: Path | None):
    """Hold the cache directory's build lock (yields True), so that one process builds at
    a time and a loop another process (gunicorn's other worker) has just built is loaded,
    not built again: on a new machine two workers had each compiled every loop at once,
    both cores busy for minutes, and an export job (it only gets idle CPU) stood still.
    Yields False, having built nothing, if this process stops meanwhile: its exit never
    waits on another process. A POSIX lock: a forked child does not inherit it."""
    if directory is None:
        yield True
        return
    fd = os.open(directory / "build.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:  # another process builds
                if _stopping.wait(LOCK_POLL_S):
                    yield False
                    return
        try:
            yield True
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _build(fused, rule: str, value_fn, grad_fn):
    """The loop, loaded or compiled by running it once on one start for one step."""
    import numba

    value, grad = (numba.njit(error_model="numpy")(f) for f in (value_fn, grad_fn))
    loop = fused.kernel(rule, value, grad)
    numbers = (np.zeros(3), np.zeros((1, 6)), 0, np.zeros(1), 0, np.ones((1, 4)))
    steps, start = 0, np.zeros((8, 1))
    loop(*numbers, steps, *start, np.zeros((2, 2)), np.zeros((2, 1)), np.zeros(1, np.int64), 1.0)
    return loop


def cache_dir(environ=os.environ) -> Path | None:
    """``$XDG_CACHE_HOME/optviz/numba`` (``~/.cache/…``), made private (0700) if new; None
    (compile in memory) if it, or a parent optviz made, is not this user's alone: numba
    unpickles its index, so a directory another user could write is never read."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    path = Path(base) / "optviz" / "numba"
    try:
        os.makedirs(base, exist_ok=True)
        for part in (path.parent, path):
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700)
            info = os.lstat(part)
            private = stat.S_IMODE(info.st_mode) & 0o077 == 0
            if not (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and private):
                return None
        with os.scandir(path) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                    return None
    except OSError:
        return None
    return path
