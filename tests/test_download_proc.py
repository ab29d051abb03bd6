"""Downloads across processes: a shared cache, Ctrl-C, and a disk that fills up."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB tmpfs (needs root, as on the dev machines and CI)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


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
