"""`mamba-doctor bundle`: the pair, the dependencies a Python 3.8 server lacks (resolved by real
pip against a PEP 503 index on 127.0.0.1), the manifest; and pip's refusals explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner
from journeykit import TORCH, dependency_wheels, release_assets
from pypi_index import serve_index, serve_releases
from wheel_envs import make_env

from mamba_doctor.bundle.pip_resolve import derive_platforms, marker_environment, server_tags
from mamba_doctor.cli import app
from mamba_doctor.install.manifest import MANIFEST, read_manifest, verify_files
from mamba_doctor.install.pip_failure import explain_plan_failure
from mamba_doctor.models import Environment

ROOT = Path(__file__).resolve().parent.parent


def _server() -> Environment:
    """The seed's server: Python 3.8, torch 2.0.0+cu118 (ABI FALSE), numpy already there."""
    from dataclasses import replace

    env = make_env(python="3.8", torch=TORCH, cuda="11.8", abi=False, glibc="2.31",
                   gpus=["a100"], driver_cuda="12.4")
    python = replace(env.python, version="3.8.18", executable="/srv/conda/envs/stm/bin/python")
    return replace(env, python=python, distributions={"torch": TORCH, "numpy": "1.24.4",
                                                      "pip": "23.0.1"})


def test_markers_and_tags_are_the_servers() -> None:
    env = _server()
    markers = marker_environment(env)
    assert markers["python_version"] == "3.8" and markers["python_full_version"] == "3.8.18"
    assert markers["platform_machine"] == "x86_64" and markers["sys_platform"] == "linux"
    plats, abis = server_tags(env)  # no recorded tags: derived from glibc 2.31
    assert plats[0] == "manylinux_2_31_x86_64" and plats[-1] == "linux_x86_64"
    assert "manylinux2014_x86_64" in plats and abis == ["cp38", "abi3", "none"]


