"""Signature families learnt from the spent held-out parts of the real-log corpus (rounds 1-6).

Each family is shown with short synthetic variants (another locale, Markdown or forum damage,
another path or version) that must match, and a look-alike that must not: the signatures
describe the failure, not one log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import pytest

from mamba_doctor.diagnose.engine import Analysis, analyse, diagnose
from mamba_doctor.models import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from eval_real_logs import LAPTOP


def _top(text: str) -> Optional[str]:
    found = diagnose(text, None, limit=3)
    return found[0].id if found else None


def _ids(text: str) -> list[str]:
    return [d.id for d in diagnose(text, None, limit=0)]


# ---------------------------------------------------------------- Triton's launcher

@pytest.mark.parametrize("text", [
    "FileNotFoundError: [Errno 2] No such file or directory: '/sbin/ldconfig'",
    "> FileNotFoundError: [Errno 2] No such file or directory: 'ldconfig'",  # a quoted reply
    "FileNotFoundError: [Errno 2] 没有那个文件或目录: 'ldconfig'",  # zh_CN strerror
])
def test_ldconfig_missing_is_the_launchers_libcuda_lookup(text: str) -> None:
    assert _top(text) == "triton-launcher-compile-failed"


def test_ldconfig_with_an_old_triton_keeps_the_upgrade_as_runner_up() -> None:
    found = _ids("Mamba2 with Triton 2.1.0\n"
                 "FileNotFoundError: [Errno 2] No such file or directory: 'ldconfig'")
    assert found[0] == "triton-launcher-compile-failed"
    assert "triton-too-old" in found


@pytest.mark.parametrize("text", [
    "Mamba2 error: subprocess.CalledProcessError: Command [] returned non-zero exit status 1.",
    "  File \"/env/lib/python3.11/site-packages/mamba_ssm/ops/triton/ssd_combined.py\", line 9\n"
    "subprocess.CalledProcessError: Command '['/usr/bin/cc', '-O3', '-shared']' returned "
    "non-zero exit status 1.",
])
def test_a_failed_command_in_the_mamba2_forward_is_the_launcher(text: str) -> None:
    assert _top(text) == "triton-launcher-compile-failed"


def test_a_failed_ninja_command_in_a_build_is_not_the_launcher() -> None:
    text = ("  Building wheel for mamba-ssm (setup.py) ... error\n"
            "  mamba_ssm/ops/triton/ssd_combined.py -> build/lib/mamba_ssm/ops/triton\n"
            "subprocess.CalledProcessError: Command '['ninja', '-v']' returned non-zero exit "
            "status 1.")
    assert "triton-launcher-compile-failed" not in _ids(text)


# ---------------------------------------------------------------- Triton's LLVM lowering

def test_an_index_error_in_tritons_llvm_lowering_is_the_turing_bug() -> None:
    text = ("IndexError                                Traceback (most recent call last)\n"
            "/usr/lib/python3/dist-packages/triton/compiler/compiler.py in make_llir(src)\n"
            "--> 200   llvm_ir = translate_triton_gpu_to_llvmir(mod, capability, tma)\n")
    assert _top(text) == "triton-gpu-ptxas-unsupported"


def test_an_index_error_in_user_code_is_not_a_triton_problem() -> None:
    text = ("Traceback (most recent call last):\n"
            "  File \"train.py\", line 12, in <module>\n    y = Mamba2(d_model=64)(x)[5]\n"
            "IndexError: index 5 is out of bounds for dimension 0 with size 2\n")
    assert _top(text) is None


# ---------------------------------------------------------------- host compiler

@pytest.mark.parametrize("text", [
    " #error You need C++17 to compile PyTorch",
    "/torch/include/c10/macros/Macros.h:4:2: error: #error You need C++14 to compile PyTorch",
    "> #error You need C++17 to compile PyTorch",
])
def test_pytorchs_language_standard_check_is_the_host_compiler(text: str) -> None:
    assert _top(text) == "host-compiler-incompatible"


# ---------------------------------------------------------------- nvcc older than 11.6

@pytest.mark.parametrize("text", [
    "Installing causal_conv1d shows a cuda version below 11.6, but my CUDA is 11.7",
    "pip install mamba-ssm says nvcc is lower than 11.6",
])
def test_the_11_6_floor_in_prose_is_an_old_nvcc(text: str) -> None:
    assert _top(text) == "nvcc-too-old-or-wrong-cuda-home"


def test_a_cuda_version_above_the_floor_is_nothing() -> None:
    assert _top("pip install mamba-ssm with CUDA 11.8, newer than 11.6, works") is None


# ---------------------------------------------------------------- native Windows in words

@pytest.mark.parametrize("text", [
    "I failed to install mamba-ssm with pip on Windows 11.",
    "在windows下mamba-ssm安装失败",
    "Can't I build causal-conv1d in windows??",
])
def test_a_failed_install_on_windows_in_words(text: str) -> None:
    assert _top(text) == "windows-native-unsupported"


@pytest.mark.parametrize("text", [
    "I failed to install mamba-ssm with pip on Ubuntu 22.04.",
    "mamba-ssm installed fine on Windows 11 through WSL.",
])
def test_no_windows_or_no_failure_is_not_windows(text: str) -> None:
    assert "windows-native-unsupported" not in _ids(text)


def test_a_broken_off_download_is_the_cause_not_the_windows_wheel_name() -> None:
    text = ("Guessing wheel URL:  https://github.com/Dao-AILab/causal-conv1d/releases/download/"
            "v1.2.0/causal_conv1d-1.2.0+cu118torch2.1cxx11abiFALSE-cp311-cp311-win_amd64.whl\n"
            "error: [Errno 104] Connection reset by peer\n"
            "ERROR: Failed building wheel for causal-conv1d\n")
    assert _top(text) == "github-wheel-download-failed"


# ---------------------------------------------------------------- missing kernel module

@pytest.mark.parametrize("text", [
    "NameError: name 'selective_scan_cuda' is not defined",
    "NameError: name 'selective\\_scan\\_cuda' is not defined",  # Markdown escapes
])
def test_an_unbound_selective_scan_cuda_is_a_missing_kernel(text: str) -> None:
    assert _top(text) == "selective-scan-cuda-not-built"


@pytest.mark.parametrize("text", [
    "NameError: name 'selective_scan_cuda_core' is not defined",
    "ModuleNotFoundError: No module named 'selective_scan_cuda_oflex'",
    "ModuleNotFoundError: No module named 'selective_scan_cuda_oflex_rh'",  # a fork of VMamba's
    "No module named 'selective\\_scan\\_cuda\\_nrow'",  # Markdown escapes
    "NameError: name 'selective_scan_cuda_core' is not defined. Did you mean: 'selective_scan_fn'?",
])
def test_vmamba_style_kernel_modules_are_a_missing_kernel(text: str) -> None:
    assert _top(text) == "selective-scan-cuda-not-built"


def test_the_projects_own_kernels_fix_builds_its_kernels_folder() -> None:
    found = diagnose("No module named 'selective_scan_cuda_core'", None, limit=1)[0]
    assert "kernels/selective_scan" in " ".join(found.fix)


# ---------------------------------------------------------------- build requirements

@pytest.mark.parametrize("text", [
    "  File \"/env/lib/python3.11/site-packages/setuptools/build_meta.py\",\n"
    "      line 334, in get_requires_for_build_wheel\n"
    "      ModuleNotFoundError: No module nam",  # a post cut off mid-line
    "  Getting requirements to build wheel ... error\n"
    "  ModuleNotFoundError: No module named 'ninja'\n",
])
def test_a_module_missing_while_getting_build_requirements(text: str) -> None:
    assert _top(text) == "build-isolation-missing-build-deps"


def test_a_module_missing_at_run_time_is_not_a_build_dependency() -> None:
    text = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'einops'\n"
    assert "build-isolation-missing-build-deps" not in _ids(text)


# ---------------------------------------------------------------- the 1.x layernorm module

@pytest.mark.parametrize("text", [
    "from mamba_ssm.ops.triton.layernorm import RMSNorm, layer_norm_fn, rms_norm_fn  fails",
    "try:\n    from mamba_ssm.ops.triton.layernorm import RMSNorm\nexcept ImportError:\n"
    "    RMSNorm = None",
])
def test_importing_the_1x_layernorm_module_is_api_drift(text: str) -> None:
    assert _top(text) == "mamba-api-drift-downstream"


def test_a_traceback_through_the_existing_layernorm_module_is_not_drift() -> None:
    text = ("  File \"/env/site-packages/mamba_ssm/modules/mamba_simple.py\", line 20\n"
            "    from mamba_ssm.ops.triton.layernorm import RMSNorm, layer_norm_fn\n"
            "  File \"/env/site-packages/mamba_ssm/ops/triton/layernorm.py\", line 15\n"
            "    import triton\nModuleNotFoundError: No module named 'triton'\n")
    assert "mamba-api-drift-downstream" not in _ids(text)


# ---------------------------------------------------------------- no C++ compiler (new mode)

@pytest.mark.parametrize("text", [
    "gcc: fatal error: cannot execute 'cc1plus': execvp: No such file or directory",
    "gcc: fatal error: cannot execute \u2018cc1plus\u2019: execvp: No such file or directory",
    "gcc: 致命错误\uff1a无法执行\u2018cc1plus\u2019\uff1aexecvp\uff1a没有那个文件或目录",  # zh_CN
    "x86_64-conda-linux-gnu-cc: schwerwiegender Fehler: »cc1plus« kann nicht ausgeführt "
    "werden: execvp: Datei oder Verzeichnis nicht gefunden",  # de_DE gcc
    "error: command 'x86_64-linux-gnu-g++' failed: No such file or directory",
    "/bin/sh: 1: g++: not found",
])
def test_a_missing_cxx_front_end_is_host_compiler_missing(text: str) -> None:
    assert _top(text) == "host-compiler-missing"


def test_cc1plus_killed_for_memory_is_not_a_missing_compiler() -> None:
    text = ("c++: fatal error: Killed signal terminated program cc1plus\n"
            "compilation terminated.\nninja: build stopped: subcommand failed.\n")
    assert "host-compiler-missing" not in _ids(text)


# ---------------------------------------------------------------- unpublished pin (new mode)

@pytest.mark.parametrize("text", [
    "ERROR: Could not find a version that satisfies the requirement causal-conv1d==1.2.0 "
    "(from versions: 1.0.0, 1.1.3.post1, 1.2.0.post1, 1.2.0.post2)",
    "> ERROR: Could not find a version that satisfies the requirement "
    "mamba_ssm[causal-conv1d]==2.2.3 (from versions: 2.2.2, 2.2.4)",
])
def test_a_pin_absent_from_pips_version_list_is_unpublished(text: str) -> None:
    assert _top(text) == "pinned-version-not-published"


@pytest.mark.parametrize("text", [
    # nothing reachable at all: an index or network problem, not a pin
    "ERROR: Could not find a version that satisfies the requirement mamba-ssm==2.2.2 "
    "(from versions: none)",
    # the version exists, for another Python
    "ERROR: Ignored the following versions that require a different python version: 2.2.2 "
    "Requires-Python >=3.9\nERROR: Could not find a version that satisfies the requirement "
    "mamba-ssm==2.2.2 (from versions: 1.0.1)\n"
    "ERROR: No matching distribution found for mamba-ssm==2.2.2",
    # another package's pin
    "ERROR: Could not find a version that satisfies the requirement einops==9.9 "
    "(from versions: 0.6.0, 0.7.0)",
])
def test_other_resolution_failures_are_not_an_unpublished_pin(text: str) -> None:
    assert _top(text) != "pinned-version-not-published"


# ---------------------------------------------------------------- pip's wrapper yields

_WRAP_HEAD = ("  Building wheel for causal-conv1d (setup.py) ... error\n"
              "  \u00d7 python setup.py bdist_wheel did not run successfully.\n"
              "  ╰─> [80 lines of output]\n      building 'causal_conv1d_cuda' extension\n")
_WRAP_TAIL = ("      [end of output]\n  ERROR: Failed building wheel for causal-conv1d\n"
              "Failed to build causal-conv1d\nERROR: Could not build wheels for causal-conv1d, "
              "which is required to install pyproject.toml-based projects\n")


@pytest.mark.parametrize(("error", "expected"), [
    ("error: #error -- unsupported GNU version! gcc versions later than 12 are not supported!",
     "host-compiler-incompatible"),
    ("NameError: name 'bare_metal_version' is not defined", "nvcc-not-found-bare-metal-version"),
    ("fatal error: cuda_runtime.h: No such file or directory", "cuda-dev-headers-missing"),
    ("c++: fatal error: Killed signal terminated program cc1plus", "build-resources-ninja-oom"),
    ("gcc: fatal error: cannot execute 'cc1plus': execvp: No such file or directory",
     "host-compiler-missing"),
])
def test_the_build_error_inside_pips_wrapper_ranks_above_the_wrapper(error: str,
                                                                     expected: str) -> None:
    found = _ids(_WRAP_HEAD + "      " + error + "\n" + _WRAP_TAIL)
    assert found[0] == expected
    assert "no-prebuilt-wheel-slow-source-build" in found  # still shown, as the runner-up


def test_the_wrapper_alone_is_still_the_source_build() -> None:
    assert _top(_WRAP_HEAD + _WRAP_TAIL) == "no-prebuilt-wheel-slow-source-build"


# ================================================================ learnt from round 3 (spent
# 2026-12-07, after its held-out measurement was recorded)

def _analyse_on_laptop(text: str) -> Analysis:
    """As `explain` does next to a Linux laptop's facts (RTX 4090, torch 2.5.1+cu124)."""
    return analyse(text, Environment.from_dict(LAPTOP), check_origin=True)


