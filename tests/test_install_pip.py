"""`install` end to end: real pip, temporary venvs with a fake torch, no network (--no-index)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner

from mamba_doctor.cli import app
from tests.installkit import (
    PLAT_TAG,
    PY_TAG,
    clone_venv,
    create_venv,
    freeze,
    make_wheel,
    mamba_wheel,
    offline_house,
    pip_home,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    create_venv(root / "venv", root / "house", pip_dir=pip_home(root / "pip"))
    return root / "venv"


@pytest.fixture
def house(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local wheelhouse that every pip call (ours and the printed restore commands) uses."""
    return offline_house(tmp_path / "house", monkeypatch)


@pytest.fixture
def target(template: Path, tmp_path: Path) -> Path:
    """A venv holding the fake torch 2.4.0 (CUDA 12.4, C++11 ABI): every test probes it for
    real through --python."""
    return clone_venv(template, tmp_path / "venv")


def invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["install", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def versions(python: Path) -> dict[str, str]:
    code = ("import json, importlib.metadata as m; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_wheel_asking_for_another_torch_stops_before_changing_anything(target: Path,
                                                                       house: Path) -> None:
    bad = mamba_wheel(house / "in", requires=("torch>=99", "einops"))
    # Without the pin pip would replace torch: the danger is real in this setup.
    unpinned = subprocess.run([str(target), "-m", "pip", "install", "--dry-run", str(bad)],
                              capture_output=True, text=True)
    assert "torch-99.0.0" in unpinned.stdout
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(bad))
    assert code == 6
    assert doc["errors"][0]["code"] == "install_failed"
    assert "nothing was changed" in doc["errors"][0]["message"]
    assert freeze(target) == before
    assert versions(target)["torch"] == "2.4.0"
    steps = {s["name"]: s["status"] for s in doc["data"]["steps"]}
    assert steps["check-dependencies"] == "failed"
    assert "install-wheels" not in steps


def test_compatible_wheel_installs_with_torch_untouched(target: Path, house: Path) -> None:
    good = mamba_wheel(house / "in")
    code, doc = invoke("--python", str(target), "--wheel", str(good))
    assert code == 0, doc
    data = doc["data"]
    assert data["installed"] == {"mamba-ssm": "2.3.2+cu12torch2.4cxx11abiTRUE", "einops": "0.8.0"}
    assert data["previous"] == {"mamba-ssm": None, "einops": None}
    assert data["pins"] == {"torch": "2.4.0"}
    assert versions(target)["torch"] == "2.4.0"
    names = [s["name"] for s in data["steps"]]
    assert names[-3:] == ["install-dependencies", "install-wheels", "verify"]
    # The fake torch sees no GPU: the step says that only imports were proven.
    assert "no kernel was run" in data["steps"][-1]["detail"]
    for step in data["steps"]:
        assert set(step) == {"name", "status", "duration", "command", "detail"}
        assert step["status"] == "ok"
    wheel_step = next(s for s in data["steps"] if s["name"] == "install-wheels")
    assert "--no-deps" in wheel_step["command"] and str(good) in wheel_step["command"]
    assert data["verification"]["modules"]["selective_scan_cuda"] == {"ok": True}
    assert data["restore"] == [f"{target} -m pip uninstall -y mamba-ssm einops"]


def test_wheel_with_wrong_tags_is_refused_unless_forced(target: Path, house: Path) -> None:
    wrong = mamba_wheel(house / "in", label="cu12torch2.1cxx11abiTRUE")
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(wrong))
    assert code == 4
    assert "torch 2.1" in doc["errors"][0]["message"]
    assert freeze(target) == before
    code, doc = invoke("--python", str(target), "--wheel", str(wrong), "--force")
    assert code == 0, doc
    assert doc["data"]["installed"]["mamba-ssm"] == "2.3.2+cu12torch2.1cxx11abiTRUE"
    assert doc["data"]["wheels"][0]["forced_mismatches"]


def test_dry_run_changes_nothing(target: Path, house: Path) -> None:
    good = mamba_wheel(house / "in")
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(good), "--dry-run")
    assert code == 0, doc
    assert freeze(target) == before
    statuses = {s["name"]: s["status"] for s in doc["data"]["steps"]}
    assert statuses["install-dependencies"] == statuses["install-wheels"] == "planned"
    assert statuses["check-dependencies"] == "ok"
    assert statuses["verify"] == "planned"
    assert [p["name"] for p in doc["data"]["plan"] if not p["requested"]] == ["einops"]
    assert doc["data"]["installed"] == {}
    human = CliRunner().invoke(app, ["install", "--python", str(target), "--wheel", str(good),
                                     "--dry-run"])
    assert human.exit_code == 0
    assert "dry run: nothing changed" in human.stdout
    assert "einops==0.8.0" in human.stdout  # the exact dependency install line
    assert "planned install-wheels" in human.stderr
    # The install command also comes whole on one line (tables fold long paths).
    whole = [ln for ln in human.stdout.splitlines()
             if ln.startswith(f"{target} -m pip install --no-deps")]
    assert any(ln.endswith(good.name) for ln in whole), whole
    assert freeze(target) == before


