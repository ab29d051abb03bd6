"""Read a machine description saved with `mamba-doctor check --json` (the --env FILE option)."""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Mapping, Optional

from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment

SECTIONS = ("os", "nvidia", "cuda_toolkit", "python", "torch", "packages")
MAX_BYTES = 16 << 20  # `check --json` writes about 150 kB
HINT = "Save one on the target machine with: mamba-doctor check --json > env.json"


def read_env_file(path: Path, *, flag: str = "--env") -> Environment:
    """The Environment in `path` (a whole `check --json` envelope or its environment part).

    Raises UsageError (exit 2) when the file cannot be read, is not JSON, or describes nothing:
    an object without any environment section would silently resolve for "everything unknown".
    """
    try:
        with Path(path).expanduser().open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # bounded: `--env /dev/zero` must not eat the memory
        if len(raw) > MAX_BYTES:
            raise UsageError(f"{flag} {path}: over {MAX_BYTES >> 20} MiB, not a `check --json` "
                             "document", hint=HINT)
        text = raw.decode("utf-8-sig")
    except IsADirectoryError:
        raise UsageError(f"{flag} {path}: is a directory, not a file", hint=HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{flag} {path}: cannot read it ({why})", hint=HINT) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {path}: not JSON ({exc})", hint=HINT) from None
    if not any(key in SECTIONS for key in _environment_part(doc)):
        raise UsageError(f"{flag} {path}: no environment in it (expected some of: "
                         f"{', '.join(SECTIONS)})", hint=HINT)
    try:
        return validated(Environment.from_dict(doc))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{flag} {path}: not an environment document ({exc})",
                         hint=HINT) from None


# What each fact may look like. A value from another machine ends up in resolver decisions
# and in printed commands: a "version" of `2.0.0' ; touch X ; echo '`, or one written in
# Arabic-Indic digits, is refused (exit 2) rather than carried along; free text (a distro
# name, an error message) keeps its words but loses control characters and terminal escape
# sequences.
_TOKEN = r"[0-9A-Za-z][0-9A-Za-z.+!_-]{0,127}"
_RULES: dict[str, dict[str, str]] = {
    "os": {"system": r"[A-Za-z][A-Za-z0-9_ -]{0,31}", "arch": r"[A-Za-z0-9_]{1,32}",
           "glibc": r"[0-9]{1,3}(\.[0-9]{1,4}){1,3}", "glibcxx": r"[0-9]{1,3}(\.[0-9]{1,4}){1,3}",
           "libstdcxx_path": "path"},
    "nvidia": {"driver_version": r"[0-9]{1,4}(\.[0-9]{1,4}){1,3}",
               "cuda_driver_version": r"[0-9]{1,3}\.[0-9]{1,3}"},
    "cuda_toolkit": {"cuda_home": "path", "nvcc_path": "path",
                     "nvcc_version": r"[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,4})?"},
    "python": {"executable": "path", "conda_prefix": "path",
               "version": r"[0-9]{1,2}\.[0-9]{1,3}(\.[0-9]{1,4})?[0-9A-Za-z.+_-]{0,32}",
               "implementation": r"[A-Za-z][A-Za-z0-9_]{0,31}", "abi_tag": r"[a-z0-9_]{1,32}",
               "platform_tag": r"[A-Za-z0-9_.-]{1,128}", "pip_version": _TOKEN},
    "torch": {"version": _TOKEN, "cuda": r"[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,4})?",
              "hip": _TOKEN},
    # versions as the probe reads them; the compiler names may be paths ($CC=/opt/gcc/bin/gcc)
    "build_tools": {"host_compiler": "path", "cxx": "path",
                    "host_compiler_version": _TOKEN, "cxx_version": _TOKEN,
                    "host_compiler_kind": r"[a-z]{1,16}", "nvcc_gcc_source": r"[A-Za-z0-9_.]{1,32}",
                    "cmake_version": _TOKEN, "ninja_version": _TOKEN},
    "gpu": {"compute_capability": r"[0-9]{1,2}\.[0-9]{1,2}", "uuid": r"[A-Za-z0-9_:/.-]{1,128}"},
    "package": {"version": _TOKEN},
}
_ARCH = re.compile(r"(sm|compute)_[0-9]{2,3}[af]?", re.ASCII)
_CC = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}", re.ASCII)
_CONTROL = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-9;?]*[ -/]*[@-~]|"
                      r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a path holds none, newline included