# ---------------------------------------------------------------- ROCm's toolchain

@pytest.mark.parametrize("text", [
    "clang++: error: cannot determine amdgcn architecture: /opt/rocm/lib/llvm/bin/amdgpu-arch: ;"
    " consider passing it via '--offload-arch'",
    "hipcc failed: consider passing it via '--offload-arch'\n"
    "NameError: name 'bare_metal_version' is not defined",  # an old commit's setup.py as well
    "clang: error: cannot determine amdgcn architecture",
])
def test_clangs_offload_arch_detection_is_a_rocm_build(text: str) -> None:
    assert _top(text) == "rocm-build"


def test_bare_metal_version_without_rocm_stays_the_missing_nvcc() -> None:
    assert _top("NameError: name 'bare_metal_version' is not defined\n"
                "  File \"/opt/rocmtools/setup.py\", line 3") == "nvcc-not-found-bare-metal-version"


def test_a_rocm_log_next_to_a_cuda_laptop_is_from_another_machine() -> None:
    text = ("torch.__version__  = 2.3.1+rocm6.0\n"
            "hipify cannot find csrc/selective_scan/selective_scan.cpp\n"
            "error: rocm6_0.patch was not applied")
    result = _analyse_on_laptop(text)
    assert result.diagnoses[0].id == "rocm-build"
    assert any("ROCm (2.3.1+rocm6.0)" in why for why in result.other_machine)


# ---------------------------------------------------------------- macOS's temporary directory

@pytest.mark.parametrize("path", [
    "/private/var/folders/rd/0_kt6h0545g1v749gjmryqqr0000gn/T/pip-install-8x/causal-conv1d_3c",
    "/private/var/folders/x1/abc/T/pip-req-build-q2/mamba",
])
def test_a_build_in_macos_temporary_directory_is_macos(path: str) -> None:
    text = (f"  {path}/setup.py:77: UserWarning: causal_conv1d was requested, but nvcc was not "
            "found.\n      NameError: name 'bare_metal_version' is not defined\n")
    assert _top(text) == "macos-unsupported"
    linux = text.replace("/private/var/folders/", "/tmp/")
    assert _top(linux) == "nvcc-not-found-bare-metal-version"


# ---------------------------------------------------------------- CUDA headers and old toolkits

@pytest.mark.parametrize("text", [
    # the compiler's lines pasted out of order: the message above the include it belongs to
    "No such file or directory\n    7 | #include <cusparse.h>\n      |          ^~~~~~~~~~~~\n"
    "compilation terminated.",
    "没有那个文件或目录\n   12 | #include <cublas_v2.h>\ncompilation terminated.",
    "fatal error: curand.h: No such file or directory",
])
def test_a_cuda_library_header_missing_is_the_dev_headers(text: str) -> None:
    assert _top(text) == "cuda-dev-headers-missing"


def test_an_include_of_a_header_that_was_found_is_nothing() -> None:
    assert _top("   7 | #include <cusparse.h>\nwarning: unused variable 'x'") is None


@pytest.mark.parametrize(("limit", "expected"), [
    ("8", "nvcc-too-old-or-wrong-cuda-home"),  # CUDA 10.x
    ("10", "nvcc-too-old-or-wrong-cuda-home"),  # CUDA 11.1-11.4, under setup.py's 11.6
    ("11", "host-compiler-incompatible"),  # CUDA 11.5+: the compiler is the problem
    ("13", "host-compiler-incompatible"),
])
def test_a_host_config_that_refuses_gcc_says_how_old_the_toolkit_is(limit: str,
                                                                     expected: str) -> None:
    text = ("In file included from /usr/local/cuda/include/cuda_runtime.h:83,\n"
            "/usr/local/cuda/include/crt/host_config.h:138:2: error: #error -- unsupported GNU "
            f"version! gcc versions later than {limit} are not supported!\n"
            "fatal error: cuda_bf16.h: No such file or directory\n")
    assert _top(text) == expected


# ---------------------------------------------------------------- a C++ standard from torch

@pytest.mark.parametrize("text", [
    "[1/10] c++ -O3 -std=c++17 -c selective_scan.cpp\n"
    "torch/include/ATen/ATen.h:5:2: error: #error C++20 or later compatible compiler is "
    "required to use ATen.",
    "nvcc -O3 -std=c++14 -c causal_conv1d.cu\n"
    "#error C++17 or later compatible compiler is required to use PyTorch.",
])
def test_torch_demanding_a_newer_standard_than_the_packages_flag_is_old_source(text: str) -> None:
    assert _top(text) == "old-source-vs-new-torch"


def test_torch_demanding_cxx20_without_an_older_flag_is_the_compiler() -> None:
    text = ("c++ -O3 -c selective_scan.cpp\n"
            "error: #error C++20 or later compatible compiler is required to use ATen.")
    assert _top(text) == "host-compiler-incompatible"


# ---------------------------------------------------------------- build isolation, in words

@pytest.mark.parametrize("text", [
    "Failed to build `mamba-ssm==2.2.4`\n  torch.__version__  = 2.7.0+cu126\n"
    "It works if I disable build isolation with torch==2.6.0 already installed",
    "ERROR: Failed building wheel for mamba-ssm\n"
    "pip install mamba-ssm --no-build-isolation worked for me",
    "Failed building wheel for causal-conv1d. Solved by adding --no-build-isolation.",
])
def test_the_poster_saying_no_build_isolation_fixed_it(text: str) -> None:
    assert _top(text) == "build-isolation-wrong-torch"


def test_no_build_isolation_that_still_fails_is_not_isolation() -> None:
    text = ("pip install mamba-ssm --no-build-isolation\n"
            "NameError: name 'bare_metal_version' is not defined")
    assert _top(text) == "nvcc-not-found-bare-metal-version"


# ---------------------------------------------------------------- setup.py cut off in the backend

@pytest.mark.parametrize("text", [
    "Caused by: Build backend failed to determine extra requires with `build_wheel()` with exit "
    "status: 1\n  File \".../setuptools/build_meta.py\", line 295, in _get_build_requires\n"
    "    self.run_setup()\n",
    "  File \"/tmp/pip-build-env-1/overlay/setuptools/build_meta.py\", line 325, in "
    "get_requires_for_build_wheel\n  File \".../build_meta.py\", line 311, in run_setup\n",
])
def test_setup_py_failing_while_the_backend_collects_requirements(text: str) -> None:
    assert _top(text) == "build-isolation-missing-build-deps"


# ---------------------------------------------------------------- NGC's pre-release torch

@pytest.mark.parametrize("line", [
    "torch.__version__: '2.1.0a0+4136153'",
    "torch.__version__ = 2.3.0a0+ebedce2",
    "torch.__version__  = 2.4.0a0+07cecf4168.nv24.05",
])
def test_a_pre_release_torch_with_a_commit_is_ngc(line: str) -> None:
    text = ("After installation from wheel (causal_conv1d-1.0.2+cu122torch2.1cxx11abiTRUE-"
            f"cp310-cp310-linux_x86_64.whl), importing causal_conv1d fails.\n{line}\n")
    assert _top(text) == "ngc-container-torch"


def test_a_release_torch_is_not_ngc() -> None:
    assert _top("torch.__version__: '2.1.0+cu121'\nimporting causal_conv1d fails") != \
        "ngc-container-torch"


# ---------------------------------------------------------------- names only forks have

@pytest.mark.parametrize("text", [
    "from mamba_ssm.ops.selective_scan_interface import mamba_inner_fn_no_out_proj\n"
    "ModuleNotFoundError: No module named 'mamba_ssm.ops.triton.layernorm'",
    "ImportError: cannot import name 'bimamba_inner_fn' from "
    "'mamba_ssm.ops.selective_scan_interface'",
])
def test_a_name_only_a_vendored_fork_has_is_the_fork(text: str) -> None:
    assert _top(text) == "vendored-fork-api-mismatch"


def test_the_layernorm_rename_alone_stays_api_drift() -> None:
    text = ("from mamba_ssm.ops.triton.layernorm import RMSNorm, layer_norm_fn\n"
            "ModuleNotFoundError: No module named 'mamba_ssm.ops.triton.layernorm'")
    assert _top(text) == "mamba-api-drift-downstream"


# ---------------------------------------------------------------- where the extension was built

_WARNING_CXX11 = ("_ZN3c107WarningC1ESt7variantIJNS0_11UserWarningENS0_18DeprecationWarningEEERK"
                  "NS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEb")


@pytest.mark.parametrize(("so", "expected"), [
    ("/mnt/data/me/mamba/selective_scan_cuda.cpython-310-x86_64-linux-gnu.so",
     "torch-version-mismatch-undefined-symbol"),  # an in-place build of a checkout
    ("/home/me/mamba/build/lib.linux-x86_64-cpython-310/selective_scan_cuda.cpython-310-x86_64-"
     "linux-gnu.so", "torch-version-mismatch-undefined-symbol"),
    ("/home/me/env/lib/python3.10/site-packages/selective_scan_cuda.cpython-310-x86_64-linux-"
     "gnu.so", "cxx11-abi-mismatch"),  # a wheel's copy: the classic ABI mix-up
])
def test_a_std_cxx11_symbol_missing_from_an_extension_built_in_a_checkout(so: str,
                                                                          expected: str) -> None:
    assert _top(f"ImportError: {so}: undefined symbol: {_WARNING_CXX11}") == expected


# ---------------------------------------------------------------- the GPU in torch's warning

def test_torchs_sm_warning_names_the_logs_gpu() -> None:
    text = ("UserWarning: … sm_120 is not compatible with the current PyTorch installation\n"
            "RuntimeError: CUDA error: no kernel image is available for execution on the device")
    result = _analyse_on_laptop(text)
    assert result.diagnoses[0].id == "gpu-arch-too-new-blackwell"
    assert any("sm_120" in why and "sm_89" in why for why in result.other_machine)


# ================================================================ learnt from round 4 (spent
# 2026-12-07, after its held-out measurement was recorded)

# ---------------------------------------------------------------- Triton 2.0's launcher

@pytest.mark.parametrize("key", ["2-.-0-.-0-d82511111ad128294e9d31a6ac684238", "2-.-1-.-0-aa"])
def test_triton_2_0s_launcher_cache_key_is_an_old_triton(key: str) -> None:
    text = ('  File "<string>", line 21, in _chunk_cumsum_fwd_kernel\n'
            f"KeyError: ('{key}-d6252949da17ceb5f3a278a70250af13', (torch.float32, 'i32'))")
    assert _top(text) == "triton-too-old"


def test_a_key_error_in_user_code_is_nothing() -> None:
    assert _top("KeyError: ('model', 'layers')") is None


# ---------------------------------------------------------------- ROCm installed, CUDA torch built

def test_no_rocm_runtime_with_rocm_home_is_a_rocm_build_not_a_missing_nvcc() -> None:
    text = ("  Getting requirements to build wheel ... error\n"
            "      No ROCm runtime is found, using ROCM_HOME='/opt/rocm-6.2.3'\n"
            "      <string>:118: UserWarning: mamba_ssm was requested, but nvcc was not found.\n"
            "      torch.__version__  = 2.5.1+cu124\n"
            "      NameError: name 'bare_metal_version' is not defined\n")
    assert _top(text) == "rocm-build"


# ---------------------------------------------------------------- torch's message as uv prints it

def test_the_cuda_mismatch_as_a_format_string_and_its_arguments() -> None:
    text = ("      RuntimeError: ('The detected CUDA version (%s) mismatches the version that was "
            "used to compilePyTorch (%s). Please make\n      sure to use the same CUDA "
            "versions.', '13.0', '12.8')")
    assert _top(text) == "nvcc-torch-cuda-major-mismatch"


# ---------------------------------------------------------------- a fork's function left None

@pytest.mark.parametrize("text", [
    "    out = mamba_inner_fn_no_out_proj(\nTypeError: 'NoneType' object is not callable",
    "out = mamba_inner_fn(TypeError: 'NoneType' object is not callable",  # one pasted line
])
def test_a_forks_mamba_inner_fn_left_none_is_the_fork(text: str) -> None:
    assert _top(text) == "vendored-fork-api-mismatch"


def test_causal_conv1d_fn_left_none_stays_causal_conv1d() -> None:
    text = ("    x = causal_conv1d_fn(x, weight, bias)\n"
            "TypeError: 'NoneType' object is not callable")
    assert _top(text) == "causal-conv1d-unavailable-nonetype"


# ---------------------------------------------------------------- a bidirectional checkpoint

def test_bidirectional_parameters_in_a_checkpoint_are_the_fork() -> None:
    text = ("RuntimeError: Error(s) in loading state_dict for MambaLMHeadModel:\n"
            '\tUnexpected key(s) in state_dict: "backbone.layers.0.mixer.A_b_log", '
            '"backbone.layers.0.mixer.conv1d_b.weight", "backbone.layers.0.mixer.x_proj_b.weight"')
    assert _top(text) == "vendored-fork-api-mismatch"


