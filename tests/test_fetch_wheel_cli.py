"""`mamba-doctor fetch-wheel` through the real CLI (CliRunner): --env, overrides, --dry-run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from wheel_envs import make_env

from mamba_doctor.cli import app

CLASSIC = "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(app, ["fetch-wheel", *args])


@pytest.fixture
def server_json(tmp_path: Path) -> Path:
    """What `check --json` writes on a server: the whole envelope."""
    env = make_env(python="3.8", torch="2.0.0+cu118", cuda="11.8", abi=False, gpus=["a100"],
                   glibc="2.31", driver_cuda="12.2")
    doc = {"schema_version": "1", "command": "check", "status": "success", "exit_code": 0,
           "data": {"environment": env.to_dict(), "checks": []}, "errors": []}
    path = tmp_path / "server.json"
    path.write_text(json.dumps(doc))
    return path


def test_dry_run_json_classic_case(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--package", "mamba_ssm", "--version", "2.2.2",
              "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["command"] == "fetch-wheel" and doc["status"] == "success"
    (res,) = doc["data"]["resolutions"]
    assert res["filename"] == CLASSIC
    assert res["url"] == f"https://github.com/state-spaces/mamba/releases/download/v2.2.2/{CLASSIC}"
    assert res["exact"] is True and res["package"] == "mamba_ssm" and res["version"] == "2.2.2"
    assert res["rejected"] and res["alternatives"] == [] and "sha256" in res
    assert doc["data"]["downloads"] == []
    assert doc["data"]["environment_source"] == f"file:{server_json}"


def test_dry_run_human_output_default_pair(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "mamba_ssm 2.2.2" in r.stdout and "causal_conv1d 1.4.0" in r.stdout
    assert "nothing downloaded" in r.stdout


def test_bare_environment_section_and_override_flags(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"os": {"system": "Linux", "arch": "x86_64"}}))
    r = _run(["--env", str(path), "--torch-version", "2.0.0", "--cuda-version", "11.8",
              "--python-version", "3.8", "--cxx11abi", "false", "--platform", "linux_x86_64",
              "--package", "mamba_ssm", "--version", "2.2.2", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)["data"]["resolutions"][0]
    assert res["filename"] == CLASSIC
    assert any(u.startswith("gpu") for u in res["unchecked"])


def test_overrides_replace_facts_from_file(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--torch-version", "2.4.1+cu121", "--python-version",
              "3.11", "--cxx11abi", "TRUE", "--package", "causal_conv1d", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)["data"]["resolutions"][0]
    assert "+cu12" in res["filename"] and "torch2.4cxx11abiTRUE-cp311" in res["filename"]


@pytest.mark.parametrize(("torch", "abi"), [("2.5.1", "FALSE"), ("2.8.0", "TRUE")])
def test_assumed_torch_gets_its_official_abi_not_the_probed_one(
        tmp_path: Path, torch: str, abi: str) -> None:
    # The file describes a probed torch 2.13 CPU build (C++11 ABI); the flags ask about another.
    env = make_env(python="3.11", torch="2.13.0+cpu", cuda=None, abi=True)
    path = tmp_path / "env.json"
    path.write_text(json.dumps(env.to_dict()))
    r = _run(["--env", str(path), "--torch-version", torch, "--cuda-version", "12.4",
              "--package", "mamba_ssm", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)["data"]
    assert f"cxx11abi{abi}-cp311" in data["resolutions"][0]["filename"]
    assert data["assumed"] and f"assumed cxx11abi{abi}" in data["assumed"][0]
    explicit = _run(["--env", str(path), "--torch-version", torch, "--cuda-version", "12.4",
                     "--cxx11abi", "TRUE", "--package", "mamba_ssm", "--dry-run", "--json"])
    doc = json.loads(explicit.stdout)
    assert doc["exit_code"] == 0 and doc["data"]["assumed"] == []
    assert "cxx11abiTRUE" in doc["data"]["resolutions"][0]["filename"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"nvidia": {"gpus": 3}}', ""])
def test_malformed_env_file_is_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    r = _run(["--env", str(path), "--dry-run", "--json"])
    assert r.exit_code == 2
    assert json.loads(r.stdout)["errors"][0]["code"] == "usage_error"


def test_missing_env_file_is_usage_error(tmp_path: Path) -> None:
    r = _run(["--env", str(tmp_path / "nope.json"), "--dry-run"])
    assert r.exit_code == 2 and "cannot read" in r.output


@pytest.mark.parametrize("args", [
    ["--cxx11abi", "maybe"], ["--torch-version", "latest"], ["--cuda-version", "eleven"],
    ["--version", "9.9.9"], ["--sha256", "ab" * 32], ["--package", "flash_attn"],
])
def test_bad_flags_exit_2(server_json: Path, args: list[str]) -> None:
    r = _run(["--env", str(server_json), "--dry-run", *args])
    assert r.exit_code == 2, r.output


def test_no_wheel_exits_4_with_alternatives(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--torch-version", "2.11.0+cu128", "--python-version",
              "3.12", "--cxx11abi", "TRUE", "--dry-run", "--json"])
    assert r.exit_code == 4
    doc = json.loads(r.stdout)
    assert doc["errors"][0]["code"] == "no_compatible_wheel"
    for res in doc["data"]["resolutions"]:
        assert res["url"] is None and res["filename"] is None
        kinds = [a["kind"] for a in res["alternatives"]]
        assert "source" in kinds
        assert res["setup_py_guess"]["exists"] is False


def test_no_wheel_human_output_shows_ways_out(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--platform", "win_amd64", "--dry-run"])
    assert r.exit_code == 4
    assert "no compatible wheel" in r.stdout and "WSL2" in r.stdout
    assert "error:" in r.output


def test_help_lists_every_flag() -> None:
    r = CliRunner().invoke(app, ["fetch-wheel", "--help"])
    assert r.exit_code == 0
    for flag in ("--package", "--version", "--env", "--torch-version", "--cuda-version",
                 "--python-version", "--cxx11abi", "--platform", "--python", "--dry-run",
                 "--dest", "--mirror", "--url", "--sha256", "--find-links", "--retries",
                 "--timeout", "--allow-http", "--json"):
        assert flag in r.stdout, flag


# The download itself is tested in tests/test_download_*.py against a real local server. Here the
# seam (download.fetch_files) records what fetch-wheel hands to it: requests, mirrors, options.
@pytest.fixture
def recording_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    import mamba_doctor.download.fetch as download

    calls: list[dict[str, Any]] = []

    @dataclass(frozen=True)
    class _Result:
        package: str
        path: Path
        url: str
        sha256: str
        size: int
        resumed_from: int = 0
        attempts: int = 1
        from_cache: bool = False

        def to_dict(self) -> dict[str, Any]:
            return {**self.__dict__, "path": str(self.path)}

    def fetch_files(requests: Any, **kwargs: Any) -> list[Any]:
        calls.append({"requests": list(requests), **kwargs})
        return [_Result(r.package, (kwargs["dest"] or tmp_path) / r.filename, r.url, "0" * 64, 1)
                for r in requests]

    monkeypatch.setattr(download, "fetch_files", fetch_files)
    return calls


def test_download_path_calls_fetch_files(server_json: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         recording_download: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("MAMBA_DOCTOR_MIRROR", "https://env-mirror.example/gh/")
    dest = tmp_path / "out"
    r = _run(["--env", str(server_json), "--dest", str(dest), "--mirror",
              "https://flag-mirror.example/", "--retries", "2", "--timeout", "5", "--json"])
    assert r.exit_code == 0, r.output
    (call,) = recording_download
    assert [q.filename for q in call["requests"]] == [
        CLASSIC, "causal_conv1d-1.4.0+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"]
    assert call["mirrors"] == ("https://flag-mirror.example/", "https://env-mirror.example/gh/")
    assert call["dest"] == dest and call["retries"] == 2 and call["timeout"] == 5.0
    assert call["show_progress"] is False and call["allow_http"] is False
    downloads = json.loads(r.stdout)["data"]["downloads"]
    assert [d["package"] for d in downloads] == ["mamba_ssm", "causal_conv1d"]


def test_explicit_url_uses_index_digest(server_json: Path,
                                        recording_download: list[dict[str, Any]]) -> None:
    url = ("https://github.com/state-spaces/mamba/releases/download/v2.2.5/"
           "mamba_ssm-2.2.5+cu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")
    r = _run(["--env", str(server_json), "--url", url, "--json"])
    assert r.exit_code == 0, r.output
    (req,) = recording_download[0]["requests"]
    assert req.url == url and req.sha256 == \
        "327c0e975cceb18a81a25465187e6e31573706b6a272a9489e0e05c9511936b3"


def test_explicit_mirror_url_still_gets_digest(server_json: Path,
                                               recording_download: list[dict[str, Any]]) -> None:
    url = ("https://mirror.example.edu/gh/state-spaces/mamba/releases/download/v2.2.5/"
           "mamba_ssm-2.2.5%2Bcu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")
    r = _run(["--env", str(server_json), "--url", url, "--json"])
    assert r.exit_code == 0, r.output
    (req,) = recording_download[0]["requests"]
    assert req.filename == "mamba_ssm-2.2.5+cu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    assert req.sha256 == "327c0e975cceb18a81a25465187e6e31573706b6a272a9489e0e05c9511936b3"


def test_explicit_url_must_be_a_wheel(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--url", "https://example.com/index.html"])
    assert r.exit_code == 2
