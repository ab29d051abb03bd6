"""Pure parser for wheel filenames, including the +cu…torch…cxx11abi… labels of Mamba wheels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

# "+cu118torch2.0cxx11abiFALSE", "+cu12torch25.09cxx11abiTRUE" (NGC release as the torch part),
# "+hip62torch2.4cxx11abiTRUE" (the ROCm spelling setup.py can guess, never published).
_LOCAL = re.compile(
    r"^(?P<accel>cu|hip)(?P<cuda>\d+)torch(?P<torch>\d+\.\d+)cxx11abi(?P<abi>true|false)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class WheelTags:
    """What a wheel filename says: distribution, version and the tags a resolver matches on."""

    filename: str
    package: str  # normalised: "mamba_ssm"
    version: str  # public version, without the local label: "2.2.2"
    local: Optional[str]  # "cu118torch2.0cxx11abiFALSE"
    python: Optional[str]  # "3.8" from cp38; None for py3/none tags
    abi_tag: str  # "cp38", "abi3", "none"
    platform: str  # "linux_x86_64", "linux_aarch64", "win_amd64", "any"...
    cuda: Optional[str] = None  # label digits: "118", "12"
    hip: Optional[str] = None
    torch: Optional[str] = None  # "2.0" or NGC "25.09"
    cxx11abi: Optional[bool] = None

    @property
    def cuda_major(self) -> Optional[int]:
        return int(self.cuda[:2]) if self.cuda else None

    @property
    def ngc(self) -> bool:
        """A torch part like "25.09" names an NGC PyTorch container release, not a torch version."""
        return self.torch is not None and int(self.torch.split(".")[0]) >= 20

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_wheel_filename(name: str) -> WheelTags:
    """Parse a wheel filename (a URL or path works too). Raises ValueError when it is not one."""
    base = name.rsplit("/", 1)[-1].replace("%2B", "+").replace("%2b", "+")
    # PEP 427: {dist}-{version}[-{build}]-{python}-{abi}-{platform}.whl (parsed by hand: importing
    # packaging.tags costs more than the whole index load).
    parts = base[:-4].split("-") if base.endswith(".whl") else []
    if len(parts) not in (5, 6) or not re.fullmatch(r"[A-Za-z0-9_.]+", parts[0]):
        raise ValueError(f"not a wheel filename: {base!r}")
    dist, raw_version, interpreter, abi_tag, platform = parts[0], parts[1], *parts[-3:]
    try:
        version = Version(raw_version)
    except InvalidVersion:
        raise ValueError(f"not a wheel filename: {base!r} (bad version {raw_version!r})") \
            from None
    m = re.fullmatch(r"cp(\d)(\d+)", interpreter.split(".")[0])
    python = f"{m.group(1)}.{m.group(2)}" if m else None
    out: dict[str, Any] = {}
    local = raw_version.split("+", 1)[1] if "+" in raw_version else None
    lm = _LOCAL.match(local or "")
    if lm:
        key = "cuda" if lm.group("accel").lower() == "cu" else "hip"
        out[key] = lm.group("cuda")
        out["torch"] = lm.group("torch")
        out["cxx11abi"] = lm.group("abi").upper() == "TRUE"
    return WheelTags(
        filename=base,
        package=re.sub(r"[-_.]+", "_", dist).lower(),
        version=version.public,
        local=local,
        python=python,
        abi_tag=abi_tag.split(".")[0],
        platform=platform.split(".")[0],
        **out,
    )


def wheel_filename(package: str, version: str, *, python: str, torch: str, cuda: str,
                   cxx11abi: bool, platform: str) -> str:
    """The asset name the release workflows write: `<pkg>-<__version__>+cu<CUDA>torch<TORCH>`
    `cxx11abi<TRUE|FALSE>-cp<XY>-cp<XY>-<platform>.whl` (their publish.yaml renames the wheel
    `setup.py bdist_wheel` built)."""
    py = "cp" + python.replace(".", "")
    abi = "TRUE" if cxx11abi else "FALSE"
    return f"{package}-{version}+cu{cuda}torch{torch}cxx11abi{abi}-{py}-{py}-{platform}.whl"
