"""What `check` blocks on that installing the extensions cannot fix, said when `install` starts.

`install` installs wheels that fit the target's torch; it never changes torch or the driver. So
on a V100 whose driver runs CUDA 11.4 under a CUDA 12 torch it can install correctly and the
kernels still cannot run there. Rather than stay silent where `check` exits 3, `install` names
those rows with check's own hints (one advice engine: tests/test_consistency.py), and goes on:
the same row may not hold where the kernels will run (a login node has no GPU; a compute node
does), so it is the user's call, not a reason to refuse.
"""

from __future__ import annotations

from typing import Any

from mamba_doctor.check.verdicts import blocking_failures, evaluate
from mamba_doctor.models import CheckResult
from mamba_doctor.probe.interpreter import Target

# Rows an install changes: the mamba packages' versions and imports (nvcc matters only to a
# source build, which checks it itself before compiling).
INSTALL_FIXES = frozenset({"mamba_imports", "mamba_versions", "nvcc"})


def unfixed_blockers(target: Target) -> tuple[CheckResult, ...]:
    """check's blocking failures on `target` that remain after a successful install."""
    return tuple(c for c in blocking_failures(evaluate(target)) if c.id not in INSTALL_FIXES)


def blockers_data(rows: tuple[CheckResult, ...]) -> dict[str, Any]:
    """`data.check` of install's JSON: the rows' ids and their hints, each once."""
    return {"blocking": [c.id for c in rows],
            "next_steps": list(dict.fromkeys(c.hint for c in rows if c.hint))}
