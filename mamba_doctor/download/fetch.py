"""Gets verified wheel files into the cache: cache hit, then find-links, then mirrors and origin."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from mamba_doctor._files import sha256_file
from mamba_doctor.download.announce import (
    cached_line,
    failure_hint,
    fetching_line,
    find_links_line,
)
from mamba_doctor.download.files import (
    CacheNotWritable,
    DiskFull,
    copy_atomic,
    guarded,
    remove,
    storage_error,
    write_text_atomic,
)
from mamba_doctor.download.integrity import NotAWheel, check_magic, verify_wheel_file
from mamba_doctor.download.lock import file_lock
from mamba_doctor.download.mirrors import candidate_urls, check_schemes
from mamba_doctor.download.partial import discard_part, sidecar_path
from mamba_doctor.download.redact import redact_url, scrub, secrets_of
from mamba_doctor.download.transfer import (
    CA_HINT,
    DEFAULT_MAX_SIZE,
    NullProgress,
    Progress,
    UrlFailed,
    make_session,
    transfer,
)
from mamba_doctor.errors import ChecksumMismatch, DownloadError, UsageError

logger = logging.getLogger(__name__)

WHEELS_SUBDIR = "wheels"
DIGESTS_FILE = "digests.json"
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)

__all__ = ["DownloadResult", "FetchRequest", "fetch_files", "verify_wheel_file"]


@dataclass(frozen=True)
class FetchRequest:
    """One file to get: its name in the cache, its origin URL and, when known, its sha256."""

    package: str
    filename: str
    url: str
    sha256: Optional[str] = None
    size: Optional[int] = None  # the exact size, when the index or an API says it
    size_hint: Optional[int] = None  # shown before the first byte; not a limit (may be stale)


@dataclass(frozen=True)
class DownloadResult:
    """A verified file on disk and how it got there."""

    package: str
    path: Path
    url: str  # the URL (or file:// of the find-links copy) that gave the verified bytes
    sha256: str
    size: int
    resumed_from: int  # bytes a previous run had left in the .part file and this run reused
    attempts: int  # HTTP requests made, over all URLs tried (0 from cache or find-links)
    from_cache: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package, "path": str(self.path), "url": self.url,
            "sha256": self.sha256, "size": self.size, "resumed_from": self.resumed_from,
            "attempts": self.attempts, "from_cache": self.from_cache,
        }


Announce = Callable[[str], None]


def say(line: str) -> None:
    """One plain line on stderr, at default verbosity (not with -q, which keeps only errors):
    what a download is about to do. Plain, not a log record, so it reads like pip's lines."""
    if not logger.isEnabledFor(logging.WARNING):
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def fetch_files(requests: Sequence[FetchRequest], *, dest: Optional[Path] = None,
                cache_dir: Path, mirrors: Sequence[str] = (), find_links: Sequence[Path] = (),
                retries: int = 5, timeout: float = 30.0, allow_http: bool = False,
                show_progress: bool = False, session: Any = None, backoff: float = 1.0,
                backoff_cap: float = 30.0, lock_timeout: Optional[float] = None,
                max_size: Optional[int] = DEFAULT_MAX_SIZE,
                announce: Announce = say) -> list[DownloadResult]:
    """Get every requested file, verified, into `<cache_dir>/wheels` (and copied to `dest`).

    Order for each file: the verified cache copy; a `find_links` folder holding a copy that
    verifies; then each URL from `mirrors` (see mirrors.mirror_url) and the origin, resuming a
    `.part` file left by an earlier run. Returns one result per request, in order. Raises
    UsageError for a refused URL (plain http without `allow_http`) before any transfer,
    DownloadError/ChecksumMismatch when no source gives a verified file (no final file is left
    behind), and lets KeyboardInterrupt through with the `.part` kept for the next run. A
    body over `max_size` bytes (or over the request's known `size`) is refused. Credentials in
    the URLs never appear in what is returned, raised, logged or stored.

    Before the first byte of each file, `announce` gets one line saying which file comes from
    where (the cache, a --find-links folder, a mirror, the origin's host and release); the
    final error lists every source tried and why it failed.
    """
    if retries < 0 or timeout <= 0:
        raise UsageError(f"retries must be >= 0 and timeout > 0 (got {retries}, {timeout})")
    if max_size is not None and max_size <= 0:
        raise UsageError(f"the size limit must be positive (got {max_size})")
    plans = []
    for req in requests:
        if not req.filename or Path(req.filename).name != req.filename:
            raise UsageError(f"not a plain file name: {req.filename!r}")
        urls = candidate_urls(req.url, req.filename, mirrors)
        check_schemes(urls, allow_http=allow_http)
        plans.append((req, urls))
    secrets = secrets_of(u for _r, urls in plans for u in urls)
    wheels = Path(cache_dir) / WHEELS_SUBDIR
    guarded(wheels, lambda: wheels.mkdir(parents=True, exist_ok=True))
    sessions = [session]

    def get_session() -> Any:  # one Session for the whole run, made only if the network is used
        if sessions[0] is None:
            sessions[0] = make_session()
        return sessions[0]

    results: list[DownloadResult] = []
    try:
        for req, urls in plans:
            with file_lock(wheels / f"{req.filename}.lock", timeout=lock_timeout,
                           what=f"downloading {req.filename}"):
                tried: list[dict[str, str]] = []
                result = _cached(wheels, req, tried) or \
                    _from_find_links(wheels, req, find_links, tried)
                if result is not None:
                    say_ = cached_line if result.from_cache else find_links_line
                    announce(say_(req.filename, str(result.path if result.from_cache
                                                    else result.url)))
                else:
                    progress = _progress(_label(req), show_progress)
                    try:
                        limit = req.size if req.size is not None else max_size
                        result = _from_network(
                            wheels, req, urls, session=get_session(), retries=retries,
                            timeout=timeout, allow_http=allow_http, backoff=backoff,
                            backoff_cap=backoff_cap, progress=progress, secrets=secrets,
                            max_size=limit, announce=announce, tried=tried,
                            hint=failure_hint(mirrors=mirrors,
                                              find_links=[str(f) for f in find_links]))
                    finally:
                        progress.stop()
            results.append(result if dest is None else _place(result, Path(dest)))
    except DownloadError as exc:  # the files already fetched still belong in the report
        exc.data.setdefault("downloads", [r.to_dict() for r in results])
        exc.message = scrub(exc.message, secrets)
        raise
    return results


