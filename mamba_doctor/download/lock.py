"""An inter-process lock per target file, so two processes sharing a cache never write one file."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from mamba_doctor.errors import DownloadError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover  # Windows: fall back to an O_EXCL lock file
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_POLL_S = 0.1
# An O_EXCL lock file older than this is a leftover of a killed process, not a live download.
_STALE_S = 6 * 3600.0


@contextlib.contextmanager
def file_lock(path: Path, *, timeout: Optional[float] = None, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the duration of the block.

    Uses fcntl.flock where available (released by the kernel if the process dies), else an
    O_EXCL lock file. Waits, logging once that another process holds it; raises DownloadError
    after `timeout` seconds (None waits for ever; Ctrl-C still interrupts the wait).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    if fcntl is not None:
        with _flock(path, deadline, what):
            yield
    else:  # pragma: no cover
        with _exclusive_file(path, deadline, what):
            yield


@contextlib.contextmanager
def _flock(path: Path, deadline: Optional[float], what: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
        raise
    return True


@contextlib.contextmanager
def _exclusive_file(  # pragma: no cover
        path: Path, deadline: Optional[float], what: str) -> Iterator[None]:
    def attempt() -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > _STALE_S:
                    path.unlink()
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    _wait(attempt, path, deadline, what)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


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
