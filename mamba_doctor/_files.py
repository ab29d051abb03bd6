"""Small file helpers used across stages, one copy each: atomic writes and copies, the sha256 of a
file, the last lines of a text."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import Optional

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _temp_beside(target: Path) -> Path:
    # Same directory as the target: os.replace is atomic only within one file system.
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def atomic_write_text(target: Path, text: str) -> None:
    """Write `text` to `target` so that a reader sees the old file or the new one, never half."""
    tmp = _temp_beside(target)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_copy(source: Path, target: Path, *, sha256: Optional[str] = None) -> bool:
    """Copy `source` to `target` atomically. With `sha256`, the copy must hash to it first: on a
    mismatch (a flaky USB stick, NFS) nothing is replaced and False is returned."""
    tmp = _temp_beside(target)
    try:
        shutil.copyfile(source, tmp)
        if sha256 is not None and sha256_file(tmp) != sha256.lower():
            return False
        os.replace(tmp, target)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def last_lines(text: str, n: int) -> str:
    """The last `n` lines of `text`, blank space around it trimmed (a log ends where it failed)."""
    return "\n".join(text.strip().splitlines()[-n:])