def _label(req: FetchRequest) -> str:
    """`mamba_ssm 2.2.2`: the whole file name would leave no room for the bar."""
    version = req.filename.split("-")[1].split("+")[0] if req.filename.count("-") >= 2 else ""
    return f"{req.package} {version}".strip()


def _progress(label: str, show: bool) -> Progress:
    if not show:
        return NullProgress()
    from mamba_doctor.download.progress import RichProgress

    return RichProgress(label)


def _cached(wheels: Path, req: FetchRequest,
            tried: Optional[list[dict[str, str]]] = None) -> Optional[DownloadResult]:
    final = wheels / req.filename
    if final.is_dir() and not final.is_symlink():
        _remove_or_fail(final)
        return None
    if not final.is_file():
        return None
    record = _read_digests(wheels).get(req.filename) or {}
    actual = sha256_file(final)
    if req.sha256:
        ok = actual == req.sha256.lower()
    elif record.get("sha256"):
        ok = actual == record["sha256"]
    else:  # a file put there by hand: it must prove itself once
        try:
            verify_wheel_file(final, expected_filename=req.filename)
            ok = True
        except DownloadError:
            ok = False
    if not ok:
        logger.warning("cached %s changed since it was verified (or is not the wanted file); "
                       "fetching it again", final)
        if tried is not None:
            tried.append({"url": str(final), "error": "the cached copy does not verify "
                                                      "(removed)"})
        _remove_or_fail(final)
        return None
    url = redact_url(str(record.get("url") or req.url))
    if record.get("sha256") != actual:
        try:
            _record_digest(wheels, req.filename, actual, final.stat().st_size, url)
        except CacheNotWritable:  # a read-only cache still serves what it verified before
            logger.debug("cache %s is read-only; digest not recorded", wheels)
    return DownloadResult(req.package, final, url, actual, final.stat().st_size, 0, 0, True)


def _remove_or_fail(path: Path) -> None:
    guarded(path, lambda: remove(path))


def _from_find_links(wheels: Path, req: FetchRequest, find_links: Sequence[Path],
                     tried: Optional[list[dict[str, str]]] = None) -> Optional[DownloadResult]:
    notes: list[dict[str, str]] = [] if tried is None else tried
    for folder in find_links:
        local = Path(folder).expanduser() / req.filename
        if not local.is_file():
            notes.append({"url": str(local), "error": "not there (--find-links)"})
            continue
        try:
            sha = verify_wheel_file(local, expected_filename=req.filename, sha256=req.sha256)
        except DownloadError as exc:
            logger.warning("ignoring %s (--find-links): %s", local, exc.message)
            notes.append({"url": str(local), "error": f"does not verify: {exc.message}"})
            continue
        except OSError as exc:  # unreadable: another user's file, a dropped NFS mount
            logger.warning("ignoring %s (--find-links): cannot read it (%s)", local,
                           exc.strerror or exc)
            notes.append({"url": str(local), "error": f"cannot read it ({exc.strerror or exc})"})
            continue
        final = wheels / req.filename
        if not copy_atomic(local, final, sha256=sha):  # the copy itself went wrong
            notes.append({"url": str(local), "error": "copying it into the cache failed"})
            continue
        url = local.resolve().as_uri()
        _record_digest(wheels, req.filename, sha, final.stat().st_size, url)
        return DownloadResult(req.package, final, url, sha, final.stat().st_size, 0, 0, False)
    return None


