"""Run the smoke test in a child of the target interpreter; turn its JSON line into a report.

The child gets a temporary package holding only copies of the block modules and the child code
(never the doctor's site-packages, whose typer/rich/typing_extensions could shadow the target's),
runs with a timeout, and reports one JSON line. A crash or hang is itself a finding.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from mamba_doctor._resources import read_bytes
from mamba_doctor._run import Completed
from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment, TorchInfo
from mamba_doctor.probe.interpreter import Target

CHILD_PACKAGE = "_mamba_doctor_smoke"
# Everything the child imports, as paths inside mamba_doctor/. They use relative imports only, so
# a copy laid out the same way under another package name works.
CHILD_FILES = ("block/__init__.py", "block/trace.py", "block/chunked.py", "block/scan.py",
               "block/mamba_ref.py", "block/st_block.py", "block/parts.py",
               "smoke/child/__init__.py", "smoke/child/main.py", "smoke/child/report.py",
               "smoke/child/weights.py", "smoke/child/reference.py", "smoke/child/stress.py",
               "smoke/child/kernels.py")
RESULT_PREFIX = "MAMBA_DOCTOR_SMOKE "  # = child/report.py's (not imported: torch-free)
STAGE_PREFIX = "smoke-stage: "
PROBE_TIMEOUT_S = 30.0  # only for tailoring a failure's fixes
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
             f"from {CHILD_PACKAGE}.smoke.child.main import main; "
             "sys.exit(main(sys.argv[2:]))")

DEVICES = ("auto", "cuda", "cpu")
BACKENDS = ("auto", "cuda", "ref")
DTYPES = ("float32", "float16", "bfloat16")
TEMPORALS = ("mamba", "attention")


@dataclass(frozen=True)
class SmokeOptions:
    """What to run: batch B, time steps T, graph nodes N, width D = heads * d, K heads
    (docs/smoke.md)."""

    device: str = "auto"
    backend: str = "auto"
    batch: int = 2
    steps: int = 12
    nodes: int = 5
    dim: int = 64
    heads: int = 8
    dtype: str = "float32"
    temporal: str = "mamba"
    trace: bool = False
    timeout: float = 600.0
    seed: int = 0
    stress: bool = False  # also run with trained-like Mamba weights (large Δ·|A|)

    def validate(self) -> None:
        """Raise UsageError for values the block or the comparison cannot take."""
        for flag, value, allowed in (("--device", self.device, DEVICES),
                                     ("--backend", self.backend, BACKENDS),
                                     ("--dtype", self.dtype, DTYPES),
                                     ("--temporal", self.temporal, TEMPORALS)):
            if value not in allowed:
                raise UsageError("{} {}: choose one of {}".format(flag, value, ", ".join(allowed)))
        for flag, size, low in (("--batch", self.batch, 1), ("--steps", self.steps, 2),
                                ("--nodes", self.nodes, 1), ("--heads", self.heads, 1),
                                ("--dim", self.dim, 1)):
            if size < low:
                raise UsageError(f"{flag} {size}: must be at least {low}")
        if self.dim % self.heads:
            raise UsageError(f"--dim {self.dim} is not divisible by --heads {self.heads}",
                             hint="D = heads·d: e.g. --dim 64 --heads 8 gives heads of width 8.")
        if self.timeout <= 0:
            raise UsageError("--timeout must be positive")
        if self.device == "cpu" and self.backend == "cuda":
            raise UsageError("--backend cuda needs --device cuda (or auto): the mamba_ssm "
                             "kernels only run on a GPU")

    def to_child(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "timeout"}


@dataclass(frozen=True)
class SmokeReport:
    """The outcome: `data` is the JSON view (see `build_data`); `message` says why it failed."""

    passed: bool
    data: dict[str, Any] = field(default_factory=dict)
    message: Optional[str] = None
    hint: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def stage_child_package(dest: Path) -> Path:
    """Copy the child's modules into dest/_mamba_doctor_smoke; return dest (for sys.path)."""
    pkg = dest / CHILD_PACKAGE
    package_root = Path(__file__).resolve().parent.parent
    for folder in ("", "smoke"):  # packages above the copied files, left empty
        (pkg / folder).mkdir(parents=True, exist_ok=True)
        (pkg / folder / "__init__.py").write_text('"""mamba-doctor smoke child (a copy)."""\n')
    for name in CHILD_FILES:
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_bytes(read_bytes(package_root / name))  # also from the zipapp
    return dest


def build_child_command(python: str, path_entry: str, options: SmokeOptions) -> list[str]:
    # -X faulthandler: a segfault in a kernel prints the Python stack to stderr.
    return [python, "-X", "faulthandler", "-c", BOOTSTRAP, path_entry,
            json.dumps(options.to_child(), sort_keys=True)]


