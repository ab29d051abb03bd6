"""The --json contract of each command: the keys of `data` (and of the records inside it) that
scripts may read. A key added or removed here is a change of the documented interface."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from mamba_doctor._run import Completed
from mamba_doctor.commands.smoke import smoke_outcome
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.smoke.runner import RESULT_PREFIX, SmokeOptions, run_smoke
from tests.outcomes import envelope_of
from tests.test_consistency import CASES, PY, _documents

ENVELOPE = {"schema_version", "command", "status", "exit_code", "data", "errors"}
ERROR = {"code", "message", "hint"}
ADVICE = {"key", "summary", "commands", "notes"}

CHECK = {"environment", "checks", "verdict", "blocking", "next_steps", "advice", "import_errors",
         "diagnoses", "resolution", "index"}
CHECK_ROW = {"id", "status", "summary", "hint", "problem", "commands"}
FETCH = {"environment_source", "environment", "assumed", "index", "resolutions", "advice",
         "downloads"}
RESOLUTION = {"package", "version", "requested", "tag", "filename", "url", "sha256", "exact",
              "wheel", "considered", "release_tags", "rejected_summary", "rejected",
              "alternatives", "unchecked", "notes", "setup_py_guess"}
ALTERNATIVE = {"kind", "summary", "rank", "package", "release", "torch", "variant", "python",
               "arches", "commands", "notes"}
INSTALL = {"python", "dry_run", "steps", "wheels", "plan", "pins", "previous", "installed",
           "restore", "backups", "verification", "diagnosis", "check"}
INSTALL_STEP = {"name", "status", "duration", "command", "detail"}
SMOKE_FAILED = {"target_python", "options", "duration_s", "passed", "device", "backend", "paths",
                "label", "tests_cuda_kernels", "input_shape", "output_shape", "parameters",
                "checks", "timings_ms", "peak_memory_mb", "errors", "environment", "diagnoses"}
EXPLAIN = {"source", "lines", "environment_used", "probe_note", "diagnoses", "facts_from",
           "other_machine", "origin_note"}
DIAGNOSIS = {"id", "title", "score", "cause", "fix", "matched", "phase", "related", "confirmed",
             "tailored"}


def _case(name: str) -> Any:
    return next(c for c in CASES if c.name == name)


def test_contract_when_nothing_fits(tmp_path: Path) -> None:
    docs = _documents(_case("torch211-no-wheels"), tmp_path)
    for name, doc in docs.items():
        assert set(doc) == ENVELOPE and doc["command"] == name, name
        assert all(set(e) == ERROR for e in doc["errors"]), name
    check = docs["check"]["data"]
    assert set(check) == CHECK
    assert all(set(row) == CHECK_ROW for row in check["checks"])
    assert check["advice"] and all(set(a) == ADVICE for a in check["advice"])
    fetch = docs["fetch-wheel"]
    assert fetch["exit_code"] == 4 and set(fetch["data"]) == FETCH
    for res in fetch["data"]["resolutions"]:
        assert set(res) == RESOLUTION
        assert res["alternatives"] and all(set(a) == ALTERNATIVE for a in res["alternatives"])
    install = docs["install"]
    assert install["exit_code"] == 4
    assert set(install["data"]) == INSTALL | {"resolution", "advice"}
    assert all(set(s) == INSTALL_STEP for s in install["data"]["steps"])
    assert set(docs["smoke"]["data"]) == SMOKE_FAILED
    explain = docs["explain"]["data"]
    assert set(explain) == EXPLAIN and all(set(d) == DIAGNOSIS for d in explain["diagnoses"])


def test_contract_when_the_wheels_fit(tmp_path: Path) -> None:
    docs = _documents(_case("torch24-abi-unknown"), tmp_path)
    assert docs["check"]["exit_code"] == 0 and set(docs["check"]["data"]) == CHECK
    fetch = docs["fetch-wheel"]
    assert fetch["exit_code"] == 0 and set(fetch["data"]) == FETCH
    assert fetch["data"]["downloads"] == []  # a dry run
    install = docs["install"]
    assert install["exit_code"] == 0 and set(install["data"]) == INSTALL
    assert install["data"]["dry_run"] is True


def test_contract_of_a_passing_smoke_run() -> None:
    child = {"passed": True, "device": "cuda", "backend": "cuda", "paths": ["cuda", "reference"],
             "label": "mamba_ssm CUDA kernels", "tests_cuda_kernels": True,
             "input_shape": [2, 12, 5, 64], "output_shape": [2, 12, 5, 64], "parameters": 1,
             "checks": [{"name": "forward", "status": "ok", "detail": "max abs err 1e-6"}],
             "timings_ms": {"forward": 1.0}, "peak_memory_mb": 10.0, "errors": []}

    def run(argv: Any, **_kw: Any) -> Completed:
        return Completed(tuple(argv), 0, RESULT_PREFIX + json.dumps(child) + "\n", "")

    env = _case("torch24-abi-unknown").env
    target = Target(PY, env=replace(env, torch=replace(env.torch, cxx11abi=False)), run=run)
    report = run_smoke(target, options=SmokeOptions(timeout=30))
    code, doc = envelope_of("smoke", lambda: smoke_outcome(report))
    assert code == 0 and doc["errors"] == []
    assert set(doc["data"]) == SMOKE_FAILED  # the same keys, passed or not
    assert doc["data"]["diagnoses"] == []
