"""`install --from-source`: build an extension wheel for this machine's GPUs only, with progress."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from mamba_doctor._files import last_lines
from mamba_doctor.errors import InstallFailed, UsageError
from mamba_doctor.install.nvcc_shim import (
    arch_label,
    make_cuda_shim,
    parse_arch_list,
    torch_arch_list,
)
from mamba_doctor.models import Environment, visible_gpus
from mamba_doctor.probe.interpreter import Target

# Peak memory of one nvcc on these kernels: the selective_scan backward units take several GiB
# each (failure `build-resources-ninja-oom`: MAX_JOBS=cores OOM-kills 16-core/32 GiB boxes).
PER_JOB_GIB = 4.0

# Switches of each package's setup.py (https://github.com/state-spaces/mamba/blob/main/setup.py):
# FORCE_BUILD skips the GitHub wheel guess; mamba main after PR #977 builds selective_scan_cuda
# only with KEEP_CUDA_BUILD.
BUILD_SWITCHES: Mapping[str, Mapping[str, str]] = {
    "mamba_ssm": {"MAMBA_FORCE_BUILD": "TRUE", "MAMBA_KEEP_CUDA_BUILD": "TRUE",
                  "MAMBA_SKIP_CUDA_BUILD": "FALSE"},
    "causal_conv1d": {"CAUSAL_CONV1D_FORCE_BUILD": "TRUE",
                      "CAUSAL_CONV1D_SKIP_CUDA_BUILD": "FALSE"},
}

_NINJA = re.compile(r"^\[(\d+)/(\d+)\]\s")
_UNIT = re.compile(r"(?:^|\s)-c\s+(\S+?\.(?:cu|cpp|cc))(?:\s|$)|(\S+?\.(?:cu|cpp|cc))\s+-o\s")


@dataclass(frozen=True)
class BuildProgress:
    """One progress fact read from the build log."""

    done: Optional[int]
    total: Optional[int]
    unit: Optional[str]  # basename of the file being compiled


@dataclass(frozen=True)
class BuiltWheel:
    package: str
    version: str
    path: Path
    log: Path
    seconds: float
    archs: tuple[int, ...]
    jobs: int
    from_cache: bool


def size_max_jobs(cpus: int, mem_available: Optional[int], *, per_job_gib: float = PER_JOB_GIB
                  ) -> int:
    """Parallel compile jobs: one per core, but no more than available memory allows."""
    jobs = max(1, cpus)
    if mem_available is not None:
        jobs = min(jobs, max(1, int(mem_available / (per_job_gib * 2**30))))
    return jobs


def parse_meminfo(text: str) -> Optional[int]:
    """/proc/meminfo -> MemAvailable in bytes (None when absent)."""
    m = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, re.M)
    return int(m.group(1)) * 1024 if m else None


def cgroup_memory_left(limit_text: str, usage_text: str) -> Optional[int]:
    """A container's memory limit minus what it uses, from cgroup v2 `memory.max` /
    `memory.current` (or v1 `limit_in_bytes` / `usage_in_bytes`); None when unlimited."""
    limit, usage = limit_text.strip(), usage_text.strip()
    if not limit.isdigit() or int(limit) >= 2**60:  # "max", or v1's "no limit" sentinel
        return None
    return max(0, int(limit) - (int(usage) if usage.isdigit() else 0))


_CGROUP_MEMORY = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                  ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                   "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def probe_resources() -> tuple[int, Optional[int]]:
    """(usable CPUs, available memory in bytes or None). In a container the cgroup limit counts,
    not the host's MemAvailable, which /proc/meminfo shows there (an OOM-killed build otherwise)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        mem = parse_meminfo(Path("/proc/meminfo").read_text())
    except OSError:
        mem = None
    for limit_path, usage_path in _CGROUP_MEMORY:
        try:
            left = cgroup_memory_left(Path(limit_path).read_text(), Path(usage_path).read_text())
        except OSError:
            continue
        if left is not None:
            mem = left if mem is None else min(mem, left)
        break
    return cpus, mem


def parse_gpu_arch_list(text: str) -> tuple[int, ...]:
    """`nvcc --list-gpu-arch` output (compute_75 ...) -> (75, ...)."""
    return tuple(sorted({int(m) for m in re.findall(r"compute_(\d+)", text)}))


def target_archs(env: Environment, arch_text: Optional[str]) -> tuple[int, ...]:
    """--arch, else the compute capabilities of the GPUs torch will use. Raises UsageError when
    neither is known."""
    if arch_text:
        try:
            return parse_arch_list(arch_text)
        except ValueError as exc:
            raise UsageError(f"--arch {arch_text}: {exc}") from exc
    sms = {g.sm for g in visible_gpus(env)}  # CUDA_VISIBLE_DEVICES decides, as for torch
    if not sms:
        raise UsageError(
            "no NVIDIA GPU detected, so the architecture to build for is unknown: pass --arch",
            hint="Pass the target's compute capability, e.g. --arch 8.6 (RTX 30xx) or "
                 "--arch 9.0 (H100/H200); several: --arch 8.0,9.0.",
        )
    return tuple(sorted(sms))


