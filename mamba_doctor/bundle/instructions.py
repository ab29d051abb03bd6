"""What the server's user runs: the install line and INSTALL.txt (values from --env quoted)."""

from __future__ import annotations

import shlex
from typing import Sequence

from mamba_doctor.install.manifest import Entry
from mamba_doctor.models import Environment


def install_command(env: Environment, zipapp: bool) -> str:
    """The line to run on the server (its interpreter path comes from the --env file: quoted)."""
    return f"{_tool(zipapp)} install --bundle .{_python_flag(env)}"


def _tool(zipapp: bool) -> str:
    return "python3 mamba-doctor.pyz" if zipapp else "mamba-doctor"


def _python_flag(env: Environment) -> str:
    exe = env.python.executable
    return f" --python {shlex.quote(exe)}" if exe else ""


def install_text(env: Environment, entries: Sequence[Entry], command: str) -> str:
    tool = _tool(any(e.role == "zipapp" for e in entries))
    python = _python_flag(env)
    size = sum(e.size for e in entries) / 1e6
    lines = [
        f"mamba-doctor bundle for Python {env.python.version or '?'}, torch "
        f"{env.torch.version or '?'}, {env.python.platform_tag or '?'}",
        "",
        "Copy this whole folder to the server. There, with no network:",
        "",
        "  cd THIS-FOLDER",
        f"  {command}",
        f"  {tool} smoke{python}",
        "",
        "install checks every file against manifest.json, installs with pip --no-index from",
        f"this folder only, keeps torch {env.torch.version or ''} exactly as it is, and imports",
        "the kernels. manifest.json lists each file with its size, sha256 and why it is here",
        f"({len(entries)} files, {size:.1f} MB).",
    ]
    return "\n".join(lines) + "\n"
