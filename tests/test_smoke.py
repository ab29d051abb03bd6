"""`mamba-doctor smoke`: real children on CPU; fake targets that crash, hang or lack torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from clirunner import CliRunner

from mamba_doctor._run import Completed
from mamba_doctor.cli import app
from mamba_doctor.errors import ExitCode, UsageError
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.smoke.runner import (
    RESULT_PREFIX,
    SmokeOptions,
    build_data,
    failure_message,
    last_stage,
    parse_child_output,
    run_smoke,
)

torch = pytest.importorskip("torch")


def _fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for a target interpreter."""
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def _invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["smoke", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_cpu_smoke_end_to_end_json_and_trace() -> None:
    code, doc = _invoke("--python", sys.executable, "--trace")
    assert code == 0, doc["errors"]
    data = doc["data"]
    assert data["passed"] is True and data["device"] == "cpu" and data["backend"] == "ref"
    assert data["tests_cuda_kernels"] is False and "does NOT test" in data["label"]
    assert data["input_shape"] == data["output_shape"] == [2, 12, 5, 64]
    assert data["parameters"] == 99_776
    status = {c["name"]: c["status"] for c in data["checks"]}
    for name in ("output shape", "finite values", "causality", "gradient flow",
                 "parameter count", "gradcheck (MambaRef, fp64)",
                 "chunked scan = sequential loop (fp64)"):
        assert status[name] == "pass", name
    assert status["mamba_ssm kernels"] == "skip"
    assert "max_abs_err" not in data  # nothing was compared against a kernel
    ops = {op["op"]: op for op in data["trace"]}
    assert ops["temporal.to_sequences"]["output_shape"] == [[10, 12, 64]]
    assert ops["temporal.mamba.in_proj"]["params"] == {"in_proj.weight": [256, 64]}
    assert set(data["trace"][0]) == {"op", "input_shape", "output_shape", "params", "meaning",
                                     "input_names", "output_names", "input_from"}
    scan = ops["temporal.mamba.selective_scan"]
    assert scan["input_names"] == ["x", "delta", "B", "C", "z"]
    assert scan["input_shape"] == [[10, 128, 12], [10, 128, 12], [10, 16, 12], [10, 16, 12],
                                   [10, 128, 12]]


def test_cpu_smoke_attention_variant_human_output() -> None:
    result = CliRunner().invoke(app, ["smoke", "--python", sys.executable, "--temporal",
                                      "attention", "--steps", "6", "--nodes", "3", "--dim", "16",
                                      "--heads", "2", "--trace"])
    assert result.exit_code == 0, result.output
    assert "does NOT test" in result.stdout and "causality" in result.stdout
    assert "temporal.softmax" in result.stdout and "0 failed" in result.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--dim", "60", "--heads", "8"], "not divisible"),
    (["--steps", "1"], "at least 2"),
    (["--dtype", "float8"], "--dtype"),
    (["--device", "cpu", "--backend", "cuda"], "--backend cuda"),
])
def test_bad_options_are_usage_errors(args: list[str], needle: str) -> None:
    code, doc = _invoke(*args)
    assert code == ExitCode.USAGE
    assert needle in doc["errors"][0]["message"]


def test_backend_cuda_without_gpu_is_a_clear_failure() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, doc = _invoke("--python", sys.executable, "--backend", "cuda")
    assert code == ExitCode.SMOKE_FAILED
    failed = [c for c in doc["data"]["checks"] if c["status"] == "fail"]
    assert failed and "needs a CUDA device" in failed[0]["detail"]
    assert doc["errors"][0]["code"] == "smoke_failed"


def test_segfaulting_target_is_reported_with_signal_and_stage(tmp_path: Path) -> None:
    py = _fake_python(tmp_path, "echo 'smoke-stage: block cuda-fast float32' >&2; kill -SEGV $$")
    report = run_smoke(Target(str(py)), options=SmokeOptions(timeout=30))
    assert not report.passed
    crash = report.data["crash"]
    assert crash["signal"] == "SIGSEGV" and crash["last_stage"] == "block cuda-fast float32"
    assert "SIGSEGV" in report.message and "block cuda-fast" in report.message
    code, doc = _invoke("--python", py)
    assert code == ExitCode.SMOKE_FAILED and doc["data"]["crash"]["signal"] == "SIGSEGV"


