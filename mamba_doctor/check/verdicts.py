"""Verdicts over an Environment: is this machine able to run mamba_ssm, and if not, why.

The rows are pure and name the problem they found; what to do about it is the advice engine's
(mamba_doctor/advice), asked once per problem by `evaluate`, so every row and every command
that meets the same problem recommends the same thing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from packaging.version import Version

from mamba_doctor.advice import Advice, advise
from mamba_doctor.check.gpu import (
    check_gpu_arch_mamba,
    check_gpu_arch_torch,
    unhidden_gpus,
)
from mamba_doctor.check.packages import (
    check_mamba_imports,
    check_mamba_versions,
    error_line,
)
from mamba_doctor.check.system import check_glibc, check_libstdcxx, check_python
from mamba_doctor.knowledge.cuda_tables import (
    cuda_tuple,
    driver_ceiling,
    minor_compat_min_driver,
    toolkit_driver,
    version_of,
)
from mamba_doctor.models import CheckResult, CheckStatus, Environment
from mamba_doctor.probe.interpreter import Target

__all__ = ["Advisor", "evaluate", "with_advice"]

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP


def evaluate(target: Target, *, advisor: Optional[Advisor] = None) -> tuple[CheckResult, ...]:
    """Every verdict row, in display order, with the advice for the problems they found."""
    advisor = advisor or Advisor(target)
    return tuple(with_advice(row(target.env), advisor) for row in ROWS)


class Advisor:
    """The advice engine for one target, each problem asked once (rows share problems)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._memo: dict[tuple[str, Optional[str]], Optional[Advice]] = {}

    def __call__(self, problem: str) -> Optional[Advice]:
        action, _, module = problem.partition(":")
        key = (action, module or None)
        if key not in self._memo:
            self._memo[key] = advise(action, self.target, module=module or None)
        return self._memo[key]

    @property
    def asked(self) -> tuple[Advice, ...]:
        return tuple(a for a in self._memo.values() if a is not None)


def with_advice(row: CheckResult, advisor: Advisor) -> CheckResult:
    """The row with its problem's advice as hint and commands."""
    if row.problem is None:
        return row
    advice = advisor(row.problem)
    if advice is None:
        return row
    return replace(row, hint=advice.text(), commands=advice.commands)


def blocking_failures(checks: tuple[CheckResult, ...]) -> tuple[CheckResult, ...]:
    return tuple(c for c in checks if c.status is FAIL and c.blocking)


def check_platform(env: Environment) -> CheckResult:
    system, arch = env.os.system, env.os.arch
    if system == "Windows":
        return CheckResult("platform", FAIL, "Native Windows: there are no CUDA wheels of "
                           "mamba_ssm or causal_conv1d for Windows", problem="platform")
    if system == "Darwin":
        return CheckResult("platform", FAIL, "macOS has no CUDA: mamba_ssm's kernels cannot run",
                           problem="platform")
    if system != "Linux":
        return CheckResult("platform", SKIP, f"unknown operating system ({system})")
    if arch not in ("x86_64", "aarch64"):
        return CheckResult("platform", FAIL, f"Linux on {arch}: mamba_ssm wheels exist only for "
                           "x86_64 and aarch64", problem="platform")
    where = "WSL2" if env.os.wsl else (env.os.distro or "Linux")
    note = " (aarch64 wheels: mamba_ssm >= 2.3.0 only)" if arch == "aarch64" else ""
    return CheckResult("platform", OK, f"{where}, {arch}{note}")


