"""A cache on a cluster filesystem: where flock() holds only on one machine, and the lock file
used there instead (O_EXCL create, kept fresh by a heartbeat, taken over when its owner died).

flock() is coherent across machines on local disks (trivially), NFSv4, NFSv3 with lockd
(Linux emulates flock as a whole-file POSIX lock on NFS since 2.6.12, nfs(5)), Lustre mounted
with `-o flock`, GPFS and CephFS. It holds only on the machine itself on NFS mounted with
`local_lock=flock|all` or `nolock` (nfs(5)), Lustre mounted with `localflock`, and BeeGFS
unless the client sets tuneUseGlobalFileLocks (not visible in the mount table, so BeeGFS is
treated as local). Lustre with `noflock` (the default before 2.12) refuses flock with ENOSYS.
An O_EXCL create is atomic on all of these (NFS from v3, open(2)).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

logger = logging.getLogger(__name__)

HEARTBEAT_S = 30.0  # the holder touches its lock file this often
# A lock file untouched this long lost its holder (killed, or its machine died). Generous, so
# that clock skew between machines and a slow NFS attribute cache do not break a live lock.
STALE_S = 600.0


@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str
    options: frozenset[str]  # per-mount and superblock options together


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """/proc/self/mountinfo lines -> mounts (proc(5): fields 5 and 6 are the mount point and
    its options; after the " - " separator come the type, the source, the superblock options)."""
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 6 or len(rest) < 2:
            continue
        options = set(fields[5].split(","))
        if len(rest) >= 3:
            options.update(rest[2].split(","))
        point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        mounts.append(Mount(point, rest[0], frozenset(options)))
    return tuple(mounts)


def mount_of(path: str, mounts: tuple[Mount, ...]) -> Optional[Mount]:
    """The mount holding `path` (the longest mount point that prefixes it; the last one
    mounted wins a tie, as in the kernel)."""
    best: Optional[Mount] = None
    for m in mounts:
        prefix = m.point.rstrip("/") + "/"
        if (path == m.point or path.startswith(prefix) or m.point == "/") and \
                (best is None or len(m.point) >= len(best.point)):
            best = m
    return best


def flock_is_local(mount: Optional[Mount]) -> Optional[str]:
    """Why flock() on this mount would not exclude other machines; None when it does."""
    if mount is None:
        return None
    fstype, opts = mount.fstype, mount.options
    if fstype in ("nfs", "nfs4"):
        if "nolock" in opts:
            return f"NFS mounted with nolock at {mount.point}"
        for value in ("flock", "all"):
            if f"local_lock={value}" in opts:
                return f"NFS mounted with local_lock={value} at {mount.point}"
    if fstype == "lustre":
        for opt in ("localflock", "noflock"):
            if opt in opts:
                return f"Lustre mounted with {opt} at {mount.point}"
    if fstype == "beegfs":
        return f"BeeGFS at {mount.point} (flock is per machine unless tuneUseGlobalFileLocks)"
    return None


def local_flock_reason(folder: Path, *, mountinfo: Path = Path("/proc/self/mountinfo")
                       ) -> Optional[str]:
    """flock_is_local() for the filesystem holding `folder`; None where it cannot be told."""
    try:
        text = mountinfo.read_text(errors="replace")
    except OSError:
        return None
    return flock_is_local(mount_of(os.path.realpath(folder), parse_mountinfo(text)))


def owner_tag() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


@contextlib.contextmanager
def lock_file(path: Path, *, wait: Callable[[Callable[[], bool]], None],
              heartbeat_s: float = HEARTBEAT_S, stale_s: float = STALE_S) -> Iterator[None]:
    """Hold `path`, created with O_EXCL, for the duration of the block; `wait(attempt)` retries
    `attempt` until it succeeds (or raises). The holder's host and pid are written into it; a
    thread refreshes its mtime every `heartbeat_s`. A lock file whose owner is a dead process
    of this machine, or that nobody refreshed for `stale_s`, is taken over."""

    def attempt() -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            _remove_if_stale(path, stale_s)
            return False
        try:
            os.write(fd, (owner_tag() + "\n").encode())
        finally:
            os.close(fd)
        return True

    wait(attempt)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            with contextlib.suppress(OSError):
                os.utime(path)

    thread = threading.Thread(target=beat, name="lock-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_if_stale(path: Path, stale_s: float) -> None:
    with contextlib.suppress(OSError):
        info = path.stat()
        owner = path.read_text(errors="replace").split()
        host, pid = (owner[0], owner[1]) if len(owner) >= 2 else ("", "")
        dead_here = host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))
        if dead_here or time.time() - info.st_mtime > stale_s:
            # rename first: of two processes that both saw it stale, only one moves it away
            grave = path.with_name(f"{path.name}.stale.{os.getpid()}")
            os.rename(path, grave)
            if grave.stat().st_ino != info.st_ino:  # a fresh lock came in between: give it back
                with contextlib.suppress(OSError):
                    os.link(grave, path)  # unless yet another one is there now
                grave.unlink()
                return
            grave.unlink()
            logger.info("took over the abandoned lock %s (%s)", path, " ".join(owner))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
