"""`mamba-doctor explain`: input handling, human and JSON output, probing and its fallbacks."""

from __future__ import annotations

import io
import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner

import mamba_doctor.commands.explain as explain_cmd
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


def test_a_terminal_without_input_asks_for_a_paste(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty("RuntimeError: No CUDA GPUs are available\n"))
    assert read_input(None) == ("stdin", "RuntimeError: No CUDA GPUs are available\n")
    err = capsys.readouterr().err
    assert "Paste" in err and "Ctrl-D" in err  # the prompt, on stderr (stdout may be JSON)
    monkeypatch.setattr(sys, "stdin", Tty(""))
    with pytest.raises(UsageError, match="empty"):  # pasting nothing is still an empty input
        explain_cmd.explain(None, python=None, probe=False, env_file=None, limit=3)


def test_a_binary_file_is_said_to_be_binary(tmp_path: Path) -> None:
    for blob in (bytes(range(256)) * 64 + b"\nNo CUDA GPUs are available\n",
                 b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(4000)):  # a core dump, a zip
        path = tmp_path / "core.bin"
        path.write_bytes(blob)
        result = invoke([str(path), "--json", "--no-probe"])
        assert result.exit_code == 2
        doc = json.loads(result.stdout)
        assert "binary file, not a log" in doc["errors"][0]["message"]
    # a log with a stray control character or two is still a log
    path.write_bytes(b"\x07\x08 " + SYMBOL_LOG.read_bytes())
    assert invoke([str(path), "--json", "--no-probe"]).exit_code == 0


def test_utf16_without_a_bom_is_read(tmp_path: Path) -> None:
    log = tmp_path / "ps.log"
    log.write_bytes(SYMBOL_LOG.read_text().encode("utf-16-le"))
    doc = json.loads(invoke([str(log), "--json", "--no-probe"]).stdout)
    assert doc["data"]["diagnoses"][0]["id"] == "torch-version-mismatch-undefined-symbol"


@pytest.mark.slow
def _local_symbol_log(tmp_path: Path) -> Path:
    """The undefined-symbol error as this very interpreter would print it (its own paths)."""
    site = sysconfig.get_paths()["purelib"]
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    log = tmp_path / "local.log"
    log.write_text(f"ImportError: {site}/selective_scan_cuda.{tag}-x86_64-linux-gnu.so: "
                   "undefined symbol: _ZN3c104cuda9SetDeviceEab\n")
    return log


@pytest.mark.torch
def test_probed_environment_tailors_the_fixes(tmp_path: Path) -> None:
    local = _local_symbol_log(tmp_path)
    doc = json.loads(invoke([str(local), "--json", "--python", sys.executable]).stdout)
    assert doc["exit_code"] == 0
    top = doc["data"]["diagnoses"][0]
    assert top["id"] == "torch-version-mismatch-undefined-symbol"
    assert doc["data"]["environment_used"] is True, doc["data"]["probe_note"]
    assert top["tailored"] is True
    assert f"{sys.executable} -m pip" in "\n".join(top["fix"])
    assert doc["data"]["other_machine"] == [] and doc["data"]["facts_from"] == "target"
    human = invoke([str(local), "--python", sys.executable])
    assert f"Fixes tailored to {sys.executable} (torch " in " ".join(human.stdout.split())


def test_saved_environment_tailors_the_fixes(env_file: Path) -> None:
    doc = json.loads(invoke([str(SYMBOL_LOG), "--json", "--env", str(env_file)]).stdout)
    top = doc["data"]["diagnoses"][0]
    assert doc["data"]["environment_used"] is True and top["tailored"] is True
    fixes = "\n".join(top["fix"])
    # the file's interpreter, the pair the resolver finds for the file's machine
    assert "mamba-doctor install --python /opt/env/bin/python" in fixes
    assert "mamba_ssm 2.3.0 and causal_conv1d 1.6.0" in fixes
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
    # only the log's own facts (its Python 3.10) are left to tailor with
    assert doc["data"]["facts_from"] == "log"


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
    # The file's torch 2.5 (old ABI) decides between the look-alikes: the missing c10::Warning
    # uses c10::variant, which no torch after 2.1 has, and std::__cxx11, which this torch lacks.
    # Both are named, with the facts that confirm them, and the wheel offered fits both.
    second = doc["data"]["diagnoses"][1]
    assert top["id"] == "torch-version-mismatch-undefined-symbol"
    assert "torch 2.5 is installed" in " ".join(top["confirmed"])
    assert second["id"] == "cxx11-abi-mismatch" and second["confirmed"]
    assert "cxx11abiFALSE" in " ".join(top["fix"])
    env_file.write_text("[1, 2]")
    assert invoke([str(SYMBOL_LOG), "--env", str(env_file)]).exit_code == 2


def test_help_describes_the_command() -> None:
    result = CliRunner().invoke(app, ["explain", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for needle in ("FILE", "--python", "--no-probe", "--limit", "--json", "--env"):
        assert needle in result.stdout


@pytest.mark.slow
def test_real_probe_on_this_machine(tmp_path: Path) -> None:
    local = _local_symbol_log(tmp_path)
    doc = json.loads(invoke([str(local), "--json", "--python", sys.executable]).stdout)
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
    fixes = "\n".join(doc["data"]["diagnoses"][0]["fix"])
    assert f"mamba-doctor install --python {sys.executable}" in fixes
