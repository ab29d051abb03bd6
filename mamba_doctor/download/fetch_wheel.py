"""The use case of `fetch-wheel`: the environment, the resolution, the download; returns data."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from mamba_doctor.errors import NoCompatibleWheel, UsageError
from mamba_doctor.models import Environment
from mamba_doctor.probe.interpreter import Target

if TYPE_CHECKING:
    from mamba_doctor.advice import Advice
    from mamba_doctor.download.fetch import DownloadResult
    from mamba_doctor.wheels.resolution import Resolution

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchArgs:
    package: str
    version: Optional[str] = None
    env_file: Optional[Path] = None
    torch_version: Optional[str] = None
    cuda_version: Optional[str] = None
    python_version: Optional[str] = None
    cxx11abi: Optional[str] = None
    platform: Optional[str] = None
    python: Optional[str] = None
    dry_run: bool = False
    dest: Optional[Path] = None
    mirrors: tuple[str, ...] = ()
    url: Optional[str] = None
    sha256: Optional[str] = None
    find_links: tuple[Path, ...] = ()
    retries: int = 5
    timeout: float = 30.0
    allow_http: bool = False
    show_progress: bool = False
    max_size: Optional[str] = None  # --max-size as typed: "800M", "2G", "123456"


@dataclass(frozen=True)
class FetchResult:
    """What fetch-wheel found and did; `failure` is set when no wheel fits (nothing fetched)."""

    target: Target
    source: str  # "probe:<python>" or "file:<path>"
    assumed: tuple[str, ...]
    resolutions: tuple[Resolution, ...]
    downloads: tuple[DownloadResult, ...] = ()
    dry_run: bool = False
    failure: Optional[NoCompatibleWheel] = None
    # how old the wheel index is and why it may be stale (wheels/freshness.py), with its line
    index: Optional[Mapping[str, Any]] = None

    @property
    def ways(self) -> dict[str, tuple[Advice, ...]]:
        """Per package without a wheel, its ways out as commands for the target."""
        from mamba_doctor.advice import ways_out

        return {r.package: ways_out(self.target, r) for r in self.resolutions if r.wheel is None}

    def to_dict(self) -> dict[str, Any]:
        from mamba_doctor.advice import resolution_dict

        data: dict[str, Any] = {"environment_source": self.source,
                                "environment": self.target.env.to_dict(),
                                "assumed": list(self.assumed), "index": self.index}
        if self.resolutions:
            data["resolutions"] = [resolution_dict(r, self.target) for r in self.resolutions]
            data["advice"] = [a.to_dict() for ways in self.ways.values() for a in ways]
        if self.failure is None:
            data["downloads"] = [d.to_dict() for d in self.downloads]
        return data


def parse_bool_flag(value: Optional[str], flag: str) -> Optional[bool]:
    """TRUE/FALSE in any case (also 1/0, yes/no); UsageError otherwise."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise UsageError(f"{flag} {value!r}: expected TRUE or FALSE",
                     hint="torch tells you: python -c 'import torch; "
                          "print(torch._C._GLIBCXX_USE_CXX11_ABI)'")


_SIZE = re.compile(r"\s*([0-9]{1,15})\s*([KMGT]?)(?:I?B)?\s*", re.ASCII | re.IGNORECASE)
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: Optional[str], flag: str = "--max-size") -> Optional[int]:
    """"800M" -> 838860800 (binary units; "800MB", "800MiB" alike); None for None."""
    if text is None:
        return None
    match = _SIZE.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise UsageError(f"{flag} {text!r}: expected a size such as 800M, 2G or 500000000")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]


def load_environment(args: FetchArgs) -> tuple[Target, str]:
    """The target to resolve for (--env file, or the local probe) with the override flags
    applied, and where its facts came from."""
    from mamba_doctor.probe import load_target
    from mamba_doctor.wheels.resolve import apply_overrides

    target = load_target(args.python, env_file=args.env_file)
    source = f"file:{args.env_file}" if args.env_file is not None else f"probe:{target.python}"
    env = apply_overrides(
        target.env, torch_version=args.torch_version, cuda_version=args.cuda_version,
        python_version=args.python_version, cxx11abi=parse_bool_flag(args.cxx11abi, "--cxx11abi"),
        platform=args.platform)
    return target.with_env(env), source


