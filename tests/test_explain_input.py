"""explain reads a bounded amount: the tail of a huge log, and never all of /dev/zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner

import mamba_doctor.commands.explain as explain_cmd
from mamba_doctor.cli import app

LOGS = Path(__file__).parent / "fixtures" / "logs"


def _explain(*args: str) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["explain", "--no-probe", "--json", *args])
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)["data"]
    return data


def test_a_huge_log_is_read_from_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_cmd, "MAX_INPUT", 4096)
    error = (LOGS / "cxx11-abi-mismatch.txt").read_bytes()
    assert len(error) < 4096
    log = tmp_path / "pip.log"
    log.write_bytes(b"Collecting something\n" * 5000 + error)
    data = _explain(str(log))
    assert data["diagnoses"] and data["diagnoses"][0]["id"] == "cxx11-abi-mismatch"
    assert data["lines"] < 300  # only the tail was read


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_cmd, "MAX_INPUT", 1 << 16)
    r = CliRunner().invoke(app, ["explain", "--no-probe", "--json", "/dev/zero"])
    assert r.exit_code == 2  # read a bounded amount, then said what it is
    assert "binary file" in json.loads(r.stdout)["errors"][0]["message"]
