"""Verdicts on GPU architecture: is each visible GPU in torch's arch list and in mamba's kernels."""

from __future__ import annotations

from mamba_doctor.knowledge.cuda_tables import (
    ARCH_NAMES,
    LATEST_MAMBA,
    MAMBA_SASS,
    cuda_tuple,
    mamba_sass,
    sm_runs,
)
from mamba_doctor.models import CheckResult, CheckStatus, Environment, GpuInfo, parse_sm

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP
# Runs anywhere torch runs: on an unsupported GPU as well as on CPU.
REFERENCE_PATH = "the pure-PyTorch reference path (mamba_doctor.block.MambaRef)"


def visible_gpus(env: Environment) -> tuple[GpuInfo, ...]:
    """The GPUs torch will see (visible unknown counts as visible)."""
    return tuple(g for g in env.nvidia.gpus if g.visible is not False)


def _gpu_sms(env: Environment) -> list[tuple[str, int]]:
    found = [(f"GPU {g.index} ({g.name or 'unknown'})", g.sm) for g in visible_gpus(env)]
    if not any(sm for _, sm in found):  # e.g. an --env file with torch's view only
        found = [(f"device {i}", parse_sm(c)) for i, c in enumerate(env.torch.capabilities)]
    return [(label, sm) for label, sm in found if sm is not None]


def _archs(gpus: list[tuple[str, int]]) -> str:
    return ", ".join(_arch(sm) for sm in sorted({sm for _, sm in gpus}))


def _arch(sm: int) -> str:
    return f"sm_{sm} ({ARCH_NAMES.get(sm // 10, 'unknown')})"


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
    if sm >= 100:
        hint = "Install a torch built with CUDA >= 12.8 (torch >= 2.7, e.g. the cu128 variant)."
    elif sm < 75:
        hint = ("Install a torch variant that still targets this GPU (torch 2.8+ cu126, or an "
                "older torch with cu118).")
    else:
        hint = "Install a torch build whose arch list includes this GPU."
    return CheckResult("gpu_arch_torch", FAIL, f"{label} is {_arch(sm)}, not in torch's arch "
                       f"list ({' '.join(arch_list)}): no kernel image is available", hint)


def check_gpu_arch_mamba(env: Environment) -> CheckResult:
    """Are there mamba_ssm kernels for the GPU? Official wheels carry SASS only, never PTX."""
    gpus = _gpu_sms(env)
    if not gpus:
        return CheckResult("gpu_arch_mamba", SKIP, "no GPU to check")
    installed = env.packages.get("mamba_ssm")
    version = installed.version if installed and installed.version else LATEST_MAMBA
    runtime = cuda_tuple(env.torch.cuda)
    major = runtime[0] if runtime else 12
    sass = mamba_sass(version, major)
    which = f"mamba_ssm {version} cu{major} wheels"
    pascal = [(label, sm) for label, sm in gpus if sm // 10 == 6]
    if pascal:
        label, sm = pascal[0]
        # A source build with an added sm_6x gencode is the only way (state-spaces/mamba#40);
        # nvcc >= 13 cannot target Pascal any more (CUDA 13.0 release notes).
        arch = f"{sm // 10}.{sm % 10}"
        return CheckResult("gpu_arch_mamba", FAIL, f"{label} is {_arch(sm)}: no mamba_ssm "
                           "release has kernels for Pascal (there are no sm_60/sm_61 cubins)",
                           f"Build mamba_ssm from source for this GPU with a CUDA 12.x toolkit: "
                           f"mamba-doctor install --from-source --arch {arch}; or use a GPU with "
                           f"compute capability >= 7.5 (7.0 with mamba_ssm <= 2.3.1), or "
                           f"{REFERENCE_PATH}.")
    if sass is None:
        return CheckResult("gpu_arch_mamba", SKIP, f"no architecture table for {which}",
                           blocking=False)
    missing = [(label, sm) for label, sm in gpus if not sm_runs(sm, sass)]
    if not missing:
        return CheckResult("gpu_arch_mamba", OK, f"{which} carry kernels for {_archs(gpus)}")
    label, sm = missing[0]
    other = _release_with(sm, major)
    hint = (f"Use mamba_ssm=={other} (its cu{major} wheels carry kernels for sm_{sm})" if other
            else f"No official wheel targets sm_{sm} with CUDA {major}; try another CUDA major "
            f"of torch, or {REFERENCE_PATH}.")
    status = FAIL if installed and installed.version else WARN
    return CheckResult("gpu_arch_mamba", status, f"{label} is {_arch(sm)}: {which} have no "
                       "kernel for it", hint)


def _release_with(sm: int, major: int) -> str | None:
    """Newest mamba_ssm release whose cu<major> wheels run on sm."""
    for _first, last, table in reversed(MAMBA_SASS):
        if sm_runs(sm, table.get(major, ())):
            return last if last != "9999" else LATEST_MAMBA
    return None
