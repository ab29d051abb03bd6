"""Seven places where the index or the setup.py guess disagreed with what pip and the releases do,
each checked against its source: PyPI's recorded JSON API, real pip, a real failure log, the
release tracker, the release workflow, and PyPI's simple API (held out from the generator)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from wheel_envs import make_env

from mamba_doctor.models import CudaToolkitInfo
from mamba_doctor.wheels.facts import facts_of
from mamba_doctor.wheels.index import load_index
from mamba_doctor.wheels.setup_guess import guess_for

API = Path(__file__).parent / "fixtures" / "index_api"
LOGS = Path(__file__).parent / "fixtures" / "logs"
PY38 = Path.home() / ".pyenv/versions/3.8.18/bin/python"


@pytest.fixture(scope="module")
def index():
    return load_index(overlay=False)


def _pypi(project: str) -> dict:
    """PyPI's JSON API for the project, recorded 2026-12-03 (fields trimmed, values as served)."""
    return json.loads((API / f"pypi-{project}.json").read_text())


# ---- 1. Requires-Python: pip never runs setup.py, it finds no matching distribution ----------

def test_index_records_requires_python_of_every_sdist(index) -> None:
    for project, package in (("mamba-ssm", "mamba_ssm"), ("causal-conv1d", "causal_conv1d")):
        served = {v: f["requires_python"] for v, files in _pypi(project)["releases"].items()
                  for f in files if f["packagetype"] == "sdist"}
        assert {v: i["requires_python"] for v, i in index.pypi[package].items()} == served


@pytest.mark.parametrize(("package", "version"), [
    ("mamba_ssm", "2.2.4"), ("mamba_ssm", "2.3.2.post1"), ("mamba_ssm", "2.2.3.post2"),
    ("causal_conv1d", "1.5.0.post8"), ("causal_conv1d", "1.7.0"),
])
def test_python38_gets_no_matching_distribution(index, package: str, version: str) -> None:
    guess = guess_for(index, package, version, facts_of(make_env(python="3.8")))
    assert guess.outcome == "requires_python" and guess.url is None
    assert ">=3.9" in guess.explanation and "No matching distribution found" in guess.explanation
    # on 3.9 the same sdist is taken and its setup.py guesses a URL
    assert guess_for(index, package, version, facts_of(make_env(python="3.9"))).url


# ---- 2. No sdist on PyPI -------------------------------------------------------------------

@pytest.mark.parametrize(("package", "version"), [
    ("causal_conv1d", "1.5.4"), ("causal_conv1d", "1.6.2"), ("mamba_ssm", "2.2.6.post2"),
])
def test_version_without_sdist_is_no_matching_distribution(index, package: str,
                                                           version: str) -> None:
    project = package.replace("_", "-")
    assert version not in _pypi(project)["releases"]  # the recorded PyPI answer
    assert index.release(package, version) is not None  # ... yet the GitHub release exists
    guess = guess_for(index, package, version, facts_of(make_env(python="3.10", torch="2.6.0",
                                                                 cuda="12.6")))
    assert guess.outcome == "no_sdist" and guess.exists is None
    assert f"pip install {project}=={version}" in guess.explanation
    assert "No matching distribution found" in guess.explanation


def _simple_index(root: Path) -> str:
    """A PEP 503 index with PyPI's recorded sdists and their data-requires-python."""
    for project in ("mamba-ssm", "causal-conv1d"):
        links = []
        for files in _pypi(project)["releases"].values():
            for f in files:
                if f["packagetype"] == "sdist":
                    rp = html.escape(f["requires_python"] or "")
                    links.append(f'<a href="../../files/{f["filename"]}" '
                                 f'data-requires-python="{rp}">{f["filename"]}</a><br/>')
        (root / project).mkdir(parents=True)
        body = "".join(links)
        (root / project / "index.html").write_text(f"<html><body>{body}</body></html>")
    return root.as_uri()


