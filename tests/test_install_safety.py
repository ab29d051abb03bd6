"""What `install` refuses before pip runs, and what it says when pip's plan check fails: real
pip, temporary venvs holding a stand-in torch, no network."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from clirunner import CliRunner

from mamba_doctor.cli import app
from tests.installkit import freeze, mamba_wheel
from tests.test_install_pip import house, target, template, versions  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["install", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _site(python: Path) -> Path:
    return next(python.parent.parent.glob("lib/python3*/site-packages"))


def _replace_member(wheel: Path, member: str, text: str) -> Path:
    """The same wheel with one member's bytes changed after the build (RECORD left as it was)."""
    out = wheel.with_name("tampered") / wheel.name
    out.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, text if info.filename == member else src.read(info))
    return out


def test_wheel_with_a_replaced_module_is_refused(target: Path, house: Path) -> None:  # noqa: F811
    good = mamba_wheel(house / "in")
    evil = _replace_member(good, "mamba_ssm/__init__.py",
                           "import os\nos.system('touch /tmp/pwned-by-wheel')\n")
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(evil))
    assert code == 2, doc
    assert "does not verify" in doc["errors"][0]["message"]
    assert "RECORD" in doc["errors"][0]["message"]
    assert freeze(target) == before


def test_member_that_is_a_torch_file_is_refused(target: Path, house: Path) -> None:  # noqa: F811
    torch_version_py = _site(target) / "torch" / "version.py"
    original = torch_version_py.read_bytes()
    evil = mamba_wheel(house / "in", extra={"torch/version.py": "cuda = None\n"})
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(evil))
    assert code == 6, doc
    err = doc["errors"][0]["message"]
    assert "overwrite files of torch" in err and "torch/version.py" in err
    assert doc["data"]["collisions"][0]["owner"] == "torch"
    assert torch_version_py.read_bytes() == original and freeze(target) == before
    steps = {s["name"]: s["status"] for s in doc["data"]["steps"]}
    assert steps["check-file-collisions"] == "failed" and "install-wheels" not in steps


@pytest.mark.parametrize("script", ["python3", "pip"])
def test_console_script_named_like_the_interpreters_is_refused(
        target: Path, house: Path, script: str) -> None:  # noqa: F811
    evil = mamba_wheel(house / "in", entry_points=f"[console_scripts]\n{script} = mamba_ssm:x\n")
    before = freeze(target)
    python3 = target.parent / "python3"
    link = os.readlink(python3) if python3.is_symlink() else None
    code, doc = invoke("--python", str(target), "--wheel", str(evil))
    assert code == 6, doc
    assert f"entry point {script}" in doc["errors"][0]["message"]
    assert freeze(target) == before
    assert (os.readlink(python3) if python3.is_symlink() else None) == link


def test_a_broken_pip_is_not_called_a_torch_conflict(target: Path, house: Path) -> None:  # noqa: F811
    # A pip in the target's own site-packages that fails to import (shadowing the working one).
    broken = _site(target) / "pip"
    broken.mkdir()
    (broken / "__init__.py").write_text("__version__ = '24.0'\nraise ImportError('half-removed "
                                        "pip: cannot import pip._internal')\n")
    (broken / "__main__.py").write_text("import pip\n")
    code, doc = invoke("--python", str(target), "--wheel", str(mamba_wheel(house / "in")))
    assert code == 6, doc
    err = doc["errors"][0]
    assert "pip does not work" in err["message"] and "torch" not in err["message"]
    assert "ensurepip" in err["hint"]
    assert doc["data"]["dry_run_failure"] == "broken_installer"


def test_requires_python_is_not_called_a_torch_conflict(target: Path, house: Path) -> None:  # noqa: F811
    wheel = mamba_wheel(house / "in", requires_python=">=3.99")
    code, doc = invoke("--python", str(target), "--wheel", str(wheel))
    assert code == 6, doc
    err = doc["errors"][0]
    assert "do not support the target's Python" in err["message"]
    assert "torch==" not in err["message"]
    assert doc["data"]["dry_run_failure"] == "python"


def test_a_real_torch_conflict_is_still_said_so(target: Path, house: Path) -> None:  # noqa: F811
    code, doc = invoke("--python", str(target), "--wheel",
                       str(mamba_wheel(house / "in", requires=("torch>=99",))))
    assert code == 6
    assert "cannot be met without changing torch==2.4.0" in doc["errors"][0]["message"]
    assert doc["data"]["dry_run_failure"] in ("pin_conflict", "conflict")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def test_backup_writer_stays_in_the_backup_folder(target: Path, tmp_path: Path) -> None:  # noqa: F811
    from mamba_doctor.install.steps import StepLog, backup
    from mamba_doctor.probe.interpreter import Target

    site = _site(target)
    info = site / "evil-1.0.dist-info"
    info.mkdir()
    (site / "evil.py").write_text("x = 1\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ../../../../escaped\n"
                                   "Version: 1.0/../../x\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
    (info / "RECORD").write_text(_record_line("evil.py", b"x = 1\n")
                                 + "evil-1.0.dist-info/RECORD,,\n")
    dest = tmp_path / "runs" / "a" / "backups"
    saved = backup(Target(str(target)), ["evil"], dest, log=StepLog())
    assert Path(saved["evil"]).parent == dest
    assert sorted(p.name for p in dest.iterdir()) == [Path(saved["evil"]).name]
    assert [p.parent for p in tmp_path.rglob("escaped*")] == [dest]  # nothing outside


def test_markup_in_the_cache_path_prints_the_way_back_as_written(
        target: Path, house: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    cache = tmp_path / "[b]cache[/b]"
    monkeypatch.setenv("MAMBA_DOCTOR_CACHE_DIR", str(cache))
    old = mamba_wheel(house / "old", "2.2.0")
    subprocess.run([str(target), "-m", "pip", "install", "-q", "--no-deps", str(old)], check=True)
    result = CliRunner().invoke(app, ["install", "--python", str(target), "--wheel",
                                      str(mamba_wheel(house / "in"))])
    assert result.exit_code == 0, result.output
    flat = "".join(result.stdout.split())  # the panel may wrap the long line
    assert "[b]cache[/b]/runs/" in flat
    assert versions(target)["mamba_ssm"].startswith("2.3.2")
