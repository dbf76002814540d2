"""Issue 15 (items 1, 2): the export cache is private and holds nothing that runs code.

A local user who could write the background-callback cache got code run as the server's
user (diskcache unpickles what it finds, Dash's signing secret among it), could read the
secret and every user's GIFs, and with the secret made the server SIGKILL any process
tree. These tests play that user: a planted pickle, a folder of someone else's, a forged
cancel aimed at an unrelated process.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import tempfile
import time

import diskcache
import psutil
import pytest

import app as optviz_app
from viz.ui import jobs

SECRET_KEY = "__dash_background_signing_secret__"  # Dash 4.4's key in the result store
NOBODY = 65534


class _Planted:
    """Unpickling this creates ``path``: the stand-in for an attacker's payload."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def plant(directory, marker, mode=0o777, owner=None):
    """A cache folder as a hostile local user leaves it: a pickle under Dash's secret key."""
    os.makedirs(directory, exist_ok=True)
    with diskcache.Cache(str(directory)) as cache:
        cache.set(SECRET_KEY, _Planted(marker))
        cache.set("optviz-export-slot-0", _Planted(marker))
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            os.chmod(os.path.join(root, name), 0o777)
            if owner is not None:
                os.chown(os.path.join(root, name), owner, owner)
    os.chmod(directory, mode)
    if owner is not None:
        os.chown(directory, owner, owner)
    assert not os.path.exists(marker)


def _unsafe_message(excinfo, path) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


# ----------------------------------------------------------------------------- item 1


def test_a_pickle_planted_in_the_old_shared_default_folder_is_never_loaded(tmp_path, monkeypatch):
    """The old default, ``$TMPDIR/optviz-cache``, was anyone's to create first."""
    monkeypatch.delenv("OPTVIZ_CACHE_DIR", raising=False)
    monkeypatch.delenv("OPTVIZ_SECRET_KEY", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(jobs, "_DEFAULT_DIR", None, raising=False)  # as a fresh server
    marker = tmp_path / "pwned"
    plant(tmp_path / "optviz-cache", marker, owner=NOBODY)
    app = optviz_app.create_app()  # renders the page once: the signing secret is read
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert not marker.exists(), "the server unpickled a planted value"
    used = app._background_manager.handle.directory
    assert os.path.realpath(used) != os.path.realpath(tmp_path / "optviz-cache")


@pytest.mark.parametrize("case", ["other-owner", "world-writable", "group-writable", "symlink"])
def test_an_unsafe_cache_dir_from_the_environment_is_refused(tmp_path, monkeypatch, case):
    target = tmp_path / "cache"
    marker = tmp_path / "pwned"
    if case == "other-owner":
        plant(target, marker, mode=0o700, owner=NOBODY)
    elif case == "world-writable":
        plant(target, marker, mode=0o777)
    elif case == "group-writable":
        plant(target, marker, mode=0o770)
    else:
        plant(tmp_path / "elsewhere", marker, mode=0o700)
        os.symlink(tmp_path / "elsewhere", target)
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(target))
    with pytest.raises(jobs.UnsafeCacheDir) as excinfo:
        optviz_app.create_app()
    msg = _unsafe_message(excinfo, target)
    assert "OPTVIZ_CACHE_DIR" in msg
    assert not marker.exists()


def test_a_cache_file_of_someone_else_in_our_folder_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "cache"
    marker = tmp_path / "pwned"
    plant(target, marker, mode=0o700)
    os.chown(target / "cache.db", NOBODY, NOBODY)
    with pytest.raises(jobs.UnsafeCacheDir) as excinfo:
        jobs.make_manager(str(target))
    _unsafe_message(excinfo, target / "cache.db")
    assert not marker.exists()


def test_optviz_serve_refuses_an_unsafe_cache_with_one_line(tmp_path):
    target = tmp_path / "cache"
    target.mkdir(mode=0o700)
    os.chmod(target, 0o777)
    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(target)}
    proc = subprocess.run(
        [sys.executable, "app.py", "--port", "0"],
        cwd=os.path.dirname(optviz_app.__file__),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert err.count("\n") == 0 and "OPTVIZ_CACHE_DIR" in err and str(target) in err, err


def test_a_private_cache_dir_the_server_owns_is_used(tmp_path, monkeypatch):
    target = tmp_path / "mine"
    target.mkdir(mode=0o700)
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(target))
    manager = jobs.make_manager()
    try:
        assert os.path.realpath(manager.handle.directory) == os.path.realpath(target)
    finally:
        manager.handle.close()


def test_a_missing_cache_dir_is_created_private(tmp_path, monkeypatch):
    target = tmp_path / "new"
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(target))
    manager = jobs.make_manager()
    manager.handle.close()
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o700


# ----------------------------------------------------------------------------- item 2


def _modes(directory) -> dict[str, int]:
    out = {".": stat.S_IMODE(os.lstat(directory).st_mode)}
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            out[os.path.relpath(path, directory)] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


def test_default_cache_is_private_and_unguessable(monkeypatch):
    monkeypatch.delenv("OPTVIZ_CACHE_DIR", raising=False)
    monkeypatch.setattr(jobs, "_DEFAULT_DIR", None, raising=False)
    a = jobs.cache_dir()
    assert a == jobs.cache_dir()  # one per server (the gunicorn master makes it)
    assert os.path.basename(a) != "optviz-cache" and stat.S_IMODE(os.stat(a).st_mode) == 0o700


