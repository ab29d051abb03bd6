"""How old the wheel index is, and whether it may be stale for a machine: the one line `check`
and `fetch-wheel` print (pure; `mamba-doctor index update` is what refreshes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

UPDATE = "mamba-doctor index update"
# A bundled index older than this is worth refreshing: both projects release every 1-3 months.
STALE_DAYS = 30


@dataclass(frozen=True)
class Freshness:
    source: str  # "bundled" | "overlay"
    as_of: Optional[str]  # the day the newest release facts were read
    age_days: Optional[int]
    unknown_pypi: tuple[str, ...]  # "mamba-ssm 2.4.0": on PyPI, but no release in the index
    newer_torch: Optional[str]  # the machine's torch minor, newer than every wheel's torch
    overlay_error: Optional[str] = None
    pypi_as_of: Optional[str] = None  # the day PyPI's files were read

    @property
    def stale(self) -> bool:
        old = self.source == "bundled" and self.age_days is not None and \
            self.age_days > STALE_DAYS
        return bool(old or self.unknown_pypi or self.newer_torch or self.overlay_error)

    def line(self) -> str:
        """One sentence: the index's age, and why it may be stale."""
        where = "bundled with mamba-doctor" if self.source == "bundled" else "updated"
        age = "" if self.age_days is None else f", {_days(self.age_days)}"
        text = f"wheel index: {where}, releases as of {self.as_of or 'an unknown date'}{age}"
        if self.pypi_as_of and self.pypi_as_of != self.as_of:
            text += f" (PyPI read {self.pypi_as_of})"
        why = []
        if self.overlay_error:
            why.append(f"the cached update is unusable ({self.overlay_error})")
        if self.unknown_pypi:
            why.append(f"PyPI has {', '.join(self.unknown_pypi)}, which the index does not know")
        if self.newer_torch:
            why.append(f"torch {self.newer_torch} is newer than every torch it has wheels for, "
                       "so it may be stale")
        if why:
            return f"{text}; {'; '.join(why)}: run `{UPDATE}`"
        if self.stale:
            return f"{text}: `{UPDATE}` refreshes it"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "as_of": self.as_of, "age_days": self.age_days,
                "unknown_pypi_versions": list(self.unknown_pypi), "newer_torch": self.newer_torch,
                "overlay_error": self.overlay_error, "pypi_as_of": self.pypi_as_of,
                "stale": self.stale, "line": self.line()}


def freshness(index: Any, *, today: date, torch_minor: Optional[str] = None) -> Freshness:
    """The index's freshness seen from a machine with torch `torch_minor` ("2.11")."""
    overlay = index.overlay
    bundled = index.as_of or {}
    github = _fetched(overlay, "github")
    source, stamp = ("overlay", github) if github else ("bundled", bundled.get("releases"))
    pypi = _fetched(overlay, "pypi") or bundled.get("pypi")
    age = None
    if stamp:
        try:
            age = max(0, (today - date.fromisoformat(stamp[:10])).days)
        except ValueError:
            age = None
    return Freshness(source=source, as_of=stamp[:10] if stamp else None, age_days=age,
                     unknown_pypi=_unknown_pypi(index), newer_torch=_newer_torch(index,
                                                                                 torch_minor),
                     overlay_error=index.overlay_error, pypi_as_of=pypi[:10] if pypi else None)


def for_environment(index: Any, env: Any, *, today: Optional[date] = None) -> Freshness:
    """freshness() for the machine `env` describes (its torch), as of today (UTC)."""
    from mamba_doctor.wheels.facts import facts_of

    day = today or datetime.now(timezone.utc).date()
    return freshness(index, today=day, torch_minor=facts_of(env).torch_minor)


def _fetched(overlay: Any, source: str) -> Optional[str]:
    """When `source` was read for both packages (the older of the two), else None."""
    if overlay is None:
        return None
    stamps = [getattr(p, source).fetched for p in overlay.packages.values()
              if getattr(p, source) is not None]
    return min(stamps) if len(stamps) == len(overlay.packages) and stamps else None


def _unknown_pypi(index: Any) -> tuple[str, ...]:
    out = []
    for package, sdists in index.pypi.items():
        known = {_parse(r.version) for r in index.for_package(package)}
        known |= {_parse(r.tag) for r in index.for_package(package)}
        newest_known = max((v for v in known if v is not None), default=None)
        for version in sdists:
            v = _parse(version)
            # only versions newer than the newest release: an old sdist without a release
            # (a deleted tag) says nothing about the index's age
            if v is not None and v not in known and newest_known is not None and v > newest_known:
                out.append(f"{package.replace('_', '-')} {version}")
    return tuple(sorted(out))


def _newer_torch(index: Any, torch_minor: Optional[str]) -> Optional[str]:
    want = _parse(torch_minor) if torch_minor else None
    if want is None:
        return None
    labels = {w.torch for p in index.releases for r in index.releases[p][:6]
              for w in r.wheels if w.available and not w.ngc}
    newest = max((v for v in map(_parse, labels) if v is not None), default=None)
    return torch_minor if newest is not None and want > newest else None


def _days(n: int) -> str:
    return "read today" if n == 0 else f"{n} day{'s' if n != 1 else ''} old"


def _parse(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(str(text).lstrip("v")) if text else None
    except InvalidVersion:
        return None
