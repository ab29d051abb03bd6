"""`explain` on a log from another machine, and what it echoes back from a log.

A Windows log and a CUDA 11.8 server log, explained on a Linux laptop, keep their diagnosis and say
that they came from elsewhere; terminal escape sequences in a log are never echoed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner

import mamba_doctor.probe as probe_mod
from mamba_doctor.cli import app
from mamba_doctor.diagnose.engine import analyse
from mamba_doctor.models import Environment

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "logs_real"
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_real_logs import LAPTOP  # noqa: E402

LAPTOP_ENV = Environment.from_dict(LAPTOP)


@pytest.fixture
def on_a_linux_laptop(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The probe finds the laptop's facts (a real probe of this box would vary with the box)."""
    probed: list[str] = []

    def fake_probed(target: Any, **_: Any) -> Any:
        probed.append(target.python)
        return target.with_env(LAPTOP_ENV)

    monkeypatch.setattr(probe_mod, "probed", fake_probed)
    return probed


def _explain(*args: str) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["explain", "--json", *args])
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)["data"]
    return data


@pytest.mark.parametrize(("log", "expected", "why"), [
    ("umamba-73.txt", "windows-native-unsupported", "Windows"),  # a Windows causal-conv1d build
    ("hhhhpaaa-mamba-2.txt", "nvcc-torch-cuda-major-mismatch", "11.8"),  # a CUDA 11.8 server
])
def test_a_log_from_another_machine_keeps_its_diagnosis(
        on_a_linux_laptop: list[str], log: str, expected: str, why: str) -> None:
    data = _explain(str(REAL / log))
    assert on_a_linux_laptop  # the laptop was probed ...
    assert data["diagnoses"][0]["id"] == expected  # ... and did not veto what the log proves
    assert data["facts_from"] == "log" and data["environment_used"] is False
    assert any(why in reason for reason in data["other_machine"])
    assert "another machine" in data["origin_note"]
    human = CliRunner().invoke(app, ["explain", str(REAL / log)])
    flat = " ".join(human.stdout.split())
    assert "another machine" in flat and "Fixes tailored to" not in flat


def test_the_server_log_is_tailored_from_its_own_facts(on_a_linux_laptop: list[str]) -> None:
    top = _explain(str(REAL / "hhhhpaaa-mamba-2.txt"))["diagnoses"][0]
    fixes = " ".join(top["fix"])
    assert "CUDA 12.1" in fixes and "11.8" in fixes  # the log's torch and nvcc, not the laptop's
    assert "12.4" not in fixes
    assert top["confirmed"]  # the log's facts confirm the mismatch


@pytest.mark.parametrize("log", ["hhhhpaaa-mamba-2.txt", "umamba-73.txt"])
def test_a_log_from_another_machine_gets_no_command_naming_this_machines_python(
        on_a_linux_laptop: list[str], log: str) -> None:
    """The commands are for the machine the log came from: the interpreter probed here (a path
    that may not exist there) is never written into them."""
    data = _explain(str(REAL / log))
    here = on_a_linux_laptop[0]
    fixes = [f for d in data["diagnoses"] for f in d["fix"]]
    assert any("mamba-doctor install" in f or "pip" in f for f in fixes)
    assert not any(here in f for f in fixes)
    human = CliRunner().invoke(app, ["explain", str(REAL / log)]).stdout
    assert "mamba-doctor install" in human and here not in human


def test_an_explicit_python_is_kept_for_a_log_from_another_machine(
        on_a_linux_laptop: list[str]) -> None:
    """--python is the user's word: its interpreter stays in the commands whatever the log."""
    data = _explain("--python", sys.executable, str(REAL / "hhhhpaaa-mamba-2.txt"))
    assert data["other_machine"]
    assert any(sys.executable in f for d in data["diagnoses"] for f in d["fix"])


def test_a_log_from_this_machine_is_tailored_to_it(on_a_linux_laptop: list[str],
                                                    tmp_path: Path) -> None:
    log = tmp_path / "local.log"
    log.write_text("ImportError: /home/me/.venv/lib/python3.12/site-packages/selective_scan_cuda"
                   ".cpython-312-x86_64-linux-gnu.so: undefined symbol: "
                   "_ZN3c104cuda9SetDeviceEab\n")
    data = _explain(str(log))
    assert data["facts_from"] == "target" and data["other_machine"] == []
    assert data["origin_note"] is None and data["environment_used"] is True


def test_a_windows_path_alone_never_makes_a_diagnosis() -> None:
    """A user-code error in a Windows traceback: the kernels ran, nothing is wrong with them."""
    text = (REAL / "mamba4rec-5.txt").read_text(encoding="utf-8")
    assert analyse(text, LAPTOP_ENV, check_origin=True).diagnoses == ()
    stride = (
        'File "C:\\Users\\me\\envs\\m\\lib\\site-packages\\mamba_ssm\\ops\\'
        'selective_scan_interface.py", line 37, in forward\n'
        "    out, x, *rest = selective_scan_cuda.fwd(u, delta, A, B, C)\n"
        "RuntimeError: Expected B.stride(-1) == 1 to be true, but got false.\n")
    assert analyse(stride).diagnoses == ()
    assert analyse(stride).kernels_ran


ESCAPED_LOG = (
    "\x1b]0;pip install mamba-ssm\x07"  # OSC 0: a window title
    "\x1b[1;31mERROR:\x1b[0m \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ "  # CSI, OSC 8
    "ImportError: /env/lib/python3.10/site-packages/selective_scan_cuda.cpython-310-x86_64-"
    "linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi\x1b[K\x07\n"
    "\u009b2J\u009d8;;https://evil.example/\u009c\n"  # 8-bit CSI and OSC
)


def test_terminal_escape_sequences_are_never_echoed(tmp_path: Path) -> None:
    log = tmp_path / "ansi.log"
    log.write_text(ESCAPED_LOG, encoding="utf-8")
    for args in (["--no-probe"], ["--no-probe", "--json"]):
        r = CliRunner().invoke(app, ["explain", str(log), *args])
        assert r.exit_code == 0, r.output
        out = r.stdout
        assert "undefined symbol" in out or "another torch version" in out
        for bad in ("\x1b", "\x07", "\u009b", "\u009d", "]8;;", "]0;", "\\u001b", "\\u0007"):
            assert bad not in out, (args, bad)
