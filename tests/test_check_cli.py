"""`mamba-doctor check`: JSON contract, exit codes, human output; real runs on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner
from fake_runner import FakeRunner, done, fixture

import mamba_doctor.probe as probe_pkg
from mamba_doctor.cli import app
from mamba_doctor.models import CudaToolkitInfo, Environment, NvidiaInfo, OsInfo
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.probe.nvidia_parse import parse_nvidia_smi_csv
from mamba_doctor.probe.target import probe_target

ENVELOPE_KEYS = {"schema_version", "command", "status", "exit_code", "data", "errors"}
CHECK_IDS = ["platform", "driver", "gpu_visible", "torch_build", "driver_cuda", "torch_gpu",
             "gpu_arch_torch", "gpu_arch_mamba", "nvcc", "host_compiler", "python", "glibc",
             "libstdcxx",
             "mamba_imports", "mamba_versions", "wheels"]


def _healthy_env() -> Environment:
    facts = probe_target("/py", run=FakeRunner({("/py",): done(fixture(
        "target-2.5.1-cu124.stdout"))}), environ={})
    gpus = parse_nvidia_smi_csv(fixture("nvidia-smi-query-rtx4090.csv")).gpus
    nv = NvidiaInfo(driver_version="560.35.03", cuda_driver_version="12.6",
                    gpus=tuple(g.__class__(**{**g.__dict__, "visible": True}) for g in gpus))
    return Environment(os=OsInfo(system="Linux", arch="x86_64", glibc="2.35", glibcxx="3.4.30"),
                       nvidia=nv, cuda_toolkit=CudaToolkitInfo(nvcc_version="12.4"),
                       python=facts.python, torch=facts.torch,
                       packages=dict(facts.packages))


@pytest.fixture(scope="module")
def real_json() -> dict:
    result = CliRunner().invoke(app, ["check", "--json", "--python", sys.executable])
    assert result.exit_code in (0, 3), result.output
    return {"exit_code": result.exit_code, "doc": json.loads(result.stdout)}


def test_real_json_contract_on_this_machine(real_json: dict) -> None:
    doc = real_json["doc"]
    assert set(doc) == ENVELOPE_KEYS and doc["command"] == "check"
    assert doc["exit_code"] == real_json["exit_code"]
    env = doc["data"]["environment"]
    for section, key in [("os", "arch"), ("os", "glibc"), ("python", "version"),
                         ("nvidia", "driver_version"), ("nvidia", "cuda_driver_version"),
                         ("nvidia", "gpus"), ("cuda_toolkit", "nvcc_version"),
                         ("torch", "version"), ("torch", "cuda"), ("torch", "cxx11abi"),
                         ("torch", "cuda_available"), ("torch", "arch_list")]:
        assert key in env[section], (section, key)
    for name in ("mamba_ssm", "causal_conv1d", "triton", "einops", "transformers",
                 "selective_scan_cuda", "causal_conv1d_cuda"):
        assert set(env["packages"][name]) >= {"version", "import_ok", "error"}
    assert [c["id"] for c in doc["data"]["checks"]] == CHECK_IDS
    assert all(set(c) == {"id", "status", "summary", "hint", "problem", "commands"}
               for c in doc["data"]["checks"])
    assert Environment.from_dict(doc) == Environment.from_dict(env)  # --env FILE round trip
    if env["nvidia"]["driver_version"] is None:  # this CPU-only machine
        assert real_json["exit_code"] == 3 and doc["status"] == "error"
        assert "driver" in doc["data"]["blocking"]
        assert env["nvidia"]["reasons"]["driver_version"]  # null facts carry a reason
        assert doc["errors"][0]["code"] == "check_failed"
        # the CPU-only torch here has no prebuilt wheel: the resolution says why, never a URL
        resolutions = doc["data"]["resolution"]["resolutions"]
        assert [r["package"] for r in resolutions] == ["mamba_ssm", "causal_conv1d"]
        assert all(r["filename"] is None and r["alternatives"] for r in resolutions)
        wheels_row = doc["data"]["checks"][-1]
        # CPU torch in the usual test venv; none at all in the Python 3.8 run (no 3.8 wheel here)
        cause = "CPU-only" if env["torch"]["installed"] else "without torch"
        assert wheels_row["status"] == "fail" and cause in wheels_row["summary"]


def test_real_human_output_explains_the_failure() -> None:
    result = CliRunner().invoke(app, ["check", "--python", sys.executable])
    assert result.exit_code in (0, 3)
    out = result.stdout
    assert "Checks" in out and "Verdict" in out and "torch_build" in out
    if result.exit_code == 3:
        assert "Mamba cannot run here yet" in out and "Next:" in out
        # the verdict names exactly the blocking rows the JSON view lists
        doc = json.loads(CliRunner().invoke(app, ["check", "--json", "--python",
                                                   sys.executable]).stdout)
        blocking = doc["data"]["blocking"]
        assert blocking and f"(blocking: {', '.join(blocking)})" in " ".join(out.split())
    assert "Traceback" not in result.output


def test_healthy_environment_exits_0() -> None:
    from mamba_doctor.check.report import build_report
    from mamba_doctor.commands.check import check_outcome
    from tests.outcomes import envelope_of

    target = Target(sys.executable, env=_healthy_env())
    code, doc = envelope_of("check", lambda: check_outcome(build_report(target), json_mode=True))
    assert code == 0 and doc["status"] == "success", doc["data"]["checks"]
    assert doc["data"]["verdict"] == "ok"
    assert doc["data"]["next_steps"] == [f"Prove the kernels work: mamba-doctor smoke --python "
                                         f"{sys.executable}"]
    # torch 2.5.1+cu124, cp311, RTX 4090: check names the exact prebuilt pair that fits
    files = [r["filename"] for r in doc["data"]["resolution"]["resolutions"]]
    assert all(f and "torch2.5" in f and "cp311" in f for f in files), files
    from rich.console import Console

    from mamba_doctor.check.view import render_check

    console = Console(width=120, record=True, color_system=None)
    render_check(console, build_report(target))
    human = console.export_text()
    assert "All checks passed" in human and "NVIDIA GeForce RTX 4090" in human
    assert "Prebuilt wheels for this machine" in human and "torch2.5" in human


@pytest.mark.parametrize("kind", ["missing", "text-file", "directory"])
def test_bad_python_is_exit_2(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "text-file":
        target.write_text("hello\n")
        target.chmod(0o755)
    elif kind == "directory":
        target.mkdir()
    result = CliRunner().invoke(app, ["check", "--json", "--python", str(target)])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["errors"][0]["code"] == "usage_error" and str(target) in doc["errors"][0]["message"]
    human = CliRunner().invoke(app, ["check", "--python", str(target)])
    assert human.exit_code == 2 and "error:" in human.stderr and "Traceback" not in human.output


def test_check_help_documents_the_options() -> None:
    result = CliRunner().invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--python", "--json", "--deep", "--timeout", "Exits 3"):
        assert text in result.stdout


@pytest.mark.slow
def test_check_process_never_imports_torch_or_requests() -> None:
    code = ("import sys\nfrom mamba_doctor.cli import main\n"
            "sys.argv = ['mamba-doctor', 'check', '--json', '--deep', '--python', "
            f"{sys.executable!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
            "sys.stderr.write('LEAK %s %s RC %s' % ('torch' in sys.modules, "
            "'requests' in sys.modules, rc))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "120"})
    assert "LEAK False False RC" in proc.stderr, proc.stderr[-2000:]
    json.loads(proc.stdout)


def test_render_shows_facts_hidden_gpus_and_diagnoses() -> None:
    from rich.console import Console

    from mamba_doctor.check.report import CheckReport
    from mamba_doctor.check.verdicts import evaluate
    from mamba_doctor.check.view import render_check

    env = _healthy_env()
    env = Environment(os=env.os, nvidia=NvidiaInfo(
        driver_version="560.35.03", cuda_driver_version="12.6",
        gpus=tuple(g.__class__(**{**g.__dict__, "visible": False}) for g in env.nvidia.gpus)),
        python=env.python, torch=env.torch, packages=env.packages)
    diag = {"id": "x", "title": "Extension built for another torch version", "fix": ["do Y"]}
    report = CheckReport(environment=env, checks=evaluate(Target.described(env)),
                         import_errors={"selective_scan_cuda": "Traceback\nImportError: boom",
                                        "mamba_ssm": "Traceback\nImportError: boom"},
                         diagnoses={"selective_scan_cuda": (diag,), "mamba_ssm": (diag,)})
    console = Console(width=120, record=True, color_system=None)
    render_check(console, report)
    text = console.export_text()
    assert "hidden by CUDA_VISIBLE_DEVICES" in text
    assert "gpu_visible" in text and "Mamba cannot run here yet" in text
    assert text.count("do Y") == 1  # the same fix is not repeated for mamba_ssm


@pytest.mark.gpu
def test_real_probe_on_a_gpu_machine() -> None:
    env = probe_pkg.probe_environment(sys.executable)
    assert env.nvidia.driver_version and env.nvidia.cuda_driver_version
    assert env.nvidia.gpus and all(g.compute_capability for g in env.nvidia.gpus)
    assert env.nvidia.sources["driver_version"] in ("nvml", "sysfs", "procfs", "nvidia-smi")
    assert env.torch.cuda and env.torch.cuda_available is True and env.torch.arch_list
