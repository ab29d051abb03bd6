"""`install --from-source`: the arch restriction on nvcc command lines; the build end to end."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from clirunner import CliRunner
from httpserver import Fault, FaultyServer

from mamba_doctor.cli import app
from mamba_doctor.commands.install import install_outcome
from mamba_doctor.errors import InstallFailed, UsageError
from mamba_doctor.install.build import (
    build_environ,
    cgroup_memory_left,
    check_toolchain,
    parse_build_line,
    parse_gpu_arch_list,
    parse_meminfo,
    size_max_jobs,
    target_archs,
)
from mamba_doctor.install.nvcc_shim import make_cuda_shim, parse_arch_list, wrapper_script
from mamba_doctor.install.pipeline import InstallOptions
from mamba_doctor.install.sdist import (
    build_requirements,
    parse_sdist_filename,
    pick_sdist,
    unpack_sdist,
)
from mamba_doctor.models import (
    CudaToolkitInfo,
    Environment,
    GpuInfo,
    NvidiaInfo,
    PythonInfo,
    TorchInfo,
)
from mamba_doctor.probe import load_target
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.probe.toolkit import parse_nvcc_version
from tests.installkit import PLAT_TAG, PY_TAG, clone_venv, create_venv, pip_home
from tests.outcomes import envelope_of

# What mamba-ssm 2.3.2's setup.py hands nvcc 13 (its cc_flag list at the v2.3.2 tag),
# in setup.py's spelling, plus one pair in torch's `-gencode=` spelling.
UPSTREAM = [f for sm in (75, 80, 87, 90, 100, 120, 103, 110, 121)
            for f in ("-gencode", f"arch=compute_{sm},code=sm_{sm}")]

FAKE_NVCC = """#!/bin/sh
case "$1" in
  --version|-V) echo "Cuda compilation tools, release {release}, V{release}.131"; exit 0 ;;
  --list-gpu-arch) printf 'compute_75\\ncompute_80\\ncompute_86\\ncompute_90\\n'; exit 0 ;;
