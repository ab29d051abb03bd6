"""Pure sentences a download says before it moves a byte, and its hint when every source failed.

Each names the file and where it comes from (the origin's host and release, a mirror, the cache,
a --find-links folder), so a user on a filtered network sees which host is being waited on.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence
from urllib.parse import urlsplit

from mamba_doctor.download.redact import url_host

# https://github.com/<owner>/<repo>/releases/download/<tag>/<file>
_RELEASE = re.compile(r"/releases/download/([^/]+)/[^/]+$")


def human_size(size: int) -> str:
    """`123.4 MiB`; small sizes in bytes."""
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover - unreachable


def source_name(url: str, origin_url: str) -> str:
    """`github.com (release v2.2.2)` for the origin, `mirror ghproxy.example` for a mirror."""
    host = url_host(url)
    if url != origin_url:
        return f"mirror {host}"
    release = _RELEASE.search(urlsplit(url).path)
    return f"{host} (release {release.group(1)})" if release else host


def fetching_line(filename: str, url: str, origin_url: str, size: Optional[int]) -> str:
    """The line said before the first request to `url`."""
    sized = f", {human_size(size)}" if size else ""
    return f"fetching {filename} from {source_name(url, origin_url)}{sized}"


def cached_line(filename: str, path: str) -> str:
    return f"using {filename} from the cache ({path}), verified"


def find_links_line(filename: str, path: str) -> str:
    return f"using {filename} from --find-links ({path}), verified"


def failure_hint(*, mirrors: Sequence[str], find_links: Sequence[str]) -> str:
    """What to do next, never what the user already did: no "add --mirror" after a --mirror."""
    ways = []
    if not mirrors:
        ways.append("add --mirror PREFIX (a GitHub proxy or your lab's file server)")
    else:
        ways.append("check that each --mirror serves this file (each URL tried is above), or "
                    "try another --mirror")
    elsewhere = ("download the file on a connected machine (`mamba-doctor fetch-wheel --env "
                 "server.json` there)")
    if not find_links:
        ways.append(elsewhere + " and pass --find-links DIR")
    else:
        ways.append(elsewhere + " and put it in " + " or ".join(find_links))
    text = "; or ".join(ways)
    return text[:1].upper() + text[1:] + "."
