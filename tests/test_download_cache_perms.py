"""Read-only and shared caches: files written by another user (uid 65534), read by a process
that the kernel's permission checks apply to (root without CAP_DAC_OVERRIDE, via setpriv)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import FaultyServer
from wheelmaker import wheel_bytes

from mamba_doctor.download.fetch import FetchRequest, fetch_files

NAME = "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
BODY = wheel_bytes("mamba_ssm", "2.2.2+cu118torch2.0cxx11abiFALSE",
                   tags="cp38-cp38-linux_x86_64", payload_size=100_000, seed=b"perm")
OTHER = "causal_conv1d-1.4.0+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
OTHER_BODY = wheel_bytes("causal_conv1d", "1.4.0+cu118torch2.0cxx11abiFALSE",
                         tags="cp38-cp38-linux_x86_64", payload_size=100_000, seed=b"perm2")
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (as on CI) to own files as another user")
# Without these two capabilities root is held to the permission bits like any user.
DROP = "-dac_override,-dac_read_search"


@pytest.fixture
def shared_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="md-perm-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_nobody(cache: Path, *args: str, umask: int = 0o022,
              drop: bool = True) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that permission bits apply to (files of uid 65534 are not its)."""
    env = {**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(cache), "HOME": str(cache.parent)}
    code = f"import os, sys; os.umask({umask}); from mamba_doctor.cli import main; " \
           "sys.argv = ['mamba-doctor', *sys.argv[1:]]; main()"
    prefix = ["setpriv", f"--bounding-set={DROP}", f"--inh-caps={DROP}"] if drop else []
    return subprocess.run([*prefix, sys.executable, "-c", code, *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=str(cache.parent))


def _give_away(root: Path, uid: int = NOBODY, gid: int = NOBODY) -> None:
    """Make every file and folder under `root` another user's, as that user would have left
    them under umask 022."""
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)
        path.chmod(0o755 if path.is_dir() else 0o644)


def _env_file(root: Path) -> Path:
    path = root / "env.json"
    path.write_text(json.dumps({"os": {"system": "Linux", "arch": "x86_64"}}))
    path.chmod(0o644)
    return path


def _populate(server: FaultyServer, cache: Path) -> str:
    url = server.add(f"/w/{NAME}", BODY)
    fetch_files([FetchRequest("mamba_ssm", NAME, url)], cache_dir=cache, allow_http=True)
    return url


def _fetch_args(env: Path, url: str) -> list[str]:
    return ["fetch-wheel", "--env", str(env), "--url", url, "--allow-http", "--json",
            "--retries", "0"]


def test_read_only_cache_serves_its_verified_wheel(server: FaultyServer,
                                                   shared_root: Path) -> None:
    cache = shared_root / "cache"
    url = _populate(server, cache)
    _give_away(cache)  # another user's cache: read-only for us
    hits = len(server.hits)
    done = as_nobody(cache, *_fetch_args(_env_file(shared_root), url))
    assert done.returncode == 0, done.stdout + done.stderr
    (d,) = json.loads(done.stdout)["data"]["downloads"]
    assert d["from_cache"] is True and d["path"] == str(cache / "wheels" / NAME)
    assert len(server.hits) == hits  # nothing downloaded


def test_read_only_cache_without_the_wheel_is_a_clear_exit_5(server: FaultyServer,
                                                             shared_root: Path) -> None:
    cache = shared_root / "cache"
    _populate(server, cache)
    _give_away(cache)
    url = server.add(f"/w/{OTHER}", OTHER_BODY)
    done = as_nobody(cache, *_fetch_args(_env_file(shared_root), url))
    assert done.returncode == 5, done.stdout + done.stderr
    err = json.loads(done.stdout)["errors"][0]
    assert err["code"] == "cache_not_writable"
    assert "MAMBA_DOCTOR_CACHE_DIR" in err["hint"]
    assert "bug" not in (err["message"] + err["hint"]).lower()


def test_shared_cache_written_by_another_user_works(server: FaultyServer,
                                                    shared_root: Path) -> None:
    cache = shared_root / "cache"
    _populate(server, cache)
    wheels = cache / "wheels"
    # the other user also left a half download of the second file, and its sidecar
    url = server.add(f"/w/{OTHER}", OTHER_BODY)
    (wheels / f"{OTHER}.part").write_bytes(OTHER_BODY[:5000])
    (wheels / f"{OTHER}.part.json").write_text(json.dumps(
        {"url": url, "validator": '"v1"', "size": len(OTHER_BODY), "resumable": True}))
    _give_away(cache, gid=os.getgid())  # their files (0644), in folders of our group...
    for path in [cache, wheels]:
        path.chmod(0o2775)  # ...that the group may write (chgrp + chmod g+ws: a shared cache)
    assert stat.S_IMODE((wheels / f"{NAME}.lock").stat().st_mode) == 0o644
    done = as_nobody(cache, *_fetch_args(_env_file(shared_root), url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (wheels / OTHER).read_bytes() == OTHER_BODY
    digests = json.loads((wheels / "digests.json").read_text())
    assert set(digests) == {NAME, OTHER}


def test_lock_files_are_group_writable_under_a_shared_umask(server: FaultyServer,
                                                            shared_root: Path) -> None:
    cache = shared_root / "cache"
    cache.mkdir()
    url = server.add(f"/w/{NAME}", BODY)
    done = as_nobody(cache, *_fetch_args(_env_file(shared_root), url), umask=0o002, drop=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for lock in (cache / "wheels").glob("*.lock"):
        assert stat.S_IMODE(lock.stat().st_mode) == 0o664, lock
