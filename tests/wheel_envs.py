"""Test helper: compact Environment builders for the wheel resolver tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from mamba_doctor.models import (
    Environment,
    GpuInfo,
    NvidiaInfo,
    OsInfo,
    PythonInfo,
    TorchInfo,
)

GPUS = {
    "a100": ("NVIDIA A100-SXM4-80GB", "8.0"),
    "h100": ("NVIDIA H100 80GB HBM3", "9.0"),
    "rtx4090": ("NVIDIA GeForce RTX 4090", "8.9"),
    "rtx5090": ("NVIDIA GeForce RTX 5090", "12.0"),
    "gb10": ("NVIDIA GB10", "12.1"),
    "b200": ("NVIDIA B200", "10.0"),
    "gtx1080": ("NVIDIA GeForce GTX 1080", "6.1"),
    "p100": ("Tesla P100-PCIE-16GB", "6.0"),
    "t4": ("Tesla T4", "7.5"),
    "v100": ("Tesla V100-SXM2-32GB", "7.0"),
}


def make_env(
    *,
    python: Optional[str] = "3.10",
    torch: Optional[str] = "2.4.0+cu121",
    cuda: Optional[str] = "12.1",
    abi: Optional[bool] = False,
    platform: Optional[str] = "linux_x86_64",
    glibc: Optional[str] = None,
    gpus: Sequence[str] = (),
    driver_cuda: Optional[str] = None,
    container: Optional[str] = None,
    torch_installed: Optional[bool] = True,
    hip: Optional[str] = None,
) -> Environment:
    system, arch = None, None
    if platform:
        system = "Windows" if platform.startswith("win") else "Linux"
        arch = "aarch64" if platform.endswith("aarch64") else "x86_64"
    return Environment(
        os=OsInfo(system=system, arch=arch, glibc=glibc, container=container),
        python=PythonInfo(
            version=f"{python}.1" if python else None,
            implementation="cpython" if python else None,
            abi_tag=("cp" + python.replace(".", "")) if python else None,
            platform_tag=platform,
        ),
        torch=TorchInfo(
            installed=torch_installed, version=torch if torch_installed else None,
            cuda=cuda if torch_installed else None, cxx11abi=abi if torch_installed else None,
            hip=hip,
        ),
        nvidia=NvidiaInfo(
            cuda_driver_version=driver_cuda,
            gpus=tuple(GpuInfo(index=i, name=GPUS[g][0], compute_capability=GPUS[g][1])
                       for i, g in enumerate(gpus)),
        ),
    )
