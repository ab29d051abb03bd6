"""`mamba-doctor envs`: conda-style and venv environments laid out in a temp dir, found, read
without importing torch, and judged by the resolver on a given machine."""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from clirunner import CliRunner
from envkit import make_env
from wheel_envs import make_env as machine_env

from mamba_doctor.advice.envs import assess_envs
from mamba_doctor.cli import app
from mamba_doctor.probe.envs import EnvLocation, discover_envs, parse_env_list, read_env_facts
from mamba_doctor.wheels.index import load_index

CONDA_JSON = '{"envs": [%s]}'


def _fake_tool(folder: Path, name: str, stdout: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return tool


@pytest.fixture
def machine_layout(tmp_path: Path) -> dict[str, Path]:
    home, cwd = tmp_path / "home", tmp_path / "work"
    cwd.mkdir(parents=True)
    envs = {
        "base": home / "miniconda3",
        "stm": home / "miniconda3" / "envs" / "stm",
        "mm": home / "micromamba" / "envs" / "mm",
        "listed": tmp_path / "elsewhere" / "proj-env",
        "from_conda": tmp_path / "shared" / "team-env",
        "dotvenv": cwd / ".venv",
        "py38": cwd / ".venv-py38",
        "workon": tmp_path / "workon" / "research",
    }
    make_env(envs["base"], conda=True)
    make_env(envs["stm"], conda=True, torch="2.0.0+cu118", cuda="11.8", cxx11abi=False)
    make_env(envs["mm"], conda=True, torch="2.4.0+cpu", cuda=None, cxx11abi=False)
    make_env(envs["listed"], conda=True)
    make_env(envs["from_conda"], conda=True)
    make_env(envs["dotvenv"], torch="2.5.1+cu124", cuda="12.4", cxx11abi=False)
    make_env(envs["py38"])
    make_env(envs["workon"])
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{envs['listed']}\n{envs['stm']}\n")
    (home / "not-an-env").mkdir()
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "conda", CONDA_JSON % ", ".join(
        json.dumps(str(p)) for p in (envs["base"], envs["stm"], envs["from_conda"])))
    envs.update(home=home, cwd=cwd, bin=bin_dir, workon_home=tmp_path / "workon")
    return envs


def test_finds_conda_style_and_venv_envs_each_once(machine_layout: dict[str, Path]) -> None:
    m = machine_layout
    environ = {"PATH": f"{m['bin']}:/usr/bin:/bin", "WORKON_HOME": str(m["workon_home"]),
               "VIRTUAL_ENV": str(m["py38"])}
    found = discover_envs(environ=environ, cwd=m["cwd"], home=m["home"], extra_roots=())
    by_prefix = {Path(e.prefix): e for e in found}
    assert len(by_prefix) == len(found)  # each once, though conda env list repeats some
    expected = {"base", "stm", "mm", "listed", "from_conda", "dotvenv", "py38", "workon"}
    assert set(by_prefix) == {m[k] for k in expected}
    assert found[0].prefix == str(m["py38"]) and found[0].found_by == "active ($VIRTUAL_ENV)"
    assert by_prefix[m["stm"]].kind == "conda" and by_prefix[m["dotvenv"]].kind == "venv"
    assert by_prefix[m["dotvenv"]].found_by == ".venv in the working directory"
    assert by_prefix[m["listed"]].found_by == "~/.conda/environments.txt"
    assert by_prefix[m["from_conda"]].found_by == "conda env list"
    assert by_prefix[m["workon"]].found_by == "$WORKON_HOME"
    assert all(Path(e.python).is_file() for e in found)


def test_conda_env_list_output_is_parsed_strictly() -> None:
    assert parse_env_list('{"envs": ["/a", "/b"]}') == ["/a", "/b"]
    assert parse_env_list("not json") is None and parse_env_list('{"envs": 3}') is None


def test_facts_are_read_without_importing_torch(machine_layout: dict[str, Path]) -> None:
    m = machine_layout
    locs = [EnvLocation(str(m[k]), str(m[k] / "bin" / "python"), "conda", "test")
            for k in ("stm", "mm", "workon")]
    broken = m["cwd"] / "broken"
    broken.mkdir()
    _fake_tool(broken / "bin", "python", "")  # exits 0 and says nothing
    locs.append(EnvLocation(str(broken), str(broken / "bin" / "python"), "venv", "test"))
    stm, mm, bare, bad = read_env_facts(locs, environ=dict(os.environ))
    # the stand-in torch raises on import: these facts come from its files alone
    assert (stm.torch.version, stm.torch.cuda, stm.torch.cxx11abi) == ("2.0.0+cu118", "11.8",
                                                                       False)
    assert stm.python.version == ".".join(map(str, sys.version_info[:3]))
    assert mm.torch.installed and mm.torch.cuda is None
    assert bare.torch.installed is False and bare.error is None
    assert bad.error and "nothing the probe reads" in bad.error


def test_the_resolver_judges_each_env_on_this_machine(machine_layout: dict[str, Path]) -> None:
    m = machine_layout
    locs = [EnvLocation(str(m[k]), str(m[k] / "bin" / "python"), "conda", k)
            for k in ("workon", "mm", "stm")]
    facts = read_env_facts(locs, environ=dict(os.environ))
    # the seed's server: an A100 whose driver runs CUDA 12.4; the stand-ins on Python 3.8
    facts = [replace(f, python=replace(f.python, version="3.8.18", abi_tag="cp38",
                                       platform_tag="linux_x86_64")) for f in facts]
    a100 = machine_env(gpus=["a100"], driver_cuda="12.4", glibc="2.35")
    stm, mm, bare = assess_envs(facts, a100, load_index())
    assert stm.facts.location.found_by == "stm" and stm.fits is True
    assert stm.pair == ("mamba_ssm 2.2.2", "causal_conv1d 1.4.0")
    assert mm.fits is False and "CPU-only" in mm.why
    assert bare.fits is False and bare.why == "no torch installed"
    doc = stm.to_dict()
    assert doc["torch"] == "2.0.0+cu118" and doc["prebuilt_pair_fits"] is True


def test_envs_command_lists_them(machine_layout: dict[str, Path],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    m = machine_layout
    monkeypatch.chdir(m["cwd"])
    monkeypatch.setenv("HOME", str(m["home"]))
    monkeypatch.setenv("PATH", f"{m['bin']}:{os.environ['PATH']}")
    monkeypatch.setenv("WORKON_HOME", str(m["workon_home"]))
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_EXE", "MAMBA_ROOT_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(app, ["envs", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = {Path(e["prefix"]): e for e in doc["data"]["environments"]}
    assert {m["stm"], m["dotvenv"], m["workon"]} <= set(rows)
    assert rows[m["stm"]]["torch"] == "2.0.0+cu118" and rows[m["stm"]]["torch_cuda"] == "11.8"
    human = CliRunner().invoke(app, ["envs"], env={"COLUMNS": "160"})
    assert human.exit_code == 0
    assert "2.0.0+cu118 (CUDA 11.8, cxx11abiFALSE)" in human.stdout
    assert "~/miniconda3/envs/stm" in human.stdout
