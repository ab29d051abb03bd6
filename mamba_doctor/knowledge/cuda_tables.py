"""Lookup tables behind the verdicts: driver per CUDA, torch CUDA variants, mamba GPU archs."""

from __future__ import annotations

from typing import Optional

from packaging.version import InvalidVersion, Version

# Linux driver shipped with each CUDA toolkit (GA), and the minimum driver for CUDA
# minor-version compatibility per major. Source: NVIDIA CUDA Toolkit Release Notes 13.2 Update 2,
# Tables 2 and 3 (shared/reference/cuda/tables.json "cuda_min_driver_linux"). No CUDA 12.7.
TOOLKIT_DRIVER_LINUX: dict[str, str] = {
    "11.0": "450.51.05", "11.1": "455.23", "11.2": "460.27.03", "11.3": "465.19.01",
    "11.4": "470.42.01", "11.5": "495.29.05", "11.6": "510.39.01", "11.7": "515.43.04",
    "11.8": "520.61.05", "12.0": "525.60.13", "12.1": "530.30.02", "12.2": "535.54.03",
    "12.3": "545.23.06", "12.4": "550.54.14", "12.5": "555.42.02", "12.6": "560.28.03",
    "12.8": "570.26", "12.9": "575.51.03", "13.0": "580.65.06", "13.1": "590.44.01",
    "13.2": "595.45.04",
}
MINOR_COMPAT_MIN_DRIVER: dict[int, str] = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}

# CUDA variants of the torch pip wheels on download.pytorch.org, per torch minor. Source:
# PyTorch RELEASE.md "Release Compatibility Matrix" (tables.json "torch_cuda_variants").
TORCH_CUDA_VARIANTS: dict[str, tuple[str, ...]] = {
    "2.0": ("cu117", "cu118"), "2.1": ("cu118", "cu121"), "2.2": ("cu118", "cu121"),
    "2.3": ("cu118", "cu121"), "2.4": ("cu118", "cu121", "cu124"),
    "2.5": ("cu118", "cu121", "cu124"), "2.6": ("cu118", "cu124", "cu126"),
    "2.7": ("cu118", "cu126", "cu128"), "2.8": ("cu126", "cu128", "cu129"),
    "2.9": ("cu126", "cu128", "cu130"), "2.10": ("cu126", "cu128", "cu130"),
    "2.11": ("cu126", "cu128", "cu130"), "2.12": ("cu126", "cu130", "cu132"),
    "2.13": ("cu126", "cu130", "cu132"), "2.14": ("cu126", "cu130", "cu132"),
}
# The CUDA variant plain `pip install torch` gets from PyPI on Linux x86_64 (tables.json
# "torch_pypi_default_cuda"; 2.1-2.7 medium confidence). Used when the driver is unknown.
TORCH_DEFAULT_VARIANT: dict[str, str] = {
    "2.0": "cu117", "2.1": "cu121", "2.2": "cu121", "2.3": "cu121", "2.4": "cu121",
    "2.5": "cu124", "2.6": "cu124", "2.7": "cu126", "2.8": "cu128", "2.9": "cu128",
    "2.10": "cu128", "2.11": "cu128", "2.12": "cu130", "2.13": "cu130", "2.14": "cu130",
}
# Python range per torch minor (same source, tables.json "torch_python").
TORCH_PYTHON: dict[str, tuple[str, str]] = {
    "2.4": ("3.8", "3.12"), "2.5": ("3.9", "3.12"), "2.6": ("3.9", "3.13"),
    "2.7": ("3.9", "3.13"), "2.8": ("3.9", "3.13"), "2.9": ("3.10", "3.14"),
    "2.10": ("3.10", "3.14"),
}
# torch releases the newest mamba_ssm / causal_conv1d wheels were built for, newest first
# (wheels/REPORT.md §4: v2.3.1-v2.3.2.post1 cover 2.6-2.10, v2.2.5-v2.3.0 cover 2.4-2.7).
TORCH_WITH_MAMBA_WHEELS = ("2.10.0", "2.9.1", "2.8.0", "2.7.1", "2.6.0", "2.5.1", "2.4.0")
TORCH_INDEX = "https://download.pytorch.org/whl"