def test_other_unexpected_keys_are_a_checkpoint_mismatch_not_a_platform_problem() -> None:
    text = ("RuntimeError: Error(s) in loading state_dict for MambaLMHeadModel:\n"
            '\tUnexpected key(s) in state_dict: "lm_head.bias", "backbone.norm_f.bias"')
    assert _top(text) is None


# ---------------------------------------------------------------- Windows: MSVC, a project's kernel

_MSVC = ("C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v12.1\\include\\crt/host_config.h"
         "(153): fatal error C1189: #error:  -- unsupported Microsoft Visual Studio version! Only "
         "the versions between 2017 and 2022 (inclusive) are supported!\n")


def test_msvc_outside_nvccs_range_building_a_projects_kernel_is_the_compiler() -> None:
    text = (_MSVC + "  ERROR: Failed building wheel for selective_scan\n"
            "ERROR: Could not build wheels for selective_scan, which is required to install "
            "pyproject.toml-based projects\n")
    assert _top(text) == "host-compiler-incompatible"


def test_the_same_error_building_mamba_ssm_on_windows_is_windows() -> None:
    text = ("  File \"C:\\Users\\me\\anaconda3\\envs\\m\\lib\\site-packages\\torch\\utils\\"
            "cpp_extension.py\", line 2100\n" + _MSVC
            + "  ERROR: Failed building wheel for mamba-ssm\n")
    assert _top(text) == "windows-native-unsupported"


def test_a_guarded_import_that_left_selective_scan_fn_unbound() -> None:
    line = "NameError: name 'selective_scan_fn' is not defined"
    assert _top(line) == "selective-scan-cuda-not-built"
    windows = ("  File \"D:\\ProgramData\\Anaconda3\\envs\\seg\\Lib\\site-packages\\torch\\nn\\"
               "modules\\module.py\", line 1527, in _call_impl\n" + line)
    assert _top(windows) == "windows-native-unsupported"


# ---------------------------------------------------------------- two torches in an isolated build

@pytest.mark.parametrize("said", ["- PyTorch 2.6.0+cu124", "with torch==2.6.0 already installed"])
def test_an_isolated_build_printing_another_torch_than_the_posters(said: str) -> None:
    text = (f"{said}\n  \u00d7 Failed to build `mamba-ssm==2.2.4`\n"
            "  ├─▶ The build backend returned an error\n"
            "  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)\n"
            "      torch.__version__  = 2.7.0+cu126\n"
            "      Precompiled wheel not found. Building from source...\n")
    found = diagnose(text, None, limit=3)
    assert found[0].id == "build-isolation-wrong-torch"
    assert any("torch 2.7" in why and "2.6" in why for why in found[0].confirmed)


def test_the_same_torch_in_the_build_and_the_post_is_not_isolation() -> None:
    text = ("mamba-ssm fails to build on torch==2.7.0\n"
            "  \u00d7 Failed to build `mamba-ssm==2.2.4`\n"
            "  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)\n"
            "      torch.__version__  = 2.7.0+cu126\n")
    assert _top(text) != "build-isolation-wrong-torch"


# ---------------------------------------------------------------- NGC's CUDA 13, a CUDA 12 wheel

def test_an_ngc_container_missing_the_wheels_libcudart_is_ngc() -> None:
    text = ("Still getting this issue on NVIDIA PyTorch container 25.08 with CUDA 13:\n"
            "    import selective_scan_cuda\n"
            "ImportError: libcudart.so.12: cannot open shared object file: No such file or "
            "directory")
    assert _top(text) == "ngc-container-torch"


# ---------------------------------------------------------------- the two new modes

@pytest.mark.parametrize("text", [
    "Could not find a binary distribution for causal-conv1d==1.4.0\n    for the platform linux-64\n"
    "    Note that @pypi does not currently support source distributions",
    "Distribution `mamba-ssm==2.2.4 @ registry+https://pypi.org/simple` can't be installed "
    "because it is marked as `--no-build` but has no binary distribution",
])
def test_an_installer_that_takes_wheels_only(text: str) -> None:
    assert _top(text) == "pypi-sdist-only-no-binary"


def test_another_packages_missing_binary_is_not_ours() -> None:
    assert _top("Could not find a binary distribution for pyarrow==3.0 for the platform") is None


@pytest.mark.parametrize("text", [
    "triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 589824, "
    "Hardware limit: 101376. Reducing block sizes or `num_stages` may help.",
    "请问有人遇到 triton.runtime.autotuner.OutOfResources: out of resource: shared memory, "
    "Required: 254208, Hardware limit: 101376. 这个报错吗",
])
def test_a_triton_kernel_over_the_gpus_shared_memory(text: str) -> None:
    assert _top(text) == "triton-shared-memory-out-of-resources"


def test_cuda_out_of_memory_is_not_shared_memory() -> None:
    assert _top("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB") is None


# ================================================================ learnt from round 5 (spent
# 2026-12-07, after its held-out measurement was recorded)

_ZEROS_LIKE = ("_ZN2at4_ops10zeros_like4callERKNS_6TensorEN3c108optionalINS5_10ScalarTypeEEENS6_"
               "INS5_6LayoutEEE")


def test_a_torch_symbol_next_to_the_package_names_as_people_write_them() -> None:
    text = (f"ImportError: undefined symbol: {_ZEROS_LIKE}\n"
            "我的环境 cuda11.8、python3.10、pytorch2.0.1、"
            "causal-conv1d=1.1.1、mamba-ssm=1.2.0.post1")
    assert _top(text) == "torch-version-mismatch-undefined-symbol"


def test_a_torch_symbol_with_no_mamba_package_in_sight_is_nothing() -> None:
    assert _top(f"ImportError: undefined symbol: {_ZEROS_LIKE}\nimport torchvision") is None


@pytest.mark.parametrize("text", [
    "  - Installing mamba-ssm (1.2.0.post1): Failed\n  ChefBuildError\n"
    "  Backend subprocess exited when trying to invoke get_requires_for_build_wheel",
    "(.venv) PS C:\\mamba> pip install .\n        File \"<string>\", line 8, in <module>\n"
    "      ModuleNotFoundError: No module named 'packaging'",
])
def test_setup_py_without_its_build_tools_in_poetry_or_pips_shim(text: str) -> None:
    assert _top(text) == "build-isolation-missing-build-deps"


def test_a_module_missing_in_a_python_c_one_liner_is_not_the_build() -> None:
    text = ("$ python -c \"import torch\"\n  File \"<string>\", line 1, in <module>\n"
            "ModuleNotFoundError: No module named 'torch'")
    assert _top(text) != "build-isolation-missing-build-deps"


@pytest.mark.parametrize("error", [
    "[6bc:1060 :0:1060] Caught signal 11 (Segmentation fault: invalid permissions)",
    "ImportError: /usr/local/lib/python3.10/dist-packages/causal_conv1d_cuda.cpython-310-x86_64-"
    "linux-gnu.so: undefined symbol: _ZNK3c1017SymbolicShapeMeta18init_is_contiguousEv",
])
def test_a_release_wheel_failing_inside_a_named_ngc_image(error: str) -> None:
    text = f"I am using `nvcr.io/nvidia/pytorch:23.11-py3` docker image\n{error}\n"
    assert _top(text) == "ngc-container-torch"
    elsewhere = text.replace("nvcr.io/nvidia/pytorch:23.11-py3", "pytorch/pytorch:2.1.0-devel")
    assert _top(elsewhere) != "ngc-container-torch"


@pytest.mark.parametrize("text", [
    "ptxas C:\\Users\\me\\AppData\\Local\\Temp\\tmpjq.ptx, line 1932; error   : Feature '.bf16' "
    "requires .target sm_80 or higher\nptxas fatal   : Ptx assembly aborted due to errors",
    "  File \"D:\\app\\.venv\\lib\\site-packages\\triton\\backends\\nvidia\\compiler.py\", "
    "line 374, in make_cubin\nsubprocess.CalledProcessError: Command "
    "'['C:\\\\CUDA\\\\v12.4\\\\bin\\\\ptxas.exe', '-lineinfo', '-v', '--gpu-name=sm_75', "
    "'C:\\\\tmp\\\\t.ptx']' returned non-zero exit status 1.",
])
def test_ptxas_refusing_a_pre_ampere_gpu_for_tritons_kernels(text: str) -> None:
    assert _top(text) == "triton-gpu-ptxas-unsupported"


def test_ptxas_for_an_ampere_gpu_is_not_a_pre_ampere_problem() -> None:
    text = ("  File \"/env/site-packages/triton/backends/nvidia/compiler.py\", line 374, in "
            "make_cubin\nsubprocess.CalledProcessError: Command '['/usr/bin/ptxas', '-lineinfo', "
            "'--gpu-name=sm_86', '/tmp/t.ptx']' returned non-zero exit status 1.")
    assert _top(text) != "triton-gpu-ptxas-unsupported"


def test_a_ptx_isa_newer_than_the_ptxas_that_runs() -> None:
    text = ("ptxas C:\\Users\\n\\AppData\\Local\\Temp\\tmp5.ptx, line 5; fatal   : Unsupported "
            ".version 8.6; current version is '8.5'\nptxas fatal   : Ptx assembly aborted due to "
            "errors")
    assert _top(text) == "triton-ptx-isa-newer-than-ptxas"


def test_an_old_torch_under_setup_py() -> None:
    text = ("      ImportError: cannot import name 'HIP_HOME' from 'torch.utils.cpp_extension' "
            "(/envs/old/lib/python3.8/site-packages/torch/utils/cpp_extension.py)")
    assert _top(text) == "torch-too-old-for-setup"
    other = text.replace("'torch.utils.cpp_extension'", "'mylib.build'")
    assert _top(other) is None


def test_a_class_only_visions_forks_have_is_the_fork() -> None:
    text = ("    from mamba_ssm.modules.mamba_simple import Mamba, VisionMamba\n"
            "ImportError: cannot import name 'VisionMamba' from 'mamba_ssm.modules.mamba_simple'")
    assert _top(text) == "vendored-fork-api-mismatch"


def test_the_fixes_follow_the_posters_torch_not_the_isolated_builds() -> None:
    text = ("with torch==2.6.0 already installed\n"
            "  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)\n"
            "      torch.__version__  = 2.7.0+cu126\n")
    fixes = " ".join(diagnose(text, None, limit=1)[0].fix)
    assert "torch==2.6.0" in fixes and "2.7.0" not in fixes


# ---------------------------------------------------------------- round 6's families

def test_a_file_missing_from_the_source_package_outranks_the_platform() -> None:
    # csrc/ absent from the sdist fails on every platform, Windows included
    text = ("PS C:\\Users\\me> pip install causal-conv1d\n"
            "  File \"C:\\Python311\\Lib\\site-packages\\torch\\utils\\cpp_extension.py\", "
            "line 873, in build_extensions\n"
            "ninja: error: 'C:/Users/me/AppData/Local/Temp/pip-install-1/causal-conv1d_2/csrc/"
            "causal_conv1d.cpp', needed by 'C:/Users/me/AppData/Local/Temp/build/x.obj', missing "
            "and no known rule to make it\n"
            "  Building wheel for causal-conv1d (setup.py) ... error\n"
            "  copying build\\lib.win-amd64-cpython-311 ... causal_conv1d-1.0.1-cp311-win_amd64\n")
    found = _ids(text)
    assert found[0] == "sdist-missing-csrc" and "windows-native-unsupported" in found


@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'causal_conv1d_cuda'",
    "NameError: name 'causal_conv1d_cuda' is not defined",
])
def test_causal_conv1d_without_its_compiled_module(text: str) -> None:
    assert _top(text) == "causal-conv1d-cuda-not-built"


def test_causal_conv1d_without_its_module_on_windows_is_windows() -> None:
    text = ("  File \"C:\\Users\\me\\anaconda3\\envs\\m\\lib\\site-packages\\causal_conv1d\\"
            "causal_conv1d_interface.py\", line 7, in <module>\n"
            "ModuleNotFoundError: No module named 'causal_conv1d_cuda'\n")
    assert _top(text) == "windows-native-unsupported"


@pytest.mark.parametrize("text", [
    "AssertionError: No causal-conv1d wheel for torch 2.11.0+cu128/cu12/cp312/abiTRUE",
    '{"level": "info", "event": "No compatible causal-conv1d wheel candidate"}',
    "RuntimeError: no prebuilt mamba_ssm wheel found for torch 2.12",
])
def test_no_release_wheel_for_a_new_torch(text: str) -> None:
    assert _top(text) == "no-wheel-for-new-torch"


def test_no_wheel_on_windows_is_windows() -> None:
    text = ("I have the same issue (Win 11).\n"
            "No compatible causal-conv1d wheel candidate. Installing causal-conv1d from PyPI...\n"
            "pip install causal-conv1d gives a \"failed to build\" error\n")
    assert _top(text) == "windows-native-unsupported"


def test_a_wheel_named_in_prose_is_not_a_missing_wheel() -> None:
    assert _top("I downloaded the causal-conv1d wheel for torch 2.4 and it installed fine") is None


@pytest.mark.parametrize("text", [
    "RuntimeError: Triton Error [CUDA]: context is destroyed",
    "model = Mamba2(d_model=64).to('cuda:1')\nValueError: Pointer argument (at 0) cannot be "
    "accessed from Triton (cpu tensor?)",
])
def test_triton_kernels_on_another_gpu_than_the_current_one(text: str) -> None:
    assert _top(text) == "triton-nondefault-cuda-device"


