"""The package's own data files, read the same way from a directory and from a zipapp.

Run as `python3 mamba-doctor.pyz` (scripts/build-zipapp.py), a module's `__file__` is a path
*inside* the archive (`/srv/mamba-doctor.pyz/mamba_doctor/knowledge/failures.json`), which
`open()` cannot read. The normal path stays one plain file read; only when that fails is the
enclosing archive looked for, and read through zipimport, whose table of contents Python has
already loaded to import the package (https://docs.python.org/3/library/zipimport.html).
"""

from __future__ import annotations

import os
import zipimport
from pathlib import Path
from typing import Mapping, Optional


def read_bytes(path: Path) -> bytes:
    """The bytes of `path`, a file on disk or a member of the zip archive it lies in."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        archive = enclosing_archive(path)
        if archive is None:
            raise
    try:
        return zipimport.zipimporter(str(archive)).get_data(str(path))
    except OSError:
        raise FileNotFoundError(f"{path}: not in {archive}") from None


def is_file(path: Path) -> bool:
    """Path.is_file(), also true for a member of the zip archive `path` lies in."""
    if path.is_file():
        return True
    archive = enclosing_archive(path)
    if archive is None:
        return False
    try:
        zipimport.zipimporter(str(archive)).get_data(str(path))
    except OSError:
        return False
    return True


def enclosing_archive(path: Path) -> Optional[Path]:
    """The zip file that `path` is inside (the first ancestor that is a file), else None."""
    for parent in path.parents:
        if parent.is_file():
            try:
                zipimport.zipimporter(str(parent))
            except zipimport.ZipImportError:
                return None
            return parent
        if parent.is_dir():
            return None
    return None


ZIPAPP_ENV = "MAMBA_DOCTOR_ZIPAPP"  # set by the zipapp's __main__ (mamba_doctor/bundle/zipapp.py)


def zipapp_archive(environ: Optional[Mapping[str, str]] = None) -> Optional[Path]:
    """The mamba-doctor.pyz this process runs from (in place, or unpacked from it), else None."""
    inside = enclosing_archive(Path(__file__))
    if inside is not None:
        return inside
    named = (os.environ if environ is None else environ).get(ZIPAPP_ENV)
    return Path(named) if named and Path(named).is_file() else None
