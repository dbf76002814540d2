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

Security (issue 15): diskcache unpickles whatever it reads, so whoever can write the
cache runs code as the server. The cache is therefore private: by default a fresh
``mkdtemp`` folder per server (the gunicorn master makes it before forking, the workers
share it), folder 0700 and files 0600; a folder named by ``OPTVIZ_CACHE_DIR`` that is a
symlink, someone else's, or group/world-writable is refused (``UnsafeCacheDir``, one
line). Dash's signing secret never goes through the cache (``signing_secret``), and a
cancel only ever stops a job process this server forked (``job_record_key``).

Many machines (issue 19): when ``OPTVIZ_REDIS_URL`` is set, ``make_manager`` returns an
``OptvizCeleryManager`` instead (Dash's ``CeleryManager`` on that Redis, broker and result
store both): jobs run in Celery workers (``celery -A viz.ui.worker worker``), progress and
results (the GIF, base64 in Dash's JSON answer) live in Redis with an expiry, so any web
process on any machine can start, poll, cancel and download any job, and a web process
killed mid-job loses nothing. Nothing read back from Redis is unpickled: Dash writes and
reads its results with ``json``, and Celery is held to ``json`` for its task messages and
results (``celery_app``). The Redis must still be private to the deployment: whoever can
write it can queue the app's tasks. The slots are Redis keys (``RedisExportSlots``), and
``OPTVIZ_SECRET_KEY`` is required (the web processes must sign handles alike).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Callable

import diskcache
import psutil
from dash import CeleryManager, DiskcacheManager

MAX_JOBS = int(os.environ.get("OPTVIZ_EXPORT_JOBS", "2"))
SLOT_TTL = 15 * 60  # seconds: a slot whose job vanished without a trace frees itself
# an export job is killed past this, before its slot expires (Celery's time limit; a
# forked job's SIGALRM)
JOB_TIME_LIMIT = SLOT_TTL - 60


MIN_SECRET_CHARS = 32
JOB_RECORD_TTL = 24 * 3600  # s: how long the record of a started job is kept
_DEFAULT_DIR: str | None = None  # this server's own cache folder, made on first use
_SECRET: bytes | None = None


class UnsafeCacheDir(RuntimeError):
    """The cache folder could be written by someone else: the server must not start."""


class Misconfigured(ValueError, RuntimeError):
    """A setting the server must not start with (one line). A ``ValueError`` for
    ``app.main`` and the worker, a ``RuntimeError`` so gunicorn prints just the line."""


def cache_dir() -> str:
    """Where the background jobs' results, progress and slots live (shared by workers).

    ``OPTVIZ_CACHE_DIR`` if set (checked by ``make_manager``), else a private folder made
    once per process with ``mkdtemp`` (unguessable, 0700) and removed when it exits.
    """
    global _DEFAULT_DIR
    if os.environ.get("OPTVIZ_CACHE_DIR"):
        return os.environ["OPTVIZ_CACHE_DIR"]
    if _DEFAULT_DIR is None or not os.path.isdir(_DEFAULT_DIR):
        _DEFAULT_DIR = tempfile.mkdtemp(prefix="optviz-cache-")
        atexit.register(_remove_if_mine, _DEFAULT_DIR, os.getpid())
    return _DEFAULT_DIR


def _remove_if_mine(directory: str, pid: int) -> None:
    # gunicorn workers inherit the master's exit hooks: only the creator removes the folder
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


def _refuse(path: str, why: str) -> UnsafeCacheDir:
    return UnsafeCacheDir(
        f"optviz: refusing the export cache {path}: {why} (set OPTVIZ_CACHE_DIR to a "
        "folder only this user can write, or unset it for a private one)"
    )


def check_private_dir(path: str) -> str:
    """Make ``path`` (0700) if missing; raise ``UnsafeCacheDir`` unless only we can write it.

    Refused: a symlink, not a folder, owned by another user, group/world-writable; the same
    for the cache's own files (``cache.db`` and its WAL/SHM); a parent folder others may
    write without the sticky bit (they could swap the folder for their own).
    """
    path = os.path.abspath(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _refuse(path, f"it cannot be created ({exc.strerror})") from None
    me = os.geteuid()
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "it is a symlink")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "it is not a folder")
    if st.st_uid != me:
        raise _refuse(path, f"it belongs to uid {st.st_uid}, not to this user (uid {me})")
    if st.st_mode & 0o022:
        raise _refuse(path, f"others may write it (mode {stat.S_IMODE(st.st_mode):o})")
    parent = os.lstat(os.path.dirname(path))
    if parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX:
        raise _refuse(path, "its parent folder may be written by others (no sticky bit)")
    if parent.st_uid not in (me, 0) and parent.st_mode & 0o022:
        raise _refuse(path, f"its parent folder belongs to uid {parent.st_uid}")
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        try:
            f = os.lstat(os.path.join(path, name))
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(f.st_mode) or f.st_uid != me or f.st_mode & 0o022:
            raise _refuse(os.path.join(path, name), "a cache file someone else could write")
    return path


