"""The host-compiler probe, its `check` row and install's refusal before compiling, and the
plain-text `report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner

from mamba_doctor.check.compiler import host_compiler_check
from mamba_doctor.cli import app
from mamba_doctor.errors import InstallFailed
from mamba_doctor.install.build import check_host_compiler
from mamba_doctor.knowledge.host_compilers import gcc_fits, gcc_range
from mamba_doctor.models import BuildToolsInfo, CheckStatus, CudaToolkitInfo, Environment
from mamba_doctor.probe.compilers import (
    parse_compiler_version,
    parse_host_config,
    probe_build_tools,
)

HOST_CONFIG_12_3 = """
#if defined(__GNUC__)
#if __GNUC__ > 12
#error -- unsupported GNU version! gcc versions later than 12 are not supported!
#endif /* __GNUC__ > 12 */
#if (__GNUC__ < 6)
#error -- unsupported GNU version! gcc versions older than 6 are not supported!
#endif
"""


def test_compiler_versions_and_nvcc_header() -> None:
    assert parse_compiler_version("gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\nCopyright") == \
        ("gcc", "11.4.0")
    assert parse_compiler_version("g++ (GCC) 14.2.1 20240912 (Red Hat 14.2.1-3)\n") == \
        ("gcc", "14.2.1")  # the version, not the date after it
    assert parse_compiler_version("clang version 17.0.6\nTarget: x86_64") == ("clang", "17.0.6")
    assert parse_host_config(HOST_CONFIG_12_3) == (6, 12)
    assert gcc_range("12.4.131") == (6, 13) and gcc_range("10.0") is None
    assert gcc_fits("13.2.0", 6, 12) is False and gcc_fits("12.3.0", 6, 12) is True
    assert gcc_fits(None, 6, 12) is None


def test_real_toolkit_header_agrees_with_the_table() -> None:
    header = Path("/usr/local/cuda/include/crt/host_config.h")
    if not header.is_file():
        pytest.skip("no CUDA toolkit here")
    from mamba_doctor.probe.toolkit import probe_toolkit

    toolkit = probe_toolkit(environ={"PATH": "/usr/local/cuda/bin:/usr/bin:/bin"})
    _low, high = parse_host_config(header.read_text(errors="replace"))
    known = gcc_range(toolkit.nvcc_version)
    assert high is not None and (known is None or known[1] == high), (toolkit, high, known)


def _fake_tool(folder: Path, name: str, first_line: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{first_line}'\n")
    path.chmod(0o755)


def test_probe_reads_cc_and_the_toolkit_header(tmp_path: Path) -> None:
    bin_dir, home = tmp_path / "bin", tmp_path / "cuda"
    bin_dir.mkdir()
    (home / "include" / "crt").mkdir(parents=True)
    (home / "include" / "crt" / "host_config.h").write_text(HOST_CONFIG_12_3)
    _fake_tool(bin_dir, "gcc-14", "gcc-14 (Debian 14.2.0-8) 14.2.0")
    _fake_tool(bin_dir, "g++", "g++ (Debian 12.2.0-14) 12.2.0")
    _fake_tool(bin_dir, "ninja", "1.11.1")
    tools = probe_build_tools(CudaToolkitInfo(cuda_home=str(home), nvcc_version="12.3"),
                              environ={"PATH": str(bin_dir), "CC": "gcc-14"})
    assert (tools.host_compiler, tools.host_compiler_version) == ("gcc-14", "14.2.0")
    assert (tools.nvcc_gcc_min, tools.nvcc_gcc_max, tools.nvcc_gcc_source) == \
        (6, 12, "host_config.h")
    assert tools.cxx_version == "12.2.0" and tools.ninja_version == "1.11.1"
    assert tools.cmake_version is None
    env = Environment(cuda_toolkit=CudaToolkitInfo(nvcc_version="12.3"), build_tools=tools)
    row = host_compiler_check(env)
    assert row.status is CheckStatus.WARN and not row.blocking
    assert "export CC=gcc-12 CXX=g++-12" in (row.hint or "")
    with pytest.raises(InstallFailed, match=r"outside the gcc range nvcc 12\.3 accepts"):
        check_host_compiler(env, "12.3")
    fine = Environment(cuda_toolkit=CudaToolkitInfo(nvcc_version="12.4"),
                       build_tools=BuildToolsInfo(
                           host_compiler="gcc", host_compiler_version="13.2.0",
                           host_compiler_kind="gcc", nvcc_gcc_min=6, nvcc_gcc_max=13,
                           nvcc_gcc_source="table"))
    assert host_compiler_check(fine).status is CheckStatus.OK
    check_host_compiler(fine, "12.4")  # no refusal


def test_rows_without_nvcc_or_without_a_probe_are_skipped() -> None:
    assert host_compiler_check(Environment()).status is CheckStatus.SKIP
    older = Environment(cuda_toolkit=CudaToolkitInfo(nvcc_version="12.4"))  # an old --env file
    assert host_compiler_check(older).status is CheckStatus.SKIP
    round_trip = Environment.from_dict(json.loads(json.dumps(Environment(
        build_tools=BuildToolsInfo(host_compiler="gcc", nvcc_gcc_max=13)).to_dict())))
    assert round_trip.build_tools.nvcc_gcc_max == 13


@pytest.mark.torch
@pytest.mark.slow
def test_report_is_one_plain_block_with_the_facts_of_this_machine() -> None:
    result = CliRunner().invoke(app, ["report", "--python", sys.executable])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for needle in ("== System", "== Python and torch", "== GPUs and CUDA", "cuDNN:",
                   "== Build tools", "cmake:", "ninja:", "== Mamba packages",
                   "== Prebuilt wheels for this machine", "== Relevant packages (pip)",
                   f"interpreter: {sys.executable}"):
        assert needle in text, needle
    import torch

    assert f"torch=={torch.__version__}" in text
    assert "│" not in text and "\x1b[" not in text  # no box, no colour: pastes as it is
    doc = json.loads(CliRunner().invoke(app, ["report", "--python", sys.executable,
                                              "--json"]).stdout)
    assert doc["data"]["text"] == text
