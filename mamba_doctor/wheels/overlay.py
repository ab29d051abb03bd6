"""The index overlay: what `mamba-doctor index update` read from the GitHub Releases API and PyPI's
JSON API, as plain facts (validated here; merged over the bundled index by wheels/merge.py).

The file keeps facts, not derived rows, so that a newer mamba-doctor derives from the same file
what it knows how to, and `index export` / `index update --from FILE` carry it to offline machines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from mamba_doctor.config import cache_dir

FORMAT = "mamba-doctor-index-overlay"
SCHEMA = 1
INDEX_SUBDIR = "index"
OVERLAY_FILE = "overlay.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?")


class OverlayError(ValueError):
    """The document is not an overlay this version can use; the message says where."""


@dataclass(frozen=True)
class Asset:
    name: str
    size: Optional[int]
    sha256: Optional[str]  # lowercase hex, from the API's "sha256:<hex>" digest; None if absent
    url: Optional[str]  # browser_download_url


@dataclass(frozen=True)
class GithubRelease:
    tag: str
    published: Optional[str]
    prerelease: bool
    assets: tuple[Asset, ...]
    # the tag's publish.yaml build matrix (wheels/workflow.py), read when it has no wheel yet
    workflow: Optional[Mapping[str, Any]] = None


@dataclass(frozen=True)
class GithubFacts:
    fetched: str
    url: str
    releases: tuple[GithubRelease, ...]


@dataclass(frozen=True)
class PypiFacts:
    fetched: str
    url: str
    # version -> {"requires_python", "sdist" (its file name or None), "uploaded", "yanked"}
    versions: Mapping[str, Mapping[str, Any]]

    def sdists(self) -> dict[str, Mapping[str, Any]]:
        return {v: info for v, info in self.versions.items() if info.get("sdist")}


@dataclass(frozen=True)
class PackageFacts:
    github: Optional[GithubFacts]
    pypi: Optional[PypiFacts]


@dataclass(frozen=True)
class Overlay:
    created: str
    packages: Mapping[str, PackageFacts]
    tool: Optional[str] = None

    def newest_fetch(self) -> str:
        stamps = [s.fetched for p in self.packages.values() for s in (p.github, p.pypi) if s]
        return max(stamps, default=self.created)


def default_overlay_path() -> Path:
    """`<cache>/index/overlay.json` ($MAMBA_DOCTOR_CACHE_DIR, see config.py)."""
    return cache_dir() / INDEX_SUBDIR / OVERLAY_FILE


def read_overlay(path: Path) -> Overlay:
    """Parse an overlay file. Raises OverlayError (unreadable, not JSON, not an overlay)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OverlayError(f"cannot read {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise OverlayError(f"{path} is not JSON ({exc})") from None
    return parse_overlay(doc)


def parse_overlay(doc: Any) -> Overlay:
    """Validate an overlay document. Raises OverlayError naming the first bad field."""
    top = _obj(doc, "the document")
    if top.get("format") != FORMAT:
        raise OverlayError(f"not a mamba-doctor index overlay (format {top.get('format')!r})")
    if top.get("schema") != SCHEMA:
        raise OverlayError(f"overlay schema {top.get('schema')!r}; this mamba-doctor reads "
                           f"schema {SCHEMA}")
    created = _stamp(top.get("created"), "created")
    packages = {}
    for name, raw in _obj(top.get("packages"), "packages").items():
        if name not in ("mamba_ssm", "causal_conv1d"):
            raise OverlayError(f"packages: unknown package {name!r}")
        facts = _obj(raw, f"packages.{name}")
        where = f"packages.{name}"
        packages[name] = PackageFacts(
            github=_github(facts["github"], f"{where}.github") if facts.get("github") else None,
            pypi=_pypi(facts["pypi"], f"{where}.pypi") if facts.get("pypi") else None)
    tool = top.get("tool")
    return Overlay(created=created, packages=packages,
                   tool=tool if isinstance(tool, str) else None)


def _github(raw: Any, where: str) -> GithubFacts:
    obj = _obj(raw, where)
    releases = []
    for i, rel in enumerate(_list(obj.get("releases"), f"{where}.releases")):
        at = f"{where}.releases[{i}]"
        r = _obj(rel, at)
        tag = _text(r.get("tag"), f"{at}.tag")
        assets = []
        for j, a in enumerate(_list(r.get("assets"), f"{at}.assets")):
            a = _obj(a, f"{at}.assets[{j}]")
            name = _text(a.get("name"), f"{at}.assets[{j}].name")
            if "/" in name or name in ("", ".", ".."):
                raise OverlayError(f"{at}.assets[{j}].name: not a file name: {name!r}")
            sha = a.get("sha256")
            if sha is not None and not (isinstance(sha, str) and _HEX64.fullmatch(sha)):
                raise OverlayError(f"{at}.assets[{j}].sha256: not 64 lowercase hex digits")
            size = a.get("size")
            if size is not None and (not isinstance(size, int) or size < 0):
                raise OverlayError(f"{at}.assets[{j}].size: not a byte count")
            url = a.get("url")
            assets.append(Asset(name, size, sha, url if isinstance(url, str) else None))
        workflow = r.get("workflow")
        if workflow is not None:
            _check_workflow(workflow, f"{at}.workflow")
        published = r.get("published")
        releases.append(GithubRelease(
            tag=tag, published=_stamp(published, f"{at}.published") if published else None,
            prerelease=bool(r.get("prerelease")), assets=tuple(assets), workflow=workflow))
    return GithubFacts(fetched=_stamp(obj.get("fetched"), f"{where}.fetched"),
                       url=_text(obj.get("url"), f"{where}.url"), releases=tuple(releases))


def _pypi(raw: Any, where: str) -> PypiFacts:
    obj = _obj(raw, where)
    versions = {}
    for version, info in _obj(obj.get("versions"), f"{where}.versions").items():
        info = _obj(info, f"{where}.versions.{version}")
        for key in ("requires_python", "sdist", "uploaded"):
            if info.get(key) is not None and not isinstance(info[key], str):
                raise OverlayError(f"{where}.versions.{version}.{key}: not a string")
        versions[version] = {k: info.get(k) for k in ("requires_python", "sdist", "uploaded")}
        versions[version]["yanked"] = bool(info.get("yanked"))
    return PypiFacts(fetched=_stamp(obj.get("fetched"), f"{where}.fetched"),
                     url=_text(obj.get("url"), f"{where}.url"), versions=versions)


def _check_workflow(rule: Any, where: str) -> None:
    obj = _obj(rule, where)
    for axis in ("os", "python", "torch", "cuda", "cxx11abi"):
        values = _list(obj.get(axis), f"{where}.{axis}")
        if not values or not all(isinstance(v, str) and "|" not in v for v in values):
            raise OverlayError(f"{where}.{axis}: expected a list of strings")
    for i, e in enumerate(_list(obj.get("exclude", []), f"{where}.exclude")):
        if not all(isinstance(v, str) for v in _obj(e, f"{where}.exclude[{i}]").values()):
            raise OverlayError(f"{where}.exclude[{i}]: expected string values")


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise OverlayError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise OverlayError(f"{where}: expected a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise OverlayError(f"{where}: expected a string")
    return value


def _stamp(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        raise OverlayError(f"{where}: expected a date such as 2026-12-03T14:00:00Z")
    return value