def test_a_cpu_tensor_given_to_triton_is_the_users_code() -> None:
    text = ("x = torch.randn(2, 64, 256)\nValueError: Pointer argument (at 0) cannot be accessed "
            "from Triton (cpu tensor?)")
    assert _top(text) is None


@pytest.mark.parametrize("symbol", [
    "_ZNSt15__exception_ptr13exception_ptr9_M_addrefEv",
    "_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE7compareEPKc",
    "_ZSt28__throw_bad_array_new_lengthv",
])
def test_a_missing_standard_library_symbol_is_an_old_libstdcxx(symbol: str) -> None:
    text = ("ImportError: /env/lib/python3.8/site-packages/selective_scan_cuda.cpython-38-x86_64-"
            f"linux-gnu.so: undefined symbol: {symbol}")
    assert _top(text) == "glibc-glibcxx-too-old"


def test_a_torch_symbol_with_std_strings_is_not_libstdcxx() -> None:
    text = ("ImportError: /env/lib/python3.10/site-packages/selective_scan_cuda.cpython-310-x86_64-"
            "linux-gnu.so: undefined symbol: _ZN3c107WarningC1ESt7variantIJNS0_11UserWarningENS0_1"
            "8DeprecationWarningEEERKNS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_trait"
            "sIcESaIcEEEb")
    assert _top(text) != "glibc-glibcxx-too-old"


_TORCH_SYMBOL = ("ImportError: /ws/causal-conv1d/causal_conv1d_cuda.cpython-310-x86_64-linux-gnu"
                 ".so: undefined symbol: _ZN3c104cuda9SetDeviceEab")


@pytest.mark.parametrize("said", [
    "I did a fresh source build against torch 2.6 and it still fails.",
    "Rebuilt it from source twice, same error.",
    "After a clean rebuild the import still fails.",
])
def test_a_symbol_still_missing_after_a_rebuild_is_the_source(said: str) -> None:
    assert _top(f"{_TORCH_SYMBOL}\n{said}") == "old-source-vs-new-torch"


def test_a_symbol_still_missing_after_an_isolated_pip_build_is_isolation() -> None:
    text = (f"{_TORCH_SYMBOL}\nI built it from source with `pip install .` in the checkout, "
            "still the same")
    assert _top(text) == "build-isolation-wrong-torch"
    assert _top(text.replace("pip install .", "pip install --no-build-isolation .")) == \
        "old-source-vs-new-torch"


@pytest.mark.parametrize("said", ["", "Should I build it from source?",
                                  "Maybe a clean environment would help."])
def test_a_missing_torch_symbol_without_a_rebuild_stays_the_torch_mismatch(said: str) -> None:
    assert _top(f"{_TORCH_SYMBOL}\n{said}") == "torch-version-mismatch-undefined-symbol"


@pytest.mark.parametrize("line", [
    "/usr/include/cub/detail/device_synchronize.cuh(53): error: identifier "
    "\"__cudaDeviceSynchronizeDeprecationAvoidance\" is undefined",
    "/opt/cuda/include/thrust/system/cuda/detail/util.h(12): error: identifier "
    "\"__cudaLaunchPrologue\" is undefined",
])
def test_cuda_internal_identifiers_undefined_are_mixed_toolkit_headers(line: str) -> None:
    assert _top(line) == "nvcc-too-old-or-wrong-cuda-home"


def test_a_user_identifier_undefined_is_not_the_toolkit() -> None:
    assert _top('kernel.cu(12): error: identifier "my_helper" is undefined') is None


@pytest.mark.parametrize("words", ["on my Windows operating system", "on my Win 10 laptop",
                                   "using a Windows machine"])
def test_windows_named_in_more_words(words: str) -> None:
    text = f"I failed to build mamba-ssm {words}: error: command 'nvcc' failed"
    assert _top(text) == "windows-native-unsupported"


# ---------------------------------------------------------------- round 7's families
# Written from round 7's tune half (tests/fixtures/logs_real/README.md): each face in new words,
# with the look-alike it must not take.

_WIN_ENV = ("Requirement already satisfied: torch in d:\\conda\\envs\\seg\\lib\\site-packages "
            "(2.3.1)\n")


@pytest.mark.parametrize("failure", [
    "nvcc failed with exit code 1 when I ran `cd kernels/selective_scan && pip install .`",
    "ERROR: Failed to build installable wheels for some pyproject.toml based projects "
    "(selective_scan)",
    "Error of installing selective_scan (mamba_ssm)",
    "RuntimeError: Error compiling objects for extension",
])
def test_a_projects_kernel_build_failing_on_native_windows_is_windows(failure: str) -> None:
    assert _top(_WIN_ENV + failure) == "windows-native-unsupported"
    # the same failure in a Linux environment is not Windows
    assert _top(_WIN_ENV.replace("d:\\conda\\envs\\seg\\lib\\site-packages",
                                 "/opt/conda/envs/seg/lib/python3.10/site-packages")
                + failure) != "windows-native-unsupported"


def test_a_projects_kernel_on_windows_with_an_msvc_outside_nvccs_range_is_the_compiler() -> None:
    text = (_WIN_ENV + "csrc/selective_scan/cus/selective_scan_core_fwd.cu\n" + _MSVC
            + "RuntimeError: Error compiling objects for extension\n")
    assert _top(text) == "host-compiler-incompatible"


@pytest.mark.parametrize("text", [
    "When will a Windows version be released? Building wheel for causal_conv1d (setup.py) "
    "... error",
    "请问mamba-ssm能在windows上装吗? 我在windows上无法pip安装",
])
def test_windows_asked_about_with_a_failed_install(text: str) -> None:
    assert _top(text) == "windows-native-unsupported"


def test_a_windows_release_asked_about_without_a_failure_is_nothing() -> None:
    assert _top("When will the Windows version of mamba be released?") is None


def test_a_decisive_mode_the_facts_floor_still_ranks_over_the_mode_that_yields_to_it() -> None:
    text = ("Is there a Windows release planned?\n  Building wheel for causal_conv1d (setup.py) "
            "... error\n")
    laptop = Environment.from_dict({"os": {"system": "Linux", "arch": "x86_64"}})
    assert diagnose(text, laptop)[0].id == "windows-native-unsupported"


@pytest.mark.parametrize("line", [
    "ModuleNotFoundError: No module named 'mamba_ssm'",
    "ImportError: No module named mamba_ssm",
    "WARNING: mamba_ssm is not installed, using the slow path",
    "AssertionError: This backbone implementation only supports the Transformer model.",
    "No module name mamba_ssm",
    "Python cannot find the mamba_ssm module, what should I do?",
])
def test_mamba_ssm_missing_altogether(line: str) -> None:
    assert _top(line) == "mamba-ssm-not-installed"


@pytest.mark.parametrize("line", [
    "ModuleNotFoundError: No module named 'mamba_ssm.ops.triton.layernorm'",
    "ModuleNotFoundError: No module named 'mamba_ssm.modules.block'",
])
def test_a_missing_submodule_is_a_version_not_a_missing_package(line: str) -> None:
    assert _top(line) not in (None, "mamba-ssm-not-installed")


def test_a_missing_mamba_ssm_after_a_failed_build_is_the_build() -> None:
    text = ("  NameError: name 'bare_metal_version' is not defined\n"
            "ERROR: Failed building wheel for mamba-ssm\n"
            "ModuleNotFoundError: No module named 'mamba_ssm'\n")
    assert _top(text) == "nvcc-not-found-bare-metal-version"


@pytest.mark.parametrize("line", [
    "ModuleNotFoundError: No module named 'mamba_ssm.modules.mamba2'",
    "ImportError: cannot import name 'Mamba2' from 'mamba_ssm' (/env/site-packages/mamba_ssm/"
    "__init__.py)",
])
def test_code_for_mamba_2_on_a_1x_install(line: str) -> None:
    assert _top(line) == "mamba-ssm-too-old-for-project"


@pytest.mark.parametrize("line", [
    "Can not import selective_scan_cuda_oflex. This affects speed.",
    "找不到selective_scan_cuda_core",
    "I have selective_scan_cuda_core, but no selective_scan_cuda_oflex",
    "NameError: Name 'selective_scan_cuda_core' is not defined",
    "I do not have selective_scan_cuda_oflex but have selective_scan_cuda_core",
    "can't find selective_scan_cuda_core",
    "the warning: selective_scan_cuda_oflex is absent.",
    "NameError: 'selective_scan_cuda_core' is not defined",
    "Python cannot find the module named selective_scan.",
])
def test_a_selective_scan_module_missing_in_prose(line: str) -> None:
    assert _top(line) == "selective-scan-cuda-not-built"


def test_a_selective_scan_module_that_imported_is_not_missing() -> None:
    assert _top("selective_scan_cuda_oflex is installed and imports fine; the loss is nan") \
        is None


@pytest.mark.parametrize("line", ["Cannot import pscan_cuda",
                                  "ModuleNotFoundError: No module named 'sscan2d_cuda'"])
def test_a_projects_own_cuda_module_missing(line: str) -> None:
    assert _top(line) == "project-cuda-kernel-not-built"


def test_the_causal_conv1d_call_rejected_in_a_short_post_is_the_version_skew() -> None:
    assert _top("TypeError: causal_conv1d_fwd()\nMine is 1.1.0, 1.1.1 does not work either") == \
        "causal-conv1d-mamba-version-skew"


def test_a_glibc_version_error_cut_off_mid_name() -> None:
    assert _top("ImportError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.3") == \
        "glibc-glibcxx-too-old"


@pytest.mark.parametrize("text", [
    'the variable "bare_metal_version" isn\'t defined previously',
    '  File "/env/lib/python3.10/site-packages/torch/utils/cpp_extension.py", line 1201, in '
    'library_paths\n    if (not os.path.exists(_join_cuda_home(lib_dir)) and',
])
def test_no_cuda_toolkit_in_prose_or_in_a_cut_traceback(text: str) -> None:
    assert _top(text) == "nvcc-not-found-bare-metal-version"


def test_a_cpu_only_torch_in_the_build_environment_is_isolation() -> None:
    text = ("uv resolved a CPU-only torch for the build environment of mamba-ssm, so it failed "
            "with NameError: bare_metal_version is not defined")
    assert _top(text) == "build-isolation-wrong-torch"


def test_torch_missing_in_a_build_said_in_prose_is_isolation() -> None:
    text = ("causal-conv1d failed to install as a dependency of mamba_ssm due to "
            "`ModuleNotFoundError: No module named 'torch'`")
    assert _top(text) == "build-isolation-missing-build-deps"
    assert _top("ModuleNotFoundError: No module named 'torch'") is None


def test_mamba2_released_and_the_project_broke_is_api_drift() -> None:
    assert _top("Mamba2 was released and the current version no longer works; pin 1.2.2") == \
        "mamba-api-drift-downstream"


def test_a_release_broken_in_an_ngc_container() -> None:
    assert _top("mamba 2.2.5 is broken in NGC PyTorch 25.06") == "ngc-container-torch"


@pytest.mark.parametrize("gpu", ["Tesla V100-SXM2-16GB", "Tesla P100-PCIE-16GB"])
def test_a_gpu_without_bf16_named_by_inductor(gpu: str) -> None:
    line = f"UserWarning: {gpu} does not support bfloat16 compilation natively, skipping"
    assert _top(line) == "gpu-arch-too-old"


def test_an_ampere_gpu_is_not_too_old() -> None:
    assert _top("NVIDIA A100-SXM4-80GB supports bfloat16; training is slow") is None


def test_a_rocm_torch_in_a_success_report_is_not_a_failure() -> None:
    report = ("- PyTorch: 2.9.1+rocm7.2.3\nHIP_ARCHITECTURES=gfx1201 pip install "
              "--no-build-isolation -e .\nprint(out.shape)  # torch.Size([2, 64, 128])\n")
    assert _top(report) is None
    assert _top(report + "error: command '/opt/rocm/bin/hipcc' failed with exit code 1") == \
        "rocm-build"


def test_an_old_cuda_named_with_a_failed_compile() -> None:
    assert _top("On cuda11.2 some selective_scan files cant compiled") == \
        "nvcc-too-old-or-wrong-cuda-home"
    assert _top("On cuda11.8 some selective_scan files cant compiled") is None


def test_tilelang_under_a_new_tvm_ffi() -> None:
    text = ('  File "/env/site-packages/tilelang/transform/simplify.py", line 52\n'
            "AttributeError: '_NestedLoopCheckVisitor' object has no attribute '_inst'")
    assert _top(text) == "tilelang-tvm-ffi-incompatible"
    assert _top("AttributeError: 'Trainer' object has no attribute '_inst'") is None


@pytest.mark.parametrize("line", [
    "KeyError: 'falcon_mamba'",
    "ValueError: The checkpoint you are trying to load has model type `mamba2` but Transformers "
    "does not recognize this architecture.",
    "ImportError: cannot import name 'FalconMambaForCausalLM' from 'transformers'",
])
def test_a_transformers_without_the_model_type(line: str) -> None:
    assert _top(line) == "transformers-too-old-for-model"


