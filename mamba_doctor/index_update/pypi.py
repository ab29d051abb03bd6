"""PyPI's JSON API (https://docs.pypi.org/api/json/): which versions have an sdist, and its
Requires-Python, as overlay facts (wheels/overlay.py)."""

from __future__ import annotations

from typing import Any

from mamba_doctor.errors import IndexUpdateFailed
from mamba_doctor.index_update.http import ApiClient

PYPI_URL = "https://pypi.org"
PROJECTS = {"mamba_ssm": "mamba-ssm", "causal_conv1d": "causal-conv1d"}


def read_project(client: ApiClient, base: str, package: str) -> dict[str, Any]:
    """{"url", "versions": {version: {"sdist", "requires_python", "uploaded", "yanked"}}}."""
    project = PROJECTS[package]
    url = f"{base}/pypi/{project}/json"
    page = client.get_json(url, what=f"PyPI's files of {project}")
    releases = page.doc.get("releases") if isinstance(page.doc, dict) else None
    if not isinstance(releases, dict):
        raise IndexUpdateFailed(f"{page.url} has no release list: not PyPI's JSON API",
                                hint="A proxy may have answered instead; check --pypi-url.")
    versions = {}
    for version, files in releases.items():
        if not isinstance(files, list):
            raise IndexUpdateFailed(f"{page.url}: the files of {version} are not a list")
        sdists = [f for f in files if isinstance(f, dict) and f.get("packagetype") == "sdist"]
        # pip skips a yanked file for `==V` only if another file matches; keep the first live one
        sdist = next((f for f in sdists if not f.get("yanked")), sdists[0] if sdists else None)
        versions[str(version)] = {
            "sdist": _text(sdist, "filename"),
            "requires_python": _text(sdist, "requires_python"),
            "uploaded": (_text(sdist, "upload_time_iso_8601") or "")[:10] or None,
            "yanked": bool(sdist and sdist.get("yanked")),
        }
    return {"url": url, "versions": versions}


def _text(f: Any, key: str) -> Any:
    value = f.get(key) if isinstance(f, dict) else None
    return value if isinstance(value, str) and value else None
