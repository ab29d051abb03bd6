"""The target interpreter: Python, torch and the mamba packages, read by a child of it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Completed, Runner
from mamba_doctor.errors import UsageError
from mamba_doctor.models import PackageInfo, PythonInfo, TorchInfo
from mamba_doctor.probe.target_snippet import MARK, TARGET_SNIPPET

# Extension modules are imported one by one, each in its own stage; `provider` is the
# distribution whose version they report.
IMPORTS = (
    ("selective_scan_cuda", "mamba_ssm"),
    ("causal_conv1d_cuda", "causal_conv1d"),
    ("causal_conv1d", "causal_conv1d"),
    ("mamba_ssm", "mamba_ssm"),
)
STAGES = ("base", "torch", "cuda", *(f"import:{m}" for m, _ in IMPORTS), "libs")
REPORTED = ("mamba_ssm", "causal_conv1d", "triton", "einops", "transformers", "torch")
_NEEDS_TORCH = {"cuda", *(f"import:{m}" for m, _ in IMPORTS)}


@dataclass(frozen=True)
class TargetFacts:
    python: PythonInfo
    torch: TorchInfo
    packages: Mapping[str, PackageInfo]
    libstdcxx_path: Optional[str] = None
    stages: Mapping[str, Any] = field(default_factory=dict)  # raw stage records, for debugging
    distributions: Mapping[str, str] = field(default_factory=dict)  # every installed one


def parse_target_output(text: str) -> tuple[dict[str, dict[str, Any]], Optional[str]]:
    """The child's marked lines -> ({stage: record}, the stage that began but never ended)."""
    records: dict[str, dict[str, Any]] = {}
    begun: Optional[str] = None
    for line in text.splitlines():
        if not line.startswith(MARK):
            continue  # torch and friends may print on stdout too
        try:
            doc = json.loads(line[len(MARK):])
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        if "begin" in doc:
            begun = str(doc["begin"])
        elif "stage" in doc:
            records[str(doc["stage"])] = doc
            begun = None if begun == doc["stage"] else begun
    return records, begun


def probe_target(
    python: str, *, run: Runner = _run.run, environ: Mapping[str, str], timeout: float = 60.0,
    deep: bool = False,
) -> TargetFacts:
    """Run the snippet in `python`; a crash or hang in one stage is recorded, then the stages
    after it run in a fresh child. Raises UsageError when `python` is not a working Python.

    Unless `deep`, a CPU-only torch (read from torch/version.py) is not imported when no mamba
    package needs it: CUDA cannot work there, and the import costs seconds.
    """
    env = {**environ, "PYTHONIOENCODING": "utf-8"}
    deadline = time.monotonic() + timeout
    records: dict[str, dict[str, Any]] = {}
    pending = list(STAGES)
    while pending:
        left = deadline - time.monotonic()
        if left < 1.0:
            for stage in pending:
                records[stage] = _failed(stage, f"not tried: the {timeout:.0f} s budget ran out")
            break
        flags = [] if deep else ["--auto"]
        done = run([python, "-X", "faulthandler", "-c", TARGET_SNIPPET, *flags, *pending],
                   timeout=left, env=env)
        got, crashed = parse_target_output(done.stdout)
        records.update({k: v for k, v in got.items() if k in pending})
        crashed = crashed if crashed in pending else None
        if "base" not in records:
            raise _not_python(python, done)
        if crashed is None:
            crashed = next((s for s in pending if s not in records), None) if not done.ok else None
        if crashed is None:
            break
        records[crashed] = _failed(crashed, _crash_text(crashed, done))
        rest = pending[pending.index(crashed) + 1:]
        if crashed == "torch":  # nothing else can work without torch
            for stage in rest:
                if stage in _NEEDS_TORCH:
                    records[stage] = {"stage": stage, "ok": None, "skipped": "torch crashed"}
            rest = [s for s in rest if s not in _NEEDS_TORCH]
        pending = [s for s in rest if s not in records]
    return _assemble(records)


def _failed(stage: str, error: str) -> dict[str, Any]:
    return {"stage": stage, "ok": False, "error": error, "crashed": True}


def _crash_text(stage: str, done: Completed) -> str:
    what = "import torch" if stage == "torch" else (
        "torch.cuda initialisation" if stage == "cuda" else stage.replace(":", " "))
    if done.timed_out:
        head = f"`{what}` hung: the target was killed after {done.duration_s:.0f} s"
    elif done.signal_name:
        head = f"`{what}` crashed the interpreter ({done.signal_name})"
    else:
        head = f"`{what}` ended the interpreter (exit status {done.returncode})"
    tail = done.stderr.strip()[-3000:]
    return f"{head}\n{tail}" if tail else head


