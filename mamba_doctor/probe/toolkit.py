"""The CUDA toolkit (only needed for source builds): CUDA_HOME / CUDA_PATH, nvcc and its version."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.models import CudaToolkitInfo

_NVCC_RE = re.compile(r"release (\d+)\.(\d+)")
DEFAULT_CUDA_HOME = "/usr/local/cuda"  # torch.utils.cpp_extension's last resort as well


def parse_nvcc_version(text: str) -> Optional[str]:
    """"Cuda compilation tools, release 12.4, V12.4.131" -> "12.4"."""
    match = _NVCC_RE.search(text)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def probe_toolkit(
    *, run: Runner = _run.run, environ: Mapping[str, str], timeout: float = 15.0
) -> CudaToolkitInfo:
    """Find the toolkit the way torch's extension builder does; never raises.

    CUDA_HOME, then CUDA_PATH, then the directory above `nvcc` on PATH, then /usr/local/cuda.
    The nvcc that a source build uses is $CUDA_HOME/bin/nvcc, so that is the one asked.
    """
    reasons: dict[str, str] = {}
    on_path = shutil.which("nvcc", path=environ.get("PATH", os.defpath))
    home = environ.get("CUDA_HOME") or environ.get("CUDA_PATH")
    if not home and on_path:
        home = str(Path(os.path.realpath(on_path)).parent.parent)
        if not (Path(home) / "include" / "cuda.h").is_file() and Path(DEFAULT_CUDA_HOME).is_dir():
            # a wrapper script such as /usr/local/bin/nvcc: the real toolkit is elsewhere
            reasons["cuda_home"] = f"{home} (above the nvcc on PATH) holds no CUDA headers"
            home = DEFAULT_CUDA_HOME
    if not home and Path(DEFAULT_CUDA_HOME).is_dir():
        home = DEFAULT_CUDA_HOME
    nvcc: Optional[str] = None
    if home:
        for name in ("nvcc", "nvcc.exe"):
            candidate = Path(home) / "bin" / name
            if candidate.is_file():
                nvcc = str(candidate)
                break
    nvcc = nvcc or on_path
    if not home:
        reasons["cuda_home"] = "CUDA_HOME and CUDA_PATH unset, no nvcc on PATH, no /usr/local/cuda"
    version = None
    if nvcc is None:
        reasons["nvcc_path"] = "nvcc not found (only needed to build mamba_ssm from source)"
    else:
        done = run([nvcc, "--version"], timeout=timeout, env=environ)
        version = parse_nvcc_version(done.stdout) if done.ok else None
        if version is None:
            reasons["nvcc_version"] = done.describe_failure() or "unrecognised `nvcc --version`"
        if on_path and os.path.realpath(on_path) != os.path.realpath(nvcc):
            reasons["nvcc_path"] = f"the nvcc on PATH ({on_path}) is not $CUDA_HOME/bin/nvcc"
    return CudaToolkitInfo(cuda_home=home, nvcc_path=nvcc, nvcc_version=version, reasons=reasons)
