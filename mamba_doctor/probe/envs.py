"""Find the Python environments on this machine and read each one's Python and torch quickly.

Where they are looked for: conda, mamba and micromamba installations (their base and `envs/`
folders, `~/.conda/environments.txt`, which conda appends every created env to, and
`conda env list --json`), `.venv`, `venv` and any other env folder in the working directory,
and virtualenvwrapper's `$WORKON_HOME` (default `~/.virtualenvs`). Each interpreter then runs
the target snippet's `base` stage only: torch's version, CUDA build and C++ ABI come from its
plain files (torch/version.py, TorchConfig.cmake), so nothing is imported and a dozen envs take
about a second.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.models import Environment, PackageInfo, PythonInfo, TorchInfo
from mamba_doctor.probe.target import _static_abi, parse_target_output
from mamba_doctor.probe.target_snippet import TARGET_SNIPPET

# Installation roots conda-style tools use by default (their docs' install locations).
CONDA_ROOTS = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba",
               ".local/share/mamba", ".conda")
SYSTEM_CONDA_ROOTS = ("/opt/conda", "/opt/miniconda3", "/opt/anaconda3", "/opt/miniforge3")
CONDA_TOOLS = ("conda", "mamba", "micromamba")
PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class EnvLocation:
    """One environment: its prefix, its interpreter, and how it was found."""

    prefix: str
    python: str
    kind: str  # "conda" | "venv"
    found_by: str


@dataclass(frozen=True)
class EnvFacts:
    """What the environment's interpreter said about itself (without importing torch)."""

    location: EnvLocation
    python: PythonInfo = field(default_factory=PythonInfo)
    torch: TorchInfo = field(default_factory=TorchInfo)
    packages: Mapping[str, PackageInfo] = field(default_factory=dict)
    error: Optional[str] = None  # the interpreter did not run or said nothing useful


def discover_envs(*, environ: Mapping[str, str], cwd: Path, home: Path,
                  run: Runner = _run.run, extra_roots: Sequence[str] = SYSTEM_CONDA_ROOTS,
                  ) -> list[EnvLocation]:
    """Every environment found, active one first, each prefix once (by its real path)."""
    found: list[EnvLocation] = []
    seen: set[str] = set()

    def add(prefix: Path, found_by: str) -> None:
        python = python_in_prefix(prefix)
        if python is None:
            return
        key = os.path.realpath(prefix)
        if key in seen:
            return
        seen.add(key)
        kind = "conda" if (prefix / "conda-meta").is_dir() else "venv"
        found.append(EnvLocation(str(prefix), str(python), kind, found_by))

    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if environ.get(var):
            add(Path(environ[var]), f"active (${var})")
    for name in (".venv", "venv"):
        add(cwd / name, f"{name} in the working directory")
    for prefix in _children(cwd):  # any other venv or conda env right here (.venv-py38, env)
        if (prefix / "pyvenv.cfg").is_file() or (prefix / "conda-meta").is_dir():
            add(prefix, "in the working directory")
    for prefix, how in _conda_prefixes(environ, home, run, extra_roots):
        add(prefix, how)
    workon = Path(environ["WORKON_HOME"]).expanduser() if environ.get("WORKON_HOME") \
        else home / ".virtualenvs"
    for prefix in _children(workon):
        add(prefix, "$WORKON_HOME" if environ.get("WORKON_HOME") else "~/.virtualenvs")
    return found


def python_in_prefix(prefix: Path) -> Optional[Path]:
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        candidate = prefix / rel
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _conda_prefixes(environ: Mapping[str, str], home: Path, run: Runner,
                    extra_roots: Sequence[str]) -> Iterable[tuple[Path, str]]:
    roots: list[Path] = []
    if environ.get("CONDA_EXE"):  # <root>/bin/conda (or <root>/condabin/conda)
        roots.append(Path(environ["CONDA_EXE"]).parent.parent)
    if environ.get("MAMBA_ROOT_PREFIX"):
        roots.append(Path(environ["MAMBA_ROOT_PREFIX"]))
    if environ.get("CONDA_PREFIX"):
        active = Path(environ["CONDA_PREFIX"])
        roots.append(active.parent.parent if active.parent.name == "envs" else active)
    roots += [home / r for r in CONDA_ROOTS] + [Path(r) for r in extra_roots]
    for root in roots:
        yield root, f"conda installation {root}"
        for env in _children(root / "envs"):
            yield env, f"{root}/envs"
    for folder in filter(None, environ.get("CONDA_ENVS_PATH", "").split(os.pathsep)):
        for env in _children(Path(folder).expanduser()):
            yield env, "$CONDA_ENVS_PATH"
    try:
        listed = (home / ".conda" / "environments.txt").read_text(errors="replace")
    except OSError:
        listed = ""
    for line in listed.splitlines():
        if line.strip():
            yield Path(line.strip()), "~/.conda/environments.txt"
    for prefix in conda_env_list(environ, run):
        yield Path(prefix), "conda env list"


