"""Other Python interpreters on this machine (python3.X on PATH, then pyenv), for the tests that
run the tool on 3.8 and on the newest Python, as scripts/test-pythons.sh does."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


@functools.lru_cache(maxsize=None)
def find_python(version: str) -> Optional[str]:
    """An interpreter of this minor version ("3.8"), or None."""
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(PYENV.glob(f"versions/{version}.*/bin/python"))]
    for cand in candidates:
        if not cand or not os.access(cand, os.X_OK):
            continue
        out = subprocess.run([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip() == version:
            return cand
    return None


def newest_python() -> Optional[str]:
    for minor in range(20, 8, -1):
        found = find_python(f"3.{minor}")
        if found:
            return found
    return None