def test_causal_conv1d_missing_altogether_is_a_missing_install() -> None:
    assert _top("ModuleNotFoundError: No module named 'causal_conv1d'") == \
        "mamba-ssm-not-installed"
    assert _top("ModuleNotFoundError: No module named 'causal_conv1d_cuda'") == \
        "causal-conv1d-cuda-not-built"


@pytest.mark.parametrize("where", ["Platform: Windows-10-10.0.22631-SP0",
                                   "PS D:\\work\\seg> pip install mamba-ssm"])
def test_windows_shown_by_its_platform_string_or_powershell_prompt(where: str) -> None:
    text = (f"{where}\n  error: subprocess-exited-with-error\n"
            "ERROR: Failed building wheel for mamba-ssm")
    assert _top(text) == "windows-native-unsupported"
    assert _top(text.replace(where, "PS: I tried again")) != "windows-native-unsupported"


# ---------------------------------------------------------------- heldout7's families (spent)


def test_msvc_errors_in_the_extensions_cuda_sources_are_windows() -> None:
    text = ("Y:\\src\\mamba\\csrc\\selective_scan\\selective_scan_fwd_kernel.cuh(210): error "
            "C2975: 'kIsEvenLen_': invalid template argument\n")
    assert _top("Windows support? " + text) == "windows-native-unsupported"
    # MSVC rejecting Triton's own launcher stub is the launcher, not the extensions
    launcher = ("CalledProcessError: Command '['cl.exe', 'C:\\\\Temp\\\\cuda_utils.c']' returned "
                "non-zero exit status 2.\ncuda_utils.c(54): error C2143: syntax error\n")
    assert _top(launcher) == "triton-launcher-compile-failed"


@pytest.mark.parametrize("said", ["it has been stuck here for an hour",
                                  "卡在Building wheel那里就不动了"])
def test_a_source_build_that_seems_stuck(said: str) -> None:
    text = f"  Building wheel for mamba-ssm (setup.py) ...\n{said}"
    assert _top(text) == "no-prebuilt-wheel-slow-source-build"
    assert _top("  Building wheel for mamba-ssm (setup.py) ... done") is None


def test_a_backward_returning_the_wrong_number_of_gradients_is_the_release() -> None:
    line = ("RuntimeError: function MambaSplitConv1dScanCombinedFnBackward returned an incorrect "
            "number of gradients (expected 20, got 18)")
    assert _top(line) == "mamba-broken-release"
    assert _top("RuntimeError: function MyOpBackward returned an incorrect number of gradients") \
        is None


def test_triton_on_volta_asserting_an_mma_layout() -> None:
    line = ("Assertion `!(srcMmaLayout && dstMmaLayout) && \"Unexpected mma -> mma layout "
            "conversion\"' failed.")
    assert _top(line) == "triton-gpu-ptxas-unsupported"


def test_a_module_missing_because_its_build_failed_is_the_build_failure() -> None:
    text = ("NameError: name 'selective_scan_cuda_oflex' is not defined\nThen building "
            "kernels/selective_scan said my CUDA version (11.8) does not match the CUDA version "
            "(12.1) torch was built with")
    assert _top(text) == "nvcc-torch-cuda-major-mismatch"
    gcc = ("no selective_scan_cuda_oflex after the build; I must upgrade gcc to compile with "
           "C++17")
    assert _top(gcc) == "host-compiler-incompatible"


def test_prose_that_nvcc_or_libcuda_is_not_found() -> None:
    assert _top("the setup.py could not find /usr/local/cuda-12.1/bin/nvcc while building "
                "causal_conv1d") == "nvcc-not-found-bare-metal-version"
    assert _top("Now triton cannot find the libcuda.so, it is in /usr/lib/wsl/lib") == \
        "triton-launcher-compile-failed"


def test_a_traceback_cut_inside_library_paths_is_a_missing_toolkit() -> None:
    text = ('  File "/env/lib/python3.8/site-packages/torch/utils/cpp_extension.py", line 1076, '
            "in CUDAExtension\n    library_dirs += library_paths(cuda=True)\n")
    assert _top(text) == "nvcc-not-found-bare-metal-version"


def test_an_undefined_symbol_cut_mid_word() -> None:
    line = ("ImportError: /env/lib/python3.10/site-packages/selective_scan_cuda.cpython-310-"
            "x86_64-linux-gnu.so: undefined s")
    assert _top(line) == "torch-version-mismatch-undefined-symbol"


def test_the_skew_named_in_a_title() -> None:
    assert _top("TypeError in causal_conv1d_fwd() during training") == \
        "causal-conv1d-mamba-version-skew"


def test_apple_silicon_in_prose() -> None:
    assert _top("mamba_ssm does not support apple silicon yet, on my mac m2") == \
        "macos-unsupported"
    assert _top("I trained mamba on a mac m2 and it was slow but fine") is None


def test_an_isolated_build_of_a_projects_kernel_cut_in_get_requires() -> None:
    text = ("Processing /home/u/VMamba/kernels/selective_scan\n  Getting requirements to build "
            "wheel ... error\n")
    assert _top(text) == "build-isolation-missing-build-deps"


@pytest.mark.parametrize("line", [
    "AttributeError: module 'torch.utils._pytree' has no attribute 'register_pytree_node'",
    "Disabling PyTorch because PyTorch >= 2.1 is required but found 2.0.1",
])
def test_a_transformers_newer_than_torch(line: str) -> None:
    assert _top(line) == "transformers-too-new-for-torch"


def test_a_fork_function_named_as_imported() -> None:
    text = ("you imported bimamba_inner_fn, mamba_inner_fn_no_out_proj from "
            "mamba_ssm.ops.selective_scan_interface, which is absent from the original")
    assert _top(text) == "vendored-fork-api-mismatch"


# ---------------------------------------------------------------- the toolchains' own wordings
# Faces written from the messages torch's cpp_extension, nvcc, libstdc++, pip and urllib3 print
# (not from corpus logs): the lower bound of the compiler check, nvcc/gcc pairs that cannot
# parse torch's headers, an nvcc too old for the GPU's architecture, a pinned triton that has no
# wheel, a build that seems stuck, and a download from GitHub's release hosts.

@pytest.mark.parametrize("text", [
    "RuntimeError: The current installed version of g++ (4.8.5) is less than the minimum "
    "required version by CUDA 11.8 (6.0.0). Please make sure to use an adequate version of g++ "
    "(>=6.0.0, <12.0).",
    "/usr/include/c++/11/bits/std_function.h:435:145: error: parameter packs not expanded with "
    "'...':",
    "/opt/rh/devtoolset-11/root/usr/include/c++/11/bits/std_function.h:530:146: error: parameter "
    "packs not expanded with \u2018...\u2019:",  # gcc's typographic quotes
    "error: invalid static_cast from type 'const torch::OrderedDict<std::basic_string<char>, "
    "std::shared_ptr<torch::nn::Module> >' to type 'torch::OrderedDict<...>&'",
])
def test_a_host_compiler_nvcc_cannot_work_with(text: str) -> None:
    assert _top(text) == "host-compiler-incompatible"


def test_a_torch_below_a_minimum_is_not_the_compiler() -> None:
    assert _top("torch 1.12 is less than the minimum required version by this package") != \
        "host-compiler-incompatible"


@pytest.mark.parametrize("arch, mode", [
    ("compute_90", "nvcc-too-old-or-wrong-cuda-home"),
    ("compute_89", "nvcc-too-old-or-wrong-cuda-home"),
    ("compute_90a", "nvcc-too-old-or-wrong-cuda-home"),
    ("compute_120", "gpu-arch-too-new-blackwell"),
    ("compute_100", "gpu-arch-too-new-blackwell"),
])
def test_an_architecture_nvcc_does_not_know(arch: str, mode: str) -> None:
    assert _top(f"nvcc fatal   : Unsupported gpu architecture '{arch}'") == mode


def test_an_architecture_flag_in_a_build_line_is_not_a_failure() -> None:
    assert _top("/usr/local/cuda/bin/nvcc -gencode arch=compute_90,code=sm_90 -c x.cu") is None


@pytest.mark.parametrize("text, mode", [
    ("ERROR: Could not find a version that satisfies the requirement triton==2.1.0 (from "
     "versions: none)", "triton-missing"),
    ("ERROR: Could not find a version that satisfies the requirement triton-windows==9.9 (from "
     "versions: none)", None),
])
def test_a_pinned_triton_without_a_wheel(text: str, mode: Optional[str]) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text", [
    "pip install mamba-ssm stuck at Building wheel for mamba-ssm (setup.py)",
    "Building wheel for causal-conv1d (pyproject.toml) has been running for hours",
])
def test_a_build_that_seems_stuck(text: str) -> None:
    assert _top(text) == "no-prebuilt-wheel-slow-source-build"


def test_a_long_build_that_finished_is_not_stuck() -> None:
    text = ("Building wheel for mamba-ssm (setup.py) ... done (it took a long time)\n"
            "Successfully installed causal-conv1d-1.4.0 mamba-ssm-2.2.2")
    assert _top(text) is None


@pytest.mark.parametrize("text, mode", [
    ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='github.com', port=443): "
     "Max retries exceeded with url: /Dao-AILab/causal-conv1d/releases/download/v1.4.0/"
     "causal_conv1d-1.4.0+cu122torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl",
     "github-wheel-download-failed"),
    ("pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool("
     "host='objects.githubusercontent.com', port=443): Read timed out.",
     "github-wheel-download-failed"),
    ("HTTPSConnectionPool(host='github.com', port=443): Max retries exceeded with url: "
     "/MzeroMiko/VMamba/releases/download/v2cls/vssm1_tiny.pth", None),  # a checkpoint
    ("HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded with url: "
     "/state-spaces/mamba-130m/resolve/main/config.json", None),
])
def test_a_download_from_githubs_release_hosts(text: str, mode: Optional[str]) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text, mode", [
    ("/bin/sh: 1: nvcc: not found", "nvcc-not-found-bare-metal-version"),
    ("bash: nvcc: 未找到命令", "nvcc-not-found-bare-metal-version"),  # zh_CN bash
    ("'nvcc' is not recognized as an internal or external command,\noperable program or batch "
     "file.", "nvcc-not-found-bare-metal-version"),
    ("'nvcc' 不是内部或外部命令\uff0c也不是可运行的程序\n或批处理文件。",
     "nvcc-not-found-bare-metal-version"),  # zh-CN cmd.exe
    ("RuntimeError: Ninja is required to load C++ extensions", "build-resources-ninja-oom"),
    ("ImportError: libtorch_cuda_cu.so: cannot open shared object file: No such file or "
     "directory", "torch-version-mismatch-undefined-symbol"),
    ("ERROR: mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp310-cp310-linux_x86_64.whl is not a "
     "supported wheel on this platform.", "python-version-no-wheel"),
    ("ImportError: DLL load failed while importing causal_conv1d_cuda: The specified module "
     "could not be found.", "windows-native-unsupported"),
    ("ImportError: DLL load failed while importing selective_scan_cuda: 找不到指定的模块。",
     "windows-native-unsupported"),
    ("ImportError: DLL load failed while importing selective_scan_cuda: "
     "\u041d\u0435 найден указанный модуль.", "windows-native-unsupported"),
])
def test_toolchain_and_loader_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text", [
    "ImportError: cannot import name 'packaging' from 'pkg_resources' (/env/lib/python3.10/"
    "site-packages/pkg_resources/__init__.py)",
    "AttributeError: module 'pkg_resources' has no attribute 'packaging'",
    "AttributeError: module 'pkgutil' has no attribute 'ImpImporter'. Did you mean: "
    "'zipimporter'?",
])
def test_a_setuptools_that_does_not_fit(text: str) -> None:
    assert _top(text) == "setuptools-incompatible"


def test_other_pkg_resources_errors_are_not_setuptools() -> None:
    assert _top("pkg_resources.DistributionNotFound: The 'tqdm' distribution was not found") \
        != "setuptools-incompatible"
    assert _top("ImportError: DLL load failed while importing _imaging: The specified module "
                "could not be found.") is None  # Pillow's, not a Mamba kernel


@pytest.mark.parametrize("text, mode", [
    ("RuntimeError: CUDA error: the provided PTX was compiled with an unsupported toolchain.",
     "driver-too-old-cuda13"),
    ("ImportError: libcuda.so.1: cannot open shared object file: No such file or directory",
     "no-gpu-visible"),
    ("error: command 'gcc' failed: No such file or directory", "host-compiler-missing"),
    ("error: command '/usr/bin/x86_64-linux-gnu-gcc' failed: No such file or directory",
     "host-compiler-missing"),
    ("subprocess.CalledProcessError: Command '['which', 'c++']' returned non-zero exit status 1.",
     "host-compiler-missing"),
    ("/usr/bin/ld: cannot find -lcudart: No such file or directory", "cuda-dev-headers-missing"),
    ("/usr/bin/ld: cannot find -lcuda: No such file or directory",
     "triton-launcher-compile-failed"),
    ("ImportError: cannot import name 'causal_conv1d_varlen_states' from "
     "'causal_conv1d.causal_conv1d_varlen'", "causal-conv1d-mamba-version-skew"),
    ("AttributeError: module 'mamba_ssm' has no attribute 'Mamba2'",
     "mamba-ssm-too-old-for-project"),
    ("ImportError: This modeling file requires the following packages that were not found in "
     "your environment: mamba_ssm. Run `pip install mamba_ssm`", "mamba-ssm-not-installed"),
    ('error: identifier "cudaGraphInstantiateWithFlags" is undefined',
     "nvcc-too-old-or-wrong-cuda-home"),
    ("torch.cuda.is_available() returns False", "driver-too-old-cuda13"),
])
def test_driver_compiler_and_version_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text", [
    "ImportError: This modeling file requires the following packages that were not found in "
    "your environment: einops. Run `pip install einops`",  # another package
    "module 'mamba_ssm' has no attribute '__version__'",
    'error: identifier "my_cuda_helper" is undefined',  # the project's own code
])
def test_look_alikes_of_those_faces(text: str) -> None:
    assert _top(text) not in ("mamba-ssm-not-installed", "mamba-ssm-too-old-for-project",
                              "nvcc-too-old-or-wrong-cuda-home")