esac
for a in "$@"; do printf '%s ' "$a"; done >> {record}
echo >> {record}
"""


def fake_cuda_home(root: Path, release: str = "12.4") -> tuple[Path, Path]:
    """A toolkit whose nvcc records each argv line (and answers --version / --list-gpu-arch)."""
    (root / "bin").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "include" / "cuda_runtime.h").write_text("// fake\n")
    record = root / "calls.txt"
    nvcc = root / "bin" / "nvcc"
    nvcc.write_text(FAKE_NVCC.format(release=release, record=record))
    nvcc.chmod(0o755)
    (root / "bin" / "ptxas").write_text("")
    return root, record


def test_wrapper_keeps_only_the_target_pairs(tmp_path: Path) -> None:
    home, record = fake_cuda_home(tmp_path / "cuda")
    shim = make_cuda_shim(home, tmp_path / "shim", parse_arch_list("8.6"))
    argv = [str(shim / "bin" / "nvcc"), "-O3", *UPSTREAM, "-gencode=arch=compute_80,code=sm_80",
            "--threads", "4", "-I", "/a dir/with space", "-c", "k.cu", "-o", "k.o"]
    subprocess.run(argv, check=True, capture_output=True)
    line = record.read_text().split()
    assert line == ["-O3", "--threads", "4", "-I", "/a", "dir/with", "space", "-c", "k.cu",
                    "-o", "k.o", "-gencode", "arch=compute_86,code=sm_86"]
    # Everything but nvcc is the real toolkit, by symlink.
    assert (shim / "include").resolve() == (home / "include").resolve()
    assert (shim / "bin" / "ptxas").resolve() == (home / "bin" / "ptxas").resolve()


def test_wrapper_passes_non_compile_calls_through(tmp_path: Path) -> None:
    home, record = fake_cuda_home(tmp_path / "cuda")
    shim = make_cuda_shim(home, tmp_path / "shim", (80, 90))
    out = subprocess.run([str(shim / "bin" / "nvcc"), "--version"], capture_output=True, text=True)
    assert "release 12.4" in out.stdout
    subprocess.run([str(shim / "bin" / "nvcc"), "-shared", "a.o", "-o", "x.so"], check=True)
    assert record.read_text().split() == ["-shared", "a.o", "-o", "x.so"]
    assert "sm_80, sm_90" in wrapper_script("/x/nvcc", (80, 90))


@pytest.mark.skipif(not Path("/usr/local/cuda/bin/nvcc").exists(), reason="no CUDA toolkit here")
def test_real_nvcc_through_the_shim_generates_one_architecture(tmp_path: Path) -> None:
    (tmp_path / "k.cu").write_text("__global__ void k(float* x) { x[0] = 1.0f; }\n")
    shim = make_cuda_shim(Path("/usr/local/cuda"), tmp_path / "shim", (86,))
    done = subprocess.run([str(shim / "bin" / "nvcc"), "--dryrun", *UPSTREAM, "-c",
                           str(tmp_path / "k.cu"), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ptxas = [ln for ln in done.stderr.splitlines() if "ptxas" in ln]
    assert ptxas and all("sm_86" in ln for ln in ptxas)
    assert not any(f"sm_{sm}" in done.stderr for sm in (75, 80, 87, 90, 100, 120))


@pytest.mark.parametrize(("text", "expected"), [
    ("8.6", (86,)), ("9.0,8.0", (80, 90)), ("sm_90 sm_86", (86, 90)), ("12.0;10.0", (100, 120)),
])
def test_parse_arch_list(text: str, expected: tuple[int, ...]) -> None:
    assert parse_arch_list(text) == expected


@pytest.mark.parametrize("text", ["", "ampere", "8.x", "1.0"])
def test_parse_arch_list_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_arch_list(text)


def test_build_log_parsing_on_recorded_lines() -> None:
    ninja = ("[3/11] /usr/local/cuda/bin/nvcc --generate-dependencies-with-compile "
             "--dependency-output /b/selective_scan_fwd_fp16.o.d -I/x -c "
             "/tmp/src/csrc/selective_scan/selective_scan_fwd_fp16.cu -o "
             "/b/selective_scan_fwd_fp16.o -O3 -gencode arch=compute_90,code=sm_90")
    assert parse_build_line(ninja).__dict__ == {"done": 3, "total": 11,
                                                "unit": "selective_scan_fwd_fp16.cu"}
    cxx = "[1/11] c++ -MMD -MF x.o.d -c /tmp/src/csrc/selective_scan/selective_scan.cpp -o x.o"
    assert parse_build_line(cxx).unit == "selective_scan.cpp"
    assert parse_build_line("ptxas info    : Used 64 registers") is None


def test_resources_and_toolchain_facts() -> None:
    assert size_max_jobs(16, 24 * 2**30) == 6  # memory-bound: 4 GiB per nvcc job
    assert size_max_jobs(2, 64 * 2**30) == 2
    assert size_max_jobs(8, 1 * 2**30) == 1
    assert size_max_jobs(4, None) == 4
    assert parse_meminfo("MemTotal: 100 kB\nMemAvailable:    2048 kB\n") == 2048 * 1024
    # A container: its cgroup limit, not the host's memory, bounds the jobs.
    assert cgroup_memory_left("34359738368\n", "8589934592\n") == 24 * 2**30
    assert cgroup_memory_left("max\n", "8589934592\n") is None  # cgroup v2, unlimited
    assert cgroup_memory_left("9223372036854771712\n", "1\n") is None  # cgroup v1, unlimited
    assert cgroup_memory_left("1024\n", "4096\n") == 0
    assert parse_nvcc_version("Cuda compilation tools, release 13.0, V13.0.88") == "13.0"
    assert parse_gpu_arch_list("compute_75\ncompute_90\n") == (75, 90)


def _env(*, cuda: str | None = "12.4", gpus: tuple[str, ...] = ("8.6",),
         home: Path | None = None, nvcc: str = "12.4", python: str = "python") -> Environment:
    toolkit = CudaToolkitInfo(cuda_home=str(home), nvcc_path=str(home / "bin" / "nvcc"),
                              nvcc_version=nvcc) if home else CudaToolkitInfo()
    return Environment(
        python=PythonInfo(executable=python, abi_tag=PY_TAG, platform_tag=PLAT_TAG,
                          pip_version="24.0"),
        torch=TorchInfo(installed=True, version="2.4.0", cuda=cuda, cxx11abi=True),
        nvidia=NvidiaInfo(gpus=tuple(GpuInfo(i, compute_capability=c) for i, c in enumerate(gpus))),
        cuda_toolkit=toolkit,
    )


def _probed(python: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
            gpus: tuple[str, ...] = ("8.6",)) -> Target:
    """The venv as the real probe sees it, the fake toolkit found through CUDA_HOME as a source
    build would find it, and the GPUs this machine does not have."""
    from dataclasses import replace

    monkeypatch.setenv("CUDA_HOME", str(home))
    target = load_target(str(python))
    nvidia = NvidiaInfo(gpus=tuple(GpuInfo(i, compute_capability=c) for i, c in enumerate(gpus)))
    return target.with_env(replace(target.env, nvidia=nvidia))


def test_toolchain_refusals() -> None:
    with pytest.raises(InstallFailed, match="not a CUDA build"):
        check_toolchain(_env(cuda=None), "12.4")
    with pytest.raises(InstallFailed, match=r"nvcc is CUDA 13\.0 but torch .* CUDA 12\.4"):
        check_toolchain(_env(), "13.0")
    with pytest.raises(InstallFailed, match="nvcc"):
        check_toolchain(_env(), None)
    check_toolchain(_env(), "12.6")  # same major: fine
    assert target_archs(_env(gpus=("8.6", "9.0", "8.6")), None) == (86, 90)
    assert target_archs(_env(), "9.0") == (90,)
    with pytest.raises(UsageError, match="--arch"):
        target_archs(_env(gpus=()), None)


def test_build_environment(tmp_path: Path) -> None:
    env = build_environ({"PATH": "/usr/bin", "PYTORCH_NVCC": "/x"}, package="mamba_ssm",
                        shim=tmp_path, sms=(86, 90), jobs=3)
    assert env["CUDA_HOME"] == str(tmp_path)
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "bin")
    assert env["TORCH_CUDA_ARCH_LIST"] == "8.6;9.0"
    assert env["MAX_JOBS"] == "3"
    assert env["MAMBA_FORCE_BUILD"] == env["MAMBA_KEEP_CUDA_BUILD"] == "TRUE"
    assert "PYTORCH_NVCC" not in env


def _tar(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_sdist_names_index_and_unpacking(tmp_path: Path) -> None:
    assert parse_sdist_filename("mamba_ssm-2.3.2.post1.tar.gz") == ("mamba_ssm", "2.3.2.post1")
    assert parse_sdist_filename("causal-conv1d-1.7.0.tar.gz") == ("causal_conv1d", "1.7.0")
    page = {"files": [
        {"filename": "mamba_ssm-2.3.1.tar.gz", "url": "u1", "hashes": {"sha256": "a"}},
        {"filename": "mamba_ssm-2.3.2.post1.tar.gz", "url": "u2", "hashes": {"sha256": "b"}},
        {"filename": "mamba_ssm-2.4.0rc1.tar.gz", "url": "u3", "hashes": {}},
        {"filename": "mamba_ssm-9.0.tar.gz", "url": "u4", "yanked": True},
    ]}
    assert pick_sdist("mamba_ssm", page, None).url == "u2"
    assert pick_sdist("mamba_ssm", page, "2.3.1").sha256 == "a"
    with pytest.raises(UsageError, match=r"2\.0\.0"):
        pick_sdist("mamba_ssm", page, "2.0.0")
    good = _tar(tmp_path / "m-1.0.tar.gz", {"m-1.0/setup.py": "", "m-1.0/csrc/k.cu": ""})
    assert unpack_sdist(good, tmp_path / "u1").name == "m-1.0"
    no_csrc = _tar(tmp_path / "n-1.0.tar.gz", {"n-1.0/setup.py": ""})
    with pytest.raises(InstallFailed, match="csrc"):
        unpack_sdist(no_csrc, tmp_path / "u2")
    evil = _tar(tmp_path / "e-1.0.tar.gz", {"e-1.0/setup.py": "", "../escape.txt": "x"})
    with pytest.raises(InstallFailed, match="unsafe"):
        unpack_sdist(evil, tmp_path / "u3")
    assert not (tmp_path / "escape.txt").exists()


# An in-tree PEP 517 backend standing in for mamba-ssm's setup.py: it runs $CUDA_HOME/bin/nvcc
# with upstream's hard-coded -gencode list, prints ninja-style progress, and writes a wheel.
BACKEND = r'''
import base64, hashlib, os, subprocess, zipfile
UPSTREAM = {upstream!r}
UNITS = ["csrc/selective_scan/selective_scan_fwd_fp32.cu",
         "csrc/selective_scan/selective_scan_bwd_fp32_real.cu"]
INFO = "mamba_ssm-0.0.1.dist-info/"


def _record_line(path, text):
    digest = hashlib.sha256(text.encode()).digest()
    b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, b64, len(text))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    nvcc = os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc")
    subprocess.check_call([nvcc, "--version"])
    for i, unit in enumerate(UNITS, 1):
        print("[%d/%d] %s -c %s -o x.o" % (i, len(UNITS), nvcc, unit), flush=True)
        subprocess.check_call([nvcc, "-O3", *UPSTREAM, "-c", unit, "-o", "x.o"])
    files = {{
        "mamba_ssm/__init__.py": "import torch, selective_scan_cuda\n",
        "selective_scan_cuda.py": "MAX_JOBS = %r\n" % os.environ.get("MAX_JOBS"),
        INFO + "METADATA": "Metadata-Version: 2.1\nName: mamba_ssm\nVersion: 0.0.1\n",
        INFO + "WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }}
    lines = [_record_line(p, t) for p, t in files.items()] + [INFO + "RECORD,,"]
    files[INFO + "RECORD"] = "\n".join(lines) + "\n"
    name = "mamba_ssm-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name
'''


@pytest.fixture(scope="module")
def source_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("srctemplate")
    create_venv(root / "venv", root / "house", pip_dir=pip_home(root / "pip"))
    return root / "venv"


@pytest.fixture
def synthetic_sdist(tmp_path: Path) -> Path:
    return _tar(tmp_path / "mamba_ssm-0.0.1.tar.gz", {
        "mamba_ssm-0.0.1/pyproject.toml": '[build-system]\nrequires = []\n'
                                          'build-backend = "backend"\nbackend-path = ["."]\n',
        "mamba_ssm-0.0.1/backend.py": BACKEND.format(upstream=UPSTREAM),
        "mamba_ssm-0.0.1/setup.py": "",
        "mamba_ssm-0.0.1/csrc/selective_scan/selective_scan_fwd_fp32.cu": "",
    })


@pytest.mark.slow
def test_from_source_builds_for_the_detected_gpu_only(
        source_template: Path, synthetic_sdist: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    python = clone_venv(source_template, tmp_path / "venv")
    home, record = fake_cuda_home(tmp_path / "cuda")
    target = _probed(python, home, monkeypatch)
    assert target.env.cuda_toolkit.nvcc_version == "12.4"  # the probe read the fake nvcc
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    options = InstallOptions(from_source=True, sdists=(synthetic_sdist,), jobs=3)

    def run() -> tuple[int, dict]:
        return envelope_of("install", lambda: install_outcome(options, target, json_mode=True))

    code, doc = run()
    assert code == 0, doc
    calls = [ln.split() for ln in record.read_text().splitlines() if "-c" in ln.split()]
    assert len(calls) >= 2
    for argv in calls:  # upstream's nine pairs became exactly one, for the detected sm_86
        assert [a for a in argv if a.startswith("arch=")] == ["arch=compute_86,code=sm_86"]
    data = doc["data"]
    assert data["installed"] == {"mamba-ssm": "0.0.1"}
    assert data["verification"]["ok"] is True
    build = next(s for s in data["steps"] if s["name"] == "build-mamba_ssm")
    assert build["status"] == "ok"
    assert "sm_86" in build["detail"] and "MAX_JOBS=3" in build["detail"]
    log = Path(build["detail"].split("log: ")[1])
    text = log.read_text()
    assert "[2/2]" in text and "restricted to sm_86" in text
    cached = list((Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "built").rglob("*.whl"))
    assert [p.name for p in cached] == ["mamba_ssm-0.0.1-py3-none-any.whl"]
    # A second install reuses the cached build instead of compiling again.
    record.write_text("")
    again = run()[1]
    assert next(s for s in again["data"]["steps"]
                if s["name"] == "build-mamba_ssm")["status"] == "cached"
    assert record.read_text() == ""


def test_from_source_refuses_before_building(tmp_path: Path, synthetic_sdist: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home, record = fake_cuda_home(tmp_path / "cuda", release="13.0")
    # facts as the probe reports them for such a machine: no GPU, a CUDA 13.0 toolkit
    target = Target("python3", env=_env(home=home, nvcc="13.0", gpus=()))

    def run(arch: str | None) -> tuple[int, dict]:
        options = InstallOptions(from_source=True, sdists=(synthetic_sdist,), arch=arch)
        return envelope_of("install", lambda: install_outcome(options, target, json_mode=True))

    code, doc = run(None)
    assert code == 2 and "--arch" in doc["errors"][0]["hint"]
    code, doc = run("8.6")
    assert code == 6
    assert "nvcc is CUDA 13.0 but torch was built with CUDA 12.4" in doc["errors"][0]["message"]
    assert not record.exists()  # nvcc never compiled anything


# mamba v2.3.x's [build-system] (its pyproject.toml at the tag: it lists torch).
MAMBA_PYPROJECT = """[build-system]
requires = [
  "setuptools>=61.0.0",
  "wheel",
  "torch",
  "packaging",
  "ninja",
]
build-backend = "setuptools.build_meta"

