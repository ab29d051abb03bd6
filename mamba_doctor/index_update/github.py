"""The GitHub Releases API of the two repositories, as overlay facts (wheels/overlay.py).

"List releases" (https://docs.github.com/en/rest/releases/releases#list-releases) pages with
`Link: <...>; rel="next"`; each asset has `name`, `size`, `state`, `browser_download_url` and,
for uploads since June 2025, `digest: "sha256:<hex>"`
(https://github.blog/changelog/2025-06-03-releases-now-expose-digests-for-release-assets/).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any, Optional
from urllib.parse import quote

from mamba_doctor.errors import IndexUpdateFailed
from mamba_doctor.index_update.http import ApiClient, next_link
from mamba_doctor.wheels.workflow import ngc_job_works, parse_publish_matrix

logger = logging.getLogger(__name__)

REPOSITORIES = {"mamba_ssm": "state-spaces/mamba", "causal_conv1d": "Dao-AILab/causal-conv1d"}
API_URL = "https://api.github.com"
PER_PAGE = 100
MAX_PAGES = 50  # 5000 releases: far more than either repository will have
WORKFLOW = ".github/workflows/publish.yaml"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def read_releases(client: ApiClient, api: str, package: str, *,
                  known_tags: frozenset = frozenset()) -> dict[str, Any]:
    """{"url", "releases": [...]} for the package's repository, every page followed.

    A tag the index does not know, with no wheel uploaded yet, also gets the build matrix of
    its publish.yaml (one more request), so its wheels can be derived. Raises IndexUpdateFailed
    (a page that is not a release list) and what ApiClient.get_json raises.
    """
    repo = REPOSITORIES[package]
    first = f"{api}/repos/{repo}/releases?per_page={PER_PAGE}"
    url: Optional[str] = first
    seen: set[str] = set()
    releases: list[dict[str, Any]] = []
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise IndexUpdateFailed(f"the release list of {repo} does not end (page {url})")
        seen.add(url)
        page = client.get_json(url, what=f"the releases of {repo} (page {len(seen)})")
        if not isinstance(page.doc, list):
            raise IndexUpdateFailed(
                f"{page.url} is not a release list (a JSON {type(page.doc).__name__})",
                hint="A proxy may have answered instead of the API; try another --mirror.")
        for raw in page.doc:
            found = _release(raw, f"{repo} page {len(seen)}")
            if found is not None:
                releases.append(found)
        url = next_link(page.headers)
    out = list(releases)
    for rel in out:
        if rel["tag"] not in known_tags and not _has_wheel(rel, package):
            rel["workflow"] = read_workflow(client, api, repo, rel["tag"])
    return {"url": first, "releases": out}


def read_workflow(client: ApiClient, api: str, repo: str, tag: str) -> Optional[dict]:
    """The build matrix of publish.yaml at `tag` (wheels/workflow.py), or None when the file
    cannot be read or parsed (the overlay then uses the previous release's)."""
    url = f"{api}/repos/{repo}/contents/{WORKFLOW}?ref={quote(tag, safe='')}"
    try:
        page = client.get_json(url, what=f"{WORKFLOW} of {repo} at {tag}")
    except IndexUpdateFailed as exc:
        if exc.code == "rate_limited":
            raise
        logger.info("no workflow for %s %s: %s", repo, tag, exc.message)
        return None
    doc = page.doc if isinstance(page.doc, dict) else {}
    try:
        text = base64.b64decode(str(doc.get("content") or ""), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    rule = parse_publish_matrix(text)
    if rule is not None:
        rule["ngc"] = bool(ngc_job_works(text))
    return rule


def _release(raw: Any, where: str) -> Optional[dict[str, Any]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("tag_name"), str) \
            or not isinstance(raw.get("assets"), list):
        raise IndexUpdateFailed(f"{where}: an entry without tag_name and assets: not the "
                                "GitHub Releases API")
    if raw.get("draft"):
        return None  # only visible with push access, and nothing is published yet
    assets = []
    for a in raw["assets"]:
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            raise IndexUpdateFailed(f"{where}: release {raw['tag_name']} has an asset without "
                                    "a name")
        if a.get("state", "uploaded") != "uploaded":
            continue  # an upload in progress (state "open") is not downloadable yet
        size = a.get("size")
        assets.append({"name": a["name"],
                       "size": size if isinstance(size, int) and size >= 0 else None,
                       "sha256": _sha256(a.get("digest")),
                       "url": a.get("browser_download_url")
                       if isinstance(a.get("browser_download_url"), str) else None})
    published = raw.get("published_at") or raw.get("created_at")
    return {"tag": raw["tag_name"], "published": published if isinstance(published, str)
            else None, "prerelease": bool(raw.get("prerelease")), "assets": assets}


def _sha256(digest: Any) -> Optional[str]:
    """"sha256:<hex>" -> hex; anything else (null before June 2025) -> None."""
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        return None
    value = digest[len("sha256:"):].lower()
    return value if _HEX64.fullmatch(value) else None


def _has_wheel(rel: dict[str, Any], package: str) -> bool:
    return any(a["name"].startswith(f"{package}-") and a["name"].endswith(".whl")
               for a in rel["assets"])