def check_driver(env: Environment) -> CheckResult:
    nv = env.nvidia
    if env.os.system not in (None, "Linux"):
        return CheckResult("driver", SKIP, "not checked on this platform")
    if not has_driver(env) and "driver_unresponsive" in nv.reasons:
        return CheckResult("driver", FAIL, nv.reasons["driver_unresponsive"],
                           problem="driver_unresponsive")
    if not has_driver(env):
        why = nv.reasons.get("driver_version", "")
        return CheckResult("driver", FAIL, f"No NVIDIA driver found{f' ({why})' if why else ''}",
                           problem="no_driver")
    if "driver_mismatch" in nv.reasons:
        return CheckResult("driver", FAIL, nv.reasons["driver_mismatch"], "Reboot the machine.")
    ceiling = nv.cuda_driver_version
    says = f"supports CUDA <= {ceiling}" if ceiling else "CUDA ceiling not reported"
    src = nv.sources.get("driver_version") or nv.sources.get("cuda_driver_version")
    return CheckResult("driver", OK, f"NVIDIA driver {nv.driver_version or '(version unknown)'} "
                       f"({says})" + (f" [from {src}]" if src else ""))


def has_driver(env: Environment) -> bool:
    """Some source answered for the driver (NVML, libcuda, /proc, nvidia-smi)."""
    nv = env.nvidia
    return bool(nv.driver_version or nv.cuda_driver_version or nv.gpus)


def check_gpu_visible(env: Environment) -> CheckResult:
    nv = env.nvidia
    if not has_driver(env):
        return CheckResult("gpu_visible", SKIP, "no driver, no GPU")
    if not nv.gpus:
        return CheckResult("gpu_visible", FAIL, "The driver is loaded but lists no GPU",
                           "Check `nvidia-smi`; in a container, pass the GPU in (--gpus all).")
    shown = unhidden_gpus(env)
    note = nv.reasons.get("cuda_visible_devices")
    if not shown:
        return CheckResult("gpu_visible", FAIL, note or "CUDA_VISIBLE_DEVICES hides every GPU",
                           problem="gpu_visible")
    names = ", ".join(f"{g.index}: {g.name or 'GPU'}"
                      + (f" (sm_{g.sm})" if g.sm else "") for g in shown)
    # visible=None with a note: CUDA_VISIBLE_DEVICES names what the probe cannot map (MIG,
    # UUIDs); without one (a hand-written --env file) nothing hides a GPU
    if note and any(g.visible is None for g in nv.gpus):
        return CheckResult("gpu_visible", WARN, f"{names}; {note}", blocking=False)
    return CheckResult("gpu_visible", OK, f"{len(shown)} visible: {names}"
                       + (f" ({note})" if note else ""))


def check_torch_build(env: Environment) -> CheckResult:
    t = env.torch
    if t.installed is False:
        return CheckResult("torch_build", FAIL, "torch is not installed in the target",
                           problem="torch")
    if t.error and "import" in t.reasons:
        last = error_line(t.error)
        return CheckResult("torch_build", FAIL, f"`import torch` fails: {last}",
                           problem="reproduce:torch")
    if t.cuda is None and t.hip:
        return CheckResult("torch_build", FAIL, f"torch {t.version} is a ROCm build (HIP "
                           f"{t.hip}): the prebuilt mamba_ssm wheels are CUDA-only",
                           "Build mamba_ssm from source for ROCm, or use a CUDA build of torch.",
                           blocking=False)
    if t.cuda is None:
        return CheckResult("torch_build", FAIL, f"torch {t.version} is a CPU-only build: "
                           "mamba_ssm needs a CUDA build of torch", problem="torch")
    abi = {True: "C++11 ABI", False: "pre-C++11 ABI", None: "ABI unknown"}[t.cxx11abi]
    ngc = " (NGC build: only NGC-specific wheels match)" if _is_ngc(t.version) else ""
    return CheckResult("torch_build", OK, f"torch {t.version}, CUDA {t.cuda}, {abi}{ngc}")


