"""The host compilers and build tools a source build uses: which gcc nvcc will run and its
version, the gcc range the toolkit's nvcc accepts (its crt/host_config.h), cmake and ninja."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.knowledge.host_compilers import gcc_range
from mamba_doctor.models import BuildToolsInfo, CudaToolkitInfo

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")
_GNUC_MAX = re.compile(r"#if\s+__GNUC__\s*>\s*(\d+)")
_GNUC_MIN = re.compile(r"__GNUC__\s*<\s*(\d+)")


def parse_compiler_version(text: str) -> tuple[Optional[str], Optional[str]]:
    """(kind, version) from the first line of `cc --version`: "gcc (Debian 12.2.0-14) 12.2.0"
    -> ("gcc", "12.2.0"); "clang version 17.0.6" -> ("clang", "17.0.6")."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    kind = "clang" if "clang" in first.lower() else "gcc" if first else None
    found = _VERSION.findall(first)
    return kind, (found[-1] if kind == "gcc" and found else found[0] if found else None)


def parse_host_config(text: str) -> tuple[Optional[int], Optional[int]]:
    """(oldest, newest) gcc major from nvcc's crt/host_config.h `#error` guards."""
    high = _GNUC_MAX.search(text)
    low = _GNUC_MIN.search(text)
    return (int(low.group(1)) if low else None), (int(high.group(1)) if high else None)


def probe_build_tools(toolkit: CudaToolkitInfo, *, run: Runner = _run.run,
                      environ: Mapping[str, str], python: Optional[str] = None,
                      timeout: float = 15.0) -> BuildToolsInfo:
    """Never raises. The host compiler is $NVCC_CCBIN, else $CC (torch's extension builder
    passes it to nvcc as -ccbin), else the gcc on PATH; ninja is also looked for beside the
    target interpreter (`pip install ninja` puts it there)."""
    path = environ.get("PATH", os.defpath)
    reasons: dict[str, str] = {}
    cc = environ.get("NVCC_CCBIN") or environ.get("CC") or "gcc"
    cxx = environ.get("CXX") or "g++"
    kind, version = _compiler(cc, run, environ, path, timeout, reasons, "host_compiler")
    _kind, cxx_version = _compiler(cxx, run, environ, path, timeout, reasons, "cxx")
    low = high = None
    source = None
    header = _host_config(toolkit.cuda_home)
    if header is not None:
        low, high = parse_host_config(header)
        source = "host_config.h" if high is not None else None
    if high is None:
        known = gcc_range(toolkit.nvcc_version)
        if known is not None:
            (low, high), source = known, "table"
        elif toolkit.nvcc_version:
            reasons["nvcc_gcc_max"] = (f"no host_config.h under {toolkit.cuda_home}, and CUDA "
                                       f"{toolkit.nvcc_version} is not in the table")
    ninja_dirs = [os.path.dirname(python)] if python else []
    return BuildToolsInfo(
        host_compiler=cc, host_compiler_version=version, host_compiler_kind=kind, cxx=cxx,
        cxx_version=cxx_version, nvcc_gcc_min=low, nvcc_gcc_max=high, nvcc_gcc_source=source,
        cmake_version=_tool_version("cmake", run, environ, path, timeout),
        ninja_version=_tool_version("ninja", run, environ, os.pathsep.join([*ninja_dirs, path]),
                                    timeout),
        reasons=reasons)


def _compiler(name: str, run: Runner, environ: Mapping[str, str], path: str, timeout: float,
              reasons: dict[str, str], key: str) -> tuple[Optional[str], Optional[str]]:
    exe = shutil.which(name, path=path)
    if exe is None:
        reasons[key] = f"{name} not found on PATH (only a source build needs it)"
        return None, None
    done = run([exe, "--version"], timeout=timeout, env=dict(environ))
    if not done.ok:
        reasons[key] = done.describe_failure()
        return None, None
    return parse_compiler_version(done.stdout)


def _tool_version(name: str, run: Runner, environ: Mapping[str, str], path: str,
                  timeout: float) -> Optional[str]:
    exe = shutil.which(name, path=path)
    if exe is None:
        return None
    done = run([exe, "--version"], timeout=timeout, env=dict(environ))
    found = _VERSION.search(done.stdout) if done.ok else None
    return found.group(1) if found else None


def _host_config(cuda_home: Optional[str]) -> Optional[str]:
    if not cuda_home:
        return None
    home = Path(cuda_home)
    for candidate in [home / "include" / "crt" / "host_config.h",
                      *sorted(home.glob("targets/*/include/crt/host_config.h"))]:
        try:
            return candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return None
