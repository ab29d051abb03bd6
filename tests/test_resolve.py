"""Resolver, table-driven over every naming era and trap of the release assets and no-wheel cases
(wheels_index/SOURCES.md)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from wheel_envs import make_env

from mamba_doctor._compat import removeprefix
from mamba_doctor.errors import UsageError
from mamba_doctor.wheels.index import load_index
from mamba_doctor.wheels.resolve import resolve, resolve_pair

MAMBA = "https://github.com/state-spaces/mamba/releases/download"
CC = "https://github.com/Dao-AILab/causal-conv1d/releases/download"


@pytest.fixture(scope="module")
def index():
    return load_index()


# (id, env kwargs, package, version, expected URL)
FOUND = [
    ("classic-torch20-cu118-py38", dict(python="3.8", torch="2.0.0+cu118", cuda="11.8", abi=False),
     "mamba_ssm", "2.2.2",
     f"{MAMBA}/v2.2.2/mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"),
    ("old-era-cu122-any-cuda12-torch", dict(python="3.10", torch="2.3.1+cu121", cuda="12.1"),
     "mamba_ssm", "2.2.2",
     f"{MAMBA}/v2.2.2/mamba_ssm-2.2.2+cu122torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
    ("old-era-cu122-matches-cuda-12.4", dict(python="3.11", torch="2.2.2+cu124", cuda="12.4",
                                             abi=True),
     "mamba_ssm", "2.0.4",
     f"{MAMBA}/v2.0.4/mamba_ssm-2.0.4+cu122torch2.2cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"),
    ("old-era-cu118-for-cu117-torch", dict(python="3.10", torch="1.13.1+cu117", cuda="11.7"),
     "causal_conv1d", "1.2.0.post2",
     f"{CC}/v1.2.0.post2/causal_conv1d-1.2.0.post2+cu118torch1.13cxx11abiFALSE-cp310-cp310-"
     "linux_x86_64.whl"),
    ("new-era-cu12", dict(python="3.10", torch="2.4.0+cu124", cuda="12.4"), "mamba_ssm", "2.2.4",
     f"{MAMBA}/v2.2.4/mamba_ssm-2.2.4+cu12torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
    ("new-era-cu11", dict(python="3.10", torch="2.3.1+cu118", cuda="11.8"), "mamba_ssm",
     "2.2.3.post2",
     f"{MAMBA}/v2.2.3.post2/mamba_ssm-2.2.3.post2+cu11torch2.3cxx11abiFALSE-cp310-cp310-"
     "linux_x86_64.whl"),
    ("cu13", dict(python="3.12", torch="2.9.1+cu130", cuda="13.0", abi=True), "mamba_ssm", "2.3.1",
     f"{MAMBA}/v2.3.1/mamba_ssm-2.3.1+cu13torch2.9cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"),
    ("cc-1.5.0-ci-used-cu124", dict(python="3.10", torch="2.4.0+cu124", cuda="12.4"),
     "causal_conv1d", "1.5.0.post3",
     f"{CC}/v1.5.0.post3/causal_conv1d-1.5.0.post3+cu124torch2.4cxx11abiFALSE-cp310-cp310-"
     "linux_x86_64.whl"),
    ("cc-1.5.0.post5-fixed-to-cu12", dict(python="3.10", torch="2.4.0+cu124", cuda="12.4"),
     "causal_conv1d", "1.5.0.post5",
     f"{CC}/v1.5.0.post5/causal_conv1d-1.5.0.post5+cu12torch2.4cxx11abiFALSE-cp310-cp310-"
     "linux_x86_64.whl"),
    ("tag-holds-other-version-mamba-2.3.2", dict(python="3.12", torch="2.8.0+cu128", cuda="12.8",
                                                 abi=True),
     "mamba_ssm", "2.3.2",
     f"{MAMBA}/v2.3.2/mamba_ssm-2.3.1+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"),
    ("cc-1.6.1-lives-under-post4", dict(python="3.12", torch="2.8.0+cu128", cuda="12.8", abi=True),
     "causal_conv1d", "1.6.1",
     f"{CC}/v1.6.1.post4/causal_conv1d-1.6.1+cu12torch2.8cxx11abiTRUE-cp312-cp312-"
     "linux_x86_64.whl"),
    ("cc-1.5.3.post1-lives-under-post2", dict(python="3.11", torch="2.7.1+cu128", cuda="12.8",
                                              abi=True),
     "causal_conv1d", "1.5.3.post1",
     f"{CC}/v1.5.3.post2/causal_conv1d-1.5.3.post1+cu12torch2.7cxx11abiTRUE-cp311-cp311-"
     "linux_x86_64.whl"),
    ("aarch64-cu12", dict(python="3.12", torch="2.7.1+cu128", cuda="12.8", abi=True,
                          platform="linux_aarch64"),
     "mamba_ssm", "2.3.1",
     f"{MAMBA}/v2.3.1/mamba_ssm-2.3.1+cu12torch2.7cxx11abiTRUE-cp312-cp312-linux_aarch64.whl"),
    ("manual-extra-cu12-torch28", dict(python="3.10", torch="2.8.0+cu128", cuda="12.8"),
     "mamba_ssm", "2.2.5",
     f"{MAMBA}/v2.2.5/mamba_ssm-2.2.5+cu12torch2.8cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
    ("nightly-built-torch24-label", dict(python="3.10", torch="2.4.0+cu121", cuda="12.1"),
     "mamba_ssm", "2.2.2",
     f"{MAMBA}/v2.2.2/mamba_ssm-2.2.2+cu122torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
    ("ngc-25.09-container", dict(python="3.12", torch="2.9.0a0+50eac811a6.nv25.09", cuda="13.0",
                                 abi=True, container="ngc-pytorch 25.09"),
     "mamba_ssm", None,
     f"{MAMBA}/v2.3.1/mamba_ssm-2.3.1+cu13torch25.09cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"),
    ("ngc-detected-from-torch-version", dict(python="3.12", torch="2.7.0a0+7c8ec84dab.nv25.04",
                                             cuda="12.9", abi=True),
     "mamba_ssm", None,
     f"{MAMBA}/v2.2.6.post3/mamba_ssm-2.2.6.post3+cu12torch25.04cxx11abiTRUE-cp312-cp312-"
     "linux_x86_64.whl"),
]


@pytest.mark.parametrize(("env_kw", "package", "version", "url"),
                         [pytest.param(*c[1:], id=c[0]) for c in FOUND])
def test_resolves_exact_wheel(index, env_kw: dict[str, Any], package: str, version: str,
                              url: str) -> None:
    res = resolve(make_env(**env_kw), index, package, version=version)
    assert res.url == url, res.notes
    assert res.filename == url.rsplit("/", 1)[1]
    assert res.wheel is not None and res.wheel.available
    assert res.exact
    assert res.rejected, "siblings of the chosen wheel are listed as rejected"
    assert all(r.filename != res.filename for r in res.rejected)


def test_classic_case_default_pair(index) -> None:
    env = make_env(python="3.8", torch="2.0.0+cu118", cuda="11.8", abi=False, gpus=["a100"])
    mamba, cc = resolve_pair(env, index)
    assert mamba.filename == "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
    assert cc.filename == \
        "causal_conv1d-1.4.0+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
    assert mamba.guess is not None and mamba.guess.exists and mamba.guess.url == mamba.url
    reasons = mamba.reason_counts()
    assert set(reasons) == {"python", "torch", "cuda", "cxx11abi"}
    d = mamba.to_dict()
    assert {"package", "version", "filename", "url", "sha256", "exact", "rejected",
            "alternatives"} <= set(d)


def test_tag_with_other_version_inside(index) -> None:
    res = resolve(make_env(python="3.12", torch="2.8.0+cu128", cuda="12.8", abi=True), index,
                  "mamba_ssm", version="2.3.2")
    assert res.version == "2.3.1" and res.wheel.tag == "v2.3.2"


def test_observed_asset_with_digest_preferred_over_same_name_elsewhere(index) -> None:
    res = resolve(make_env(python="3.12", torch="2.8.0+cu128", cuda="12.8", abi=True), index,
                  "causal_conv1d", version="1.6.1")
    assert res.wheel.status == "observed" and len(res.sha256 or "") == 64
    # PyPI's causal-conv1d==1.6.1 sdist guesses under v1.6.1, which holds 12 of 80 assets.
    assert res.guess.url.startswith(f"{CC}/v1.6.1/") and res.guess.outcome == "unknown"


def test_cc_150_setup_py_guess_can_never_hit(index) -> None:
    res = resolve(make_env(python="3.10", torch="2.4.0+cu124", cuda="12.4"), index,
                  "causal_conv1d", version="1.5.0")
    assert "+cu124torch2.4" in res.filename
    # That setup.py would guess "+cu12torch2.4" (never uploaded), but pip never runs it: PyPI
    # has no sdist of 1.5.0 ... 1.5.0.post4 (https://pypi.org/pypi/causal-conv1d/json).
    assert res.guess.outcome == "no_sdist" and "No matching distribution" in res.guess.explanation
    post5 = resolve(make_env(python="3.10", torch="2.4.0+cu124", cuda="12.4"), index,
                    "causal_conv1d", version="1.5.0.post5")
    assert post5.guess.outcome == "prebuilt" and "+cu12torch2.4" in post5.guess.url


def test_nightly_built_label_is_flagged(index) -> None:
    res = resolve(make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1"), index, "mamba_ssm",
                  version="2.2.2")
    assert res.wheel.nightly and res.wheel.torch_build.startswith("2.4.0.dev")
    assert any("pre-release torch 2.4.0.dev" in n for n in res.notes)


def test_manual_extra_has_inferred_arches(index) -> None:
    res = resolve(make_env(python="3.10", torch="2.8.0+cu128", cuda="12.8", gpus=["b200"]), index,
                  "mamba_ssm", version="2.2.5")
    assert res.wheel.source == "extra" and 100 in res.wheel.arches


def test_ngc_and_regular_wheels_do_not_mix(index) -> None:
    regular = resolve(make_env(python="3.12", torch="2.9.1+cu130", cuda="13.0", abi=True), index,
                      "mamba_ssm")
    assert not regular.wheel.ngc
    old_ngc = resolve(make_env(python="3.10", torch="2.2.0a0+81ea7a4", cuda="12.3", abi=True,
                               container="nvcr.io/nvidia/pytorch:24.01-py3"), index, "mamba_ssm")
    assert old_ngc.wheel is None  # 24.01 wheels exist for aarch64 only
    assert "ngc" in old_ngc.reason_counts()
    arm_ngc = resolve(make_env(python="3.10", torch="2.2.0a0+81ea7a4", cuda="12.3", abi=True,
                               platform="linux_aarch64", container="ngc-pytorch 24.01"), index,
                      "mamba_ssm")
    assert arm_ngc.filename == \
        "mamba_ssm-2.2.6.post3+cu12torch24.01cxx11abiTRUE-cp310-cp310-linux_aarch64.whl"


@pytest.mark.parametrize(("package", "tag"), [
    ("mamba_ssm", "v2.2.6"), ("mamba_ssm", "v2.2.6.post1"), ("causal_conv1d", "v1.3.0"),
    ("causal_conv1d", "v1.5.0.post1"), ("causal_conv1d", "v1.5.3"),
])
def test_likely_failed_releases_never_resolve(index, package: str, tag: str) -> None:
    env = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1", glibc=None)
    res = resolve(env, index, package, version=removeprefix(tag, "v"))
    assert res.wheel is None
    assert set(res.reason_counts()) >= {"unavailable"}
    assert all(a.release != removeprefix(tag, "v") for a in res.alternatives)


def test_missing_asset_of_observed_release_is_not_chosen(index) -> None:
    # causal-conv1d#85: 1.5.4+cu12torch2.8cxx11abiFALSE-cp310 was never uploaded.
    res = resolve(make_env(python="3.10", torch="2.8.0+cu128", cuda="12.8", abi=False), index,
                  "causal_conv1d", version="1.5.4")
    assert res.wheel is None
    missing = [r for r in res.rejected if r.code == "unavailable"
               and r.filename == "causal_conv1d-1.5.4+cu12torch2.8cxx11abiFALSE-cp310-cp310-"
                                 "linux_x86_64.whl"]
    assert missing


ENV_GRID = list(itertools.product(
    ["3.8", "3.10", "3.12", "3.13"],
    [("2.0.1+cu118", "11.8"), ("2.4.1+cu121", "12.1"), ("2.6.0+cu126", "12.6"),
     ("2.7.1+cu118", "11.8"), ("2.9.1+cu130", "13.0")],
    [False, True], ["linux_x86_64", "linux_aarch64"]))


@pytest.mark.parametrize(("py", "torch", "abi", "plat"), ENV_GRID)
def test_never_suggests_an_asset_that_may_not_exist(index, py, torch, abi, plat) -> None:
    env = make_env(python=py, torch=torch[0], cuda=torch[1], abi=abi, platform=plat)
    for res in resolve_pair(env, index):
        if res.wheel is not None:
            assert res.wheel.status in ("observed", "expected")
            assert res.wheel.python == py and res.wheel.platform == plat
            assert res.wheel.cxx11abi is abi
        else:
            assert res.alternatives or res.notes


def test_gpu_architecture(index) -> None:
    base = dict(python="3.11", torch="2.7.1+cu128", cuda="12.8", abi=True)
    assert resolve(make_env(**base, gpus=["rtx4090"]), index, "mamba_ssm", version="2.2.5").wheel
    blackwell = resolve(make_env(**base, gpus=["rtx5090"]), index, "mamba_ssm", version="2.2.5")
    assert blackwell.wheel is None and "gpu_arch" in blackwell.reason_counts()
    newest = resolve(make_env(**base, gpus=["rtx5090"]), index, "mamba_ssm")
    assert 120 in newest.wheel.arches
    gb10 = resolve(make_env(**base, gpus=["gb10"]), index, "mamba_ssm", version="2.3.1")
    assert gb10.wheel is not None  # sm_121 runs sm_120 SASS (same major, lower minor)


def test_pascal_gpu_gets_only_a_source_build(index) -> None:
    env = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1", gpus=["gtx1080"],
                   driver_cuda="12.4")
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is None
    assert [a.kind for a in res.alternatives] == ["source"]
    assert res.alternatives[0].arches == (61,)
    assert any("this GPU" in n for n in res.notes)


def test_glibc_too_old_for_newer_build_os(index) -> None:
    base = dict(python="3.10", torch="2.6.0+cu124", cuda="12.4", abi=False)
    old = resolve(make_env(**base, glibc="2.31"), index, "mamba_ssm")
    assert old.wheel.build_os == "ubuntu-20.04" and old.version == "2.2.4"
    unknown = resolve(make_env(**base), index, "mamba_ssm")
    assert unknown.wheel.build_os == "ubuntu-22.04"
    assert any(u.startswith("glibc") for u in unknown.unchecked)


def test_unknown_facts_never_reject(index) -> None:
    env = make_env(python="3.12", torch="2.8.0+cu128", cuda="12.8", abi=None, glibc=None)
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is not None and not res.exact
    assert any(u.startswith("gpu") for u in res.unchecked)
    assert "gpu_arch" not in res.reason_counts() and "glibc" not in res.reason_counts()


@pytest.mark.parametrize(("torch", "cuda", "abi"), [("2.0.0", "11.8", False),
                                                    ("2.4.1", "12.1", False),
                                                    ("2.8.0", "12.8", True)])
def test_unknown_abi_is_the_official_wheels_and_says_so(index, torch: str, cuda: str,
                                                        abi: bool) -> None:
    # One rule for an unreported C++ ABI, in the wheel choice and the setup.py guess alike:
    # the official torch wheels' default (pre-C++11 up to 2.5, C++11 from 2.7).
    python = "3.8" if torch == "2.0.0" else "3.10"
    env = make_env(python=python, torch=torch, cuda=cuda, abi=None)
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is not None and res.wheel.cxx11abi is abi and not res.exact
    flag = f"cxx11abi{str(abi).upper()}"
    note = next(u for u in res.unchecked if u.startswith("cxx11abi"))
    assert f"assumed {flag}" in note
    assert res.guess is not None and res.guess.url is not None and flag in res.guess.url


def test_explicit_older_version_is_honoured(index) -> None:
    env = make_env(python="3.10", torch="2.3.1+cu121", cuda="12.1")
    assert resolve(env, index, "mamba_ssm").version != "1.2.2"
    assert resolve(env, index, "mamba_ssm", version="2.1.0").version == "2.1.0"


def test_unknown_version_is_usage_error(index) -> None:
    with pytest.raises(UsageError):
        resolve(make_env(), index, "mamba_ssm", version="9.9.9")
    with pytest.raises(UsageError):
        resolve(make_env(), index, "flash_attn")


@pytest.mark.parametrize(("mamba", "low", "below"), [
    ("1.1.4", "1.1.0", "1.2.0"), ("2.2.2", "1.2.0", "1.5.1"), ("2.2.5", "1.5.1", None),
])
def test_pair_respects_binding_arity(index, mamba: str, low: str, below: str | None) -> None:
    from packaging.version import Version

    env = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1") if mamba != "1.1.4" else \
        make_env(python="3.10", torch="2.1.2+cu118", cuda="11.8")
    m, c = resolve_pair(env, index, version=mamba)
    assert m.version == mamba and c.wheel is not None
    assert Version(c.version) >= Version(low)
    assert below is None or Version(c.version) < Version(below)


def test_python39_pair_avoids_causal_conv1d_151_runtime_failure(index) -> None:
    env = make_env(python="3.9", torch="2.5.1+cu124", cuda="12.4")
    m, c = resolve_pair(env, index)
    assert (m.version, c.version) == ("2.2.4", "1.5.0.post8")
    alone = resolve(env, index, "causal_conv1d", version="1.5.2")
    assert alone.wheel is None and "runtime_python" in alone.reason_counts()


# ---- no wheel: exit-4 cases must come with useful alternatives and never a guessed URL ----

def _alt_kinds(res) -> list[str]:
    return [a.kind for a in res.alternatives]


def test_torch_211_gets_torch_210_alternative(index) -> None:
    env = make_env(python="3.12", torch="2.11.0+cu128", cuda="12.8", abi=True, driver_cuda="12.8",
                   gpus=["h100"])
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is None and res.guess.outcome == "source_build"
    torch_alts = [a for a in res.alternatives if a.kind == "torch"]
    assert (torch_alts[0].torch, torch_alts[0].variant) == ("2.10", "cu128")
    assert _alt_kinds(res)[-1] == "source" and res.alternatives[-1].arches == (90,)


def test_python_314_gets_python_alternative(index) -> None:
    res = resolve(make_env(python="3.14", torch="2.10.0+cu128", cuda="12.8", abi=True), index,
                  "mamba_ssm")
    assert res.wheel is None and "python" in _alt_kinds(res)
    # torch 2.10 has wheels for 3.13 too, so the same torch works there
    assert next(a for a in res.alternatives if a.kind == "python").python == "3.13"


def test_cpu_torch_gets_cuda_torch_alternative(index) -> None:
    env = make_env(python="3.11", torch="2.5.1+cpu", cuda=None, driver_cuda="12.4")
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is None and "cpu_torch" in res.reason_counts()
    assert res.guess.outcome == "aborts" and res.guess.url is None
    variants = [a.variant or "" for a in res.alternatives if a.kind == "torch"]
    assert variants and all(v.startswith("cu12") for v in variants)
    assert all(int(v[2:]) <= 124 for v in variants)  # within the driver's ceiling


def test_aarch64_cu11_has_no_wheel_and_suggests_cuda12(index) -> None:
    env = make_env(python="3.11", torch="2.6.0+cu118", cuda="11.8", platform="linux_aarch64",
                   driver_cuda="12.6")
    res = resolve(env, index, "mamba_ssm")
    assert res.wheel is None
    torch_alts = [a for a in res.alternatives if a.kind == "torch"]
    assert torch_alts and str(torch_alts[0].variant).startswith("cu12")


def test_native_windows(index) -> None:
    res = resolve(make_env(platform="win_amd64"), index, "mamba_ssm")
    assert res.wheel is None and _alt_kinds(res) == ["platform"]
    assert res.guess.url.endswith("win_amd64.whl") and res.guess.exists is False


def test_aarch64_setup_py_guess_downloads_x86_wheel(index) -> None:
    env = make_env(python="3.12", torch="2.7.1+cu128", cuda="12.8", abi=True,
                   platform="linux_aarch64")
    res = resolve(env, index, "mamba_ssm", version="2.3.1")
    assert res.wheel.platform == "linux_aarch64"
    assert res.guess.outcome == "wrong_prebuilt" and res.guess.url.endswith("linux_x86_64.whl")


@pytest.mark.parametrize(("version", "cuda", "outcome", "label"), [
    ("2.2.2", "12.4", "prebuilt", "cu122"),  # g1: anything not 11 -> 122
    ("2.2.4", "13.0", "wrong_prebuilt", "cu12"),  # g2: CUDA 13 torch maps to cu12
    ("2.3.1", "13.0", "prebuilt", "cu13"),
])
def test_setup_py_guess_rules(index, version: str, cuda: str, outcome: str, label: str) -> None:
    from mamba_doctor.wheels.facts import facts_of
    from mamba_doctor.wheels.setup_guess import guess_for

    torch = {"2.2.2": "2.3.1", "2.2.4": "2.4.0", "2.3.1": "2.9.1"}[version]
    env = make_env(python="3.12", torch=torch, cuda=cuda, abi=version == "2.3.1")
    guess = guess_for(index, "mamba_ssm", version, facts_of(env))
    assert guess.outcome == outcome
    assert f"+{label}torch" in guess.url


def test_torch_absent(index) -> None:
    res = resolve(make_env(torch_installed=False), index, "mamba_ssm")
    assert res.wheel is None and "torch_absent" in res.reason_counts()
    assert res.guess.outcome == "aborts"


def test_single_package_matches_installed_partner(index) -> None:
    from dataclasses import replace

    from mamba_doctor.models import PackageInfo

    env = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1")
    free = resolve_pair(env, index, packages=("causal_conv1d",))[0]
    assert free.version.startswith(("1.5.1", "1.5.2", "1.5.3", "1.5.4", "1.6"))
    pinned = replace(env, packages={"mamba-ssm": PackageInfo("mamba-ssm", version="2.2.2")})
    (res,) = resolve_pair(pinned, index, packages=("causal_conv1d",))
    assert res.version == "1.5.0.post8" and "installed mamba_ssm 2.2.2" in res.notes[0]


def test_requested_is_only_what_the_user_asked(index) -> None:
    env = make_env(python="3.8", torch="2.0.0+cu118", cuda="11.8")
    assert [r.requested for r in resolve_pair(env, index)] == [None, None]
    assert [r.requested for r in resolve_pair(env, index, version="2.2.2")] == ["2.2.2", None]


def test_rocm_and_free_threaded_python_are_rejected(index) -> None:
    rocm = resolve(make_env(torch="2.4.1+rocm6.1", cuda=None, hip="6.1"), index, "mamba_ssm")
    assert rocm.wheel is None and "hip" in rocm.reason_counts()
    assert rocm.guess.outcome == "source_build"
    from dataclasses import replace

    env = make_env(python="3.13", torch="2.8.0+cu128", cuda="12.8", abi=True)
    ft = replace(env, python=replace(env.python, abi_tag="cp313t"))
    res = resolve(ft, index, "mamba_ssm")
    assert res.wheel is None and "free-threaded" in " ".join(r.message for r in res.rejected)
    assert resolve(env, index, "mamba_ssm").wheel is not None


def test_unverified_release_is_not_suggested(index) -> None:
    # mamba v1.0.0: PyPI never got the sdist, so some job failed; which ones is unknown.
    env = make_env(python="3.10", torch="2.0.1+cu118", cuda="11.8")
    res = resolve(env, index, "mamba_ssm", version="1.0.0")
    assert res.wheel is None and set(res.reason_counts()) >= {"unavailable"}
    assert res.alternatives[0].kind == "version"


def test_blocker_is_judged_within_the_platform(index) -> None:
    env = make_env(python="3.11", torch="2.6.0+cu118", cuda="11.8", platform="linux_aarch64")
    res = resolve(env, index, "mamba_ssm")
    assert "no mamba_ssm wheel is built for CUDA 11 for linux_aarch64 (CUDA 12, 13 are)" \
        in res.notes


def test_blockers_name_the_fact_not_a_random_example() -> None:
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve

    idx = load_index()
    win = resolve(make_env(python="3.11", torch="2.5.1+cu124", cuda="12.4",
                           platform="win_amd64"), idx, "mamba_ssm")
    assert win.wheel is None
    assert win.notes[0] == ("no mamba_ssm wheel is built for win_amd64 "
                            "(only for linux_aarch64, linux_x86_64)")
    cpu = resolve(make_env(python="3.11", torch="2.5.1+cpu", cuda=None), idx, "mamba_ssm")
    assert cpu.wheel is None
    assert cpu.notes[0] == ("no mamba_ssm wheel fits a CPU-only torch: every wheel needs a CUDA "
                            "build of torch")
