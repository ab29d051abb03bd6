"""Facts a wheel is matched on, read from the Environment model; the override flags (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional

from packaging.version import Version

from mamba_doctor._compat import removeprefix
from mamba_doctor.errors import UsageError
from mamba_doctor.knowledge.cuda_tables import torch_default_abi, version_of
from mamba_doctor.models import Environment, visible_gpus

_NGC_CONTAINER = re.compile(r"(?i)(ngc|nvidia|nvcr|pytorch)\D*?(\d{2})\.(\d{1,2})\b")
_NGC_TORCH = re.compile(r"\bnv(\d{2})\.(\d{1,2})\b")  # NGC torch: "2.8.0a0+5228986c39.nv25.06"
_PLATFORM_ALIASES = {
    "x86_64": "linux_x86_64", "amd64": "linux_x86_64", "aarch64": "linux_aarch64",
    "arm64": "linux_aarch64", "win_amd64": "win_amd64", "windows": "win_amd64",
}


@dataclass(frozen=True)
class Facts:
    """Normalised facts; None means unknown (never a reason to reject)."""

    python: Optional[str]  # "3.8"
    implementation: Optional[str]
    free_threaded: bool
    torch_state: str  # "installed" | "absent" | "unknown"
    torch_version: Optional[Version]
    torch_minor: Optional[str]  # "2.0"
    cuda: Optional[str]  # torch.version.cuda: "11.8"; None for a CPU torch or when unknown
    torch_is_cpu: bool
    hip: Optional[str]
    cxx11abi: Optional[bool]
    platform: Optional[str]  # "linux_x86_64" ...
    glibc: Optional[Version]
    gpus: tuple[tuple[str, int], ...]  # (name, sm) of each visible GPU
    driver_cuda: Optional[Version]  # the highest CUDA the driver supports
    ngc: Optional[str]  # NGC PyTorch container release ("25.09") when inside one
    abi_assumed: Optional[str] = None  # why `cxx11abi` is the official wheels' default
    # torch's CUDA_HOME for a build (CUDA_HOME / CUDA_PATH / nvcc on PATH / /usr/local/cuda):
    # True found, False looked for and not found, None not probed (an --env file without it)
    cuda_home: Optional[bool] = None

    @property
    def cuda_major(self) -> Optional[int]:
        m = re.match(r"([0-9]{1,3})(?:\.|$)", self.cuda or "", re.ASCII)
        return int(m.group(1)) if m else None


def facts_of(env: Environment) -> Facts:
    """Extract the matching facts from an Environment (pure)."""
    tv = version_of(env.torch.version)
    if env.torch.installed is False:
        state = "absent"
    elif tv is not None or env.torch.installed:
        state = "installed"
    else:
        state = "unknown"
    cuda = str(env.torch.cuda) if env.torch.cuda else None
    is_cpu = state == "installed" and tv is not None and cuda is None and not env.torch.hip
    abi, assumed = abi_assumption(env)
    return Facts(
        python=python_minor(env.python.version, env.python.abi_tag),
        implementation=str(env.python.implementation or "").lower() or None,
        free_threaded=str(env.python.abi_tag or "").endswith("t"),
        torch_state=state,
        torch_version=tv,
        torch_minor=f"{tv.major}.{tv.minor}" if tv is not None else None,
        cuda=cuda,
        torch_is_cpu=is_cpu,
        hip=str(env.torch.hip) if env.torch.hip else None,
        cxx11abi=abi,
        platform=platform_of(env),
        glibc=version_of(env.os.glibc),
        gpus=_gpus(env),
        driver_cuda=version_of(env.nvidia.cuda_driver_version),
        ngc=ngc_release(env),
        abi_assumed=assumed,
        cuda_home=_cuda_home(env),
    )


def _cuda_home(env: Environment) -> Optional[bool]:
    tk = env.cuda_toolkit
    if tk.cuda_home:
        return True
    # probe/toolkit.py records why it found none; an unprobed section has no reasons at all
    return False if "cuda_home" in tk.reasons else None


def abi_assumption(env: Environment) -> tuple[Optional[bool], Optional[str]]:
    """torch's C++ ABI, and when nobody reported it (an --env file, a torch that did not import,
    --torch-version) the one rule every command uses: the ABI of the official torch wheels for
    that torch and CUDA. The second value states the assumption (None when the ABI is known or
    cannot be assumed)."""
    t = env.torch
    if isinstance(t.cxx11abi, bool):
        return t.cxx11abi, None
    v = version_of(t.version)
    if v is None or t.hip or ngc_release(env):  # NGC and ROCm builds are not the official ones
        return None, None
    minor = f"{v.major}.{v.minor}"
    cuda = str(t.cuda).split(".") if t.cuda else None
    variant = f"cu{cuda[0]}{cuda[1]}" if cuda and len(cuda) > 1 else "cpu"
    abi = torch_default_abi(minor, variant)
    if abi is None:
        return None, None
    return abi, (f"torch's C++ ABI was not reported: assumed cxx11abi{str(abi).upper()}, that of "
                 f"the official torch {minor} ({variant}) wheels (pass --cxx11abi for a custom "
                 "torch build)")


def python_minor(version: Optional[str], abi_tag: Optional[str] = None) -> Optional[str]:
    """"3.11.7" -> "3.11" (or from the ABI tag "cp311"); ASCII digits only (3.11 written in
    Arabic-Indic digits is no version pip or a wheel tag would know)."""
    if version:
        m = re.match(r"\s*([0-9]{1,2})\.([0-9]{1,3})(?![0-9])", str(version), re.ASCII)
        if m:
            return f"{int(m.group(1))}.{int(m.group(2))}"
    m = re.fullmatch(r"cp([0-9])([0-9]{1,3})t?", str(abi_tag or ""), re.ASCII)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def platform_of(env: Environment) -> Optional[str]:
    """"linux_x86_64", "linux_aarch64", "win_amd64", "macosx_…", "musllinux_…"; None if unknown."""
    tag = str(env.python.platform_tag or "").strip().lower().replace("-", "_").replace(".", "_")
    if tag:
        m = re.match(r"(manylinux|musllinux)\w*?_(x86_64|aarch64)$", tag)
        if m:
            return tag if m.group(1) == "musllinux" else f"linux_{m.group(2)}"
        return _PLATFORM_ALIASES.get(tag, tag)
    system = str(env.os.system or "").lower()
    arch = str(env.os.arch or "").lower()
    if system == "windows":
        return "win_amd64"
    if system == "darwin":
        return f"macosx_{arch or 'unknown'}"
    if system == "linux" and arch:
        return _PLATFORM_ALIASES.get(arch, f"linux_{arch}")
    return None


def ngc_release(env: Environment) -> Optional[str]:
    """NGC PyTorch container release ("25.09") from the container name or torch's version."""
    for text, pattern in ((env.os.container, _NGC_CONTAINER), (env.torch.version, _NGC_TORCH)):
        m = pattern.search(str(text or ""))
        if m:
            year, month = m.groups()[-2:]
            return f"{year}.{int(month):02d}"
    return None


