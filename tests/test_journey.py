"""The seed user's journey, end to end: a conda-style Python 3.8 env with torch 2.0.0+cu118
(ABI FALSE) on a server without internet; a laptop with network.

    server$  mamba-doctor check --json > server.json
    laptop$  mamba-doctor plan --env server.json --python-version 3.8
    laptop$  mamba-doctor bundle --env server.json --dest bundle     (PEP 503 index + release
                                                                      mirror on 127.0.0.1)
    server$  python3 mamba-doctor.pyz install --bundle bundle        (PIP_NO_INDEX=1)

Real pip and real venvs throughout; torch is a stand-in wheel (tests/journeykit.py) because the
real one cannot be installed here. The pair and its dependencies must arrive, torch must stay
byte for byte what it was, and the verification step must run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest
from clirunner import CliRunner
from journeykit import (
    CAUSAL,
    MAMBA,
    TORCH,
    dependency_wheels,
    numpy_wheel,
    release_assets,
    torch_wheel,
)
from pypi_index import serve_index, serve_releases
from pythons import find_python

from mamba_doctor.cli import app

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def py38() -> str:
    found = find_python("3.8")
    if found is None:
        if os.environ.get("REQUIRE_ZIPAPP"):
            pytest.fail("no Python 3.8 on this machine")
        pytest.skip("no Python 3.8 on this machine")
    return found


def _server_env(py38: str, root: Path) -> Path:
    """conda-style env: Python 3.8 (its own pip 23), the stand-in torch, numpy."""
    prefix = root / "envs" / "stm"
    subprocess.run([py38, "-m", "venv", str(prefix)], check=True, timeout=300)
    (prefix / "conda-meta").mkdir()
    python = prefix / "bin" / "python"
    house = root / "server-house"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    str(torch_wheel(house)), str(numpy_wheel(house))], check=True, timeout=300)
    return python


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _torch_files(python: Path) -> str:
    site = next(python.parent.parent.glob("lib/python3.8/site-packages"))
    return _tree_digest(site / "torch") + _tree_digest(site / f"torch-{TORCH}.dist-info")


def _invoke(*args: str, env: Optional[dict] = None) -> tuple[int, dict]:
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def test_offline_server_journey(py38: str, tmp_path: Path, server, quiet_pip: None,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    python = _server_env(py38, tmp_path)
    torch_before = _torch_files(python)

    # server: check, saved for the laptop; it records what pip needs to bundle for it
    code, doc = _invoke("check", "--python", str(python))
    assert code in (0, 3), doc
    env = doc["data"]["environment"]
    assert env["python"]["version"].startswith("3.8.")
    assert (env["torch"]["version"], env["torch"]["cuda"], env["torch"]["cxx11abi"]) == (
        TORCH, "11.8", False)
    assert env["distributions"]["torch"] == TORCH and "numpy" in env["distributions"]
    assert "cp38" in env["python"]["supported_abis"]
    assert "linux_x86_64" in env["python"]["supported_platforms"]
    server_json = tmp_path / "server.json"
    server_json.write_text(json.dumps(doc))

    # laptop: what a fresh environment for that server would be, on its Python 3.8
    code, doc = _invoke("plan", "--env", str(server_json), "--python-version", "3.8")
    assert code == 0, doc
    stack = doc["data"]["stack"]
    assert stack["python"] == "3.8" and stack["torch"]["minor"] in ("2.0", "2.1", "2.2", "2.3",
                                                                    "2.4")
    assert stack["mamba_ssm"]["filename"].endswith("-cp38-cp38-linux_x86_64.whl")

    # laptop: the bundle, from a PyPI-style index and a release mirror on 127.0.0.1
    assets = release_assets(tmp_path / "assets")
    deps, requires_python = dependency_wheels(tmp_path / "deps")
    mirror = serve_releases(server, assets)
    index = serve_index(server, deps, requires_python=requires_python)
    bundle = tmp_path / "bundle"
    pyz = _zipapp_if_built(tmp_path)
    code, doc = _invoke("bundle", "--env", str(server_json), "--dest", str(bundle),
                        "--mirror", mirror, "--index-url", index, "--allow-http",
                        *(["--zipapp", str(pyz)] if pyz else ["--no-zipapp"]))
    assert code == 0, doc
    roles = {f["file"]: f["role"] for f in doc["data"]["files"]}
    assert sorted(r for r in roles.values() if r != "zipapp") == [
        "causal_conv1d", "dependency", "dependency", "dependency", "mamba_ssm"]
    assert not any(name.startswith(("torch", "numpy")) for name in roles)

    # server, no network: install from the bundle alone
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    server.close()  # nothing left to reach
    if pyz is not None:  # the bundle's own zipapp, on the server's Python 3.8
        done = subprocess.run([py38, str(bundle / "mamba-doctor.pyz"), "install", "--bundle",
                               str(bundle), "--python", str(python), "--json"],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(tmp_path / "c")})
        code, doc = done.returncode, json.loads(done.stdout)
    else:
        code, doc = _invoke("install", "--bundle", str(bundle), "--python", str(python))
    assert code == 0, doc
    data = doc["data"]
    assert data["installed"]["mamba-ssm"] == f"{MAMBA}+cu118torch2.0cxx11abiFALSE"
    assert data["installed"]["causal-conv1d"] == f"{CAUSAL}+cu118torch2.0cxx11abiFALSE"
    assert {"einops", "importlib-metadata", "zipp"} <= set(data["installed"])
    assert data["pins"]["torch"] == TORCH
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["verify-bundle"]["status"] == "ok" and steps["verify"]["status"] == "ok"
    assert "--no-index" in steps["check-dependencies"]["command"]
    assert data["verification"]["modules"]["selective_scan_cuda"]["ok"] is True
    assert _torch_files(python) == torch_before  # torch untouched, byte for byte
    freeze = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout
    assert f"torch=={TORCH}" in freeze and "einops==0.8.0" in freeze

    # a bundle missing a dependency: named as such, never blamed on torch
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    _drop_from_bundle(broken, "einops-0.8.0-py3-none-any.whl")
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "einops"], check=True)
    code, doc = _invoke("install", "--bundle", str(broken), "--python", str(python))
    assert code == 6
    message = doc["errors"][0]["message"]
    assert message.startswith("einops is not in the bundle and there is no index")
    assert "torch" not in message
    assert _torch_files(python) == torch_before


def _drop_from_bundle(folder: Path, name: str) -> None:
    (folder / name).unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["file"] != name]
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _zipapp_if_built(tmp_path: Path) -> Optional[Path]:
    """mamba-doctor.pyz from the pinned wheels in build/zipapp-wheels (CI fetches them first)."""
    from mamba_doctor.bundle.zipapp import build_zipapp, wheels_for_pins
    from mamba_doctor.errors import DoctorError

    try:
        wheels = wheels_for_pins(ROOT / "build" / "zipapp-wheels")
    except DoctorError:
        if os.environ.get("REQUIRE_ZIPAPP"):
            raise
        return None
    return build_zipapp(tmp_path / "pyz" / "mamba-doctor.pyz", wheels,
                        package_dir=ROOT / "mamba_doctor", index_dir=ROOT / "wheels_index").path
