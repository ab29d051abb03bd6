"""One resumable HTTP transfer into a `.part` file: the request loop, retries and streaming."""

from __future__ import annotations

import logging
import os
import random
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Protocol
from urllib.parse import urljoin, urlsplit

from mamba_doctor import __version__
from mamba_doctor.download.files import NO_SPACE, disk_full
from mamba_doctor.download.files import DiskFull as DiskFull  # re-exported
from mamba_doctor.download.partial import (
    PartState,
    backoff_delay,
    discard_part,
    load_state,
    parse_content_range,
    plan_headers,
    save_state,
)
from mamba_doctor.download.redact import redact_url, url_host
from mamba_doctor.errors import DownloadError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = f"mamba-doctor/{__version__}"
# Worth another try: the server or a proxy on the way is overloaded or restarting.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# A safety net only: attempts that make progress do not use up `retries`, and a link that drops
# every few MiB needs dozens of them for a 400 MB wheel.
MAX_ATTEMPTS = 1000
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10  # requests' own default is 30; GitHub needs one (release -> signed storage)
# The largest wheel of the index is about 500 MB; anything much bigger is a broken server or an
# endless body, which must not fill the disk before verification can refuse it.
DEFAULT_MAX_SIZE = 4 << 30
CA_HINT = ("If a proxy or your organisation re-signs HTTPS traffic, point SSL_CERT_FILE (or "
           "REQUESTS_CA_BUNDLE) at its CA bundle; otherwise the server's certificate is "
           "wrong and the download was rightly refused.")


def describe_error(exc: BaseException, url: str) -> str:
    """One readable line for a requests/urllib3 failure.

    Their str() nests three wrappers ("HTTPConnectionPool(...): Max retries exceeded ... (Caused
    by NewConnectionError(...))"); the user needs the innermost cause and the host.
    """
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
    host = url_host(url)
    errors = urllib3.exceptions
    if isinstance(cause, ssl.SSLCertVerificationError) or _is_cert_failure(exc):
        why = getattr(cause, "verify_message", None) or "certificate verify failed"
        return f"TLS certificate verification failed for {host} ({why})"
    if isinstance(cause, errors.NameResolutionError):
        return f"cannot resolve {host} (no network, or no DNS for it)"
    # before the timeouts: urllib3's NewConnectionError subclasses ConnectTimeoutError
    if isinstance(cause, (errors.NewConnectionError, ConnectionError)):
        refused = "refused" in str(cause).lower()
        return f"connection to {host} refused" if refused else f"cannot connect to {host}"
    if isinstance(cause, (errors.ConnectTimeoutError, errors.ReadTimeoutError, TimeoutError)):
        return f"{host} did not answer in time"
    return f"{type(exc).__name__}: {exc}"


