"""Ctrl-C and SIGTERM sent to a real `install` process at the backup and pip steps: torch stays
byte-identical, mamba-ssm is either the old version intact or the new one complete, and the way
back is reported. A stand-in torch in a real venv; a large local wheel widens the windows."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.installkit import clone_venv, create_venv, mamba_wheel, pip_home

pytestmark = pytest.mark.slow

OLD, NEW = "2.2.0", "2.3.2"
LABEL = "cu12torch2.4cxx11abiTRUE"
FILES = 400  # members of the big wheels: pip copies them one by one
CHILD = ("import sys; from mamba_doctor.cli import main; "
         "sys.argv = ['mamba-doctor', *sys.argv[1:]]; main()")


def _big(version: str) -> dict[str, str]:
    blob = hashlib.sha256(version.encode()).hexdigest() * 250  # ~16 KB each, per version
    return {f"mamba_ssm/kernels/k{i:04d}.py": f"# {i}\nDATA = '{blob}'\n" for i in range(FILES)}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("interrupts")
    house = root / "house"
    old = mamba_wheel(house / "old", OLD, requires=("torch",), extra=_big(OLD))
    new = mamba_wheel(house / "new", NEW, requires=("torch",), extra=_big(NEW))
    venv = root / "venv"
    python = create_venv(venv, house, pip_dir=pip_home(root / "pip"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(old)], check=True)
    return {"template": venv, "new": new, "house": house}


@pytest.fixture
def offline(kit: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(kit["house"]))


def _start(python: Path, wheel: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, "install", "--python", str(python),
                             "--wheel", str(wheel), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _record_ok(python: Path, name: str) -> tuple[str, int]:
    """(version, files checked) of `name` in the target; asserts every RECORD hash matches."""
    code = r'''
import base64, hashlib, json, sys
from importlib import metadata
dist = metadata.distribution(sys.argv[1])
bad, n = [], 0
for f in dist.files:
    if f.hash is None:
        continue
    n += 1
    data = open(f.locate(), "rb").read()
    got = base64.urlsafe_b64encode(hashlib.new(f.hash.mode, data).digest()).rstrip(b"=")
    if got.decode() != f.hash.value or (f.size is not None and f.size != len(data)):
        bad.append(str(f))
print(json.dumps({"version": dist.version, "bad": bad, "checked": n}))
'''
    out = subprocess.run([str(python), "-c", code, name], capture_output=True, text=True,
                         check=True)
    doc = json.loads(out.stdout)
    assert doc["bad"] == [], f"{name}: files differ from RECORD: {doc['bad'][:5]}"
    return doc["version"], doc["checked"]


def _leftover_files(python: Path) -> list[str]:
    """mamba_ssm files on disk that no installed RECORD lists (a half-written install)."""
    code = r'''
import json, os, sys
from importlib import metadata
site = [p for p in sys.path if p.endswith("site-packages")][0]
listed = {os.path.realpath(str(f.locate())) for f in metadata.distribution("mamba_ssm").files}
out = []
for base, _dirs, files in os.walk(os.path.join(site, "mamba_ssm")):
    for f in files:
        full = os.path.realpath(os.path.join(base, f))
        if full not in listed and "__pycache__" not in full:
            out.append(full)
print(json.dumps(out))
'''
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _check_outcome(python: Path, proc: subprocess.Popen[str], out: str, err: str,
                   torch_before: tuple[str, int]) -> dict:
    """The invariants, every time; returns what happened for the caller's own checks."""
    if proc.returncode in (-signal.SIGINT, -signal.SIGTERM):
        # The signal came after the command was done, while the interpreter was shutting down
        # (its handlers are gone by then): the install itself had finished.
        assert _record_ok(python, "torch") == torch_before
        version, _n = _record_ok(python, "mamba_ssm")
        assert version == f"{NEW}+{LABEL}" and _leftover_files(python) == []
        return {"version": version, "code": 0, "pip": False, "steps": []}
    assert proc.returncode in (0, 130, 143), err  # 143: SIGTERM's own exit code
    doc = json.loads(out)
    data = doc["data"]
    for key in ("previous", "installed", "restore", "backups"):
        assert key in data, key
    assert _record_ok(python, "torch") == torch_before  # byte-identical, every RECORD hash
    version, _n = _record_ok(python, "mamba_ssm")  # complete, whichever version it is
    assert version in (f"{OLD}+{LABEL}", f"{NEW}+{LABEL}")
    assert _leftover_files(python) == []
    backups = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "runs"
    assert list(backups.rglob("*.partial")) == []
    interrupted_pip = any("interrupted" in (s.get("detail") or "") for s in data["steps"]
                          if s["name"] == "install-wheels")
    if proc.returncode in (130, 143):
        assert doc["errors"][0]["code"] == "interrupted"
        if version.startswith(NEW):  # changed: the way back must be there
            assert data["restore"] and "To go back" in doc["errors"][0]["hint"]
            assert data["previous"]["mamba-ssm"] == f"{OLD}+{LABEL}"
            assert data["backups"]["mamba-ssm"].endswith(".whl")
            assert Path(data["backups"]["mamba-ssm"]).is_file()
        else:
            assert "nothing was changed" in doc["errors"][0]["message"]
    return {"version": version, "code": proc.returncode, "pip": interrupted_pip,
            "steps": [s["name"] for s in data["steps"]]}


