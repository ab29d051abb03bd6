"""Test isolation: each test gets its own cache dir, no MAMBA_DOCTOR_* leaks, pinned rich output."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import FaultyServer

FIXTURES = Path(__file__).parent / "fixtures"


def _cuda_gpu_present() -> bool:
    if shutil.which("nvidia-smi") is None and not Path("/proc/driver/nvidia/version").exists():
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if importlib.util.find_spec("torch") is None:  # e.g. scripts/test-pythons.sh on 3.8
        skip_torch = pytest.mark.skip(reason="needs torch in the test interpreter")
        for item in items:
            if item.get_closest_marker("torch") is not None:
                item.add_marker(skip_torch)
    if not any("gpu" in item.keywords for item in items):
        return
    if _cuda_gpu_present():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with a CUDA build of torch")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("MAMBA_DOCTOR_"):
            monkeypatch.delenv(key)
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("MAMBA_DOCTOR_CACHE_DIR", str(cache))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    # The CLI's setup_logging stops "mamba_doctor" records at its own handler (propagate off):
    # a test reading them with caplog must not depend on whether a CLI test ran before it
    # (with click 8.1, on Python 3.8, it did: tests/test_download_hardening.py).
    monkeypatch.setattr(logging.getLogger("mamba_doctor"), "propagate", True)


@pytest.fixture
def quiet_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip sees only what a test gives it: no config files, no PIP_* from this machine, no
    active venv or conda env."""
    for key in list(os.environ):
        if key.startswith("PIP_") and key != "PIP_DISABLE_PIP_VERSION_CHECK":
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyServer]:
    """A fault-injecting HTTP server on 127.0.0.1 (tests/httpserver.py), closed afterwards."""
    for key in ("NO_PROXY", "no_proxy"):  # a CI machine's proxy must not see loopback traffic
        monkeypatch.setenv(key, "127.0.0.1,localhost")
    srv = FaultyServer()
    yield srv
    srv.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB tmpfs (needs root, as on the dev machines and CI)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