def _is_cert_failure(exc: BaseException) -> bool:
    """True for a certificate the client refused (not worth retrying), anywhere in the chain."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return True
        if isinstance(item, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(item):
            return True
        todo += [getattr(item, "reason", None), item.__cause__, item.__context__,
                 *(a for a in item.args if isinstance(a, BaseException))]
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


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


class _Retry(Exception):
    """A transient failure: back off (at least `after` seconds, from Retry-After) and ask again."""

    def __init__(self, message: str, after: float = 0.0) -> None:
        super().__init__(message)
        self.after = after


def make_session(environ: Optional[Mapping[str, str]] = None) -> Any:
    """One requests.Session for a whole run, with our User-Agent; proxies come from the env.

    requests reads REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE but not OpenSSL's own SSL_CERT_FILE /
    SSL_CERT_DIR, which is what a cluster's or a company's setup usually exports: they are
    honoured here (REQUESTS_CA_BUNDLE still wins, as requests applies it per request).
    """
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    bundle = ca_bundle(os.environ if environ is None else environ)
    if bundle is not None:
        session.verify = bundle
    return session


def ca_bundle(environ: Mapping[str, str]) -> Optional[str]:
    """The CA file or folder SSL_CERT_FILE / SSL_CERT_DIR name (a file wins), if it exists."""
    for key in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = environ.get(key)
        if value and os.path.exists(value):
            return value
    return None


def transfer(session: Any, url: str, part: Path, *, timeout: float, retries: int,
             allow_http: bool, backoff: float = 1.0, backoff_cap: float = 30.0,
             check_head: Optional[Callable[[bytes], None]] = None,
             check_response: Optional[Callable[[int, Mapping[str, str]], None]] = None,
             progress: Optional[Progress] = None,
             sleep: Callable[[float], None] = time.sleep,
             rng: Callable[[], float] = random.random,
             max_size: Optional[int] = DEFAULT_MAX_SIZE) -> TransferResult:
    """Download `url` into `part`, resuming what is there, until complete or out of retries.

    `check_response(status, headers)` sees every response before it is handled and may raise a
    DownloadError to stop at once (an API's rate limit is not worth retrying); it also lets a
    caller read headers such as `Link`.

    `retries` counts consecutive attempts that brought no new byte, so a flaky link that keeps
    making progress is never abandoned. The original URL is requested on every attempt (GitHub's
    signed redirect targets expire), and every redirect hop is checked before it is requested.
    A body over `max_size` bytes, or a compressed one, is refused (a decompression bomb or an
    endless body must not fill the disk). Raises UrlFailed when this URL cannot give the file
    (a refused certificate included: it is not retried), DiskFull (the `.part` is kept), or
    lets KeyboardInterrupt through with the `.part` kept.
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
        if state is None or state.url != url or not state.resumable \
                or (part.is_file() and not os.access(part, os.W_OK)):
            # bytes from another URL, an encoded body, or another user's .part in a shared
            # cache (ours cannot append to it): not resumable
            discard_part(part)
            state = PartState(url=url)
        have = part.stat().st_size if part.is_file() else 0
        try:
            done = _attempt(session, url, part, state, have, timeout=timeout,
                            allow_http=allow_http, check_head=check_head,
                            check_response=check_response, progress=progress,
                            accepted=accepted, max_size=max_size)
        except _Retry as exc:
            last_error, server_delay = str(exc), exc.after
        except requests.exceptions.SSLError as exc:
            if _is_cert_failure(exc):  # a wrong certificate stays wrong: no retry
                raise UrlFailed(describe_error(exc, url), hint=CA_HINT,
                                data={"attempts": attempts, "tls": True}) from None
            last_error = describe_error(exc, url)  # a handshake cut short: worth another try
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
            kept = part.stat().st_size if part.is_file() else 0
            logger.warning("interrupted: kept %d bytes in %s; run the same command again and "
                           "the download resumes from there", kept, part)
            raise
        else:
            if done:
                return TransferResult(size=part.stat().st_size,
                                      resumed_from=accepted[0] if accepted else 0,
                                      attempts=attempts)
            last_error = "restarting from byte 0"
        now = part.stat().st_size if part.is_file() else 0
        failures = 1 if now > have else failures + 1
        if failures > retries or attempts >= MAX_ATTEMPTS:
            raise UrlFailed(f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} "
                            f"({last_error})",
                            data={"attempts": attempts, "partial_bytes": now})
        delay = max(backoff_delay(failures, base=backoff, cap=backoff_cap, rng=rng),
                    min(server_delay, backoff_cap))
        # At default verbosity, one line per retry (as pip's "Retrying ... after ..."): a
        # download that cannot reach its host is never silent while it waits.
        logger.warning("attempt %d of %s failed (%s); retrying in %.1fs", attempts,
                       redact_url(url), last_error, delay)
        sleep(delay)


def _attempt(session: Any, url: str, part: Path, state: PartState, have: int, *,
             timeout: float, allow_http: bool, check_head: Optional[Callable[[bytes], None]],
             check_response: Optional[Callable[[int, Mapping[str, str]], None]],
             progress: Progress, accepted: list[int], max_size: Optional[int]) -> bool:
    """One request; True when `part` is complete, False to start over at once."""
    with _get(session, url, headers=plan_headers(have, state), timeout=timeout,
              allow_http=allow_http) as resp:
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
            server_has = f"the server has {total} bytes" if total is not None else \
                "the server did not say its size"
            if have == 0:  # nothing was asked for by range: retrying cannot help
                raise UrlFailed(f"HTTP 416 Range Not Satisfiable to a request without a range "
                                f"({server_has})", data={"http_status": 416})
            raise _Retry(f"HTTP 416 Range Not Satisfiable when resuming at byte {have} "
                         f"({server_has}); the partial file was discarded")
        if status not in (200, 206):
            reason = getattr(resp, "reason", "") or ""
            raise UrlFailed(f"HTTP {status} {reason}".strip(), data={"http_status": status})
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # Asked for identity; decoding on the fly is how a 9 MB gzip bomb becomes 1 GB.
            raise UrlFailed(f"the server sent a compressed body (Content-Encoding: {encoding}) "
                            "although none was asked for; refused",
                            data={"http_status": status})
        validator = _validator(resp.headers)
        offset, total = have, None
        if status == 206:
            cr = parse_content_range(resp.headers.get("Content-Range"))
            changed = bool(state.validator and validator and validator != state.validator)
            if (cr is None or cr.start != have or changed
                    or (state.size is not None and cr.total not in (None, state.size))):
                logger.warning("%s: unusable partial response (%s); starting over",
                               redact_url(url), resp.headers.get("Content-Range"))
                discard_part(part)
                return False
            total = cr.total
            validator = validator or state.validator  # keep the one we resumed under
        else:
            offset = 0  # a 200 to a range request: the server ignored it, or the file changed
            length = resp.headers.get("Content-Length", "").strip()
            total = int(length) if length.isascii() and length.isdigit() \
                and len(length) < 20 else None
        _check_size(total, max_size)
        save_state(part, PartState(url=url, validator=validator, size=total))
        accepted.append(offset)
        _stream(resp, part, offset=offset, total=total, check_head=check_head,
                progress=progress, max_size=max_size)
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Retry(f"connection closed at byte {size} of {total}")
    return True


