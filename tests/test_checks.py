"""Verdicts: table-driven environments built from recorded probe outputs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.check.gpu import mamba_sass
from mamba_doctor.check.report import build_report
from mamba_doctor.check.verdicts import evaluate
from mamba_doctor.knowledge.cuda_tables import (
    cuda_targets,
    driver_ceiling,
    driver_runs,
    sm_runs,
    tables,
    torch_runs_on,
)
from mamba_doctor.models import (
    CheckStatus,
    CudaToolkitInfo,
    Environment,
    NvidiaInfo,
    OsInfo,
    PackageInfo,
)
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.probe.nvidia_parse import parse_cuda_visible_devices, parse_nvidia_smi_csv
from mamba_doctor.probe.target import probe_target
from mamba_doctor.wheels.index import load_index

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP
LINUX = OsInfo(system="Linux", distro="Ubuntu 22.04.4 LTS", arch="x86_64", glibc="2.35",
               glibcxx="3.4.30")


def nvidia(csv: str | None, driver: str | None, cuda: str | None, *,
           visible: str | None = None) -> NvidiaInfo:
    gpus = parse_nvidia_smi_csv(fixture(csv)).gpus if csv else ()
    gpus, note = parse_cuda_visible_devices(visible, gpus)
    return NvidiaInfo(driver_version=driver, cuda_driver_version=cuda, gpus=gpus,
                      cuda_visible_devices=visible,
                      reasons={"cuda_visible_devices": note} if note else {})


def env_from(target: str, nv: NvidiaInfo, *, os_info: OsInfo = LINUX,
             nvcc: str | None = None, **torch_changes) -> Environment:
    facts = probe_target("/py", run=FakeRunner({("/py",): done(fixture(target))}), environ={})
    torch = replace(facts.torch, **torch_changes) if torch_changes else facts.torch
    return Environment(os=os_info, nvidia=nv, cuda_toolkit=CudaToolkitInfo(nvcc_version=nvcc),
                       python=facts.python, torch=torch, packages=dict(facts.packages))


def rows(env: Environment) -> dict:
    return {c.id: c for c in evaluate(Target.described(env))}


H100 = nvidia("nvidia-smi-query-2xH100.csv", "550.54.15", "12.4")
RTX4090 = nvidia("nvidia-smi-query-rtx4090.csv", "560.35.03", "12.6")


def test_this_cpu_machine_fails_on_driver_and_cpu_torch() -> None:
    env = env_from("target-2.13.0-cpu.stdout", NvidiaInfo(reasons={"driver_version": "none"}))
    r = rows(env)
    assert r["driver"].status is FAIL and r["torch_build"].status is FAIL
    assert "CPU-only build" in r["torch_build"].summary
    # run by the checked interpreter, not whichever `pip` is first on PATH; torch 2.13 has no
    # mamba_ssm wheel, so the torch to move to is the newest that has one (no driver to check)
    py = env.python.executable
    torch = (f"{py} -m pip install 'torch==2.10.*' --index-url "
             "https://download.pytorch.org/whl/cu128")
    assert r["torch_build"].commands == (torch, f"mamba-doctor install --python {py}")
    assert "driver was not checked" in r["torch_build"].hint
    # the same torch for the same problem in the row that says the kernels are missing
    assert r["mamba_imports"].status is SKIP and r["mamba_imports"].commands[0] == torch
    report = build_report(Target.described(env))
    assert report.verdict == "fail" and [c.id for c in report.blocking] == ["driver",
                                                                             "torch_build"]


def test_healthy_rtx4090_venv_passes_everything_that_applies() -> None:
    env = env_from("target-2.5.1-cu124.stdout", RTX4090, nvcc="12.4")
    r = rows(env)
    assert {k: v.status for k, v in r.items() if v.status is not OK} == {}
    assert "sm_89" in r["gpu_arch_mamba"].summary  # runs the sm_80 cubin
    report = build_report(Target.described(env))
    assert report.verdict == "ok"
    assert report.next_steps == (f"Prove the kernels work: mamba-doctor smoke --python "
                                 f"{env.python.executable}",)


def test_ngc_container_with_broken_selective_scan() -> None:
    env = env_from("target-ngc-2.1.0a0.stdout", H100, nvcc="12.2")
    r = rows(env)
    assert r["torch_build"].status is OK and "NGC build" in r["torch_build"].summary
    assert r["mamba_imports"].status is FAIL
    assert "undefined symbol: _ZN3c104cuda9SetDeviceEi" in r["mamba_imports"].summary
    assert r["gpu_arch_torch"].status is OK
    report = build_report(Target.described(env))
    assert set(report.import_errors) == {"selective_scan_cuda", "mamba_ssm"}


@pytest.mark.parametrize(("driver", "cuda", "status", "text"), [
    ("550.54.15", "12.4", OK, "torch uses CUDA 12.4"),
    ("535.104.05", "12.2", WARN, "minor-version compatibility"),
    ("470.57.02", "11.4", FAIL, ">= 550.54.14"),
    ("470.57.02", None, FAIL, "from NVIDIA's driver table"),  # ceiling guessed from the table
])
def test_driver_ceiling_against_torch_cuda(driver, cuda, status, text) -> None:
    env = env_from("target-2.5.1-cu124.stdout",
                   nvidia("nvidia-smi-query-rtx4090.csv", driver, cuda))
    row = rows(env)["driver_cuda"]
    assert row.status is status
    assert text in row.summary + (row.hint or "")
    if status is FAIL:
        # a 470 driver runs CUDA 11.x only: the same torch release in its cu118 build, which it
        # runs through minor-version compatibility (said so), never a CUDA 12 one
        assert "-m pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cu118" \
            in row.hint
        assert "minor-version compatibility" in row.hint and "cu12" not in row.hint
    if status is WARN:
        assert row.blocking is False


def test_pascal_never_gets_mamba_kernels_and_new_torch_lacks_sm61() -> None:
    pascal = nvidia("nvidia-smi-query-gtx1080ti.csv", "535.183.01", "12.2")
    env = env_from("target-2.5.1-cu124.stdout", pascal,
                   arch_list=("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120",
                              "compute_120"))
    r = rows(env)
    assert r["gpu_arch_mamba"].status is FAIL and "Pascal" in r["gpu_arch_mamba"].summary
    assert r["gpu_arch_torch"].status is FAIL and "sm_61" in r["gpu_arch_torch"].summary
    # this torch has no sm_61 kernels, so a source build beside it cannot work: first a torch
    # that still targets Pascal (CUDA 12.1 can), then a build for sm_61; both rows say the same
    mamba, torch = r["gpu_arch_mamba"], r["gpu_arch_torch"]
    assert mamba.commands == torch.commands
    assert "whl/cu121" in torch.commands[0]
    assert torch.commands[1].endswith("--from-source --arch 6.1")


def test_volta_needs_an_older_mamba_release() -> None:
    v100 = replace(H100, gpus=tuple(replace(g, name="Tesla V100", compute_capability="7.0")
                                    for g in H100.gpus))
    env = env_from("target-2.5.1-cu124.stdout", v100)
    env = replace(env, packages={**env.packages,
                                 "mamba_ssm": PackageInfo("mamba_ssm", "2.3.2.post1", True)})
    row = rows(env)["gpu_arch_mamba"]
    # 2.3.2's cu12 wheels dropped sm_70; the resolver's pair for this machine still has it
    assert row.status is FAIL and "mamba_ssm 2.3.1 has cu12 wheels for it" in row.summary
    assert row.commands == (f"mamba-doctor install --python {env.python.executable}",)
    assert "mamba_ssm 2.3.0" in row.hint


def test_hidden_gpus_and_windows_and_macos() -> None:
    env = env_from("target-2.5.1-cu124.stdout",
                   nvidia("nvidia-smi-query-2xH100.csv", "550.54.15", "12.4", visible="abc"))
    row = rows(env)["gpu_visible"]
    assert row.status is FAIL and "'abc' is not a valid GPU" in row.summary
    win = rows(replace(env, os=OsInfo(system="Windows", arch="AMD64")))["platform"]
    assert win.status is FAIL and "WSL2" in win.hint and "MambaRef" in win.hint
    assert win.commands == ("wsl --install -d Ubuntu",)
    mac = rows(replace(env, os=OsInfo(system="Darwin", arch="arm64")))["platform"]
    assert mac.status is FAIL and "macOS" in mac.summary


def test_nvcc_major_mismatch_only_warns() -> None:
    row = rows(env_from("target-2.5.1-cu124.stdout", RTX4090, nvcc="13.0"))["nvcc"]
    assert row.status is WARN and row.blocking is False
    assert "major mismatch" in row.summary


@pytest.mark.parametrize(("glibc", "status"), [("2.35", OK), ("2.31", WARN), ("2.17", FAIL)])
def test_glibc_levels(glibc: str, status: CheckStatus) -> None:
    env = env_from("target-2.5.1-cu124.stdout", RTX4090, os_info=replace(LINUX, glibc=glibc))
    row = rows(env)["glibc"]
    assert row.status is status and row.blocking is False


def test_old_libstdcxx_warns() -> None:
    env = env_from("target-2.5.1-cu124.stdout", RTX4090, os_info=replace(LINUX, glibcxx="3.4.19"))
    row = rows(env)["libstdcxx"]
    assert row.status is WARN and "libstdcxx-ng" in row.hint


@pytest.mark.parametrize(("mamba", "conv", "status"), [
    ("2.2.4", "1.5.0.post8", OK),
    ("2.2.5", "1.4.0", FAIL),
    ("2.3.2.post1", "1.6.1", OK),
    ("1.1.1", "1.2.0.post2", FAIL),
    ("2.2.4", None, WARN),
])
def test_mamba_causal_conv1d_pairs(mamba, conv, status) -> None:
    env = env_from("target-2.5.1-cu124.stdout", RTX4090)
    env = replace(env, packages={**env.packages,
                                 "mamba_ssm": PackageInfo("mamba_ssm", mamba, True),
                                 "causal_conv1d": PackageInfo("causal_conv1d", conv, True)})
    row = rows(env)["mamba_versions"]
    assert row.status is status
    if status is not OK:  # the doctor's own pair resolution, never a hand-written pip line
        assert row.commands and row.commands[0].startswith("mamba-doctor install --python ")
        assert "pip install" not in row.hint


def test_torch_missing_or_crashing() -> None:
    env = env_from("target-no-torch.stdout", H100)
    row = rows(env)["torch_build"]
    assert row.status is FAIL and row.summary == "torch is not installed in the target"
    # the newest torch with mamba_ssm wheels whose CUDA the 550 driver (CUDA 12.4) runs fully
    assert row.commands[0] == (f"{env.python.executable} -m pip install 'torch==2.6.*' "
                               "--index-url https://download.pytorch.org/whl/cu124")
    crashed = env_from("target-2.5.1-cu124.stdout", H100,
                       error="`import torch` crashed the interpreter (SIGSEGV)\nFatal Python error",
                       reasons={"import": "`import torch` failed"})
    row = rows(crashed)["torch_build"]
    assert row.status is FAIL and "crashed the interpreter (SIGSEGV)" in row.summary
    py = crashed.python.executable
    assert row.commands == (f"{py} -c 'import torch' 2>&1 | mamba-doctor explain --python {py}",)


def test_tables() -> None:
    assert driver_ceiling("550.54.15") == "12.4" and driver_ceiling("470.57.02") == "11.4"
    assert driver_ceiling(None) is None
    assert sm_runs(86, (80,)) and not sm_runs(61, (53, 62)) and not sm_runs(90, (80,))
    index = load_index()
    sass = mamba_sass(index, "2.3.1", 12)
    assert mamba_sass(index, "2.2.6.post3", 13) and sass is not None and 120 in sass
    assert all(v.count(".") >= 1 for v in tables()["toolkit_driver"].values())
    # CUDA 11.8 cannot target an RTX 5090 (sm_120 needs 12.8); CUDA 13 dropped Volta
    assert cuda_targets((11, 8), 120) is False and cuda_targets((12, 8), 120) is True
    assert cuda_targets((13, 0), 70) is False and cuda_targets((12, 9), 70) is True
    # torch 2.7's cu128 build measured without sm_70; 2.8's cu128 has it again
    assert torch_runs_on("2.7", "cu128", 70) is False and torch_runs_on("2.8", "cu128", 70)
    assert torch_runs_on("2.0", "cu118", 120) is False and torch_runs_on("2.10", "cu128", 120)
    # a 470 driver (CUDA 11.4) runs CUDA 11.8 builds through minor-version compatibility,
    # never CUDA 12; a driver below the 11.x floor runs only what its ceiling says
    assert driver_runs((11, 8), "11.4", "470.57.02") is True
    assert driver_runs((12, 1), "11.4", "470.57.02") is False
    assert driver_runs((11, 8), "11.4", "450.51.05") is False
    assert driver_runs((12, 4), None, None) is None


def test_libcuda_only_driver_counts_as_present() -> None:
    nv = NvidiaInfo(cuda_driver_version="12.2",
                    gpus=parse_nvidia_smi_csv(fixture("nvidia-smi-query-rtx4090.csv")).gpus)
    r = rows(env_from("target-2.5.1-cu124.stdout", nv))
    assert r["driver"].status is OK and "version unknown" in r["driver"].summary
    assert r["driver_cuda"].status is WARN  # 12.2 < 12.4: minor-version compatibility


def test_import_errors_reach_the_diagnosis_engine() -> None:
    env = env_from("target-ngc-2.1.0a0.stdout", H100, nvcc="12.2")
    report = build_report(Target.described(env))
    found = report.diagnoses.get("selective_scan_cuda")
    assert found, report.diagnoses
    # the captured import error names a c10 symbol without std::string: torch's API moved
    assert found[0]["id"] == "torch-version-mismatch-undefined-symbol"
    assert any("undefined symbol: _ZN3c104cuda9SetDeviceEi" in line for line in found[0]["matched"])
    assert report.to_dict()["diagnoses"]["selective_scan_cuda"][0] == found[0]


@pytest.mark.parametrize(("version", "status"), [("3.11.9", OK), ("3.9.18", WARN),
                                                  ("3.14.0", WARN), (None, SKIP)])
def test_python_versions_with_wheels(version: str | None, status: CheckStatus) -> None:
    env = env_from("target-2.5.1-cu124.stdout", RTX4090)
    env = replace(env, python=replace(env.python, version=version,
                                      abi_tag=None if version is None else env.python.abi_tag))
    row = rows(env)["python"]
    assert row.status is status and row.blocking is False


def test_driver_cuda_and_visibility_wording_without_a_driver_version() -> None:
    from wheel_envs import make_env

    env = make_env(python="3.11", torch="2.13.0+cu130", cuda="13.0", abi=True, gpus=["h100"],
                   driver_cuda="12.4")  # libcuda told the ceiling, nothing told the version
    r = {c.id: c for c in build_report(Target.described(env)).checks}
    assert r["driver_cuda"].summary == "the driver supports CUDA <= 12.4 but torch needs CUDA 13.0"
    assert "None" not in r["gpu_visible"].summary and r["gpu_visible"].status is OK
    # torch 2.13 has no mamba_ssm wheel: the driver row's torch way out is the wheels row's
    # torch, within the driver's CUDA 12.4 (not a cu128 one through minor-version compatibility)
    assert r["wheels"].commands == r["driver_cuda"].commands
    assert "whl/cu124" in r["driver_cuda"].commands[0]
    assert r["driver_cuda"].hint.startswith("Upgrade the NVIDIA driver to >= 580.65.06, or: ")


def test_python_row_agrees_with_the_wheel_index() -> None:
    # check's python row and fetch-wheel must tell the same story: Python 3.8 has wheels
    # (mamba_ssm 2.2.2 for torch 2.0 cu118), it is not a "source build only" Python. The
    # release matrix (held out: the release workflows, wheels_index/SOURCES.md) gives the
    # newest release per Python.
    from mamba_doctor.check.system import check_python, newest_release_per_python
    from mamba_doctor.models import PythonInfo

    newest, latest = newest_release_per_python()
    assert (newest["3.7"], newest["3.8"], newest["3.9"]) == ("2.1.0", "2.2.2", "2.3.0")
    assert {py for py, v in newest.items() if v == latest} == {"3.10", "3.11", "3.12", "3.13"}
    rows = {v: check_python(Environment(python=PythonInfo(version=v))) for v in
            ("3.8.18", "3.11.9", "3.14.0")}
    assert rows["3.8.18"].status is WARN
    assert "only mamba_ssm <= 2.2.2 has wheels" in rows["3.8.18"].summary
    assert rows["3.11.9"].status is OK and "no prebuilt" in rows["3.14.0"].summary