[project]
name = "mamba_ssm"
"""


def test_build_requirements_follow_the_sdists_build_system(tmp_path: Path) -> None:
    assert build_requirements(tmp_path) == ("setuptools", "wheel", "packaging")  # setup.py only
    (tmp_path / "pyproject.toml").write_text(MAMBA_PYPROJECT)
    assert build_requirements(tmp_path) == ("setuptools", "wheel", "packaging", "ninja")
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    assert build_requirements(tmp_path) == ()


def test_build_refuses_a_target_missing_pip_or_build_requirements(tmp_path: Path) -> None:
    from mamba_doctor.install.from_source import _check_build_env
    from mamba_doctor.install.steps import StepLog

    python = shutil.which("python3") or "python3"
    subprocess.run([python, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    bare = str(tmp_path / "bare" / "bin" / "python")
    with pytest.raises(InstallFailed, match="no pip") as info:
        _check_build_env(load_target(bare), ("packaging",), pkg="mamba_ssm", log=StepLog())
    assert "ensurepip" in (info.value.hint or "")
    import sys

    here = load_target(sys.executable)
    with pytest.raises(InstallFailed, match="needs no-such-build-dep-xyz") as info:
        _check_build_env(here, ("pip", "no-such-build-dep-xyz", "ninja"), pkg="mamba_ssm",
                         log=StepLog())
    assert info.value.data["missing_build_requirements"] == ["no-such-build-dep-xyz"]
    log = StepLog()
    _check_build_env(here, ("pip",), pkg="mamba_ssm", log=log)
    assert log.steps == []  # all present: nothing to say


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_gpu_from_source_end_to_end(tmp_path: Path) -> None:  # pragma: no cover  # CUDA GPU only
    """Build both kernels for the local GPU and verify them with a real kernel call.

    The target is a fresh venv that sees this test environment's (CUDA) torch through a .pth
    file, so the build and install never touch the test environment itself. sdists come from
    $MAMBA_DOCTOR_TEST_SDISTS (a folder with mamba_ssm-*.tar.gz and causal_conv1d-*.tar.gz, for
    machines without internet access), else from PyPI.
    """
    import site
    import sys

    if shutil.which("nvcc") is None and not Path("/usr/local/cuda/bin/nvcc").exists():
        pytest.skip("no nvcc on this GPU machine")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "v")], check=True)
    target_site = next((tmp_path / "v").glob("lib/python3*/site-packages"))
    (target_site / "_host_torch.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    args = ["install", "--python", str(tmp_path / "v" / "bin" / "python"), "--from-source",
            "--json"]
    sdists = os.environ.get("MAMBA_DOCTOR_TEST_SDISTS")
    if sdists:
        for f in sorted(Path(sdists).glob("*.tar.gz")):
            args += ["--sdist", str(f)]
    result = CliRunner().invoke(app, args)
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["errors"]
    assert doc["data"]["verification"]["ok"] is True
    assert doc["data"]["verification"]["gpu"]["ok"] is True


@pytest.mark.slow
def test_from_source_checks_the_plan_before_compiling(
        source_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mamba_doctor.install.sdist import sdist_requirements

    sdist = _tar(tmp_path / "mamba_ssm-0.0.2.tar.gz", {
        "mamba_ssm-0.0.2/PKG-INFO": "Metadata-Version: 2.1\nName: mamba_ssm\nVersion: 0.0.2\n"
                                    "Requires-Dist: torch>=99\nRequires-Dist: einops\n\n"
                                    "Requires-Dist: not-a-header (description text)\n",
        "mamba_ssm-0.0.2/pyproject.toml": '[build-system]\nrequires = []\n'
                                          'build-backend = "backend"\nbackend-path = ["."]\n',
        "mamba_ssm-0.0.2/backend.py": BACKEND.format(upstream=UPSTREAM),
        "mamba_ssm-0.0.2/setup.py": "",
        "mamba_ssm-0.0.2/csrc/k.cu": "",
    })
    assert sdist_requirements(sdist) == ("torch>=99", "einops")
    python = clone_venv(source_template, tmp_path / "venv")
    home, record = fake_cuda_home(tmp_path / "cuda")
    target = _probed(python, home, monkeypatch)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    options = InstallOptions(from_source=True, sdists=(sdist,))
    code, doc = envelope_of("install", lambda: install_outcome(options, target, json_mode=True))
    assert code == 6, doc
    assert doc["data"]["steps"][-1]["name"] == "check-dependencies-before-build-mamba_ssm"
    assert not record.exists()  # the compiler never started


def test_sdist_download_resumes_and_checks_the_published_sha256(
        server: FaultyServer, tmp_path: Path) -> None:
    """The sdist comes through the project's resumable transfer (a dropped connection resumes
    from the .part), and a digest that differs from the index's is refused with nothing kept."""
    from mamba_doctor.errors import ChecksumMismatch
    from mamba_doctor.install.sdist import SdistRef, download_sdist

    body = os.urandom(300_000)
    sha = hashlib.sha256(body).hexdigest()
    url = server.add("/p/mamba_ssm-0.0.1.tar.gz", body, faults=[Fault(drop_after=100_000)])
    ref = SdistRef("mamba_ssm", "0.0.1", "mamba_ssm-0.0.1.tar.gz", url, sha)
    path = download_sdist(ref, tmp_path / "sdists", timeout=10)
    assert path.read_bytes() == body
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .part or resume state
    hits = server.hits_for("/p/mamba_ssm-0.0.1.tar.gz")
    assert [h.status for h in hits] == [200, 206]  # the second request resumed the .part
    assert hits[1].headers.get("Range", "").startswith("bytes=")
    bad = SdistRef("mamba_ssm", "0.0.1", "mamba_ssm-0.0.1.tar.gz", url, "0" * 64)
    with pytest.raises(ChecksumMismatch):
        download_sdist(bad, tmp_path / "other", timeout=10)
    assert list((tmp_path / "other").iterdir()) == []
