"""The single-file zipapp: data read from inside an archive, and mamba-doctor.pyz itself run on
Python 3.8 and on the newest Python here, with nothing installed in either.

The archive is built from the pinned dependency wheels in build/zipapp-wheels (fetched once by
`python3 scripts/build-zipapp.py`; CI runs that before the suite and sets REQUIRE_ZIPAPP=1, so
that a missing build fails there instead of skipping).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pythons import find_python, newest_python

from mamba_doctor._resources import enclosing_archive, is_file, read_bytes, zipapp_archive
from mamba_doctor.bundle.zipapp import PINS, build_zipapp, pip_download_argv, wheels_for_pins
from mamba_doctor.errors import DoctorError

ROOT = Path(__file__).resolve().parent.parent
WHEELS = ROOT / "build" / "zipapp-wheels"
LOG = ROOT / "tests" / "fixtures" / "logs" / "cxx11-abi-mismatch.txt"


def test_read_bytes_and_is_file_reach_into_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "app.pyz"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/data/x.json", b'{"a": 1}')
    inside = archive / "pkg" / "data" / "x.json"
    assert enclosing_archive(inside) == archive
    assert read_bytes(inside) == b'{"a": 1}' and is_file(inside)
    assert not is_file(archive / "pkg" / "data" / "nope.json")
    with pytest.raises(FileNotFoundError):
        read_bytes(archive / "pkg" / "nope.json")
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"on disk")
    assert read_bytes(plain) == b"on disk" and enclosing_archive(plain) is None
    with pytest.raises(FileNotFoundError):  # not in an archive: the ordinary error
        read_bytes(tmp_path / "missing.txt")
    assert zipapp_archive(environ={}) is None  # this test run is not a zipapp


def test_pip_download_asks_for_pure_wheels_for_python_38(tmp_path: Path) -> None:
    argv = pip_download_argv("/py", tmp_path, index_url="https://mirror.example/simple")
    text = " ".join(argv)
    assert "--only-binary=:all: --platform any --implementation py --abi none" in text
    assert "--python-version 3.8" in text and "--no-deps" in text
    assert argv[-len(PINS):] == list(PINS) and "--index-url https://mirror.example/simple" in text


def test_missing_pinned_wheels_are_named(tmp_path: Path) -> None:
    (tmp_path / "typer-0.20.1-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(DoctorError) as info:
        wheels_for_pins(tmp_path)
    assert "click==8.1.8" in info.value.message and "typer==" not in info.value.message


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        wheels = wheels_for_pins(WHEELS)
    except DoctorError as exc:
        if os.environ.get("REQUIRE_ZIPAPP"):
            raise
        pytest.skip(f"{exc.message} (python3 scripts/build-zipapp.py fetches them)")
    out = tmp_path_factory.mktemp("pyz") / "mamba-doctor.pyz"
    build_zipapp(out, wheels, package_dir=ROOT / "mamba_doctor", index_dir=ROOT / "wheels_index")
    return out


def _python(version: str) -> str:
    found = find_python(version) if version != "newest" else newest_python()
    if found is None:
        if os.environ.get("REQUIRE_ZIPAPP"):
            pytest.fail(f"no Python {version} on this machine")
        pytest.skip(f"no Python {version} on this machine")
    return found


def _run(python: str, pyz: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # -s: not even the user's site-packages; a pyenv base interpreter has nothing but pip
    return subprocess.run([python, "-s", str(pyz), *args], capture_output=True, text=True,
                          timeout=180, env=env, cwd=str(pyz.parent))


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.8", "newest"])
def test_zipapp_check_and_explain_run_with_nothing_installed(pyz: Path, version: str,
                                                             tmp_path: Path) -> None:
    python = _python(version)
    bare = subprocess.run([python, "-s", "-c", "import typer"], capture_output=True)
    assert bare.returncode != 0  # the interpreter itself has no typer: the archive brings it
    cache = tmp_path / "cache"
    env = {**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(cache)}
    env.pop("VIRTUAL_ENV", None)
    env.pop("CONDA_PREFIX", None)
    done = _run(python, pyz, "check", "--json", "--python", python, env=env)
    assert done.returncode in (0, 3), done.stderr
    doc = json.loads(done.stdout)
    # the wheel index was read: resolutions exist (for a target without torch: none fits)
    assert [r["package"] for r in doc["data"]["resolution"]["resolutions"]] == [
        "mamba_ssm", "causal_conv1d"]
    unpacked = list((cache / "zipapp").glob("*/.compiled-*"))
    assert len(unpacked) == 1, "the first run unpacks and compiles the archive once"
    # in place (an unwritable cache): the knowledge base comes out of the zip itself
    env["MAMBA_DOCTOR_CACHE_DIR"] = str(tmp_path / "other-cache")
    env["MAMBA_DOCTOR_ZIPAPP_IN_PLACE"] = "1"
    done = _run(python, pyz, "explain", "--no-probe", "--json", str(LOG), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["diagnoses"][0]["id"] == "cxx11-abi-mismatch"
    assert not (tmp_path / "other-cache" / "zipapp").exists()
    version_out = _run(python, pyz, "--version", env=env)
    assert version_out.stdout.startswith("mamba-doctor ")


def test_smoke_child_files_are_staged_from_inside_the_archive(pyz: Path, tmp_path: Path) -> None:
    """smoke copies block/ and smoke/child/ out of the package: from the zip too, byte for byte."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from mamba_doctor.smoke.runner import stage_child_package; "
            "import mamba_doctor; print(mamba_doctor.__file__); "
            "stage_child_package(Path(sys.argv[2]))")
    done = subprocess.run([sys.executable, "-c", code, str(pyz), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert str(pyz) in done.stdout  # imported from the archive, not from this checkout
    from mamba_doctor.smoke.runner import CHILD_FILES, CHILD_PACKAGE

    for name in CHILD_FILES:
        staged = tmp_path / CHILD_PACKAGE / name
        assert staged.read_bytes() == (ROOT / "mamba_doctor" / name).read_bytes(), name