def signing_secret() -> bytes:
    """The key that signs background-callback handles: ``OPTVIZ_SECRET_KEY``, else random.

    Made once per process when unset (under gunicorn the master, before forking; the
    config file also puts one in the workers' environment). Never stored in the cache.
    """
    global _SECRET
    configured = os.environ.get("OPTVIZ_SECRET_KEY")
    if configured is None and redis_url():
        raise Misconfigured(NO_SHARED_SECRET)
    if configured is not None:
        if len(configured) < MIN_SECRET_CHARS:
            raise Misconfigured(
                f"OPTVIZ_SECRET_KEY is too short: use at least {MIN_SECRET_CHARS} random "
                "characters (or unset it for a fresh one per server start)"
            )
        return configured.encode()
    if _SECRET is None:
        _SECRET = secrets.token_urlsafe(48).encode()
    return _SECRET


def job_record_key(pid: int) -> str:
    """The cache key that says "this server forked ``pid``" (value: its start time)."""
    return f"optviz-job-{int(pid)}"


class PrivateDisk(diskcache.Disk):
    """diskcache's file storage, with value files only the server can read."""

    def _write(self, full_path, iterator, mode, encoding=None):
        size = super()._write(full_path, iterator, mode, encoding)
        os.chmod(full_path, 0o600)
        with contextlib.suppress(OSError):  # the folders diskcache made for it
            os.chmod(os.path.dirname(full_path), 0o700)
            os.chmod(os.path.dirname(os.path.dirname(full_path)), 0o700)
        return size


