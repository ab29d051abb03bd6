"""Which wheels of a set of releases are offered for a machine: fit checks plus availability."""

from __future__ import annotations

from typing import Iterable, Sequence

from mamba_doctor.wheels.facts import Facts
from mamba_doctor.wheels.fit import Rejection, check_wheel_fits, wheel_fits
from mamba_doctor.wheels.index import STATUS_TEXT, Release, WheelCandidate


def wheel_rejections(wheel: WheelCandidate, f: Facts, release: Release) -> tuple[Rejection, ...]:
    """Fit checks plus availability: a likely-failed or unverified asset is never suggested."""
    out = check_wheel_fits(wheel, f, release=release)
    if not wheel.available:
        why = wheel.status_detail or STATUS_TEXT[wheel.status]
        out = (Rejection("unavailable", f"{STATUS_TEXT[wheel.status]}: {why}"
                         if wheel.status_detail else STATUS_TEXT[wheel.status],
                         wheel.filename), *out)
    return out


def fitting(releases: Iterable[Release], f: Facts) -> list[WheelCandidate]:
    """The available wheels of `releases` that fit `f` (memoised: alternatives ask many times)."""
    out: list[WheelCandidate] = []
    for rel in releases:
        key = (rel.package, rel.tag, f)
        fits = _FIT_CACHE.get(key)
        if fits is None:
            if len(_FIT_CACHE) > 20_000:
                _FIT_CACHE.clear()
            pool = rel.wheels_for(f.platform, f.python) if f.platform and f.platform.startswith(
                "linux") else rel.wheels
            fits = tuple(w for w in pool if w.available and wheel_fits(w, f, release=rel))
            _FIT_CACHE[key] = fits
        out.extend(fits)
    return out


_FIT_CACHE: dict[tuple[str, str, Facts], tuple[WheelCandidate, ...]] = {}


def version_groups(releases: Sequence[Release]) -> list[tuple[Release, ...]]:
    """Releases grouped by the version inside their filenames, newest tag first."""
    groups: dict[str, list[Release]] = {}
    for rel in releases:
        groups.setdefault(rel.version, []).append(rel)
    return [tuple(g) for g in groups.values()]
