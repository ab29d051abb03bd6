"""`mamba-doctor report`: one plain-text block to paste into a bug report.

What `python -m torch.utils.collect_env` gives (OS, Python, torch and its CUDA/cuDNN, the GPUs,
the driver, nvcc, gcc, cmake, the relevant pip/conda packages: torch/utils/collect_env.py upstream)
plus what only mamba-doctor knows: the driver's CUDA ceiling, each GPU's SM, whether the mamba
extensions import, the prebuilt wheel that fits, g++ and ninja, and the checks that failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.check.report import CheckReport
from mamba_doctor.models import CheckStatus, Environment
from mamba_doctor.probe.interpreter import Target

# The distributions whose versions matter to a mamba-ssm bug (collect_env lists torch, numpy,
# triton and friends the same way: by name fragment).
RELEVANT = ("torch", "numpy", "triton", "mamba", "causal", "einops", "transformers", "ninja",
            "packaging", "setuptools", "wheel", "pip", "nvidia-", "cuda", "cudnn", "flash")

# Runs in the target (Python 3.8+, stdlib, torch when importable): cuDNN and the distributions.
EXTRAS_SNIPPET = r'''
import json, sys
out = {"cudnn": None, "torch_debug": None, "dists": {}}
try:
    from importlib import metadata
    for d in metadata.distributions():
        name = (d.metadata["Name"] or "").lower()
        if any(k in name for k in sys.argv[1:]):
            out["dists"][name] = d.version
except Exception as exc:
    out["dists_error"] = str(exc)
try:
    import torch
    out["torch_debug"] = bool(torch.version.debug)
    out["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
except Exception as exc:
    out["torch_error"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(out))
'''


@dataclass(frozen=True)
class Extras:
    """Facts only the report asks for: cuDNN, torch's debug flag, the relevant packages."""

    cudnn: Optional[str] = None
    torch_debug: Optional[bool] = None
    pip: Mapping[str, str] = field(default_factory=dict)
    conda: Sequence[str] = ()
    notes: Sequence[str] = ()


def collect_extras(target: Target, *, environ: Mapping[str, str], timeout: float = 60.0
                   ) -> Extras:
    """Ask the target (and conda, for a conda env) for the report's extra facts; never raises."""
    notes: list[str] = []
    done = target.run([target.python, "-c", EXTRAS_SNIPPET, *RELEVANT], timeout=timeout)
    doc: dict[str, Any] = {}
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1]) if done.ok else {}
    except (ValueError, IndexError):
        doc = {}
    if not doc:
        notes.append(f"packages and cuDNN not read: {done.describe_failure() or 'no output'}")
    cudnn = doc.get("cudnn")
    conda: list[str] = []
    prefix = target.env.python.conda_prefix or environ.get("CONDA_PREFIX")
    if prefix:
        listed = target.run(["conda", "list", "--prefix", prefix], timeout=timeout)
        if listed.ok:
            conda = [ln for ln in listed.stdout.splitlines() if not ln.startswith("#")
                     and any(k in ln.split(" ", 1)[0].lower() for k in RELEVANT)]
        else:
            notes.append(f"conda list not read: {listed.describe_failure()}")
    return Extras(cudnn=str(cudnn) if cudnn else None, torch_debug=doc.get("torch_debug"),
                  pip={str(k): str(v) for k, v in sorted((doc.get("dists") or {}).items())},
                  conda=tuple(conda), notes=tuple(notes))


def report_text(target: Target, report: CheckReport, extras: Extras, *, version: str) -> str:
    """The block to paste (pure): one `label: value` line per fact, in sections."""
    env = report.environment
    lines = [f"mamba-doctor {version} report", ""]
    lines += _section("System", _system(env))
    lines += _section("Python and torch", _python_torch(target, env, extras))
    lines += _section("GPUs and CUDA", _gpus(env))
    lines += _section("Build tools (source builds only)", _build_tools(env))
    lines += _section("Mamba packages", _mamba(env))
    lines += _section("Prebuilt wheels for this machine", _wheels(report.resolution))
    bad = [c for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.WARN)]
    lines += _section("Checks that did not pass", [f"{c.status.value} {c.id}: {c.summary}"
                                                    for c in bad] or ["none"])
    lines += _section("Relevant packages (pip)", [f"{k}=={v}" for k, v in extras.pip.items()]
                      or ["none found"])
    if extras.conda:
        lines += _section("Relevant packages (conda list)", list(extras.conda))
    if extras.notes:
        lines += _section("Not collected", list(extras.notes))
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, rows: Sequence[str]) -> list[str]:
    return [f"== {title}", *rows, ""]


