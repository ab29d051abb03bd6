"""A cache on a cluster filesystem: which mounts keep flock per machine, and the lock file used
there (mutual exclusion across processes, heartbeat, taking over a dead holder's lock)."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mamba_doctor.download import lock as lock_mod
from mamba_doctor.download.sharedfs import (
    flock_is_local,
    local_flock_reason,
    lock_file,
    mount_of,
    parse_mountinfo,
)
from mamba_doctor.errors import DownloadError

# Lines in the kernel's format (proc(5)); options as these filesystems print them.
MOUNTINFO = "\n".join([
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
    "521 22 0:52 / /home rw,relatime shared:273 - nfs4 fs1:/export/home rw,vers=4.2,"
    "rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,"
    "clientaddr=10.0.0.5,local_lock=none,addr=10.0.0.1",
    "522 22 0:53 / /apps ro,relatime shared:274 - nfs fs2:/apps ro,vers=3,nolock,proto=tcp,"
    "mountproto=tcp,local_lock=all,addr=10.0.0.2",
    "523 22 0:54 / /shared rw,relatime - nfs4 fs1:/shared rw,vers=4.1,local_lock=flock",
    "600 22 0:60 / /lustre rw,flock,lazystatfs - lustre 10.0.0.9@o2ib:/scratch rw,flock",
    "601 22 0:61 / /lustre/old rw,localflock - lustre 10.0.0.9@o2ib:/old rw,localflock",
    "700 22 0:70 / /mnt/beegfs rw,relatime - beegfs beegfs_nodev rw,cfgFile=/etc/beegfs/c.conf",
    "701 22 0:71 / /gpfs/work rw,relatime - gpfs work rw",
    r"702 22 0:72 / /mnt/with\040space rw - ext4 /dev/sdb1 rw",
])


@pytest.mark.parametrize("path, local", [
    ("/home/alice/.cache/mamba-doctor", None),
    ("/apps/cache", "NFS mounted with nolock at /apps"),
    ("/shared/cache", "NFS mounted with local_lock=flock at /shared"),
    ("/lustre/u/alice", None),
    ("/lustre/old/alice", "Lustre mounted with localflock at /lustre/old"),
    ("/mnt/beegfs/c", "BeeGFS at /mnt/beegfs (flock is per machine unless "
                      "tuneUseGlobalFileLocks)"),
    ("/gpfs/work/c", None),
    ("/tmp/x", None),
])
def test_which_mounts_keep_flock_on_one_machine(path: str, local: object) -> None:
    assert flock_is_local(mount_of(path, parse_mountinfo(MOUNTINFO))) == local


def test_mountinfo_escapes_and_prefixes() -> None:
    mounts = parse_mountinfo(MOUNTINFO + "\ngarbage line\n")
    assert mount_of("/mnt/with space/x", mounts).point == "/mnt/with space"
    assert mount_of("/homework", mounts).point == "/"  # a prefix of the name is not the mount
    # this machine's own table parses and holds its root
    assert local_flock_reason(Path("/")) is None
    assert any(m.point == "/" for m in parse_mountinfo(Path("/proc/self/mountinfo").read_text()))


_COUNTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mamba_doctor.download.sharedfs import lock_file
    def wait(attempt):
        while not attempt():
            time.sleep(0.005)
    lock, counter = Path(sys.argv[1]), Path(sys.argv[2])
    for _ in range(15):
        with lock_file(lock, wait=wait):
            value = int(counter.read_text())
            time.sleep(0.002)  # widen the window a missing lock would lose updates in
            counter.write_text(str(value + 1))
""")


def test_lock_file_excludes_other_processes(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    lock = tmp_path / "x.whl.lock.excl"
    procs = [subprocess.Popen([sys.executable, "-c", _COUNTER, str(lock), str(counter)])
             for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert counter.read_text() == "60"
    assert not lock.exists()


def _give_up_after(seconds: float):
    def wait(attempt) -> None:
        deadline = time.monotonic() + seconds
        while not attempt():
            if time.monotonic() > deadline:
                raise TimeoutError
            time.sleep(0.01)
    return wait


def test_a_live_lock_is_respected_and_a_dead_ones_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / "w.lock.excl"
    lock.write_text("login01 4242\n")  # another machine, fresh: someone holds it
    with pytest.raises(TimeoutError), lock_file(lock, wait=_give_up_after(0.3)):
        pass
    old = time.time() - 3600
    os.utime(lock, (old, old))  # ... until nobody refreshed it for an hour
    with lock_file(lock, wait=_give_up_after(1.0)):
        assert lock.read_text().split() == [socket.gethostname(), str(os.getpid())]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    lock.write_text(f"{socket.gethostname()} {dead}\n")  # this machine, its process is gone
    with lock_file(lock, wait=_give_up_after(1.0)):
        pass
    assert not lock.exists()
    assert not list(tmp_path.glob("*.stale.*"))


def test_the_holder_keeps_its_lock_fresh(tmp_path: Path) -> None:
    lock = tmp_path / "w.lock.excl"
    with lock_file(lock, wait=_give_up_after(1.0), heartbeat_s=0.05):
        old = time.time() - 3600
        os.utime(lock, (old, old))
        time.sleep(0.3)
        assert time.time() - lock.stat().st_mtime < 5


def test_file_lock_uses_the_lock_file_where_flock_is_per_machine_or_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.whl.lock"
    monkeypatch.setattr(lock_mod, "local_flock_reason", lambda folder: "NFS mounted with nolock")
    with lock_mod.file_lock(target):
        assert (tmp_path / "a.whl.lock.excl").exists()
    assert not (tmp_path / "a.whl.lock.excl").exists()
    monkeypatch.setattr(lock_mod, "local_flock_reason", lambda folder: None)

    def refused(fd: int, op: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(lock_mod.fcntl, "flock", refused)
    with lock_mod.file_lock(target):
        assert (tmp_path / "a.whl.lock.excl").exists()
    (tmp_path / "a.whl.lock.excl").write_text("login01 1\n")
    with pytest.raises(DownloadError, match="timed out waiting for the lock"), \
            lock_mod.file_lock(target, timeout=0.3):
        pass
