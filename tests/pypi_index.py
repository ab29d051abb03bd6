"""A PEP 503 "simple" index and a GitHub-release-style folder, served by tests/httpserver.py on
127.0.0.1: what pip and mamba-doctor download from in the bundle tests (never the internet)."""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from pathlib import Path
from typing import Iterable, Optional
from urllib.parse import quote

from httpserver import FaultyServer


def _project(filename: str) -> str:
    return re.sub(r"[-_.]+", "-", filename.split("-", 1)[0]).lower()


def serve_index(server: FaultyServer, wheels: Iterable[Path], *,
                requires_python: Optional[dict] = None) -> str:
    """Serve `wheels` as a PEP 503 index (https://peps.python.org/pep-0503/), each link with its
    sha256 and, from `requires_python` (file name -> specifier), data-requires-python (PEP 503,
    as PyPI does). Returns the index URL."""
    projects: dict[str, list[str]] = {}
    for wheel in wheels:
        body = wheel.read_bytes()
        server.add(f"/files/{wheel.name}", body)
        digest = hashlib.sha256(body).hexdigest()
        spec = (requires_python or {}).get(wheel.name)
        attr = f' data-requires-python="{html.escape(spec)}"' if spec else ""
        # the wheel's METADATA beside it, as PyPI serves it (PEP 658): pip then resolves
        # without downloading the wheel itself
        meta = _metadata(body)
        server.add(f"/files/{wheel.name}.metadata", meta)
        attr += f' data-dist-info-metadata="sha256={hashlib.sha256(meta).hexdigest()}"'
        attr += f' data-core-metadata="sha256={hashlib.sha256(meta).hexdigest()}"'
        projects.setdefault(_project(wheel.name), []).append(
            f'<a href="/files/{wheel.name}#sha256={digest}"{attr}>{wheel.name}</a><br/>')
    for name, links in projects.items():
        page = ("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()
        for path in (f"/simple/{name}/", f"/simple/{name}"):
            server.add(path, page, content_type="text/html")
    root = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in sorted(projects)).encode()
    server.add("/simple/", root, content_type="text/html")
    return server.url("/simple/")


def _metadata(wheel: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name)


def serve_releases(server: FaultyServer, wheels: Iterable[Path]) -> str:
    """Serve release assets under /releases/<file name>; returns the --mirror folder URL."""
    for wheel in wheels:  # the downloader asks for the quoted name (+ as %2B)
        server.add(f"/releases/{quote(wheel.name)}", wheel.read_bytes())
    return server.url("/releases/")
