"""Writing a file the user named, safely (the CLI's exports and ``viz.gif.export_gif``).

A new file is made with ``mkstemp`` beside the target (a random name, O_EXCL: a planted
``F.part`` or symlink is never opened), filled, fsynced and renamed onto the target, which
must be absent or a regular file: a symlink, device, FIFO, socket or folder is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable


class UnsafeTarget(ValueError):
    """The target cannot be written safely; the text says why."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def check_target(path: str) -> None:
    """``UnsafeTarget`` unless ``path`` is absent or a regular file (never a symlink to one)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeTarget(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeTarget(
            f"{path} is a symbolic link; optviz does not write through links "
            "(give the path of the file it points to)"
        )
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
        raise UnsafeTarget(f"{path} is not a regular file ({kind}); optviz will not replace it")


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_replacing(path: str, write: Callable) -> int:
    """Write a file atomically and safely; return its size in bytes.

    ``write(fp)`` fills a new temporary file made by ``mkstemp`` in the target's folder
    (random name, O_EXCL: a planted file or symlink is never opened). It gets the
    permissions a plain ``open`` would (0666 less the umask), is fsynced, and is renamed
    onto ``path`` only if ``path`` is still absent or a regular file. On any failure the
    temporary file is removed and ``path`` is untouched. ``OSError`` → ``UnsafeTarget``.
    """
    folder = os.path.dirname(path) or "."
    check_target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".optviz-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UnsafeTarget(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fchmod(fp.fileno(), 0o666 & ~_umask())
            os.fsync(fp.fileno())
            size = os.fstat(fp.fileno()).st_size
        check_target(path)  # again: the render took a while
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise UnsafeTarget(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(folder)
    return size


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable; some file systems cannot fsync a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
