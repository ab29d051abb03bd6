"""Which torch to install for Mamba: the wheel resolver's choice, else the driver/variant tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from mamba_doctor.knowledge.cuda_tables import (
    TOOLKIT_DRIVER_LINUX,
    TORCH_PYTHON,
    TORCH_WITH_MAMBA_WHEELS,
    compat_ceiling,
    cuda_tuple,
    driver_ceiling,
    pair,
    torch_install_command,
    torch_variant_for,
    version_of,
)
from mamba_doctor.models import Environment


@dataclass(frozen=True)
class WheelTorch:
    """The wheel resolver's answer to "which torch should I install?" for this machine.

    `advice` is the resolver's own sentence (ending in a pip command) for the nearest torch that
    has a prebuilt mamba_ssm wheel here, or None when no torch has one for this Python, platform,
    driver and GPU: then only a source build is left.
    """

    advice: Optional[str]


def torch_advice(env: Environment, wheel_torch: Optional[WheelTorch]) -> str:
    """Which torch to install: the resolver's choice (a torch with prebuilt mamba_ssm wheels, so
    `check`'s rows and `fetch-wheel` agree), else the table's, flagged as a source build."""
    if wheel_torch is None:  # the resolver did not run
        return for_target(suggest_torch(env), env)
    if wheel_torch.advice:
        return wheel_torch.advice
    return (f"{for_target(suggest_torch(env), env)}; no torch has a prebuilt mamba_ssm wheel "
            "for this machine, so build mamba_ssm from source afterwards: "
            "mamba-doctor install --from-source")


def suggest_torch(env: Environment) -> str:
    """The table-based torch install command for this driver: this torch's own version in a
    CUDA variant the driver runs (prebuilt mamba_ssm wheels not checked: `torch_advice` asks the
    resolver), else the newest torch of TORCH_WITH_MAMBA_WHEELS that fits."""
    driver = env.nvidia.driver_version
    ceiling = cuda_tuple(env.nvidia.cuda_driver_version or driver_ceiling(driver))
    py = cuda_tuple(env.python.version)
    current = env.torch.version
    variant = fit_variant(current, ceiling, driver) if current else None
    if current and variant:
        return (torch_install_command(base_version(current), variant)
                + _driver_note(variant, ceiling))
    candidates = [c for c in TORCH_WITH_MAMBA_WHEELS if py is None or
                  pair(TORCH_PYTHON[c.rsplit(".", 1)[0]][0]) <= py
                  <= pair(TORCH_PYTHON[c.rsplit(".", 1)[0]][1])]
    for limit in (ceiling, compat_ceiling(ceiling, driver)):  # exact fit first
        fits = [(c, v) for c in candidates if (v := torch_variant_for(c, limit))]
        # newest torch built for the driver's own CUDA major, else the newest that fits
        same = [(c, v) for c, v in fits if ceiling and (cuda_tuple(v) or (0,))[0] == ceiling[0]]
        for candidate, variant in (same or fits)[:1]:
            return torch_install_command(candidate, variant) + _driver_note(variant, limit)
    return "Upgrade the NVIDIA driver, then install a CUDA build of torch (pytorch.org)."


def fit_variant(version: str, ceiling: Optional[tuple[int, int]], driver: Optional[str]
         ) -> Optional[str]:
    """CUDA variant of this torch for the driver: within its ceiling, else through minor-version
    compatibility."""
    return torch_variant_for(version, ceiling) or torch_variant_for(
        version, compat_ceiling(ceiling, driver))


def _driver_note(variant: str, ceiling: Optional[tuple[int, int]]) -> str:
    if ceiling is not None:
        return ""
    cuda = cuda_tuple(variant)
    need = TOOLKIT_DRIVER_LINUX.get(f"{cuda[0]}.{cuda[1]}") if cuda else None
    return f"   # needs an NVIDIA driver >= {need}" if need else ""


def base_version(version: Optional[str]) -> str:
    parsed = version_of(version)
    return parsed.base_version if parsed else str(version)




def for_target(command: str, env: Environment) -> str:
    """`pip install ...` run by the checked interpreter: a bare `pip` may belong to another
    environment than the one `check --python` looked at."""
    exe = env.python.executable
    if not exe or not command.startswith("pip install "):
        return command
    import shlex

    return f"{shlex.quote(exe)} -m {command}"