def fetch_wheel(args: FetchArgs) -> FetchResult:
    """Resolve (and unless --dry-run, download) the wheels. Raises UsageError / DownloadError;
    "no wheel fits" is a result with `failure` set, so its resolutions can still be shown."""
    from mamba_doctor.wheels.freshness import for_environment
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    if args.sha256 is not None and args.package == "all" and args.url is None:
        raise UsageError("--sha256 needs one wheel: add --package mamba_ssm or causal_conv1d")
    parse_size(args.max_size)  # a bad --max-size is a usage error before anything else
    from mamba_doctor.wheels.facts import abi_assumption

    target, source = load_environment(args)
    env = target.env
    index = load_index()
    fresh = for_environment(index, env)
    assumed = abi_assumption(env)[1]
    notes: tuple[str, ...] = (assumed,) if assumed else ()
    resolutions: tuple[Resolution, ...] = ()
    if args.url is not None:
        requests = _explicit_url(args, env, index)
    else:
        packages = ("mamba_ssm", "causal_conv1d") if args.package == "all" else (args.package,)
        resolutions = resolve_pair(
            env, index, packages=packages,
            version=args.version if args.package in ("all", "mamba_ssm") else None,
            causal_conv1d_version=args.version if args.package == "causal_conv1d" else None)
        missing = [r for r in resolutions if r.wheel is None]
        if missing:
            result = FetchResult(target, source, notes, resolutions, dry_run=args.dry_run,
                                 index=fresh.to_dict())
            return _with_failure(result, _no_wheel(target, missing, stale=fresh.stale))
        requests = [{**_request(r.package, w.filename, w.url, args.sha256 or w.sha256),
                     "size_hint": w.size} for r in resolutions if (w := r.wheel) is not None]
    if args.dry_run:
        return FetchResult(target, source, notes, resolutions, dry_run=True,
                           index=fresh.to_dict())
    for res in resolutions:
        if not res.exact:
            logger.warning("%s: %s is a best guess, these facts were unknown: %s", res.package,
                           res.filename, "; ".join(res.unchecked))
    return FetchResult(target, source, notes, resolutions, tuple(_download(args, requests)),
                       index=fresh.to_dict())


def _with_failure(result: FetchResult, failure: NoCompatibleWheel) -> FetchResult:
    from dataclasses import replace

    failure.data = result.to_dict()
    return replace(result, failure=failure)


def _no_wheel(target: Target, missing: list[Any], *, stale: bool) -> NoCompatibleWheel:
    from mamba_doctor.advice.wheels import best_way_out

    names = " and ".join(r.package for r in missing)
    first = missing[0]
    hint = best_way_out(target, first).text()
    counts = first.reason_counts()
    if first.notes:
        why = f": {first.notes[0]}"
    elif counts and first.tags:
        why = (f": every wheel of {first.tags[0]} is rejected ("
               + ", ".join(f"{code} {n}" for code, n in counts.items()) + ")")
    else:
        why = ""
    if stale:  # a release newer than the index may have the wheel (data["index"] says why)
        hint = ("the wheel index may be stale: run `mamba-doctor index update` and try again; "
                f"else {hint[:1].lower()}{hint[1:]}")
    return NoCompatibleWheel(f"no compatible prebuilt {names} wheel{why}", hint=hint)


def _explicit_url(args: FetchArgs, env: Environment, index: Any) -> list[Any]:
    from mamba_doctor.wheels.fit import check_wheel_fits
    from mamba_doctor.wheels.names import parse_wheel_filename

    try:
        tags = parse_wheel_filename(args.url or "")
    except ValueError as exc:
        raise UsageError(f"--url: {exc}") from None
    for reason in check_wheel_fits(tags, env):
        logger.warning("%s: %s", tags.filename, reason.message)
    digest = None
    if tags.package in index.releases:
        # A mirror URL still names the release: ".../download/<tag>/<file>" (digests are per tag).
        same = [w for w in index.iter_wheels(tags.package)
                if w.filename == tags.filename and w.sha256]
        tagged = [w for w in same if f"/{w.tag}/" in (args.url or "")]
        digests = {w.sha256 for w in (tagged or same)}
        digest = digests.pop() if len(digests) == 1 else None
    return [_request(tags.package, tags.filename, args.url or "", args.sha256 or digest)]


def _request(package: str, filename: str, url: str, sha256: Optional[str]) -> dict[str, Any]:
    if sha256 is not None and not _is_sha256(sha256):
        raise UsageError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
    return {"package": package, "filename": filename, "url": url,
            "sha256": sha256.lower() if sha256 else None}


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def _download(args: FetchArgs, requests: list[dict[str, Any]]) -> list[Any]:
    from mamba_doctor.config import cache_dir, mirrors_from_env
    from mamba_doctor.download.fetch import FetchRequest, fetch_files
    from mamba_doctor.download.transfer import DEFAULT_MAX_SIZE

    limit = parse_size(args.max_size)
    return fetch_files(
        [FetchRequest(**r) for r in requests], dest=args.dest, cache_dir=cache_dir(),
        mirrors=(*args.mirrors, *mirrors_from_env()), find_links=args.find_links,
        retries=args.retries, timeout=args.timeout, allow_http=args.allow_http,
        show_progress=args.show_progress,
        max_size=DEFAULT_MAX_SIZE if limit is None else limit)
