"""`mamba-doctor explain`: input handling, human and JSON output, probing and its fallbacks."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mamba_doctor.cli import app
from mamba_doctor.commands.explain import read_input
from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment, GpuInfo, NvidiaInfo, PythonInfo, TorchInfo

LOGS = Path(__file__).parent / "fixtures" / "logs"
SYMBOL_LOG = LOGS / "torch-version-mismatch-undefined-symbol.txt"
ENVELOPE_KEYS = {"schema_version", "command", "status", "exit_code", "data", "errors"}

PROBED_ENV = Environment(
    nvidia=NvidiaInfo(driver_version="550.54.15", cuda_driver_version="12.4",
                      gpus=(GpuInfo(0, "NVIDIA A100-SXM4-80GB", "8.0"),)),
    python=PythonInfo(executable="/opt/env/bin/python", version="3.11.9", abi_tag="cp311"),
    torch=TorchInfo(installed=True, version="2.5.1+cu124", cuda="12.4", cxx11abi=False),
)


def invoke(args: list[str], **kwargs: Any) -> Any:
    return CliRunner().invoke(app, ["explain", *args], **kwargs)


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """PROBED_ENV saved the way `check --json` saves a machine."""
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"data": {"environment": PROBED_ENV.to_dict()}}))
    return path


def test_explains_a_log_file() -> None:
    result = invoke([str(SYMBOL_LOG), "--no-probe"])
    assert result.exit_code == 0, result.output
    assert "another torch version" in result.stdout
    assert "Fix:" in result.stdout and "Matched:" in result.stdout
    doc = json.loads(invoke([str(SYMBOL_LOG), "--no-probe", "--json"]).stdout)
    assert doc["data"]["environment_used"] is False  # --no-probe really skips it
    assert "--no-probe" in doc["data"]["probe_note"]


def test_reads_stdin() -> None:
    text = SYMBOL_LOG.read_text()
    for args in (["-", "--no-probe"], ["--no-probe"]):
        result = invoke(args, input=text)
        assert result.exit_code == 0, result.output
        assert "torch-version-mismatch-undefined-symbol" in result.stdout


def test_json_output_is_one_envelope_with_ranked_diagnoses() -> None:
    result = invoke([str(LOGS / "stale-pip-wheel-cache.txt"), "--json", "--no-probe",
                     "--limit", "0"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == ENVELOPE_KEYS and doc["command"] == "explain"
    assert doc["status"] == "success"
    diagnoses = doc["data"]["diagnoses"]
    assert [d["id"] for d in diagnoses][:2] == ["stale-pip-wheel-cache",
                                                "torch-version-mismatch-undefined-symbol"]
    for d in diagnoses:
        assert {"id", "title", "score", "cause", "fix", "matched"} <= set(d)
        assert d["fix"] and d["matched"]
    assert [d["score"] for d in diagnoses] == sorted((d["score"] for d in diagnoses),
                                                     reverse=True)
    assert doc["data"]["source"].endswith("stale-pip-wheel-cache.txt")
    assert doc["data"]["environment_used"] is False


def test_limit_caps_the_list() -> None:
    result = invoke([str(LOGS / "stale-pip-wheel-cache.txt"), "--json", "--no-probe",
                     "--limit", "1"])
    assert len(json.loads(result.stdout)["data"]["diagnoses"]) == 1


def test_no_known_failure_is_exit_0_with_a_report_hint() -> None:
    negative = LOGS / "negative__shape-error-in-user-code.txt"
    result = invoke([str(negative), "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["data"]["diagnoses"] == []
    assert "check --json" in doc["data"]["hint"]
    # nothing to tailor, so the machine is not probed
    assert doc["data"]["environment_used"] is False and doc["data"]["probe_note"] is None
    human = invoke([str(negative)])
    assert human.exit_code == 0 and "No known failure" in human.stdout
    assert "check --json" in human.stdout


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "missing.log",
    lambda tmp: tmp,  # a directory
])
def test_unreadable_input_is_a_usage_error(tmp_path: Path, make_path: Any) -> None:
    path = make_path(tmp_path)
    result = invoke([str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    doc = json.loads(invoke([str(path), "--json"]).stdout)
    assert doc["exit_code"] == 2 and doc["errors"][0]["code"] == "usage_error"


def test_empty_input_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("\n  \n")
    result = invoke([str(empty)])
    assert result.exit_code == 2
    assert "empty" in result.output
    assert invoke(["-"], input="").exit_code == 2


def test_terminal_without_input_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty(""))
    with pytest.raises(UsageError, match="no input"):
        read_input(None)


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    blob = tmp_path / "core.bin"
    blob.write_bytes(bytes(range(256)) * 64 + b"\nNo CUDA GPUs are available\n")
    result = invoke([str(blob), "--json", "--no-probe"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["diagnoses"][0]["id"] == "no-gpu-visible"


@pytest.mark.slow
def test_probed_environment_tailors_the_fixes() -> None:
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--python", sys.executable]).stdout)
    assert doc["exit_code"] == 0
    top = doc["data"]["diagnoses"][0]
    assert top["id"] == "torch-version-mismatch-undefined-symbol"
    assert doc["data"]["environment_used"] is True, doc["data"]["probe_note"]
    assert top["tailored"] is True
    assert f"{sys.executable} -m pip" in "\n".join(top["fix"])
    human = invoke([str(SYMBOL_LOG), "--python", sys.executable])
    assert f"Fixes tailored to {sys.executable} (torch " in " ".join(human.stdout.split())


def test_saved_environment_tailors_the_fixes(env_file: Path) -> None:
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--env", str(env_file)]).stdout)
    top = doc["data"]["diagnoses"][0]
    assert doc["data"]["environment_used"] is True and top["tailored"] is True
    fixes = "\n".join(top["fix"])
    assert "/opt/env/bin/python -m pip" in fixes
    assert "torch 2.5 (CUDA 12, cxx11abiFALSE, cp311)" in fixes
    human = invoke([str(SYMBOL_LOG), "--env", str(env_file)])
    assert "Fixes tailored to /opt/env/bin/python (torch 2.5.1+cu124" in human.stdout


def test_failing_probe_falls_back_to_generic_fixes(tmp_path: Path) -> None:
    not_python = tmp_path / "python"
    not_python.write_text("#!/bin/sh\necho 'not a python' >&2\nexit 3\n")
    not_python.chmod(0o755)
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--python", str(not_python)]).stdout)
    assert doc["exit_code"] == 0
    assert "failed" in doc["data"]["probe_note"]
    assert doc["data"]["environment_used"] is False
    assert doc["data"]["diagnoses"][0]["id"] == "torch-version-mismatch-undefined-symbol"
    assert doc["data"]["diagnoses"][0]["tailored"] is False


def test_bad_python_path_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke([str(SYMBOL_LOG), "--python", str(tmp_path / "nope" / "python")])
    assert result.exit_code == 2


def test_saved_environment_file_is_used_instead_of_probing(env_file: Path) -> None:
    doc = json.loads(invoke([str(LOGS / "cxx11-abi-mismatch.txt"), "--json",
                             "--env", str(env_file)]).stdout)
    assert doc["data"]["probe_note"] is None
    top = doc["data"]["diagnoses"][0]
    # the file's interpreter, not this machine's: nothing here was probed
    assert "/opt/env/bin/python" in " ".join(top["fix"])
    assert top["id"] == "cxx11-abi-mismatch" and top["confirmed"]
    assert "cxx11abiFALSE" in " ".join(top["fix"])
    env_file.write_text("[1, 2]")
    assert invoke([str(SYMBOL_LOG), "--env", str(env_file)]).exit_code == 2


def test_help_describes_the_command() -> None:
    result = CliRunner().invoke(app, ["explain", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for needle in ("FILE", "--python", "--no-probe", "--limit", "--json", "--env"):
        assert needle in result.stdout


@pytest.mark.slow
def test_real_probe_on_this_machine() -> None:
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--python", sys.executable]).stdout)
    assert doc["exit_code"] == 0
    assert doc["data"]["diagnoses"][0]["id"] == "torch-version-mismatch-undefined-symbol"
    assert doc["data"]["environment_used"] is True, doc["data"]["probe_note"]


def test_powershell_utf16_logs_and_bad_bytes_are_read(tmp_path: Path) -> None:
    log = tmp_path / "ps.log"
    log.write_bytes(SYMBOL_LOG.read_text().encode("utf-16"))  # with a BOM, as `>` writes it
    doc = json.loads(invoke([str(log), "--json", "--no-probe"]).stdout)
    assert doc["data"]["diagnoses"][0]["id"] == "torch-version-mismatch-undefined-symbol"
    raw = b"\xff\xfe\xfa junk \x80\x81\n" + SYMBOL_LOG.read_bytes()
    result = invoke(["-", "--json", "--no-probe"], input=raw[3:])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["diagnoses"][0]["id"].startswith("torch-version")


def test_explicit_python_is_used_in_fixes_without_probing() -> None:
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--no-probe",
                             "--python", sys.executable]).stdout)
    assert doc["data"]["environment_used"] is False
    assert f"{sys.executable} -m pip uninstall" in "\n".join(doc["data"]["diagnoses"][0]["fix"])