# ---------------------------------------------------------------- what setup.py itself says
# mamba's and causal-conv1d's setup.py (state-spaces/mamba e9594ce, setup.py): ROCm 6.0's patch
# warning, hipcc missing under a ROCm torch, CUDA 10's torch refused, a CPU torch's None CUDA.

@pytest.mark.parametrize("text, mode", [
    ("UserWarning: mamba_ssm requires a patch to be applied when running on ROCm 6.0. Refer to "
     "the README.md for detailed instructions.", "rocm-build"),
    ("hip installation not found: [Errno 2] No such file or directory: 'hipcc' ROCM_PATH=None",
     "rocm-build"),
    ("ValueError: CUDA version 10.2 not supported", "torch-too-old-for-setup"),
    ('  File "/tmp/pip-install-abc/mamba-ssm_1/setup.py", line 285, in <module>\n'
     "    torch_cuda_version = parse(torch.version.cuda)\n"
     "TypeError: expected string or bytes-like object", "torch-cpu-build"),
])
def test_what_setup_py_says(text: str, mode: str) -> None:
    assert _top(text) == mode


def test_a_type_error_elsewhere_is_not_a_cpu_torch() -> None:
    assert _top("re.sub(pattern, x)\nTypeError: expected string or bytes-like object") is None


# ---------------------------------------------------------------- what torch's cpp_extension says
# torch/utils/cpp_extension.py (torch 2.13): CUDA not found, nvcc missing under CUDA_HOME, ROCm's
# home unset, a setuptools too old for its version check, MSVC required.

@pytest.mark.parametrize("text, mode", [
    ("RuntimeError: CUDA was not found on the system, please set the CUDA_HOME or the CUDA_PATH"
     "environment variable or add NVCC to your system PATH. The extension compilation will "
     "fail.", "nvcc-not-found-bare-metal-version"),
    ("FileNotFoundError: nvcc not found at '/usr/local/cuda-12.1/bin/nvcc'. Ensure CUDA path "
     "'/usr/local/cuda-12.1' is correct.", "nvcc-not-found-bare-metal-version"),
    ("OSError: ROCM_HOME environment variable is not set. Please set it to your ROCm install "
     "root.", "rocm-build"),
    ("ValueError: setuptools>=49.4.0 is required", "setuptools-incompatible"),
    ("RuntimeError: MSVC is required to load C++ extensions", "windows-native-unsupported"),
])
def test_what_cpp_extension_says(text: str, mode: str) -> None:
    assert _top(text) == mode


def test_the_abi_warning_alone_is_not_a_diagnosis() -> None:
    assert _top("Your compiler (/usr/bin/c++) may be ABI-incompatible with PyTorch!") is None


# ---------------------------------------------------------------- Triton's own messages

@pytest.mark.parametrize("text, mode", [
    ("AttributeError: module 'triton.language' has no attribute 'libdevice'",
     "triton-too-new-for-old-mamba"),  # removed in Triton 3
    ("AttributeError: module 'triton.language' has no attribute 'cumsum'", "triton-too-old"),
    ("ImportError: cannot import name 'libdevice' from 'triton.language.extra.cuda'",
     "triton-too-old"),
    ("ModuleNotFoundError: No module named 'triton.language.extra.cuda'", "triton-too-old"),
    ("RuntimeError: 0 active drivers ([]). There should only be one.", "no-gpu-visible"),
])
def test_tritons_own_messages(text: str, mode: str) -> None:
    assert _top(text) == mode


# ---------------------------------------------------------------- a fallback warning next to OOM

_FAST_PATH = ("The fast path is not available because one of `(selective_state_update, "
              "selective_scan_fn, causal_conv1d_fn, causal_conv1d_update, mamba_inner_fn)` is "
              "None. Falling back to the naive implementation.")


def test_the_fast_path_warning_alone_is_the_missing_kernels() -> None:
    assert _top(_FAST_PATH + "\nGeneration runs at 2 tokens per second") == \
        "causal-conv1d-unavailable-nonetype"


@pytest.mark.parametrize("oom", [
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.",
    "[ERROR] Quantization failed: CUDA out of memory. Tried to allocate 170.00 MiB.",
])
def test_the_fast_path_warning_before_an_oom_is_not_the_failure(oom: str) -> None:
    assert _top(_FAST_PATH + "\n" + oom) is None


def test_a_nonetype_crash_stays_diagnosed_even_beside_an_oom() -> None:
    text = (_FAST_PATH + "\nAttributeError: 'NoneType' object has no attribute "
            "'causal_conv1d_fwd'\ntorch.OutOfMemoryError: CUDA out of memory.")
    assert _top(text) == "causal-conv1d-unavailable-nonetype"


# ---------------------------------------------------------------- the cause in the poster's words
# Thin posts (a title, a sentence) that name their cause in prose. Such words are a diagnosis on
# their own, ranked under any mode an error line proves, and none where the kernels ran.

@pytest.mark.parametrize("text, mode", [
    ("Windows下安装mamba_ssm报错\uff0c求助", "windows-native-unsupported"),
    ("Does mamba support Windows? pip install fails on my Windows 11 laptop",
     "windows-native-unsupported"),
    ("服务器没有外网\uff0cpip install mamba-ssm 时下载 whl 超时", "github-wheel-download-failed"),
    ("The install fails because our cluster nodes cannot reach github.com to download the mamba "
     "wheel", "github-wheel-download-failed"),
    ("CUDA版本是11.3\uff0c安装mamba失败", "nvcc-too-old-or-wrong-cuda-home"),
    ("服务器上没有nvcc\uff0c装不了causal-conv1d", "nvcc-not-found-bare-metal-version"),
    ("I don't have nvcc on the cluster and can't install CUDA without root, so causal-conv1d "
     "fails", "nvcc-not-found-bare-metal-version"),
    ("gcc版本太低\uff0c编译causal_conv1d失败", "host-compiler-incompatible"),
    ("torch版本和mamba_ssm版本不匹配\uff0cimport时报undefined symbol",
     "torch-version-mismatch-undefined-symbol"),
    ("编译mamba的时候内存不够\uff0c进程被杀了", "build-resources-ninja-oom"),
    ("pip install mamba-ssm 编译了两个小时还没好", "no-prebuilt-wheel-slow-source-build"),
    ("I'm on python 3.7 and pip can't find mamba-ssm", "python-version-no-wheel"),
    ("Does mamba work on a GTX 1080 Ti? I get no kernel image", "gpu-arch-too-old"),
])
def test_the_cause_in_the_posters_words(text: str, mode: str) -> None:
    assert _top(text) == mode


def test_the_posters_words_rank_under_an_error_line() -> None:
    text = ("NameError: name 'selective_scan_cuda_core' is not defined\n"
            "I hit this problem in a Windows environment after installing it")
    assert _ids(text)[:2] == ["selective-scan-cuda-not-built", "windows-native-unsupported"]


@pytest.mark.parametrize("text", [
    "Windows下安装mamba_ssm报错\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate "
    "2.00 GiB",  # the kernels ran
    "On Windows 11 the install worked. Training fails: RuntimeError: shape '[4, 196, 96]' is "
    "invalid for input of size 150528",
    "服务器没有外网\uff0c所以我用的是离线的 mamba 权重",  # no failure: offline weights
    "gcc 11 works fine for building causal-conv1d",
])
def test_words_that_name_no_failure(text: str) -> None:
    assert _top(text) is None


@pytest.mark.parametrize("text, mode", [
    ("服务器没有外网\uff0cpip install mamba-ssm 报错\nERROR: Failed building wheel for mamba-ssm",
     "github-wheel-download-failed"),
    ("gcc版本太低\uff0c编译causal_conv1d失败\nERROR: Failed building wheel for causal-conv1d",
     "host-compiler-incompatible"),
])
def test_pips_wrapper_still_goes_under_the_cause_the_poster_names(text: str, mode: str) -> None:
    assert _ids(text)[:2] == [mode, "no-prebuilt-wheel-slow-source-build"]


# ------------------------------------------------- round 10's causes (added after it was spent)
# Written from the libraries' own messages (phonemizer, nnunetv2, basicsr, mmcv, torchaudio,
# huggingface_hub, setuptools' easy_install, triton-windows, torch's inductor), in forms the corpus
# logs do not have: other paths, other names, another locale's path separators.

@pytest.mark.parametrize("text, mode", [
    ("RuntimeError: espeak not installed on your system", "espeak-ng-not-found"),
    ("RuntimeError: espeak-ng is not installed or not found. Please install espeak-ng",
     "espeak-ng-not-found"),
    ("RuntimeError: failed to find espeak library", "espeak-ng-not-found"),
    ("RuntimeError: Could not find requested nnunet trainer nnUNetTrainerLightMUNet in "
     "nnunetv2.training.nnUNetTrainer (/opt/nnUNet/nnunetv2/training/nnUNetTrainer).",
     "project-package-not-installed"),
    ("ModuleNotFoundError: No module named 'nnunetv2.nets'", "project-package-not-installed"),
    ("  File \"/env/lib/python3.10/site-packages/mmseg/models/builder.py\", line 20\n"
     "KeyError: 'SegMambaBackbone is not in the models registry'",
     "project-package-not-installed"),
    ("KeyError: 'RainNet is not in the model registry'\nDid you run pip install -e . first?",
     "project-package-not-installed"),
    ("ModuleNotFoundError: No module named 'third_party.mamba_ssm.modules'",
     "project-package-not-installed"),
    ("ModuleNotFoundError: No module named 'lm_eval.api'", "project-package-not-installed"),
    ("I cannot import the mamba_ssm_2p0 package even though I followed the README",
     "project-package-not-installed"),
    ("请问是不是没有提供mamba_ssm的代码\uff1f", "mamba-ssm-not-installed"),
    ("ImportError: DLL load failed while importing libtriton: A dynamic link library (DLL) "
     "initialization routine failed.", "windows-triton-dll-load-failed"),
    ("  File \"D:\\app\\venv\\Lib\\site-packages\\torch\\_inductor\\cpp_builder.py\"\n"
     "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xb2 in position 12: invalid start byte",
     "windows-msvc-output-decode-error"),
    ("torch._inductor.exc.InductorError: RuntimeError: Compiler: cl is not found.",
     "host-compiler-missing"),
    ("  File \"G:\\app\\.env\\Lib\\site-packages\\torchaudio\\_extension\\utils.py\", line 56\n"
     "OSError: [WinError 127] The specified procedure could not be found",
     "torchaudio-torch-mismatch"),
    ("RuntimeError: Couldn't find appropriate backend to handle uri speech.wav and format None.",
     "torchaudio-audio-backend-missing"),
    ("ImportError: libcudart.so.11.0: cannot open shared object file: No such file or directory",
     "extension-cuda-major-mismatch"),
    ("ImportError: cannot import name 'HfFolder' from 'huggingface_hub' "
     "(/env/lib/python3.12/site-packages/huggingface_hub/__init__.py)", "huggingface-hub-too-new"),
    ("error: Could not find suitable distribution for Requirement.parse('ninja')",
     "setup-py-install-easy-install"),
    ("/opt/miniconda3/envs/m/compiler_compat/ld: cannot find -lgcc_s: No such file or directory",
     "conda-compiler-compat-ld"),
    ("ImportError: cannot import name 'MambaBlock' from 'zeta.nn.modules' (/env/zeta/nn/m.py)",
     "zetascale-version-mismatch"),
    ("ImportError: cannot import name 'Block' from 'mamba_ssm.modules.mamba_simple' "
     "(/env/lib/python3.11/site-packages/mamba_ssm/modules/mamba_simple.py)",
     "mamba-api-drift-downstream"),
    ("TypeError: create_block() missing 1 required positional argument: 'd_intermediate'",
     "mamba-api-drift-downstream"),
    ("TypeError: decode() got an unexpected keyword argument 'min_p'",
     "mamba-ssm-too-old-for-project"),
    ("TypeError: decode() got an unexpected keyword argument 'quant_dtype'",
     "vendored-fork-api-mismatch"),
    ("    out, x, *rest = selective_scan_cuda_core.fwd(u, delta, A, B, C, D, None, True, 1)\n"
     "TypeError: fwd(): incompatible function arguments. The following argument types are "
     "supported:", "vendored-fork-api-mismatch"),
    ("x = x.cuda(3)\nRuntimeError: Triton Error [CUDA]: device kernel image is invalid",
     "triton-nondefault-cuda-device"),
    ("RuntimeError: Failed to find MSVC", "triton-launcher-compile-failed"),
    ("NameError: name 'selective_scan_ref_v1' is not defined", "selective-scan-cuda-not-built"),
    ("NameError: name 'selective_scan_fn' is not defined\nYou need to install mamba_ssm first",
     "mamba-ssm-not-installed"),
    ("pip install causal-conv1d\n      urllib.error.URLError: <urlopen error [Errno 110] "
     "Connection timed out>\n      [end of output]", "github-wheel-download-failed"),
    ("We build on nvcr.io/nvidia/pytorch:24.01-py3 and pip install mamba-ssm failed",
     "ngc-container-torch"),
])
def test_round_ten_causes_in_other_words(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text", [
    # a registry miss alone is as often a typo in a config as a missing install
    "KeyError: 'Mamba_UNet is not in the models registry'",
    # generate() given Hugging Face's arguments: the caller's mistake, not a fork
    "TypeError: decode() got an unexpected keyword argument 'attention_mask'",
    "TypeError: decode() got an unexpected keyword argument 'max_new_tokens'",
    # a decode error reading a dataset, not a compiler's output
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte\n"
    "  File \"train.py\", line 12, in load_captions",
    # torchaudio named in a traceback that fails elsewhere
    "  File \"/env/lib/python3.10/site-packages/torchaudio/functional/filtering.py\"\n"
    "RuntimeError: expected scalar type Float but found Half",
    # espeak named without a failure
    "Conditioners in this model: ['espeak', 'speaker', 'emotion']",
    "ImportError: cannot import name 'AutoModel' from 'transformers'",
])
def test_round_ten_look_alikes_name_nothing(text: str) -> None:
    assert _top(text) is None


