"""The smoke child's report: checks, errors and facts, printed as one JSON line at the end.

Runs inside the target interpreter (Python 3.8+, stdlib only): see main.py.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import traceback
from typing import Any, Dict, Optional

RESULT_PREFIX = "MAMBA_DOCTOR_SMOKE "
PROTOCOL = 1


class Report:
    """Accumulates checks, errors and facts; `emit` prints them as the one JSON line."""

    def __init__(self, opts: Dict[str, Any]) -> None:
        self.data: Dict[str, Any] = {
            "protocol": PROTOCOL, "python": platform.python_version(),
            "executable": sys.executable, "options": opts, "checks": [], "errors": [],
            "timings_ms": {}, "max_abs_err": {}, "tests_cuda_kernels": False,
        }

    def check(self, name: str, status: str, detail: str = "", **extra: Any) -> None:
        entry = {"name": name, "status": status, "detail": detail}
        entry.update(extra)
        self.data["checks"].append(entry)

    def error(self, stage: str, exc: BaseException) -> str:
        text = "%s: %s" % (type(exc).__name__, exc)
        tb = traceback.format_exc().strip().splitlines()[-12:]
        self.data["errors"].append({"stage": stage, "message": text, "traceback": tb})
        return text

    def emit(self) -> None:
        checks = self.data["checks"]
        self.data["passed"] = bool(checks) and not any(c["status"] == "fail" for c in checks)
        sys.stdout.write(RESULT_PREFIX + json.dumps(self.data, default=str) + "\n")
        sys.stdout.flush()


def stage(name: str) -> None:
    sys.stderr.write("smoke-stage: %s\n" % name)
    sys.stderr.flush()


def package_version(name: str) -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover  # Python < 3.8
        return None
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def timed_ms(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3
