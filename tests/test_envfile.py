"""--env FILE: one reader for fetch-wheel and explain; bad files are usage errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from mamba_doctor.cli import app
from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment, PythonInfo, TorchInfo
from mamba_doctor.probe.envfile import read_env_file

ENV = Environment(python=PythonInfo(version="3.10.12", abi_tag="cp310"),
                  torch=TorchInfo(installed=True, version="2.4.1+cu121", cuda="12.1"))


@pytest.mark.parametrize("wrap", [
    lambda e: e, lambda e: {"environment": e},
    lambda e: {"schema_version": "1", "command": "check", "data": {"environment": e}},
], ids=["bare", "data-part", "envelope"])
def test_reads_every_shape_check_json_gives(tmp_path: Path,
                                            wrap: Callable[[Any], Any]) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(wrap(ENV.to_dict())), encoding="utf-8")
    assert read_env_file(path) == Environment.from_dict(ENV.to_dict())


@pytest.mark.parametrize(("content", "needle"), [
    ('{"a": 1}', "no environment in it"),
    ('{"data": {"checks": []}}', "no environment in it"),
    ("[1, 2]", "no environment in it"),
    ("hello", "not JSON"),
    ('{"torch": "2.4"}', "not an environment document"),
])
def test_bad_documents(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=needle) as info:
        read_env_file(path, flag="--env")
    assert info.value.hint and "check --json" in info.value.hint


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        read_env_file(tmp_path)
    with pytest.raises(UsageError, match="cannot read it"):
        read_env_file(tmp_path / "nope.json")


@pytest.mark.parametrize("command", [["fetch-wheel", "--dry-run"], ["explain", "-"]])
def test_both_commands_refuse_an_object_without_facts(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "env.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    r = CliRunner().invoke(app, [*command, "--env", str(path), "--json"],
                           input="ImportError: libcudart.so.12: cannot open shared object file")
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    assert doc["errors"][0]["code"] == "usage_error"
    assert "no environment in it" in doc["errors"][0]["message"]


def test_an_endless_or_huge_file_is_refused(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import mamba_doctor.probe.envfile as envfile

    monkeypatch.setattr(envfile, "MAX_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"os": {"distro": "x" * 2000}}), encoding="utf-8")
    with pytest.raises(UsageError, match="not a `check --json` document"):
        read_env_file(big)
    if Path("/dev/zero").exists():
        with pytest.raises(UsageError, match="not a `check --json` document"):
            read_env_file(Path("/dev/zero"))


def test_bad_utf8_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_bytes(b'{"os": "\xff"}')
    with pytest.raises(UsageError, match="cannot read it"):
        read_env_file(path)
