"""mamba-doctor: gets Mamba (mamba-ssm) working on a machine and proves it.

The public API is what `__all__` names; each name is imported on first use so that
`import mamba_doctor` (and the CLI) stays fast and never imports torch or requests.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Environment": "mamba_doctor.models",
    "probe_environment": "mamba_doctor.probe",
    "evaluate": "mamba_doctor.check.verdicts",
    "load_index": "mamba_doctor.wheels.index",
    "resolve": "mamba_doctor.wheels.resolve",
    "resolve_pair": "mamba_doctor.wheels.resolve",
    "fetch_files": "mamba_doctor.download.fetch",
    "FetchRequest": "mamba_doctor.download.fetch",
    "diagnose": "mamba_doctor.diagnose.engine",
    "MambaRef": "mamba_doctor.block",
    "STMambaBlock": "mamba_doctor.block",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mamba_doctor' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
