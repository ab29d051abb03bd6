"""The right target by default, and driver advice for where the user is (a container without a
GPU, a SLURM login node, no root) instead of `sudo ubuntu-drivers install` everywhere."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from envkit import make_env as make_disk_env
from wheel_envs import make_env

from mamba_doctor.advice.where import driver_upgrade, place
from mamba_doctor.check.verdicts import evaluate
from mamba_doctor.knowledge.cuda_tables import toolkit_driver
from mamba_doctor.models import Environment, NvidiaInfo
from mamba_doctor.probe.interpreter import OWN, PATH_PYTHON, Target, choose_target, origin_text
from mamba_doctor.probe.os import detect_admin, detect_slurm


def _no_driver(**os_facts: object) -> Environment:
    env = make_env(torch="2.1.2+cu121", cuda="12.1")
    return replace(env, os=replace(env.os, **os_facts), nvidia=NvidiaInfo())


def _row(env: Environment, row: str, python: str = "/env/bin/python") -> str:
    """The hint `check` gives in that row (the advice engine's answer)."""
    env = replace(env, python=replace(env.python, executable=python))
    rows = {r.id: r for r in evaluate(Target(python, "--python", env))}
    return rows[row].hint or ""


def test_a_container_without_the_gpu_is_told_how_to_pass_it_in() -> None:
    hint = _row(_no_driver(container="docker", admin=True), "driver")
    assert "--gpus all" in hint and "NVIDIA Container Toolkit" in hint
    assert "ubuntu-drivers" not in hint


def test_a_slurm_login_node_is_told_to_run_on_a_gpu_node() -> None:
    env = _no_driver(slurm="login", admin=False)
    hint = _row(env, "driver", python="/p y/bin/python")
    assert "srun --gres=gpu:1 --pty mamba-doctor check --python '/p y/bin/python'" in hint
    assert "ubuntu-drivers" not in hint and place(env) == "slurm-login"
    assert "--gres=gpu:1" in _row(_no_driver(slurm="job"), "driver")


def test_without_root_the_admin_is_asked_for_the_driver_torch_needs() -> None:
    hint = _row(_no_driver(admin=False), "driver")
    assert f"ask for an NVIDIA driver >= {toolkit_driver('12.1')} (what torch's CUDA 12.1 " \
        "needs)" in hint
    assert "ubuntu-drivers" not in hint
    # a driver too old for torch: the same, in the driver_cuda row
    env = make_env(torch="2.1.2+cu121", cuda="12.1", driver_cuda="11.4", gpus=["a100"])
    old = replace(env, os=replace(env.os, admin=False),
                  nvidia=replace(env.nvidia, driver_version="470.82.01"))
    assert _row(old, "driver_cuda").startswith("Ask the administrator for NVIDIA driver >= ")
    assert driver_upgrade(replace(old, os=replace(old.os, admin=True)), "530.30.02") == \
        "Upgrade the NVIDIA driver to >= 530.30.02"


def test_a_host_with_root_still_gets_the_driver_install() -> None:
    assert "sudo ubuntu-drivers install" in _row(_no_driver(admin=True), "driver")


def _exe(folder: Path, name: str, body: str = "exit 0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_slurm_and_admin_detection(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _exe(bin_dir, "srun")
    assert detect_slurm({"PATH": str(bin_dir)}) == "login"
    assert detect_slurm({"PATH": str(bin_dir), "SLURM_JOB_ID": "42"}) == "job"
    assert detect_slurm({"PATH": str(tmp_path)}) is None
    assert detect_admin() in (True, False)  # this machine answers one way or the other


@pytest.mark.parametrize("marker", ["pipx_metadata.json", "uv-receipt.toml"])
def test_a_tool_env_looks_for_python_on_path(tmp_path: Path, marker: str) -> None:
    tool = tmp_path / "tool"
    _exe(tool / "bin", "python3")
    (tool / marker).write_text("{}")
    outside = _exe(tmp_path / "bin", "python3")
    path = f"{tool / 'bin'}:{tmp_path / 'bin'}"  # the tool's own python3 first: skipped
    chosen = choose_target(None, environ={"PATH": path}, own_prefix=str(tool),
                           base_prefix="/usr")
    assert (chosen.python, chosen.origin) == (str(outside), PATH_PYTHON)
    assert "mamba-doctor's own environment" in origin_text(chosen, own_prefix=str(tool))
    alone = choose_target(None, environ={"PATH": str(tool / "bin")}, own_prefix=str(tool),
                          base_prefix="/usr")
    assert alone.origin == OWN  # nothing else to take: itself, said as such
    plain = choose_target(None, environ={"PATH": path}, own_prefix="/usr", base_prefix="/usr")
    assert plain.origin == OWN  # a plain interpreter (the zipapp's) is the user's own Python


@pytest.mark.slow
def test_pipx_style_install_with_no_env_active_checks_the_path_python(tmp_path: Path) -> None:
    """The tool in a venv of its own (as pipx makes it), nothing active: check probes python3 on
    PATH, says why, and when that one has no torch lists the environments that do."""
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    tool = tmp_path / "pipx" / "venvs" / "mamba-doctor"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tool)], check=True)
    root = Path(__file__).resolve().parent.parent  # this checkout, then its dependencies
    next(tool.glob("lib/python3*/site-packages")).joinpath("deps.pth").write_text(
        f"{root}\n{site}\n")
    (tool / "pipx_metadata.json").write_text("{}")
    research = make_disk_env(tmp_path / "research", torch="2.0.0+cu118", cuda="11.8",
                             cxx11abi=False)
    bin_dir = tmp_path / "bin"
    _exe(bin_dir, "python3", f'exec {research} "$@"')  # as a shim (pyenv, a module) would
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", HOME=str(tmp_path / "home"))

    def check() -> dict:
        done = subprocess.run([str(tool / "bin" / "python"), "-m", "mamba_doctor", "check",
                               "--json"], capture_output=True, text=True, timeout=300, env=env,
                              cwd=str(tmp_path))
        assert done.returncode in (0, 3), done.stderr
        return json.loads(done.stdout)["data"]

    data = check()
    assert data["target"]["origin"] == PATH_PYTHON
    assert data["target"]["python"] == str(bin_dir / "python3")
    assert "mamba-doctor's own environment" in data["target"]["why"]
    assert data["environment"]["torch"]["version"] == "2.0.0+cu118"  # the research env's
    assert "candidate_environments" not in data

    bare = make_disk_env(tmp_path / "bare")
    _exe(bin_dir, "python3", f'exec {bare} "$@"')
    data = check()
    assert data["environment"]["torch"]["installed"] is False
    listed = {Path(e["prefix"]).name: e for e in data["candidate_environments"]}
    assert listed["research"]["torch"] == "2.0.0+cu118"  # in the working directory
