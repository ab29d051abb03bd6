"""A fake GitHub Releases API and PyPI JSON API on the local FaultyServer (tests/httpserver.py).

GitHub: every tag of the bundled index, newest first, in pages of `per_page` joined by `Link`
headers; releases with an observed asset list carry their real asset names and sha256 digests
(from the index), in the documented release shape (fixtures/index_api/github-release.json).
PyPI: the JSON API documents recorded on 2026-12-03 (fixtures/index_api/pypi-*.json).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Optional, Sequence

from httpserver import FaultyServer

from mamba_doctor.wheels.index import load_index

API = Path(__file__).parent / "fixtures" / "index_api"
REPOS = {"mamba_ssm": "state-spaces/mamba", "causal_conv1d": "Dao-AILab/causal-conv1d"}
PROJECTS = {"mamba_ssm": "mamba-ssm", "causal_conv1d": "causal-conv1d"}
GITHUB = "https://api.github.com"


class FakeApis:
    """Serves under `prefix` ("/github" and "/pypi-mirror" by default) on `server`."""

    def __init__(self, server: FaultyServer, *, per_page: int = 10, github: str = "/github",
                 pypi: str = "/pypi-mirror") -> None:
        self.server, self.per_page = server, per_page
        self.github_path, self.pypi_path = github, pypi
        self.template = json.loads((API / "github-release.json").read_text())
        self.template.pop("_about")
        self.extra: dict[str, list[dict]] = {p: [] for p in REPOS}
        self.workflows: dict[tuple[str, str], str] = {}
        self.pypi_docs = {p: json.loads((API / f"pypi-{proj}.json").read_text())
                          for p, proj in PROJECTS.items()}

    @property
    def api_url(self) -> str:
        return self.server.url(self.github_path)

    @property
    def pypi_url(self) -> str:
        return self.server.url(self.pypi_path)

    def releases_path(self, package: str, page: int = 1) -> str:
        if page == 1:  # what the client asks for; GitHub's own Link URLs use the repository id
            return f"{self.github_path}/repos/{REPOS[package]}/releases?per_page=100"
        return f"{self.github_path}/repositories/{_repo_id(package)}/releases?per_page=100" \
            f"&page={page}"

    def add_release(self, package: str, tag: str, assets: Sequence[tuple[str, bytes]] = (),
                    *, published: str = "2026-11-30T10:00:00Z", digests: bool = True,
                    workflow: Optional[str] = None) -> None:
        """A release newer than every bundled one; its asset bytes are served under
        /download/<tag>/<name> (the path a `--mirror .../{filename}`-style test can use)."""
        import hashlib

        listed = []
        for name, body in assets:
            sha = hashlib.sha256(body).hexdigest() if digests else None
            listed.append((name, len(body), sha))
            for spelled in (name, name.replace("+", "%2B")):  # download/mirrors.py quotes "+"
                self.server.add(f"/download/{tag}/{spelled}", body)
        self.extra[package].insert(0, self._release(package, tag, listed, published))
        if workflow is not None:
            self.workflows[(package, tag)] = workflow

    def publish(self) -> None:
        """(Re)register every page and document on the server."""
        index = load_index(overlay=False)
        for package, repo in REPOS.items():
            rels = list(self.extra[package])
            for rel in index.for_package(package):
                observed = [w for w in rel.wheels if w.status == "observed"]
                assets = [(w.filename, 1000 + i, w.sha256) for i, w in enumerate(observed)]
                rels.append(self._release(package, rel.tag, assets, f"{rel.date}T12:00:00Z"
                                          if rel.date else "2026-05-01T12:00:00Z"))
            pages = [rels[i:i + self.per_page] for i in range(0, len(rels), self.per_page)]
            for n, page in enumerate(pages, 1):
                links = []
                if n < len(pages):
                    links.append(f'<{self.server.url(self.releases_path(package, n + 1))}>; '
                                 'rel="next"')
                    links.append(f'<{self.server.url(self.releases_path(package, len(pages)))}>;'
                                 ' rel="last"')
                headers = {"Content-Type": "application/json; charset=utf-8",
                           "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59"}
                if links:
                    headers["Link"] = ", ".join(links)
                self.server.add(self.releases_path(package, n), json.dumps(page).encode(),
                                headers=headers, content_type="application/json")
            for (pkg, tag), text in self.workflows.items():
                if pkg == package:
                    doc = {"type": "file", "encoding": "base64", "name": "publish.yaml",
                           "path": ".github/workflows/publish.yaml",
                           "content": base64.encodebytes(text.encode()).decode()}
                    self.server.add(f"{self.github_path}/repos/{repo}/contents/.github/workflows/"
                                    f"publish.yaml?ref={tag}", json.dumps(doc).encode(),
                                    content_type="application/json")
            self.server.add(f"{self.pypi_path}/pypi/{PROJECTS[package]}/json",
                            json.dumps(self.pypi_docs[package]).encode(),
                            content_type="application/json")

    def _release(self, package: str, tag: str, assets: Sequence[tuple[str, int, Optional[str]]],
                 published: str) -> dict:
        repo = REPOS[package]
        rel = copy.deepcopy(self.template)
        asset_shape = rel["assets"][0]
        for key in ("url", "html_url", "assets_url", "upload_url", "tarball_url", "zipball_url",
                    "body"):
            rel[key] = rel[key].replace("state-spaces/mamba", repo).replace("v2.3.2.post1", tag)
        rel.update(tag_name=tag, name=tag, published_at=published, created_at=published)
        rel["assets"] = []
        for i, (name, size, sha) in enumerate(assets):
            a = copy.deepcopy(asset_shape)
            a.update(id=asset_shape["id"] + i, name=name, size=size,
                     digest=f"sha256:{sha}" if sha else None,
                     browser_download_url=f"https://github.com/{repo}/releases/download/{tag}/"
                     f"{name}")
            rel["assets"].append(a)
        return rel


def _repo_id(package: str) -> int:
    return 725000000 if package == "mamba_ssm" else 724000000
