"""The typed environment model shared by every command, and the check-result types.

`Environment.to_dict()` is what `check --json` writes under `data.environment`; `from_dict()` reads
it back (`--env FILE`), so a server can be probed and its wheel resolved on another machine.
Unknown facts are `None`, and each section's `reasons` says why (e.g. "nvidia-smi not found").
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, NamedTuple, Optional

Reasons = Mapping[str, str]


class CheckStatus(str, enum.Enum):
    """Outcome of one verdict row."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class OsInfo:
    system: Optional[str] = None  # "Linux", "Windows", "Darwin"
    distro: Optional[str] = None  # "Ubuntu 22.04.4 LTS"
    kernel: Optional[str] = None
    arch: Optional[str] = None  # "x86_64", "aarch64"
    glibc: Optional[str] = None  # "2.35"
    glibcxx: Optional[str] = None  # newest GLIBCXX_x.y.z in the libstdc++ the target loads
    libstdcxx_path: Optional[str] = None
    wsl: Optional[bool] = None
    container: Optional[str] = None  # "ngc-pytorch 24.01", "docker", ...
    admin: Optional[bool] = None  # root, or in the sudo/wheel/admin group: may install a driver
    slurm: Optional[str] = None  # "job" inside a SLURM allocation, "login" where srun is but none
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: Optional[str] = None
    compute_capability: Optional[str] = None  # "9.0"
    memory_mib: Optional[int] = None
    uuid: Optional[str] = None
    visible: Optional[bool] = None  # False when CUDA_VISIBLE_DEVICES hides it from torch

    @property
    def sm(self) -> Optional[int]:
        """Compute capability as an integer: "8.6" -> 86."""
        return parse_sm(self.compute_capability)


@dataclass(frozen=True)
class NvidiaInfo:
    driver_version: Optional[str] = None  # "550.54.15"
    cuda_driver_version: Optional[str] = None  # highest CUDA the driver supports: "12.4"
    gpus: tuple[GpuInfo, ...] = ()
    cuda_visible_devices: Optional[str] = None
    sources: Mapping[str, str] = field(default_factory=dict)  # fact -> which probe answered
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class CudaToolkitInfo:
    cuda_home: Optional[str] = None
    nvcc_path: Optional[str] = None
    nvcc_version: Optional[str] = None  # "12.4"
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class BuildToolsInfo:
    """The host compilers and build tools a source build uses (probe/compilers.py).

    `host_compiler` is the C compiler nvcc will run (torch's extension builder passes $CC as
    -ccbin), `nvcc_gcc_range` the gcc majors that nvcc accepts, read from its own
    crt/host_config.h when `nvcc_gcc_source` is "host_config.h", else from the table in
    knowledge/host_compilers.py."""

    host_compiler: Optional[str] = None  # "gcc", or $CC
    host_compiler_version: Optional[str] = None  # "12.2.0"
    host_compiler_kind: Optional[str] = None  # "gcc" | "clang"
    cxx: Optional[str] = None  # "g++", or $CXX
    cxx_version: Optional[str] = None
    nvcc_gcc_min: Optional[int] = None
    nvcc_gcc_max: Optional[int] = None
    nvcc_gcc_source: Optional[str] = None  # "host_config.h" | "table"
    cmake_version: Optional[str] = None
    ninja_version: Optional[str] = None
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class PythonInfo:
    executable: Optional[str] = None
    version: Optional[str] = None  # "3.11.7"
    implementation: Optional[str] = None  # "cpython"
    abi_tag: Optional[str] = None  # "cp311"
    platform_tag: Optional[str] = None  # "linux_x86_64"
    pip_version: Optional[str] = None
    is_venv: Optional[bool] = None
    conda_prefix: Optional[str] = None
    externally_managed: Optional[bool] = None
    # the wheel tags pip accepts in the target, folded: "manylinux_2_35_x86_64", ... "linux_x86_64"
    # and "cp38", "abi3", "none" (best first); () when unknown (no pip, or an older --env file)
    supported_platforms: tuple[str, ...] = ()
    supported_abis: tuple[str, ...] = ()
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class TorchInfo:
    installed: Optional[bool] = None
    version: Optional[str] = None  # "2.5.1+cu124"
    cuda: Optional[str] = None  # torch.version.cuda: "12.4"; None for a CPU build
    hip: Optional[str] = None
    cxx11abi: Optional[bool] = None
    cuda_available: Optional[bool] = None
    device_count: Optional[int] = None
    capabilities: tuple[str, ...] = ()  # per visible device: "9.0"
    arch_list: tuple[str, ...] = ()  # torch.cuda.get_arch_list(): "sm_90", ...
    error: Optional[str] = None  # import error / crash text
    reasons: Reasons = field(default_factory=dict)


