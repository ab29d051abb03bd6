"""Keeps credentials out of what the downloader prints, returns and stores.

A mirror is often given as `https://user:token@files.lab/wheels/` or with `?token=...`; those
secrets must reach the server and nothing else: not an error message, not `--json`, not
`digests.json`, not a log line.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
# Query keys that carry a secret: tokens, signatures of pre-signed storage URLs (S3/Azure/GCS).
_SECRET_KEY = re.compile(r"(?i)(token|secret|passw|signature|credential|sig$|^key$|api[-_]?key|"
                         r"auth|session)")


def url_host(url: str) -> str:
    """host[:port] of `url`, never its user name or password (what a message may name)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if parts.port else host or redact_url(url)
    except ValueError:
        return redact_url(url)


def redact_url(url: str) -> str:
    """`url` with its password (or lone user token) and secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _password = userinfo.partition(":")
        # `https://TOKEN@host/` (GitHub, GitLab) puts the secret in the user part.
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_KEY.search(k) for k, _ in pairs):
            query = "&".join(f"{k}={MASK}" if _SECRET_KEY.search(k) else f"{k}={v}"
                             for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secrets_of(urls: Iterable[str]) -> tuple[str, ...]:
    """Every secret string in `urls` (passwords, user tokens, secret query values)."""
    out: list[str] = []
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if "@" in parts.netloc:
            userinfo = parts.netloc.rpartition("@")[0]
            user, has_password, password = userinfo.partition(":")
            out.append(password if has_password else user)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if _SECRET_KEY.search(key):
                out.append(value)
    # Longest first, so a secret that contains another is masked whole; tiny ones would mask
    # ordinary text ("a", "1") and cannot be told from it.
    return tuple(sorted({s for s in out if len(s) >= 3}, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every one of `secrets` (and its percent-decoded form) replaced by the mask."""
    from urllib.parse import quote, unquote

    for secret in secrets:
        for form in dict.fromkeys((secret, unquote(secret), quote(secret, safe=""))):
            if form:
                text = text.replace(form, MASK)
    return text
