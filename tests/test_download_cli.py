"""`mamba-doctor fetch-wheel --url ...` end to end: the real CLI against the local faulty server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clirunner import CliRunner
from httpserver import Fault, FaultyServer
from wheelmaker import wheel_bytes

from mamba_doctor.cli import app

# A real release file name (v2.2.2 has no published digest, so the wheel must prove itself).
NAME = "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
BODY = wheel_bytes("mamba_ssm", "2.2.2+cu118torch2.0cxx11abiFALSE",
                   tags="cp38-cp38-linux_x86_64", payload_size=300_000, seed=b"cli")
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.json"
    path.write_text(json.dumps({"os": {"system": "Linux", "arch": "x86_64"}}))
    return path


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["fetch-wheel", *args])


def cache_wheels() -> Path:
    return Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "wheels"


def test_url_download_json(server: FaultyServer, env_file: Path, tmp_path: Path) -> None:
    url = server.add(f"/v2.2.2/{NAME}", BODY, faults=[Fault(drop_after=100_000)])
    dest = tmp_path / "wheels"
    r = cli("--env", str(env_file), "--url", url, "--allow-http", "--dest", str(dest),
            "--retries", "2", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "success"
    (d,) = doc["data"]["downloads"]
    assert d == {"package": "mamba_ssm", "path": str(dest / NAME), "url": url, "sha256": SHA,
                 "size": len(BODY), "resumed_from": 0, "attempts": 2, "from_cache": False}
    assert (dest / NAME).read_bytes() == BODY
    again = json.loads(cli("--env", str(env_file), "--url", url, "--allow-http", "--json")
                       .stdout)["data"]["downloads"][0]
    assert again["from_cache"] is True and len(server.hits) == 2


def test_plain_http_needs_allow_http(server: FaultyServer, env_file: Path) -> None:
    r = cli("--env", str(env_file), "--url", server.url(f"/v2.2.2/{NAME}"), "--json")
    assert r.exit_code == 2
    err = json.loads(r.stdout)["errors"][0]
    assert err["code"] == "usage_error" and "refusing plain http" in err["message"]
    assert server.hits == []


def test_404_exit_5_names_url_and_mirror(server: FaultyServer, env_file: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.url(f"/v2.2.2/{NAME}")
    monkeypatch.setenv("MAMBA_DOCTOR_MIRROR", server.url("/lab/"))
    r = cli("--env", str(env_file), "--url", url, "--allow-http", "--json")
    assert r.exit_code == 5
    doc = json.loads(r.stdout)
    assert doc["errors"][0]["code"] == "download_failed"
    assert url in doc["errors"][0]["message"] and server.url("/lab/") in doc["errors"][0]["message"]
    assert [t["url"] for t in doc["data"]["tried"]] == [server.url("/lab/") + NAME.replace(
        "+", "%2B"), url]
    assert not (cache_wheels() / NAME).exists()


def test_sha256_mismatch_exit_5_no_file(server: FaultyServer, env_file: Path,
                                        tmp_path: Path) -> None:
    url = server.add(f"/v2.2.2/{NAME}", BODY)
    r = cli("--env", str(env_file), "--url", url, "--allow-http", "--sha256", "0" * 64,
            "--dest", str(tmp_path / "out"), "--json")
    assert r.exit_code == 5
    assert json.loads(r.stdout)["errors"][0]["code"] == "checksum_mismatch"
    assert not (cache_wheels() / NAME).exists() and not (tmp_path / "out" / NAME).exists()


def test_find_links_human_output(server: FaultyServer, env_file: Path, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / NAME).write_bytes(BODY)
    r = cli("--env", str(env_file), "--url", server.url(f"/v2.2.2/{NAME}"), "--allow-http",
            "--find-links", str(usb))
    assert r.exit_code == 0, r.output
    assert "verified" in r.stdout and SHA in r.stdout
    assert server.hits == []


@pytest.mark.slow
def test_ctrl_c_exits_130_and_next_run_resumes(server: FaultyServer, env_file: Path) -> None:
    body = wheel_bytes("mamba_ssm", "2.2.2+cu118torch2.0cxx11abiFALSE",
                       tags="cp38-cp38-linux_x86_64", payload_size=2_000_000, seed=b"slow")
    url = server.add(f"/v2.2.2/{NAME}", body, faults=[Fault(rate=400_000)])
    argv = [sys.executable, "-m", "mamba_doctor", "fetch-wheel", "--env", str(env_file),
            "--url", url, "--allow-http", "--json"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    part = cache_wheels() / f"{NAME}.part"
    deadline = time.monotonic() + 20
    while not (part.exists() and part.stat().st_size > 100_000):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert json.loads(out)["errors"][0]["code"] == "interrupted"
    assert "the download resumes" in " ".join(err.split())  # rich may wrap the log line
    kept = part.stat().st_size
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)["data"]["downloads"][0]
    assert d["resumed_from"] == kept and d["sha256"] == hashlib.sha256(body).hexdigest()


def test_max_size_flag_refuses_a_bigger_file(server: FaultyServer, env_file: Path) -> None:
    url = server.add(f"/v2.2.2/{NAME}", BODY)
    r = cli("--env", str(env_file), "--url", url, "--allow-http", "--max-size", "100K", "--json")
    assert r.exit_code == 5, r.output
    assert "over the limit of 102400" in json.loads(r.stdout)["errors"][0]["message"]
    assert not (cache_wheels() / NAME).exists()
    r = cli("--env", str(env_file), "--url", url, "--allow-http", "--max-size", "1M", "--json")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("bad", ["0", "1.5G", "lots", "\u0663M", "-5"])
def test_bad_max_size_is_a_usage_error(env_file: Path, bad: str) -> None:
    r = cli("--env", str(env_file), "--url", "https://example.invalid/x.whl",
            "--max-size", bad, "--json")
    assert r.exit_code == 2, r.output