def test_hanging_target_is_killed_after_the_timeout(tmp_path: Path) -> None:
    py = _fake_python(tmp_path, "sleep 60")
    report = run_smoke(Target(str(py)), options=SmokeOptions(timeout=1.0))
    assert not report.passed and report.data["crash"]["timed_out"]
    assert "did not finish in time" in report.message
    assert report.data["duration_s"] < 30


def test_target_without_torch_gets_a_clear_message(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)  # its own site-packages: no torch there
    py = str(env_dir / "bin" / "python")
    report = run_smoke(Target(str(py)), options=SmokeOptions(timeout=60))
    assert not report.passed
    assert report.message.startswith("torch cannot be imported in " + py)
    assert "No module named 'torch'" in report.message and report.hint
    code, doc = _invoke("--python", py)
    assert code == ExitCode.SMOKE_FAILED
    assert doc["data"]["checks"][0] == {"name": "import torch", "status": "fail",
                                        "detail": "torch cannot be imported in this interpreter"}


def test_child_runs_without_the_doctors_dependencies(tmp_path: Path) -> None:
    """The child only sees its copied package: typer/rich are not imported in the target."""
    from mamba_doctor.smoke.runner import build_child_command, stage_child_package

    stage_child_package(tmp_path)
    cmd = build_child_command(sys.executable, str(tmp_path), SmokeOptions(steps=4, dim=16,
                                                                          heads=2))
    cmd[4] = cmd[4].replace("sys.exit(main(sys.argv[2:]))",
                            "main(sys.argv[2:]); print(sorted(m for m in sys.modules if "
                            "m.split('.')[0] in ('typer', 'rich', 'mamba_doctor')))")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert parse_child_output(proc.stdout)["passed"] is True


def test_parse_child_output_takes_the_last_result_line() -> None:
    noise = "warning: something\n" + RESULT_PREFIX + '{"passed": false}\n'
    assert parse_child_output(noise + RESULT_PREFIX + '{"passed": true}\n') == {"passed": True}
    assert parse_child_output("no result\n") is None
    assert parse_child_output(RESULT_PREFIX + "{broken\n") is None
    assert last_stage("x\nsmoke-stage: a\nsmoke-stage: b\ny") == "b" and last_stage("") is None


def test_failed_checks_become_a_message_naming_them() -> None:
    child = {"passed": False, "device": "cuda", "backend": "cuda", "checks": [
        {"name": "block cuda-fast float32: output", "status": "fail", "detail": "max |Δ| = 1"},
        {"name": "causality", "status": "pass", "detail": ""}], "errors": [],
        "max_abs_err": {"block cuda-fast float32: output": 1.0}, "timings_ms": {}}
    done = Completed(("py",), 0, "", "", duration_s=1.0)
    data = build_data("py", SmokeOptions(), child, done)
    assert data["max_abs_err"] == {"block cuda-fast float32: output": 1.0}
    message, hint = failure_message(data)
    assert message == "smoke test failed: 1 check failed (block cuda-fast float32: output)"
    assert hint == "max |Δ| = 1"
    assert failure_message({**data, "passed": True}) == (None, None)


def test_options_validation_is_pure() -> None:
    SmokeOptions().validate()
    with pytest.raises(UsageError):
        SmokeOptions(timeout=0).validate()
    assert "timeout" not in SmokeOptions().to_child()


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_gpu_smoke_compares_kernels_with_reference(dtype: str) -> None:
    pytest.importorskip("mamba_ssm")
    code, doc = _invoke("--python", sys.executable, "--device", "cuda", "--dtype", dtype)
    data = doc["data"]
    assert data["backend"] == "cuda" and data["tests_cuda_kernels"] is True, data["checks"]
    assert "cuda-slow" in data["paths"]
    assert data["max_abs_err"] and data["timings_ms"] and data["peak_memory_mb"]
    assert code == 0, [c for c in data["checks"] if c["status"] == "fail"]


