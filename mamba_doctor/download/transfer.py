"""One resumable HTTP transfer into a `.part` file: the request loop, retries and streaming."""

from __future__ import annotations

import errno
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Protocol

from mamba_doctor import __version__
from mamba_doctor.download.partial import (
    PartState,
    backoff_delay,
    discard_part,
    load_state,
    parse_content_range,
    plan_headers,
    save_state,
)
from mamba_doctor.errors import DownloadError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = f"mamba-doctor/{__version__}"
# Worth another try: the server or a proxy on the way is overloaded or restarting.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# A safety net only: attempts that make progress do not use up `retries`, and a link that drops
# every few MiB needs dozens of them for a 400 MB wheel.
MAX_ATTEMPTS = 1000
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def describe_error(exc: BaseException, url: str) -> str:
    """One readable line for a requests/urllib3 failure.

    Their str() nests three wrappers ("HTTPConnectionPool(...): Max retries exceeded ... (Caused
    by NewConnectionError(...))"); the user needs the innermost cause and the host.
    """
    from urllib.parse import urlsplit

    import urllib3

    cause: BaseException = exc
    for _ in range(6):  # ConnectionError -> MaxRetryError -> NewConnectionError -> OSError
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException) and cause.args \
                and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    host = urlsplit(url).netloc or url
    errors = urllib3.exceptions
    if isinstance(cause, errors.NameResolutionError):
        return f"cannot resolve {host} (no network, or no DNS for it)"
    # before the timeouts: urllib3's NewConnectionError subclasses ConnectTimeoutError
    if isinstance(cause, (errors.NewConnectionError, ConnectionError)):
        refused = "refused" in str(cause).lower()
        return f"connection to {host} refused" if refused else f"cannot connect to {host}"
    if isinstance(cause, (errors.ConnectTimeoutError, errors.ReadTimeoutError, TimeoutError)):
        return f"{host} did not answer in time"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class TransferResult:
    size: int
    resumed_from: int  # bytes already on disk when this run first resumed (0 for a fresh start)
    attempts: int