def _from_network(wheels: Path, req: FetchRequest, urls: Sequence[str], *, session: Any,
                  retries: int, timeout: float, allow_http: bool, backoff: float,
                  backoff_cap: float, progress: Progress, secrets: Sequence[str] = (),
                  max_size: Optional[int] = DEFAULT_MAX_SIZE, announce: Announce = say,
                  tried: Optional[list[dict[str, str]]] = None,
                  hint: Optional[str] = None) -> DownloadResult:
    part = wheels / f"{req.filename}.part"
    final = wheels / req.filename
    tried = [] if tried is None else tried
    attempts = 0
    verify_failure: Optional[DownloadError] = None
    tls = False

    def note(url: str, exc: DownloadError) -> None:
        tried.append({"url": redact_url(url), "error": scrub(exc.message, secrets)})

    for url in urls:
        announce(fetching_line(req.filename, redact_url(url), redact_url(req.url),
                               req.size or req.size_hint))
        try:
            got = transfer(session, url, part, timeout=timeout, retries=retries,
                           allow_http=allow_http, backoff=backoff, backoff_cap=backoff_cap,
                           check_head=lambda head: check_magic(head, source="the server"),
                           progress=progress, max_size=max_size)
        except DiskFull as exc:
            exc.data.update(package=req.package, filename=req.filename, tried=tried)
            raise
        except NotAWheel as exc:
            discard_part(part)
            attempts += int(exc.data.get("attempts", 1))
            note(url, exc)
            continue
        except UrlFailed as exc:
            attempts += int(exc.data.get("attempts", 1))
            tls = tls or bool(exc.data.get("tls"))
            note(url, exc)
            continue
        except OSError as exc:  # the cache itself: read-only, another user's .part
            mapped = storage_error(part, exc)
            if mapped is None:
                raise
            raise mapped from exc
        attempts += got.attempts
        try:
            sha = verify_wheel_file(part, expected_filename=req.filename, sha256=req.sha256)
        except DownloadError as exc:
            discard_part(part)  # bad bytes must not be resumed from either
            verify_failure = exc
            note(url, exc)
            continue
        os.replace(part, final)
        remove(sidecar_path(part))
        shown = redact_url(url)
        _record_digest(wheels, req.filename, sha, got.size, shown)
        return DownloadResult(req.package, final, shown, sha, got.size, got.resumed_from,
                              attempts, False)
    raise _failure(req, part, tried, verify_failure, tls=tls, hint=hint)


def _failure(req: FetchRequest, part: Path, tried: list[dict[str, str]],
             verify_failure: Optional[DownloadError], *, tls: bool = False,
             hint: Optional[str] = None) -> DownloadError:
    kept = part.stat().st_size if part.is_file() else 0
    lines = "\n".join(f"  {t['url']}: {t['error']}" for t in tried)
    hint = hint or failure_hint(mirrors=(), find_links=())
    if tls:
        hint = CA_HINT + " " + hint
    if kept:
        hint = f"{kept} bytes are kept in {part}; the next run resumes from there. " + hint
    data = {"package": req.package, "filename": req.filename, "tried": tried,
            "partial_path": str(part) if kept else None, "partial_bytes": kept}
    message = f"could not download {req.filename} from any source:\n{lines}"
    cls = ChecksumMismatch if isinstance(verify_failure, ChecksumMismatch) else DownloadError
    return cls(message, hint=hint, data=data)


def _place(result: DownloadResult, dest: Path) -> DownloadResult:
    """Copy a verified cache file to `dest` atomically (skipped when an identical copy is there)."""
    guarded(dest, lambda: dest.mkdir(parents=True, exist_ok=True))
    target = dest / result.path.name
    if target.resolve() == result.path.resolve():
        return result
    same = target.is_file() and target.stat().st_size == result.size
    if not (same and sha256_file(target) == result.sha256):
        copy_atomic(result.path, target)  # a full --dest: exit 5, no `.tmp` left there
    return DownloadResult(result.package, target, result.url, result.sha256, result.size,
                          result.resumed_from, result.attempts, result.from_cache)


def _read_digests(wheels: Path) -> dict[str, dict[str, Any]]:
    """The digest record, keeping only well-formed entries (a hand-edited or foreign file
    must not crash a run: a wrong-typed entry counts as no record)."""
    try:
        data = json.loads((wheels / DIGESTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            continue
        sha = entry.get("sha256")
        url = entry.get("url")
        out[str(name)] = {
            "sha256": sha if isinstance(sha, str) and _SHA256.fullmatch(sha) else None,
            "size": entry.get("size") if type(entry.get("size")) is int else None,
            "url": url if isinstance(url, str) else None,
        }
    return out


def _record_digest(wheels: Path, filename: str, sha: str, size: int, url: str) -> None:
    """Remember what a verified file hashed to, so a later run notices if it changes."""
    with file_lock(wheels / f"{DIGESTS_FILE}.lock", what="updating the digest record"):
        data = _read_digests(wheels)
        data[filename] = {"sha256": sha, "size": size, "url": redact_url(url)}
        write_text_atomic(wheels / DIGESTS_FILE, json.dumps(data, indent=1, sort_keys=True))
