"""JSON pages over the download machinery: mirrors and proxy prefixes, retries with backoff,
resumable transfers (download/transfer.py), plus what an API adds: tokens, rate limits, `Link`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from mamba_doctor.download.mirrors import ORIGIN, check_schemes, mirror_url
from mamba_doctor.download.transfer import UrlFailed, make_session, transfer
from mamba_doctor.errors import DownloadError, IndexUpdateFailed, UsageError

logger = logging.getLogger(__name__)

# https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api
GITHUB_ACCEPT = "application/vnd.github+json"
GITHUB_API_VERSION = "2022-11-28"


class RateLimited(IndexUpdateFailed):
    """GitHub's primary rate limit is used up (403/429 with X-RateLimit-Remaining: 0)."""

    code = "rate_limited"


class _NotJson(UrlFailed):
    """This URL answered, but not with the JSON document asked for: try the next one."""


@dataclass(frozen=True)
class Page:
    doc: Any
    headers: Mapping[str, str]
    url: str  # the URL that answered (a mirror's, or the origin)


@dataclass
class ApiClient:
    """Fetches JSON documents, each from its mirrors first and then its origin."""

    mirrors: Sequence[str] = ()
    allow_http: bool = False
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0
    token: Optional[str] = None  # sent to `token_host` only, never to a mirror or PyPI
    token_env: str = "GITHUB_TOKEN"
    token_host: Optional[str] = None
    workdir: Optional[Path] = None
    sleep: Callable[[float], None] = time.sleep
    requests_made: int = 0
    _sessions: dict = field(default_factory=dict)

    def urls(self, origin: str) -> tuple[str, ...]:
        """The mirrors' URLs for `origin`, then `origin` (download/mirrors.py's order)."""
        out, placed = [], False
        for entry in self.mirrors:
            if entry.strip().lower() == ORIGIN:
                out.append(origin)
                placed = True
            elif is_prefix_mirror(entry):
                out.append(mirror_url(entry, origin, ""))
        if not placed:
            out.append(origin)
        urls = tuple(dict.fromkeys(out))
        check_schemes(urls, allow_http=self.allow_http)
        return urls

    def get_json(self, origin: str, *, what: str) -> Page:
        """The JSON document at `origin`. Raises RateLimited, IndexUpdateFailed (every URL
        failed: network, HTTP status, a page that is not JSON), or UsageError (a refused URL)."""
        tried: list[str] = []
        for url in self.urls(origin):
            try:
                return self._one(url, origin, what)
            except RateLimited:
                raise
            except DownloadError as exc:
                tried.append(f"{url}: {exc.message}")
                status = exc.data.get("http_status")
                if status in (401, 403) and url == origin:
                    raise self._refused(status, what, origin) from None
        raise IndexUpdateFailed(f"could not read {what}:\n  " + "\n  ".join(tried),
                                hint=_NETWORK_HINT, data={"tried": tried})

    def _one(self, url: str, origin: str, what: str) -> Page:
        seen: dict[str, Mapping[str, str]] = {}

        def check_response(status: int, headers: Mapping[str, str]) -> None:
            seen["headers"] = headers
            remaining = headers.get("X-RateLimit-Remaining")
            if status in (403, 429) and remaining == "0":
                raise RateLimited(
                    f"GitHub's API rate limit is used up ({what}){_reset(headers)}",
                    hint=self._token_hint(), data={"http_status": status})

        workdir = self.workdir or Path(tempfile.gettempdir())
        workdir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="page-", dir=workdir))
        try:
            self.requests_made += 1
            transfer(self._session(url), url, tmp / "page.json", timeout=self.timeout,
                     retries=self.retries, allow_http=self.allow_http, backoff=self.backoff,
                     check_head=_json_head, check_response=check_response, sleep=self.sleep)
            raw = (tmp / "page.json").read_bytes()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _NotJson(f"the page is not complete JSON ({_short(exc)}; {len(raw)} bytes): "
                           "truncated or altered on the way") from None
        return Page(doc=doc, headers=dict(seen.get("headers") or {}), url=url)

    def _session(self, url: str) -> Any:
        authed = bool(self.token) and urlsplit(url).netloc == self.token_host
        session = self._sessions.get(authed)
        if session is None:
            session = make_session()
            if authed:
                session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["Accept"] = f"{GITHUB_ACCEPT}, application/json"
            session.headers["X-GitHub-Api-Version"] = GITHUB_API_VERSION
            self._sessions[authed] = session
        return session

    def _refused(self, status: int, what: str, origin: str) -> IndexUpdateFailed:
        if status == 401:
            return IndexUpdateFailed(f"the token in ${self.token_env} was refused (HTTP 401) "
                                     f"reading {what}", hint="Check or renew the token; without "
                                     "one, GitHub allows 60 requests an hour.")
        if not self.token:
            return IndexUpdateFailed(
                f"GitHub refused {what} (HTTP 403) to a request without a token",
                hint=self._token_hint(), data={"http_status": 403, "url": origin})
        return IndexUpdateFailed(f"GitHub refused {what} (HTTP 403) with the token in "
                                 f"${self.token_env}", hint="The token may lack read access to "
                                 "public repositories, or the network blocks the API: try "
                                 "--mirror PREFIX.", data={"http_status": 403, "url": origin})

    def _token_hint(self) -> str:
        if self.token:
            return "Wait until the limit resets, or use another token (--token-env NAME)."
        return (f"Set ${self.token_env} to a GitHub token (any token, no scopes needed, raises "
                "the limit to 5000 an hour) or pass --token-env NAME; on a machine without "
                "access, use `index update --from FILE` with a file from `index export`.")


