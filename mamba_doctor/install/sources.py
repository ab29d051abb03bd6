"""Where `install` gets its wheels: the user's files (tag-checked), or the resolver + downloader."""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from packaging.utils import canonicalize_name

from mamba_doctor.errors import NoCompatibleWheel, UsageError
from mamba_doctor.install.steps import Step, StepLog
from mamba_doctor.models import Environment
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.names import parse_wheel_filename

PACKAGES = ("mamba_ssm", "causal_conv1d")


@dataclass(frozen=True)
class WheelSource:
    """One extension wheel to install; `path` is None only in a dry run that did not download.

    In a dry run `planned` is where the real run will have the file (the cache), so the printed
    commands are the real run's; `available` is a verified copy that is there now (the cache or
    a --find-links folder), from which the dry run computes the dependency plan.
    """

    package: str  # "mamba_ssm"
    filename: str
    path: Optional[Path]
    url: Optional[str] = None
    origin: str = "file"  # file | download | build | cache
    forced: tuple[str, ...] = ()  # mismatches accepted with --force
    planned: Optional[Path] = None
    available: Optional[Path] = None
    verification: Optional[str] = None  # how the file is verified, in words

    @property
    def target(self) -> str:
        """What to hand to pip: the file, where the real run will have it (dry run)."""
        where = self.path if self.path is not None else self.planned
        return str(where) if where is not None else str(self.url or self.filename)

    @property
    def check_target(self) -> Optional[str]:
        """The file the plan check can read now; None when it must be downloaded first."""
        where = self.path if self.path is not None else self.available
        return str(where) if where is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "filename": self.filename,
                "path": str(self.path) if self.path else None, "url": self.url,
                "origin": self.origin, "forced_mismatches": list(self.forced),
                "planned_path": str(self.planned) if self.planned else None,
                "verification": self.verification}


def user_wheels(paths: Sequence[Path], env: Environment, *, force: bool, log: StepLog
                ) -> list[WheelSource]:
    """Check `--wheel` files against the target. Raises UsageError / NoCompatibleWheel."""
    out: list[WheelSource] = []
    rejected: dict[str, list[str]] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--wheel {path}: no such file")
        try:
            reasons = wheel_misfits(path.name, env)
        except ValueError as exc:
            raise UsageError(f"--wheel {path}: {exc}") from exc
        if not zipfile.is_zipfile(path):
            raise UsageError(f"--wheel {path}: not a wheel (the file is not a zip archive)",
                             hint="Download it again: a browser may have saved an error page.")
        how = _verify_user_wheel(path)
        package = parse_wheel_filename(path.name).package
        if reasons and not force:
            rejected[path.name] = list(reasons)
        out.append(WheelSource(package, path.name, path.resolve(),
                               origin="file", forced=tuple(reasons), verification=how))
    detail = "; ".join(f"{n}: {', '.join(r)}" for n, r in rejected.items())
    log.add(Step("check-wheel-tags", "failed" if rejected else "ok", 0.0, None,
                 detail or ("mismatches accepted with --force" if any(w.forced for w in out)
                            else None)))
    if rejected:
        raise NoCompatibleWheel(
            "the given wheel does not fit this environment: " + detail,
            hint="Use a wheel built for this Python, torch, CUDA and ABI (`mamba-doctor "
                 "fetch-wheel` finds it), or pass --force to install it anyway.",
            data={"rejected": rejected},
        )
    return out


def _verify_user_wheel(path: Path) -> str:
    """A --wheel file is verified like a download: the index's sha256 when it knows the file,
    else the wheel's own RECORD (every member's hash and size), METADATA and WHEEL tags. A
    member replaced after the build, or a `../` or symlink member, is refused. Returns how it
    was verified, in words."""
    from mamba_doctor.download.integrity import verify_wheel_file
    from mamba_doctor.download.locate import INDEX_SHA, RECORD_ONLY
    from mamba_doctor.errors import DownloadError

    known = _known_sha256(path.name)
    try:
        verify_wheel_file(path, expected_filename=path.name, sha256=known)
    except DownloadError as exc:
        raise UsageError(f"--wheel {path}: does not verify: {exc.message}",
                         hint="Nothing was installed. Get the file again (`mamba-doctor "
                              "fetch-wheel` verifies it); a wheel changed after it was built "
                              "is refused.", data={"verification": exc.message}) from None
    except OSError as exc:
        raise UsageError(f"--wheel {path}: cannot read it ({exc.strerror or exc})") from None
    return INDEX_SHA if known else RECORD_ONLY


