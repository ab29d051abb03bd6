"""The seed user's server, in miniature: a stand-in torch that is a real wheel named torch
(reporting 2.0.0+cu118 and the pre-C++11 ABI), the mamba_ssm / causal_conv1d release assets
under their real names, and the small dependencies they pull in (einops, importlib-metadata on
Python < 3.10, zipp). Made with tests/installkit.make_wheel: valid METADATA, WHEEL, RECORD."""

from __future__ import annotations

from pathlib import Path

from installkit import make_wheel

TORCH = "2.0.0+cu118"
LABEL = "cu118torch2.0cxx11abiFALSE"
MAMBA, CAUSAL = "2.2.2", "1.4.0"


def torch_wheel(folder: Path, version: str = TORCH, cuda: str = "11.8",
                cxx11abi: bool = False) -> Path:
    files = {
        "torch/__init__.py": f"__version__ = {version!r}\nfrom torch import version, cuda, _C\n",
        "torch/version.py": f"__version__ = {version!r}\ncuda = {cuda!r}\nhip = None\n",
        "torch/cuda/__init__.py": ("def is_available():\n    return False\n"
                                   "def device_count():\n    return 0\n"
                                   "def get_arch_list():\n    return []\n"),
        "torch/_C.py": f"_GLIBCXX_USE_CXX11_ABI = {cxx11abi!r}\n",
        "torch/share/cmake/Torch/TorchConfig.cmake":
            f'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI={int(cxx11abi)}")\n',
    }
    return make_wheel(folder, "torch", version, files)


def release_assets(folder: Path, py_tag: str = "cp38", platform: str = "linux_x86_64"
                   ) -> list[Path]:
    """mamba_ssm 2.2.2 and causal_conv1d 1.4.0 as their cu118/torch 2.0/ABI FALSE assets."""
    tag = f"{py_tag}-{py_tag}-{platform}"
    mamba = make_wheel(folder, "mamba_ssm", f"{MAMBA}+{LABEL}", {
        "mamba_ssm/__init__.py": f"import torch\nimport selective_scan_cuda\n"
                                 f"__version__ = {MAMBA!r}\n",
        "selective_scan_cuda.py": "import torch\n"},
        requires=("torch", "einops", "numpy", 'importlib-metadata; python_version < "3.10"'),
        tag=tag)
    causal = make_wheel(folder, "causal_conv1d", f"{CAUSAL}+{LABEL}", {
        "causal_conv1d/__init__.py": "import causal_conv1d_cuda\n",
        "causal_conv1d_cuda.py": "import torch\n"}, requires=("torch",), tag=tag)
    return [mamba, causal]


def dependency_wheels(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """The index's wheels and their data-requires-python: einops 0.9.0 needs Python 3.9, so a
    Python 3.8 server must get 0.8.0; numpy 2.0.0 is there but the server's own numpy will do."""
    def pure(name: str, version: str, requires: tuple = ()) -> Path:
        return make_wheel(folder, name, version, {f"{name}/__init__.py": ""}, requires=requires)

    wheels = [pure("einops", "0.8.0"), pure("einops", "0.9.0"),
              pure("importlib_metadata", "8.0.0", ("zipp>=3.20",)), pure("zipp", "3.20.0"),
              pure("numpy", "2.0.0")]
    return wheels, {"einops-0.9.0-py3-none-any.whl": ">=3.9"}


def numpy_wheel(folder: Path) -> Path:
    return make_wheel(folder, "numpy", "1.24.4", {"numpy/__init__.py": ""})
