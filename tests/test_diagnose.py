"""The diagnosis engine and its knowledge base: fixtures, look-alikes, tailoring, speed."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Optional

import pytest

from mamba_doctor.advice import ACTIONS
from mamba_doctor.diagnose.engine import MAX_LINE, MIN_SCORE, Diagnosis, diagnose, render_diagnoses
from mamba_doctor.diagnose.facts import PLACEHOLDERS, check_rule, fact_is_valid, placeholders_in
from mamba_doctor.knowledge.failures import KB_PATH, load_knowledge, load_raw, validate
from mamba_doctor.models import Environment, GpuInfo, NvidiaInfo, OsInfo, PythonInfo, TorchInfo

LOGS = Path(__file__).parent / "fixtures" / "logs"
ACCURACY_FLOOR = 0.95

# The 40 ids of shared/reference/failures/failures.json (kept here: tests must not read outside
# the repository), plus the modes this project added from its own evidence (the real-log corpus
# in tests/fixtures/logs_real).
REFERENCE_IDS = {
    "torch-version-mismatch-undefined-symbol", "no-prebuilt-wheel-slow-source-build",
    "causal-conv1d-mamba-version-skew", "causal-conv1d-unavailable-nonetype",
    "nvcc-not-found-bare-metal-version", "build-isolation-missing-build-deps",
    "windows-native-unsupported", "vendored-fork-api-mismatch", "cxx11-abi-mismatch",
    "github-wheel-download-failed", "gpu-arch-too-old", "selective-scan-cuda-not-built",
    "nvcc-torch-cuda-major-mismatch", "gpu-arch-too-new-blackwell", "triton-too-old",
    "build-isolation-wrong-torch", "mamba-api-drift-downstream", "sdist-missing-csrc",
    "glibc-glibcxx-too-old", "nvcc-too-old-or-wrong-cuda-home", "stale-pip-wheel-cache",
    "pip-resolver-upgrades-torch", "triton-too-new-for-old-mamba", "ngc-container-torch",
    "macos-unsupported", "triton-gpu-ptxas-unsupported", "aarch64-no-wheel",
    "build-resources-ninja-oom", "host-compiler-incompatible", "python-version-no-wheel",
    "rocm-build", "triton-missing", "triton-launcher-compile-failed", "cuda-dev-headers-missing",
    "driver-too-old-cuda13", "old-source-vs-new-torch", "local-checkout-shadowing",
    "extension-import-order-libc10", "mamba3-deps", "torch-cpu-build",
}
ADDED_IDS = {"no-gpu-visible", "mamba-broken-release", "host-compiler-missing",
             "pinned-version-not-published", "pypi-sdist-only-no-binary",
             "triton-shared-memory-out-of-resources", "torch-too-old-for-setup",
             "triton-ptx-isa-newer-than-ptxas", "causal-conv1d-cuda-not-built",
             "no-wheel-for-new-torch", "triton-nondefault-cuda-device",
             "mamba-ssm-not-installed", "project-cuda-kernel-not-built",
             "tilelang-tvm-ffi-incompatible", "mamba-ssm-too-old-for-project",
             "transformers-too-old-for-model", "transformers-too-new-for-torch",
             "setuptools-incompatible",
             # added on 2026-12-07 for causes round 10 showed (`new:` labels and the faces of
             # known ones), after it was measured and spent
             "espeak-ng-not-found", "project-package-not-installed",
             "windows-triton-dll-load-failed", "windows-msvc-output-decode-error",
             "torchaudio-torch-mismatch", "torchaudio-audio-backend-missing",
             "extension-cuda-major-mismatch", "huggingface-hub-too-new",
             "setup-py-install-easy-install", "conda-compiler-compat-ld",
             "zetascale-version-mismatch",
             # added on 2026-12-07 from a spent part's `new:` label (heldout7's vllm-7651)
             "mamba-python-dependency-missing",
             # added on 2026-12-07 from round 15's tune half (`new:` labels of tune15)
             "rocm-pip-pulls-cuda-triton", "mamba3-tilelang-shared-memory-exceeds-gpu",
             # added on 2026-12-07 from round 17's tune half (`new:` labels of tune17)
             "transformers-too-new-for-mamba-generation", "numpy2-with-numpy1-built-torch",
             # added on 2026-12-08 from a spent part's `new:` label (heldout11's mamba-914)
             "mamba3-ptx-inline-asm-on-rocm"}
SHARED_REFERENCE = Path("/work/shared/reference/failures/failures.json")


def _fixtures(prefix: str) -> list[Path]:
    return sorted(p for p in LOGS.glob("*.txt") if p.name.startswith(prefix))


POSITIVE = [p for p in _fixtures("") if not p.name.startswith("negative__")]
NEGATIVE = _fixtures("negative__")


def _expected(path: Path) -> str:
    return path.stem.split("__")[0]


def _env_for(path: Path) -> Optional[Environment]:
    side = path.with_name(path.stem + ".env.json")
    return Environment.from_dict(json.loads(side.read_text())) if side.exists() else None


def _run(path: Path) -> tuple[Diagnosis, ...]:
    return diagnose(path.read_text(encoding="utf-8"), _env_for(path), limit=0)


# ---------------------------------------------------------------- knowledge base schema

def test_knowledge_base_is_valid() -> None:
    assert validate(load_raw(), fact_is_valid=fact_is_valid) == []


def test_ids_are_the_reference_ids_plus_the_added_mode() -> None:
    ids = [m.id for m in load_knowledge().modes]
    assert len(ids) == len(set(ids))
    assert set(ids) == REFERENCE_IDS | ADDED_IDS
    if SHARED_REFERENCE.exists():  # the research file itself, when this checkout has it
        assert {e["id"] for e in json.loads(SHARED_REFERENCE.read_text())} == REFERENCE_IDS


def test_every_entry_has_its_fields_and_usable_templates() -> None:
    raw = load_raw()
    assert raw["schema_version"] == 1
    for m in raw["modes"]:
        assert m["title"] and m["cause"] and m["fixes"] and m["probe"] is not None, m["id"]
        strengths = {s.get("strength") for s in m["signatures"]}
        assert "decisive" in strengths, m["id"]
        for fix in m["fixes"]:
            if isinstance(fix, dict) and "advice" in fix:  # left to the advice engine
                assert fix["advice"] in ACTIONS, (m["id"], fix["advice"])
                texts = [fix["generic"]]
            else:
                texts = [fix] if isinstance(fix, str) else [fix["tailored"], fix["generic"]]
            for text in texts:
                unknown = placeholders_in(text) - set(PLACEHOLDERS)
                assert not unknown, (m["id"], unknown)
    assert validate(raw, fact_is_valid=fact_is_valid, advice_actions=tuple(ACTIONS)) == []


def test_validate_reports_broken_entries() -> None:
    raw = load_raw()
    bad = json.loads(json.dumps(raw))
    entry = bad["modes"][0]
    entry["signatures"] = [{"kind": "regex", "pattern": "(unclosed", "anchor": "x",
                            "example": "x", "strength": "strong", "weight": 3}]
    entry["phase"] = "someday"
    entry["related"] = ["no-such-mode"]
    bad["modes"].append(dict(bad["modes"][1]))
    problems = "\n".join(validate(bad, fact_is_valid=fact_is_valid))
    for needle in ("does not compile", "unknown phase", "no-such-mode", "duplicate ids"):
        assert needle in problems


def test_fact_names_follow_the_environment_model() -> None:
    assert fact_is_valid("torch.cxx11abi")
    assert fact_is_valid("nvidia.gpus[].compute_capability")
    assert fact_is_valid("packages.mamba_ssm.version")
    assert not fact_is_valid("torch.nonsense")
    assert not fact_is_valid("gpu.name")


def test_knowledge_base_ships_inside_the_package() -> None:
    assert KB_PATH.parent.name == "knowledge" and KB_PATH.parent.parent.name == "mamba_doctor"
    assert load_knowledge() is load_knowledge()  # parsed and compiled once


# ---------------------------------------------------------------- fixtures

def test_every_mode_has_a_fixture() -> None:
    covered = {_expected(p) for p in POSITIVE}
    assert {m.id for m in load_knowledge().modes} <= covered
    assert len(NEGATIVE) >= 4
    assert len([p for p in POSITIVE if "noisy" in p.name]) >= 5


def test_the_docs_list_every_mode() -> None:
    """docs/explain.md's table of covered modes, one row per mode with its phase and title (it
    had fallen five modes behind)."""
    doc = (Path(__file__).parent.parent / "docs" / "explain.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z ]+) \| ", doc, re.M))
    assert rows == {m.id: m.phase.replace("_", " ") for m in load_knowledge().modes}


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.stem)
def test_fixture_ranks_its_mode_first(path: Path) -> None:
    found = _run(path)
    assert found, f"{path.name}: no diagnosis"
    assert found[0].id == _expected(path), [(d.id, d.score) for d in found]
    assert found[0].matched, "a diagnosis must show the lines that support it"


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_unrelated_text_gives_no_diagnosis(path: Path) -> None:
    assert _run(path) == ()


def test_top1_accuracy_floor_and_no_false_positives() -> None:
    hits = sum(1 for p in POSITIVE if (found := _run(p)) and found[0].id == _expected(p))
    accuracy = hits / len(POSITIVE)
    false_positives = [p.name for p in NEGATIVE if _run(p)]
    figure = (f"top-1 accuracy {hits}/{len(POSITIVE)} = {accuracy:.3f}; "
              f"false positives {len(false_positives)}/{len(NEGATIVE)}")
    print(figure)  # noqa: T201  # the measured figure, shown with -s
    assert accuracy >= ACCURACY_FLOOR
    assert false_positives == []


def test_noisy_log_evidence_is_the_error_not_the_noise() -> None:
    found = _run(LOGS / "build-isolation-missing-build-deps__noisy.txt")
    assert any("No module named 'torch'" in line for line in found[0].matched)
    assert not any(line.startswith("Collecting") for line in found[0].matched)


# ---------------------------------------------------------------- look-alikes and environment

CXX11_SYMBOL = ("ImportError: /env/site-packages/selective_scan_cuda.cpython-310-x86_64-linux-gnu."
                "so: undefined symbol: _ZN3c106detail14torchCheckFailEPKcS2_jRKNSt7__cxx1112basic_"
                "stringIcSt11char_traitsIcESaIcEEE")
PLAIN_SYMBOL = ("ImportError: /env/site-packages/selective_scan_cuda.cpython-310-x86_64-linux-gnu."
                "so: undefined symbol: _ZN3c104cuda9SetDeviceEi")


def _torch(version: str, cuda: Optional[str], abi: Optional[bool]) -> Environment:
    return Environment(torch=TorchInfo(installed=True, version=version, cuda=cuda, cxx11abi=abi))


@pytest.mark.parametrize(("env", "expected"), [
    (None, "cxx11-abi-mismatch"),  # std::__cxx11 in the symbol is the classic ABI sign
    (_torch("2.5.1+cu124", "12.4", False), "cxx11-abi-mismatch"),  # torch has the old ABI
    (_torch("2.8.0+cu128", "12.8", True), "torch-version-mismatch-undefined-symbol"),
])
def test_abi_versus_torch_version_for_a_cxx11_symbol(env: Optional[Environment],
                                                     expected: str) -> None:
    assert diagnose(CXX11_SYMBOL, env)[0].id == expected


def test_a_symbol_without_strings_is_never_an_abi_problem() -> None:
    for env in (None, _torch("2.5.1+cu124", "12.4", False), _torch("2.7.0+cu126", "12.6", True)):
        ids = [d.id for d in diagnose(PLAIN_SYMBOL, env, limit=0)]
        assert ids[0] == "torch-version-mismatch-undefined-symbol"
        assert "cxx11-abi-mismatch" not in ids


# c10::Warning's constructor names torch's variant type: c10::variant up to torch 2.1, std::variant
# from 2.2 (pytorch/pytorch#103675, #112725). The old-generation symbol cannot exist in torch 2.5
# whichever its ABI, so there the answer is the torch version, not the ABI flag.
C10_VARIANT_WARNING = (
    "ImportError: /env/site-packages/causal_conv1d_cuda.cpython-311-x86_64-linux-gnu.so: "
    "undefined symbol: _ZN3c107WarningC1ENS_7variantIJNS0_11UserWarningENS0_18Deprecation"
    "WarningEEEERKNS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEb")
STD_VARIANT_WARNING = C10_VARIANT_WARNING.replace(
    "ENS_7variantIJNS0_11UserWarningENS0_18DeprecationWarningEEEE",
    "ESt7variantIJNS0_11UserWarningENS0_18DeprecationWarningEEE")


@pytest.mark.parametrize(("text", "env", "expected"), [
    # built against torch <= 2.1, torch 2.5 with the old ABI installed: not the ABI flag
    (C10_VARIANT_WARNING, _torch("2.5.1+cu124", "12.4", False),
     "torch-version-mismatch-undefined-symbol"),
    # built against torch >= 2.2, torch 2.1 installed
    (STD_VARIANT_WARNING, _torch("2.1.2+cu121", "12.1", False),
     "torch-version-mismatch-undefined-symbol"),
    # the same generation on both sides: the ABI flag is what differs, as before
    (STD_VARIANT_WARNING, _torch("2.5.1+cu124", "12.4", False), "cxx11-abi-mismatch"),
    (C10_VARIANT_WARNING, _torch("2.1.2+cu121", "12.1", False), "cxx11-abi-mismatch"),
    # no torch known: the std::__cxx11 sign stands
    (C10_VARIANT_WARNING, None, "cxx11-abi-mismatch"),
])
def test_the_warning_symbols_variant_names_the_torch_it_was_built_for(
        text: str, env: Optional[Environment], expected: str) -> None:
    found = diagnose(text, env)
    assert found[0].id == expected
    if expected.startswith("torch-version"):
        assert any("c10::Warning" in c for c in found[0].confirmed)


def test_confirmation_from_the_machine_is_reported() -> None:
    found = diagnose(CXX11_SYMBOL, _torch("2.5.1+cu124", "12.4", False))
    assert any("ABI" in c for c in found[0].confirmed)


NO_KERNEL = "RuntimeError: CUDA error: no kernel image is available for execution on the device"


def _gpu(cc: str, name: str) -> Environment:
    return Environment(nvidia=NvidiaInfo(driver_version="580.65.06", cuda_driver_version="13.0",
                                         gpus=(GpuInfo(0, name, cc),)),
                       python=PythonInfo(version="3.10.14", abi_tag="cp310",
                                         platform_tag="linux_x86_64"),
                       torch=TorchInfo(installed=True, version="2.4.1+cu121", cuda="12.1",
                                       cxx11abi=False))


@pytest.mark.parametrize(("env", "expected", "way"), [
    # Pascal: no release has its SASS, so a build for it with torch 2.4's CUDA 12
    (_gpu("6.1", "NVIDIA GeForce GTX 1080 Ti"), "gpu-arch-too-old", "--from-source --arch 6.1"),
    # Volta: the newest release with sm_70 cubins for this torch
    (_gpu("7.0", "Tesla V100-SXM2-32GB"), "gpu-arch-too-old", "mamba_ssm 2.3.0"),
    # Blackwell: torch 2.4's CUDA 12.1 has no kernels for it, a CUDA >= 12.8 torch does
    (_gpu("12.0", "NVIDIA GeForce RTX 5090"), "gpu-arch-too-new-blackwell", "/whl/cu128"),
    (_gpu("10.0", "NVIDIA B200"), "gpu-arch-too-new-blackwell", "/whl/cu128"),
])
def test_pascal_versus_blackwell_for_no_kernel_image(env: Environment, expected: str,
                                                     way: str) -> None:
    found = diagnose(NO_KERNEL, env, limit=0)
    assert found[0].id == expected
    # The GPU re-ranks the look-alikes; it does not suppress the other decisive match.
    assert len(found) == 2 and found[1].score < found[0].score
    fixes = " ".join(found[0].fix)
    assert way in fixes, fixes
    assert "cc_flag" not in fixes and "MAMBA_FORCE_BUILD" not in fixes  # the doctor's own way


def test_no_kernel_image_without_environment_lists_both() -> None:
    ids = {d.id for d in diagnose(NO_KERNEL)}
    assert ids == {"gpu-arch-too-old", "gpu-arch-too-new-blackwell"}


NOT_AVAILABLE = "smoke: torch.cuda.is_available() is False"
PROBED = PythonInfo(executable="/venv/bin/python")


@pytest.mark.parametrize(("env", "expected"), [
    (Environment(python=PROBED, torch=TorchInfo(version="2.13.0+cpu", cuda=None),
                 nvidia=NvidiaInfo(driver_version="570.86.15", cuda_driver_version="12.8")),
     "torch-cpu-build"),
    (Environment(python=PROBED, torch=TorchInfo(version="2.8.0+cu128", cuda="12.8"),
                 nvidia=NvidiaInfo(driver_version="535.183.01", cuda_driver_version="12.2")),
     "driver-too-old-cuda13"),
    (Environment(python=PROBED, torch=TorchInfo(version="2.5.1+cu124", cuda="12.4")),
     "no-gpu-visible"),
    (Environment(python=PROBED, torch=TorchInfo(version="2.5.1+cu124", cuda="12.4"),
                 nvidia=NvidiaInfo(driver_version="550.54.15", cuda_driver_version="12.4",
                                   cuda_visible_devices="")),
     "no-gpu-visible"),
])
def test_cpu_torch_versus_old_driver_versus_no_driver(env: Environment, expected: str) -> None:
    assert diagnose(NOT_AVAILABLE, env)[0].id == expected


def test_torch_not_compiled_with_cuda_on_a_mac_is_the_mac() -> None:
    env = Environment(os=OsInfo(system="Darwin", arch="arm64"),
                      torch=TorchInfo(version="2.5.1", cuda=None))
    text = "AssertionError: Torch not compiled with CUDA enabled"
    assert diagnose(text)[0].id == "torch-cpu-build"
    assert diagnose(text, env)[0].id == "macos-unsupported"


def test_rules_ignore_unknown_facts() -> None:
    empty = Environment()
    assert check_rule(empty, "nvidia.gpus[].compute_capability", "sm_lt", 75) is None
    assert check_rule(empty, "torch.cuda", "missing", True, if_known="torch.version") is None
    assert check_rule(_torch("2.5.1", None, None), "torch.cuda", "missing", True,
                      if_known="torch.version") is True


# ---------------------------------------------------------------- fixes

FULL_ENV = Environment(
    os=OsInfo(system="Linux", arch="x86_64", glibc="2.35"),
    nvidia=NvidiaInfo(driver_version="550.54.15", cuda_driver_version="12.4",
                      gpus=(GpuInfo(0, "NVIDIA A100-SXM4-80GB", "8.0"),)),
    python=PythonInfo(executable="/opt/env/bin/python", version="3.11.9", abi_tag="cp311"),
    torch=TorchInfo(installed=True, version="2.5.1+cu124", cuda="12.4", cxx11abi=False),
)


def test_fixes_are_filled_in_for_this_machine() -> None:
    found = diagnose(PLAIN_SYMBOL, FULL_ENV, python="/opt/env/bin/python")
    fixes = "\n".join(found[0].fix)
    assert found[0].tailored
    # the advice engine's pair for this machine (what `check` and `install` name), then a
    # source build for its GPU, the doctor's own command instead of a nine-arch forced pip build
    assert "prebuilt wheels that fit: mamba_ssm 2.3.0" in fixes
    assert "mamba-doctor install --python /opt/env/bin/python" in fixes
    assert "--from-source --arch 8.0" in fixes and "FORCE_BUILD" not in fixes


def test_generic_fixes_leak_no_placeholders() -> None:
    for mode in load_knowledge().modes:
        text = mode.signatures[0].parts[0].pattern
        for d in diagnose(text, limit=0):
            for fix in d.fix:
                assert not re.search(r"\{\w+\}", fix), (d.id, fix)
            assert not d.tailored


def test_driver_fix_points_at_a_torch_the_driver_can_run() -> None:
    env = Environment(python=PROBED, torch=TorchInfo(version="2.8.0+cu128", cuda="12.8"),
                      nvidia=NvidiaInfo(driver_version="550.54.15", cuda_driver_version="12.5"))
    fixes = " ".join(diagnose(NOT_AVAILABLE, env)[0].fix)
    # within the driver's CUDA 12.5, pinned, for the target's own interpreter
    assert "-m pip install 'torch==2.6.*' --index-url https://download.pytorch.org/whl/cu124" \
        in fixes
    assert "Upgrade the NVIDIA driver to >= 570.26" in fixes


# ---------------------------------------------------------------- engine behaviour

def _big_log(lines: int, tail: str) -> str:
    filler = [
        "Requirement already satisfied: numpy in ./.venv/lib/python3.11/site-packages (1.26.4)",
        "  Downloading transformers-4.46.0-py3-none-any.whl (10.0 MB)",
        "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 10.0/10.0 MB 41.3 MB/s eta 0:00:00",
        "      [12/48] /usr/local/cuda/bin/nvcc -c csrc/selective_scan/selective_scan_fwd_bf16.cu"
        " -gencode arch=compute_90,code=sm_90 --threads 4 -I/venv/lib/python3.11/site-packages/"
        "torch/include",
        '  File "C:\\Users\\me\\proj\\util.py", line 3, in helper',
    ]
    return "\n".join(filler[i % len(filler)] for i in range(lines)) + "\n" + tail


def test_fifty_thousand_lines_in_well_under_a_second() -> None:
    load_knowledge()
    text = _big_log(50_000, PLAIN_SYMBOL)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        found = diagnose(text)
        timings.append(time.perf_counter() - start)
    best_ms = min(timings) * 1000
    print(f"diagnose, 50k lines ({len(text) / 1e6:.1f} MB): best {best_ms:.0f} ms")  # noqa: T201
    assert found[0].id == "torch-version-mismatch-undefined-symbol"
    # The figure itself is measured by benchmarks/bench_diagnose.py; this bound only catches a
    # regression to whole-log regex passes (seconds), scaled on a loaded runner.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    assert min(timings) < 1.0 * max(1.0, load / (os.cpu_count() or 1))
    assert diagnose(_big_log(50_000, "all good\n")) == ()


def test_progress_bars_colour_codes_and_long_lines_are_handled() -> None:
    text = ("\x1b[31mERROR\x1b[0m step\r 10%\r100%\r\n" + "x" * 5000 +
            " RuntimeError: No CUDA GPUs are available " + "y" * 5000 + "\n")
    found = diagnose(text)
    assert found[0].id == "no-gpu-visible"
    assert all(len(line) <= MAX_LINE + 2 for line in found[0].matched)
    assert "No CUDA GPUs are available" in found[0].matched[0]


def test_limit_and_ordering() -> None:
    text = (LOGS / "stale-pip-wheel-cache.txt").read_text()
    everything = diagnose(text, limit=0)
    assert len(everything) >= 2 and diagnose(text, limit=1) == everything[:1]
    scores = [d.score for d in everything]
    assert scores == sorted(scores, reverse=True) and min(scores) >= MIN_SCORE


def test_empty_and_whitespace_text() -> None:
    assert diagnose("") == () and diagnose("\n\n   \n") == ()


def test_to_dict_has_the_agreed_keys() -> None:
    d = diagnose(PLAIN_SYMBOL)[0].to_dict()
    assert {"id", "title", "score", "cause", "fix", "matched"} <= set(d)
    assert isinstance(d["fix"], list) and isinstance(d["matched"], list)
    json.dumps(d)


def test_render_diagnoses_draws_panels_and_the_report_hint() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    render_diagnoses(console, diagnose(PLAIN_SYMBOL))
    out = console.export_text()
    assert "torch-version-mismatch-undefined-symbol" in out and "Fix:" in out
    assert "undefined symbol: _ZN3c104cuda9SetDeviceEi" in out.replace("\n", "").replace("│", "")
    console = Console(record=True, width=200, color_system=None)
    render_diagnoses(console, ())
    assert "check --json" in console.export_text()


TYPICAL_ENVS = [
    FULL_ENV,
    Environment(python=PROBED, os=OsInfo(system="Darwin", arch="arm64"),
                torch=TorchInfo(version="2.5.1", cuda=None)),
    Environment(python=PROBED,
                nvidia=NvidiaInfo(gpus=(GpuInfo(0, "NVIDIA GeForce GTX 1080 Ti", "6.1"),)),
                torch=TorchInfo(version="2.13.0+cpu", cuda=None)),
    Environment(python=PROBED, os=OsInfo(system="Windows"), torch=TorchInfo(version="2.5.1+cu124")),
]


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_machine_facts_alone_never_make_a_diagnosis(path: Path) -> None:
    text = path.read_text() + "\nGPU 0: NVIDIA GeForce GTX 1080 Ti (11 GiB)\n"
    for env in TYPICAL_ENVS:
        assert diagnose(text, env) == ()


def test_wheel_fix_names_the_resolvers_pair() -> None:
    # The real resolver over the real index: the fix names the pair it resolves for this env.
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    mamba, conv = resolve_pair(FULL_ENV, load_index())
    assert mamba.wheel is not None and conv.wheel is not None
    fixes = " ".join(diagnose(PLAIN_SYMBOL, FULL_ENV)[0].fix)
    assert f"mamba_ssm {mamba.version} and causal_conv1d {conv.version}" in fixes


def test_driver_index_url_follows_the_torch_variant_table() -> None:
    # one table (torch.json via knowledge/cuda_tables.py) instead of a second list here
    from mamba_doctor.diagnose.facts import _newest_variant_for

    assert [_newest_variant_for(c) for c in ("11.4", "12.2", "12.4", "12.9", "13.1", "13.2")] \
        == [None, "cu121", "cu124", "cu128", "cu130", "cu132"]