def _known_sha256(filename: str) -> Optional[str]:
    """The sha256 the wheel index records for this release file, if exactly one."""
    from mamba_doctor.wheels.index import load_index

    try:
        index = load_index()
        digests = {w.sha256 for w in index.lookup(filename) if w.sha256}
    except (OSError, ValueError, KeyError):
        return None
    return digests.pop() if len(digests) == 1 else None


def resolved_wheels(
    target: Target, *, version: Optional[str], packages: Sequence[str], cache: Path,
    mirrors: Sequence[str], find_links: Sequence[Path], download: bool, show_progress: bool,
    log: StepLog,
) -> list[WheelSource]:
    """Resolve the compatible pair and download it (unless `download` is false: dry run)."""
    from mamba_doctor.advice import mamba_advice, no_wheel_summary, resolution_dict
    from mamba_doctor.advice.wheels import best_way_out
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    start = time.monotonic()
    index = load_index()
    resolutions = resolve_pair(target.env, index, version=version, packages=tuple(packages))
    data = {"resolution": [resolution_dict(r, target, index) for r in resolutions]}
    missing = [r.package for r in resolutions if r.wheel is None]
    log.add(Step("resolve", "failed" if missing else "ok", time.monotonic() - start, None,
                 ", ".join(f"{r.package}: {r.wheel.filename if r.wheel else 'no wheel'}"
                           for r in resolutions)))
    if missing:
        first = next(r for r in resolutions if r.wheel is None)
        advice = mamba_advice(target, index, resolutions)
        mamba_fits = first.package != "mamba_ssm"
        way = advice if mamba_fits else best_way_out(target, first, index)
        raise NoCompatibleWheel(no_wheel_summary(first), hint=way.text(),
                                data={**data, "advice": [advice.to_dict()]})
    from mamba_doctor.download.fetch import FetchRequest, fetch_files
    from mamba_doctor.download.locate import locate, verification

    requests_ = [FetchRequest(r.package, r.wheel.filename, r.wheel.url, r.wheel.sha256,
                              size_hint=r.wheel.size)
                 for r in resolutions if r.wheel is not None]
    sources = [WheelSource(q.package, q.filename, None, q.url, "download",
                           verification=verification(q)) for q in requests_]
    if not download:  # dry run: where each file would come from, reading only
        found = [locate(q, cache_dir=cache, find_links=find_links, mirrors=mirrors)
                 for q in requests_]
        log.add(Step("download", "planned", 0.0, None, "; ".join(
            f"{q.filename}: {f.detail}" for q, f in zip(requests_, found))))
        return [replace(s, planned=f.final, available=f.available,
                        origin=f.origin if f.origin != "find-links" else "download")
                for s, f in zip(sources, found)]
    start = time.monotonic()
    results = fetch_files(requests_, cache_dir=cache, mirrors=tuple(mirrors),
                          find_links=tuple(find_links), show_progress=show_progress)
    log.add(Step("download", "ok", time.monotonic() - start, None,
                 ", ".join(f"{r.path.name} ({'cached' if r.from_cache else r.size})"
                           for r in results)))
    by_name = {r.package: r for r in results}
    return [replace(s, path=by_name[s.package].path,
                    origin="cache" if by_name[s.package].from_cache else "download")
            for s in sources]


def wheel_misfits(filename: str, env: Environment) -> tuple[str, ...]:
    """Why the wheel `filename` cannot work in `env`; empty when it fits. Raises ValueError for a
    name that is not a wheel's.

    The resolver's own check (one source of truth for wheel tags), with the release's facts
    (architectures, runtime Python floor) when the index knows the file. A user's wheel may also
    be pure (`any`) or manylinux, which no release asset is: those platforms fit.
    """
    from mamba_doctor.wheels.fit import check_wheel_fits
    from mamba_doctor.wheels.index import load_index

    tags = parse_wheel_filename(filename)
    try:
        index = load_index()
        hits = index.lookup(filename)
        release = index.release(hits[0].package, hits[0].tag) if hits else None
    except (OSError, ValueError, KeyError):
        release = None
    target = env.python.platform_tag
    return tuple(r.message for r in check_wheel_fits(tags, env, release=release)
                 if not (r.code == "platform" and _platform_fits(tags.platform, target)))


def _platform_fits(wheel_plat: str, target: Optional[str]) -> bool:
    if wheel_plat == "any":
        return True
    # manylinux/musllinux wheels run on linux_<arch> of the same architecture (glibc aside).
    arch = target.split("_", 1)[1] if target and target.startswith("linux_") else None
    return bool(arch) and wheel_plat.startswith(("manylinux", "musllinux")) \
        and wheel_plat.endswith("_" + str(arch))


def canonical(name: str) -> str:
    return canonicalize_name(name)

