"""`mamba-doctor fetch-wheel` through the real CLI (CliRunner): --env, overrides, --dry-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner
from httpserver import FaultyServer
from wheel_envs import make_env
from wheelmaker import wheel_bytes

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


# The download itself is tested in tests/test_download_*.py; here fetch-wheel hands its requests,
# mirrors and options to the real downloader, which fetches from a real server on 127.0.0.1.
CAUSAL = "causal_conv1d-1.4.0+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"


def _wheel(filename: str) -> bytes:
    name, version, tags = filename[:-4].split("-", 2)
    return wheel_bytes(name, version, tags=tags, payload_size=2_000)


def test_download_uses_flag_mirrors_before_env_mirrors_and_copies_to_dest(
        server: FaultyServer, server_json: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (CLASSIC, CAUSAL):  # mirrors get the file name URL-encoded, as GitHub's
        server.add(f"/flag/{name.replace('+', '%2B')}", _wheel(name))
    monkeypatch.setenv("MAMBA_DOCTOR_MIRROR", server.url("/env/{filename}"))
    dest = tmp_path / "out"
    r = _run(["--env", str(server_json), "--dest", str(dest), "--mirror",
              server.url("/flag/{filename}"), "--allow-http", "--retries", "0", "--json"])
    assert r.exit_code == 0, r.output
    downloads = json.loads(r.stdout)["data"]["downloads"]
    assert [d["package"] for d in downloads] == ["mamba_ssm", "causal_conv1d"]
    assert sorted(p.name for p in dest.iterdir()) == sorted([CLASSIC, CAUSAL])
    # the flag's mirror answered first: the environment's was never needed
    assert {h.path.split("/")[1] for h in server.hits} == {"flag"}


def test_explicit_url_uses_index_digest(server: FaultyServer, server_json: Path) -> None:
    # v2.2.5 publishes this asset's sha256: bytes that differ are refused with that digest
    name = "mamba_ssm-2.2.5+cu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    url = server.add("/state-spaces/mamba/releases/download/v2.2.5/"
                     + name.replace("+", "%2B"), _wheel(name))
    r = _run(["--env", str(server_json), "--url", url, "--allow-http", "--retries", "0",
              "--json"])
    doc = json.loads(r.stdout)
    assert r.exit_code == 5 and doc["errors"][0]["code"] == "checksum_mismatch", doc
    assert "327c0e975cceb18a81a25465187e6e31573706b6a272a9489e0e05c9511936b3" in \
        doc["errors"][0]["message"]


def test_explicit_mirror_url_still_gets_digest(server: FaultyServer, server_json: Path) -> None:
    name = "mamba_ssm-2.2.5+cu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    path = ("/gh/state-spaces/mamba/releases/download/v2.2.5/"
            "mamba_ssm-2.2.5%2Bcu11torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")
    server.add(path, _wheel(name))
    r = _run(["--env", str(server_json), "--url", server.url(path), "--allow-http",
              "--retries", "0", "--json"])
    doc = json.loads(r.stdout)
    assert r.exit_code == 5 and doc["errors"][0]["code"] == "checksum_mismatch", doc
    assert "327c0e975cceb18a81a25465187e6e31573706b6a272a9489e0e05c9511936b3" in \
        doc["errors"][0]["message"]


def test_explicit_url_must_be_a_wheel(server_json: Path) -> None:
    r = _run(["--env", str(server_json), "--url", "https://example.com/index.html"])
    assert r.exit_code == 2
