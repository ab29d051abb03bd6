"""Where the doctor keeps its cache and finds its data; resolved from flags and environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor._resources import is_file

CACHE_ENV = "MAMBA_DOCTOR_CACHE_DIR"
MIRROR_ENV = "MAMBA_DOCTOR_MIRROR"


def cache_dir(environ: Optional[Mapping[str, str]] = None) -> Path:
    """The cache directory: $MAMBA_DOCTOR_CACHE_DIR, else the platform's user cache dir."""
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "mamba-doctor" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mamba-doctor"
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mamba-doctor"


def mirrors_from_env(environ: Optional[Mapping[str, str]] = None) -> tuple[str, ...]:
    """$MAMBA_DOCTOR_MIRROR: one or more URL prefixes separated by commas or whitespace."""
    env = os.environ if environ is None else environ
    raw = env.get(MIRROR_ENV, "")
    return tuple(p for p in raw.replace(",", " ").split() if p)


def index_dir() -> Path:
    """wheels_index/ of a checkout, or the copy an installed wheel carries as _wheels_index/: the
    wheel index and the torch/CUDA tables (wheels_index/SOURCES.md)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_wheels_index", package.parent / "wheels_index"):
        if is_file(candidate / "mamba_ssm.json"):  # also inside the zipapp
            return candidate
    raise FileNotFoundError("the wheel index is missing from this installation of mamba-doctor")
