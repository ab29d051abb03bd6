"""Each fact is derived once: the GPUs torch will use, the toolkit's nvcc, the C++ ABI rule."""

from __future__ import annotations

from mamba_doctor.check.gpu import check_gpu_arch_mamba
from mamba_doctor.diagnose.facts import fix_values
from mamba_doctor.install.build import target_archs
from mamba_doctor.models import Environment, GpuInfo, NvidiaInfo, TorchInfo, visible_gpus
from mamba_doctor.probe.nvidia_parse import parse_cuda_visible_devices
from mamba_doctor.wheels.facts import facts_of

# A V100 and an H100; CUDA_VISIBLE_DEVICES=1 hides the V100 from torch.
GPUS = (GpuInfo(0, "Tesla V100-SXM2-32GB", "7.0"), GpuInfo(1, "NVIDIA H100 80GB HBM3", "9.0"))


def _env(visible: str | None) -> Environment:
    marked, _note = parse_cuda_visible_devices(visible, GPUS)
    return Environment(
        nvidia=NvidiaInfo(driver_version="550.54.15", gpus=marked, cuda_visible_devices=visible),
        torch=TorchInfo(installed=True, version="2.4.1+cu121", cuda="12.1", cxx11abi=False))


def test_every_stage_sees_the_gpus_cuda_visible_devices_leaves() -> None:
    env = _env("1")
    assert [g.sm for g in visible_gpus(env)] == [90]
    assert [sm for _, sm in facts_of(env).gpus] == [90]  # the wheel fit
    assert target_archs(env, None) == (90,)  # install --from-source builds for the H100 only
    assert fix_values(env)["gpu_sm"] == "90"  # explain's fixes
    assert "sm_70" not in check_gpu_arch_mamba(env).summary  # check's row
    both = _env(None)
    assert target_archs(both, None) == (70, 90) and len(facts_of(both).gpus) == 2


def test_torch_view_is_the_fallback_when_the_driver_listed_no_capability() -> None:
    env = Environment(torch=TorchInfo(installed=True, version="2.4.1+cu121", cuda="12.1",
                                      capabilities=("8.6",)))
    assert [g.sm for g in visible_gpus(env)] == [86]
    assert target_archs(env, None) == (86,) and fix_values(env)["gpu_sm"] == "86"