# ------------------------------------------------- round 11's tune half (added after it was split)

@pytest.mark.parametrize("text, mode", [
    ("ImportError: cannot import name 'MambaBlock' from 'zeta', it is in zeta.nn now",
     "zetascale-version-mismatch"),
    ("ModuleNotFoundError: No module named 'zeta.structs'", "zetascale-version-mismatch"),
    ("TypeError: custom_bwd() takes from 0 to 1 positional arguments but 9 positional arguments "
     "were given", "mamba-broken-release"),
    ("Could you publish prebuilt wheels for torch 2.7? pip tries to compile causal-conv1d",
     "no-wheel-for-new-torch"),
    ("NotImplementedError: Could not run 'vllm::causal_conv1d_update' with arguments from the "
     "'CUDA' backend.", "project-cuda-kernel-not-built"),
    ("UserWarning: The detected CUDA version (10.2) has a minor version mismatch with the version "
     "that was used to compile PyTorch (10.1).\nbuilding 'selective_scan_cuda' extension",
     "nvcc-too-old-or-wrong-cuda-home"),
    ("The system CUDA 12.4 does not match the CUDA your torch was built with (11.8)",
     "nvcc-torch-cuda-major-mismatch"),
])
def test_round_eleven_tune_causes_in_other_words(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text", [
    # a project's own block given a keyword it lacks: the caller's mistake, not a fork of mamba
    "TypeError: VisionEncoderMambaBlock.__init__() got an unexpected keyword argument 'heads'",
    # the fork's import line shown as the source of a traceback that fails on something else
    "  File \"/work/proj/mamba_ssm/modules/mamba_simple.py\", line 19, in <module>\n"
    "    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn, bimamba_inner_fn\n"
    "ValueError: too many values to unpack (expected 4)",
    "The detected CUDA version (12.4) has a minor version mismatch with the version that was "
    "used to compile PyTorch (12.1). Most likely this shouldn't be a problem.",
    "Thanks for the torch 2.5 wheels, they work",
])
def test_round_eleven_tune_look_alikes_name_nothing(text: str) -> None:
    assert _top(text) is None


# Round 12's tune half: a fork's modules and a fork's forward() keywords, read against
# upstream's own names (mamba_ssm/modules, ops and models of the 1.x to 2.x releases).
@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'mamba_ssm.modules.mamba_new'",
    "ModuleNotFoundError: No module named 'mamba_ssm.modules.mamba_simple_bi'",
    "No module named 'mamba_ssm.models.vision_mamba'",
    "ModuleNotFoundError: No module named mamba_ssm.ops.bimamba_interface",
    "TypeError: Mamba.forward() got an unexpected keyword argument 'extra_emb'",
    "TypeError: Mamba2.forward() got an unexpected keyword argument 'mask'",
    "it says mamba.forward() got an unexpected keyword argument 'cond'",
])
def test_round_twelve_tune_a_forks_modules_and_keywords(text: str) -> None:
    assert _top(text) == "vendored-fork-api-mismatch"


@pytest.mark.parametrize("text, not_mode", [
    # upstream's own modules and keywords: an install too old or broken, never a fork
    ("ModuleNotFoundError: No module named 'mamba_ssm.modules.mamba2'",
     "vendored-fork-api-mismatch"),
    ("ModuleNotFoundError: No module named 'mamba_ssm.ops.triton.layer_norm'",
     "vendored-fork-api-mismatch"),
    ("ModuleNotFoundError: No module named 'mamba_ssm.ops.selective_scan_interface'",
     "vendored-fork-api-mismatch"),
    ("TypeError: Mamba2.forward() got an unexpected keyword argument 'cu_seqlens'",
     "vendored-fork-api-mismatch"),
    # other classes' forward(): transformers' model, a project's own block
    ("TypeError: MambaForCausalLM.forward() got an unexpected keyword argument "
     "'num_items_in_batch'", None),
    ("TypeError: BiMamba.forward() got an unexpected keyword argument 'x'", None),
])
def test_round_twelve_tune_look_alikes(text: str, not_mode: Optional[str]) -> None:
    if not_mode is None:
        assert _top(text) is None
    else:
        assert _top(text) != not_mode


# heldout7 (spent): a requirement of mamba-ssm itself missing at import.
@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'einops'",
    "  File \"/opt/vllm/vllm/model_executor/models/jamba.py\", line 9, in <module>\n"
    "    from einops import rearrange\nModuleNotFoundError: No module named 'einops'",
    "  File \"/env/lib/python3.10/site-packages/mamba_ssm/utils/generation.py\", line 14, in "
    "<module>\n    from transformers.generation import GreedySearchDecoderOnlyOutput\n"
    "ModuleNotFoundError: No module named 'transformers'",
])
def test_a_requirement_of_mamba_ssm_missing(text: str) -> None:
    assert _top(text) == "mamba-python-dependency-missing"


@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'einops_exts'",  # another package
    "ModuleNotFoundError: No module named 'einops.layers.torch'",  # an einops too old, not absent
    "  File \"/home/me/proj/train.py\", line 2, in <module>\n    import transformers\n"
    "ModuleNotFoundError: No module named 'transformers'",  # the project's own requirement
])
def test_a_requirement_of_mamba_ssm_look_alikes(text: str) -> None:
    assert _top(text) != "mamba-python-dependency-missing"


# tune11 (spent): a vendored copy of mamba_ssm on a traceback is where the error passed, not
# what it is; upstream's broken 2.0.0 is its own 'src' imports, not any 'src' beside mamba_ssm.
@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'src'\n  File \"/env/lib/python3.10/site-packages/"
    "mamba_ssm/distributed/tensor_parallel.py\", line 14, in <module>",
    "  File \"/home/me/mamba/mamba_ssm/ops/triton/ssd_combined.py\", line 40, in <module>\n"
    "    from src.ops.triton.k_activations import _swiglu_fwd, _swiglu_bwd\n"
    "ModuleNotFoundError: No module named 'src.ops.triton.k_activations'",
])
def test_upstreams_broken_release_by_its_own_src_imports(text: str) -> None:
    assert _top(text) == "mamba-broken-release"


@pytest.mark.parametrize("text", [
    "  File \"/home/me/proj/vmamba/mamba_ssm/__init__.py\", line 4, in <module>\n"
    "    from proj.vmamba.mamba_ssm.modules.mamba_simple import Mamba\n"
    "  File \"/home/me/proj/vmamba/mamba_ssm/modules/mamba_simple.py\", line 19, in <module>\n"
    "ModuleNotFoundError: No module named 'src'",
    "  File \"/home/me/proj/models/mamba_ssm/__init__.py\", line 3, in <module>\n"
    "ValueError: too many values to unpack (expected 4)",
])
def test_a_vendored_copy_on_the_traceback_is_not_the_cause(text: str) -> None:
    assert _top(text) not in ("mamba-broken-release", "local-checkout-shadowing")


# tune13: a project that cannot import itself, its checkout named otherwise (GitHub's zip gives
# "<repo>-master") or the script launched from inside it (diagnose/ownpackage.py).
@pytest.mark.parametrize("text", [
    "Traceback (most recent call last):\n  File \"/codes/MambaCD-master/changedetection/script/"
    "train.py\", line 10, in <module>\n    from MambaCD.changedetection.configs.config import "
    "get_config\nModuleNotFoundError: No module named 'MambaCD'",
    "  File \"D:\\code\\VMRNN-main\\VMRNN\\train.py\", line 3, in <module>\n"
    "    from VMRNN.model import Net\nModuleNotFoundError: No module named 'VMRNN'",
    "  File \"/home/me/SegMamba/segmamba/train.py\", line 7, in <module>\n"
    "ModuleNotFoundError: No module named 'SegMamba'",
])
def test_a_project_that_cannot_import_itself(text: str) -> None:
    assert _top(text) == "project-package-not-installed"


@pytest.mark.parametrize("text", [
    # the folder is an installed package's, not the project's
    "  File \"/env/lib/python3.10/site-packages/timm/models/vmamba.py\", line 3, in <module>\n"
    "ModuleNotFoundError: No module named 'timm'",
    # a dotted name: its first part was imported, a submodule is missing
    "  File \"/home/me/proj/models/build.py\", line 3, in <module>\n"
    "ModuleNotFoundError: No module named 'models.vmamba'",
    # a checkout of mamba itself: its own failures are read elsewhere
    "  File \"/home/me/mamba_ssm/train.py\", line 3, in <module>\n"
    "ModuleNotFoundError: No module named 'mamba_ssm'",
    # the name is in no folder of the traceback
    "  File \"/home/me/proj/train.py\", line 3, in <module>\n"
    "ModuleNotFoundError: No module named 'wandb'",
])
def test_a_project_that_cannot_import_itself_look_alikes(text: str) -> None:
    assert _top(text) != "project-package-not-installed"


def test_a_cuda_path_problem_in_words_beside_a_failed_build() -> None:
    text = ("Building wheel for selective-scan (setup.py) ... error\n"
            "  error: subprocess-exited-with-error\n"
            "It seems that my problem is caused by not installing CUDA correctly.\n"
            "Hi, this is indeed a CUDA path issue.")
    assert _top(text) == "nvcc-not-found-bare-metal-version"
    # the same words without a build that failed say nothing
    assert _top("Hi, this is indeed a CUDA path issue, see the README") is None


# tune15: three faces round 15's tune half showed.
@pytest.mark.parametrize("text, mode", [
    # a package whose words a checkout's folder holds in order (GitHub's zip download)
    ("Traceback (most recent call last):\n  File \"/code/Mamba-YOLO-World-main/demo/image_demo.py"
     "\", line 9, in <module>\n    import yolo_world\nModuleNotFoundError: No module named "
     "'yolo_world'", "project-package-not-installed"),
    ("  File \"C:\\src\\my_seg_net\\train.py\", line 3, in <module>\n    from seg_net import x\n"
     "ModuleNotFoundError: No module named 'seg_net'", "project-package-not-installed"),
    # Triton's own compiler aborting on an assertion, with no Python traceback
    ("python: /project/lib/Conversion/TritonGPUToLLVM/ConvertLayoutOpToLLVM.cpp:101: "
     "mlir::LogicalResult mlir::triton::gpu::Foo(): Assertion `false && \"unsupported layout\"' "
     "failed.\nAborted (core dumped)", "triton-gpu-ptxas-unsupported"),
    # PyPI's triton pulled in beside a ROCm torch's own
    ("Requirement already satisfied: pytorch-triton-rocm==3.2.0 in ./venv/lib/python3.11/"
     "site-packages (from torch) (3.2.0)\nCollecting triton (from mamba-ssm==2.2.4)\n"
     "  Downloading triton-3.2.0-cp311-cp311-manylinux_2_17_x86_64.whl (253.1 MB)",
     "rocm-pip-pulls-cuda-triton"),
    # Mamba-3's tilelang launcher asking for more shared memory than the GPU allows
    ("tvm.error.InternalError: Failed to set the allowed dynamic shared memory size to 229376",
     "mamba3-tilelang-shared-memory-exceeds-gpu"),
])
def test_round_fifteen_tune_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text, not_mode", [
    # one word is no evidence: `mamba` under a folder with other words
    ("  File \"/code/Vision-Mamba/train.py\", line 2, in <module>\n    import mamba\n"
     "ModuleNotFoundError: No module named 'mamba'", "project-package-not-installed"),
    # the words out of order, or split by others
    ("  File \"/code/world-yolo/demo.py\", line 2, in <module>\n"
     "ModuleNotFoundError: No module named 'yolo_world'", "project-package-not-installed"),
    ("  File \"/code/yolo-big-world/demo.py\", line 2, in <module>\n"
     "ModuleNotFoundError: No module named 'yolo_world'", "project-package-not-installed"),
    # an installed package's folder, not the project's
    ("  File \"/env/lib/python3.10/site-packages/yolo_world_utils/x.py\", line 2, in <module>\n"
     "ModuleNotFoundError: No module named 'yolo_world'", "project-package-not-installed"),
    # an assertion of the user's own code or of another C++ library
    ("python: /home/me/ext/conv.cpp:12: int f(): Assertion `n > 0' failed.\nAborted",
     "triton-gpu-ptxas-unsupported"),
    # a ROCm torch with its own triton only, or PyPI's triton on a CUDA machine
    ("Requirement already satisfied: pytorch-triton-rocm==3.1.0 in ./venv (from torch) (3.1.0)\n"
     "Successfully installed mamba_ssm-2.2.2", "rocm-pip-pulls-cuda-triton"),
    ("Collecting triton (from mamba_ssm==2.2.2)\n  Downloading triton-3.1.0-cp310-cp310-"
     "manylinux_2_17_x86_64.whl", "rocm-pip-pulls-cuda-triton"),
    ("Collecting pytorch-triton-rocm==3.1.0\nRequirement already satisfied: triton-windows",
     "rocm-pip-pulls-cuda-triton"),
])
def test_round_fifteen_tune_look_alikes(text: str, not_mode: str) -> None:
    assert _top(text) != not_mode