def _when(predicate: Callable[[], bool], proc: subprocess.Popen[str],
          timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never reached the point to interrupt at"
        time.sleep(0.005)


def _new_files_appear(python: Path) -> Callable[[], bool]:
    site = next(python.parent.parent.glob("lib/python3*/site-packages"))
    marker = site / "mamba_ssm" / "kernels" / "k0000.py"
    new_blob = hashlib.sha256(NEW.encode()).hexdigest()  # only the new version's files hold it
    return lambda: marker.is_file() and new_blob in marker.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_pip_writes_lets_it_finish_and_reports_the_way_back(
        kit: dict[str, Path], offline: None, tmp_path: Path, sig: signal.Signals) -> None:
    python = clone_venv(kit["template"], tmp_path / "venv")
    torch_before = _record_ok(python, "torch")
    proc = _start(python, kit["new"])
    _when(_new_files_appear(python), proc)  # pip is writing the new files now
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    got = _check_outcome(python, proc, out, err, torch_before)
    code = 130 if sig == signal.SIGINT else 143
    assert got == {**got, "code": code, "version": f"{NEW}+{LABEL}", "pip": True}
    assert "letting" in err and "finish" in err


def test_interrupt_during_the_backup_changes_nothing(kit: dict[str, Path], offline: None,
                                                     tmp_path: Path) -> None:
    python = clone_venv(kit["template"], tmp_path / "venv")
    torch_before = _record_ok(python, "torch")
    runs = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "runs"
    proc = _start(python, kit["new"])
    _when(lambda: any(runs.rglob("*.partial")), proc)  # the backup zip is being written
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    got = _check_outcome(python, proc, out, err, torch_before)
    assert (got["code"], got["version"]) == (130, f"{OLD}+{LABEL}")
    assert "install-wheels" not in got["steps"]


def test_sweep_of_interrupts_across_backup_and_pip(kit: dict[str, Path], offline: None,
                                                   tmp_path: Path) -> None:
    """Calibrate once, then send SIGINT and SIGTERM at offsets spread over the backup and pip
    steps, counted from the moment the backup zip appears. Every run must hold the invariants,
    wherever the signal lands."""
    runs = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "runs"
    python = clone_venv(kit["template"], tmp_path / "calib")
    torch_before = _record_ok(python, "torch")
    proc = _start(python, kit["new"])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    durations = {s["name"]: s["duration"] for s in json.loads(out)["data"]["steps"]}
    backup, pip = durations["backup-previous"], durations["install-wheels"]
    offsets = [0.0, backup + 0.3 * pip, backup + 0.75 * pip]
    outcomes = []
    for i, offset in enumerate(offsets):
        for sig in (signal.SIGINT, signal.SIGTERM):
            target = clone_venv(kit["template"], tmp_path / f"v{i}{sig.name}")
            before = set(runs.rglob("*.partial"))
            proc = _start(target, kit["new"])
            _when(lambda before=before: bool(set(runs.rglob("*.partial")) - before), proc)
            time.sleep(offset)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=300)
            got = _check_outcome(target, proc, out, err, torch_before)
            where = "pip" if got["pip"] else "backup" if got["version"].startswith(OLD) \
                else "after pip"
            outcomes.append((round(offset, 2), sig.name, got["code"], got["version"][:5], where))
    summary = (f"backup {durations['backup-previous']:.2f}s, pip "
               f"{durations['install-wheels']:.2f}s; sweep (offset s, signal, exit, version, "
               "hit):")
    print("\n" + summary, *outcomes, sep="\n  ")  # noqa: T201 (the sweep's figures, with -s)
    # The invariants held in every run (_check_outcome); on a loaded machine a late signal may
    # land after pip (exit 0), but the early ones always interrupt.
    assert len(outcomes) == 6 and (outcomes[0][2], outcomes[1][2]) == (130, 143)
