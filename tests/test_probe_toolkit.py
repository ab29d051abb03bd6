"""CUDA toolkit probe: CUDA_HOME / nvcc resolution and `nvcc --version` parsing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.probe import toolkit
from mamba_doctor.probe.toolkit import parse_nvcc_version, probe_toolkit


@pytest.mark.parametrize(("name", "version"), [("nvcc-version-12.4.txt", "12.4"),
                                                ("nvcc-version-13.0.txt", "13.0")])
def test_parse_nvcc_version(name: str, version: str) -> None:
    assert parse_nvcc_version(fixture(name)) == version
    assert parse_nvcc_version("bash: nvcc: command not found") is None


def _fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "cuda-12.4"
    (home / "bin").mkdir(parents=True)
    (home / "bin/nvcc").write_text("#!/bin/sh\n")
    (home / "bin/nvcc").chmod(0o755)
    return home


def test_cuda_home_nvcc_is_the_one_asked(tmp_path: Path) -> None:
    home = _fake_home(tmp_path)
    nvcc = str(home / "bin/nvcc")
    run = FakeRunner({(nvcc, "--version"): done(fixture("nvcc-version-12.4.txt"))})
    info = probe_toolkit(run=run, environ={"CUDA_HOME": str(home), "PATH": ""})
    assert (info.cuda_home, info.nvcc_path, info.nvcc_version) == (str(home), nvcc, "12.4")


def test_no_toolkit_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolkit, "DEFAULT_CUDA_HOME", str(tmp_path / "none"))
    info = probe_toolkit(run=FakeRunner(), environ={"PATH": str(tmp_path)})
    assert info.nvcc_path is None and info.nvcc_version is None and info.cuda_home is None
    assert "only needed to build" in info.reasons["nvcc_path"]


def test_broken_nvcc_is_a_reason_not_an_error(tmp_path: Path) -> None:
    home = _fake_home(tmp_path)
    run = FakeRunner({(str(home / "bin/nvcc"),): done("", rc=127, stderr="boom")})
    info = probe_toolkit(run=run, environ={"CUDA_PATH": str(home), "PATH": ""})
    assert info.nvcc_version is None and "exited with status 127" in info.reasons["nvcc_version"]


@pytest.mark.skipif(shutil.which("nvcc") is None and not Path("/usr/local/cuda/bin/nvcc").exists(),
                    reason="no CUDA toolkit on this machine")
def test_real_toolkit_probe_on_this_machine() -> None:
    info = probe_toolkit(environ=dict(os.environ))
    assert info.nvcc_path and info.nvcc_version and info.nvcc_version[0].isdigit()
