"""Test kit for `install`: tiny zipfile-made wheels; venvs holding a FAKE torch (no real torch)."""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

PY_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
PLAT_TAG = f"linux_{platform.machine()}"

FAKE_TORCH = {
    "torch/__init__.py": (
        "__version__ = '{version}'\n"
        "from torch import version, cuda, _C\n"
    ),
    "torch/version.py": "cuda = '12.4'\nhip = None\n__version__ = '{version}'\n",
    "torch/cuda/__init__.py": (
        "def is_available():\n    return False\n"
        "def device_count():\n    return 0\n"
        "def get_arch_list():\n    return []\n"
    ),
    "torch/_C.py": "_GLIBCXX_USE_CXX11_ABI = True\n",
}


def make_wheel(
    directory: Path, name: str, version: str, files: Mapping[str, str], *,
    requires: Sequence[str] = (), tag: str = "py3-none-any",
    requires_python: Optional[str] = None, entry_points: Optional[str] = None,
) -> Path:
    """Write `<name>-<version>-<tag>.whl` with the given modules and Requires-Dist lines."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    contents = dict(files)
    if entry_points:
        contents[f"{info}/entry_points.txt"] = entry_points
    contents[f"{info}/METADATA"] = "\n".join(meta) + "\n"
    contents[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: installkit\nRoot-Is-Purelib: true\n"
        + "".join(f"Tag: {t}\n" for t in _expand(tag))
    )
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
    return out


def _expand(tag: str) -> list[str]:
    py, abi, plat = tag.split("-")
    return [f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split(".")]


def fake_torch_wheel(directory: Path, version: str = "2.4.0") -> Path:
    files = {k: v.format(version=version) for k, v in FAKE_TORCH.items()}
    return make_wheel(directory, "torch", version, files)


def mamba_wheel(
    directory: Path, version: str = "2.3.2", *, label: Optional[str] = "cu12torch2.4cxx11abiTRUE",
    requires: Sequence[str] = ("torch", "einops"), kernel: str = "import torch\n",
    tag: Optional[str] = None, extra: Optional[Mapping[str, str]] = None,
    requires_python: Optional[str] = None, entry_points: Optional[str] = None,
) -> Path:
    """A stand-in for a mamba_ssm release wheel: `selective_scan_cuda` is a plain module whose
    body is `kernel` (make it raise to simulate an ABI break); `extra` adds members."""
    files = {
        "mamba_ssm/__init__.py": (
            f"import torch\nimport selective_scan_cuda\n__version__ = '{version}'\n"),
        "selective_scan_cuda.py": kernel,
        **(extra or {}),
    }
    full = f"{version}+{label}" if label else version
    return make_wheel(directory, "mamba_ssm", full, files, requires=requires,
                      tag=tag or f"{PY_TAG}-{PY_TAG}-{PLAT_TAG}",
                      requires_python=requires_python, entry_points=entry_points)


def causal_wheel(directory: Path, version: str = "1.6.0") -> Path:
    files = {"causal_conv1d/__init__.py": "import causal_conv1d_cuda\n",
             "causal_conv1d_cuda.py": "import torch\n"}
    return make_wheel(directory, "causal_conv1d", f"{version}+cu12torch2.4cxx11abiTRUE", files,
                      requires=("torch",), tag=f"{PY_TAG}-{PY_TAG}-{PLAT_TAG}")


def pip_home(dest: Path) -> Path:
    """A folder holding only a copy of the running pip (nothing else of this test venv: not its
    real torch), for venvs to reach through a .pth file instead of each installing pip."""
    import pip

    src = Path(pip.__file__).parent
    shutil.copytree(src, dest / "pip", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def offline_house(house: Path, environ: Any) -> Path:
    """The only package index pip sees: einops, and a torch 99.0.0 an unpinned resolver would
    happily upgrade to. `environ` is a pytest MonkeyPatch: pip reads no config, no index."""
    make_wheel(house, "einops", "0.8.0", {"einops/__init__.py": ""})
    fake_torch_wheel(house, "99.0.0")
    environ.setenv("PIP_CONFIG_FILE", os.devnull)
    environ.setenv("PIP_NO_INDEX", "1")
    environ.setenv("PIP_FIND_LINKS", str(house))
    return house


def create_venv(path: Path, wheelhouse: Path, torch_version: str = "2.4.0", *,
                pip_dir: Optional[Path] = None) -> Path:
    """A venv holding only the fake torch (and pip: its own, or `pip_dir` via a .pth file)."""
    if pip_dir is None:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        site = next(path.glob("lib/python3*/site-packages"))
        (site / "_installkit_pip.pth").write_text(str(pip_dir) + "\n")
    python = path / "bin" / "python"
    wheel = fake_torch_wheel(wheelhouse, torch_version)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    str(wheel)], check=True)
    return python


def clone_venv(template: Path, dest: Path) -> Path:
    """Copy a venv (much faster than creating one); `python -m pip` works in the copy."""
    shutil.copytree(template, dest, symlinks=True)
    return dest / "bin" / "python"


def freeze(python: Path) -> str:
    return subprocess.run([str(python), "-m", "pip", "freeze", "--all"], check=True,
                          capture_output=True, text=True).stdout