def parse_child_output(stdout: str) -> Optional[dict[str, Any]]:
    """The last result line's JSON object, or None when there is none (crash, hang, garbage)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                doc = json.loads(line[len(RESULT_PREFIX):])
            except ValueError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def last_stage(stderr: str) -> Optional[str]:
    stages = [ln[len(STAGE_PREFIX):].strip() for ln in stderr.splitlines()
              if ln.startswith(STAGE_PREFIX)]
    return stages[-1] if stages else None


def run_smoke(target: Target, *, options: SmokeOptions) -> SmokeReport:
    """Run the smoke test in the target and return the report (never raises for a failed test).

    Raises UsageError for invalid options. A crash, a hang (killed after options.timeout) or a
    missing torch give a failed report whose data says what happened, with the known failure
    it matches; its fixes are tailored to the target's facts (probed now if not yet known).
    """
    options.validate()
    python = target.python
    with tempfile.TemporaryDirectory(prefix="mamba-doctor-smoke-") as tmp:
        stage_child_package(Path(tmp))
        completed = target.run(build_child_command(python, tmp, options),
                               timeout=options.timeout, cwd=tmp)
    child = parse_child_output(completed.stdout)
    data = build_data(python, options, child, completed)
    text = _failure_texts(data, completed)
    data["diagnoses"] = _diagnose(text, _facts(target, data) if text.strip() else None, python)
    message, hint = failure_message(data)
    return SmokeReport(passed=bool(data["passed"]), data=data, message=message, hint=hint)


_ENV_KEYS = ("python", "executable", "torch", "torch_cuda", "cuda_available", "gpu",
             "compute_capability", "packages", "kernel")


def build_data(python: str, options: SmokeOptions, child: Optional[dict[str, Any]],
               completed: Completed) -> dict[str, Any]:
    """Pure: the JSON view of one run, from the child's document (or the lack of one)."""
    data: dict[str, Any] = {"target_python": python, "options": asdict(options),
                            "duration_s": round(completed.duration_s, 3)}
    if child is None:
        reason = completed.describe_failure() or "the child printed no result"
        stage = last_stage(completed.stderr)
        data.update({
            "passed": False, "device": None, "backend": None, "checks": [
                {"name": "child process", "status": "fail",
                 "detail": reason + (f" during stage '{stage}'" if stage else "")}],
            "crash": {"reason": reason, "signal": completed.signal_name,
                      "timed_out": completed.timed_out, "returncode": completed.returncode,
                      "last_stage": stage, "stderr_tail": completed.stderr[-4000:]},
            "timings_ms": {}, "errors": [],
        })
        return data
    data["passed"] = bool(child.get("passed"))
    for key in ("device", "backend", "paths", "label", "tests_cuda_kernels", "input_shape",
                "output_shape", "parameters", "checks", "timings_ms", "peak_memory_mb",
                "errors"):
        data[key] = child.get(key)
    if child.get("stress_regime"):
        data["stress_regime"] = child["stress_regime"]
    data["environment"] = {k: child.get(k) for k in _ENV_KEYS}
    if child.get("max_abs_err"):
        data["max_abs_err"] = child["max_abs_err"]
    if options.trace:
        data["trace"] = child.get("trace", [])
    return data


def _failure_texts(data: dict[str, Any], completed: Completed) -> str:
    texts = [e.get("message", "") for e in data.get("errors") or []]
    texts += [c["detail"] for c in data.get("checks") or [] if c.get("status") == "fail"]
    if data.get("crash"):
        texts.append(completed.stderr[-4000:])
    return "\n".join(t for t in texts if t)


def _facts(target: Target, data: dict[str, Any]) -> Optional[Environment]:
    """The target's facts for telling look-alikes apart and tailoring the fixes (the same facts
    `check` uses, so both recommend the same): probed now when the target came unprobed; when
    the probe fails, what the child saw of torch; None when nothing is known."""
    if target.has_facts:
        return target.env
    from mamba_doctor.probe import probed

    try:
        return probed(target, timeout=PROBE_TIMEOUT_S).env
    except Exception:  # a failed probe only costs the tailoring
        seen = data.get("environment") or {}
        if not seen.get("torch"):
            return None
        return Environment(torch=TorchInfo(installed=True, version=seen["torch"],
                                           cuda=seen.get("torch_cuda"),
                                           cuda_available=seen.get("cuda_available")))


def _diagnose(text: str, env: Optional[Environment], python: str) -> list[dict[str, Any]]:
    """Known-failure matches from mamba_doctor.diagnose.engine, best first."""
    if not text.strip():
        return []
    from mamba_doctor.diagnose.engine import diagnose

    try:
        return [d.to_dict() for d in diagnose(text, env, limit=3, python=python)]
    except Exception:  # a bug there must not hide the smoke result itself
        return []


def failure_message(data: dict[str, Any]) -> tuple[Optional[str], Optional[str]]:
    """(message, hint) for a failed run; (None, None) when it passed."""
    if data.get("passed"):
        return None, None
    diagnoses = data.get("diagnoses") or []
    hint = diagnoses[0]["fix"][0] if diagnoses and diagnoses[0].get("fix") else None
    crash = data.get("crash")
    if crash:
        where = " during stage '{}'".format(crash["last_stage"]) if crash.get("last_stage") else ""
        return ("the smoke test did not report: {}{}".format(crash["reason"], where),
                hint or _crash_hint(crash))
    failed = [c for c in data.get("checks") or [] if c.get("status") == "fail"]
    if any(c["name"] == "import torch" for c in failed):
        errs = data.get("errors") or [{}]
        return ("torch cannot be imported in {}: {}".format(data["target_python"],
                                                        errs[0].get("message", "")),
                hint or "Install PyTorch in that environment first, or point --python at the "
                "environment that has it.")
    names = ", ".join(c["name"] for c in failed[:4])
    plural = "" if len(failed) == 1 else "s"
    return (f"smoke test failed: {len(failed)} check{plural} failed ({names})",
            hint or (failed[0]["detail"] if failed else None))


def _crash_hint(crash: dict[str, Any]) -> str:
    # The human view already shows the child's stderr tail; --json carries it in data.crash.
    if crash.get("timed_out"):
        return ("If the machine is only slow (a first CUDA call compiles kernels), raise "
                "--timeout; a hang inside a CUDA kernel usually means a wheel built for another "
                "GPU architecture, torch or CUDA.")
    return ("See the child's stderr (data.crash.stderr_tail with --json); a crash inside a CUDA "
            "kernel usually means a wheel built for another GPU architecture, torch or CUDA.")
