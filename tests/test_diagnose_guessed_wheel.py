"""setup.py's guessed wheel URL read against the bundled release index (diagnose/guessed_wheel.py).

The wheels named here are facts of the bundled index: mamba_ssm v2.2.2 has torch 2.3 wheels,
mamba_ssm v2.0.0's newest torch is 2.4, causal_conv1d v1.4.0 has none for torch 1.13.
"""

from __future__ import annotations

import pytest

from mamba_doctor.diagnose.engine import diagnose
from mamba_doctor.diagnose.guessed_wheel import guessed_wheels
from mamba_doctor.diagnose.textscan import TextScan

MAMBA = "https://github.com/state-spaces/mamba/releases/download"
CONV = "https://github.com/Dao-AILab/causal-conv1d/releases/download"
LINUX_310 = "cp310-cp310-linux_x86_64.whl"
PUBLISHED = f"{MAMBA}/v2.2.2/mamba_ssm-2.2.2+cu122torch2.3cxx11abiFALSE-{LINUX_310}"
NEWER_TORCH = f"{MAMBA}/v2.0.0/mamba_ssm-2.0.0+cu118torch2.5cxx11abiFALSE-{LINUX_310}"
OLDER_TORCH = (f"{CONV}/v1.4.0/causal_conv1d-1.4.0+cu118torch1.13cxx11abiFALSE-cp38-cp38-"
               "linux_x86_64.whl")
WINDOWS = f"{CONV}/v1.4.0/causal_conv1d-1.4.0+cu118torch2.4cxx11abiFALSE-cp310-cp310-win_amd64.whl"
SUCCESS = "Successfully installed causal-conv1d-1.4.0 mamba-ssm-2.2.2"


def _pip(url: str, *after: str) -> str:
    return "\n".join(("  Building wheel for mamba-ssm (setup.py) ... error",
                      "      running bdist_wheel", f"      Guessing wheel URL:  {url}", *after))


NOT_FOUND = "      Precompiled wheel not found. Building from source..."


def test_the_index_judges_each_guess() -> None:
    found = guessed_wheels(TextScan(_pip(PUBLISHED) + "\n" + _pip(NEWER_TORCH) + "\n"
                                    + _pip(OLDER_TORCH)))
    assert [(g.package, g.tag, g.torch, g.published, g.torch_newer) for g in found] == [
        ("mamba_ssm", "v2.2.2", "2.3", True, False),
        ("mamba_ssm", "v2.0.0", "2.5", False, True),
        ("causal_conv1d", "v1.4.0", "1.13", False, False)]
    assert found[1].newest_torch == "2.4"
    assert found[0].line.startswith("Guessing wheel URL:") and found[0].line.endswith(".whl")


@pytest.mark.parametrize("text", [
    _pip(f"{MAMBA}/v9.9.9/mamba_ssm-9.9.9+cu12torch2.9cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"),
    _pip(f"{MAMBA}/v2.2.2/not-a-wheel.whl"),
    _pip(f"{MAMBA}/v2.2.2/flash_attn-2.2.2+cu12torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"),
    _pip(f"{MAMBA}/v2.2.2/mamba_ssm-2.2.2-cp310-cp310-linux_x86_64.whl"),  # no torch in the name
    "Guessing wheel URL is what setup.py prints first",
])
def test_what_the_index_cannot_judge_says_nothing(text: str) -> None:
    assert guessed_wheels(TextScan(text)) == []


def test_a_published_wheel_not_found_is_a_failed_download() -> None:
    found = diagnose(_pip(PUBLISHED, NOT_FOUND, "      error: command 'nvcc' failed"))
    assert found[0].id == "github-wheel-download-failed"
    assert any("is published in mamba_ssm v2.2.2" in c for c in found[0].confirmed)
    assert any(PUBLISHED in line for line in found[0].matched)


def test_a_published_wheel_that_downloaded_is_no_failure() -> None:
    text = "\n".join((f"Guessing wheel URL:  {PUBLISHED}", "Raw wheel path dist/mamba_ssm.whl",
                      "Successfully installed mamba-ssm-2.2.2"))
    assert diagnose(text) == ()


def test_a_torch_newer_than_the_release_has_no_wheel_yet() -> None:
    found = diagnose(_pip(NEWER_TORCH, NOT_FOUND))
    assert found[0].id == "no-prebuilt-wheel-slow-source-build"
    assert any("newest wheels are for torch 2.4, older than torch 2.5" in c
               for c in found[0].confirmed)


@pytest.mark.parametrize("url", [PUBLISHED, NEWER_TORCH, OLDER_TORCH])
def test_an_install_that_went_through_is_no_failure(url: str) -> None:
    assert diagnose(_pip(url, NOT_FOUND, "      building 'selective_scan_cuda' extension",
                         SUCCESS).replace(" ... error", "")) == ()


def test_a_torch_the_release_skipped_means_a_source_build() -> None:
    found = diagnose("Guessing wheel URL:  " + OLDER_TORCH)  # the one line a post kept
    assert found[0].id == "no-prebuilt-wheel-slow-source-build"
    assert any("never published" in c for c in found[0].confirmed)


def test_an_isolated_builds_torch_stays_the_cause() -> None:
    text = "\n".join(("I have torch==2.3.1 installed", "  Installing build dependencies: done",
                      _pip(NEWER_TORCH, NOT_FOUND).replace(
                          "running bdist_wheel",
                          "running bdist_wheel\n      torch.__version__  = 2.5.1")))
    assert diagnose(text)[0].id == "build-isolation-wrong-torch"


def test_windows_stays_the_cause_of_a_windows_guess() -> None:
    text = _pip(WINDOWS, NOT_FOUND).replace("Building wheel",
                                            "C:\\Users\\me> pip install . Building wheel")
    assert diagnose(text)[0].id == "windows-native-unsupported"