# tune16: four faces round 16's tune half showed (the fifth, inductor's "Compiler: cl is not
# found", host-compiler-missing already knew; only the gatherers' label for it was new).
@pytest.mark.parametrize("text, mode", [
    # MSVC's math headers leave M_LOG2E undefined (no _USE_MATH_DEFINES): a native Windows build
    ("D:\\code\\mamba\\csrc\\selective_scan\\selective_scan_fwd_kernel.cuh(201): error: "
     "identifier \"M_LOG2E\" is undefined", "windows-native-unsupported"),
    ("error: identifier M_LOG2E is undefined in line 221", "windows-native-unsupported"),
    # another package's build refusing an old toolkit in its own words
    ("  File \"/tmp/pip-install-ab12/transformer-engine/setup.py\", line 47, in <module>\n"
     "RuntimeError: Transformer Engine requires CUDA 12.1 or newer",
     "nvcc-too-old-or-wrong-cuda-home"),
    ("Preparing metadata (pyproject.toml) ... error\n  RuntimeError: somepkg requires CUDA "
     "toolkit 11.8 or higher", "nvcc-too-old-or-wrong-cuda-home"),
    # conda's solver: a package needs a newer glibc than the host's
    ("LibMambaUnsatisfiableError: Encountered problems while solving:\n  - nothing provides "
     "__glibc >=2.28,<3.0.a0 needed by libcublas-12.4.5.8-0", "glibc-glibcxx-too-old"),
    ("UnsatisfiableError: The following specifications were found to be incompatible with your "
     "system:\n  - feature:/linux-64::__glibc==2.17=0\n  - pytorch -> __glibc[version='>=2.28']",
     "glibc-glibcxx-too-old"),
    # a layer that checks the GPU's compute capability before it runs
    ("AssertionError: Device compute capability 9.0 or higher required for FP8 block scaling.",
     "gpu-arch-too-old"),
    ("RuntimeError: This kernel requires compute capability >= 8.0 (found 7.5)",
     "gpu-arch-too-old"),
])
def test_round_sixteen_tune_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text, not_mode", [
    # M_LOG2E used, defined, or another identifier undefined
    ("#define M_LOG2E 1.4426950408889634\nbuilt selective_scan fine", "windows-native-unsupported"),
    ("model.py(12): error: identifier \"my_const\" is undefined", "windows-native-unsupported"),
    # a runtime check of a CUDA version, outside any build
    ("RuntimeError: FP8 requires CUDA 12.1 or newer\n  File \"/home/me/train.py\", line 9",
     "nvcc-too-old-or-wrong-cuda-home"),
    # a solver conflict about another virtual package, or a glibc the host has
    ("  - nothing provides __cuda >=12 needed by pytorch-2.3.0", "glibc-glibcxx-too-old"),
    ("__glibc=2.35=0 is installed", "glibc-glibcxx-too-old"),
    # a compute capability reported, not required
    ("GPU 0: NVIDIA A100 (compute capability 8.0)\nSuccessfully installed mamba_ssm-2.2.4",
     "gpu-arch-too-old"),
])
def test_round_sixteen_tune_look_alikes(text: str, not_mode: str) -> None:
    assert _top(text) != not_mode


# tune17: faces round 17's tune half (errors quoted in install notes and scripts) showed.
@pytest.mark.parametrize("text, mode", [
    # transformers 5 without the output classes older mamba_ssm imports
    ("ImportError: cannot import name 'SampleDecoderOnlyOutput' from 'transformers.generation'",
     "transformers-too-new-for-mamba-generation"),
    # NumPy 2 beside a torch built for NumPy 1
    ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.1.3 as it may crash.",
     "numpy2-with-numpy1-built-torch"),
    ("UserWarning: Failed to initialize NumPy: _ARRAY_API not found",
     "numpy2-with-numpy1-built-torch"),
    # a vendored kernel imported by name
    ("ImportError: cannot import name 'selective_scan_cuda_oflex' from 'kernels'",
     "selective-scan-cuda-not-built"),
    # the build deps missing from an environment built without isolation
    ("pip install --no-build-isolation causal-conv1d==1.4.0\n"
     "ModuleNotFoundError: No module named 'packaging'", "build-isolation-missing-build-deps"),
    # a header error cut off in a note
    ("fix for: fatal error: cuda_runtime.h: No such file", "cuda-dev-headers-missing"),
    # an import error wrapped after "from"
    ("ImportError: cannot import name 'mamba_inner_ref' from\n"
     "    'mamba_ssm.ops.selective_scan_interface'", "mamba-api-drift-downstream"),
    # a project saying it falls back without mamba-ssm
    ("WARNING: mamba_ssm not found, falling back to the slow PyTorch scan",
     "mamba-ssm-not-installed"),
])
def test_round_seventeen_tune_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text, not_mode", [
    # the new output class, or the names merely mentioned
    ("from transformers.generation import GenerateDecoderOnlyOutput\nok",
     "transformers-too-new-for-mamba-generation"),
    # NumPy 2 installed and working
    ("Successfully installed numpy-2.2.6\n>>> torch.from_numpy(x).sum()\ntensor(3.)",
     "numpy2-with-numpy1-built-torch"),
    # an isolated build (no --no-build-isolation) that lacks wheel is not this face
    ("ModuleNotFoundError: No module named 'wheel'\n  File \"/home/me/x.py\", line 1",
     "build-isolation-missing-build-deps"),
    # a wrapped import error of another package
    ("ImportError: cannot import name 'foo' from\n    'transformers.utils'",
     "mamba-api-drift-downstream"),
    # mamba-ssm installed and used; another package's fallback
    ("mamba_ssm 2.2.4 found, using the CUDA kernels", "mamba-ssm-not-installed"),
    ("flash_attn not available, falling back to eager attention", "mamba-ssm-not-installed"),
])
def test_round_seventeen_tune_look_alikes(text: str, not_mode: str) -> None:
    assert _top(text) != not_mode


# Faces the parts spent on 2026-12-08 (heldout8, heldout9, heldout11 to heldout15) showed, each
# written in the general form of what the log showed.
SHAPE_ERROR = ("RuntimeError: Given groups=1, weight of size [128, 128, 3, 3], expected "
               "input[32, 256, 20, 20] to have 128 channels, but got 256 channels instead")


@pytest.mark.parametrize("text, mode", [
    # Megatron's message, the package name run together
    ("ImportError: MambaSSM is not installed", "mamba-ssm-not-installed"),
    # flash-linear-attention asking for causal-conv1d
    ("RuntimeError: Please either install `causal-conv1d>=1.4.0` to enable fast causal short "
     "convolution CUDA kernel or set `use_fast_conv1d` to False", "mamba-ssm-not-installed"),
    # a serving engine's compiled op library without the Mamba ops (vLLM on ROCm)
    ("AttributeError: '_OpNamespace' '_C' object has no attribute 'selective_scan_fwd'",
     "project-cuda-kernel-not-built"),
    # Mamba-3's tilelang kernels, the error told in words beside their frame
    ("There is a problem of insufficient dynamic gpu memory on my RTX 4090\n"
     '  File "/env/site-packages/mamba_ssm/ops/tilelang/mamba3/mamba3_mimo.py", line 157',
     "mamba3-tilelang-shared-memory-exceeds-gpu"),
    # Mamba-3's PTX inline assembly under AMD's Triton backend
    ("Mamba3 on ROCm 6.4 (gfx1100):\nerror: couldn't allocate output register for constraint "
     "'f'", "mamba3-ptx-inline-asm-on-rocm"),
    # nvcc giving up on the vendored kernels on native Windows
    ('100 errors detected in the compilation of "C:/Users/me/proj/mamba/csrc/selective_scan/'
     'selective_scan_bwd_bf16_complex.cu".\n  File "F:\\Anaconda_envs\\envs\\proj\\lib\\'
     'site-packages\\torch\\utils\\cpp_extension.py", line 1893', "windows-native-unsupported"),
    # uv (and pixi, which runs it) when setup.py fails before it can name its requirements
    ("  ├─▶ Failed to build: `mamba-ssm==2.0.4`\n  ╰─▶ Build backend failed to determine extra "
     "requires with `build_wheel()` with exit status: 1", "build-isolation-missing-build-deps"),
    # a translator's "No module named" (browsers translate whole pages)
    ("> 没有名为“selective_scan_cuda_core”的模块", "selective-scan-cuda-not-built"),
    # a bare import notice with nothing showing that the run went on
    ("No module named 'selective_scan_cuda_core'", "selective-scan-cuda-not-built"),
    # mmengine failing to import a project's own modules
    ("ImportError: Failed to import custom modules from {'imports': ['mmpretrain.rsmamba'], "
     "'allow_failed_imports': False}, the current sys.path is:", "project-package-not-installed"),
    # ROCm 7's warp size is no longer a constant expression
    ("csrc/selective_scan/reverse_scan.cuh:62:20: error: constexpr variable 'IS_ARCH_WARP' must "
     "be initialized by a constant expression", "rocm-build"),
])
def test_spent_on_2026_12_08_faces(text: str, mode: str) -> None:
    assert _top(text) == mode


@pytest.mark.parametrize("text, not_mode", [
    # another package not installed
    ("ImportError: FlashAttention is not installed", "mamba-ssm-not-installed"),
    # another op missing from the same op library
    ("AttributeError: '_OpNamespace' '_C' object has no attribute 'rms_norm'",
     "project-cuda-kernel-not-built"),
    # the words in a Mamba-2 Triton log, no tilelang frame
    ('There is a problem of insufficient dynamic gpu memory\n  File "/env/site-packages/'
     'mamba_ssm/ops/triton/ssd_combined.py", line 12', "mamba3-tilelang-shared-memory-exceeds-gpu"),
    # an inline-asm register error of an unrelated C program
    ("foo.c:12:5: error: couldn't allocate output register for constraint 'x'",
     "mamba3-ptx-inline-asm-on-rocm"),
    # the same nvcc failure on Linux
    ('3 errors detected in the compilation of "/home/me/mamba/csrc/selective_scan/'
     'selective_scan_fwd_fp32.cu".\n  File "/home/me/env/lib/python3.10/site-packages/torch/'
     'utils/cpp_extension.py", line 1893', "windows-native-unsupported"),
    # uv failing the same way for another package
    ("  ├─▶ Failed to build: `flash-attn==2.7.4`\n  ╰─▶ Build backend failed to determine extra "
     "requires with `build_wheel()` with exit status: 1", "build-isolation-missing-build-deps"),
    # Ascend's compiler failing inside triton-ascend is not Triton's C launcher
    ("subprocess.CalledProcessError: Command '['/usr/local/Ascend/ascend-toolkit/latest/bin/"
     "bishengir-compile', '/tmp/kernel.ttadapter.mlir']' returned non-zero exit status 1.\n"
     '  File "/env/site-packages/triton/compiler/compiler.py", line 288, in compile',
     "triton-launcher-compile-failed"),
    # a vendored backend's import notice, and the run went on to a user-code shape error
    ("No module named 'selective_scan_cuda_core'\ninitialize network with normal type\n"
     + SHAPE_ERROR, "selective-scan-cuda-not-built"),
    # mmengine wrapping a missing mamba_ssm: the inner error is the cause
    ("ModuleNotFoundError: No module named 'mamba_ssm'\nImportError: Failed to import custom "
     "modules from {'imports': ['mmseg_custom'], 'allow_failed_imports': False}",
     "project-package-not-installed"),
    # a constexpr error of another variable on CUDA
    ("kernel.cuh:10:20: error: constexpr variable 'kBlockSize' must be initialized by a constant "
     "expression", "rocm-build"),
])
def test_spent_on_2026_12_08_look_alikes(text: str, not_mode: str) -> None:
    assert _top(text) != not_mode


def test_an_import_error_raised_is_no_fallback_notice() -> None:
    """The fallback rule reads only bare notices: an import error raised stays the cause."""
    text = "ModuleNotFoundError: No module named 'selective_scan_cuda_core'\n" + SHAPE_ERROR
    assert _top(text) == "selective-scan-cuda-not-built"
