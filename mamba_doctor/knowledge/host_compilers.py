"""Which gcc majors each CUDA release's nvcc accepts as the host compiler, and the rule.

nvcc refuses a gcc outside its range at the first compile (`#error -- unsupported GNU version!`
in crt/host_config.h). The table is NVIDIA's host compiler support policy, per release
(https://docs.nvidia.com/cuda/archive/<version>/cuda-installation-guide-linux/index.html
#host-compiler-support-policy; 12.6-12.9 gathered in nixpkgs'
pkgs/development/cuda-modules/_cuda/db/bootstrap/nvcc.nix); 13.0's maximum is the one in CUDA
13.0.88's crt/host_config.h. The probe reads the toolkit's own header first and falls back here.
"""

from __future__ import annotations

from typing import Optional

# CUDA major.minor -> (oldest, newest) gcc major nvcc accepts; None: not stated.
GCC_RANGE: dict[str, tuple[Optional[int], int]] = {
    "11.0": (6, 9), "11.1": (6, 10), "11.2": (6, 10), "11.3": (6, 10), "11.4": (6, 11),
    "11.5": (6, 11), "11.6": (6, 11), "11.7": (6, 11), "11.8": (6, 11), "12.0": (6, 12),
    "12.1": (6, 12), "12.2": (6, 12), "12.3": (6, 12), "12.4": (6, 13), "12.5": (6, 13),
    "12.6": (6, 13), "12.8": (6, 14), "12.9": (6, 14), "13.0": (None, 15),
}


def gcc_range(cuda: Optional[str]) -> Optional[tuple[Optional[int], int]]:
    """The gcc majors nvcc `cuda` ("12.4", "12.4.131") accepts, from the table."""
    if not cuda:
        return None
    return GCC_RANGE.get(".".join(cuda.split(".")[:2]))


def gcc_fits(version: Optional[str], low: Optional[int], high: Optional[int]) -> Optional[bool]:
    """Whether gcc `version` ("12.2.0") is within [low, high] by major; None when unknown."""
    if not version or high is None:
        return None
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return None
    return (low is None or major >= low) and major <= high
