"""What the sdist's setup.py would guess for this machine (the "building for an hour" trap)."""

from __future__ import annotations

from typing import Any, Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from mamba_doctor.wheels.facts import Facts
from mamba_doctor.wheels.fit import check_wheel_fits
from mamba_doctor.wheels.index import WheelIndex
from mamba_doctor.wheels.names import wheel_filename

# The rules of each release's setup.py (https://github.com/state-spaces/mamba/blob/main/setup.py at
# every tag); ids and wording as in the index's `guess_rules` (wheels_index/SOURCES.md).
_CUDA_MAJMIN = {"g1", "g1h", "g1h_cudacheck"}  # 11 -> "118", anything else -> "122"
_CUDA_TWO = {"g2_124", "g2_123", "g2_123_ngc"}  # 11 -> "11", anything else -> "12"
_ARM_AWARE = {"g3_ngc_arm", "g4_ngc_arm"}  # platform = linux_<machine>; older: linux_x86_64


def guess_for(index: WheelIndex, package: str, pypi_version: str, f: Facts) -> Any:
    """SetupPyGuess for `pip install <package>==<pypi_version>` in the environment `f`."""
    from mamba_doctor.wheels.resolution import SetupPyGuess

    rel = index.release(package, pypi_version) or next(
        (r for r in reversed(index.for_package(package)) if r.version == pypi_version), None)
    if rel is None:
        return None
    rule = rel.guess_rule
    rules = index.guess_rules.get(rule, {})
    notes = _isolation_notes(rel.build_isolation, package, f)

    def done(url: Optional[str], exists: Optional[bool], outcome: str, why: str) -> SetupPyGuess:
        return SetupPyGuess(pypi_version, url, exists, outcome, why, notes)

    # pip picks a distribution before any setup.py runs: no sdist, or one whose Requires-Python
    # excludes this interpreter, ends in "No matching distribution found" (PyPI's JSON API lists
    # the files and their requires_python; pip skips a file whose requires_python excludes it).
    project = package.replace("_", "-")
    sdist = index.pypi_sdist(package, pypi_version)
    if sdist is None and index.pypi.get(package):
        return SetupPyGuess(pypi_version, None, None, "no_sdist",
                            f"PyPI has no sdist of {project} {pypi_version} (it exists only as "
                            f"the GitHub release {rel.tag}): `pip install "
                            f"{project}=={pypi_version}` fails with \"No matching distribution "
                            "found\"", ())
    excluded = _python_excluded(sdist.get("requires_python") if sdist else None, f.python)
    if excluded:
        return SetupPyGuess(pypi_version, None, None, "requires_python",
                            f"the {project} {pypi_version} sdist requires Python {excluded}: pip "
                            f"skips it on Python {f.python} and answers \"No matching "
                            "distribution found\" (setup.py never runs)", ())
    if f.torch_state == "absent":
        return done(None, None, "aborts", "setup.py imports torch: without torch installed, the "
                    "build fails with \"No module named 'torch'\"")
    if f.hip and rules.get("hip"):
        return done(None, False, "source_build", f"ROCm torch: setup.py guesses a hip{f.hip} "
                    "wheel, which was never published, then compiles from source")
    if f.cuda_home is False:
        # setup.py only warns when torch's CUDA_HOME is None, then compares a bare_metal_version
        # it never set, at import time: before its bdist_wheel ever guesses a URL (setup.py of
        # every sdist on PyPI; real log: https://github.com/state-spaces/mamba/issues/104).
        return done(None, None, "no_cuda_home", "no nvcc and no CUDA_HOME here: setup.py aborts "
                    "with \"NameError: name 'bare_metal_version' is not defined\" before it "
                    "guesses any wheel URL (set CUDA_HOME to a CUDA toolkit, even to only "
                    "download the prebuilt wheel)")
    if f.torch_is_cpu:
        return done(None, None, "aborts", "torch is a CPU build: setup.py reads "
                    "torch.version.cuda (None) and the install aborts")
    if rule == "g1h_cudacheck":
        return done(None, None, "aborts", "this setup.py raises at import when "
                    "torch.cuda.is_available() is False, and every release job failed")
    if f.cuda_major is None or f.torch_minor is None or f.python is None:
        return done(None, None, "unknown", "torch, its CUDA or Python version is unknown")
    major = f.cuda_major
    if rule in _CUDA_MAJMIN:
        cuda = "118" if major == 11 else "122"
    elif rule in _CUDA_TWO:
        cuda = "11" if major == 11 else "12"
    elif major in (11, 12, 13):
        cuda = str(major)
    else:
        return done(None, None, "aborts", f"setup.py raises ValueError for CUDA {f.cuda} "
                    "(only 11, 12 and 13 are mapped) and the install aborts")
    torch = f.ngc if (f.ngc and rules.get("ngc")) else f.torch_minor
    plat = f.platform or "linux_x86_64"
    if plat.startswith("linux") and rule not in _ARM_AWARE:
        plat = "linux_x86_64"  # hard-coded, even on aarch64 (mamba #891)
    abi = bool(f.cxx11abi)
    name = wheel_filename(package, rel.version, python=f.python, torch=torch, cuda=cuda,
                          cxx11abi=abi, platform=plat)
    guess_rel = index.release(package, rel.version)  # setup.py looks under v<__version__> only
    url_base = rel.url_base
    url = f"{url_base}/v{rel.version}/{name}"
    row = next((w for w in guess_rel.wheels if w.filename == name), None) if guess_rel else None
    if row is None or row.status in ("missing", "likely_failed"):
        return done(url, False, "source_build", "that asset does not exist: setup.py gets a 404 "
                    "and pip compiles the CUDA kernels from source (30-60+ minutes, needs nvcc)")
    if row.status == "unverified":
        return done(url, None, "unknown", "whether that asset exists is not known "
                    f"({row.status_detail}); on a 404 pip compiles from source")
    seen = "exists" if row.status == "observed" else \
        "is expected from the release workflow (not confirmed from an asset list)"
    wrong = [r for r in check_wheel_fits(row, f) if r.code not in ("gpu_arch", "glibc")]
    if wrong:
        return done(url, True, "wrong_prebuilt", f"that asset {seen} but does not fit here ("
                    + "; ".join(r.message for r in wrong) + "): setup.py installs it anyway")
    return done(url, True, "prebuilt", f"that asset {seen} and fits (with --no-build-isolation)")


def _python_excluded(requires: Optional[str], python: Optional[str]) -> Optional[str]:
    """`requires` when it excludes Python `python` ("3.8"), else None (also when unknown)."""
    if not requires or not python:
        return None
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        return None
    return None if spec.contains(f"{python}.0", prereleases=True) else requires


def _isolation_notes(mode: str, package: str, f: Facts) -> tuple[str, ...]:
    if f.torch_state == "absent":
        return ()
    if mode == "newest_torch":
        return (f"without --no-build-isolation pip builds {package} against the newest torch "
                "from PyPI, so the guess describes that torch, not yours",)
    return (f"without --no-build-isolation the build of {package} fails with "
            "\"No module named 'torch'\"",)
