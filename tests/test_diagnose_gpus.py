"""GPU models and macOS home directories read from a log, and what they change in a diagnosis."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mamba_doctor.diagnose.engine import analyse
from mamba_doctor.diagnose.gpunames import read_gpus
from mamba_doctor.diagnose.logfacts import other_machine, read_log_facts
from mamba_doctor.diagnose.textscan import TextScan
from mamba_doctor.models import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_real_logs import LAPTOP  # noqa: E402

NO_IMAGE = "RuntimeError: CUDA error: no kernel image is available for execution on the device"


@pytest.mark.parametrize(("text", "sms"), [
    ("GPU 0: NVIDIA GeForce RTX 5090 (UUID: GPU-1)", (120,)),
    ("|   0  Quadro GP100                   Off | 00000000:18:00.0 Off |", (60,)),
    ("torch sees an NVIDIA A100-SXM4-80GB and a Tesla T4", (80, 75)),
    ("训练用的是特斯拉p40的显卡", (61,)),  # "a Tesla P40 card", in Chinese prose
    ("6*P100, Cuda11.8", (60,)),  # Markdown's italics turn the "*" into "_"
    ("DGX Spark GB10 (aarch64)", (121,)),
    ("GH200 and GB200 NVL72", (90, 100)),
    ("Jetson AGX Orin", (87,)),
    ("NVIDIA GeForce RTX 4090 with CUDA capability sm_89 is ok", (89,)),
])
def test_gpu_models_give_their_compute_capability(text: str, sms: tuple[int, ...]) -> None:
    assert tuple(sm for _name, sm in read_gpus(TextScan(text))) == sms


@pytest.mark.parametrize("text", [
    "loaded 3090 rows in 2080 ms",  # bare numbers are not GPUs
    "int4 quantisation, part4, id 0xb200, l4 cache",
    "the t4 checkpoint", "Successfully installed numpy-1.26.4 torch-2.4.0",
])
def test_numbers_and_short_tokens_are_not_gpus(text: str) -> None:
    assert read_gpus(TextScan(text)) == ()


def test_a_gpu_named_in_the_log_wins_over_the_probed_one() -> None:
    """"No kernel image" on a Blackwell card pasted next to a laptop with an RTX 4090: the log's
    GPU decides between a too-new and a too-old GPU, and the log is from another machine."""
    text = f"{NO_IMAGE}\nrunning on an NVIDIA GeForce RTX 5090"
    laptop = Environment.from_dict(LAPTOP)
    result = analyse(text, laptop, check_origin=True)
    assert result.diagnoses[0].id == "gpu-arch-too-new-blackwell"
    assert result.facts_from == "log"
    assert any("RTX 5090" in why and "sm_120" in why for why in result.other_machine)
    old = analyse(f"{NO_IMAGE}\nTesla P100-PCIE-16GB", laptop, check_origin=True)
    assert old.diagnoses[0].id == "gpu-arch-too-old"


def test_the_same_gpu_does_not_make_another_machine() -> None:
    facts = read_log_facts(TextScan("NVIDIA GeForce RTX 4090, CUDA 12.4"))
    assert facts.gpus == (("RTX 4090", 89),)
    assert other_machine(facts, Environment.from_dict(LAPTOP)) == []


@pytest.mark.parametrize(("text", "system"), [
    ('  File "/Users/b/zonos/model.py", line 8, in <module>', "Darwin"),
    ('  File "C:/Users/b/zonos/model.py", line 8', "Windows"),  # a Windows path with slashes
    ('  File "/home/me/Users/x/model.py", line 8', None),  # a directory named Users elsewhere
])
def test_a_macos_home_directory_is_macos(text: str, system: object) -> None:
    facts = read_log_facts(TextScan(text))
    assert facts.system == system or (system is None and facts.system != "Darwin")


def test_a_missing_mamba_on_a_mac_is_macos() -> None:
    text = ('  File "/Users/b/proj/model.py", line 8, in <module>\n'
            "    from mamba_ssm.utils.generation import InferenceParams\n"
            "ModuleNotFoundError: No module named 'mamba_ssm'")
    assert analyse(text).diagnoses[0].id == "macos-unsupported"
    linux = text.replace("/Users/b/", "/home/b/")
    assert all(d.id != "macos-unsupported" for d in analyse(linux).diagnoses)


def test_an_x86_64_extension_on_aarch64() -> None:
    text = ("pip install mamba-ssm on aarch64 (GH200): the wheel ships "
            "selective_scan_cuda.cpython-312-x86_64-linux-gnu.so")
    assert analyse(text).diagnoses[0].id == "aarch64-no-wheel"
    x86 = text.replace("on aarch64 (GH200)", "on a workstation")
    assert all(d.id != "aarch64-no-wheel" for d in analyse(x86).diagnoses)


def test_the_abi_tag_survives_markdown() -> None:
    """Bold markers eat the underscores of std::__cxx11 in a pasted symbol."""
    symbol = ("_ZN3c107WarningC1ESt7variantIJNS0_11UserWarningENS0_18DeprecationWarningEEERKNS"
              "_14SourceLocationENSt7{}cxx1112basic_stringIcSt11char_traitsIcESaIcEEEb")
    for eaten in ("__", "**", ""):
        text = (f"ImportError: /env/lib/python3.10/site-packages/causal_conv1d_cuda.cpython-310-"
                f"x86_64-linux-gnu.so: undefined symbol: {symbol.format(eaten)}")
        assert analyse(text).diagnoses[0].id == "cxx11-abi-mismatch", eaten


def test_a_resolver_that_replaces_torch_in_words() -> None:
    said = "pip install mamba-ssm --no-build-isolation will automatically upgrade my torch to 2.11"
    assert analyse(said).diagnoses[0].id == "pip-resolver-upgrades-torch"
    # the user's own commands are not the resolver's doing
    for own in ("then I ran pip uninstall torch and installed 2.4", "I will update torch later"):
        assert all(d.id != "pip-resolver-upgrades-torch" for d in analyse(own).diagnoses), own


def test_partial_facts_from_a_log_never_claim_what_they_do_not_know() -> None:
    """A log that names only a GPU (or only a torch version) says nothing about torch's CUDA:
    the fixes must not call that torch missing or CPU-only."""
    laptop = Environment.from_dict(LAPTOP)
    for text in (f"{NO_IMAGE}\nrunning on an NVIDIA GeForce RTX 5090",
                 "aarch64 box, torch 2.10: the wheel ships "
                 "selective_scan_cuda.cpython-312-x86_64-linux-gnu.so"):
        result = analyse(text, laptop, check_origin=True)
        assert result.facts_from == "log"
        fixes = " ".join(result.diagnoses[0].fix)
        assert "not installed" not in fixes and "not a CUDA build" not in fixes, fixes
        assert "mamba-doctor install" in fixes
