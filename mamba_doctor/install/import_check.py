"""Post-install verification: a snippet the TARGET interpreter runs (Python 3.8+); its parser."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

# Runs inside the user's interpreter: Python 3.8 syntax only, stdlib + torch. torch is imported
# FIRST (an extension imported before torch fails with a misleading libc10.so error), then each
# module named on the command line; on a CUDA machine one tiny kernel call proves the .so runs.
VERIFY_SNIPPET = r'''
import json, sys, traceback
out = {"modules": {}, "gpu": {"ran": False}}
def _err(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
try:
    import torch
    out["modules"]["torch"] = {"ok": True}
    out["torch"] = {"version": torch.__version__, "cuda": getattr(torch.version, "cuda", None)}
    cuda_ok = bool(torch.cuda.is_available())
except BaseException as exc:
    out["modules"]["torch"] = {"ok": False, "error": _err(exc)}
    print(json.dumps(out)); sys.exit(0)
for name in sys.argv[1:]:
    try:
        __import__(name)
        out["modules"][name] = {"ok": True}
    except BaseException as exc:
        out["modules"][name] = {"ok": False, "error": _err(exc)}
if cuda_ok and out["modules"].get("mamba_ssm", {}).get("ok"):
    out["gpu"]["ran"] = True
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
        dev = "cuda"
        u = torch.randn(1, 4, 8, device=dev)
        delta = torch.rand(1, 4, 8, device=dev)
        A = -torch.rand(4, 2, device=dev)
        B = torch.randn(1, 2, 8, device=dev)
        C = torch.randn(1, 2, 8, device=dev)
        y = selective_scan_fn(u, delta, A, B, C, torch.ones(4, device=dev))
        if "causal_conv1d_cuda" in out["modules"] and out["modules"]["causal_conv1d_cuda"]["ok"]:
            from causal_conv1d import causal_conv1d_fn
            z = causal_conv1d_fn(torch.randn(1, 8, 16, device=dev), torch.randn(8, 4, device=dev))
            y = y.sum() + z.sum()
        torch.cuda.synchronize()
        out["gpu"]["ok"] = bool(torch.isfinite(y).all())
        if not out["gpu"]["ok"]:
            out["gpu"]["error"] = "the kernel returned non-finite values"
        out["gpu"]["device"] = torch.cuda.get_device_name(0)
    except BaseException as exc:
        out["gpu"]["ok"] = False
        out["gpu"]["error"] = _err(exc)
print(json.dumps(out))
'''


@dataclass(frozen=True)
class VerifyResult:
    """What the verification child found."""

    ok: bool
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    gpu: dict[str, Any] = field(default_factory=dict)
    failures: tuple[str, ...] = ()  # one line per failed import/kernel call
    error_text: str = ""  # everything a diagnosis should read

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "modules": self.modules, "gpu": self.gpu,
                "failures": list(self.failures)}


def verify_modules(*, causal_conv1d: bool) -> tuple[str, ...]:
    """Modules to import after torch, in the order that gives the clearest error first."""
    mods = ["selective_scan_cuda"]
    if causal_conv1d:
        mods.append("causal_conv1d_cuda")
    return (*mods, "mamba_ssm")


def parse_verify_output(stdout: str, stderr: str = "", *, crashed: Optional[str] = None
                        ) -> VerifyResult:
    """Read the child's JSON line; a crash (a segfault in CUDA init) or no line is a failure."""
    doc: Optional[dict[str, Any]] = None
    for line in reversed(stdout.strip().splitlines()):
        try:
            candidate = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(candidate, dict) and "modules" in candidate:
            doc = candidate
            break
    if doc is None:
        why = crashed or "the verification child printed no result"
        text = "\n".join(t for t in (why, stderr.strip()[-4000:]) if t)
        return VerifyResult(ok=False, failures=(why,), error_text=text)
    modules = {str(k): dict(v) for k, v in doc.get("modules", {}).items()}
    gpu = dict(doc.get("gpu", {}))
    failures = [f"import {name}: {info.get('error', 'failed')}"
                for name, info in modules.items() if not info.get("ok")]
    if gpu.get("ran") and not gpu.get("ok"):
        failures.append(f"kernel call on the GPU: {gpu.get('error', 'failed')}")
    if crashed:
        failures.append(crashed)
    text = "\n".join([*failures, stderr.strip()[-4000:]]).strip()
    return VerifyResult(ok=not failures, modules=modules, gpu=gpu, failures=tuple(failures),
                        error_text=text)


def verify_argv(python: str, modules: Sequence[str]) -> tuple[str, ...]:
    return (python, "-c", VERIFY_SNIPPET, *modules)