def check_driver_cuda(env: Environment) -> CheckResult:
    runtime = cuda_tuple(env.torch.cuda)
    if runtime is None or not has_driver(env):
        return CheckResult("driver_cuda", SKIP, "needs a driver and a CUDA build of torch")
    reported = env.nvidia.cuda_driver_version
    ceiling_text = reported or driver_ceiling(env.nvidia.driver_version)
    ceiling = cuda_tuple(ceiling_text)
    if ceiling is None:
        return CheckResult("driver_cuda", SKIP, "the driver's CUDA ceiling is unknown")
    guess = "" if reported else " (from NVIDIA's driver table)"
    torch_cuda = f"{runtime[0]}.{runtime[1]}"
    if ceiling >= runtime:
        return CheckResult("driver_cuda", OK, f"driver supports CUDA <= {ceiling_text}{guess}; "
                           f"torch uses CUDA {torch_cuda}")
    need = toolkit_driver(torch_cuda)
    compat = minor_compat_min_driver(runtime[0])
    have = version_of(env.nvidia.driver_version)
    # a driver that reports CUDA M.x is at least M.0's driver: minor-version compatibility
    # holds unless a known version is below NVIDIA's floor for M
    if ceiling[0] == runtime[0] and compat and (have is None or have >= Version(compat)):
        return CheckResult("driver_cuda", WARN, f"torch's CUDA {torch_cuda} is newer than the "
                           f"driver's {ceiling_text}: runs via minor-version compatibility "
                           "(no JIT of newer PTX)",
                           f"Upgrade the driver to >= {need} for full support." if need else None,
                           blocking=False)
    driver = f"driver {env.nvidia.driver_version}" if env.nvidia.driver_version else "the driver"
    return CheckResult("driver_cuda", FAIL, f"{driver} supports CUDA <= {ceiling_text}{guess} "
                       f"but torch needs CUDA {torch_cuda}", problem="driver")


def check_torch_gpu(env: Environment) -> CheckResult:
    t = env.torch
    if t.cuda is None or not unhidden_gpus(env):
        return CheckResult("torch_gpu", SKIP, "needs a visible GPU and a CUDA build of torch")
    if t.error:
        return CheckResult("torch_gpu", FAIL, f"torch.cuda fails: {error_line(t.error)}",
                           problem="reproduce:torch.cuda")
    if t.cuda_available:
        caps = ", ".join(t.capabilities)
        return CheckResult("torch_gpu", OK, f"torch sees {t.device_count} GPU(s)"
                           + (f" (compute capability {caps})" if caps else ""))
    return CheckResult("torch_gpu", FAIL, "torch.cuda.is_available() is False although a GPU "
                       "and a driver are present",
                       "Check the driver_cuda row; restart after a driver upgrade; check "
                       "CUDA_VISIBLE_DEVICES.")


def check_nvcc(env: Environment) -> CheckResult:
    runtime = cuda_tuple(env.torch.cuda)
    if runtime is None:
        return CheckResult("nvcc", SKIP, "needs a CUDA build of torch", blocking=False)
    tk = env.cuda_toolkit
    have = cuda_tuple(tk.nvcc_version)
    if have is None:
        return CheckResult("nvcc", WARN, "no nvcc: fine for prebuilt wheels, a source build "
                           f"needs the CUDA {runtime[0]}.x toolkit", blocking=False,
                           problem="toolkit")
    if have[0] != runtime[0]:
        return CheckResult("nvcc", WARN, f"nvcc {tk.nvcc_version} vs torch CUDA {env.torch.cuda}"
                           ": a source build would fail (major mismatch)", blocking=False,
                           problem="toolkit")
    where = f" ({tk.nvcc_path})" if tk.nvcc_path else ""
    return CheckResult("nvcc", OK, f"nvcc {tk.nvcc_version}{where} matches torch's "
                       f"CUDA {env.torch.cuda} major", blocking=False)


def _is_ngc(version: Optional[str]) -> bool:
    parsed = version_of(version)
    return bool(parsed and parsed.pre and parsed.local)


ROWS: tuple[Callable[[Environment], CheckResult], ...] = (
    check_platform, check_driver, check_gpu_visible, check_torch_build, check_driver_cuda,
    check_torch_gpu, check_gpu_arch_torch, check_gpu_arch_mamba, check_nvcc, check_python,
    check_glibc, check_libstdcxx, check_mamba_imports, check_mamba_versions,
)
