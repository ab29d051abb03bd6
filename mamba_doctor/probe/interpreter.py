"""Which Python interpreter the doctor works on: --python, else the active environment, else itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor.errors import UsageError


def resolve_target_python(
    explicit: Optional[str], *, environ: Optional[Mapping[str, str]] = None
) -> str:
    """Return the path of the target interpreter.

    `explicit` may be an interpreter or an environment directory (a venv or conda prefix).
    Otherwise the active virtualenv ($VIRTUAL_ENV), then the active conda env ($CONDA_PREFIX),
    then the interpreter running the doctor. Raises UsageError when the path is not there or
    cannot be executed; whether it really is Python is found out by the probe that runs it.
    """
    env = os.environ if environ is None else environ
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            found = _python_in_prefix(path)
            if found is None:
                raise UsageError(
                    f"--python {explicit}: no Python interpreter in this directory",
                    hint="Give the interpreter itself, e.g. --python /path/to/env/bin/python.",
                )
            return str(found)
        if not path.exists():
            raise UsageError(
                f"--python {explicit}: no such file",
                hint="Give the interpreter of the environment to work on, e.g. "
                "--python ~/miniconda3/envs/mamba/bin/python.",
            )
        if not os.access(path, os.X_OK):
            raise UsageError(f"--python {explicit}: not executable")
        return str(path)
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = env.get(var)
        if prefix:
            found = _python_in_prefix(Path(prefix))
            if found is not None:
                return str(found)
    return sys.executable


def _python_in_prefix(prefix: Path) -> Optional[Path]:
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        candidate = prefix / rel
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