def _gpus(env: Environment) -> tuple[tuple[str, int], ...]:
    return tuple((g.name or g.label, g.sm) for g in visible_gpus(env))


def apply_overrides(env: Environment, *, torch_version: Optional[str] = None,
                    cuda_version: Optional[str] = None, python_version: Optional[str] = None,
                    cxx11abi: Optional[bool] = None,
                    platform: Optional[str] = None) -> Environment:
    """Replace single facts (flags such as --torch-version). Raises UsageError on a bad value.

    `cuda_version` is torch's CUDA (torch.version.cuda): "11.8", "cu118", or "cpu"/"none".
    A torch version with a local label ("2.0.0+cu118", "2.4.1+cpu") also sets the CUDA. A torch
    version other than the probed one drops the probed C++ ABI (unknown unless `cxx11abi`).
    """
    torch, python, os_ = env.torch, env.python, env.os
    if torch_version is not None:
        tv = version_of(torch_version)
        if tv is None:
            raise UsageError(f"--torch-version {torch_version!r} is not a version",
                             hint="Give torch's version, e.g. --torch-version 2.4.1")
        # The probed C++ ABI and HIP belong to the probed torch build, not to this one.
        same = _same_build(tv, version_of(env.torch.version))
        torch = replace(torch, installed=True, version=str(tv), error=None,
                        cxx11abi=torch.cxx11abi if same else None,
                        hip=torch.hip if same else None)
        local = (tv.local or "").lower()
        if cuda_version is None and local.startswith("cu") and local[2:].isdigit():
            cuda_version = local
        elif cuda_version is None and local == "cpu":
            cuda_version = "cpu"
    if cuda_version is not None:
        torch = replace(torch, cuda=_cuda(cuda_version))
        if torch.installed is None:
            torch = replace(torch, installed=True)
    if cxx11abi is not None:
        torch = replace(torch, cxx11abi=cxx11abi)
    if python_version is not None:
        minor = python_minor(python_version)
        if minor is None:
            raise UsageError(f"--python-version {python_version!r} is not a Python version",
                             hint="Give major.minor, e.g. --python-version 3.10")
        python = replace(python, version=python_version.strip(),
                         abi_tag="cp" + minor.replace(".", ""),
                         implementation=python.implementation or "cpython")
    if platform is not None:
        tag = platform.strip().lower().replace("-", "_")
        tag = _PLATFORM_ALIASES.get(tag, tag)
        if not re.fullmatch(r"(linux|manylinux\w*|musllinux\w*)_(x86_64|aarch64)|win_amd64|"
                            r"win32|win_arm64|macosx_\w+", tag):
            raise UsageError(f"--platform {platform!r} is not a platform tag",
                             hint="Use e.g. linux_x86_64, linux_aarch64 or win_amd64.")
        python = replace(python, platform_tag=tag)
        system = "Windows" if tag.startswith("win") else "Darwin" if tag.startswith("mac") \
            else "Linux"
        arch = "aarch64" if tag.endswith("aarch64") else "x86_64" if tag.endswith(
            ("x86_64", "amd64")) else os_.arch
        os_ = replace(os_, system=system, arch=arch)
    return replace(env, torch=torch, python=python, os=os_)


