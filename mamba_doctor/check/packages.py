"""Verdicts on the installed mamba_ssm / causal_conv1d: do they import, do their versions agree."""

from __future__ import annotations

from typing import Optional

from packaging.version import Version

from mamba_doctor.knowledge.cuda_tables import cuda_tuple, version_of
from mamba_doctor.models import CheckResult, CheckStatus, Environment

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP
IMPORT_ORDER = ("selective_scan_cuda", "causal_conv1d_cuda", "causal_conv1d", "mamba_ssm")

# causal_conv1d >= 1.5.1 uses torch.library.custom_op, new in torch 2.4 (the failure mode
# causal-conv1d-mamba-version-skew in mamba_doctor/knowledge/failures.json). Which causal_conv1d
# each mamba_ssm can call, and the Python floor of each release, come from the wheel index.
CPP_FUNCTIONS_FROM = "1.5.1"


def error_line(text: Optional[str]) -> str:
    """The telling line of a captured error: a traceback's last line, else the first line."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    return (lines[-1] if lines[0].startswith("Traceback") else lines[0])[:200]


def check_mamba_imports(env: Environment) -> CheckResult:
    pkgs = env.packages
    mamba = pkgs.get("mamba_ssm")
    conv = pkgs.get("causal_conv1d")
    if not (mamba and mamba.version) and not (conv and conv.version):
        return CheckResult("mamba_imports", SKIP, "mamba_ssm and causal_conv1d are not "
                           "installed yet", problem="mamba")
    failed = [(name, pkgs[name]) for name in IMPORT_ORDER
              if name in pkgs and pkgs[name].import_ok is False]
    if failed:
        name, info = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return CheckResult("mamba_imports", FAIL, f"`import {name}` fails: "
                           f"{error_line(info.error)}{more}", problem=f"reproduce:{name}")
    if mamba and mamba.version and pkgs.get("selective_scan_cuda") and \
            pkgs["selective_scan_cuda"].import_ok is None and mamba.import_ok:
        return CheckResult("mamba_imports", WARN, f"mamba_ssm {mamba.version} has no "
                           "selective_scan_cuda extension: Mamba-1 kernels are unavailable",
                           blocking=False, problem="mamba")
    tried = [n for n in IMPORT_ORDER if n in pkgs and pkgs[n].import_ok]
    if not tried:
        return CheckResult("mamba_imports", SKIP, "imports not tried (torch did not import)")
    return CheckResult("mamba_imports", OK, "imports: " + ", ".join(tried))


def check_mamba_versions(env: Environment) -> CheckResult:
    mamba = version_of(_version(env, "mamba_ssm"))
    conv = version_of(_version(env, "causal_conv1d"))
    if mamba is None and conv is None:
        return CheckResult("mamba_versions", SKIP, "nothing installed to compare")
    if mamba is None:
        return CheckResult("mamba_versions", SKIP, f"causal_conv1d {conv} without mamba_ssm",
                           blocking=False)
    if conv is None:
        return CheckResult("mamba_versions", WARN, f"mamba_ssm {mamba} without causal_conv1d: "
                           "Mamba-1 fails with `'NoneType' object has no attribute "
                           "'causal_conv1d_fwd'`", blocking=False, problem="causal_conv1d")
    problem = _conv_runtime_problem(env, conv)
    if problem:
        return CheckResult("mamba_versions", FAIL, problem, problem="mamba_pair")
    if _paired(mamba, conv):
        return CheckResult("mamba_versions", OK, f"mamba_ssm {mamba} and causal_conv1d {conv} "
                           "agree")
    return CheckResult("mamba_versions", FAIL, f"mamba_ssm {mamba} and causal_conv1d {conv} "
                       "disagree (causal_conv1d_fwd(): incompatible function arguments; mamba_ssm "
                       f"{mamba} calls {_partner_spec(mamba)})", problem="mamba_pair")


def _version(env: Environment, name: str) -> Optional[str]:
    info = env.packages.get(name)
    return info.version if info else None


def companion_range(mamba: Version) -> Optional[tuple[str, Optional[str]]]:
    """[min, below) of the causal_conv1d releases mamba_ssm `mamba` can call (its release in the
    wheel index); None for a version the index does not know."""
    from mamba_doctor.wheels.index import load_index

    rel = next(iter(load_index().matching("mamba_ssm", mamba.public)), None)
    return rel.companion if rel is not None else None


def _paired(mamba: Version, conv: Version) -> bool:
    rng = companion_range(mamba)
    if rng is None:
        return True  # a release the index does not know: nothing to say
    low, below = rng
    have = Version(conv.public)
    return Version(low) <= have and (below is None or have < Version(below))


def _partner_spec(mamba: Version) -> str:
    rng = companion_range(mamba)
    if rng is None:
        return "causal-conv1d"
    low, below = rng
    return f"causal-conv1d>={low}" + (f",<{below}" if below else "")


def _runtime_python_min(conv: Version) -> Optional[tuple[int, int]]:
    from mamba_doctor.wheels.index import load_index

    rel = next(iter(load_index().matching("causal_conv1d", conv.public)), None)
    return cuda_tuple(rel.runtime_python_min) if rel is not None else None


def _conv_runtime_problem(env: Environment, conv: Version) -> Optional[str]:
    if conv < Version(CPP_FUNCTIONS_FROM):
        return None
    py = cuda_tuple(env.python.version)
    floor = _runtime_python_min(conv)
    if py is not None and floor is not None and py < floor:
        return (f"causal_conv1d {conv} needs Python >= {floor[0]}.{floor[1]} (target is "
                f"{env.python.version})")
    torch = version_of(env.torch.version)
    if torch is not None and Version(torch.base_version) < Version("2.4"):
        return f"causal_conv1d {conv} needs torch >= 2.4 (torch.library.custom_op)"
    return None
