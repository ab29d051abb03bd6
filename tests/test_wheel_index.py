"""The wheel index data, its generator, the filename parser and the flag overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from wheel_envs import make_env

from mamba_doctor.errors import UsageError
from mamba_doctor.wheels.facts import apply_overrides, facts_of
from mamba_doctor.wheels.fit import check_wheel_fits, sass_runs
from mamba_doctor.wheels.index import index_dir, load_index
from mamba_doctor.wheels.names import parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]
REFERENCE = next((p / "reference/wheels" for p in (REPO.parent / "shared",
                                                     REPO.parent.parent / "shared")
                  if (p / "reference/wheels/mamba_ssm.json").is_file()), None)


def test_index_is_complete() -> None:
    idx = load_index()
    mamba, cc = idx.for_package("mamba_ssm"), idx.for_package("causal_conv1d")
    assert (len(mamba), len(cc)) == (35, 42)
    # the research rows (3017 + 3645) plus the NGC rows derived for releases whose NGC job
    # works but whose asset list was never seen (20 + 88, see tests/test_index_disagreements.py)
    assert sum(len(r.wheels) for r in mamba) == 3017 + 20
    assert sum(len(r.wheels) for r in cc) == 3645 + 88
    # digests are attached by (tag, filename): exactly the observed assets carry one
    for rels, n in ((mamba, 449), (cc, 588)):
        with_sha = [w for r in rels for w in r.wheels if w.sha256]
        assert len(with_sha) == n and all(w.status == "observed" for w in with_sha)
    assert [r.tag for r in mamba][:3] == ["v2.3.2.post1", "v2.3.2", "v2.3.1"]
    v232 = idx.release("mamba_ssm", "v2.3.2")
    assert v232.version == "2.3.1" and v232.wheels[0].filename.startswith("mamba_ssm-2.3.1+")
    assert idx.release("mamba_ssm", "v2.2.2").pypi == ("2.2.2",)
    assert idx.release("mamba_ssm", "v2.2.6").pypi == ()
    assert idx.release("mamba_ssm", "v2.2.5").companion == ("1.5.1", None)
    assert idx.release("causal_conv1d", "v1.5.1").runtime_python_min == "3.10"


def test_every_url_is_the_release_asset_url() -> None:
    idx = load_index()
    for pkg, repo in (("mamba_ssm", "state-spaces/mamba"),
                      ("causal_conv1d", "Dao-AILab/causal-conv1d")):
        for rel in idx.for_package(pkg):
            for w in rel.wheels:
                assert w.url == (f"https://github.com/{repo}/releases/download/{rel.tag}/"
                                 f"{w.filename}")
                tags = parse_wheel_filename(w.filename)
                assert (tags.python, tags.torch, tags.cuda, tags.cxx11abi, tags.platform) == \
                    (w.python, w.torch, w.cuda, w.cxx11abi, w.platform)


@pytest.mark.skipif(REFERENCE is None, reason="shared reference data not present")
def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "wheels_index/build_index.py"), str(REFERENCE),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("mamba_ssm.json", "causal_conv1d.json", "torch.json"):
        assert (tmp_path / name).read_bytes() == (index_dir() / name).read_bytes(), name


def test_index_loads_fast_in_a_fresh_interpreter() -> None:
    code = ("import time; t=time.perf_counter(); from mamba_doctor.wheels.index import load_index; "
            "i=load_index(); n=sum(len(r.wheels) for p in ('mamba_ssm','causal_conv1d') "
            "for r in i.for_package(p)); print((time.perf_counter()-t)*1000, n)")
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.split()[0]) for _ in range(3))
    # ~20-40 ms on an idle machine (see the report); generous bound for a loaded CI runner.
    assert best < 500


@pytest.mark.parametrize(("name", "expected"), [
    ("mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl",
     ("mamba_ssm", "2.2.2", "3.8", "118", "2.0", False, "linux_x86_64", False)),
    ("causal_conv1d-1.6.1+cu12torch25.09cxx11abiTRUE-cp312-cp312-linux_aarch64.whl",
     ("causal_conv1d", "1.6.1", "3.12", "12", "25.09", True, "linux_aarch64", True)),
    ("https://github.com/state-spaces/mamba/releases/download/v2.3.2/"
     "mamba_ssm-2.3.1%2Bcu13torch2.10cxx11abiTRUE-cp313-cp313-linux_x86_64.whl",
     ("mamba_ssm", "2.3.1", "3.13", "13", "2.10", True, "linux_x86_64", False)),
    ("causal_conv1d-1.5.0.post3+cu124torch2.6cxx11abiTRUE-cp313-cp313-linux_x86_64.whl",
     ("causal_conv1d", "1.5.0.post3", "3.13", "124", "2.6", True, "linux_x86_64", False)),
    ("requests-2.32.0-py3-none-any.whl",
     ("requests", "2.32.0", None, None, None, None, "any", False)),
])
def test_parse_wheel_filename(name: str, expected: tuple) -> None:
    t = parse_wheel_filename(name)
    assert (t.package, t.version, t.python, t.cuda, t.torch, t.cxx11abi, t.platform, t.ngc) == \
        expected


def test_parse_wheel_filename_rejects_non_wheels() -> None:
    for bad in ("mamba_ssm-2.2.2.tar.gz", "index.html", "mamba_ssm-2.2.2-cp38.whl"):
        with pytest.raises(ValueError):
            parse_wheel_filename(bad)


def test_check_wheel_fits_on_parsed_name() -> None:
    tags = parse_wheel_filename(
        "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl")
    assert check_wheel_fits(tags, make_env(python="3.8", torch="2.0.1+cu117", cuda="11.7")) == ()
    codes = {r.code for r in check_wheel_fits(tags, make_env(python="3.9", torch="2.0.1",
                                                             cuda="12.1", abi=True))}
    assert codes == {"python", "cuda", "cxx11abi"}


@pytest.mark.parametrize(("arches", "sm", "runs"), [
    ((80,), 86, True), ((80, 87), 89, True), ((90,), 89, False), ((53, 62, 70), 61, False),
    ((120,), 121, True), ((100,), 120, False), ((75, 80), 75, True), ((62,), 60, False),
])
def test_sass_compatibility(arches: tuple, sm: int, runs: bool) -> None:
    assert sass_runs(arches, sm) is runs


def test_overrides() -> None:
    env = apply_overrides(make_env(), torch_version="2.0.0+cu118", python_version="3.8",
                          cxx11abi=True, platform="linux_aarch64")
    f = facts_of(env)
    assert (f.torch_minor, f.cuda, f.python, f.cxx11abi, f.platform) == \
        ("2.0", "11.8", "3.8", True, "linux_aarch64")
    assert facts_of(apply_overrides(env, cuda_version="cu121")).cuda == "12.1"
    assert facts_of(apply_overrides(env, cuda_version="13")).cuda == "13.0"
    cpu = facts_of(apply_overrides(env, torch_version="2.5.1+cpu"))
    assert cpu.torch_is_cpu and cpu.cuda is None
    assert facts_of(apply_overrides(env, platform="win_amd64")).platform == "win_amd64"
    for kw in ({"torch_version": "two"}, {"cuda_version": "eleven"}, {"python_version": "x"},
               {"platform": "solaris"}):
        with pytest.raises(UsageError):
            apply_overrides(env, **kw)


def test_another_torch_version_drops_the_probed_abi() -> None:
    probed = make_env(torch="2.13.0+cpu", cuda=None, abi=True, hip=None)
    # the probed build keeps its ABI, named with or without its local label
    for same in ("2.13.0+cpu", "2.13.0"):
        assert facts_of(apply_overrides(probed, torch_version=same)).cxx11abi is True
    other = facts_of(apply_overrides(probed, torch_version="2.5.1", cuda_version="12.4"))
    # the probed ABI is dropped; the official torch 2.5 cu124 wheels' one is assumed, and said so
    assert other.cxx11abi is False and other.torch_minor == "2.5"
    assert "assumed cxx11abiFALSE" in str(other.abi_assumed)
    assert facts_of(apply_overrides(probed, torch_version="2.5.1",
                                    cxx11abi=False)).cxx11abi is False
    rocm = make_env(torch="2.5.1+rocm6.2", cuda=None, hip="6.2")
    assert facts_of(apply_overrides(rocm, torch_version="2.5.1+cu124")).hip is None


def test_torch_abi_table() -> None:
    from mamba_doctor.knowledge.cuda_tables import torch_default_abi as abi

    assert (abi("2.5", "cu124"), abi("2.8", "cu128")) == (False, True)
    # 2.6 differs per variant; an unknown variant or minor is not guessed
    assert (abi("2.6", "cu124"), abi("2.6", "cu126")) == (False, True)
    assert abi("2.6", None) is None and abi("9.9", "cu999") is None


def test_facts_from_probe_shaped_environment() -> None:
    env = make_env(platform="manylinux_2_35_x86_64", container="nvcr.io/nvidia/pytorch:25.09-py3")
    f = facts_of(env)
    assert f.platform == "linux_x86_64" and f.ngc == "25.09"
    assert facts_of(make_env(platform="musllinux_1_2_x86_64")).platform.startswith("musllinux")


def test_loader_finds_packaged_copy(tmp_path: Path) -> None:
    # An installed wheel carries the data as mamba_doctor/_wheels_index (pyproject force-include).
    import shutil

    pkg = tmp_path / "mamba_doctor"
    shutil.copytree(REPO / "mamba_doctor", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "wheels_index", pkg / "_wheels_index")
    code = ("import mamba_doctor.wheels.index as i; d = i.index_dir(); print(d); "
            "print(len(i.load_index().for_package('mamba_ssm')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(tmp_path)}).stdout.split()
    assert out == [str(pkg / "_wheels_index"), "35"]
    assert json.loads((pkg / "_wheels_index/torch.json").read_text())["schema"] == 1


FIT_GRID = [
    dict(python="3.10", torch="2.4.0+cu121", cuda="12.1", gpus=["gtx1080"], glibc="2.31"),
    dict(python="3.12", torch="2.9.0a0+50eac811a6.nv25.09", cuda="13.0", abi=True,
         container="ngc-pytorch 25.09", platform="linux_aarch64"),
    dict(python="3.9", torch="2.5.1+cpu", cuda=None, abi=None, platform=None),
    dict(python="3.13", torch="2.8.0+cu128", cuda="12.8", abi=True, gpus=["rtx5090", "t4"]),
    dict(python=None, torch="2.4.1+rocm6.1", cuda=None, hip="6.1"),
    dict(torch_installed=False, platform="win_amd64"),
]


@pytest.mark.parametrize("kw", FIT_GRID)
def test_fast_fit_predicate_agrees_with_the_reasons(kw: dict) -> None:
    from mamba_doctor.wheels.fit import wheel_fits

    f = facts_of(make_env(**kw))
    idx = load_index()
    for pkg in ("mamba_ssm", "causal_conv1d"):
        for rel in idx.for_package(pkg):
            for w in rel.wheels:
                assert wheel_fits(w, f, release=rel) is (not check_wheel_fits(w, f, release=rel))


def test_lookup_by_filename_finds_every_tag() -> None:
    idx = load_index()
    hits = idx.lookup("causal_conv1d-1.6.1+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")
    assert {w.tag for w in hits} >= {"v1.6.1", "v1.6.1.post4", "v1.6.2"}
    assert [w.sha256 is not None for w in hits].count(True) == 1
    assert idx.lookup("numpy-2.0.0-cp312-cp312-linux_x86_64.whl") == ()