def _get(session: Any, url: str, *, headers: Mapping[str, str], timeout: float,
         allow_http: bool) -> Any:
    """GET `url`, following redirects one hop at a time.

    requests would follow a whole chain and only then show where it ended; here each
    `Location` is checked before it is requested, so an https -> http hop is refused before
    the plain-text request (which would carry the signed storage URL in clear) is sent.
    """
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        resp = session.get(current, headers=dict(headers), stream=True,
                           timeout=(timeout, timeout), allow_redirects=False)
        location = resp.headers.get("Location")
        if resp.status_code not in _REDIRECTS or not location:
            return resp
        resp.close()
        target = urljoin(current, location)
        scheme = urlsplit(target).scheme.lower()
        if scheme == "http" and not allow_http:
            raise UrlFailed(f"redirected to plain http ({redact_url(target)}); refused without "
                            "--allow-http, before requesting it")
        if scheme not in ("http", "https"):
            raise UrlFailed(f"redirected to an unsupported URL ({redact_url(target)})")
        if urlsplit(target).netloc != urlsplit(url).netloc:
            # as requests' own rebuild_auth does: a token for the API host is not sent to the
            # storage host it redirects to (None removes the session's header for this request)
            headers = {**headers, "Authorization": None}  # type: ignore[dict-item]
        current = target
    raise UrlFailed(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")


def _check_size(total: Optional[int], max_size: Optional[int]) -> None:
    if total is not None and max_size is not None and total > max_size:
        raise UrlFailed(f"the server announces {total} bytes, over the limit of {max_size} "
                        "(--max-size)", data={"size_limit": max_size})


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
            check_head: Optional[Callable[[bytes], None]], progress: Progress,
            max_size: Optional[int] = None) -> None:
    mode = "r+b" if offset > 0 and part.is_file() else "wb"
    progress.start(total, offset)
    # Unbuffered: every byte the OS accepted is on disk for the next run, and a full disk
    # fails in _write (not later in a buffer flush).
    with open(part, mode, buffering=0) as fh:
        fh.seek(offset)
        fh.truncate()
        first = offset == 0
        written = offset
        for chunk in _chunks(resp):
            if first and check_head is not None:
                check_head(bytes(chunk[:64]))  # an HTML page is refused before it is written
            first = False
            written += len(chunk)
            if max_size is not None and written > max_size:
                fh.close()
                discard_part(part)
                raise UrlFailed(f"the body goes on past the limit of {max_size} bytes "
                                "(--max-size); refused", data={"size_limit": max_size})
            _write(fh, chunk, part)
            progress.advance(len(chunk))


def _chunks(resp: Any) -> Iterator[bytes]:
    """The body's raw bytes as they arrive (never decoded). read1 hands over every byte received
    before a connection drops, where iter_content would lose up to a whole chunk buffered
    inside urllib3."""
    if not hasattr(resp.raw, "read1"):  # urllib3 < 2
        yield from resp.raw.stream(CHUNK, decode_content=False)
        return
    while True:
        chunk = resp.raw.read1(CHUNK, decode_content=False)
        if not chunk:
            return
        yield chunk


def _write(fh: Any, chunk: bytes, part: Path) -> None:
    view = memoryview(chunk)
    try:
        while view:
            view = view[fh.write(view):]  # a raw write may take only part of the chunk
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        raise disk_full(part, exc, kept=fh.tell()) from exc