_MAX_TEXT = 64 << 10


def validated(env: Environment) -> Environment:
    """`env` with every fact checked by syntax (ValueError naming the first bad one) and
    control characters removed from free text."""
    gpus = tuple(_section(g, "gpu", f"nvidia.gpus[{i}]") for i, g in enumerate(env.nvidia.gpus))
    for i, gpu in enumerate(gpus):
        if gpu.index < 0 or gpu.index >= 4096:
            raise ValueError(f"nvidia.gpus[{i}].index {gpu.index} is not a GPU ordinal")
        if gpu.memory_mib is not None and not 0 <= gpu.memory_mib < 1 << 40:
            raise ValueError(f"nvidia.gpus[{i}].memory_mib {gpu.memory_mib} is not a size")
    torch = _section(env.torch, "torch", "torch")
    for cap in torch.capabilities:
        if not _CC.fullmatch(cap):
            raise ValueError(f"torch.capabilities: {cap[:40]!r} is not a compute capability")
    for arch in torch.arch_list:
        if not _ARCH.fullmatch(arch):
            raise ValueError(f"torch.arch_list: {arch[:40]!r} is not an architecture")
    if torch.device_count is not None and not 0 <= torch.device_count < 4096:
        raise ValueError(f"torch.device_count {torch.device_count} is not a device count")
    packages = {}
    for name, info in env.packages.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name, re.ASCII):
            raise ValueError(f"packages: {name[:40]!r} is not a package name")
        packages[name] = _section(info, "package", f"packages.{name}")
    return replace(
        env, os=_section(env.os, "os", "os"), torch=torch,
        nvidia=replace(_section(env.nvidia, "nvidia", "nvidia"), gpus=gpus),
        cuda_toolkit=_section(env.cuda_toolkit, "cuda_toolkit", "cuda_toolkit"),
        python=_section(env.python, "python", "python"), packages=packages,
        build_tools=_section(env.build_tools, "build_tools", "build_tools"))


def _section(obj: Any, rules: str, where: str) -> Any:
    changes: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        rule = _RULES[rules].get(f.name)
        if isinstance(value, str):
            changes[f.name] = _check(value, rule, f"{where}.{f.name}")
        elif isinstance(value, Mapping):
            changes[f.name] = {_clean(k): _clean(v) for k, v in value.items()}
    return replace(obj, **changes)


def _check(value: str, rule: Optional[str], where: str) -> Optional[str]:
    if rule is None:  # free text: kept, minus what a terminal would act on
        return _clean(value)
    if rule == "path":
        if len(value) > 4096 or _ANY_CONTROL.search(value):
            raise ValueError(f"{where}: {value[:60]!r} is not a path")
        return value or None
    if value == "":
        return None
    if not re.fullmatch(rule, value, re.ASCII):
        raise ValueError(f"{where}: {value[:60]!r} is not a valid value there")
    return value


def _clean(text: str) -> str:
    return _CONTROL.sub("", text[:_MAX_TEXT])


def _environment_part(doc: object) -> Mapping[str, object]:
    """The mapping Environment.from_dict reads: it unwraps the envelope and its `environment`."""
    if not isinstance(doc, Mapping):
        return {}
    inner = doc.get("data")
    if isinstance(inner, Mapping):
        doc = inner
    env = doc.get("environment")
    return env if isinstance(env, Mapping) else doc