def conda_env_list(environ: Mapping[str, str], run: Runner) -> list[str]:
    """`<tool> env list --json` of the first conda-style tool found; [] when none answers."""
    from shutil import which

    path = environ.get("PATH")
    tools = [environ["CONDA_EXE"]] if environ.get("CONDA_EXE") else []
    tools += [t for t in (which(name, path=path) for name in CONDA_TOOLS) if t]
    for tool in tools:
        done = run([tool, "env", "list", "--json"], timeout=15, env=dict(environ))
        envs = parse_env_list(done.stdout) if done.ok else None
        if envs is not None:
            return envs
    return []


def parse_env_list(text: str) -> Optional[list[str]]:
    """The prefixes in `conda env list --json` output (micromamba's has the same "envs")."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    envs = doc.get("envs") if isinstance(doc, dict) else None
    if not isinstance(envs, list):
        return None
    return [str(e) for e in envs if isinstance(e, str)]


def read_env_facts(locations: Sequence[EnvLocation], *, environ: Mapping[str, str],
                   run: Runner = _run.run, timeout: float = PROBE_TIMEOUT_S) -> list[EnvFacts]:
    """Run each interpreter's `base` stage, four at a time; a broken env is recorded, not fatal."""
    env = {**environ, "PYTHONIOENCODING": "utf-8"}  # as probe_target runs it, for the same view

    def one(loc: EnvLocation) -> EnvFacts:
        done = run([loc.python, "-c", TARGET_SNIPPET, "--auto", "base"], timeout=timeout,
                   env=env)
        records, _ = parse_target_output(done.stdout)
        base = records.get("base", {})
        if not base.get("ok"):
            why = done.describe_failure() or "the interpreter printed nothing the probe reads"
            return EnvFacts(loc, error=why)
        return facts_from_base(loc, base.get("result") or {})

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="envs") as pool:
        return list(pool.map(one, locations))


def facts_from_base(loc: EnvLocation, base: Mapping[str, Any]) -> EnvFacts:
    """Pure: the snippet's `base` record -> EnvFacts (torch from its files, not imported)."""
    dists = base.get("dists") or {}
    python = PythonInfo(executable=base.get("executable") or loc.python,
                        version=base.get("version"), implementation=base.get("implementation"),
                        abi_tag=base.get("abi_tag"), platform_tag=base.get("platform_tag"),
                        pip_version=dists.get("pip"), is_venv=base.get("is_venv"),
                        conda_prefix=base.get("conda_prefix"))
    static = base.get("torch_static") or {}
    version = static.get("version") or dists.get("torch")
    if version is None:
        torch = TorchInfo(installed=False, reasons={"version": "torch is not installed"})
    else:
        torch = TorchInfo(installed=True, version=version, cuda=static.get("cuda"),
                          hip=static.get("hip"), cxx11abi=_static_abi(static),
                          reasons={"cuda_available": "not imported (read from torch's files)"})
    packages = {n: PackageInfo(n, version=dists.get(n)) for n in ("mamba_ssm", "causal_conv1d")}
    return EnvFacts(loc, python=python, torch=torch, packages=packages)


def probe_machine(*, environ: Mapping[str, str], run: Runner = _run.run,
                  timeout: float = 15.0) -> Environment:
    """The machine's own facts (OS, driver, GPUs), without a target interpreter."""
    from mamba_doctor.probe.nvidia import probe_nvidia
    from mamba_doctor.probe.os import probe_os

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="machine") as pool:
        os_f = pool.submit(probe_os, run=run, environ=environ)
        nvidia_f = pool.submit(probe_nvidia, run=run, environ=environ, timeout=timeout)
        return Environment(os=os_f.result(), nvidia=nvidia_f.result())
