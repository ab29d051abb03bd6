"""The program the nodes run: this installation's entry point, a zipapp, or --doctor PATH;
checked here before any job is submitted."""

from __future__ import annotations

import logging
import os
import re
import zipfile
from pathlib import Path
from typing import Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.errors import UsageError

logger = logging.getLogger(__name__)

# Folders that are private to each machine on nearly every cluster: a doctor or environment
# there is not what the compute nodes see.
NODE_LOCAL = ("/tmp", "/var/tmp", "/dev/shm", "/run")


def doctor_argv(path: Optional[str], *, argv0: str, executable: str,
                default_script: Optional[str]) -> tuple[str, ...]:
    """The command line that runs the doctor: `path` when given (a zipapp without its execute
    bit runs through `python3`), else the zipapp this process runs from, else the console
    script, else `python -m mamba_doctor`. Absolute paths: the nodes do not share our cwd."""
    if path:
        return _program(os.path.abspath(os.path.expanduser(path)))
    if argv0 and os.path.isfile(argv0) and zipfile.is_zipfile(argv0):
        return _program(os.path.abspath(argv0))
    if default_script:
        return (os.path.abspath(default_script),)
    return (executable, "-m", "mamba_doctor")


def _program(path: str) -> tuple[str, ...]:
    if os.path.isfile(path) and not os.access(path, os.X_OK) and zipfile.is_zipfile(path):
        return ("python3", path)
    return (path,)


def check_doctor(argv: Sequence[str], *, run: Runner = _run.run, timeout: float = 60.0) -> str:
    """Run `<doctor> --version` here and return the version it prints. Raises UsageError when
    it is missing, not executable, or not mamba-doctor."""
    program = argv[-1] if argv[0] == "python3" else argv[0]
    where = Path(program)
    if where.is_absolute() and not where.exists():
        raise UsageError(f"--doctor {program}: no such file",
                         hint="Give the mamba-doctor entry point or zipapp on a filesystem "
                         "every node mounts (e.g. ~/bin/mamba-doctor.pyz).")
    done = run([*argv, "--version"], timeout=timeout)
    match = re.search(r"mamba-doctor (\S+)", done.stdout)
    if not done.ok or match is None:
        why = done.describe_failure() or f"it printed {done.stdout.strip()[:80]!r}"
        raise UsageError(f"--doctor {' '.join(argv)} is not a working mamba-doctor: {why}",
                         hint="Give the mamba-doctor entry point or zipapp, e.g. "
                         "--doctor ~/venvs/tools/bin/mamba-doctor.")
    return match.group(1)


def warn_if_node_local(path: str, *, what: str) -> Optional[str]:
    """A warning (logged, and returned for the report) when `path` is in a per-machine
    folder such as /tmp; None otherwise."""
    real = os.path.realpath(path)
    for folder in NODE_LOCAL:
        if real == folder or real.startswith(folder + "/"):
            note = (f"{what} is under {folder} ({path}), which compute nodes usually do not "
                    "share; put it on the shared home or scratch filesystem")
            logger.warning("%s", note)
            return note
    return None
