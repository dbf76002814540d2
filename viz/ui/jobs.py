"""Background export jobs: the diskcache the jobs talk through, their manager, the slots.

The export runs as a Dash *background* callback (``DiskcacheManager``): the render happens
in its own process and its progress and result go through a disk cache, so any gunicorn
worker can answer the browser's polls. At most ``OPTVIZ_EXPORT_JOBS`` (2) exports render
at once per machine (``ExportSlots``, kept in the same cache).

Many users (``OptvizDiskcacheManager``, ``GuardedCache``): a job is forked only while no
thread of its worker is inside the cache (else it inherits SQLite's lock and can never
write), runs at ``nice +10`` under ``SCHED_IDLE`` so interactive callbacks keep the CPU,
and a job process that vanishes is simply gone (no psutil error reaches a poll).
``make_manager`` never waits on a cache another process keeps locked: it moves to a fresh
directory and says so in the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading

import diskcache
import psutil
from dash import DiskcacheManager

MAX_JOBS = int(os.environ.get("OPTVIZ_EXPORT_JOBS", "2"))
SLOT_TTL = 15 * 60  # seconds: a slot whose job vanished without a trace frees itself


def cache_dir() -> str:
    """Where the background jobs' results, progress and slots live (shared by workers)."""
    return os.environ.get("OPTVIZ_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "optviz-cache")


CACHE_TIMEOUT = 10.0  # s: SQLite busy wait of one cache operation (they take ms)
LOCK_PROBE_S = 3.0  # s: how long make_manager waits for a locked cache before moving on
JOB_NICE = int(os.environ.get("OPTVIZ_EXPORT_NICE", "10"))  # export jobs yield the CPU
JOB_IDLE = os.environ.get("OPTVIZ_EXPORT_IDLE", "1") != "0"  # SCHED_IDLE where there is one

log = logging.getLogger("optviz")

# Held by every cache operation in this process and by the fork that starts an export
# job. SQLite keeps its lock bookkeeping per process: a job forked while another thread of
# its gunicorn worker was inside a cache write inherited "a connection of this process
# holds the write lock" for good, so its first write waited the busy timeout out and
# failed (the load benchmark's 14 diskcache Timeouts). Forking only while no thread is
# inside SQLite makes the child's copy clean.
_FORK_GUARD = threading.RLock()


def _probe(directory: str) -> str | None:
    """Why the cache in ``directory`` cannot be used now (``None``: it can)."""
    import sqlite3

    db = os.path.join(directory, "cache.db")
    if not os.path.exists(db):
        return None
    try:
        con = sqlite3.connect(db, timeout=LOCK_PROBE_S, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")  # waits up to LOCK_PROBE_S for a writer
            con.execute("ROLLBACK")
        finally:
            con.close()
    except sqlite3.Error as exc:  # locked (a stale process holds it) or not a database
        return f"{type(exc).__name__}: {exc}"
    return None


def make_manager(directory: str | None = None):
    """The app's background callback manager: a ``DiskcacheManager`` on ``cache_dir()``.

    Returns within a few seconds whatever is on disk: a cache that another process keeps
    locked (a stale worker of an earlier server) or that is not a database is left alone
    and a fresh private directory is used instead, with a warning in the log; diskcache's
    own set-up would otherwise wait on it (60 s per statement, again and again).
    """
    directory = directory or cache_dir()
    why = _probe(directory)
    if why is not None:
        fresh = tempfile.mkdtemp(prefix="optviz-cache-")
        log.warning("export cache %s is unusable (%s); using %s", directory, why, fresh)
        directory = fresh
    return OptvizDiskcacheManager(GuardedCache(directory, timeout=CACHE_TIMEOUT))


class GuardedCache(diskcache.Cache):
    """A ``diskcache.Cache`` whose operations exclude the fork of an export job."""

    @contextlib.contextmanager
    def _transact(self, retry=False, filename=None):
        with _FORK_GUARD, super()._transact(retry, filename) as handles:
            yield handles

    def get(self, *args, **kwargs):
        with _FORK_GUARD:
            return super().get(*args, **kwargs)


def _run_job(job_fn, *args) -> None:
    """An export job's process: a fresh guard, a lower CPU priority, then Dash's job."""
    global _FORK_GUARD
    _FORK_GUARD = threading.RLock()  # the parent's was held (by the forking thread)
    with contextlib.suppress(OSError):
        os.nice(JOB_NICE)  # interactive callbacks first; a GIF may take a little longer
    if JOB_IDLE and hasattr(os, "SCHED_IDLE"):
        # Linux: only CPU time no callback wants. On an idle server an export runs at full
        # speed; while a classroom drags sliders, the sliders win (nice +10 still left
        # export jobs ~10 % of each core, ~5 ms of every recompute under the load test).
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    job_fn(*args)


_POLL = threading.local()  # per request thread: the job a poll just saw running


class OptvizDiskcacheManager(DiskcacheManager):
    """Dash's ``DiskcacheManager`` where a job process that vanishes is just gone.

    Dash's own checks ask psutil about a job's pid twice (exists? then its children or
    status); a job that exits between the two raised ``NoSuchProcess`` into the poll's
    answer (6 tracebacks in the load benchmark), and killing a finished job held the
    cache's write lock for up to a second while waiting for it to die.
    """

    def call_job_fn(self, key, job_fn, args, context):
        from multiprocess import Process, active_children

        active_children()  # reap finished jobs of this worker (no zombies pile up)
        process = Process(
            target=_run_job, args=(job_fn, key, self._make_progress_key(key), args, context)
        )
        with _FORK_GUARD:
            process.start()
        return process.pid

    def terminate_job(self, job):
        if not job:
            return
        try:
            process = psutil.Process(int(job))
            family = [*process.children(recursive=True), process]
        except (psutil.Error, ValueError, TypeError):
            return  # already gone
        for proc in family:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        with contextlib.suppress(Exception):
            from multiprocess import active_children

            active_children()  # reap it if it was ours

    def job_running(self, job):
        if job and getattr(_POLL, "running", None) == job:
            # This poll found no result while the job ran: say so again, even if the job
            # has written its result and exited since. Dash asks twice (get_result, then
            # job_running); "gone without a result" in between would answer 204 and drop
            # a finished GIF. The next poll finds the result.
            _POLL.running = None
            return True
        return _alive(job)

    def terminate_unhealthy_job(self, job):
        if job and not self.job_running(job):
            self.terminate_job(job)
            return True
        return False

    def get_result(self, key, job):
        _POLL.running = None
        result = super().get_result(key, job)
        if result is self.UNDEFINED and job:
            if self.job_running(job):
                _POLL.running = job  # Dash's next question, in this request
            else:
                # The job may have written its result and exited since the first look:
                # Dash would call it cancelled (an empty 204) and drop a finished GIF.
                result = super().get_result(key, job)
        return result


# ----------------------------------------------------------------------------- slots


def _alive(pid) -> bool:
    """Whether ``pid`` runs (a process that vanishes between two checks is just gone)."""
    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, TypeError, ValueError):
        return False


class ExportSlots:
    """At most ``limit`` exports at once, counted in a diskcache shared by all processes.

    A slot holds the pid of the process rendering; a slot whose process is gone (killed
    mid-way) is taken over, and every slot expires after ``SLOT_TTL`` as a last resort.
    """

    def __init__(self, cache, limit: int = MAX_JOBS, prefix: str = "optviz-export-slot"):
        self.cache = cache
        self.limit = limit
        self.prefix = prefix

    def acquire(self) -> str | None:
        pid = os.getpid()
        for i in range(self.limit):
            key = f"{self.prefix}-{i}"
            if self.cache.add(key, pid, expire=SLOT_TTL):
                return key
            with self.cache.transact():
                holder = self.cache.get(key)
                if holder is None or not _alive(holder):
                    self.cache.set(key, pid, expire=SLOT_TTL)
                    return key
        return None

    def release(self, key: str | None) -> None:
        """Free the slot; if the cache stays locked, it frees itself when this job exits."""
        if key is None:
            return
        try:
            with self.cache.transact():
                if self.cache.get(key) == os.getpid():
                    self.cache.delete(key)
        except diskcache.Timeout:
            log.warning("export slot %s not released (cache locked); freed when job exits", key)

    def busy(self) -> int:
        return sum(
            1
            for i in range(self.limit)
            if (h := self.cache.get(f"{self.prefix}-{i}")) is not None and _alive(h)
        )
