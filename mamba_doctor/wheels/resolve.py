"""Pure resolver: (environment, index) -> the exact wheel per package, or why none fits + fixes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Optional, Sequence

from packaging.version import InvalidVersion, Version

from mamba_doctor._compat import removeprefix
from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment
from mamba_doctor.wheels.candidates import fitting, version_groups, wheel_rejections
from mamba_doctor.wheels.facts import Facts, apply_overrides, facts_of
from mamba_doctor.wheels.fit import Rejection, check_wheel_fits, unchecked
from mamba_doctor.wheels.index import (
    Release,
    WheelCandidate,
    WheelIndex,
    label_key,
    normalize_package,
)
from mamba_doctor.wheels.names import WheelTags, parse_wheel_filename
from mamba_doctor.wheels.resolution import Alternative, Resolution, SetupPyGuess

__all__ = [
    "Alternative", "Rejection", "Resolution", "SetupPyGuess", "WheelTags", "apply_overrides",
    "check_wheel_fits", "parse_wheel_filename", "resolve", "resolve_pair",
]

# Facts a wheel's filename encodes; if one is unknown, a chosen wheel is a best guess, not exact.
_TAG_FACTS = ("platform", "python", "torch", "cuda", "cxx11abi")


def _preference(w: WheelCandidate, f: Facts) -> tuple[Any, ...]:
    # Seen asset > expected; known digest; stable over nightly-built; newest tag; then, for facts
    # that are unknown, the newest torch / Python and the ABI modern torch uses.
    return (w.status == "observed", w.sha256 is not None, not w.nightly,
            Version(removeprefix(w.tag, "v")), label_key(w.torch), label_key(w.python),
            w.cxx11abi)



def resolve(env: Environment, index: WheelIndex, package: str, *,
            version: Optional[str] = None) -> Resolution:
    """Resolve one package: the newest release with a wheel for `env`, or exactly `version`.

    Raises UsageError for an unknown package or version; "nothing fits" is a Resolution with
    wheel=None and alternatives, never an exception.
    """
    return _resolve(env, index, _package(package), version=version)


def _package(package: str) -> str:
    try:
        return normalize_package(package)
    except KeyError:
        raise UsageError(f"unknown package {package!r}",
                         hint="Use mamba_ssm or causal_conv1d.") from None


def _candidates(index: WheelIndex, package: str, version: Optional[str]) -> list[Release]:
    if version is None:
        return list(index.for_package(package))
    rels = list(index.matching(package, version))
    if not rels:
        versions = dict.fromkeys(r.version for r in index.for_package(package))  # a version
        known = ", ".join(list(versions)[:8])  # can have two tags (a release and its NGC twin)
        raise UsageError(f"{package} {version} is not a known release",
                         hint=f"Newest releases: {known}, ...")
    return rels


def _resolve(env: Environment, index: WheelIndex, package: str, *, version: Optional[str],
             allowed: Optional[Any] = None, extra_notes: Sequence[str] = ()) -> Resolution:
    from mamba_doctor.wheels.alternatives import alternatives_for, blockers
    from mamba_doctor.wheels.setup_guess import guess_for

    f = facts_of(env)
    releases = [r for r in _candidates(index, package, version) if allowed is None or allowed(r)]
    groups = [tuple(releases)] if version is not None else version_groups(releases)
    chosen: Optional[WheelCandidate] = None
    target: tuple[Release, ...] = groups[0] if groups else ()
    for group in groups:
        fits = fitting(group, f)
        if fits:
            chosen = max(fits, key=lambda w: _preference(w, f))
            target = group
            break
    # The chosen file may also sit under other tags of its group: those copies are not rejections.
    skip = chosen.filename if chosen is not None else None
    rejected = tuple(r for rel in target for w in rel.wheels if w.filename != skip
                     for r in wheel_rejections(w, f, rel))
    gaps = unchecked(f)
    exact = chosen is not None and not any(u.split(":")[0] in _TAG_FACTS for u in gaps)
    notes = list(extra_notes)
    if chosen is not None:
        notes.extend(_wheel_notes(chosen, f))
        alts: tuple[Alternative, ...] = ()
    else:
        notes.extend(blockers(releases, f, package))
        alts = alternatives_for(env, index, package, f, version=version, allowed=allowed)
    pypi = chosen.version if chosen is not None else (version or _newest_pypi(index, package))
    return Resolution(
        package=package, version=chosen.version if chosen else None, wheel=chosen, exact=exact,
        rejected=rejected, alternatives=alts, unchecked=gaps, requested=version,
        notes=tuple(notes), guess=guess_for(index, package, pypi, f) if pypi else None,
        considered=sum(len(r.wheels) for r in target), tags=tuple(r.tag for r in target),
    )


def _newest_pypi(index: WheelIndex, package: str) -> Optional[str]:
    return next((r.pypi[0] for r in index.for_package(package) if r.pypi), None)


def _wheel_notes(w: WheelCandidate, f: Facts) -> list[str]:
    notes = []
    if w.nightly:
        notes.append(f"this wheel was compiled against the pre-release torch {w.torch_build}, "
                     f"not a stable torch {w.torch}; if import fails with an undefined symbol, "
                     "build from source")
    if w.status == "expected":
        notes.append("the asset is expected from the release workflow; its existence was not "
                     "confirmed from an asset list")
    if w.sha256 is None:
        notes.append("no published sha256: the download is verified as a wheel (zip + RECORD)")
    if f.torch_version is not None and f.torch_version.is_prerelease and f.ngc is None:
        notes.append(f"torch {f.torch_version} is a pre-release build; release wheels may not load")
    return notes


def resolve_pair(env: Environment, index: WheelIndex, *, version: Optional[str] = None,
                 causal_conv1d_version: Optional[str] = None,
                 packages: Sequence[str] = ("mamba_ssm", "causal_conv1d"),
                 ) -> tuple[Resolution, ...]:
    """Resolve mamba_ssm and causal_conv1d as a pair whose C++ bindings agree.

    Never raises for "nothing fits" (wheel=None); raises UsageError for unknown packages/versions.
    """
    wanted = [_package(p) for p in packages]
    if set(wanted) != {"mamba_ssm", "causal_conv1d"}:
        pkg = wanted[0]
        ver = version if pkg == "mamba_ssm" else (causal_conv1d_version or version)
        return (_resolve_beside_installed(env, index, pkg, ver),)
    f = facts_of(env)
    mamba_rels = _candidates(index, "mamba_ssm", version)
    cc_rels = _candidates(index, "causal_conv1d", causal_conv1d_version)
    mamba_groups = [tuple(mamba_rels)] if version else version_groups(mamba_rels)
    cc_groups = [tuple(cc_rels)] if causal_conv1d_version else version_groups(cc_rels)
    for mgroup in mamba_groups:
        if not fitting(mgroup, f):
            continue
        for cgroup in cc_groups:
            if all(m.compatible_companion(cgroup[0].version) for m in mgroup) \
                    and fitting(cgroup, f):
                mres = _resolve(env, index, "mamba_ssm", version=mgroup[0].version)
                cres = _resolve(env, index, "causal_conv1d", version=cgroup[0].version)
                return _ordered(wanted, replace(mres, requested=version),
                                replace(cres, requested=causal_conv1d_version))
    # No compatible pair: resolve mamba_ssm alone, then causal_conv1d within its range.
    mres = _resolve(env, index, "mamba_ssm", version=version)
    note: tuple[str, ...] = ()
    mrel = index.release("mamba_ssm", mres.wheel.tag) if mres.wheel else None
    if mrel is not None:
        low, below = mrel.companion or ("0", None)
        note = (f"no causal_conv1d wheel compatible with mamba_ssm {mrel.version} "
                f"(needs causal_conv1d >= {low}{f', < {below}' if below else ''}) fits here; "
                "mamba_ssm still works without it, using a slower convolution path",)
    cres = _resolve(env, index, "causal_conv1d", version=causal_conv1d_version,
                    allowed=(lambda r: bool(mrel.compatible_companion(r.version)))
                    if mrel is not None else None, extra_notes=note)
    return _ordered(wanted, mres, cres)


def _ordered(wanted: Sequence[str], mres: Resolution, cres: Resolution) -> tuple[Resolution, ...]:
    by: Mapping[str, Resolution] = {"mamba_ssm": mres, "causal_conv1d": cres}
    return tuple(by[p] for p in wanted)


def _installed(env: Environment, package: str) -> Optional[str]:
    for name, info in env.packages.items():
        if name.lower().replace("-", "_") == package and info.version:
            text = str(info.version).split("+")[0]
            try:
                return str(Version(text))
            except InvalidVersion:
                return None
    return None


def _resolve_beside_installed(env: Environment, index: WheelIndex, package: str,
                              version: Optional[str]) -> Resolution:
    """One package alone: prefer a release whose binding matches the installed partner."""
    partner = "causal_conv1d" if package == "mamba_ssm" else "mamba_ssm"
    have = _installed(env, partner)
    if version is not None or have is None:
        return _resolve(env, index, package, version=version)
    mrel = next(iter(index.matching("mamba_ssm", have)), None) if package == "causal_conv1d" \
        else None
    if package == "causal_conv1d" and mrel is None:
        return _resolve(env, index, package, version=None)

    def allowed(rel: Release) -> bool:
        if mrel is not None:  # causal_conv1d releases the installed mamba_ssm can call
            return bool(mrel.compatible_companion(rel.version))
        return bool(rel.compatible_companion(have))  # mamba_ssm releases that call it

    res = _resolve(env, index, package, version=None, allowed=allowed,
                   extra_notes=(f"chosen to match the installed {partner} {have} "
                                "(their C++ binding must agree)",))
    if res.wheel is not None:
        return res
    alone = _resolve(env, index, package, version=None)
    return replace(alone, notes=(*alone.notes, f"no {package} wheel that fits here matches the "
                                 f"installed {partner} {have}: install a matching pair "
                                 "(mamba-doctor fetch-wheel --package all)"))
