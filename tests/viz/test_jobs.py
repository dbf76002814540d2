"""The export jobs' manager, cache and slots (viz/ui/jobs.py): crash safety under many
users, a fresh cache when the old one is locked or broken, a lower CPU priority. The
cache's security (issue 15) is tests/test_security.py's."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import diskcache
import psutil

from viz.ui import jobs
from viz.ui.jobs import ExportSlots

# ----------------------------------------------------------------------------- slots


def test_a_slot_held_by_a_dead_process_is_taken_over(tmp_path):
    with diskcache.Cache(str(tmp_path / "c")) as cache:
        slots = ExportSlots(cache, limit=1)
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        cache.set(f"{slots.prefix}-0", int(dead.stdout))  # a job killed mid-way
        assert slots.busy() == 0
        key = slots.acquire()
        assert key is not None and cache.get(key) == os.getpid()
        assert slots.acquire() is None  # now really held (by a live process)


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "x"))
    assert jobs.cache_dir() == str(tmp_path / "x")
    manager = jobs.make_manager()
    assert manager.handle.directory == str(tmp_path / "x")
    manager.handle.close()


# ----------------------------------------------------------------------------- crash safety


def _job_writes_its_key(cache):
    def job(key, _progress_key, _args, _context):
        cache.set(key, "done")

    return job


def test_jobs_forked_while_other_threads_write_the_cache_can_write_it(tmp_path, monkeypatch):
    """A job forked while another thread of its worker is inside a cache write must not
    inherit that lock (SQLite's bookkeeping is per process): with Dash's own manager most
    such jobs could never write their result (1 of 20 did), and some hung holding the lock."""
    monkeypatch.setattr(jobs, "CACHE_TIMEOUT", 3.0)
    manager = jobs.make_manager(str(tmp_path / "c"))
    cache = manager.handle
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            with cache.transact():
                cache.set("busy", os.getpid())
                time.sleep(0.002)  # a write that takes a moment, as a poll's delete does

    writers = [threading.Thread(target=writer, daemon=True) for _ in range(3)]
    for t in writers:
        t.start()
    pids = []
    try:
        for i in range(12):
            pids.append(manager.call_job_fn(f"job-{i}", _job_writes_its_key(cache), (), {}))
            time.sleep(0.01)
        # The writers matter while the jobs are forked. Once they stop, a job with a clean
        # copy of the lock writes at once; one that inherited the lock never can. (Left
        # running, three threads re-taking the lock back to back starved a clean job's
        # SQLite busy wait past its timeout on a loaded machine: 3 runs in 5 failed.)
        stop.set()
        for t in writers:
            t.join(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(cache.get(f"job-{i}") == "done" for i in range(12)):
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for t in writers:
            t.join(timeout=10)
        for pid in pids:
            manager.terminate_job(pid)
    assert [cache.get(f"job-{i}") for i in range(12)] == ["done"] * 12


def test_a_job_that_vanishes_is_just_gone(tmp_path):
    manager = jobs.make_manager(str(tmp_path / "c"))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(gone.stdout)
    assert manager.job_running(pid) is False
    manager.terminate_job(pid)  # no psutil.NoSuchProcess
    assert manager.terminate_unhealthy_job(pid) is True
    assert manager.get_result("no-such-key", pid) is manager.UNDEFINED


def test_a_result_written_just_before_the_job_exits_is_not_called_cancelled(tmp_path):
    """The poll looks for the result, then asks whether the job runs; a job that finished
    in between must still hand over its result (Dash answered 204, the GIF was lost)."""
    manager = jobs.make_manager(str(tmp_path / "c"))
    pid = manager.call_job_fn("k", _job_writes_its_key(manager.handle), (), {})
    psutil.Process(pid).wait(timeout=20)
    real_get = manager.handle.get
    first = [True]

    def late_get(key, default=None, *args, **kwargs):
        if key == "k" and first[0]:  # the first look came just before the job wrote it
            first[0] = False
            return default
        return real_get(key, default, *args, **kwargs)

    manager.handle.get = late_get
    assert manager.get_result("k", pid) == "done"


def _job_writes_its_key_when(cache, go: Path):
    def job(key, _progress_key, _args, _context):
        while not go.exists():
            time.sleep(0.01)
        cache.set(key, "done")

    return job


def test_a_job_that_finishes_between_dashs_two_questions_is_not_called_cancelled(tmp_path):
    """Dash's poll asks get_result (nothing yet, the job runs), then job_running; a job
    that writes its result and exits in between was answered 204 and its GIF dropped.
    The same poll must hear "running", and the next one gets the result."""
    manager = jobs.make_manager(str(tmp_path / "c"))
    go = tmp_path / "go"
    pid = manager.call_job_fn("k", _job_writes_its_key_when(manager.handle, go), (), {})
    assert manager.get_result("k", pid) is manager.UNDEFINED  # the poll's first question
    go.touch()
    psutil.Process(pid).wait(timeout=20)  # result written, job gone
    assert manager.job_running(pid) is True  # the same poll's second question
    assert manager.job_running(pid) is False  # afterwards: the truth
    assert manager.get_result("k", pid) == "done"  # the next poll


def _hold_the_cache_lock(directory: Path):
    """A process that keeps a write transaction open on the cache (a stale worker)."""
    code = (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(directory / 'cache.db')!r}, isolation_level=None)\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_startup_with_a_stale_lock_on_the_cache_does_not_hang(tmp_path, caplog):
    directory = tmp_path / "cache"
    jobs.make_manager(str(directory)).handle.close()  # an earlier server's cache
    holder = _hold_the_cache_lock(directory)
    made = []
    try:
        t = threading.Thread(target=lambda: made.append(jobs.make_manager(str(directory))))
        t.start()
        t.join(timeout=30)  # diskcache alone waits 60 s per statement, again and again
        assert not t.is_alive(), "make_manager blocked on the stale lock"
    finally:
        holder.kill()
        holder.wait()
    (manager,) = made
    assert manager.handle.directory != str(directory)  # a fresh one, said in the log
    assert "unusable" in caplog.text and str(directory) in caplog.text
    slots = ExportSlots(manager.handle, limit=1)
    assert slots.acquire() is not None  # and it works
    manager.handle.close()


def test_a_cache_that_is_not_a_database_does_not_stop_the_server(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir()
    (directory / "cache.db").write_bytes(b"not a database" * 100)
    manager = jobs.make_manager(str(directory))
    assert manager.handle.directory != str(directory)
    manager.handle.set("x", 1)
    assert manager.handle.get("x") == 1


def test_export_jobs_run_at_a_lower_cpu_priority(tmp_path):
    manager = jobs.make_manager(str(tmp_path / "c"))
    cache = manager.handle

    def job(key, _progress_key, _args, _context):
        cache.set(key, (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)))

    pid = manager.call_job_fn("nice", job, (), {})
    psutil.Process(pid).wait(timeout=20)
    nice, policy = cache.get("nice")
    assert nice == os.getpriority(os.PRIO_PROCESS, 0) + jobs.JOB_NICE
    assert policy == os.SCHED_IDLE  # only CPU time that no callback wants


def test_a_job_stuck_past_its_time_is_killed(tmp_path, monkeypatch):
    """A job hung where no deadline is checked (JAX compiling in a fork did) dies at
    ``JOB_TIME_LIMIT`` instead of holding its slot and the server's socket for good."""
    monkeypatch.setattr(jobs, "JOB_TIME_LIMIT", 1)
    manager = jobs.make_manager(str(tmp_path / "c"))

    def job(key, _progress_key, _args, _context):
        threading.Event().wait()  # never returns

    pid = manager.call_job_fn("stuck", job, (), {})
    start = time.monotonic()
    psutil.Process(pid).wait(timeout=20)
    assert time.monotonic() - start < 10
    assert not manager.job_running(pid)
