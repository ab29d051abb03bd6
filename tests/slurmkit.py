"""Test kit for `fleet`: the real CI SLURM cluster (.ci/slurm-up.sh) and an env whose stand-in
torch answers like a CUDA torch on whichever simulated node it runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
SLURM_DIR = Path(os.environ.get("MAMBA_DOCTOR_SLURM_DIR", "/tmp/mamba-doctor-slurm"))
CONF = SLURM_DIR / "etc" / "slurm.conf"
NODES_DIR = SLURM_DIR / "nodes"

# What torch 2.4.1+cu121 reports, read from the node: torch.cuda asks that node's nvidia-smi
# (the fake one .ci/slurm-up.sh put on its PATH) and honours CUDA_VISIBLE_DEVICES as srun set
# it. Everything the target probe reads is here (mamba_doctor/probe/target_snippet.py).
ARCH_FLAGS = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"  # torch 2.4.1 cu121 wheels
STANDIN_TORCH = {
    "torch/__init__.py": "__version__ = {version!r}\nfrom torch import version, cuda, _C\n",
    "torch/version.py": "__version__ = {version!r}\ncuda = {cuda!r}\nhip = None\n",
    "torch/_C.py": (
        "_GLIBCXX_USE_CXX11_ABI = False\n"
        "def _cuda_getArchFlags():\n    return {arch!r}\n"),
    "torch/cuda/__init__.py": '''\
import os, subprocess
def _caps():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,compute_cap",
                              "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20).stdout
    except OSError:
        return []
    caps = dict(tuple(p.strip() for p in line.split(",")) for line in out.splitlines() if line)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    order = list(caps) if visible is None else [v for v in visible.split(",") if v in caps]
    return [caps[i] for i in order]
def is_available():
    return bool(_caps())
def device_count():
    return len(_caps())
def get_device_capability(i):
    major, minor = _caps()[i].split(".")
    return int(major), int(minor)
def get_arch_list():
    return {arch!r}.split()
''',
}


# mamba_ssm's torch 2.4 wheels are for CPython 3.9-3.12 (wheels_index/): the stand-in env is
# made with such an interpreter, so the wheel facts the tests expect do not depend on which
# Python runs the suite (scripts/test-pythons.sh runs it on 3.8 and on the newest).
WHEEL_PYTHONS = ("3.12", "3.11", "3.10", "3.9")


def standin_interpreter() -> str:
    """sys.executable where mamba_ssm has wheels for it, else a python3.9-3.12 found on PATH
    or under pyenv; AssertionError where there is none (the fleet tests need one)."""
    if "{}.{}".format(*sys.version_info[:2]) in WHEEL_PYTHONS:
        return sys.executable
    pyenv = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"
    for minor in WHEEL_PYTHONS:
        found = shutil.which(f"python{minor}")
        candidates = ([found] if found else []) + sorted(
            str(p) for p in pyenv.glob(f"{minor}.*/bin/python"))
        for cand in candidates:
            done = subprocess.run(
                [cand, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True)
            if done.returncode == 0 and done.stdout.strip() == minor:
                return cand
    raise AssertionError("the fleet tests need a Python 3.9-3.12 (mamba_ssm's torch 2.4 wheels) "
                         "on PATH or under pyenv for the stand-in env")


def make_standin_env(path: Path, *, version: str = "2.4.1+cu121", cuda: str = "12.1") -> Path:
    """A venv (no pip) holding only the stand-in torch, installed as a distribution."""
    subprocess.run([standin_interpreter(), "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python3*/site-packages"))
    for rel, text in STANDIN_TORCH.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(version=version, cuda=cuda, arch=ARCH_FLAGS))
    info = site / f"torch-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
    (info / "RECORD").write_text("")
    return path / "bin" / "python"


def slurm_env() -> dict[str, str]:
    return {**os.environ, "SLURM_CONF": str(CONF)}


def cluster_answers() -> bool:
    if not CONF.is_file():
        return False
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%n"], env=slurm_env(), timeout=10,
                              capture_output=True, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def start_cluster(*, install: bool) -> tuple[bool, str]:
    """Run .ci/slurm-up.sh; (started, why not)."""
    argv = ["bash", str(REPO / ".ci" / "slurm-up.sh")] + ([] if install else ["--no-install"])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return False, ".ci/slurm-up.sh did not finish in 180 s"
    if done.returncode == 0:
        return True, ""
    return False, done.stderr.strip()[-2000:] or f".ci/slurm-up.sh exited {done.returncode}"


def stop_cluster() -> None:
    subprocess.run(["bash", str(REPO / ".ci" / "slurm-down.sh")], capture_output=True,
                   timeout=60, check=False)


def squeue_names(prefix: str = "mamba-doctor-fleet") -> list[str]:
    """Names of the jobs in the queue (pending, running, completing) that start with prefix."""
    done = subprocess.run(["squeue", "-h", "-o", "%j"], env=slurm_env(), capture_output=True,
                          text=True, timeout=30, check=True)
    return [n for n in done.stdout.split() if n.startswith(prefix)]


def wait_idle(node: str, *, timeout: float = 20.0) -> None:
    """Until the node takes a job at once (a job that just ended leaves it completing a while)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["sinfo", "-h", "-n", node, "-o", "%T"], env=slurm_env(),
                              capture_output=True, text=True, timeout=30)
        if done.stdout.split() and set(done.stdout.split()) == {"idle"}:
            return
        time.sleep(0.2)


def hang_node(node: str, on: bool) -> None:
    """Make the node's fake nvidia-smi hang (as a wedged driver does), or stop doing so."""
    marker = NODES_DIR / node / "hang"
    if on:
        marker.write_text("")
    elif marker.exists():
        marker.unlink()


def doctor_script() -> str:
    """The mamba-doctor entry point of the test venv (what `fleet` runs on the nodes)."""
    return str(Path(sys.executable).parent / "mamba-doctor")


def sbatch_test_only(lines: list[str], node: str) -> tuple[bool, str]:
    """Would Slurm start a batch script holding `lines` on `node`? (sbatch --test-only)"""
    script = "#!/bin/sh\n" + "\n".join(lines) + "\ntrue\n"
    done = subprocess.run(["sbatch", "--test-only", f"--nodelist={node}"], input=script,
                          env=slurm_env(), capture_output=True, text=True, timeout=30)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def first_line(text: Optional[str]) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