class Progress(Protocol):
    def start(self, total: Optional[int], offset: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def stop(self) -> None: ...


class NullProgress:
    def start(self, total: Optional[int], offset: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def stop(self) -> None:
        pass


class UrlFailed(DownloadError):
    """This URL cannot give the file (404, refused downgrade, retries used up): try the next one."""


class DiskFull(DownloadError):
    code = "disk_full"


class _Retry(Exception):
    """A transient failure: back off (at least `after` seconds, from Retry-After) and ask again."""

    def __init__(self, message: str, after: float = 0.0) -> None:
        super().__init__(message)
        self.after = after


def make_session() -> Any:
    """One requests.Session for a whole run, with our User-Agent; proxies come from the env."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def transfer(session: Any, url: str, part: Path, *, timeout: float, retries: int,
             allow_http: bool, backoff: float = 1.0, backoff_cap: float = 30.0,
             check_head: Optional[Callable[[bytes], None]] = None,
             check_response: Optional[Callable[[int, Mapping[str, str]], None]] = None,
             progress: Optional[Progress] = None,
             sleep: Callable[[float], None] = time.sleep,
             rng: Callable[[], float] = random.random) -> TransferResult:
    """Download `url` into `part`, resuming what is there, until complete or out of retries.

    `check_response(status, headers)` sees every response before it is handled and may raise a
    DownloadError to stop at once (an API's rate limit is not worth retrying); it also lets a
    caller read headers such as `Link`.

    `retries` counts consecutive attempts that brought no new byte, so a flaky link that keeps
    making progress is never abandoned. The original URL is requested on every attempt (GitHub's
    signed redirect targets expire). Raises UrlFailed when this URL cannot give the file,
    DiskFull (the `.part` is kept), or lets KeyboardInterrupt through with the `.part` kept.
    """
    import requests
    import urllib3

    progress = progress or NullProgress()
    attempts = failures = 0
    accepted: list[int] = []  # the offset of every response we wrote from
    last_error = "no attempt made"
    while True:
        attempts += 1
        server_delay = 0.0
        state = load_state(part)
        if state is None or state.url != url or not state.resumable:
            discard_part(part)  # bytes from another URL, or an encoded body: not resumable
            state = PartState(url=url)
        have = part.stat().st_size if part.exists() else 0
        try:
            done = _attempt(session, url, part, state, have, timeout=timeout,
                            allow_http=allow_http, check_head=check_head,
                            check_response=check_response, progress=progress,
                            accepted=accepted)
        except _Retry as exc:
            last_error, server_delay = str(exc), exc.after
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError) as exc:
            # urllib3's own errors come straight from raw.read1 mid-body (dropped, timed out)
            last_error = describe_error(exc, url)
        except requests.RequestException as exc:
            raise UrlFailed(describe_error(exc, url), data={"attempts": attempts}) from exc
        except DownloadError as exc:  # UrlFailed, DiskFull, NotAWheel from check_head
            exc.data.setdefault("attempts", attempts)
            raise
        except KeyboardInterrupt:
            kept = part.stat().st_size if part.exists() else 0
            logger.warning("interrupted: kept %d bytes in %s; run the same command again and "
                           "the download resumes from there", kept, part)
            raise
        else:
            if done:
                return TransferResult(size=part.stat().st_size,
                                      resumed_from=accepted[0] if accepted else 0,
                                      attempts=attempts)
            last_error = "restarting from byte 0"
        now = part.stat().st_size if part.exists() else 0
        failures = 1 if now > have else failures + 1
        if failures > retries or attempts >= MAX_ATTEMPTS:
            raise UrlFailed(f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} "
                            f"({last_error})",
                            data={"attempts": attempts, "partial_bytes": now})
        delay = max(backoff_delay(failures, base=backoff, cap=backoff_cap, rng=rng),
                    min(server_delay, backoff_cap))
        # At default verbosity, one line per retry (as pip's "Retrying ... after ..."): a
        # download that cannot reach its host is never silent while it waits.
        logger.warning("attempt %d of %s failed (%s); retrying in %.1fs", attempts, url,
                       last_error, delay)
        sleep(delay)


def _attempt(session: Any, url: str, part: Path, state: PartState, have: int, *,
             timeout: float, allow_http: bool, check_head: Optional[Callable[[bytes], None]],
             check_response: Optional[Callable[[int, Mapping[str, str]], None]],
             progress: Progress, accepted: list[int]) -> bool:
    """One request; True when `part` is complete, False to start over at once."""
    with session.get(url, headers=plan_headers(have, state), stream=True,
                     timeout=(timeout, timeout)) as resp:
        if resp.url.lower().startswith("http://") and not allow_http:
            raise UrlFailed(f"redirected to plain http ({resp.url}); refused without "
                            "--allow-http")
        status = resp.status_code
        if check_response is not None:
            check_response(status, resp.headers)
        if status in RETRY_STATUSES:
            raise _Retry(f"HTTP {status}", after=_retry_after(resp.headers.get("Retry-After")))
        if status == 416:
            cr = parse_content_range(resp.headers.get("Content-Range"))
            total = cr.total if cr is not None else None
            if have > 0 and have == (total if total is not None else state.size):
                accepted.append(have)
                return True  # the previous run had already received every byte
            discard_part(part)
            return False
        if status not in (200, 206):
            reason = getattr(resp, "reason", "") or ""
            raise UrlFailed(f"HTTP {status} {reason}".strip(), data={"http_status": status})
        encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        validator = _validator(resp.headers)
        offset, total = have, None
        if status == 206:
            cr = parse_content_range(resp.headers.get("Content-Range"))
            changed = bool(state.validator and validator and validator != state.validator)
            if (encoded or cr is None or cr.start != have or changed
                    or (state.size is not None and cr.total not in (None, state.size))):
                logger.warning("%s: unusable partial response (%s); starting over", url,
                            resp.headers.get("Content-Range"))
                discard_part(part)
                return False
            total = cr.total
            validator = validator or state.validator  # keep the one we resumed under
        else:
            offset = 0  # a 200 to a range request: the server ignored it, or the file changed
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() and not encoded else None
        save_state(part, PartState(url=url, validator=validator, size=total,
                                   resumable=not encoded))
        accepted.append(offset)
        _stream(resp, part, offset=offset, total=total, check_head=check_head,
                progress=progress)
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Retry(f"connection closed at byte {size} of {total}")
    return True


def _retry_after(value: Optional[str]) -> float:
    """Seconds from a Retry-After header (the delta form; an HTTP date counts as unknown)."""
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def _validator(headers: Any) -> Optional[str]:
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):  # If-Range needs a strong validator (RFC 9110 13.1.5)
        return str(etag)
    modified = headers.get("Last-Modified")
    return str(modified) if modified else None


def _stream(resp: Any, part: Path, *, offset: int, total: Optional[int],
            check_head: Optional[Callable[[bytes], None]], progress: Progress) -> None:
    mode = "r+b" if offset > 0 and part.exists() else "wb"
    progress.start(total, offset)
    # Unbuffered: every byte the OS accepted is on disk for the next run, and a full disk
    # fails in _write (not later in a buffer flush).
    with open(part, mode, buffering=0) as fh:
        fh.seek(offset)
        fh.truncate()
        first = offset == 0
        for chunk in _chunks(resp):
            if first and check_head is not None:
                check_head(bytes(chunk[:64]))  # an HTML page is refused before it is written
            first = False
            _write(fh, chunk, part)
            progress.advance(len(chunk))


def _chunks(resp: Any) -> Iterator[bytes]:
    """The body as it arrives. read1 hands over every byte received before a connection drops,
    where iter_content would lose up to a whole chunk buffered inside urllib3."""
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if encoded or not hasattr(resp.raw, "read1"):  # urllib3 < 2, or a body requests must decode
        yield from resp.iter_content(CHUNK)
        return
    while True:
        chunk = resp.raw.read1(CHUNK)
        if not chunk:
            return
        yield chunk


def _write(fh: Any, chunk: bytes, part: Path) -> None:
    view = memoryview(chunk)
    try:
        while view:
            view = view[fh.write(view):]  # a raw write may take only part of the chunk
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise
        kept = fh.tell()
        raise DiskFull(
            f"no space left on the device while writing {part} ({exc.strerror})",
            hint=f"Kept the {kept} bytes received so far; free some space (or set "
            "MAMBA_DOCTOR_CACHE_DIR to a larger disk) and run the same command again: it resumes.",
            data={"partial_path": str(part), "partial_bytes": kept},
        ) from exc
