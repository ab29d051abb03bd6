"""`mamba-doctor index update` against a fake GitHub Releases API and PyPI JSON API on 127.0.0.1:
a new release appears and resolves, its digest is verified on download, failures leave the old
overlay, mirrors and proxy prefixes apply to API URLs, and --from/export carry it offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner
from fakeapi import FakeApis
from httpserver import Fault, FaultyServer
from wheel_envs import make_env
from wheelmaker import wheel_bytes

from mamba_doctor.cli import app
from mamba_doctor.wheels.index import load_index
from mamba_doctor.wheels.overlay import default_overlay_path

NEW = "mamba_ssm-2.4.0+cu12torch2.11cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
NEW_BODY = wheel_bytes("mamba_ssm", "2.4.0+cu12torch2.11cxx11abiTRUE",
                       tags="cp312-cp312-linux_x86_64", payload_size=50_000, seed=b"new")


def cli(*args: str, env: Any = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def apis(server: FaultyServer) -> FakeApis:
    fake = FakeApis(server, per_page=10)
    fake.add_release("mamba_ssm", "v2.4.0", [(NEW, NEW_BODY)])
    fake.publish()
    return fake


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """The machine fetch-wheel resolves for: Python 3.12, a CUDA 12.8 torch 2.11, C++11 ABI."""
    env = make_env(python="3.12", torch="2.11.0+cu128", cuda="12.8", abi=True, glibc="2.35",
                   gpus=["h100"], driver_cuda="12.8")
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(env.to_dict()))
    return path


def update(apis: FakeApis, *extra: str) -> Any:
    return cli("index", "update", "--api-url", apis.api_url, "--pypi-url", apis.pypi_url,
               "--allow-http", "--retries", "2", "--json", *extra)


def dry_run(machine: Path) -> Any:
    return cli("fetch-wheel", "--env", str(machine), "--package", "mamba_ssm", "--dry-run",
               "--json")


# ---- the new release: stale without the update, resolved with its sha256 after -------------

def test_new_release_resolves_after_update_and_is_stale_before(apis: FakeApis,
                                                               machine: Path) -> None:
    before = dry_run(machine)
    assert before.exit_code == 4, before.output
    doc = json.loads(before.stdout)
    assert doc["data"]["index"]["newer_torch"] == "2.11" and doc["data"]["index"]["stale"]
    assert "may be stale" in doc["data"]["index"]["line"]
    assert "mamba-doctor index update" in doc["errors"][0]["hint"]

    r = update(apis)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)["data"]
    assert summary["packages"]["mamba_ssm"]["new_tags"] == ["v2.4.0"]
    assert summary["packages"]["mamba_ssm"]["releases"] == 36  # followed every Link page

    after = dry_run(machine)
    assert after.exit_code == 0, after.output
    data = json.loads(after.stdout)["data"]
    (res,) = data["resolutions"]
    assert res["filename"] == NEW and res["tag"] == "v2.4.0"
    assert res["url"] == f"https://github.com/state-spaces/mamba/releases/download/v2.4.0/{NEW}"
    assert res["sha256"] == __import__("hashlib").sha256(NEW_BODY).hexdigest()
    assert res["wheel"]["status"] == "observed" and res["wheel"]["origin"] == "github"
    assert res["wheel"]["as_of"] == summary["packages"]["mamba_ssm"]["github_fetched"]
    assert res["wheel"]["size"] == len(NEW_BODY)
    assert not data["index"]["stale"] and data["index"]["source"] == "overlay"
    human = cli("fetch-wheel", "--env", str(machine), "--package", "mamba_ssm", "--dry-run")
    assert "wheel index: updated" in human.stdout and "GitHub Releases API" in human.stdout


def test_digest_is_verified_on_download(apis: FakeApis, machine: Path,
                                        server: FaultyServer) -> None:
    assert update(apis).exit_code == 0
    mirror = server.url("/download/v2.4.0/{filename}")
    r = cli("fetch-wheel", "--env", str(machine), "--package", "mamba_ssm", "--mirror", mirror,
            "--allow-http", "--json")
    assert r.exit_code == 0, r.output
    (got,) = json.loads(r.stdout)["data"]["downloads"]
    assert got["sha256"] == __import__("hashlib").sha256(NEW_BODY).hexdigest()
    # the same file name, other bytes: the API's digest refuses them (--url: this URL only, so
    # nothing falls back to github.com)
    os.remove(got["path"])
    url = server.add(f"/download/v2.4.0/{NEW}", NEW_BODY[:-10] + b"0123456789")
    bad = cli("fetch-wheel", "--env", str(machine), "--url", url, "--allow-http", "--json")
    assert bad.exit_code == 5
    err = json.loads(bad.stdout)["errors"][0]
    assert err["code"] == "checksum_mismatch" and got["sha256"] in err["message"]


# ---- failures leave the previous overlay as it was ------------------------------------------

def _snapshot() -> bytes:
    return default_overlay_path().read_bytes()


@pytest.mark.parametrize(("fault", "where", "code", "words"), [
    (Fault(status=403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"},
           body=b'{"message": "API rate limit exceeded"}'), "github", "rate_limited",
     "rate limit is used up"),
    (Fault(status=403, body=b'{"message": "Forbidden"}'), "github", "index_update_failed",
     "without a token"),
    (Fault(body=None, status=200, headers={"Content-Type": "application/json"}), "github",
     "index_update_failed", "not complete JSON"),
    (Fault(status=500), "pypi", "index_update_failed", "gave up after"),
])
def test_a_failure_leaves_the_previous_overlay(apis: FakeApis, server: FaultyServer,
                                               fault: Fault, where: str, code: str,
                                               words: str) -> None:
    assert update(apis).exit_code == 0
    before = _snapshot()
    if words == "not complete JSON":  # a page cut short yet well framed (a proxy truncated it)
        page = server.resources[apis.releases_path("mamba_ssm", 2)].body
        fault = Fault(status=200, body=page[: len(page) // 2],
                      headers={"Content-Type": "application/json"})
    path = apis.releases_path("mamba_ssm", 2) if where == "github" else \
        f"{apis.pypi_path}/pypi/mamba-ssm/json"
    server.resources[path].faults.extend([fault] * 3)
    r = update(apis, "--retries", "1")
    assert r.exit_code == 5, r.output
    err = json.loads(r.stdout)["errors"][0]
    assert err["code"] == code and words in err["message"]
    assert "previous index is unchanged" in err["hint"]
    assert _snapshot() == before


def test_no_network_leaves_the_previous_overlay(apis: FakeApis) -> None:
    assert update(apis).exit_code == 0
    before = _snapshot()
    r = cli("index", "update", "--api-url", "http://127.0.0.1:9/github", "--pypi-url",
            apis.pypi_url, "--allow-http", "--retries", "0", "--timeout", "2", "--json")
    assert r.exit_code == 5
    err = json.loads(r.stdout)["errors"][0]
    assert "connection to 127.0.0.1:9 refused" in err["message"] and "unchanged" in err["hint"]
    assert _snapshot() == before


def test_5xx_then_success_and_a_dropped_connection_are_retried(apis: FakeApis,
                                                                server: FaultyServer) -> None:
    server.resources[apis.releases_path("causal_conv1d", 1)].faults.append(Fault(status=503))
    pypi = server.resources[f"{apis.pypi_path}/pypi/causal-conv1d/json"]
    pypi.faults.append(Fault(drop_after=2000))
    r = update(apis)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["data"]["packages"]["causal_conv1d"]["pypi_versions"] == 22
    statuses = [h.status for h in server.hits_for(apis.releases_path("causal_conv1d", 1))]
    assert statuses == [503, 200]


def test_partial_keeps_what_answered(apis: FakeApis, server: FaultyServer) -> None:
    server.resources[apis.releases_path("causal_conv1d", 1)].faults.extend([Fault(status=502)] * 3)
    r = update(apis, "--retries", "0", "--partial")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)["data"]
    assert data["packages"]["causal_conv1d"]["github_fetched"] is None
    assert data["packages"]["causal_conv1d"]["pypi_fetched"] and data["failed"]
    assert load_index().release("mamba_ssm", "v2.4.0") is not None


# ---- mirrors and proxy prefixes apply to the API URLs, tokens stay with the API host --------

def test_mirror_template_and_prefix_carry_the_api(server: FaultyServer) -> None:
    fake = FakeApis(server, github="/proxy/https://api.github.com",
                    pypi="/proxy/https://pypi.org")
    fake.add_release("mamba_ssm", "v2.4.0", [(NEW, NEW_BODY)])
    fake.publish()
    env = {"GITHUB_TOKEN": "ghp_not_for_mirrors"}
    r = cli("index", "update", "--mirror", server.url("/proxy/{url}"), "--allow-http",
            "--json", env=env)
    assert r.exit_code == 0, r.output
    hits = [h for h in server.hits if h.path.startswith("/proxy/")]
    assert any("/repositories/725000000/releases" in h.path for h in hits)  # Link, proxied too
    assert any(h.path.startswith("/proxy/https://pypi.org/pypi/") for h in hits)
    assert all("Authorization" not in h.headers for h in server.hits)
    assert load_index().release("mamba_ssm", "v2.4.0") is not None
    # a bare host is a GitHub-proxy prefix: https://proxy.example/https://api.github.com/...
    prefix = FakeApis(server, github="/https://api.github.com", pypi="/https://pypi.org")
    prefix.publish()
    assert cli("index", "update", "--mirror", server.url("/"), "--allow-http").exit_code == 0
    assert server.hits_for("/https://api.github.com/repos/state-spaces/mamba/releases"
                           "?per_page=100")


def test_folder_mirror_is_refused_for_the_api(apis: FakeApis) -> None:
    r = update(apis, "--mirror", "https://files.lab/wheels/")
    assert r.exit_code == 2 and "folder of wheel files" in r.output


def test_token_goes_to_the_api_host_only(apis: FakeApis, server: FaultyServer) -> None:
    r = cli("index", "update", "--api-url", apis.api_url, "--pypi-url",
            apis.pypi_url.replace("127.0.0.1", "localhost"), "--allow-http", "--token-env",
            "MY_TOKEN", env={"MY_TOKEN": "ghp_secret"})
    assert r.exit_code == 0, r.output
    api = [h for h in server.hits if h.path.startswith("/github/")]
    pypi = [h for h in server.hits if h.path.startswith("/pypi-mirror/")]
    assert api and all(h.headers.get("Authorization") == "Bearer ghp_secret" for h in api)
    assert pypi and all("Authorization" not in h.headers for h in pypi)
    assert "ghp_secret" not in r.output


# ---- offline machines: export here, --from there --------------------------------------------

def test_export_then_update_from_file(apis: FakeApis, tmp_path: Path, monkeypatch) -> None:
    assert update(apis).exit_code == 0
    exported = tmp_path / "overlay-export.json"
    r = cli("index", "export", str(exported), "--json")
    assert r.exit_code == 0, r.output
    offline = tmp_path / "offline-cache"
    monkeypatch.setenv("MAMBA_DOCTOR_CACHE_DIR", str(offline))
    assert load_index().release("mamba_ssm", "v2.4.0") is None
    r = cli("index", "update", "--from", str(exported), "--json")
    assert r.exit_code == 0, r.output
    assert default_overlay_path().read_bytes() == exported.read_bytes()
    assert load_index().release("mamba_ssm", "v2.4.0") is not None
    # a file that is not an overlay is refused and changes nothing
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    r = cli("index", "update", "--from", str(junk))
    assert r.exit_code == 2 and "not a mamba-doctor index overlay" in r.output
    assert default_overlay_path().read_bytes() == exported.read_bytes()


def test_export_without_overlay_says_what_to_do(tmp_path: Path) -> None:
    r = cli("index", "export", str(tmp_path / "x.json"))
    assert r.exit_code == 2 and "index update" in r.output


def test_an_unreadable_overlay_leaves_the_bundled_index(tmp_path: Path) -> None:
    path = default_overlay_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"format": "mamba-doctor-index-overlay", "schema": 1, "created": "x"')
    index = load_index()
    assert index.overlay is None and "not JSON" in index.overlay_error
    r = cli("index", "status", "--json")
    assert r.exit_code == 0
    assert "unusable" in json.loads(r.stdout)["data"]["freshness"]["line"]


def test_check_reports_the_index_line(apis: FakeApis) -> None:
    from rich.console import Console

    from mamba_doctor.check.report import build_report
    from mamba_doctor.check.view import render_check
    from mamba_doctor.probe.interpreter import Target

    env = Target.described(make_env(python="3.12", torch="2.11.0+cu128", cuda="12.8", abi=True))
    stale = build_report(env)
    assert stale.to_dict()["index"]["newer_torch"] == "2.11"
    console = Console(record=True, width=200)
    render_check(console, stale)
    assert "may be stale: run `mamba-doctor index update`" in " ".join(
        console.export_text().split())
    assert update(apis).exit_code == 0
    fresh = build_report(env).to_dict()["index"]
    assert fresh["source"] == "overlay" and not fresh["stale"] and fresh["age_days"] == 0