_NETWORK_HINT = ("Check the network, or give a proxy prefix with --mirror PREFIX (also "
                 "$MAMBA_DOCTOR_MIRROR); on an offline machine run `mamba-doctor index export` "
                 "where the network works and `mamba-doctor index update --from FILE` here. "
                 "The previous index is unchanged.")


def is_prefix_mirror(entry: str) -> bool:
    """A mirror entry that can carry an API URL: a `{url}` template or a bare host prefix
    (download/mirrors.py rules 1 and 2). A folder of files (rule 3) cannot."""
    text = entry.strip()
    if "{url}" in text:
        return True
    if "{filename}" in text:
        return False
    parts = urlsplit(text)
    return bool(parts.netloc) and parts.path in ("", "/") and not parts.query


def check_mirrors(entries: Sequence[str]) -> None:
    """Refuse an explicit --mirror that can only serve files (UsageError)."""
    for entry in entries:
        if entry.strip().lower() != ORIGIN and not is_prefix_mirror(entry):
            mirror_url(entry, "https://example.invalid/", "x")  # a malformed one says why
            raise UsageError(
                f"--mirror {entry!r} is a folder of wheel files; the index needs a proxy that "
                "takes the whole URL",
                hint="Give a prefix such as https://ghproxy.example/ or a template with {url}.")


def next_link(headers: Mapping[str, str]) -> Optional[str]:
    """The rel="next" URL of an RFC 8288 Link header (GitHub's pagination), or None."""
    value = headers.get("Link") or headers.get("link") or ""
    for part in value.split(","):
        bits = part.strip().split(";")
        target = bits[0].strip()
        rels = [b.strip() for b in bits[1:]]
        if target.startswith("<") and target.endswith(">") and any(
                r.replace(" ", "") in ('rel="next"', "rel=next") for r in rels):
            return target[1:-1]
    return None


def _json_head(head: bytes) -> None:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start and start not in (b"{", b"["):
        raise _NotJson(f"the server answered with something that is not JSON (first bytes "
                       f"{head[:16]!r}): a proxy's login or error page?")


def _reset(headers: Mapping[str, str]) -> str:
    raw = headers.get("X-RateLimit-Reset")
    try:
        wait = int(raw) - int(time.time()) if raw else None
    except ValueError:
        wait = None
    if wait is None:
        return ""
    when = time.strftime("%H:%M UTC", time.gmtime(int(raw or 0)))
    return f"; it resets at {when} (in {max(0, wait) // 60 + 1} min)"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 80 else text[:77] + "..."