def _not_python(python: str, done: Completed) -> UsageError:
    why = done.describe_failure() or "it printed nothing the probe understands"
    detail = (done.stderr or done.stdout).strip().splitlines()[-1:] if done.start_error is None \
        else []
    message = f"--python {python} is not a working Python 3.8+ interpreter ({why})"
    if detail:
        message += f": {detail[0][:200]}"
    return UsageError(message, hint="Give the interpreter of the environment to check, e.g. "
                      "--python ~/venvs/mamba/bin/python.",
                      data={"python": {"executable": python}})


def _assemble(records: Mapping[str, dict[str, Any]]) -> TargetFacts:
    base = records["base"].get("result") or {}
    dists = base.get("dists") or {}
    python = PythonInfo(
        executable=base.get("executable"), version=base.get("version"),
        implementation=base.get("implementation"), abi_tag=base.get("abi_tag"),
        platform_tag=base.get("platform_tag"), pip_version=dists.get("pip"),
        is_venv=base.get("is_venv"), conda_prefix=base.get("conda_prefix"),
        externally_managed=base.get("externally_managed"),
        supported_platforms=tuple((base.get("tags") or {}).get("platforms") or ()),
        supported_abis=tuple((base.get("tags") or {}).get("abis") or ()),
        reasons={} if dists.get("pip") else {"pip_version": "pip is not installed in the target"},
    )
    packages = {name: PackageInfo(name, version=dists.get(name)) for name in REPORTED}
    for module, provider in IMPORTS:
        rec = records.get(f"import:{module}", {})
        packages[module] = PackageInfo(module, version=dists.get(provider),
                                       import_ok=rec.get("ok"), error=rec.get("error"))
    static = base.get("torch_static") or {}
    libs = records.get("libs", {}).get("result") or {}
    return TargetFacts(python=python, torch=_torch(records, dists.get("torch"), static),
                       packages=packages, libstdcxx_path=libs.get("libstdcxx"),
                       stages=dict(records), distributions=dict(base.get("installed") or {}))


def _torch(records: Mapping[str, dict[str, Any]], dist: Optional[str],
           static: Mapping[str, Any]) -> TorchInfo:
    rec = records.get("torch", {})
    version = static.get("version") or dist
    abi = _static_abi(static)
    if rec.get("skipped") == "cpu-only":
        return TorchInfo(
            installed=True, version=version, cuda=None, hip=None, cxx11abi=abi,
            cuda_available=False, device_count=0,
            reasons={"cuda": "a CPU-only build of torch",
                     "cuda_available": "not imported: a CPU-only build cannot use CUDA "
                     "(check --deep imports it anyway)"})
    if not rec.get("ok"):
        error = rec.get("error") or "torch was not probed"
        if dist is None and not static and "No module named 'torch'" in error:
            return TorchInfo(installed=False, reasons={"version": "torch is not installed"})
        # what torch/version.py says survives an import that crashes
        return TorchInfo(installed=True, version=version, cuda=static.get("cuda"),
                         hip=static.get("hip"), cxx11abi=abi, error=error,
                         reasons={"import": "`import torch` failed",
                                  "cuda_available": "torch did not import"})
    info = rec.get("result") or {}
    cuda_rec = records.get("cuda", {})
    cuda = cuda_rec.get("result") or {}
    reasons: dict[str, str] = {}
    if info.get("cuda") is None:
        reasons["cuda"] = "a ROCm build" if info.get("hip") else "a CPU-only build of torch"
    error = None
    if cuda_rec.get("ok") is False:
        error = cuda_rec.get("error")
        reasons["cuda_available"] = "torch.cuda failed (see error)"
    return TorchInfo(
        installed=True, version=info.get("version") or version, cuda=info.get("cuda"),
        hip=info.get("hip"), cxx11abi=info.get("cxx11abi"),
        cuda_available=cuda.get("available") if cuda_rec.get("ok") else None,
        device_count=cuda.get("device_count") if cuda_rec.get("ok") else None,
        capabilities=tuple(cuda.get("capabilities") or ()),
        arch_list=tuple(cuda.get("arch_list") or ()),
        error=error, reasons=reasons,
    )


def _static_abi(static: Mapping[str, Any]) -> Optional[bool]:
    """The flag TorchConfig.cmake records; unknown otherwise (the wheel resolver then assumes
    the official wheels' ABI, mamba_doctor/wheels/facts.py: one rule, stated where used)."""
    if static.get("abi_flag") is not None:
        return bool(static["abi_flag"])
    return None