def check_toolchain(env: Environment, nvcc_version: Optional[str]) -> None:
    """Refuse before building when torch cannot build CUDA code or nvcc's CUDA major differs."""
    torch = env.torch
    if not torch.version:
        raise InstallFailed("torch is not importable in the target: a source build needs it",
                            hint="Install a CUDA build of torch first.")
    if torch.cuda is None:
        raise InstallFailed(
            f"torch {torch.version} is not a CUDA build: the kernels cannot be built against it",
            hint="Install a CUDA build of torch that your driver supports, then retry.")
    if nvcc_version is None:
        raise InstallFailed("nvcc (the CUDA compiler) was not found",
                            hint=f"Install the CUDA {torch.cuda.split('.')[0]} toolkit (a "
                                 "'devel' image, or conda's cuda-nvcc) or set CUDA_HOME.")
    if nvcc_version.split(".")[0] != torch.cuda.split(".")[0]:
        raise InstallFailed(
            f"nvcc is CUDA {nvcc_version} but torch was built with CUDA {torch.cuda}: the "
            "build would stop with 'The detected CUDA version mismatches'",
            hint=f"Use a CUDA {torch.cuda.split('.')[0]}.x toolkit (set CUDA_HOME to it).")
    check_host_compiler(env, nvcc_version)


def check_host_compiler(env: Environment, nvcc_version: str) -> None:
    """Refuse before compiling when the gcc nvcc will run is outside the range it accepts
    (knowledge/host_compilers.py): the build would stop minutes in, at the first .cu file."""
    from mamba_doctor.knowledge.host_compilers import gcc_fits

    tools = env.build_tools
    if tools.host_compiler_kind != "gcc" or gcc_fits(
            tools.host_compiler_version, tools.nvcc_gcc_min, tools.nvcc_gcc_max) is not False:
        return
    high = tools.nvcc_gcc_max
    raise InstallFailed(
        f"{tools.host_compiler} {tools.host_compiler_version} is outside the gcc range nvcc "
        f"{nvcc_version} accepts ({tools.nvcc_gcc_min or '?'} to {high}): the build would stop "
        "with 'unsupported GNU version'; nothing was built",
        hint=f"Install gcc-{high} and g++-{high}, then `export CC=gcc-{high} CXX=g++-{high}` "
             "and run the same command again.")


def parse_build_line(line: str) -> Optional[BuildProgress]:
    """Read ninja's `[3/10] nvcc ... -c x.cu` (or a plain compiler line) into progress."""
    m = _NINJA.match(line)
    u = _UNIT.search(line)
    if not m and not u:
        return None
    unit = Path(u.group(1) or u.group(2)).name if u else None
    return BuildProgress(int(m.group(1)) if m else None, int(m.group(2)) if m else None, unit)


def build_environ(base: Mapping[str, str], *, package: str, shim: Path, sms: Sequence[int],
                  jobs: int) -> dict[str, str]:
    """The build's environment: the shim CUDA_HOME (and first on PATH), archs, jobs, switches."""
    env = dict(base)
    env.update(BUILD_SWITCHES.get(package, {}))
    env.update({
        "CUDA_HOME": str(shim), "CUDA_PATH": str(shim),
        "PATH": os.pathsep.join([str(shim / "bin"), base.get("PATH", "")]),
        "TORCH_CUDA_ARCH_LIST": torch_arch_list(sms),
        "MAX_JOBS": str(jobs),
        "PIP_NO_INPUT": "1",
    })
    env.pop("PYTORCH_NVCC", None)  # would bypass $CUDA_HOME/bin/nvcc, hence the wrapper
    return env


def wheel_argv(python: str, project: Path, wheel_dir: Path) -> tuple[str, ...]:
    """`pip wheel` without isolation (the user's torch is the one to build against) and -v so the
    compiler lines reach the log."""
    return (python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir",
            "-v", "--wheel-dir", str(wheel_dir), str(project))


def build_wheel(
    target: Target, project: Path, *, package: str, version: str, real_cuda_home: Path,
    sms: Sequence[int], jobs: int, workdir: Path, log_path: Path, base_environ: Mapping[str, str],
    on_progress: Callable[[float, Optional[BuildProgress], str], None] = lambda *_: None,
    timeout: Optional[float] = 6 * 3600,
) -> BuiltWheel:
    """Build the project's wheel for `sms` only, streaming its log to `log_path`.

    Raises InstallFailed (with the log's tail) when the build fails.
    """
    shim = make_cuda_shim(real_cuda_home, workdir / "cuda-shim", sms,
                          log=workdir / "nvcc-calls.log")
    wheel_dir = workdir / "dist"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    env = build_environ(base_environ, package=package, shim=shim, sms=sms, jobs=jobs)
    argv = wheel_argv(target.python, project, wheel_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        log.write(f"# {' '.join(argv)}\n# restricted to {arch_label(sms)}, MAX_JOBS={jobs}\n")

        def on_line(line: str) -> None:
            log.write(line + "\n")
            on_progress(time.monotonic() - start, parse_build_line(line), line)

        done = target.run_streaming(argv, on_line=on_line, timeout=timeout, env=env,
                                    cwd=str(project))
    seconds = time.monotonic() - start
    wheels = sorted(wheel_dir.glob("*.whl"))
    if not done.ok or not wheels:
        tail = last_lines(done.stdout, 30)
        raise InstallFailed(
            f"building {package} {version} failed ({done.describe_failure() or 'no wheel'})",
            hint=f"Full log: {log_path}",
            data={"build_log": str(log_path), "build_log_tail": tail},
        )
    return BuiltWheel(package, version, wheels[-1], log_path, seconds, tuple(sms), jobs, False)


def cache_key(env: Environment, sms: Sequence[int]) -> str:
    """Directory name for a built wheel: what it was compiled against."""
    torch = (env.torch.version or "unknown").replace("+", "_")
    py = env.python.abi_tag or "py"
    return f"torch{torch}-cuda{env.torch.cuda}-{py}-{'_'.join(f'sm{s}' for s in sms)}"
