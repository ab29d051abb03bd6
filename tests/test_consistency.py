"""Every command gives the same recommendation for the same machine, and none is impossible.

For each environment below, `check`, `fetch-wheel --dry-run`, `install --dry-run`, `smoke` (a
failed run with the environment's own error) and `explain` (the log of that error) are run
through the CLI shell (tests/outcomes.py) or the CLI itself, with the facts given as a target or
an --env file. Every command any of them recommends is collected from its --json document, and:

- all torch installs recommended for the target name one torch, one CUDA variant;
- all source-build commands are one command;
- every command is complete: no placeholder, the target's own `<python> -m pip`, never a bare
  pip, pinned torch with the real index URL;
- none is impossible for the facts: no build for an architecture torch's CUDA cannot target, no
  torch without a wheel for the target's Python, no CUDA above what the driver runs (minor-version
  compatibility only where nothing within the ceiling exists, and then said), no CUDA_HOME the
  probe found to be the wrong major, no driver install inside a container.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from clirunner import CliRunner

from mamba_doctor._run import Completed
from mamba_doctor.check.report import build_report
from mamba_doctor.cli import app
from mamba_doctor.commands.check import check_outcome
from mamba_doctor.commands.install import install_outcome
from mamba_doctor.commands.smoke import smoke_outcome
from mamba_doctor.install.pipeline import InstallOptions
from mamba_doctor.knowledge.cuda_tables import cuda_targets, driver_runs, torch_has_python
from mamba_doctor.models import (
    CudaToolkitInfo,
    Environment,
    GpuInfo,
    NvidiaInfo,
    OsInfo,
    PythonInfo,
    TorchInfo,
)
from mamba_doctor.probe.interpreter import VERSIONS_SNIPPET, Target
from mamba_doctor.smoke.runner import RESULT_PREFIX, SmokeOptions, run_smoke
from tests.outcomes import envelope_of

PY = "/opt/venvs/mamba/bin/python"
NEW_ENV = "~/.venvs/"


def _env(*, python: str, torch: Optional[str], cuda: Optional[str], abi: Optional[bool],
         gpus: tuple[tuple[str, str], ...] = (), driver: Optional[str] = None,
         driver_cuda: Optional[str] = None, container: Optional[str] = None,
         nvcc: Optional[str] = None, cuda_home: Optional[str] = None) -> Environment:
    minor = python.rsplit(".", 1)[0]
    return Environment(
        os=OsInfo(system="Linux", distro="Ubuntu 22.04.4 LTS", arch="x86_64", glibc="2.35",
                  glibcxx="3.4.30", container=container),
        nvidia=NvidiaInfo(driver_version=driver, cuda_driver_version=driver_cuda,
                          gpus=tuple(GpuInfo(i, n, c, visible=True)
                                     for i, (n, c) in enumerate(gpus)),
                          reasons={} if driver else {"driver_version": "no NVIDIA driver found"}),
        cuda_toolkit=CudaToolkitInfo(cuda_home=cuda_home, nvcc_path=(
            f"{cuda_home}/bin/nvcc" if cuda_home else None), nvcc_version=nvcc),
        python=PythonInfo(executable=PY, version=python, implementation="cpython",
                          abi_tag="cp" + minor.replace(".", ""), platform_tag="linux_x86_64",
                          pip_version="24.2", is_venv=True, externally_managed=False),
        torch=TorchInfo(installed=torch is not None, version=torch, cuda=cuda, cxx11abi=abi,
                        cuda_available=bool(cuda and gpus)),
    )


@dataclass(frozen=True)
class Case:
    name: str
    env: Environment
    error: str  # what the failing import / smoke run / install printed
    smoke_device: str = "auto"
    # facts the recommendations must respect
    torch_variant: Optional[str] = None  # the one CUDA variant every torch advice names
    new_environment: bool = False  # only a new Python environment can work
    forbidden: tuple[str, ...] = field(default=())


SITE = "/opt/venvs/mamba/lib/python{py}/site-packages"

CASES = [
    # A CPU-only torch on a machine whose driver runs CUDA 12.8: the same torch, as a CUDA build
    # within the driver's ceiling, with prebuilt mamba_ssm wheels.
    Case("cpu-torch", _env(python="3.11.9", torch="2.5.1+cpu", cuda=None, abi=False,
                           gpus=(("NVIDIA GeForce RTX 4090", "8.9"),), driver="570.86.10",
                           driver_cuda="12.8"),
         "Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
         "AssertionError: Torch not compiled with CUDA enabled\n",
         smoke_device="cuda", torch_variant="cu124", forbidden=("<cuXYZ>", "nvidia-smi shows")),
    # The seed environment: torch 2.0.0+cu118 on Python 3.8; its wheels exist (mamba_ssm 2.2.2),
    # but the toolkit found is CUDA 13.0, the wrong major for a source build.
    Case("seed-torch20-py38", _env(python="3.8.18", torch="2.0.0+cu118", cuda="11.8", abi=False,
                                   gpus=(("NVIDIA H100 80GB HBM3", "9.0"),), driver="550.54.15",
                                   driver_cuda="12.4", nvcc="13.0", cuda_home="/usr/local/cuda"),
         "      RuntimeError:\n      The detected CUDA version (13.0) mismatches the version that "
         "was used to compile\n      PyTorch (11.8). Please make sure to use the same CUDA "
         "versions.\n",
         forbidden=("CUDA_HOME=/usr/local/cuda", "CUDA_HOME='/usr/local/cuda'")),
    # torch 2.4 with CUDA 12.1 whose C++ ABI nobody reported (an --env file written by hand):
    # the official wheels' ABI (pre-C++11) everywhere, the assumption stated.
    Case("torch24-abi-unknown", _env(python="3.10.14", torch="2.4.1+cu121", cuda="12.1", abi=None,
                                     gpus=(("NVIDIA A100-SXM4-80GB", "8.0"),), driver="550.54.15",
                                     driver_cuda="12.4"),
         "ImportError: " + SITE.format(py="3.10") + "/selective_scan_cuda.cpython-310-x86_64-"
         "linux-gnu.so: undefined symbol: _ZN3c105ErrorC2ENS_14SourceLocationENSt7__cxx1112basic_"
         "stringIcSt11char_traitsIcESaIcEEE\n", forbidden=("cxx11abiTRUE",)),
    # torch 2.11: no release has wheels for it; the nearest torch that has them (2.10, same
    # CUDA 12.8), or a build for this GPU.
    Case("torch211-no-wheels", _env(python="3.12.4", torch="2.11.0+cu128", cuda="12.8", abi=True,
                                    gpus=(("NVIDIA H100 80GB HBM3", "9.0"),), driver="570.86.10",
                                    driver_cuda="12.8"),
         "ImportError: " + SITE.format(py="3.12") + "/selective_scan_cuda.cpython-312-x86_64-"
         "linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi\n", torch_variant="cu128"),
    # An RTX 5090 (sm_120) with torch 2.0/CUDA 11.8 on Python 3.8: CUDA 11.8 cannot target
    # sm_120, and no torch built with CUDA >= 12.8 exists for Python 3.8: a new environment.
    Case("rtx5090-torch20-cu118", _env(python="3.8.18", torch="2.0.0+cu118", cuda="11.8",
                                       abi=False, gpus=(("NVIDIA GeForce RTX 5090", "12.0"),),
                                       driver="570.86.10", driver_cuda="12.8"),
         "RuntimeError: CUDA error: no kernel image is available for execution on the device\n",
         new_environment=True, forbidden=("--arch 12.0",)),
    # A V100 whose driver runs CUDA 11.4 with a CUDA 12.1 torch: never a CUDA 12 torch.
    Case("v100-driver-cuda114", _env(python="3.10.14", torch="2.4.1+cu121", cuda="12.1",
                                     abi=False, gpus=(("Tesla V100-SXM2-32GB", "7.0"),),
                                     driver="470.82.01", driver_cuda="11.4"),
         "RuntimeError: The NVIDIA driver on your system is too old (found version 11040). "
         "Please update your GPU driver by downloading and installing a new version from the URL: "
         "http://www.nvidia.com/Download/index.aspx\n", forbidden=("whl/cu12",)),
    # A container started without GPUs: the driver is the host's; nothing to install inside.
    Case("container-no-driver", _env(python="3.10.14", torch="2.4.1+cu121", cuda="12.1",
                                     abi=False, container="docker"),
         "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an "
         "NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx\n",
         smoke_device="cuda", forbidden=("ubuntu-drivers", "Install the NVIDIA driver")),
]


def _runner(case: Case) -> Any:
    """The target's subprocess seam: the smoke child fails with the case's error; a versions
    read answers "not installed"."""
    child = {"passed": False, "device": "cuda", "backend": "cuda", "checks": [
        {"name": "cuda kernels", "status": "fail", "detail": case.error.strip().splitlines()[-1]}],
        "errors": [{"message": case.error}], "timings_ms": {},
        "torch": case.env.torch.version, "torch_cuda": case.env.torch.cuda}

    def run(argv: Any, **_kw: Any) -> Completed:
        argv = tuple(str(a) for a in argv)
        if VERSIONS_SNIPPET in argv:
            names = argv[argv.index(VERSIONS_SNIPPET) + 1:]
            return Completed(argv, 0, json.dumps(dict.fromkeys(names)) + "\n", "")
        return Completed(argv, 1, RESULT_PREFIX + json.dumps(child) + "\n", case.error)

    return run


def _documents(case: Case, tmp_path: Path) -> dict[str, dict[str, Any]]:
    target = Target(PY, env=case.env, run=_runner(case))
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"data": {"environment": case.env.to_dict()}}))
    log = tmp_path / "error.log"
    log.write_text(case.error)
    docs: dict[str, dict[str, Any]] = {}
    docs["check"] = envelope_of("check", lambda: check_outcome(build_report(target),
                                                               json_mode=True))[1]
    fetch = CliRunner().invoke(app, ["fetch-wheel", "--env", str(env_file), "--dry-run",
                                     "--json"])
    docs["fetch-wheel"] = json.loads(fetch.stdout)
    docs["install"] = envelope_of("install", lambda: install_outcome(
        InstallOptions(dry_run=True), target, json_mode=True))[1]
    report = run_smoke(target, options=SmokeOptions(device=case.smoke_device, timeout=30))
    docs["smoke"] = envelope_of("smoke", lambda: smoke_outcome(report))[1]
    explain = CliRunner().invoke(app, ["explain", str(log), "--env", str(env_file), "--json"])
    docs["explain"] = json.loads(explain.stdout)
    return docs


# The keys under which the commands show a person what to do (not what was found).
ADVICE_KEYS = ("commands", "hint", "fix", "next_steps", "advice", "notes")


def _strings(node: Any, wanted: bool = False) -> Iterator[str]:
    if isinstance(node, str):
        if wanted:
            yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, wanted or key in ADVICE_KEYS)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, wanted)


TORCH_PIN = re.compile(r"(\S+) -m pip install '?torch==([^' ]+)'? --index-url "
                       r"https://download\.pytorch\.org/whl/(cu\d+)")
BUILD = re.compile(r"mamba-doctor install --python \S+(?: --version \S+)? --from-source"
                   r"(?: --arch [\d.,]+)?")
ANY_PIP = re.compile(r"(?<![\w-])pip install\b")


def _recommendations(docs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Every string each command shows a person (its data and errors), by command."""
    return {name: list(_strings({"data": doc["data"], "errors": doc["errors"]}))
            for name, doc in docs.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_recommendation_per_problem_across_commands(case: Case, tmp_path: Path) -> None:
    docs = _documents(case, tmp_path)
    for name, doc in docs.items():  # each ran to its one JSON document, no bug exit
        assert doc["exit_code"] != 1, (name, doc["errors"])
    texts = _recommendations(docs)
    pins: dict[tuple[str, str, str], set[str]] = {}
    builds: dict[str, set[str]] = {}
    for name, strings in texts.items():
        for s in strings:
            for m in TORCH_PIN.finditer(s):
                pins.setdefault((m.group(1), m.group(2), m.group(3)), set()).add(name)
            for m in BUILD.finditer(s):
                builds.setdefault(m.group(0), set()).add(name)
            for bad in case.forbidden:
                assert bad not in s, (name, bad, s)
            if _command_like(s):  # a recommended command: complete, no <placeholder>
                assert not re.search(r"<[^<>\s]+>", s), (name, s)
            for m in ANY_PIP.finditer(s):  # only `<python> -m pip install`, or describing pip
                before = s[max(0, m.start() - 3):m.start()]
                assert before == "-m " or _describes_pip(s), (name, s)
    # the same torch (release, variant) for the target wherever one is recommended
    for_target = {k for k in pins if k[0] == PY}
    assert len({(v, c) for _, v, c in for_target}) <= 1, pins
    if case.torch_variant is not None:
        assert {c for _, _, c in for_target} == {case.torch_variant}, pins
    assert len(builds) <= 1, builds
    _assert_possible(case, pins, builds)
    if case.new_environment:
        assert not for_target, pins  # nothing for this Python: only a new environment
        assert any(k[0].startswith(NEW_ENV) for k in pins), pins
        assert {n for k, names in pins.items() for n in names} >= {"check", "explain"}


def _command_like(text: str) -> bool:
    return "mamba-doctor " in text or " -m pip " in text


def _describes_pip(text: str) -> bool:
    """Text about what a plain pip would do or did (the log the user saves, the setup.py
    guess), not a command the doctor recommends."""
    return "would do" in text or "2>&1 | tee" in text or "uv pip install" in text


def _assert_possible(case: Case, pins: dict[tuple[str, str, str], set[str]],
                     builds: dict[str, set[str]]) -> None:
    env = case.env
    sms = [g.sm for g in env.nvidia.gpus if g.sm]
    for python, spec, variant in pins:
        cuda = (int(variant[2:-1]), int(variant[-1]))
        minor = ".".join(spec.split(".")[:2])
        if python == PY:  # a torch for the target's own Python must exist for it
            assert torch_has_python(minor, env.python.version) is not False, (spec, variant)
        if env.nvidia.cuda_driver_version:
            assert driver_runs(cuda, env.nvidia.cuda_driver_version,
                               env.nvidia.driver_version), (spec, variant)
        for sm in sms:
            assert cuda_targets(cuda, sm), (spec, variant, sm)
    for command in builds:
        torch_cuda = env.torch.cuda
        assert torch_cuda is not None, command
        arch = re.search(r"--arch ([\d.,]+)", command)
        for part in (arch.group(1).split(",") if arch else ()):
            major, minor = (int(p) for p in part.split("."))
            top = (int(torch_cuda.split(".")[0]), 9)
            assert cuda_targets(top, major * 10 + minor), command


def test_unknown_abi_is_one_rule_stated_once(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "torch24-abi-unknown")
    doc = _documents(case, tmp_path)["fetch-wheel"]
    resolutions = doc["data"]["resolutions"]
    assert all("cxx11abiFALSE" in r["filename"] for r in resolutions)
    guess = resolutions[0]["setup_py_guess"]
    assert guess["url"] and "cxx11abiFALSE" in guess["url"]  # the same assumption in the guess
    assert len(doc["data"]["assumed"]) == 1 and "assumed cxx11abiFALSE" in doc["data"]["assumed"][0]


def test_mamba_without_causal_conv1d_gets_the_prebuilt_partner(tmp_path: Path) -> None:
    # check must not suggest a bare-pip source build of causal-conv1d when install (or
    # fetch-wheel --package causal_conv1d) would fetch the prebuilt wheel.
    from mamba_doctor.models import PackageInfo

    base = next(c for c in CASES if c.name == "torch24-abi-unknown").env
    env = replace(base, torch=replace(base.torch, cxx11abi=False), packages={
        "mamba_ssm": PackageInfo("mamba_ssm", "2.2.4", True),
        "causal_conv1d": PackageInfo("causal_conv1d", None)})
    report = build_report(Target(PY, env=env))
    row = {c.id: c for c in report.checks}["mamba_versions"]
    assert row.problem == "causal_conv1d"
    assert row.commands == (f"mamba-doctor install --python {PY} --version 2.2.4",)
    assert "causal_conv1d 1.5.0.post8" in (row.hint or "")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_install_names_what_check_blocks_on_that_it_cannot_fix(case: Case,
                                                               tmp_path: Path) -> None:
    """Where check exits 3 for a reason an install leaves as it is (the driver, the GPU, glibc,
    torch's build), install says so with check's own words, rather than report a clean
    success; rows an install changes (the mamba packages) are left out."""
    from mamba_doctor.install.precheck import INSTALL_FIXES

    docs = _documents(case, tmp_path)
    check, install = docs["check"]["data"], docs["install"]["data"]
    said = install["check"]
    assert said["blocking"] == [b for b in check["blocking"] if b not in INSTALL_FIXES]
    assert set(said["next_steps"]) <= set(check["next_steps"])
    assert bool(said["next_steps"]) == bool(said["blocking"])
    if case.name == "v100-driver-cuda114":
        assert said["blocking"] == ["driver_cuda"]
        assert install["steps"][-1]["name"] == "verify" and docs["install"]["exit_code"] == 0


def test_install_shows_those_rows_with_their_commands_whole(tmp_path: Path) -> None:
    from rich.console import Console

    from mamba_doctor.install.precheck import unfixed_blockers
    from mamba_doctor.install.view import render_blockers
    from mamba_doctor.ui import split_commands

    case = next(c for c in CASES if c.name == "v100-driver-cuda114")
    rows = unfixed_blockers(Target(PY, env=case.env, run=_runner(case)))
    console = Console(record=True, width=60, color_system=None)
    render_blockers(console, rows)
    lines = console.export_text().splitlines()
    assert lines[0].startswith("check: installing will not fix driver_cuda")
    _, commands = split_commands(rows[0].hint or "")
    assert commands  # each one whole on a line of its own at 60 columns, not wrapped
    assert all(c in [ln.strip() for ln in lines] for c in commands), lines
    render_blockers(console, ())
    assert console.export_text() == ""