def test_derived_platforms_match_what_pip_computes_here() -> None:
    """Held-out reference: pip's own tag list for this machine (as `check --json` records it)."""
    code = ("from pip._vendor.packaging import tags; import json; seen = []\n"
            "[seen.append(t.platform) for t in tags.sys_tags() if t.platform not in seen]\n"
            "import platform; print(json.dumps([seen, platform.libc_ver()[1]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    seen, glibc = json.loads(done.stdout)
    linux = [p for p in seen if p.startswith("linux_")]
    if not glibc or not linux:
        pytest.skip("not a glibc Linux")
    derived = derive_platforms(glibc, linux[0].split("_", 1)[1])
    assert set(derived) == set(seen) - {"any"} and len(derived) == len(set(derived))


def test_pip_refusals_are_explained_in_pips_words(tmp_path: Path, quiet_pip: None) -> None:
    from installkit import make_wheel

    links = tmp_path / "links"
    make_wheel(links, "aaa", "1.0", {"aaa/__init__.py": ""}, requires=("einops<0.5",))
    make_wheel(links, "bbb", "1.0", {"bbb/__init__.py": ""}, requires=("einops>0.7",))
    make_wheel(links, "ccc", "1.0", {"ccc/__init__.py": ""}, requires=("einops",))
    for v in ("0.4.0", "0.8.0"):
        make_wheel(links, "einops", v, {"einops/__init__.py": ""})
    (links / "einops-0.8.0-py3-none-any.whl").rename(tmp_path / "gone.whl")

    def pip(*reqs: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run",
                               "--no-index", "--find-links", str(links), *reqs],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        return done.stderr + done.stdout

    pins = {"torch": "2.0.0+cu118"}
    message, hint = explain_plan_failure(pip("aaa", "bbb"), pins, offline=True, bundle=True)
    assert message.startswith("pip cannot find versions that fit together")
    assert "The conflict is caused by:" in hint and "bbb 1.0 depends on einops>0.7" in hint
    assert "torch" not in message  # never blamed on torch when pip does not name it
    (links / "einops-0.4.0-py3-none-any.whl").unlink()
    message, _ = explain_plan_failure(pip("ccc"), pins, offline=True, bundle=True)
    assert message == "einops is not in the bundle and there is no index; nothing was changed"


@pytest.mark.slow
def test_bundle_holds_what_a_python38_server_lacks_and_resumes(
        tmp_path: Path, server, quiet_pip: None) -> None:
    assets = release_assets(tmp_path / "assets")
    deps, requires_python = dependency_wheels(tmp_path / "deps")
    mirror = serve_releases(server, assets)
    index = serve_index(server, deps, requires_python=requires_python)
    env_file = tmp_path / "server.json"
    env_file.write_text(json.dumps({"data": {"environment": _server().to_dict()}}))
    dest = tmp_path / "bundle"
    argv = ["bundle", "--env", str(env_file), "--dest", str(dest), "--mirror", mirror,
            "--index-url", index, "--allow-http", "--no-zipapp", "--json"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    files = {f["file"]: f for f in doc["data"]["files"]}
    assert set(files) == {a.name for a in assets} | {
        "einops-0.8.0-py3-none-any.whl",  # 0.9.0 needs Python 3.9
        "importlib_metadata-8.0.0-py3-none-any.whl",  # only for Python < 3.10: the server's
        "zipp-3.20.0-py3-none-any.whl"}  # numpy and torch are on the server already
    assert files["einops-0.8.0-py3-none-any.whl"]["why"] == "needed by mamba_ssm"
    assert files["zipp-3.20.0-py3-none-any.whl"]["why"] == "needed by importlib_metadata"
    assert {f["role"] for f in files.values()} == {"mamba_ssm", "causal_conv1d", "dependency"}
    manifest = read_manifest(dest)
    assert verify_files(dest, manifest.entries) == []
    assert manifest.target["constraints"] == [f"torch=={TORCH}"]
    assert doc["data"]["install_command"] == (
        "mamba-doctor install --bundle . --python /srv/conda/envs/stm/bin/python")
    assert "install --bundle" in (dest / "INSTALL.txt").read_text()
    def ours() -> list:  # pip <= 25.0 also downloads each dependency during its dry run
        return sorted(h.path for h in server.hits if h.path.endswith(".whl")
                      and h.headers.get("User-Agent", "").startswith("mamba-doctor/"))

    fetched = ours()
    assert len(fetched) == len(files)  # each file once
    # interrupted and run again (a file lost): only that file travels again
    (dest / "zipp-3.20.0-py3-none-any.whl").unlink()
    (dest / MANIFEST).unlink()
    again = CliRunner().invoke(app, argv)
    assert again.exit_code == 0, again.output
    assert verify_files(dest, read_manifest(dest).entries) == []
    assert ours() == fetched  # from the verified cache: nothing downloaded twice


def test_bundle_without_torch_on_the_server_says_so(tmp_path: Path) -> None:
    env = make_env(python="3.8", torch_installed=False)
    env_file = tmp_path / "server.json"
    env_file.write_text(json.dumps(env.to_dict()))
    result = CliRunner().invoke(app, ["bundle", "--env", str(env_file), "--dest",
                                      str(tmp_path / "b"), "--json"])
    assert result.exit_code == 2
    assert "no torch" in json.loads(result.stdout)["errors"][0]["message"]


@pytest.mark.slow
def test_bundle_builds_its_zipapp_when_not_run_from_one(tmp_path: Path, server,
                                                        quiet_pip: None) -> None:
    """Run from an installed package, bundle makes mamba-doctor.pyz itself: the pinned wheels
    come through pip (here from a --find-links folder), and the archive runs."""
    wheels = ROOT / "build" / "zipapp-wheels"
    if not wheels.is_dir():
        if os.environ.get("REQUIRE_ZIPAPP"):
            pytest.fail(f"{wheels} is missing (python3 scripts/build-zipapp.py)")
        pytest.skip(f"{wheels} is missing (python3 scripts/build-zipapp.py fetches it)")
    assets = release_assets(tmp_path / "assets")
    deps, requires_python = dependency_wheels(tmp_path / "deps")
    mirror = serve_releases(server, assets)
    index = serve_index(server, deps, requires_python=requires_python)
    env_file = tmp_path / "server.json"
    env_file.write_text(json.dumps(_server().to_dict()))
    dest = tmp_path / "bundle"
    result = CliRunner().invoke(app, [
        "bundle", "--env", str(env_file), "--dest", str(dest), "--mirror", mirror,
        "--index-url", index, "--find-links", str(wheels), "--allow-http", "--json"])
    assert result.exit_code == 0, result.output
    roles = {f["role"]: f for f in json.loads(result.stdout)["data"]["files"]}
    assert roles["zipapp"]["file"] == "mamba-doctor.pyz"
    done = subprocess.run([sys.executable, "-s", str(dest / "mamba-doctor.pyz"), "--version"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MAMBA_DOCTOR_ZIPAPP_IN_PLACE": "1"})
    assert done.returncode == 0 and done.stdout.startswith("mamba-doctor "), done.stderr


def test_a_pip_too_old_for_dry_run_with_platform_is_named(tmp_path: Path) -> None:
    from mamba_doctor.bundle.pip_resolve import find_pip
    from mamba_doctor.errors import UsageError

    old = tmp_path / "python"
    old.write_text(f"#!/bin/sh\necho {tmp_path}/pip\necho 23.0.1\n")
    old.chmod(0o755)
    with pytest.raises(UsageError) as info:
        find_pip([str(old)])
    assert "pip 23.0.1 is older than 23.3" in info.value.message
    assert find_pip([str(old), sys.executable]).python == sys.executable  # the next one