def test_cache_files_are_readable_by_the_server_only(tmp_path):
    """Folder 0700, SQLite db/WAL/SHM and value files 0600: no one else reads a GIF."""
    manager = jobs.make_manager(str(tmp_path / "c"))
    try:
        manager.handle.set("small", 1)
        manager.handle.set("gif", os.urandom(200_000))  # big values go to files of their own
        assert manager.handle.get("gif") is not None
        modes = _modes(tmp_path / "c")
    finally:
        manager.handle.close()
    assert any(name.endswith(".val") for name in modes), modes
    assert "cache.db" in modes and "cache.db-wal" in modes, modes
    loose = {name: oct(m) for name, m in modes.items() if m & 0o077}
    assert not loose, f"readable by others: {loose}"


def test_the_signing_secret_comes_from_the_environment_not_the_cache(monkeypatch):
    monkeypatch.setenv("OPTVIZ_SECRET_KEY", "k" * 40)
    app = optviz_app.create_app()
    assert app._get_signing_secret() == b"k" * 40
    assert app._background_manager.handle.get(SECRET_KEY) is None


def test_without_a_configured_secret_one_is_made_per_process_not_stored(monkeypatch):
    monkeypatch.delenv("OPTVIZ_SECRET_KEY", raising=False)
    a, b = optviz_app.create_app(), optviz_app.create_app()
    secret = a._get_signing_secret()
    assert len(secret) >= 32 and secret == b._get_signing_secret()
    assert a._background_manager.handle.get(SECRET_KEY) is None
    with pytest.raises(NotImplementedError):
        a._background_manager.get_or_create_signing_secret(lambda: b"x")


def test_a_short_secret_is_refused(monkeypatch):
    monkeypatch.setenv("OPTVIZ_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="OPTVIZ_SECRET_KEY"):
        optviz_app.create_app()


# ----------------------------------------------------------------------------- cancels


@pytest.fixture
def bystander():
    """An unrelated process tree of the same user: a shell with a child."""
    proc = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60; wait"])
    deadline = time.monotonic() + 5
    while not psutil.Process(proc.pid).children() and time.monotonic() < deadline:
        time.sleep(0.02)
    family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children())]
    assert len(family) >= 2
    yield family
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    proc.wait(timeout=5)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_cancel_never_kills_a_process_the_app_did_not_start(tmp_path, bystander):
    manager = jobs.make_manager(str(tmp_path / "c"))
    try:
        for pid in bystander:
            manager.terminate_job(str(pid))  # Dash passes the unsigned handle: a pid string
            manager.terminate_unhealthy_job(str(pid))
        time.sleep(0.2)
        assert all(_running(pid) for pid in bystander)
    finally:
        manager.handle.close()


def _sleep_job(*_args):
    time.sleep(60)


def test_a_cancel_stops_a_job_the_app_started(tmp_path):
    manager = jobs.make_manager(str(tmp_path / "c"))
    try:
        pid = manager.call_job_fn("k", _sleep_job, (), {})
        assert _running(pid)
        manager.terminate_job(str(pid))
        deadline = time.monotonic() + 5
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid)
    finally:
        manager.handle.close()


def test_a_recycled_pid_of_a_finished_job_is_not_killed(tmp_path, bystander):
    """The record of a job is its pid and start time: a new process under the pid is spared."""
    manager = jobs.make_manager(str(tmp_path / "c"))
    try:
        pid = bystander[0]
        manager.handle.set(jobs.job_record_key(pid), psutil.Process(pid).create_time() - 5.0)
        manager.terminate_job(str(pid))
        time.sleep(0.2)
        assert all(_running(p) for p in bystander)
    finally:
        manager.handle.close()


def test_a_validly_signed_cancel_through_http_spares_an_unrelated_process(
    tmp_path, monkeypatch, bystander
):
    """The audit's attack end to end: a cancel signed with the server's own secret (as one
    who read the old cache could) naming an unrelated pid; the server must not kill it."""
    import json
    import re

    from dash import _callback_signing as signing

    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path / "c"))
    app = optviz_app.create_app()
    client = app.server.test_client()
    page = client.get("/").data.decode()
    config = json.loads(re.search(r'id="_dash-config"[^>]*>(.*?)</script>', page, re.S)[1])
    secret = app._get_signing_secret()
    end_id = signing.unsign(secret, signing.END_SCOPE, config["end_id"])
    assert end_id
    deps = client.get("/_dash-dependencies").get_json()
    (cancel,) = [d for d in deps if d["output"].startswith("export-cancel.id")]
    body = {
        "output": cancel["output"],
        "outputs": {"id": "export-cancel", "property": "id"},
        "inputs": [{"id": "export-cancel", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["export-cancel.n_clicks"],
        "state": [],
    }
    forged = [signing.sign(secret, signing.job_scope(end_id), str(pid)) for pid in bystander]
    query = "&".join([f"endId={config['end_id']}", *(f"cancelJob={f}" for f in forged)])
    r = client.post(f"/_dash-update-component?{query}", json=body)
    assert r.status_code in (200, 204)
    time.sleep(0.3)
    assert all(_running(pid) for pid in bystander)
