"""An inter-process lock per target file, so two processes sharing a cache never write one file."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from mamba_doctor.download.sharedfs import local_flock_reason, lock_file
from mamba_doctor.errors import DownloadError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover  # Windows: an O_EXCL lock file (sharedfs.lock_file)
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_POLL_S = 0.1


@contextlib.contextmanager
def file_lock(path: Path, *, timeout: Optional[float] = None, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the duration of the block.

    Uses fcntl.flock where it excludes every machine that shares the folder (released by the
    kernel if the process dies). Where it does not (Windows; a cluster filesystem whose flock
    is per machine or refused, see sharedfs.py), an O_EXCL lock file `<path>.excl` instead.
    Waits, logging once that another process holds it; raises DownloadError after `timeout`
    seconds (None waits for ever; Ctrl-C still interrupts the wait).

    A shared cache: the lock file is created with mode 0666 less the umask (group-writable
    under `umask 002`), and one that another user created is opened read-only, which flock
    accepts. A read-only cache where the lock file cannot even be created: the block runs
    unlocked, since nothing can be written there anyway (the caller refuses to write).
    """
    with contextlib.suppress(OSError):  # a read-only cache: the folder is there or it is not
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    why = "no fcntl" if fcntl is None else local_flock_reason(path.parent)
    if why is None:
        try:
            with _flock(path, deadline, what):
                yield
            return
        except FlockRefused as exc:
            why = str(exc)
    logger.debug("locking %s with a lock file: %s", path, why)
    if not os.access(path.parent, os.W_OK):  # read-only here: no lock file can be made
        yield
        return
    with lock_file(path.with_name(path.name + ".excl"),
                   wait=lambda attempt: _wait(attempt, path, deadline, what)):
        yield


class FlockRefused(OSError):
    """The filesystem does not do flock at all (Lustre without -o flock: ENOSYS)."""


def _open_lock(path: Path) -> Optional[int]:
    """A descriptor to flock on, or None where the lock file can be neither opened nor made."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:  # another user's lock file (0644), or a read-only mount that already has one
        return os.open(path, os.O_RDONLY)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
            raise
    logger.debug("cannot open or create the lock %s: the cache is read-only here", path)
    return None


@contextlib.contextmanager
def _flock(path: Path, deadline: Optional[float], what: str) -> Iterator[None]:
    fd = _open_lock(path)
    if fd is None:
        yield
        return
    try:
        _wait(lambda: _try_flock(fd), path, deadline, what)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        if exc.errno in _NO_FLOCK:
            raise FlockRefused(exc.errno, f"flock refused: {exc.strerror}") from exc
        raise
    return True


# ENOSYS: Lustre mounted with noflock; ENOLCK: NFSv3 whose server runs no lock manager.
_NO_FLOCK = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", -1)}


def _wait(attempt: Callable[[], bool], path: Path, deadline: Optional[float], what: str) -> None:
    told = False
    while not attempt():
        if not told:
            logger.warning("waiting for another mamba-doctor process to finish %s (lock %s)",
                           what or path.name, path)
            told = True
        if deadline is not None and time.monotonic() >= deadline:
            raise DownloadError(
                f"timed out waiting for the lock {path}",
                hint="Another process is downloading the same file; wait for it, or remove the "
                "lock file if no such process is running.",
            )
        time.sleep(_POLL_S)
