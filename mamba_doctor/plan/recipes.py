"""How to create a planned stack: commands for conda, `python -m venv` + pip and uv, each ending in
`mamba-doctor install` and `mamba-doctor smoke`; environment.yml and requirements.txt (pure)."""

from __future__ import annotations

import shlex
from typing import Mapping

from mamba_doctor.plan.model import Stack


def recipes(stack: Stack, *, name: str = "mamba", venv_dir: str = "~/venvs/mamba"
            ) -> dict[str, list[str]]:
    """{"conda": [...], "venv": [...], "uv": [...]}: shell lines, values quoted."""
    q = shlex.quote
    torch = f"{q(stack.torch_spec)} --index-url {stack.index_url}"
    pair = f"--version {q(stack.mamba.version)}"
    here = venv_dir if venv_dir.startswith("~/") and " " not in venv_dir else q(venv_dir)
    return {
        "conda": [f"conda create -y -n {q(name)} python={stack.python} pip",
                  f"conda activate {q(name)}",
                  f"python -m pip install {torch}",
                  f"mamba-doctor install {pair}",
                  "mamba-doctor smoke"],
        "venv": [f"python{stack.python} -m venv {here}",
                 f"{here}/bin/python -m pip install {torch}",
                 f"mamba-doctor install --python {here} {pair}",
                 f"mamba-doctor smoke --python {here}"],
        "uv": [f"uv venv --python {stack.python} {here}",
               f"uv pip install --python {here} {torch}",
               f"mamba-doctor install --python {here} {pair}",
               f"mamba-doctor smoke --python {here}"],
    }


def _header(stack: Stack) -> list[str]:
    causal = stack.causal.version if stack.causal else "none fits"
    return [f"# mamba-doctor plan: Python {stack.python}, torch {stack.torch} ({stack.variant}, "
            f"cxx11abi{'TRUE' if stack.cxx11abi else 'FALSE'}),",
            f"# mamba_ssm {stack.mamba.version}, causal_conv1d {causal}. After creating the "
            "environment:",
            f"#   mamba-doctor install --version {stack.mamba.version}   "
            "(installs these prebuilt wheels:)",
            f"#   {stack.mamba.url}",
            *([f"#   {stack.causal.url}"] if stack.causal else [])]


def requirements_txt(stack: Stack) -> str:
    """torch pinned to the minor the wheels are built for, from the PyTorch index. The pair is
    left to `mamba-doctor install`, which keeps this torch and verifies the kernels."""
    lines = [*_header(stack), f"--index-url {stack.index_url}", stack.torch_spec]
    return "\n".join(lines) + "\n"


def environment_yml(stack: Stack, *, name: str = "mamba") -> str:
    lines = [*_header(stack), f"name: {_yaml_scalar(name)}", "channels:", "  - conda-forge",
             "dependencies:", f"  - python={stack.python}", "  - pip", "  - pip:",
             f"    - --index-url {stack.index_url}", f"    - {stack.torch_spec}"]
    return "\n".join(lines) + "\n"


def _yaml_scalar(text: str) -> str:
    safe = all(c.isalnum() or c in "-_." for c in text) and text[:1].isalnum()
    return text if safe else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def files(stack: Stack, *, name: str = "mamba") -> Mapping[str, str]:
    return {"environment.yml": environment_yml(stack, name=name),
            "requirements.txt": requirements_txt(stack)}
