"""--env FILE: one reader for fetch-wheel and explain; bad files are usage errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from clirunner import CliRunner

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


INJECTION = "2.0.0' ; touch X ; echo '"


@pytest.mark.parametrize(("section", "field", "value"), [
    ("torch", "version", INJECTION),
    ("torch", "version", "$(touch X)"),
    ("torch", "cuda", "12.4`touch X`"),
    ("torch", "cuda", "12.4\ntouch X"),
    ("python", "version", "\u0663.\u0661\u0661"),  # Arabic-Indic digits: not a version
    ("python", "abi_tag", "cp311; rm -rf ~"),
    ("nvidia", "driver_version", "550.54\x1b]8;;http://x\x07"),
    ("python", "executable", "/usr/bin/python3\n; touch X"),
    ("torch", "version", ["2", "4"]),  # wrong types
    ("torch", "cxx11abi", "yes"),
    ("torch", "device_count", True),
    ("torch", "capabilities", [9.0]),
    ("os", "reasons", {"glibc": 5}),
])
def test_every_value_is_checked_by_type_and_syntax(tmp_path: Path, section: str, field: str,
                                                   value: Any) -> None:
    doc = ENV.to_dict()
    doc[section][field] = value
    path = tmp_path / "env.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UsageError, match=rf"{section}\w*\.{field}") as info:
        read_env_file(path)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("command", [["fetch-wheel", "--dry-run"], ["explain", "-"]])
def test_a_shell_injection_in_the_env_file_is_exit_2_for_every_command(
        tmp_path: Path, command: list[str]) -> None:
    doc = ENV.to_dict()
    doc["torch"]["version"] = INJECTION
    path = tmp_path / "env.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(app, [*command, "--env", str(path), "--json"],
                                input="undefined symbol: _ZN3c104cuda9SetDeviceEi\n")
    assert result.exit_code == 2, result.output
    err = json.loads(result.stdout)["errors"][0]
    assert "torch.version" in err["message"] and "is not a valid value" in err["message"]


def test_gpu_entries_are_typed(tmp_path: Path) -> None:
    doc = ENV.to_dict()
    path = tmp_path / "env.json"
    for gpu, needle in [({"index": "\u00b2"}, "index"), ({"index": True}, "index"),
                        ({"index": 0, "compute_capability": "\u00b2.0"}, "compute_capability"),
                        ({"index": 0, "uuid": ["GPU-1"]}, "uuid"), ("GPU 0", "GpuInfo")]:
        doc["nvidia"]["gpus"] = [gpu]
        path.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(UsageError, match=needle):
            read_env_file(path)


def test_free_text_keeps_its_words_but_loses_terminal_escapes(tmp_path: Path) -> None:
    doc = ENV.to_dict()
    doc["os"]["distro"] = "Ubuntu \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 22.04\x1b[31m"
    doc["torch"]["error"] = "line one\nline two\x07"
    path = tmp_path / "env.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    env = read_env_file(path)
    assert env.os.distro == "Ubuntu click 22.04"
    assert env.torch.error == "line one\nline two"


@pytest.mark.parametrize("value", ["\u0663.\u0661\u0661", "\uff13.\uff11\uff11", "3.\u00b9\u00b9"])
def test_python_version_flag_with_non_ascii_digits_is_exit_2(tmp_path: Path, value: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(ENV.to_dict()), encoding="utf-8")
    result = CliRunner().invoke(app, ["fetch-wheel", "--env", str(path), "--python-version",
                                      value, "--dry-run", "--json"])
    assert result.exit_code == 2, result.output
    assert "is not a Python version" in json.loads(result.stdout)["errors"][0]["message"]