# SASS compiled into the official mamba_ssm wheels (no PTX), by release and the CUDA major of
# the wheel. Source: shared/reference/wheels/REPORT.md §6, schemes B-E. There is never an
# sm_60/61 cubin, so Pascal GPUs get no kernel from any release.
MAMBA_SASS: tuple[tuple[str, str, dict[int, tuple[int, ...]]], ...] = (
    # (first version, last version, {cuda major: architectures})
    ("1.2.1", "2.2.4", {11: (53, 62, 70, 72, 80, 87, 90), 12: (53, 62, 70, 72, 80, 87, 90)}),
    ("2.2.5", "2.2.5", {11: (53, 62, 70, 72, 80, 87, 90),
                        12: (53, 62, 70, 72, 80, 87, 90, 100)}),
    ("2.2.6", "2.3.1", {11: (53, 62, 70, 72, 75, 80, 87, 90),
                        12: (53, 62, 70, 72, 75, 80, 87, 90, 100, 120),
                        13: (75, 80, 87, 90, 100, 103, 110, 120, 121)}),
    ("2.3.2", "9999", {11: (75, 80, 87, 90), 12: (75, 80, 87, 90, 100, 120),
                       13: (75, 80, 87, 90, 100, 103, 110, 120, 121)}),
)
LATEST_MAMBA = "2.3.2.post1"

ARCH_NAMES: dict[int, str] = {  # tables.json "arch_details"
    6: "Pascal", 7: "Volta/Turing", 8: "Ampere/Ada", 9: "Hopper", 10: "Blackwell",
    11: "Blackwell (Thor)", 12: "Blackwell",
}


def version_of(text: Optional[str]) -> Optional[Version]:
    """Version("2.1.0a0+32f93b1") and friends; None when unparsable."""
    if not text:
        return None
    try:
        return Version(str(text).strip())
    except InvalidVersion:
        return None


def cuda_tuple(text: Optional[str]) -> Optional[tuple[int, int]]:
    """"12.4" / "12.4.1" / "cu124" -> (12, 4)."""
    if not text:
        return None
    raw = str(text).strip().lower()
    if raw.startswith("cu") and raw[2:].isdigit() and len(raw) >= 5:
        return int(raw[2:-1]), int(raw[-1])
    parts = raw.split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


def pair(text: str) -> tuple[int, int]:
    """cuda_tuple for table values, which always parse; (0, 0) otherwise."""
    return cuda_tuple(text) or (0, 0)


def driver_ceiling(driver: Optional[str]) -> Optional[str]:
    """Highest CUDA whose toolkit driver `driver` meets (a table guess, for when the driver
    itself did not say)."""
    have = version_of(driver)
    if have is None:
        return None
    best = None
    for cuda, need in TOOLKIT_DRIVER_LINUX.items():
        if have >= Version(need) and (best is None or pair(cuda) > pair(best)):
            best = cuda
    return best


def compat_ceiling(ceiling: Optional[tuple[int, int]], driver: Optional[str]
                   ) -> Optional[tuple[int, int]]:
    """Widen a ceiling to its whole CUDA major when the driver meets NVIDIA's minor-version
    compatibility minimum (a cu118 torch runs on a 470 driver, without PTX JIT)."""
    have = version_of(driver)
    if ceiling is None or have is None:
        return ceiling
    need = MINOR_COMPAT_MIN_DRIVER.get(ceiling[0])
    return (ceiling[0], 9) if need and have >= Version(need) else ceiling


def sm_runs(gpu_sm: int, cubins: tuple[int, ...]) -> bool:
    """A cubin for sm_XY runs on sm_XZ with Z >= Y, never across majors (no PTX to JIT)."""
    return any(c // 10 == gpu_sm // 10 and c % 10 <= gpu_sm % 10 for c in cubins)


def mamba_sass(version: str, cuda_major: int) -> Optional[tuple[int, ...]]:
    """Architectures in the official mamba_ssm wheel for `version` built with CUDA `cuda_major`."""
    have = version_of(version)
    if have is None:
        return None
    base = Version(have.base_version)
    for first, last, table in MAMBA_SASS:
        if Version(first) <= base <= Version(last):
            return table.get(cuda_major)
    return None


def torch_variant_for(torch_version: str, ceiling: Optional[tuple[int, int]]) -> Optional[str]:
    """Highest CUDA variant of this torch minor that the driver ceiling allows; with no
    ceiling known, the variant PyPI gives by default."""
    have = version_of(torch_version)
    if have is None:
        return None
    minor = f"{have.major}.{have.minor}"
    variants = TORCH_CUDA_VARIANTS.get(minor, ())
    if ceiling is None and minor in TORCH_DEFAULT_VARIANT:
        return TORCH_DEFAULT_VARIANT[minor]
    fitting = [v for v in variants if ceiling is None or pair(v) <= ceiling]
    return max(fitting, key=pair) if fitting else None


def torch_install_command(version: str, variant: str) -> str:
    return f"pip install torch=={version} --index-url {TORCH_INDEX}/{variant}"