def test_failed_verification_reports_the_way_back_and_it_works(target: Path, house: Path) -> None:
    old = mamba_wheel(house / "old", "2.2.0")
    subprocess.run([str(target), "-m", "pip", "install", "-q", "--no-deps", str(old)], check=True)
    broken = mamba_wheel(
        house / "in", kernel="raise ImportError('selective_scan_cuda.so: undefined symbol: "
                             "_ZN3c104cuda9SetDeviceEi')\n")
    code, doc = invoke("--python", str(target), "--wheel", str(broken))
    assert code == 6
    err, data = doc["errors"][0], doc["data"]
    assert "undefined symbol" in err["message"]
    assert data["previous"]["mamba-ssm"] == "2.2.0+cu12torch2.4cxx11abiTRUE"
    assert data["installed"]["mamba-ssm"] == "2.3.2+cu12torch2.4cxx11abiTRUE"
    assert data["verification"]["ok"] is False
    assert "To go back" in err["hint"]
    # The printed way back really restores the previous state.
    for line in data["restore"]:
        subprocess.run(shlex.split(line), check=True, capture_output=True)
    assert versions(target)["mamba_ssm"] == "2.2.0+cu12torch2.4cxx11abiTRUE"
    assert "einops" not in versions(target)
    assert versions(target)["torch"] == "2.4.0"


def test_keep_pins_another_package(target: Path, house: Path) -> None:
    old = make_wheel(house / "old", "einops", "0.7.0", {"einops/__init__.py": ""})
    subprocess.run([str(target), "-m", "pip", "install", "-q", "--no-deps", str(old)], check=True)
    wants_new = mamba_wheel(house / "in", requires=("torch", "einops>=0.8"))
    before = freeze(target)
    code, doc = invoke("--python", str(target), "--wheel", str(wants_new), "--keep", "einops")
    assert code == 6
    assert doc["data"]["pins"] == {"einops": "0.7.0", "torch": "2.4.0"}
    assert freeze(target) == before


@pytest.mark.skipif(not (3, 9) <= sys.version_info < (3, 13),
                    reason="mamba_ssm 2.3.0's torch 2.4 wheels are for cp39-cp312 only")
def test_dry_run_of_the_resolved_pair_prints_the_commands(template: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from mamba_doctor.commands.install import install_outcome
    from mamba_doctor.install.pipeline import InstallOptions
    from mamba_doctor.models import GpuInfo, NvidiaInfo, OsInfo
    from mamba_doctor.probe import load_target
    from tests.outcomes import envelope_of

    python = clone_venv(template, tmp_path / "venv")
    probed = load_target(str(python))
    # the real probe, on a Linux x86_64 host with an H100 (which this test machine lacks)
    target = probed.with_env(replace(
        probed.env, os=OsInfo(system="Linux", arch="x86_64", glibc="2.35"),
        nvidia=NvidiaInfo(gpus=(GpuInfo(0, compute_capability="9.0"),))))
    assert target.env.python.abi_tag == PY_TAG and target.env.torch.cxx11abi is True
    before = freeze(python)
    code, doc = envelope_of("install", lambda: install_outcome(
        InstallOptions(dry_run=True), target, json_mode=True))
    assert code == 0, doc
    assert freeze(python) == before
    names = [w["filename"] for w in doc["data"]["wheels"]]
    assert names == [f"mamba_ssm-2.3.0+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-{PLAT_TAG}.whl",
                     f"causal_conv1d-1.5.4+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-"
                     f"{PLAT_TAG}.whl"]
    steps = {s["name"]: s for s in doc["data"]["steps"]}
    assert steps["resolve"]["status"] == "ok"
    assert steps["install-wheels"]["status"] == "planned"
    # the real run installs from the cache, after downloading there: the dry run says so
    cache = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "wheels"
    assert steps["install-wheels"]["command"].endswith(" ".join(
        shlex.quote(str(cache / n)) for n in names))
    assert "github.com (release v2.3.0)" in steps["download"]["detail"]
    # Every step of the real run is in the plan: the download first, the verification last.
    assert steps["download"]["status"] == steps["verify"]["status"] == "planned"
    assert [s["name"] for s in doc["data"]["steps"]][-1] == "verify"
    assert doc["data"]["previous"] == {"mamba-ssm": None, "causal-conv1d": None}


@pytest.mark.skipif(not (3, 9) <= sys.version_info < (3, 13),
                    reason="mamba_ssm 2.2.4's torch 2.4 wheels are for cp39-cp312 only")
def test_whole_default_pipeline_offline_with_the_real_probe(template: Path, house: Path,
                                                           tmp_path: Path) -> None:
    """probe (real) -> resolve the pair (real index) -> fetch (real downloader, from
    --find-links: these releases publish no digest, so a well-formed file proves itself) ->
    pip -> verify, with nothing patched."""
    from tests.installkit import causal_wheel

    python = clone_venv(template, tmp_path / "venv")
    links = tmp_path / "links"
    mamba_wheel(links, "2.2.4")
    causal_wheel(links, "1.5.0.post8")
    code, doc = invoke("--python", str(python), "--version", "2.2.4", "--find-links", str(links))
    assert code == 0, doc
    data = doc["data"]
    assert [w["filename"] for w in data["wheels"]] == [
        f"mamba_ssm-2.2.4+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-{PLAT_TAG}.whl",
        f"causal_conv1d-1.5.0.post8+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-{PLAT_TAG}.whl"]
    assert data["installed"]["mamba-ssm"] == "2.2.4+cu12torch2.4cxx11abiTRUE"
    assert data["installed"]["causal-conv1d"] == "1.5.0.post8+cu12torch2.4cxx11abiTRUE"
    assert set(data["verification"]["modules"]) == {"torch", "selective_scan_cuda",
                                                    "causal_conv1d_cuda", "mamba_ssm"}
    assert [s["name"] for s in data["steps"]][:5] == ["probe", "installer", "pin-protected",
                                                      "resolve", "download"]
    assert versions(python)["torch"] == "2.4.0"
