"""Verdicts on what prebuilt wheels need from the host: their Python, glibc and GLIBCXX."""

from __future__ import annotations

from mamba_doctor.knowledge.cuda_tables import cuda_tuple
from mamba_doctor.models import CheckResult, CheckStatus, Environment

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP
# Newest libstdc++ symbol version of GCC 11, the compiler of the ubuntu-22.04 runners that build
# mamba_ssm >= 2.2.5 / causal_conv1d >= 1.5.1 (state-spaces/mamba#765: `GLIBC_2.32 not found`).
# An inference: the wheels may need less, so a lower value only warns.
WHEEL_GLIBCXX = (3, 4, 29)
WHEEL_GLIBC_NEW, WHEEL_GLIBC_OLD = (2, 35), (2, 31)  # ubuntu-22.04 / ubuntu-20.04 build hosts


def check_python(env: Environment) -> CheckResult:
    py = cuda_tuple(env.python.version)  # "3.11.7" parses like a CUDA version
    if py is None:
        return CheckResult("python", SKIP, "Python version unknown", blocking=False)
    if env.python.implementation not in (None, "cpython"):
        return CheckResult("python", WARN, f"{env.python.implementation} {env.python.version}: "
                           "the wheels are built for CPython only",
                           "Use a CPython environment.", blocking=False)
    tag = env.python.abi_tag or f"cp{py[0]}{py[1]}"
    newest, latest = newest_release_per_python()
    last = newest.get(f"{py[0]}.{py[1]}")
    if last is not None and last == latest:
        return CheckResult("python", OK, f"Python {env.python.version} ({tag}): prebuilt wheels "
                           "exist", blocking=False)
    if last is not None:
        return CheckResult("python", WARN, f"Python {env.python.version}: only mamba_ssm <= {last} "
                           "has wheels for it", blocking=False, problem="python")
    return CheckResult("python", WARN, f"Python {env.python.version} ({tag}): no prebuilt "
                       "mamba_ssm wheel; installing means a long source build",
                       blocking=False, problem="python")


def check_glibc(env: Environment) -> CheckResult:
    if env.os.system != "Linux":
        return CheckResult("glibc", SKIP, "not a Linux system", blocking=False)
    have = cuda_tuple(env.os.glibc)  # "2.35" parses like a CUDA version
    if have is None:
        return CheckResult("glibc", SKIP, env.os.reasons.get("glibc", "glibc version unknown"),
                           blocking=False)
    if have >= WHEEL_GLIBC_NEW:
        return CheckResult("glibc", OK, f"glibc {env.os.glibc}", blocking=False)
    if have >= WHEEL_GLIBC_OLD:
        return CheckResult("glibc", WARN, f"glibc {env.os.glibc}: mamba_ssm >= 2.2.5 wheels "
                           "need glibc 2.35 (GLIBC_2.32 not found); <= 2.2.4 wheels load",
                           blocking=False, problem="mamba")
    return CheckResult("glibc", FAIL, f"glibc {env.os.glibc}: too old for every prebuilt "
                       "mamba_ssm wheel (they need >= 2.31): build from source here, or use a "
                       "newer distro/container", blocking=False, problem="source_build")


def check_libstdcxx(env: Environment) -> CheckResult:
    if env.os.system != "Linux":
        return CheckResult("libstdcxx", SKIP, "not a Linux system", blocking=False)
    raw = env.os.glibcxx
    have = tuple(int(p) for p in raw.split(".")) if raw and raw.replace(".", "").isdigit() else None
    if have is None:
        return CheckResult("libstdcxx", SKIP, env.os.reasons.get("glibcxx", "GLIBCXX unknown"),
                           blocking=False)
    where = f" in {env.os.libstdcxx_path}" if env.os.libstdcxx_path else ""
    if have >= WHEEL_GLIBCXX:
        return CheckResult("libstdcxx", OK, f"GLIBCXX_{raw}{where}", blocking=False)
    return CheckResult("libstdcxx", WARN, f"GLIBCXX_{raw}{where} is older than the "
                       "wheels' build compiler (GCC 11, GLIBCXX_3.4.29)",
                       "If imports fail with `GLIBCXX_3.4.xx not found`: conda install -c "
                       "conda-forge libstdcxx-ng, and put $CONDA_PREFIX/lib on LD_LIBRARY_PATH.",
                       blocking=False)


def newest_release_per_python() -> tuple[dict[str, str], str]:
    """({"3.8": newest mamba_ssm release with a published wheel for it, ...}, the newest
    release), from the wheel index."""
    from mamba_doctor.wheels.index import load_index

    newest: dict[str, str] = {}
    releases = load_index().for_package("mamba_ssm")  # newest tag first
    for rel in releases:
        for w in rel.wheels:
            if w.available:
                newest.setdefault(w.python, rel.version)
    return newest, next(iter(newest.values()))