@dataclass(frozen=True)
class PackageInfo:
    name: str
    version: Optional[str] = None  # installed distribution version, None if absent
    import_ok: Optional[bool] = None  # None: not tried
    error: Optional[str] = None


@dataclass(frozen=True)
class Environment:
    """Everything known about a machine + target interpreter."""

    os: OsInfo = field(default_factory=OsInfo)
    nvidia: NvidiaInfo = field(default_factory=NvidiaInfo)
    cuda_toolkit: CudaToolkitInfo = field(default_factory=CudaToolkitInfo)
    python: PythonInfo = field(default_factory=PythonInfo)
    torch: TorchInfo = field(default_factory=TorchInfo)
    packages: Mapping[str, PackageInfo] = field(default_factory=dict)
    build_tools: BuildToolsInfo = field(default_factory=BuildToolsInfo)
    # every distribution installed in the target, name -> version (empty when unknown)
    distributions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "os": _section_to_dict(self.os),
            "nvidia": {
                **_section_to_dict(self.nvidia),
                "gpus": [_section_to_dict(g) for g in self.nvidia.gpus],
            },
            "cuda_toolkit": _section_to_dict(self.cuda_toolkit),
            "python": _section_to_dict(self.python),
            "torch": _section_to_dict(self.torch),
            "packages": {k: _section_to_dict(v) for k, v in sorted(self.packages.items())},
            "build_tools": _section_to_dict(self.build_tools),
            "distributions": dict(sorted(self.distributions.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Rebuild from `to_dict()` output (or a hand-written subset of it).

        Accepts a whole `check --json` envelope too. Raises ValueError on a malformed document.
        """
        if not isinstance(data, Mapping):
            raise ValueError("the environment must be a JSON object")
        if "data" in data and isinstance(data["data"], Mapping):
            data = data["data"]
        if "environment" in data and isinstance(data["environment"], Mapping):
            data = data["environment"]
        nvidia = dict(_mapping(data, "nvidia"))
        gpus_raw = nvidia.pop("gpus", None)
        gpus_raw = [] if gpus_raw is None else gpus_raw
        if not isinstance(gpus_raw, list):
            raise ValueError("nvidia.gpus must be a list")
        gpus = tuple(_section_from_dict(GpuInfo, g, f"nvidia.gpus[{i}]", index=i)
                     for i, g in enumerate(gpus_raw))
        packages_raw = _mapping(data, "packages")
        dists_raw = _mapping(data, "distributions")
        return cls(
            os=_section_from_dict(OsInfo, _mapping(data, "os"), "os"),
            nvidia=replace(_section_from_dict(NvidiaInfo, nvidia, "nvidia"), gpus=gpus),
            cuda_toolkit=_section_from_dict(CudaToolkitInfo, _mapping(data, "cuda_toolkit"),
                                            "cuda_toolkit"),
            python=_section_from_dict(PythonInfo, _mapping(data, "python"), "python"),
            torch=_section_from_dict(TorchInfo, _mapping(data, "torch"), "torch"),
            packages={
                str(k): _section_from_dict(PackageInfo, v, f"packages.{k}", name=str(k))
                for k, v in packages_raw.items()
            },
            build_tools=_section_from_dict(BuildToolsInfo, _mapping(data, "build_tools"),
                                           "build_tools"),
            distributions={str(k): str(v) for k, v in dists_raw.items() if v is not None},
        )


@dataclass(frozen=True)
class CheckResult:
    """One verdict row of `check`."""

    id: str
    status: CheckStatus
    summary: str
    hint: Optional[str] = None
    blocking: bool = True  # a FAIL that is not blocking does not make `check` exit 3
    # The problem the advice engine is asked about (mamba_doctor/advice), which then writes
    # `hint` and `commands`; None for a row whose hint is plain text.
    problem: Optional[str] = None
    commands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status.value, "summary": self.summary,
                "hint": self.hint, "problem": self.problem, "commands": list(self.commands)}


class VisibleGpu(NamedTuple):
    label: str  # "GPU 0 (NVIDIA A100-SXM4-80GB)", or "device 0" when only torch listed it
    name: Optional[str]
    sm: int


def visible_gpus(env: Environment) -> tuple[VisibleGpu, ...]:
    """The GPUs torch will use, with a known compute capability: the one rule every stage uses
    (check's rows, the wheel fit, --from-source's architectures, explain's fixes).

    The driver's GPUs that CUDA_VISIBLE_DEVICES does not hide (where it cannot be told, as with
    MIG entries, a GPU counts as visible); when the driver listed none with a capability (an
    --env file with torch's view only, no nvidia-smi in a container), the devices torch itself
    reported, which are the visible ones by construction.
    """
    out = [VisibleGpu(f"GPU {g.index} ({g.name or 'unknown'})", g.name, g.sm)
           for g in env.nvidia.gpus if g.visible is not False and g.sm is not None]
    if not out:
        out = [VisibleGpu(f"device {i}", None, sm) for i, sm in
               enumerate(parse_sm(c) for c in env.torch.capabilities) if sm is not None]
    return tuple(out)


_SM = re.compile(r"(?:sm_|compute_)?([0-9]{1,3})(?:\.([0-9]{1,3})|([0-9])?[af]?)", re.ASCII)


def parse_sm(capability: Optional[str]) -> Optional[int]:
    """"8.6" -> 86, "sm_90" -> 90, "12.0" -> 120, "sm_90a" -> 90; None when unparsable.

    ASCII digits only: "²" and "٣" are digits to str.isdigit() but not to int() or to CUDA.
    """
    if not capability or not isinstance(capability, str):
        return None
    m = _SM.fullmatch(capability.strip().lower())
    if m is None:
        return None
    major, minor, last = m.groups()
    if minor is not None:
        return int(major) * 10 + int(minor)
    return int(major + (last or ""))


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be an object")
    return value


def _section_to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(sorted(value.items()))
        out[f.name] = value
    return out


def _section_from_dict(cls: Any, raw: Any, where: str, **defaults: Any) -> Any:
    """Build one section, checking each value's type against the field's annotation (a
    document from another machine may hold anything: a list where a version goes, a number as
    a GPU's name, `true` as its index). Raises ValueError naming the field."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be an object ({cls.__name__})")
    kwargs: dict[str, Any] = dict(defaults)
    for f in fields(cls):
        if f.name not in raw:
            continue
        kwargs[f.name] = _typed(f"{where}.{f.name}", str(f.type), raw[f.name])
    return cls(**kwargs)


_MAX_INT = 1 << 53  # what a JSON number can hold exactly


def _typed(where: str, annotation: str, value: Any) -> Any:
    optional = annotation.startswith("Optional[")
    kind = annotation[len("Optional["):-1] if optional else annotation
    if value is None:
        if optional or kind in ("Reasons", "Mapping[str, str]"):
            return None if optional else {}
        raise ValueError(f"{where} must not be null")
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, not {type(value).__name__}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, not {value!r:.40}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _MAX_INT:
            raise ValueError(f"{where} must be an integer, not {value!r:.40}")
        return value
    if kind == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where} must be a list of strings")
        return tuple(value)
    if kind in ("Reasons", "Mapping[str, str]"):
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ValueError(f"{where} must map strings to strings")
        return dict(value)
    if isinstance(value, list):  # anything else keeps the old, shape-only reading
        return tuple(value)
    return dict(value) if isinstance(value, Mapping) else value