@pytest.mark.skipif(not PY38.is_file(), reason="needs CPython 3.8 with pip")
def test_real_pip_on_python38_agrees(tmp_path: Path, index) -> None:
    url = _simple_index(tmp_path / "simple")

    def pip(req: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        done = subprocess.run([str(PY38), "-m", "pip", "--isolated", "download", "--no-deps",
                               "--index-url", url, "-d", str(tmp_path / "out"), req],
                              capture_output=True, text=True, timeout=120, env=env)
        return done.stdout + done.stderr

    for req in ("mamba-ssm==2.2.4", "causal-conv1d==1.7.0"):  # Requires-Python >=3.9
        out = pip(req)
        assert "Requires-Python >=3.9" in out and f"No matching distribution found for {req}" in out
    out = pip("causal-conv1d==1.5.4")  # no such sdist
    assert "No matching distribution found for causal-conv1d==1.5.4" in out
    # control: an sdist 3.8 may take is chosen (the download then fails: no file here)
    assert "No matching distribution" not in pip("mamba-ssm==2.2.2")
    f = facts_of(make_env(python="3.8", torch="2.0.1+cu118", cuda="11.8"))
    assert guess_for(index, "mamba_ssm", "2.2.2", f).outcome == "prebuilt"


# ---- 3. No nvcc / CUDA_HOME: setup.py dies at import, before any URL is guessed -------------

def test_no_cuda_home_aborts_with_the_name_error(index) -> None:
    # The error as a user quoted it (state-spaces/mamba#104). setup.py raises it at import
    # (egg_info), so the bdist_wheel step that would guess a URL never runs.
    log = (LOGS / "nvcc-not-found-bare-metal-version__real-mamba-104.txt").read_text()
    error = re.search(r"NameError: name 'bare_metal_version' is not defined", log).group(0)
    env = replace(make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1"),
                  cuda_toolkit=CudaToolkitInfo(reasons={"cuda_home": "none found"}))
    for package, version in (("mamba_ssm", "2.2.2"), ("causal_conv1d", "1.4.0")):
        guess = guess_for(index, package, version, facts_of(env))
        assert guess.outcome == "no_cuda_home" and guess.url is None
        assert error in guess.explanation
    # a toolkit that was found, or not probed, leaves the URL guess as it was
    found = replace(env, cuda_toolkit=CudaToolkitInfo(cuda_home="/usr/local/cuda"))
    assert guess_for(index, "mamba_ssm", "2.2.2", facts_of(found)).outcome == "prebuilt"
    unknown = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1")
    assert guess_for(index, "mamba_ssm", "2.2.2", facts_of(unknown)).outcome == "prebuilt"


# ---- 4. causal-conv1d v1.6.1 does not hold the cu12 torch2.10 cp312 wheel -------------------

def test_v161_lacks_the_wheel_its_tracker_reports_missing(index) -> None:
    name = "causal_conv1d-1.6.1+cu12torch2.10cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    by_tag = {w.tag: w for w in index.lookup(name)}
    # Dao-AILab/causal-conv1d#104: `pip install causal-conv1d==1.6.1` got a 404 for this URL
    # under v1.6.1; #121 finds it under v1.6.2; PR #122: v1.6.1 holds 12 of the 80 assets.
    assert by_tag["v1.6.1"].status == "missing"
    assert "causal-conv1d/issues/104" in by_tag["v1.6.1"].status_detail
    assert by_tag["v1.6.2"].available and by_tag["v1.6.1.post4"].status == "observed"
    f = facts_of(make_env(python="3.12", torch="2.10.0+cu128", cuda="12.8", abi=True))
    guess = guess_for(index, "causal_conv1d", "1.6.1", f)
    assert guess.outcome == "source_build" and guess.url.endswith("/v1.6.1/" + name)


# ---- 5. NGC wheels of releases whose NGC job works: expected, not "does not exist" ----------

def test_ngc_rows_follow_the_seven_month_window(index) -> None:
    # .github/scripts/check_for_ngc_images.sh: "Check current month and previous 6 months
    # (total 7)". v2.3.2 and v2.3.2.post1 ran the same workflow on the same day (2026-05-09);
    # the derivation for v2.3.2 must give exactly the images observed under v2.3.2.post1.
    def images(tag: str, status: str) -> set:
        return {(w.torch, w.platform) for w in index.release("mamba_ssm", tag).wheels
                if w.ngc and w.status == status}

    assert images("v2.3.2", "expected") == images("v2.3.2.post1", "observed")
    assert {t for t, _ in images("v2.3.2", "unverified")} == {"26.05"}  # the run month
    assert not [w for w in index.release("mamba_ssm", "v2.2.6").wheels if w.ngc]  # broken job
    f = facts_of(make_env(python="3.12", torch="2.9.0a0+50eac811a6.nv25.12", cuda="13.0",
                          abi=True, container="nvcr.io/nvidia/pytorch:25.12-py3"))
    old = guess_for(index, "causal_conv1d", "1.6.1", f)  # v1.6.1: 12 unknown assets of 80
    assert old.outcome == "unknown" and old.exists is None
    f = facts_of(make_env(python="3.12", torch="2.10.0a0+b4e4ee8.nv26.03", cuda="13.1",
                          abi=True, container="nvcr.io/nvidia/pytorch:26.03-py3"))
    new = guess_for(index, "causal_conv1d", "1.7.0", f)
    assert new.outcome == "prebuilt" and "cu13torch26.03" in new.url
    assert "not confirmed" in new.explanation


# ---- 6. FALSE-ABI aarch64 wheels a list's generator cannot show absent ----------------------

@pytest.mark.parametrize(("package", "tag", "version"), [
    ("mamba_ssm", "v2.3.0", "2.3.0"), ("causal_conv1d", "v1.6.0", "1.6.0")])
def test_false_abi_without_true_twin_is_unverified(index, package: str, tag: str,
                                                   version: str) -> None:
    def status(abi: str) -> str:
        name = f"{package}-{version}+cu12torch2.5cxx11abi{abi}-cp313-cp313-linux_aarch64.whl"
        return next(w.status for w in index.lookup(name) if w.tag == tag)

    # sirati/nix-torch-bin-pascal's generator drops FALSE wheels that have no TRUE twin; the
    # TRUE one is absent from the list, so only TRUE's absence is shown.
    assert (status("TRUE"), status("FALSE")) == ("missing", "unverified")


# ---- 7. torch's Python ranges are PyPI's file lists, up to the newest torch -----------------

def test_torch_python_ranges_match_pypis_simple_index() -> None:
    from mamba_doctor.knowledge.cuda_tables import tables

    # Held out: the generator reads the JSON API (wheels_index/pypi.json); this is the PEP 691
    # simple index, recorded separately.
    doc = json.loads((API / "pypi-simple-torch-trimmed.json").read_text())
    seen: dict = {}
    for f in doc["files"]:
        m = re.match(r"torch-(\d+\.\d+)\.\d+-cp3(\d+)-cp3\d+m?-(manylinux|linux)", f["filename"])
        if m:
            seen.setdefault(m.group(1), set()).add(int(m.group(2)))
    ranges = tables()["python"]
    for minor, pythons in seen.items():
        lo, hi = (int(ranges[minor][k].split(".")[1]) for k in ("min", "max"))
        assert lo <= min(pythons) and max(pythons) <= hi, minor
    assert ranges["2.2"]["max"] == ranges["2.3"]["max"] == "3.12"  # torch 2.2.2, 2.3.1: cp312
    assert ranges["2.5"]["max"] == "3.13"  # torch 2.5.1: cp313
    assert ranges["2.15"] == {"min": "3.11", "max": "3.15"}  # the newest torch on PyPI
    assert max(seen["2.15"]) == 15 and min(seen["2.15"]) == 11
