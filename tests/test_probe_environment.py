"""probe_environment: all probes together, concurrently, through one fake runner."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.errors import UsageError
from mamba_doctor.probe import probe_environment

PY = "/fake/python"
NVML = (sys.executable, "-I", "-S", "-c", "<snippet>", "nvml")


def test_everything_assembled(tmp_path: Path) -> None:
    lib = tmp_path / "libstdc++.so.6.0.33"
    lib.write_bytes(b"\x7fELF...GLIBCXX_3.4.32\x00GLIBCXX_3.4.33\x00GLIBCXX_3.4\x00")
    target = fixture("target-2.5.1-cu124.stdout").replace(
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", str(lib))
    run = FakeRunner({(PY,): done(target), NVML: done(fixture("nvml-2xH100.json"))})
    env = probe_environment(PY, run=run, environ={"PATH": "", "CUDA_VISIBLE_DEVICES": "0"},
                            root=tmp_path)
    assert env.torch.version == "2.5.1+cu124" and env.python.version == "3.11.9"
    assert env.nvidia.driver_version == "550.54.15"
    assert [g.visible for g in env.nvidia.gpus] == [True, False]
    if platform.system() == "Linux":
        assert (env.os.glibcxx, env.os.libstdcxx_path) == ("3.4.33", str(lib))
    assert env.packages["mamba_ssm"].import_ok is True
    assert run.called("nvidia-smi") == 0


def test_not_a_python_raises_usage_error(tmp_path: Path) -> None:
    run = FakeRunner({(PY,): done("", rc=0), NVML: done(fixture("nvml-absent.json"))})
    with pytest.raises(UsageError, match="not a working Python"):
        probe_environment(PY, run=run, environ={"PATH": ""}, root=tmp_path)