def _v(value: Any) -> str:
    return "unknown" if value in (None, "") else str(value)


def _system(env: Environment) -> list[str]:
    o = env.os
    return [f"OS: {_v(o.distro or o.system)} ({_v(o.arch)}), kernel {_v(o.kernel)}",
            f"glibc: {_v(o.glibc)}, GLIBCXX: {_v(o.glibcxx)} ({_v(o.libstdcxx_path)})",
            f"container: {_v(o.container) if o.container else 'none detected'}"
            + (", WSL2" if o.wsl else "")]


def _python_torch(target: Target, env: Environment, extras: Extras) -> list[str]:
    py, t = env.python, env.torch
    kind = "venv" if py.is_venv else ("conda" if py.conda_prefix else "system or other")
    rows = [f"Python: {_v(py.version)} ({_v(py.abi_tag)}, {_v(py.platform_tag)}), {kind}",
            f"interpreter: {target.python}", f"pip: {_v(py.pip_version)}"]
    if t.installed is False:
        return [*rows, "torch: not installed"]
    rows += [f"torch: {_v(t.version)}, built with CUDA {_v(t.cuda) if t.cuda else 'none'}"
             + (f", ROCm {t.hip}" if t.hip else "")
             + f", cxx11abi {_v(t.cxx11abi)}, debug build {_v(extras.torch_debug)}",
             f"cuDNN: {_v(extras.cudnn) if t.cuda else 'none (not a CUDA build)'}",
             f"torch.cuda.is_available(): {_v(t.cuda_available)}, devices {_v(t.device_count)}",
             f"torch arch list: {' '.join(t.arch_list) or 'unknown'}"]
    if t.error:
        rows.append("torch import error: " + t.error.strip().splitlines()[-1])
    return rows


def _gpus(env: Environment) -> list[str]:
    nv, tk = env.nvidia, env.cuda_toolkit
    rows = [f"NVIDIA driver: {_v(nv.driver_version)}, runs CUDA up to "
            f"{_v(nv.cuda_driver_version)}"]
    for g in nv.gpus:
        mem = f", {g.memory_mib} MiB" if g.memory_mib else ""
        hidden = ", hidden by CUDA_VISIBLE_DEVICES" if g.visible is False else ""
        rows.append(f"GPU {g.index}: {_v(g.name)}, sm_{_v(g.sm)}{mem}{hidden}")
    if not nv.gpus:
        rows.append("GPUs: none found")
    rows.append(f"nvcc: {_v(tk.nvcc_version)} at {_v(tk.nvcc_path)} (CUDA_HOME "
                f"{_v(tk.cuda_home)})")
    return rows


def _build_tools(env: Environment) -> list[str]:
    b = env.build_tools
    span = (f"nvcc accepts gcc {b.nvcc_gcc_min or '?'} to {b.nvcc_gcc_max} ({b.nvcc_gcc_source})"
            if b.nvcc_gcc_max is not None else "nvcc's gcc range unknown")
    return [f"host compiler ({_v(b.host_compiler)}): {_v(b.host_compiler_kind)} "
            f"{_v(b.host_compiler_version)}; {span}",
            f"C++ compiler ({_v(b.cxx)}): {_v(b.cxx_version)}",
            f"cmake: {_v(b.cmake_version)}", f"ninja: {_v(b.ninja_version)}"]


def _mamba(env: Environment) -> list[str]:
    rows = []
    for name in ("mamba_ssm", "selective_scan_cuda", "causal_conv1d", "causal_conv1d_cuda",
                 "triton"):
        info = env.packages.get(name)
        if info is None:
            continue
        if info.version is None and info.import_ok is None:
            rows.append(f"{name}: not installed")
            continue
        state = {True: "imports", False: "import FAILS", None: "import not tried"}[info.import_ok]
        line = f"{name}: {info.version or 'no version'}, {state}"
        if info.import_ok is False and info.error:
            line += ": " + info.error.strip().splitlines()[-1]
        rows.append(line)
    return rows or ["none installed"]


def _wheels(resolution: Optional[Mapping[str, Any]]) -> list[str]:
    if not resolution:
        return ["not resolved"]
    rows = []
    for res in resolution.get("resolutions", ()):
        if res.get("filename"):
            rows.append(f"{res.get('package')}: {res['filename']}"
                        + ("" if res.get("exact") else " (best guess)"))
        else:
            notes = res.get("notes") or [r.get("message", "") for r in res.get("rejected", [])]
            rows.append(f"{res.get('package')}: none fits" + (f" ({notes[0]})" if notes else ""))
    return rows
