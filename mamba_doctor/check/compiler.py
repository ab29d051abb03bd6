"""The host-compiler row of `check`: is the gcc nvcc will run one that nvcc accepts? Only a
source build needs it, so it never blocks."""

from __future__ import annotations

from mamba_doctor.knowledge.host_compilers import gcc_fits
from mamba_doctor.models import CheckResult, CheckStatus, Environment

ID = "host_compiler"


def host_compiler_check(env: Environment) -> CheckResult:
    tools, nvcc = env.build_tools, env.cuda_toolkit.nvcc_version
    if not nvcc:
        return CheckResult(ID, CheckStatus.SKIP, "no nvcc: only a source build compiles",
                           blocking=False)
    cc = tools.host_compiler or "gcc"
    if not tools.host_compiler_version and "host_compiler" not in tools.reasons:
        return CheckResult(ID, CheckStatus.SKIP, "compilers not probed (an --env file from an "
                           "older mamba-doctor?)", blocking=False)
    if not tools.host_compiler_version:
        why = tools.reasons["host_compiler"]
        return CheckResult(ID, CheckStatus.WARN, f"{why}: a source build needs a C/C++ compiler",
                           hint="Only to build from source: install gcc and g++ (e.g. "
                                "`sudo apt install build-essential`).", blocking=False)
    if tools.host_compiler_kind != "gcc":
        return CheckResult(ID, CheckStatus.OK, f"{cc} is {tools.host_compiler_kind} "
                           f"{tools.host_compiler_version} (nvcc's gcc range not checked)",
                           blocking=False)
    low, high = tools.nvcc_gcc_min, tools.nvcc_gcc_max
    where = ("its crt/host_config.h" if tools.nvcc_gcc_source == "host_config.h"
             else "NVIDIA's host compiler support policy")
    span = f"gcc {low or '?'} to {high}" if high is not None else "an unknown gcc range"
    fits = gcc_fits(tools.host_compiler_version, low, high)
    text = f"{cc} {tools.host_compiler_version}; nvcc {nvcc} accepts {span} ({where})"
    if fits is None:
        return CheckResult(ID, CheckStatus.OK, text, blocking=False)
    if fits:
        return CheckResult(ID, CheckStatus.OK, text, blocking=False)
    major = high if high is not None else 11
    return CheckResult(ID, CheckStatus.WARN, text + ": a source build stops with "
                       "\"unsupported GNU version\"",
                       hint=f"Only to build from source: install gcc-{major} and g++-{major}, "
                            f"then `export CC=gcc-{major} CXX=g++-{major}`.", blocking=False)