def _same_build(given: Version, probed: Optional[Version]) -> bool:
    """--torch-version names the probed build ("2.4.1" for a probed "2.4.1+cu121" counts)."""
    if probed is None:
        return False
    return given == probed or (not given.local and given.public == probed.public)


def _cuda(text: str) -> Optional[str]:
    raw = text.strip().lower()
    if raw in ("cpu", "none", ""):
        return None
    digits = removeprefix(raw, "cu")
    found = None
    if re.fullmatch(r"\d+\.\d+(\.\d+)?", digits):
        found = ".".join(digits.split(".")[:2])
    elif re.fullmatch(r"\d{3}", digits):  # "118" -> "11.8", "130" -> "13.0"
        found = f"{digits[:2]}.{digits[2:]}"
    elif re.fullmatch(r"\d{2}", digits):
        found = f"{digits}.0"
    if found is not None:
        known = known_cuda_versions()
        if found in known:
            return found
        raise UsageError(f"--cuda-version {text!r}: CUDA {found} is not a release "
                         f"mamba-doctor knows ({known[0]} to {known[-1]})",
                         hint="Give torch's CUDA (torch.version.cuda), e.g. --cuda-version 12.4.")
    raise UsageError(f"--cuda-version {text!r} is not a CUDA version",
                     hint="Give torch's CUDA (torch.version.cuda), e.g. --cuda-version 12.4, "
                          "or 'cpu' for a CPU-only torch.")


def known_cuda_versions() -> list[str]:
    """Every CUDA release the tables know (wheels_index/torch.json): the toolkits' and those
    torch was built for, oldest first."""
    from mamba_doctor.knowledge.cuda_tables import pair, tables, torch_minors, torch_variants

    found = set(tables()["toolkit_driver"])
    for minor in torch_minors():
        found.update(f"{v[2:4]}.{v[4:]}" for v in torch_variants(minor) if v.startswith("cu"))
    return sorted(found, key=pair)