def test_known_kernel_failure_is_diagnosed(tmp_path: Path) -> None:
    """A GPU machine whose mamba_ssm wheel was built against another torch (recorded shape of
    the child's result line, as the real child prints it for this failure)."""
    why = ("ImportError: /env/lib/python3.11/site-packages/selective_scan_cuda.cpython-311-"
           "x86_64-linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi")
    child = {"passed": False, "device": "cuda", "backend": "ref", "checks": [
        {"name": "mamba_ssm kernels", "status": "fail",
         "detail": "mamba_ssm CUDA path UNAVAILABLE: " + why}],
        "errors": [{"stage": "import mamba_ssm", "message": why, "traceback": []}],
        "timings_ms": {}, "max_abs_err": {}}
    script = tmp_path / "result.txt"
    script.write_text(RESULT_PREFIX + json.dumps(child) + "\n")
    py = _fake_python(tmp_path, f"cat '{script}'")
    report = run_smoke(Target(str(py)), options=SmokeOptions(timeout=30))
    assert not report.passed
    assert report.data["diagnoses"][0]["id"] == "torch-version-mismatch-undefined-symbol"
    assert report.hint == report.data["diagnoses"][0]["fix"][0]
    assert report.message == "smoke test failed: 1 check failed (mamba_ssm kernels)"


def test_cpu_torch_asked_for_cuda_is_diagnosed_as_a_cpu_build(tmp_path: Path) -> None:
    """The child's torch facts reach the diagnosis: a +cpu torch is not a too-old driver."""
    child = {"passed": False, "device": None, "backend": None, "checks": [
        {"name": "device", "status": "fail",
         "detail": "--device cuda, but torch.cuda.is_available() is False (torch 2.4.0+cpu, "
                   "CUDA None)"}],
        "errors": [], "timings_ms": {}, "torch": "2.4.0+cpu", "torch_cuda": None,
        "cuda_available": False}
    script = tmp_path / "result.txt"
    script.write_text(RESULT_PREFIX + json.dumps(child) + "\n")
    py = _fake_python(tmp_path, f"cat '{script}'")
    report = run_smoke(Target(str(py)), options=SmokeOptions(device="cuda", timeout=30))
    assert [d["id"] for d in report.data["diagnoses"]][:1] == ["torch-cpu-build"]
    assert report.hint == report.data["diagnoses"][0]["fix"][0]
    assert py in report.hint  # the fix names the target interpreter, not a generic `python`


def test_kernel_crash_text_is_diagnosed(tmp_path: Path) -> None:
    py = _fake_python(tmp_path, "echo 'smoke-stage: block cuda-fast float32' >&2; echo "
                      "'RuntimeError: CUDA error: no kernel image is available for execution on "
                      "the device' >&2; exit 1")
    report = run_smoke(Target(str(py)), options=SmokeOptions(timeout=30))
    assert report.data["crash"]["returncode"] == 1
    assert report.data["diagnoses"] and "gpu-arch" in report.data["diagnoses"][0]["id"]


def _python38() -> str | None:
    import glob
    import shutil

    candidates = [shutil.which("python3.8")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    for found in filter(None, candidates):
        probe = [found, "-c", "import sys; assert sys.version_info[:2] == (3, 8)"]
        if subprocess.run(probe, capture_output=True, timeout=60).returncode == 0:
            return found
    return None


def test_child_code_runs_on_python38(tmp_path: Path) -> None:
    """Compile every file the child gets with a real 3.8, and run the child there (no torch)."""
    py38 = _python38()
    if py38 is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    from mamba_doctor.smoke.runner import CHILD_FILES

    pkg = Path(__file__).resolve().parents[1] / "mamba_doctor"
    for name in CHILD_FILES:
        src = (pkg / name).read_text()
        proc = subprocess.run([py38, "-c", "import sys; compile(sys.stdin.read(), sys.argv[1], "
                               "'exec')", name], input=src, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, (name, proc.stderr)
    report = run_smoke(Target(str(py38)), options=SmokeOptions(timeout=60))
    if report.data.get("environment", {}).get("torch"):
        assert report.passed, report.message  # a 3.8 with torch: the whole reference path ran
    else:
        assert report.message.startswith("torch cannot be imported")
        assert report.data["environment"]["python"].startswith("3.8")
