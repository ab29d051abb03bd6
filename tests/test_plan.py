"""`mamba-doctor plan` against fixture machines: every torch it recommends is published for that
Python and CUDA (wheels_index/torch.json, and PyTorch's own variant table in
knowledge/cuda_tables.py as a second source), every wheel it names is in the index and fits,
and nothing exceeds what the driver runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Optional

import pytest
from clirunner import CliRunner
from wheel_envs import make_env

from mamba_doctor.cli import app
from mamba_doctor.knowledge.cuda_tables import (
    minor_compat_min_driver,
    pair,
    tables,
    toolkit_driver,
    torch_default_abi,
    torch_python_range,
    torch_runs_on,
    torch_variants,
)
from mamba_doctor.models import Environment
from mamba_doctor.plan.make import make_plan
from mamba_doctor.plan.model import Blocked, Stack
from mamba_doctor.wheels.fit import sass_runs
from mamba_doctor.wheels.index import label_key, load_index

# (GPU, driver, the CUDA the driver reports, glibc)
MACHINES = {
    "a100-cuda12.4": ("a100", "550.54.15", "12.4", "2.35"),
    "h100-cuda13.0": ("h100", "580.65.06", "13.0", "2.35"),
    "v100-cuda11.4": ("v100", "470.82.01", "11.4", "2.31"),
    "rtx5090": ("rtx5090", "570.86.10", "12.8", "2.39"),
    "gtx1080": ("gtx1080", "535.183.01", "12.2", "2.35"),
    "glibc2.17": ("a100", "550.54.15", "12.4", "2.17"),
}


def machine(key: str) -> Environment:
    gpu, driver, cuda, glibc = MACHINES[key]
    env = make_env(gpus=[gpu], driver_cuda=cuda, glibc=glibc, torch_installed=False)
    return replace(env, nvidia=replace(env.nvidia, driver_version=driver))


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def assert_sound(stack: Stack, env: Environment, python: Optional[str] = None) -> None:
    index = load_index()
    low, high = torch_python_range(stack.torch)
    assert label_key(low) <= label_key(stack.python) <= label_key(high)
    assert stack.variant in torch_variants(stack.torch)
    assert torch_default_abi(stack.torch, stack.variant) == stack.cxx11abi
    if python:
        assert stack.python == python
    driver = env.nvidia.driver_version
    ceiling = pair(env.nvidia.cuda_driver_version)
    if stack.compat:  # CUDA minor-version compatibility: same major, driver above its minimum
        assert pair(stack.variant)[0] == ceiling[0]
        assert _v(driver) >= _v(minor_compat_min_driver(ceiling[0]))
    else:
        assert pair(stack.variant) <= ceiling
        assert _v(driver) >= _v(toolkit_driver(stack.cuda))
    sm = next(g.sm for g in env.nvidia.gpus)
    assert torch_runs_on(stack.torch, stack.variant, sm) is not False  # torch's own kernels
    for wheel in filter(None, (stack.mamba, stack.causal)):
        found = index.lookup(wheel.filename)
        assert found and all(w.available for w in found), wheel.filename
        assert (wheel.python, wheel.torch, wheel.cxx11abi) == (stack.python, stack.torch,
                                                               stack.cxx11abi)
        assert wheel.cuda_major == pair(stack.variant)[0]
        assert wheel.arches is None or sass_runs(wheel.arches, sm)
        assert wheel.glibc is None or _v(wheel.glibc) <= _v(env.os.glibc)
    # install would pick exactly these wheels for an env holding that Python and torch
    from mamba_doctor.plan.model import Machine
    from mamba_doctor.plan.search import _Candidate, hypothetical
    from mamba_doctor.wheels.resolve import resolve_pair

    fresh = hypothetical(Machine.of(env), _Candidate(stack.python, stack.torch, stack.variant,
                                                     stack.cxx11abi, stack.mamba))
    picked = [r.filename for r in resolve_pair(fresh, index, version=stack.mamba.version)]
    assert picked == [stack.mamba.filename, stack.causal.filename if stack.causal else None]


@pytest.mark.parametrize("key", ["a100-cuda12.4", "h100-cuda13.0", "v100-cuda11.4", "rtx5090"])
def test_the_stack_is_published_fits_and_stays_under_the_driver(key: str) -> None:
    env = machine(key)
    plan = make_plan(env)
    assert isinstance(plan.result, Stack), plan.result
    assert_sound(plan.result, env)
    for how, lines in plan.recipes.items():
        assert lines[-2].startswith("mamba-doctor install") and "--version" in lines[-2], how
        assert lines[-1].startswith("mamba-doctor smoke"), how
        assert any(plan.result.index_url in line and "'torch==" in line for line in lines)


def test_what_each_fixture_gets() -> None:
    h100, rtx, a100 = (make_plan(machine(k)).result
                       for k in ("h100-cuda13.0", "rtx5090", "a100-cuda12.4"))
    assert isinstance(h100, Stack) and pair(h100.variant)[0] == 13  # the driver's own major
    # sm_120 (RTX 50xx) needs CUDA 12.8+ torch builds and mamba_ssm 2.2.6+ (first sm_120 cubins)
    assert isinstance(rtx, Stack) and pair(rtx.variant) >= (12, 8)
    assert label_key(rtx.mamba.version) >= label_key("2.2.6")
    assert isinstance(a100, Stack) and pair(a100.variant)[0] == 12
    assert any("minor-version compatibility" in n for n in a100.notes)  # a newer torch, maybe
    v100 = make_plan(machine("v100-cuda11.4")).result
    assert isinstance(v100, Stack) and 70 in (v100.mamba.arches or (70,))


def test_an_older_python_is_honoured() -> None:
    env = machine("a100-cuda12.4")
    plan = make_plan(env, python="3.8")
    assert isinstance(plan.result, Stack)
    assert_sound(plan.result, env, python="3.8")
    assert label_key(plan.result.torch) <= label_key("2.4")  # the last torch for Python 3.8


def test_pascal_says_so_and_gives_what_works() -> None:
    plan = make_plan(machine("gtx1080"))
    assert isinstance(plan.result, Blocked)
    assert "sm_61" in plan.result.reason and "Pascal" in plan.result.reason
    works = " ".join(plan.result.what_works)
    assert "MambaRef" in works and "--from-source --arch 6.1" in works
    assert "cuda-nvcc=12" in works  # no root: conda's nvcc, a version that can still target it


def test_old_glibc_and_old_driver_say_so() -> None:
    glibc = make_plan(machine("glibc2.17")).result
    assert isinstance(glibc, Blocked) and "glibc 2.17" in glibc.reason
    assert "cuda-nvcc=" in " ".join(glibc.what_works)
    old = replace(machine("a100-cuda12.4"))
    old = replace(old, nvidia=replace(old.nvidia, driver_version="418.67",
                                      cuda_driver_version="10.1"))
    driver = make_plan(old).result
    assert isinstance(driver, Blocked) and "driver" in driver.reason
    assert f"driver >= {driver.driver_needed}" in " ".join(driver.what_works)
    # the driver asked for is enough, and the one before it in NVIDIA's table is not
    by_driver = {d: c for c, d in tables()["toolkit_driver"].items()}
    cuda = by_driver[driver.driver_needed]
    enough = replace(old, nvidia=replace(old.nvidia, driver_version=driver.driver_needed,
                                         cuda_driver_version=cuda))
    assert_sound(make_plan(enough).result, enough)
    lower = max((c for c in tables()["toolkit_driver"] if pair(c) < pair(cuda)), key=pair)
    below = replace(old, nvidia=replace(old.nvidia, driver_version=None,
                                        cuda_driver_version=lower))
    assert isinstance(make_plan(below).result, Blocked)


def test_cli_writes_the_files_and_reports_json(tmp_path: Path) -> None:
    env_file = tmp_path / "server.json"
    env_file.write_text(json.dumps(machine("a100-cuda12.4").to_dict()))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", "--env", str(env_file), "--write", str(out),
                                      "--name", "stm", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["data"]
    stack = doc["stack"]
    req = (out / "requirements.txt").read_text()
    assert f"--index-url {stack['torch']['index_url']}\n{stack['torch']['spec']}\n" in req
    yml = (out / "environment.yml").read_text()
    assert "name: stm\n" in yml and f"  - python={stack['python']}\n" in yml
    assert f"    - {stack['torch']['spec']}\n" in yml and stack["mamba_ssm"]["url"] in yml
    assert doc["recipes"]["conda"][0] == f"conda create -y -n stm python={stack['python']} pip"
    assert {c["what"] for c in stack["choices"]} >= {"python", "torch", "cuda", "mamba_ssm"}
    env_file.write_text(json.dumps(machine("gtx1080").to_dict()))
    blocked = CliRunner().invoke(app, ["plan", "--env", str(env_file), "--json"])
    assert blocked.exit_code == 4
    assert json.loads(blocked.stdout)["errors"][0]["code"] == "no_prebuilt_stack"
    bad = CliRunner().invoke(app, ["plan", "--env", str(env_file), "--python-version", "x",
                                   "--json"])
    assert bad.exit_code == 2
