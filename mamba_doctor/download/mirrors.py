"""Pure rules that turn an origin URL and `--mirror` entries into the ordered URLs to try."""

from __future__ import annotations

from typing import Sequence
from urllib.parse import quote, urlsplit

from mamba_doctor.download.redact import redact_url
from mamba_doctor.errors import UsageError

# A mirror entry that stands for the origin URL itself, so users can put it anywhere in the order.
ORIGIN = "origin"

_SCHEMES = ("https", "http")


def mirror_url(mirror: str, origin_url: str, filename: str) -> str:
    """The URL one `--mirror` entry gives for one file.

    The rule, in order:
    1. a template with `{url}` (the full origin URL) and/or `{filename}` is filled in:
       `https://proxy.example/{url}`, `http://files.lab/wheels/{filename}`;
    2. a bare host (`https://ghproxy.example/`, path empty or `/`) is a GitHub-proxy prefix and
       gets the full origin URL appended: `https://ghproxy.example/https://github.com/...`;
    3. anything with a path (`http://files.lab/wheels/`) is a directory and gets the file name
       appended: `http://files.lab/wheels/<filename>`.
    Raises UsageError for an entry that is not an http(s) URL.
    """
    entry = mirror.strip()
    parts = urlsplit(entry.replace("{url}", "").replace("{filename}", ""))
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        raise UsageError(
            f"mirror {redact_url(mirror)!r} is not an http(s) URL",
            hint="Give a prefix such as https://ghproxy.example/ or a directory such as "
            "https://files.lab/wheels/ (templates with {url} or {filename} also work).",
        )
    if "{url}" in entry or "{filename}" in entry:
        return entry.replace("{url}", origin_url).replace("{filename}", quote(filename))
    if parts.path in ("", "/") and not parts.query:
        return entry.rstrip("/") + "/" + origin_url
    return entry.rstrip("/") + "/" + quote(filename)


def candidate_urls(origin_url: str, filename: str, mirrors: Sequence[str] = ()) -> tuple[str, ...]:
    """Every URL to try for one file, in order, without duplicates.

    Mirrors come first, in the order given, because on a filtered network the origin is the one
    that hangs; the origin comes last unless the entry `origin` places it explicitly.
    """
    ordered: list[str] = []
    placed_origin = False
    for mirror in mirrors:
        if mirror.strip().lower() == ORIGIN:
            ordered.append(origin_url)
            placed_origin = True
        else:
            ordered.append(mirror_url(mirror, origin_url, filename))
    if not placed_origin:
        ordered.append(origin_url)
    return tuple(dict.fromkeys(ordered))


def check_schemes(urls: Sequence[str], *, allow_http: bool) -> None:
    """Refuse anything but https (and http only with allow_http) before any byte moves.

    Raises UsageError naming the first offending URL.
    """
    for url in urls:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and allow_http):
            continue
        if scheme == "http":
            raise UsageError(
                f"refusing plain http:// download: {redact_url(url)}",
                hint="Plain HTTP can be altered on the way; pass --allow-http only for a server "
                "you trust (a lab file server), ideally together with --sha256.",
            )
        raise UsageError(
            f"unsupported URL scheme {scheme or '(none)'!r}: {redact_url(url)}",
            hint="Use an https:// URL, or --find-links DIR for a local folder.",
        )
