"""Pure parts of `install`: pip/uv argv and plans, wheel tags, the way back, verify output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner

from mamba_doctor import _run
from mamba_doctor.cli import app
from mamba_doctor.errors import InstallFailed, UsageError
from mamba_doctor.install.import_check import VERIFY_SNIPPET, parse_verify_output
from mamba_doctor.install.pipeline import InstallOptions, install
from mamba_doctor.install.plan import (
    Installer,
    PlannedInstall,
    constraints_text,
    dependency_targets,
    dry_run_argv,
    install_argv,
    parse_keep,
    parse_pip_report,
    parse_uv_dry_run,
    pip_supports_report,
    protected_changes,
    render_argv,
    restore_argvs,
)
from mamba_doctor.install.sources import user_wheels, wheel_misfits
from mamba_doctor.install.steps import StepLog, choose_installer
from mamba_doctor.models import Environment, PythonInfo, TorchInfo
from mamba_doctor.probe.interpreter import Target

PIP = Installer("pip", Target("/env/bin/python"))
UV = Installer("uv", Target("/env/bin/python"), uv="/usr/bin/uv")

# Recorded from uv 0.13.9 (`uv pip install --dry-run`) on this machine's test wheels.
UV_PLAN_UPGRADING_TORCH = """Using Python 3.11.7 environment at: v
Resolved 3 packages in 17ms
Would download 3 packages
Would uninstall 1 package
Would install 3 packages
 + einops==0.8.0
 + mamba-ssm @ file:///tmp/uvt/in/mamba_ssm-2.3.2+cu12torch2.4cxx11abiTRUE-cp311-cp311-linux_x86_64.whl
 - torch==2.4.0 (from file:///tmp/uvt/house/torch-2.4.0-py3-none-any.whl)
 + torch==99.0.0
"""


def test_argv_for_pip_and_uv() -> None:
    assert dry_run_argv(PIP, ["a.whl"], constraint="c.txt", report="r.json") == (
        "/env/bin/python", "-m", "pip", "install", "--dry-run", "--report", "r.json",
        "--constraint", "c.txt", "a.whl")
    assert dry_run_argv(UV, ["a.whl"], constraint="c.txt", report="r.json")[:6] == (
        "/usr/bin/uv", "pip", "install", "--python", "/env/bin/python", "--dry-run")
    assert install_argv(PIP, ["a.whl"], force_reinstall=True) == (
        "/env/bin/python", "-m", "pip", "install", "--no-deps", "--force-reinstall", "a.whl")
    assert constraints_text({"torch": "2.4.0", "einops": "0.7"}) == "einops==0.7\ntorch==2.4.0\n"
    assert render_argv(("p", "a b")) == "p 'a b'"
    assert parse_keep(["NumPy", "triton==3.1", "numpy"]) == ("numpy", "triton")
    with pytest.raises(ValueError):
        parse_keep(["../x"])


def test_pip_report_and_protected_changes() -> None:
    doc = {"version": "1", "install": [
        {"metadata": {"name": "mamba_ssm", "version": "2.3.2"}, "requested": True,
         "download_info": {"url": "file:///w/mamba_ssm.whl"}},
        {"metadata": {"name": "Torch", "version": "99.0.0"}, "requested": False},
        {"metadata": {"name": "einops", "version": "0.8.0"}},
    ]}
    plan = parse_pip_report(json.dumps(doc))
    assert plan[1] == PlannedInstall("torch", "99.0.0")
    assert protected_changes(plan, {"torch": "2.4.0"}) == ("torch would change: 2.4.0 -> 99.0.0",)
    assert protected_changes(plan, {"torch": "99.0"}) == ()  # same version, spelled differently
    assert dependency_targets(plan, ["mamba_ssm"]) == ("torch==99.0.0", "einops==0.8.0")
    with pytest.raises(ValueError):
        parse_pip_report("{}")
    assert pip_supports_report("22.2") and not pip_supports_report("21.3.1")


def test_uv_plan_parsing() -> None:
    plan = parse_uv_dry_run(UV_PLAN_UPGRADING_TORCH, local_names=["mamba_ssm"])
    assert [(p.name, p.version, p.requested) for p in plan] == [
        ("einops", "0.8.0", False), ("mamba-ssm", "2.3.2+cu12torch2.4cxx11abiTRUE", True),
        ("torch", "99.0.0", False)]
    assert protected_changes(plan, {"torch": "2.4.0"})


def test_way_back_commands() -> None:
    previous = {"mamba-ssm": "2.2.0", "einops": None, "triton": "3.1.0"}
    argvs = restore_argvs(PIP, previous, ["mamba-ssm", "einops", "triton"],
                          {"mamba-ssm": "/c/backups/mamba_ssm-2.2.0-cp311-cp311-linux_x86_64.whl"})
    assert [render_argv(a) for a in argvs] == [
        "/env/bin/python -m pip uninstall -y einops",
        "/env/bin/python -m pip install --no-deps --force-reinstall "
        "/c/backups/mamba_ssm-2.2.0-cp311-cp311-linux_x86_64.whl",
        "/env/bin/python -m pip install --no-deps --no-build-isolation triton==3.1.0",
    ]
    assert restore_argvs(UV, {"x": None}, ["x"]) == (
        ("/usr/bin/uv", "pip", "uninstall", "--python", "/env/bin/python", "x"),)


def _with_pip(version: str | None) -> Target:
    return Target("/p", env=Environment(python=PythonInfo(pip_version=version)))


def test_installer_choice() -> None:
    assert choose_installer(_with_pip("24.0"), which=lambda _n: None).kind == "pip"
    assert choose_installer(_with_pip(None), which=lambda _n: "/bin/uv") == Installer(
        "uv", _with_pip(None), uv="/bin/uv")
    with pytest.raises(InstallFailed, match="too old"):
        choose_installer(_with_pip("21.0"), which=lambda _n: None)
    with pytest.raises(InstallFailed, match="no pip"):
        choose_installer(_with_pip(None), which=lambda _n: None)


ENV = Environment(
    python=PythonInfo(abi_tag="cp311", platform_tag="linux_x86_64"),
    torch=TorchInfo(installed=True, version="2.4.1+cu121", cuda="12.1", cxx11abi=False),
)


@pytest.mark.parametrize(("filename", "fragment"), [
    ("mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl", None),
    ("mamba_ssm-2.2.2+cu122torch2.3cxx11abiFALSE-cp311-cp311-linux_x86_64.whl", "torch 2.3"),
    ("mamba_ssm-2.2.2+cu118torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl", "CUDA 11"),
    ("mamba_ssm-2.2.2+cu122torch2.4cxx11abiTRUE-cp311-cp311-linux_x86_64.whl", "cxx11abiTRUE"),
    ("mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl", "cp310"),
    ("mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp311-cp311-linux_aarch64.whl", "aarch64"),
    ("mamba_ssm-2.2.2+cu13torch25.09cxx11abiFALSE-cp311-cp311-linux_x86_64.whl", "CUDA 13"),
    ("einops-0.8.0-py3-none-any.whl", None),
    ("pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", None),
    ("pkg-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", "aarch64"),
    ("pkg-1.0-cp311-cp311-win_amd64.whl", "win_amd64"),
])
def test_wheel_tag_checks(filename: str, fragment: str | None) -> None:
    reasons = wheel_misfits(filename, ENV)
    if fragment is None:
        assert reasons == ()
    else:
        assert any(fragment in r for r in reasons), reasons


def test_cpu_torch_rejects_cuda_wheels() -> None:
    cpu = Environment(python=ENV.python, torch=TorchInfo(installed=True, version="2.4.1+cpu"))
    reasons = wheel_misfits("mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp311-cp311-"
                            "linux_x86_64.whl", cpu)
    assert "CPU-only build" in reasons[0]
    with pytest.raises(ValueError):
        wheel_misfits("not-a-wheel.zip", cpu)


def test_user_wheels_refuse_missing_misnamed_and_corrupt_files(tmp_path: Path) -> None:
    """Bad --wheel input is a usage error naming the file, before pip is asked (a corrupt file
    used to be reported as a torch conflict by pip's resolver)."""
    good_name = "mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    corrupt = tmp_path / good_name
    corrupt.write_text("<html>rate limited</html>")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    for path, needle in ((tmp_path / "absent.whl", "no such file"),
                         (text, "not a wheel"), (corrupt, "not a zip archive")):
        with pytest.raises(UsageError, match=needle):
            user_wheels([path], ENV, force=True, log=StepLog())


def test_verification_output_parsing() -> None:
    ok = json.dumps({"modules": {"torch": {"ok": True}, "mamba_ssm": {"ok": True}},
                     "gpu": {"ran": True, "ok": True}})
    assert parse_verify_output("noise\n" + ok).ok
    bad = json.dumps({"modules": {"torch": {"ok": True}, "selective_scan_cuda": {
        "ok": False, "error": "ImportError: undefined symbol: _ZN3c10"}}, "gpu": {"ran": False}})
    result = parse_verify_output(bad)
    assert not result.ok and "undefined symbol" in result.error_text
    crashed = parse_verify_output("", "Fatal Python error: Segmentation fault",
                                  crashed="python crashed (SIGSEGV)")
    assert crashed.failures == ("python crashed (SIGSEGV)",)
    assert "Segmentation fault" in crashed.error_text
    gpu = parse_verify_output(json.dumps({"modules": {"torch": {"ok": True}}, "gpu": {
        "ran": True, "ok": False, "error": "no kernel image is available"}}))
    assert gpu.failures == ("kernel call on the GPU: no kernel image is available",)


def test_verification_snippet_runs_without_torch() -> None:
    done = _run.run([sys.executable, "-I", "-S", "-c", VERIFY_SNIPPET, "mamba_ssm"])
    result = parse_verify_output(done.stdout, done.stderr)
    assert not result.ok and result.modules["torch"]["ok"] is False
    assert "No module named 'torch'" in result.failures[0]


def test_externally_managed_python_is_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    # what the probe reports for a Debian system Python outside any venv
    managed = replace(ENV, python=replace(ENV.python, pip_version="24.0",
                                          externally_managed=True, is_venv=False))
    target = Target("/usr/bin/python3", env=managed, run=lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(InstallFailed, match="PEP 668") as info:
        install(InstallOptions(wheels=(tmp_path / "x.whl",)), target=target, cache=tmp_path)
    assert "--system-site-packages" in (info.value.hint or "")
    assert info.value.data["steps"] == []


@pytest.mark.parametrize("args", [
    ["--wheel", "x.whl", "--from-source"], ["--arch", "8.6"], ["--jobs", "2"],
    ["--keep", "../bad"], ["--python", "/no/such/python"],
    ["--from-source", "--jobs", "0"], ["--wheel", str(Path(__file__).parent)],
    ["--from-source", "--sdist", str(Path(__file__).parent)],
    ["--find-links", __file__],
])
def test_usage_errors(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["install", *args, "--json"])
    assert result.exit_code == 2, result.stdout
    assert json.loads(result.stdout)["errors"][0]["code"] == "usage_error"


def _uv() -> str | None:
    """uv from PATH, or the one the test extra installed beside this interpreter."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.is_file() else None)


@pytest.mark.slow
@pytest.mark.skipif(_uv() is None, reason="uv is not installed here")
def test_uv_installs_into_a_venv_without_pip(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.installkit import fake_torch_wheel, make_wheel, mamba_wheel

    uv = str(_uv())
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(uv).parent), os.environ["PATH"]]))

    house = tmp_path / "house"
    make_wheel(house, "einops", "0.8.0", {"einops/__init__.py": ""})
    torch = fake_torch_wheel(house, "2.4.0")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")],
                   check=True)
    python = tmp_path / "v" / "bin" / "python"
    subprocess.run([uv, "pip", "install", "--offline", "--python", str(python), str(torch)],
                   check=True, capture_output=True)
    monkeypatch.setenv("UV_OFFLINE", "1")  # no index: only --find-links
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    good = mamba_wheel(tmp_path / "in")
    result = CliRunner().invoke(app, ["install", "--python", str(python), "--wheel", str(good),
                                      "--find-links", str(house), "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc
    assert doc["data"]["installed"] == {"mamba-ssm": "2.3.2+cu12torch2.4cxx11abiTRUE",
                                        "einops": "0.8.0"}
    assert doc["data"]["steps"][-2]["command"].startswith(uv)
    assert os.path.exists(python)


OLD_PYTHONS = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_target_snippets_run_on_old_pythons(version: str, tmp_path: Path) -> None:
    """The versions read, backup and verification run inside the user's interpreter: 3.8+
    syntax only."""
    import zipfile

    from mamba_doctor.install.steps import BACKUP_SNIPPET
    from mamba_doctor.probe.interpreter import VERSIONS_SNIPPET
    from tests.installkit import make_wheel

    found = sorted(OLD_PYTHONS.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} here")
    python = str(found[-1])
    site = tmp_path / "site"
    demo = make_wheel(tmp_path / "w", "demo-pkg", "1.2", {"demo/__init__.py": "x = 1\n"})
    with zipfile.ZipFile(demo) as zf:
        zf.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    versions = json.loads(
        _run.run([python, "-c", VERSIONS_SNIPPET, "demo-pkg", "absent"], env=env).stdout)
    assert versions == {"demo-pkg": "1.2", "absent": None}
    done = _run.run([python, "-c", BACKUP_SNIPPET, str(tmp_path / "bak"), "demo-pkg"], env=env)
    wheel = Path(json.loads(done.stdout)["demo-pkg"]["wheel"])
    assert wheel.name == "demo_pkg-1.2-py3-none-any.whl"
    assert "demo/__init__.py" in zipfile.ZipFile(wheel).namelist()
    out = _run.run([python, "-c", VERIFY_SNIPPET, "demo"], env=env)
    assert parse_verify_output(out.stdout).modules["torch"]["ok"] is False
    from mamba_doctor.install.collisions import find_collisions

    # that interpreter's own pip is installed in its purelib, with a RECORD
    clash = make_wheel(tmp_path / "c", "other", "1.0", {"pip/__init__.py": "x = 2\n"})
    found = find_collisions(Target(python), [clash], ["other"])
    assert [(c.target.path, c.owner) for c in found] == [("pip/__init__.py", "pip")]


def test_install_help_states_defaults() -> None:
    result = CliRunner().invoke(app, ["install", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.stdout.split())
    for needle in ("[default: the active venv/conda env, else this Python]",
                   "[default: the detected GPUs]", "without ever changing torch",
                   "MAMBA_DOCTOR_MIRROR"):
        assert needle in text, needle
    assert "<str>" not in text and "list[" not in text


@pytest.mark.torch
def test_a_run_that_stops_before_planning_leaves_no_run_folder() -> None:
    """This machine's CPU-only torch has no prebuilt wheel: exit 4, and nothing in the cache."""
    result = CliRunner().invoke(app, ["install", "--python", sys.executable, "--dry-run",
                                      "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 4, doc
    runs = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


@pytest.mark.torch
def test_no_wheel_error_says_why_and_the_way_out_like_check() -> None:
    """On this machine's CPU-only torch: the error names the cause (not "build from source",
    which a CPU torch cannot do either) and quotes the same torch command as check's wheels row."""
    result = CliRunner().invoke(app, ["install", "--python", sys.executable, "--dry-run",
                                      "--json"])
    (err,) = json.loads(result.stdout)["errors"]
    assert err["code"] == "no_compatible_wheel" and "CPU-only torch" in err["message"]
    check = CliRunner().invoke(app, ["check", "--python", sys.executable, "--json"])
    wheels_row = json.loads(check.stdout)["data"]["checks"][-1]
    assert wheels_row["id"] == "wheels" and wheels_row["commands"]
    assert " && ".join(wheels_row["commands"]) in err["hint"]
    assert "from-source" not in err["hint"]
