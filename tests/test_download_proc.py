"""Downloads across processes: a shared cache, Ctrl-C, and a disk that fills up."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from httpserver import Fault, FaultyServer
from wheelmaker import wheel_bytes, wheel_name

from mamba_doctor.download.fetch import FetchRequest, fetch_files
from mamba_doctor.download.transfer import DiskFull

NAME = wheel_name()

CHILD = """
import json, sys
from pathlib import Path
from mamba_doctor.download.fetch import FetchRequest, fetch_files
try:
    r = fetch_files([FetchRequest("demo_pkg", sys.argv[1], sys.argv[2])],
                    cache_dir=Path(sys.argv[3]), allow_http=True, timeout=5.0, backoff=0.01)[0]
except KeyboardInterrupt:
    sys.exit(130)  # what mamba_doctor.commands._shell does
print(json.dumps(r.to_dict()))
"""


def _child(url: str, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, NAME, url, str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@pytest.mark.slow
def test_two_processes_share_one_download(server: FaultyServer, tmp_path: Path) -> None:
    body = wheel_bytes(payload_size=1_000_000)
    url = server.add(f"/f/{NAME}", body, faults=[Fault(rate=1_000_000)] * 2)
    cache = tmp_path / "shared-cache"
    first = _child(url, cache)
    _wait_for(lambda: _size(cache / "wheels" / f"{NAME}.part") > 0)
    second = _child(url, cache)  # starts while the first one is mid-transfer
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    r1, r2 = json.loads(out1), json.loads(out2)
    assert r1["sha256"] == r2["sha256"] == hashlib.sha256(body).hexdigest()
    assert (r1["from_cache"], r2["from_cache"]) == (False, True)
    assert "waiting for another mamba-doctor process" in err2
    assert len(server.hits) == 1 and server.sent(f"/f/{NAME}") == len(body)
    assert (cache / "wheels" / NAME).read_bytes() == body


@pytest.mark.slow
def test_ctrl_c_keeps_part_and_next_run_resumes(server: FaultyServer, tmp_path: Path) -> None:
    body = wheel_bytes(payload_size=2_000_000)
    url = server.add(f"/f/{NAME}", body, faults=[Fault(rate=400_000)])
    cache = tmp_path / "cache"
    part = cache / "wheels" / f"{NAME}.part"
    child = _child(url, cache)
    _wait_for(lambda: _size(part) > 100_000)
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 130
    assert "run the same command again and the download resumes" in err
    kept = _size(part)
    assert 100_000 <= kept < len(body) and not (cache / "wheels" / NAME).exists()
    result = fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache,
                         allow_http=True, backoff=0.01)[0]
    assert result.resumed_from == kept and result.path.read_bytes() == body


def test_disk_full_keeps_part_then_resumes_after_space_is_freed(
        server: FaultyServer, small_disk: Path) -> None:
    body = wheel_bytes(payload_size=1_500_000)
    url = server.add(f"/f/{NAME}", body)
    cache = small_disk / "cache"
    request = [FetchRequest("demo_pkg", NAME, url)]
    with pytest.raises(DiskFull, match="no space left") as info:
        fetch_files(request, cache_dir=cache, allow_http=True, backoff=0.01)
    part = cache / "wheels" / f"{NAME}.part"
    kept = _size(part)
    assert kept > 0 and info.value.data["partial_bytes"] == kept
    assert "run the same command again: it resumes" in (info.value.hint or "")
    assert info.value.exit_code == 5 and not (cache / "wheels" / NAME).exists()
    assert len(server.hits) == 1  # a full disk is not retried
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    result = fetch_files(request, cache_dir=cache, allow_http=True, backoff=0.01)[0]
    assert result.resumed_from == kept and result.path.read_bytes() == body


def _fill(folder: Path) -> None:
    """Use up every byte of the small disk."""
    with open(folder / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(bytes(4096))


def _strays(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_disk_full_while_writing_the_sidecar_is_exit_5_and_leaves_nothing(
        server: FaultyServer, small_disk: Path) -> None:
    body = wheel_bytes(payload_size=100_000)
    url = server.add(f"/f/{NAME}", body)
    cache = small_disk / "cache"
    (cache / "wheels").mkdir(parents=True)
    _fill(small_disk)
    with pytest.raises(DiskFull, match="no space left") as info:
        fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache, allow_http=True,
                    backoff=0.01)
    assert info.value.exit_code == 5
    assert _strays(small_disk) == []
    (small_disk / "filler").unlink()
    result = fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache,
                         allow_http=True, backoff=0.01)[0]
    assert result.path.read_bytes() == body


def test_full_dest_is_exit_5_and_leaves_no_temporary_copy(server: FaultyServer,
                                                          small_disk: Path) -> None:
    from clirunner import CliRunner

    from mamba_doctor.cli import app

    name = "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
    body = wheel_bytes("mamba_ssm", "2.2.2+cu118torch2.0cxx11abiFALSE",
                       tags="cp38-cp38-linux_x86_64", payload_size=1_000_000, seed=b"dest")
    url = server.add(f"/w/{name}", body)
    env = small_disk.parent / "env.json"
    env.write_text(json.dumps({"os": {"system": "Linux", "arch": "x86_64"}}))
    dest = small_disk / "dest"  # the cache is on the big disk; --dest is 512 KiB
    result = CliRunner().invoke(app, ["fetch-wheel", "--env", str(env), "--url", url,
                                      "--allow-http", "--dest", str(dest), "--json"])
    assert result.exit_code == 5, result.output
    err = json.loads(result.stdout)["errors"][0]
    assert err["code"] == "disk_full" and str(dest) in err["message"]
    assert _strays(small_disk) == [] and not (dest / name).exists()