def _private_cache(directory: str) -> GuardedCache:
    """A ``GuardedCache`` on ``directory`` whose SQLite files are 0600 from the start."""
    # SQLite gives the WAL and SHM files the database's mode; the database file is made
    # here first, so no moment exists in which it is readable by others.
    db = os.path.join(directory, "cache.db")
    os.close(os.open(db, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    os.chmod(db, 0o600)
    cache = GuardedCache(directory, timeout=CACHE_TIMEOUT, disk=PrivateDisk)
    for name in ("cache.db-wal", "cache.db-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(os.path.join(directory, name), 0o600)
    return cache


CACHE_TIMEOUT = 10.0  # s: SQLite busy wait of one cache operation (they take ms)
LOCK_PROBE_S = 3.0  # s: how long make_manager waits for a locked cache before moving on
JOB_NICE = int(os.environ.get("OPTVIZ_EXPORT_NICE", "10"))  # export jobs yield the CPU
JOB_IDLE = os.environ.get("OPTVIZ_EXPORT_IDLE", "1") != "0"  # SCHED_IDLE where there is one

log = logging.getLogger("optviz")

# Held by every cache operation in this process and by the fork that starts an export
# job: SQLite keeps its lock bookkeeping per process, so a job forked while another thread
# was inside a cache write would inherit a write lock it can never release.
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
    if directory is None and redis_url():
        return make_celery_manager()
    directory = check_private_dir(directory or cache_dir())  # before anything is read
    why = _probe(directory)
    if why is not None:
        fresh = tempfile.mkdtemp(prefix="optviz-cache-")
        log.warning("export cache %s is unusable (%s); using %s", directory, why, fresh)
        directory = fresh
    return OptvizDiskcacheManager(_private_cache(directory))


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
    lower_priority()
    # The last resort: a job stuck where no deadline is checked (inside a library) ends
    # before its slot expires, and with it what it inherited (the server's listening socket).
    signal.alarm(JOB_TIME_LIMIT)
    job_fn(*args)


def lower_priority() -> None:
    """Make this (job) process private to its user and polite with the CPU."""
    os.umask(0o077)  # whatever the job writes (its GIF goes to the cache) is private
    with contextlib.suppress(OSError):
        os.nice(JOB_NICE)  # interactive callbacks first; a GIF may take a little longer
    if JOB_IDLE and hasattr(os, "SCHED_IDLE"):
        # Linux: only CPU time no callback wants. On an idle server an export runs at full
        # speed; while a classroom drags sliders, the sliders win (nice +10 still left
        # export jobs ~10 % of each core, ~5 ms of every recompute under the load test).
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


_POLL = threading.local()  # per request thread: the job a poll just saw running


class OptvizDiskcacheManager(DiskcacheManager):
    """Dash's ``DiskcacheManager`` where a job process that vanishes is just gone.

    Dash's own checks ask psutil about a job's pid twice (exists? then its children or
    status); a job that exits between the two raised ``NoSuchProcess`` into the poll's
    answer (6 tracebacks in the load benchmark), and killing a finished job held the
    cache's write lock for up to a second while waiting for it to die.
    """

    # Called in this (web) process with a job's callback arguments just before the job
    # forks: what only this process can do for it (``export_panel.hand_over``).
    before_fork: Callable[[list], None] | None = None

    def call_job_fn(self, key, job_fn, args, context):
        from multiprocess import Process, active_children

        if self.before_fork is not None:
            self.before_fork(args)
        active_children()  # reap finished jobs of this worker (no zombies pile up)
        process = Process(
            target=_run_job, args=(job_fn, key, self._make_progress_key(key), args, context)
        )
        with _FORK_GUARD:
            process.start()
        # Remember the job (any worker may get its cancel): pid and start time, so a
        # pid the kernel hands to another process later is not taken for it.
        with contextlib.suppress(psutil.Error):
            born = psutil.Process(process.pid).create_time()
            self.handle.set(job_record_key(process.pid), born, expire=JOB_RECORD_TTL)
        return process.pid

    def get_or_create_signing_secret(self, generate):
        # Dash would keep its signing secret in (and unpickle it from) the cache; the app
        # sets the Flask secret_key instead (signing_secret), and this store offers none.
        raise NotImplementedError("the signing secret is never kept in the cache")

    def _our_job(self, job) -> psutil.Process | None:
        """The job process behind a (signed) handle, only if this server forked it."""
        try:
            pid = int(job)
            born = self.handle.get(job_record_key(pid))
            if born is None:
                log.warning("cancel refused: pid %s is not an export job of this server", pid)
                return None
            process = psutil.Process(pid)
            if abs(process.create_time() - born) > 0.05:
                return None  # the job ended and its pid now names another process
            return process
        except (psutil.Error, ValueError, TypeError, OverflowError):
            return None  # already gone, or not a pid at all

    def terminate_job(self, job):
        if not job:
            return
        process = self._our_job(job)
        if process is None:
            return
        try:
            family = [*process.children(recursive=True), process]  # the job's own helpers
        except psutil.Error:
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

    def __new__(cls, cache, *args, **kwargs):
        # Redis mode: export_panel hands over the manager's handle, a Celery app; its
        # slots are then Redis keys that every worker on every machine sees.
        celery = sys.modules.get("celery")
        if cls is ExportSlots and celery is not None and isinstance(cache, celery.Celery):
            return RedisExportSlots(cache.backend.client, *args, **kwargs)
        return super().__new__(cls)

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


# ----------------------------------------------------------------------------- many machines

REDIS_SCHEMES = ("redis://", "rediss://")
RESULT_TTL = 3600  # s: a job's progress and result (the GIF) live this long in Redis
REREAD_TTL = 60  # s: a result stays this long after a poll read it (that answer may be lost)
QUIET_BACKEND = "viz.ui.redis_backend:QuietRedisBackend"  # Celery's, minus its listener
WORKER_JOBS = 3 * MAX_JOBS  # job processes of a worker (exports, their refusals, analyses)
NO_SHARED_SECRET = (
    "optviz: OPTVIZ_REDIS_URL is set, so OPTVIZ_SECRET_KEY must be too: the same "
    f"{MIN_SECRET_CHARS}+ random characters for every web process and worker"
)


ANALYSIS_POLL_MS = 250  # how often a page asks after an analysis running as a job


def redis_url() -> str | None:
    """``OPTVIZ_REDIS_URL`` (the deployment's private Redis), or ``None``: embedded mode."""
    return os.environ.get("OPTVIZ_REDIS_URL") or None


def analysis_callback_kwargs() -> dict:
    """How an analysis that may run for seconds (convergence map, learning-rate sweep:
    15 s budgets) is registered: a plain callback in the embedded mode; with Redis a
    background job on the deployment's workers (the app's ``CeleryManager``), so a busy
    or killed web process neither holds nor loses it. Its budget runs in the worker."""
    return {"background": True, "interval": ANALYSIS_POLL_MS} if redis_url() else {}


def celery_app(url: str):
    """The Celery app of a deployment on ``url``: Redis as broker and result store, json only.

    Dash's ``CeleryManager`` writes each job's progress and result itself, as json text,
    through the result store's plain ``set`` (with Celery's expiry, ``RESULT_TTL``) and reads
    them back with ``json.loads``. Celery's own messages (the task and its arguments: the
    callback's inputs and context, json-safe) and task results are held to ``json`` here:
    a pickled message is refused by the worker, and no pickle is ever read back.
    """
    from celery import Celery

    if not url.startswith(REDIS_SCHEMES):
        raise Misconfigured(
            f"optviz: OPTVIZ_REDIS_URL must start with {', '.join(REDIS_SCHEMES)}, got {url[:40]!r}"
        )
    app = Celery("optviz", broker=url, backend=f"{QUIET_BACKEND}+{url}")
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        result_expires=RESULT_TTL,
        worker_prefetch_multiplier=1,  # a long export does not hold queued ones hostage
        # More job processes than export slots: a job starts at once and an export beyond
        # the slots is told "busy" at once (as in the embedded mode) instead of waiting
        # unseen in the queue; the slots, not the processes, bound the rendering.
        worker_concurrency=WORKER_JOBS,
        task_time_limit=JOB_TIME_LIMIT,  # the export's own budget stops its runs far sooner
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def make_celery_manager(url: str | None = None) -> OptvizCeleryManager:
    """The manager of a many-machine deployment; ``Misconfigured`` (one line) if it is."""
    url = url or redis_url()
    if not url:
        raise Misconfigured("optviz: set OPTVIZ_REDIS_URL to the deployment's private Redis")
    signing_secret()  # refuses to go on without a shared OPTVIZ_SECRET_KEY
    return OptvizCeleryManager(celery_app(url))


class OptvizCeleryManager(CeleryManager):
    """Dash's ``CeleryManager`` where a finished result is never dropped, and an
    unreachable Redis ends the job for the page (its "did not finish" line), not in a 500.

    Dash asks for the result, then whether the job runs; a job that finishes between the
    two was answered "cancelled" (204) and its GIF lost, so a poll that saw it running says
    so again (as ``OptvizDiskcacheManager``). A result read by a poll is kept ``REREAD_TTL``
    seconds more (not deleted) in case that web process dies before answering, and a
    finished task is never sent a ``terminate`` (Dash's own read does, and its job
    process could be killed between writing the result and returning).
    """

    def get_or_create_signing_secret(self, generate):
        raise NotImplementedError("the signing secret is OPTVIZ_SECRET_KEY, never in Redis")

    def call_job_fn(self, key, job_fn, args, context):
        try:
            return super().call_job_fn(key, job_fn, args, context)
        except _redis_errors() as exc:  # Redis unreachable: the page's first poll says so
            log.warning("job not queued, Redis unreachable: %s: %s", type(exc).__name__, exc)
            return UNQUEUED

    def get_progress(self, key):
        try:
            return super().get_progress(key)
        except _redis_errors():
            return None

    def get_updated_props(self, key):
        try:
            return super().get_updated_props(key)
        except _redis_errors():
            return {}

    def _read(self, key):
        raw = None
        try:
            raw = self.handle.backend.get(key)
            if raw is not None:
                self.handle.backend.expire(key, REREAD_TTL)
                self.clear_cache_entry(self._make_progress_key(key))
        except _redis_errors() as exc:
            log.warning("job result not read, Redis unreachable: %s", exc)
        return self.UNDEFINED if raw is None else json.loads(raw)

    def get_result(self, key, job):
        _POLL.running = _POLL.finished = None
        result = self._read(key)
        if result is self.UNDEFINED and job:
            if self._task_running(job):
                _POLL.running = job  # Dash's next question, in this request
            else:
                result = self._read(key)  # written (and ended) since the first look
        if result is not self.UNDEFINED:
            _POLL.finished = job  # its result is in hand: Dash must not "terminate" it
        return result

    def job_running(self, job):
        if job and getattr(_POLL, "running", None) == job:
            _POLL.running = None
            return True
        if job and getattr(_POLL, "finished", None) == job:
            # Dash revokes a job still running when its result is read; this one has only
            # to return, and a revoke would kill its (reusable) worker process on the way.
            _POLL.finished = None
            return False
        return self._task_running(job)

    def _task_running(self, job) -> bool:
        if job == UNQUEUED:
            return False
        try:
            return bool(super().job_running(job))
        except _redis_errors():  # no word from Redis: the page stops waiting (INCOMPLETE)
            return False


UNQUEUED = "unqueued"  # the job handle of a job Redis did not take


def _redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis that cannot be reached raises through redis-py, kombu and Celery."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    return (RedisError, OperationalError, OSError)


class RedisExportSlots:
    """``ExportSlots`` kept in Redis: at most ``limit`` exports at once in the deployment.

    A slot holds ``host:pid`` of the job rendering, with the expiry ``SLOT_TTL``; a slot
    whose holder is a dead process on this host is taken over at once, one held on another
    machine when its expiry passes (Celery kills a job after ``JOB_TIME_LIMIT``).
    """

    def __init__(self, client, limit: int = MAX_JOBS, prefix: str = "optviz-export-slot"):
        self.client = client
        self.limit = limit
        self.prefix = prefix

    @staticmethod
    def _me() -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    @staticmethod
    def _gone(holder: bytes) -> bool:
        host, _, pid = holder.decode(errors="replace").rpartition(":")
        return host == socket.gethostname() and not _alive(pid)

    def acquire(self) -> str | None:
        from redis.exceptions import WatchError

        me = self._me()
        for i in range(self.limit):
            key = f"{self.prefix}-{i}"
            if self.client.set(key, me, nx=True, ex=SLOT_TTL):
                return key
            holder = self.client.get(key)
            if holder is None or not self._gone(holder):
                continue
            with self.client.pipeline() as pipe:  # take over only the dead holder we saw
                try:
                    pipe.watch(key)
                    if pipe.get(key) != holder:
                        continue
                    pipe.multi()
                    pipe.set(key, me, ex=SLOT_TTL)
                    pipe.execute()
                    return key
                except WatchError:
                    continue
        return None

    def release(self, key: str | None) -> None:
        """Free the slot if this process still holds it."""
        from redis.exceptions import WatchError

        if key is None:
            return
        with self.client.pipeline() as pipe, contextlib.suppress(WatchError):
            pipe.watch(key)
            if pipe.get(key) == self._me().encode():
                pipe.multi()
                pipe.delete(key)
                pipe.execute()

    def busy(self) -> int:
        holders = [self.client.get(f"{self.prefix}-{i}") for i in range(self.limit)]
        return sum(1 for h in holders if h is not None and not self._gone(h))
