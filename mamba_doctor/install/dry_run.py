"""Why a failed plan check failed: a conflict with the pins (torch), a broken pip, a
Requires-Python the target does not meet, a requirement the index lacks. Said as what it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._files import last_lines
from mamba_doctor.advice import commands as cmd
from mamba_doctor.errors import InstallFailed
from mamba_doctor.install.plan import Installer


@dataclass(frozen=True)
class DryRunFailure:
    """Why pip's (or uv's) dry run failed, read from its output."""

    kind: str  # broken_installer | python | pin_conflict | conflict | unavailable | other
    detail: str  # the line that says it


_BROKEN = re.compile(r"Traceback \(most recent call last\)|No module named '?pip|"
                     r"ModuleNotFoundError|ImportError|SyntaxError")
_PYTHON = re.compile(r"(?i)requires-python|requires a different python|"
                     r"does not satisfy python|python version .* does not satisfy")
_CONFLICT = re.compile(r"(?i)ResolutionImpossible|conflicting dependencies|"
                       r"the conflict is caused by|no solution found|unsatisfiable")
_UNAVAILABLE = re.compile(r"(?i)no matching distribution found for (\S+)|"
                          r"could not find a version that satisfies the requirement (\S+)|"
                          r"because (\S+) was not found in the")


def classify_dry_run_failure(output: str, pins: Mapping[str, str]) -> DryRunFailure:
    """Tell a conflict with the pinned packages from a broken pip, a Requires-Python the target
    does not meet, a requirement the index does not have, or anything else."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]

    def first(pattern: re.Pattern[str]) -> Optional[str]:
        return next((ln for ln in lines if pattern.search(ln)), None)

    broken = first(_BROKEN)
    if broken is not None:
        return DryRunFailure("broken_installer", lines[-1] if lines else broken)
    python = first(_PYTHON)
    if python is not None:
        return DryRunFailure("python", python)
    conflict = first(_CONFLICT)
    if conflict is not None:
        pinned = [ln for ln in lines if any(re.search(rf"(?i)\b{re.escape(name)}\b", ln)
                                             for name in pins)]
        if pinned:
            return DryRunFailure("pin_conflict", pinned[0])
        return DryRunFailure("conflict", conflict)
    unavailable = first(_UNAVAILABLE)
    if unavailable is not None:
        return DryRunFailure("unavailable", unavailable)
    return DryRunFailure("other", lines[-1] if lines else "no output")


def dry_run_failed(installer: Installer, done: _run.Completed,
                    pins: Mapping[str, str]) -> InstallFailed:
    """The failed plan check, said as what it is: only a conflict with the pins is a torch
    problem; a broken pip or a Requires-Python the target does not meet is not."""
    output = (done.stderr + "\n" + done.stdout).strip()
    tail = last_lines(output, 15)
    why = classify_dry_run_failure(output, pins) if output or done.ok else \
        DryRunFailure("broken_installer", done.describe_failure())
    if done.start_error or done.timed_out:
        why = DryRunFailure("broken_installer", done.describe_failure())
    pinned = ", ".join(f"{k}=={v}" for k, v in sorted(pins.items()))
    said = "\nResolver said:\n" + tail if tail else ""
    if why.kind in ("pin_conflict", "conflict"):  # pip --quiet often names no package
        message = (f"the requirements of these wheels cannot be met without changing {pinned}; "
                   "nothing was changed")
        hint = ("Choose a version whose requirements fit your torch (--version), or keep them "
                "from moving with --keep." + said)
    elif why.kind == "broken_installer":
        message = (f"the target's {installer.kind} does not work ({why.detail}); nothing was "
                   "changed")
        hint = ("Repair it first (this does not touch torch): "
                f"{cmd.interpreter(installer.target.python)} -m ensurepip --upgrade, or "
                "reinstall pip in that environment." + said)
    elif why.kind == "python":
        message = f"these wheels do not support the target's Python ({why.detail}); nothing was " \
                  "changed"
        hint = ("Use a release built for this Python (`mamba-doctor fetch-wheel --dry-run` "
                "lists them), or another interpreter with --python." + said)
    elif why.kind == "unavailable":
        message = f"a requirement of these wheels is not available ({why.detail}); nothing was " \
                  "changed"
        hint = ("Check the package index your pip uses (or give --find-links DIR for an "
                "offline install)." + said)
    else:
        message = f"the installer's dry run failed ({why.detail}); nothing was changed"
        hint = "See the installer's output." + said
    return InstallFailed(message, hint=hint, data={
        "resolver_output": tail, "pins": dict(pins), "dry_run_failure": why.kind})
