"""NVIDIA probe: parsers on recorded outputs, fallbacks with a fake runner, the real probe."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.models import GpuInfo
from mamba_doctor.probe.nvidia import probe_nvidia
from mamba_doctor.probe.nvidia_parse import (
    decode_cuda_version,
    parse_cuda_visible_devices,
    parse_nvidia_smi_csv,
    parse_nvidia_smi_header,
    parse_nvml_json,
    parse_proc_driver_version,
    parse_sys_module_version,
)

NVML = (sys.executable, "-I", "-S", "-c", "<snippet>", "nvml")
SMI_QUERY = ("nvidia-smi", "--query-gpu=index,name,compute_cap,memory.total,uuid,driver_version")
SMI_OLD = ("nvidia-smi", "--query-gpu=index,name,memory.total,uuid,driver_version")
SMI_PLAIN = ("nvidia-smi",)


def test_parse_query_csv_two_gpus() -> None:
    rep = parse_nvidia_smi_csv(fixture("nvidia-smi-query-2xH100.csv"))
    assert rep.error is None and rep.driver_version == "550.54.15"
    assert [g.index for g in rep.gpus] == [0, 1]
    assert rep.gpus[1] == GpuInfo(1, "NVIDIA H100 80GB HBM3", "9.0", 81559,
                                  "GPU-a13f07d2-8b5e-4a60-b1c2-77e9d0f3a2b8")
    assert rep.gpus[0].sm == 90


def test_parse_query_csv_without_compute_cap_for_old_drivers() -> None:
    rep = parse_nvidia_smi_csv(fixture("nvidia-smi-query-old-driver-nocc.csv"),
                               with_compute_cap=False)
    assert rep.driver_version == "470.57.02"
    assert [(g.name, g.compute_capability, g.memory_mib) for g in rep.gpus] == [
        ("Tesla V100-SXM2-16GB", None, 16160)] * 2


@pytest.mark.parametrize("name", ["nvidia-smi-garbage.stdout", "nvidia-smi-failed.stdout",
                                  "nvidia-smi-plain-550.txt", "nvidia-smi-query-old-driver.stdout"])
def test_parse_query_csv_rejects_garbage(name: str) -> None:
    rep = parse_nvidia_smi_csv(fixture(name))
    assert rep.gpus == () and rep.driver_version is None
    assert rep.error and "unrecognised nvidia-smi output" in rep.error


@pytest.mark.parametrize(("name", "driver", "cuda"), [
    ("nvidia-smi-plain-550.txt", "550.54.15", "12.4"),
    ("nvidia-smi-plain-470.txt", "470.57.02", "11.4"),
    ("nvidia-smi-plain-umd.txt", "610.47", "13.3"),   # the renamed "CUDA UMD Version" label
    ("nvidia-smi-garbage.stdout", None, None),
])
def test_parse_plain_header(name: str, driver: str | None, cuda: str | None) -> None:
    assert parse_nvidia_smi_header(fixture(name)) == (driver, cuda)


@pytest.mark.parametrize(("name", "version"), [
    ("proc-driver-nvidia-version-550.txt", "550.54.15"),
    ("proc-driver-nvidia-version-open-570.txt", "570.195.03"),
    ("proc-version-wsl2.txt", None),
])
def test_parse_proc_driver_version(name: str, version: str | None) -> None:
    assert parse_proc_driver_version(fixture(name)) == version


def test_parse_sys_module_version_and_cuda_int() -> None:
    assert parse_sys_module_version("550.144.03\n") == "550.144.03"
    assert parse_sys_module_version("garbage") is None
    assert [decode_cuda_version(v) for v in (12040, 11080, 13000, 0, None, True)] == [
        "12.4", "11.8", "13.0", None, None, None]


def test_parse_nvml_json_sections() -> None:
    nvml, cuda = parse_nvml_json(fixture("nvml-2xH100.json"))
    assert (nvml.driver_version, nvml.cuda_driver_version, len(nvml.gpus)) == ("550.54.15",
                                                                                "12.4", 2)
    assert cuda.error == "not tried"
    nvml, cuda = parse_nvml_json("noise\n" + fixture("nvml-libcuda-only.json"))
    assert nvml.error == "libnvidia-ml.so.1 not found"
    assert (cuda.cuda_driver_version, cuda.gpus[0].compute_capability) == ("12.2", "8.0")
    assert parse_nvml_json("Segmentation fault")[0].error == "the NVML probe printed no result"


GPUS = parse_nvidia_smi_csv(fixture("nvidia-smi-query-2xH100.csv")).gpus


@pytest.mark.parametrize(("value", "visible", "note"), [
    (None, [True, True], None),
    ("1", [False, True], None),
    ("1,0", [True, True], None),
    ("1gpu", [False, True], None),            # CUDA reads ordinals like strtoul
    ("", [False, False], "empty"),
    ("abc", [False, False], "'abc' is not a valid GPU"),
    ("0,abc,1", [True, False], "ignores it and everything after it"),
    ("-1", [False, False], "not a valid GPU"),
    ("7", [False, False], "not a valid GPU"),
    ("0,0", [False, False], "repeats a device"),
    ("GPU-a13f", [False, True], None),        # a unique UUID prefix is enough
    ("GPU-ffff", [False, False], "not a valid GPU"),
    ("MIG-4b5f2c1e-aaaa-bbbb-cccc-000000000000", [None, None], "MIG"),
])
def test_cuda_visible_devices(value: str | None, visible: list, note: str | None) -> None:
    gpus, why = parse_cuda_visible_devices(value, GPUS)
    assert [g.visible for g in gpus] == visible
    if note is None:
        assert why is None
    else:
        assert why is not None and note in why


def test_nvml_answers_everything_and_smi_is_not_run(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done(fixture("nvml-2xH100.json"))})
    info = probe_nvidia(run=run, environ={"CUDA_VISIBLE_DEVICES": "1"}, root=tmp_path)
    assert (info.driver_version, info.cuda_driver_version) == ("550.54.15", "12.4")
    assert info.sources == {"driver_version": "nvml", "cuda_driver_version": "nvml",
                            "gpus": "nvml"}
    assert [g.visible for g in info.gpus] == [False, True]
    assert info.cuda_visible_devices == "1"
    assert run.called("nvidia-smi") == 0
    # the child enumerates every GPU: CUDA_VISIBLE_DEVICES is applied by us, not by the driver
    assert "CUDA_VISIBLE_DEVICES" not in run.envs[0]


def test_no_nvml_falls_back_to_procfs_and_nvidia_smi(tmp_path: Path) -> None:
    proc = tmp_path / "proc/driver/nvidia"
    proc.mkdir(parents=True)
    (proc / "version").write_text(fixture("proc-driver-nvidia-version-550.txt"))
    run = FakeRunner({NVML: done(fixture("nvml-absent.json")),
                      SMI_QUERY: done(fixture("nvidia-smi-query-2xH100.csv")),
                      SMI_PLAIN: done(fixture("nvidia-smi-plain-550.txt"))})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert info.driver_version == "550.54.15" and info.cuda_driver_version == "12.4"
    assert info.sources == {"driver_version": "procfs", "gpus": "nvidia-smi",
                            "cuda_driver_version": "nvidia-smi"}
    assert len(info.gpus) == 2 and all(g.visible for g in info.gpus)


def test_old_driver_without_compute_cap_field(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done(fixture("nvml-absent.json")),
                      SMI_QUERY: done(fixture("nvidia-smi-query-old-driver.stdout"), rc=2),
                      SMI_OLD: done(fixture("nvidia-smi-query-old-driver-nocc.csv")),
                      SMI_PLAIN: done(fixture("nvidia-smi-plain-470.txt"))})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert (info.driver_version, info.cuda_driver_version) == ("470.57.02", "11.4")
    assert [g.name for g in info.gpus] == ["Tesla V100-SXM2-16GB"] * 2
    assert info.gpus[0].compute_capability is None


def test_hanging_and_failing_nvidia_smi_are_findings(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done(fixture("nvml-absent.json")),
                      SMI_QUERY: done(timed_out=True)})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert info.driver_version is None and info.gpus == ()
    assert "did not finish in time" in info.reasons["driver_version"]
    assert "driver or a GPU is hung" in info.reasons["driver_unresponsive"]

    run = FakeRunner({NVML: done(fixture("nvml-absent.json")),
                      SMI_QUERY: done(fixture("nvidia-smi-failed.stdout"), rc=9)})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert "couldn't communicate with the NVIDIA driver" in info.reasons["driver_version"]
    assert "driver_unresponsive" not in info.reasons  # a failing nvidia-smi is not a hung one


def test_garbage_nvidia_smi_with_exit_0(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done(fixture("nvml-absent.json")),
                      SMI_QUERY: done(fixture("nvidia-smi-garbage.stdout"))})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert info.driver_version is None
    assert "unrecognised nvidia-smi output" in info.reasons["gpus"]


def test_nvml_failing_with_version_mismatch_uses_sysfs(tmp_path: Path) -> None:
    sysmod = tmp_path / "sys/module/nvidia"
    sysmod.mkdir(parents=True)
    (sysmod / "version").write_text("550.120\n")
    run = FakeRunner({NVML: done(fixture("nvml-mismatch.json")),
                      SMI_QUERY: done(fixture("nvidia-smi-garbage.stdout"), rc=18)})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert info.driver_version == "550.120" and info.sources["driver_version"] == "sysfs"
    assert "NVML/RM version mismatch" in info.reasons["cuda_driver_version"]


def test_libcuda_answers_when_nvml_is_missing(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done(fixture("nvml-libcuda-only.json")),
                      SMI_QUERY: done(start_error="No such file or directory")})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert info.cuda_driver_version == "12.2" and info.sources["cuda_driver_version"] == "libcuda"
    assert info.gpus[0].name == "NVIDIA A100-SXM4-40GB"
    assert info.driver_version is None and "nvidia-smi not found" in info.reasons["driver_version"]


def test_nvml_child_that_crashes_is_recorded(tmp_path: Path) -> None:
    run = FakeRunner({NVML: done("", rc=-11)})
    info = probe_nvidia(run=run, environ={}, root=tmp_path)
    assert "crashed (SIGSEGV)" in info.reasons["driver_version"]


def test_real_probe_on_this_machine() -> None:
    info = probe_nvidia(environ=dict(os.environ))
    has_driver = Path("/proc/driver/nvidia/version").exists() or Path(
        "/sys/module/nvidia/version").exists()
    assert (info.driver_version is not None) == has_driver or info.sources.get(
        "driver_version") in ("nvml", "nvidia-smi")
    if info.driver_version is None:
        assert "libnvidia-ml.so.1 not found" in info.reasons["driver_version"]


SUPERSCRIPT_SMI = ("\u00b2, NVIDIA H100 80GB HBM3, 9.0, 81559, GPU-5e1b, 550.54.15\n"
                   "0, NVIDIA H100 80GB HBM3, \u00b9.0, 81559, GPU-6f2c, 550.54.15\n"
                   + "9" * 5000 + ", NVIDIA H100, 9.0, 81559, GPU-7a3d, 550.54.15\n"
                   "1, NVIDIA H100 80GB HBM3, 9.0, 81559, GPU-8b4e, 550.54.15\n")


def test_superscript_and_huge_indexes_are_skipped_not_fatal() -> None:
    report = parse_nvidia_smi_csv(SUPERSCRIPT_SMI)
    assert [(g.index, g.uuid) for g in report.gpus] == [(1, "GPU-8b4e")]


@pytest.mark.slow
def test_check_survives_a_fake_nvidia_smi_printing_superscripts(tmp_path: Path) -> None:
    import json
    import subprocess

    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nprintf '%s' '" + SUPERSCRIPT_SMI.replace("'", "") + "'\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([sys.executable, "-m", "mamba_doctor", "check", "--json"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 3), out.stdout[-1500:] + out.stderr[-1500:]
    gpus = json.loads(out.stdout)["data"]["environment"]["nvidia"]["gpus"]
    assert all(isinstance(g["index"], int) for g in gpus)
