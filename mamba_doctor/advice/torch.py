"""Which torch to install for Mamba: the wheel resolver's choice, else the driver/variant tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from packaging.version import Version

from mamba_doctor.knowledge.cuda_tables import (
    TORCH_INDEX,
    cuda_tuple,
    driver_ceiling,
    minor_compat_min_driver,
    pair,
    pypi_default_variant,
    toolkit_driver,
    torch_has_python,
    torch_variants,
    version_of,
)
from mamba_doctor.models import Environment


def torch_with_mamba_wheels() -> tuple[str, ...]:
    """torch minors the published mamba_ssm wheels were built for, newest first (the index)."""
    from mamba_doctor.wheels.index import label_key, load_index

    labels = {w.torch for rel in load_index().for_package("mamba_ssm") for w in rel.wheels
              if w.available and not w.ngc and not w.nightly}
    return tuple(sorted(labels, key=label_key, reverse=True))


def compat_ceiling(ceiling: Optional[tuple[int, int]], driver: Optional[str]
                   ) -> Optional[tuple[int, int]]:
    """Widen a ceiling to its whole CUDA major when the driver meets NVIDIA's minor-version
    compatibility minimum (a cu118 torch runs on a 470 driver, without PTX JIT)."""
    have = version_of(driver)
    if ceiling is None or have is None:
        return ceiling
    need = minor_compat_min_driver(ceiling[0])
    return (ceiling[0], 9) if need and have >= Version(need) else ceiling


def torch_variant_for(torch_version: str, ceiling: Optional[tuple[int, int]]) -> Optional[str]:
    """Highest CUDA variant of this torch minor that the driver ceiling allows; with no
    ceiling known, the variant PyPI gives by default."""
    have = version_of(torch_version)
    if have is None:
        return None
    minor = f"{have.major}.{have.minor}"
    if ceiling is None and pypi_default_variant(minor):
        return pypi_default_variant(minor)
    fitting = [v for v in torch_variants(minor) if ceiling is None or pair(v) <= ceiling]
    return max(fitting, key=pair) if fitting else None


def torch_install_command(version: str, variant: str) -> str:
    return f"pip install torch=={version} --index-url {TORCH_INDEX}/{variant}"


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
    python = f"{py[0]}.{py[1]}" if py else None
    candidates = [f"{c}.0" for c in torch_with_mamba_wheels()
                  if torch_has_python(c, python) is not False]
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
    need = toolkit_driver(f"{cuda[0]}.{cuda[1]}") if cuda else None
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
