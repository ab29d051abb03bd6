"""Environments laid out on disk for the `envs` tests: real interpreters (venvs made without pip,
in a fraction of a second), conda-style ones marked by conda-meta/, and a stand-in torch that
is only files (torch/version.py, TorchConfig.cmake, dist-info), which is all `envs` reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Optional


def make_env(prefix: Path, *, python: str = sys.executable, torch: Optional[str] = None,
             cuda: Optional[str] = None, cxx11abi: Optional[bool] = None,
             conda: bool = False) -> Path:
    """A real venv at `prefix` (conda-style with `conda=True`), with torch files if asked."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(prefix)], check=True)
    if conda:
        (prefix / "conda-meta").mkdir()
        (prefix / "conda-meta" / "history").write_text("")
    if torch is not None:
        site = next(prefix.glob("lib/python3*/site-packages"))
        pkg = site / "torch"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("raise ImportError('a stand-in: never imported')\n")
        (pkg / "version.py").write_text(
            f"__version__ = {torch!r}\ncuda = {cuda!r}\nhip = None\n")
        if cxx11abi is not None:
            cmake = pkg / "share" / "cmake" / "Torch"
            cmake.mkdir(parents=True)
            (cmake / "TorchConfig.cmake").write_text(
                f'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI={int(cxx11abi)}")\n')
        info = site / f"torch-{torch}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {torch}\n")
    return prefix / "bin" / "python"
