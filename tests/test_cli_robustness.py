"""Every command, run as a user runs it: on an ASCII-only stream, with a relative --python, with a
missing interpreter, and stopped by SIGTERM (no child and no temporary folder left behind)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirunner import CliRunner
from httpserver import Fault, FaultyServer
from wheelmaker import wheel_bytes, wheel_name

from mamba_doctor.cli import app, flag_given_a_value, hoist_global_flags

SMALL = ["--steps", "4", "--nodes", "2", "--dim", "16", "--heads", "2"]
LOG = "ImportError: selective_scan_cuda.so: undefined symbol: _ZN3c104cuda9SetDeviceEi\n"


def _commands(tmp_path: Path, python: str) -> dict[str, list[str]]:
    log = tmp_path / "pip.log"
    log.write_text(LOG)
    return {
        "check": ["check", "--python", python],
        "fetch-wheel": ["fetch-wheel", "--python", python, "--dry-run", "--torch-version",
                        "2.5.1+cu124", "--python-version", "3.11", "--platform", "linux_x86_64"],
        "install": ["install", "--python", python, "--dry-run"],
        "smoke": ["smoke", "--python", python, *SMALL, "--trace"],
        "explain": ["explain", str(log), "--python", python],
    }


def _cli(args: list[str], *, env: dict[str, str], cwd: Path,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mamba_doctor", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["check", "fetch-wheel", "install", "smoke", "explain"])
def test_ascii_only_stdout_never_crashes(tmp_path: Path, name: str) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C",
           "COLUMNS": "80"}
    done = _cli(_commands(tmp_path, sys.executable)[name], env=env, cwd=tmp_path)
    assert done.returncode not in (1,), done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "UnicodeEncodeError" not in done.stderr, \
        done.stderr[-3000:]
    assert done.stdout.strip(), done.stderr[-2000:]
    done.stdout.encode("ascii")  # what an ASCII terminal got: stand-ins, no mojibake


@pytest.mark.slow
@pytest.mark.parametrize("name", ["check", "fetch-wheel", "install",
                                  pytest.param("smoke", marks=pytest.mark.torch), "explain"])
def test_relative_python_works_in_every_command(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                name: str) -> None:
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    relative = os.path.relpath(sys.executable, work)
    assert not os.path.isabs(relative)
    result = CliRunner().invoke(app, [*_commands(tmp_path, relative)[name], "--json"])
    doc = json.loads(result.stdout)
    assert doc["exit_code"] not in (1, 2), doc["errors"]
    text = json.dumps(doc)
    assert "could not start" not in text and "No such file" not in text, doc["errors"]
    if name == "smoke":
        assert doc["exit_code"] == 0 and doc["data"]["target_python"] == os.path.abspath(relative)


@pytest.mark.parametrize("name", ["check", "fetch-wheel", "install", "smoke", "explain"])
def test_missing_interpreter_is_a_usage_error_everywhere(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         name: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*_commands(tmp_path, "venv/bin/python")[name], "--json"])
    assert result.exit_code == 2, result.output
    err = json.loads(result.stdout)["errors"][0]
    assert err["code"] == "usage_error" and "venv/bin/python" in err["message"]


def test_global_flags_after_the_command_and_flags_given_values() -> None:
    assert hoist_global_flags(["check", "-q", "--json"]) == ["-q", "check", "--json"]
    assert hoist_global_flags(["explain", "--", "-q"]) == ["explain", "--", "-q"]
    assert flag_given_a_value(["--quiet", "true", "check"]) and \
        flag_given_a_value(["-v", "2", "check"])
    assert flag_given_a_value(["-v", "check"]) is None
    root_help = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"}).stdout
    assert "<bool>" not in root_help and "<int>" not in root_help


# --- SIGTERM ------------------------------------------------------------------------------------

def _pids_with(marker: str) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in out.splitlines() if marker in line
            and "ps -eo" not in line]


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_to_smoke_ends_its_child_and_removes_its_temp_folder(
        tmp_path: Path, sig: signal.Signals) -> None:
    marker = f"3000.{os.getpid()}{int(sig)}"  # a sleep length no other process has
    fake = tmp_path / "python"  # a "target" whose child hangs in a grandchild
    fake.write_text(f"#!/bin/sh\nsleep {marker} &\nwait\n")
    fake.chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "mamba_doctor", "smoke", "--python",
                             str(fake)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _pids_with(marker) and any(tmp.iterdir()))
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        for pid in _pids_with(marker):
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert "interrupted" in err and "Traceback" not in err, err
    assert _pids_with(marker) == [], "the smoke child outlived the doctor"
    assert list(tmp.iterdir()) == [], "the smoke test's temporary folder was left behind"


@pytest.mark.slow
def test_sigterm_during_a_slow_download_leaves_no_temp_file(server: FaultyServer,
                                                            tmp_path: Path) -> None:
    name = wheel_name()
    body = wheel_bytes(payload_size=2_000_000)
    url = server.add(f"/f/{name}", body, faults=[Fault(rate=200_000)])
    cache = tmp_path / "cache"
    env = {**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(cache), "NO_PROXY": "127.0.0.1",
           "no_proxy": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "-m", "mamba_doctor", "fetch-wheel", "--url", url,
                             "--allow-http", "--package", "mamba_ssm", "--python",
                             sys.executable], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    part = cache / "wheels" / f"{name}.part"
    _wait_for(lambda: part.exists() and part.stat().st_size > 50_000)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err, err
    left = [p.name for p in (cache / "wheels").iterdir()]
    assert not [n for n in left if n.endswith(".tmp")], left  # the .part stays, to resume
    assert part.exists() and 0 < part.stat().st_size < len(body)


@pytest.mark.slow
def test_install_into_a_target_without_torch_is_a_check_problem(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    result = CliRunner().invoke(app, ["install", "--python", str(venv / "bin" / "python"),
                                      "--dry-run", "--json"])
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 3, doc["errors"]  # as `check` says it, not "install failed" (6)
    assert doc["errors"][0]["code"] == "target_not_ready"
    assert "torch is not installed" in doc["errors"][0]["message"]


@pytest.mark.slow
def test_each_retry_is_said_at_default_verbosity(server: FaultyServer, tmp_path: Path) -> None:
    name = wheel_name()
    url = server.add(f"/f/{name}", wheel_bytes(payload_size=10_000),
                     faults=[Fault(status=503), Fault(status=503)])
    env = {**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(tmp_path / "cache"),
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", "COLUMNS": "200"}
    done = _cli(["fetch-wheel", "--url", url, "--allow-http", "--package", "mamba_ssm",
                 "--python", sys.executable], env=env, cwd=tmp_path, timeout=120)
    retries = [line for line in done.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == 2, done.stderr
    assert all("503" in line for line in retries), retries
