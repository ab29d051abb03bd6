"""Writing into the cache and `--dest`: a full disk is exit 5, an unwritable cache a clear
message (the atomic writes themselves are mamba_doctor._files')."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Callable, Optional, TypeVar

from mamba_doctor._files import atomic_copy, atomic_write_text
from mamba_doctor.errors import DownloadError

T = TypeVar("T")

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# The cache (or --dest) cannot be written at all: read-only mount, another user's folder.
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class DiskFull(DownloadError):
    code = "disk_full"


class CacheNotWritable(DownloadError):
    code = "cache_not_writable"


def disk_full(path: Path, exc: OSError, *, kept: Optional[int] = None) -> DiskFull:
    if kept:
        hint = (f"Kept the {kept} bytes received so far; free some space (or set "
                "MAMBA_DOCTOR_CACHE_DIR to a larger disk) and run the same command again: "
                "it resumes.")
    else:
        hint = ("Free some space (or set MAMBA_DOCTOR_CACHE_DIR / --dest to a larger disk) and "
                "run the same command again; nothing half-written was left behind.")
    data = {"path": str(path)} if kept is None else \
        {"partial_path": str(path), "partial_bytes": kept}
    return DiskFull(f"no space left on the device while writing {path} "
                    f"({exc.strerror or exc})", hint=hint, data=data)


def not_writable(path: Path, exc: OSError) -> CacheNotWritable:
    return CacheNotWritable(
        f"cannot write {path} ({exc.strerror or exc})",
        hint="The cache folder is read-only or belongs to another user. Point "
             "MAMBA_DOCTOR_CACHE_DIR at a folder you can write; a cache shared by a group "
             "needs group write permission (chmod g+ws on its folders, umask 002).",
        data={"path": str(path)})


def storage_error(path: Path, exc: OSError) -> Optional[DownloadError]:
    """The DoctorError for an OSError of writing `path`, or None when it is not one of ours."""
    if exc.errno in NO_SPACE:
        return disk_full(path, exc)
    if exc.errno in NOT_WRITABLE:
        return not_writable(path, exc)
    return None


def guarded(target: Path, write: Callable[[], T]) -> T:
    """Run `write` (one of _files' atomic writes, which leave no temporary file on any failure,
    a mkdir, a removal), turning the storage failures a user can fix into DiskFull /
    CacheNotWritable."""
    try:
        return write()
    except OSError as exc:
        mapped = storage_error(target, exc)
        if mapped is not None:
            raise mapped from exc
        raise


def write_text_atomic(target: Path, text: str) -> None:
    guarded(target, lambda: atomic_write_text(target, text))


def copy_atomic(source: Path, target: Path, *, sha256: Optional[str] = None) -> bool:
    """_files.atomic_copy: False when the copy does not hash to `sha256` (nothing replaced)."""
    return guarded(target, lambda: atomic_copy(source, target, sha256=sha256))


def remove(path: Path) -> None:
    """Remove a file, a symlink or a whole folder at `path`; absent is fine.

    A sidecar or `.part` that is a folder (left by hand, or by another tool) must not make
    every later run fail.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
