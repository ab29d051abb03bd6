"""Verdicts on GPU architecture: is each visible GPU in torch's arch list and in mamba's kernels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from mamba_doctor.knowledge.cuda_tables import arch_name, cuda_tuple, sm_runs
from mamba_doctor.models import CheckResult, CheckStatus, Environment, GpuInfo, parse_sm
from mamba_doctor.models import visible_gpus as visible_by_torch

if TYPE_CHECKING:
    from mamba_doctor.wheels.index import WheelIndex

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP


def unhidden_gpus(env: Environment) -> tuple[GpuInfo, ...]:
    """The driver's GPUs that torch will see (visible unknown counts as visible)."""
    return tuple(g for g in env.nvidia.gpus if g.visible is not False)


def _gpu_sms(env: Environment) -> list[tuple[str, int]]:
    return [(g.label, g.sm) for g in visible_by_torch(env)]


def _archs(gpus: list[tuple[str, int]]) -> str:
    return ", ".join(_arch(sm) for sm in sorted({sm for _, sm in gpus}))


def _arch(sm: int) -> str:
    return f"sm_{sm} ({arch_name(sm)})"


def check_gpu_arch_torch(env: Environment) -> CheckResult:
    """Is the GPU's compute capability among the SASS (or PTX) torch was compiled for?"""
    gpus = _gpu_sms(env)
    arch_list = env.torch.arch_list
    if not gpus or not arch_list:
        return CheckResult("gpu_arch_torch", SKIP, "needs a GPU and a CUDA build of torch")
    cubins = tuple(s for s in (parse_sm(a) for a in arch_list if a.startswith("sm_")) if s)
    ptx = tuple(s for s in (parse_sm(a) for a in arch_list if a.startswith("compute_")) if s)
    missing = [(label, sm) for label, sm in gpus
               if not sm_runs(sm, cubins) and not any(p <= sm for p in ptx)]
    if not missing:
        return CheckResult("gpu_arch_torch", OK, "torch has kernels for " + _archs(gpus))
    label, sm = missing[0]
    return CheckResult("gpu_arch_torch", FAIL, f"{label} is {_arch(sm)}, not in torch's arch "
                       f"list ({' '.join(arch_list)}): no kernel image is available",
                       problem="torch")


def check_gpu_arch_mamba(env: Environment) -> CheckResult:
    """Are there mamba_ssm kernels for the GPU? Official wheels carry SASS only, never PTX."""
    gpus = _gpu_sms(env)
    if not gpus:
        return CheckResult("gpu_arch_mamba", SKIP, "no GPU to check")
    from mamba_doctor.wheels.index import load_index

    index = load_index()
    installed = env.packages.get("mamba_ssm")
    version = installed.version if installed and installed.version else \
        index.for_package("mamba_ssm")[0].version
    runtime = cuda_tuple(env.torch.cuda)
    major = runtime[0] if runtime else 12
    sass = mamba_sass(index, version, major)
    which = f"mamba_ssm {version} cu{major} wheels"
    pascal = [(label, sm) for label, sm in gpus if sm // 10 == 6]
    if pascal:
        label, sm = pascal[0]
        # no release has sm_60/61 SASS: a source build is the only way (state-spaces/mamba#40);
        # the advice checks that a toolkit of torch's CUDA major can still target it
        return CheckResult("gpu_arch_mamba", FAIL, f"{label} is {_arch(sm)}: no mamba_ssm "
                           "release has kernels for Pascal (there are no sm_60/sm_61 cubins)",
                           problem="mamba")
    if sass is None:
        return CheckResult("gpu_arch_mamba", SKIP, f"no architecture table for {which}",
                           blocking=False)
    missing = [(label, sm) for label, sm in gpus if not sm_runs(sm, sass)]
    if not missing:
        return CheckResult("gpu_arch_mamba", OK, f"{which} carry kernels for {_archs(gpus)}")
    label, sm = missing[0]
    other = _release_with(index, sm, major)
    also = f" (mamba_ssm {other} has cu{major} wheels for it)" if other else ""
    status = FAIL if installed and installed.version else WARN
    return CheckResult("gpu_arch_mamba", status, f"{label} is {_arch(sm)}: {which} have no "
                       f"kernel for it{also}", problem="mamba")


def mamba_sass(index: WheelIndex, version: str, cuda_major: int) -> Optional[tuple[int, ...]]:
    """The GPU architectures (SASS) in the published mamba_ssm `version` wheels built with CUDA
    `cuda_major`, from the index (None: no such wheel, or their architectures are unknown)."""
    base = str(version).split("+")[0]
    arches = {a for rel in index.matching("mamba_ssm", base) for w in rel.wheels
              if w.available and w.cuda_major == cuda_major for a in (w.arches or ())}
    return tuple(sorted(arches)) or None


def _release_with(index: WheelIndex, sm: int, major: int) -> Optional[str]:
    """Newest mamba_ssm release with a published cu<major> wheel that runs on sm."""
    for rel in index.for_package("mamba_ssm"):
        if any(w.available and w.cuda_major == major and w.arches and sm_runs(sm, w.arches)
               for w in rel.wheels):
            return rel.version
    return None
