"""The shared foundation: envelope, exit codes, subprocess seam, environment model, the target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from clirunner import CliRunner

from mamba_doctor import _run
from mamba_doctor.commands._shell import Outcome, envelope, run_command
from mamba_doctor.errors import ExitCode, NoCompatibleWheel, UsageError
from mamba_doctor.models import Environment, GpuInfo, NvidiaInfo, TorchInfo, parse_sm
from mamba_doctor.probe.interpreter import CONDA_PREFIX, OWN, VIRTUAL_ENV, choose_target

ENVELOPE_KEYS = {"schema_version", "command", "status", "exit_code", "data", "errors"}


def _app_with(body):  # a throwaway app exercising the shared shell
    app = typer.Typer()

    @app.command()
    def demo(json_mode: bool = typer.Option(False, "--json")) -> None:
        run_command("demo", json_mode=json_mode, body=body)

    @app.command()
    def other() -> None:  # pragma: no cover  # keeps typer in multi-command mode
        pass

    return app


def test_envelope_status_follows_exit_code() -> None:
    assert envelope("x", exit_code=0, data={})["status"] == "success"
    assert envelope("x", exit_code=0, data={}, errors=[{"code": "c"}])["status"] == "partial"
    assert envelope("x", exit_code=4, data={})["status"] == "error"


def test_doctor_error_becomes_envelope_with_exit_code() -> None:
    def body() -> Outcome:
        raise NoCompatibleWheel("none fits", hint="try torch 2.4", data={"alternatives": [1]})

    result = CliRunner().invoke(_app_with(body), ["demo", "--json"])
    assert result.exit_code == ExitCode.NO_WHEEL
    doc = json.loads(result.stdout)
    assert set(doc) == ENVELOPE_KEYS
    assert doc["errors"] == [{"code": "no_compatible_wheel", "message": "none fits",
                              "hint": "try torch 2.4"}]
    assert doc["data"] == {"alternatives": [1]}


def test_unexpected_exception_is_exit_1_without_traceback() -> None:
    def body() -> Outcome:
        raise RuntimeError("boom")

    result = CliRunner().invoke(_app_with(body), ["demo"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "boom" in result.output


def test_keyboard_interrupt_is_130() -> None:
    def body() -> Outcome:
        raise KeyboardInterrupt

    result = CliRunner().invoke(_app_with(body), ["demo", "--json"])
    assert result.exit_code == 130
    assert json.loads(result.stdout)["errors"][0]["code"] == "interrupted"


def test_run_reports_missing_program_timeout_and_crash(tmp_path: Path) -> None:
    missing = _run.run(["/nonexistent/program"])
    assert missing.start_error and not missing.ok
    assert "could not start" in missing.describe_failure()
    slow = _run.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert slow.timed_out and slow.returncode is None
    crash = _run.run([sys.executable, "-c",
                      "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"])
    assert crash.signal_name == "SIGSEGV"
    ok = _run.run([sys.executable, "-c", "print('hi')"])
    assert ok.ok and ok.stdout.strip() == "hi"


def test_environment_round_trips_through_json() -> None:
    env = Environment(
        nvidia=NvidiaInfo(driver_version="550.54.15", cuda_driver_version="12.4",
                          gpus=(GpuInfo(0, "NVIDIA H100", "9.0", 81559),),
                          reasons={"x": "y"}),
        torch=TorchInfo(installed=True, version="2.5.1+cu124", cuda="12.4", cxx11abi=False,
                        arch_list=("sm_80", "sm_90")),
    )
    doc = json.loads(json.dumps(env.to_dict()))
    assert doc["nvidia"]["gpus"][0]["compute_capability"] == "9.0"
    assert Environment.from_dict(doc) == env
    # a whole `check --json` envelope is accepted as well
    assert Environment.from_dict({"data": {"environment": doc}}) == env


@pytest.mark.parametrize("bad", [[], {"nvidia": []}, {"nvidia": {"gpus": {}}}])
def test_environment_rejects_malformed(bad: object) -> None:
    with pytest.raises(ValueError):
        Environment.from_dict(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "sm"), [("8.6", 86), ("sm_90", 90), ("12.0", 120),
                                          ("sm_90a", 90), ("", None), ("x.y", None)])
def test_parse_sm(text: str, sm: int | None) -> None:
    assert parse_sm(text) == sm


def test_target_choice(tmp_path: Path) -> None:
    own = choose_target(None, environ={})
    assert (own.python, own.origin, own.is_own) == (sys.executable, OWN, True)
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text("#!/bin/sh\n")
    py.chmod(0o755)
    active = choose_target(None, environ={"VIRTUAL_ENV": str(venv)})
    assert (active.python, active.origin) == (str(py), VIRTUAL_ENV)
    conda = choose_target(None, environ={"CONDA_PREFIX": str(venv)})
    assert (conda.python, conda.origin) == (str(py), CONDA_PREFIX)
    given = choose_target(str(venv), environ={"VIRTUAL_ENV": "/elsewhere"})
    assert (given.python, given.origin, given.is_own) == (str(py), "--python", False)
    assert not given.has_facts and given.local
    with pytest.raises(UsageError):
        choose_target(str(tmp_path / "nope"), environ={})
    with pytest.raises(UsageError):
        choose_target(str(tmp_path), environ={})


def test_module_entry_point_help_is_fast_and_lists_exit_codes() -> None:
    proc = subprocess.run([sys.executable, "-m", "mamba_doctor", "--help"],
                          capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "COLUMNS": "200"})
    assert proc.returncode == 0
    assert "130" in proc.stdout and "check" in proc.stdout
    # the CLI must not import torch or requests just to start
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys, mamba_doctor.cli; print('torch' in sys.modules, 'requests' in sys.modules)"],
        capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["False", "False"]


@pytest.mark.torch
def test_public_api_is_lazy_and_complete() -> None:
    code = ("import sys, mamba_doctor as m; assert 'torch' not in sys.modules; "
            "names = [n for n in m.__all__ if n != '__version__']; "
            "missing = [n for n in names if not callable(getattr(m, n))]; "
            "print(missing, 'requests' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "[]"


@pytest.mark.parametrize("argv", [["smoke", "--batch", "x", "--json"],
                                  ["check", "--json", "--no-such-flag"],
                                  ["fetch-wheel", "--package", "nope", "--dry-run", "--json"]])
def test_flags_click_rejects_still_give_one_json_document(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "mamba_doctor", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert set(doc) == ENVELOPE_KEYS and doc["command"] == argv[0] and doc["exit_code"] == 2
    assert doc["errors"][0]["code"] == "usage_error" and doc["errors"][0]["message"]


def test_timeout_message_keeps_sub_second_limits() -> None:
    slow = _run.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert "killed after 0." in slow.describe_failure()


def test_run_streaming_kills_a_silent_hang_at_the_deadline() -> None:
    """A child that prints once and then hangs silently must still end at the timeout."""
    seen: list[str] = []
    done = _run.run_streaming(
        [sys.executable, "-u", "-c", "import time; print('compiling'); time.sleep(60)"],
        on_line=seen.append, timeout=1.0)
    assert done.timed_out and done.returncode is None and seen == ["compiling"]
    assert done.duration_s < 20
    missing = _run.run_streaming(["/nonexistent/nvcc"], on_line=seen.append)
    assert missing.start_error and not missing.ok
