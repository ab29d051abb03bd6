"""Merge an index overlay (wheels/overlay.py) over the bundled index (pure).

- A known tag with an asset list: its listed wheels become `observed` (with the API's sha256),
  the others `missing` (kept `likely_failed` where the workflow says their job failed); wheels
  listed but not in the index are added (manual uploads, NGC images).
- A new tag with wheels: rows from its asset names. A new tag without any yet (the workflow is
  still running, or failed): rows `expected` from its workflow (wheels/workflow.py), the same
  rule wheels_index/build_index.py checks against every researched tag.
- PyPI: which versions have an sdist (`pip install ==V` needs one), and their Requires-Python.

The index types are used by duck typing (dataclasses.replace, attribute access) so that
wheels/index.py can import this module lazily without an import circle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Optional, Sequence

from packaging.version import InvalidVersion, Version

from mamba_doctor.wheels.names import parse_wheel_filename, wheel_filename
from mamba_doctor.wheels.overlay import Asset, GithubRelease, Overlay
from mamba_doctor.wheels.workflow import expand, ngc_images

# A release younger than this when its list was read may still be uploading: absent wheels keep
# their status (the matrix jobs take hours; uploads land one by one).
UPLOAD_GRACE_HOURS = 24


def apply_overlay(index: Any, overlay: Overlay) -> Any:
    """The index with the overlay's facts merged in (a new WheelIndex; `index` is unchanged)."""
    releases = dict(index.releases)
    pypi = dict(index.pypi)
    for package, facts in overlay.packages.items():
        rels = list(index.releases[package])
        if facts.github is not None:
            rels = _merge_github(package, rels, facts.github.releases, facts.github.fetched)
        if facts.pypi is not None:
            sdists = facts.pypi.sdists()
            pypi[package] = {v: {"requires_python": i.get("requires_python"),
                                 "uploaded": i.get("uploaded"), "yanked": i.get("yanked")}
                             for v, i in sdists.items()}
            by_version = {_tag_version(v): i for v, i in sdists.items()}
            rels = [_with_pypi(r, by_version) for r in rels]
        rels.sort(key=lambda r: _sort_key(r.tag), reverse=True)
        releases[package] = tuple(rels)
    return replace(index, releases=releases, pypi=pypi, overlay=overlay, overlay_error=None)


def _merge_github(package: str, rels: list[Any], listed: Iterable[GithubRelease],
                  fetched: str) -> list[Any]:
    by_tag = {r.tag: r for r in rels}
    bundled = list(rels)
    for g in listed:
        if _tag_version(g.tag) is None:
            continue  # not a version tag (a "nightly" release, say): nothing setup.py guesses
        wheels = [a for a in g.assets if _looks_like_wheel(a.name, package)]
        old = by_tag.get(g.tag)
        if old is not None:
            if wheels:
                by_tag[g.tag] = _with_assets(old, wheels, g, fetched)
        else:
            template = _template(bundled, g.tag)
            by_tag[g.tag] = (_from_assets(package, g, wheels, template, fetched) if wheels
                             else _from_workflow(package, g, template, fetched, bundled))
    return list(by_tag.values())


class _Rows:
    """Encodes rows as wheels_index/build_index.py does ("|"-joined, arch/detail by index)."""

    def __init__(self, arch_sets: Sequence[Sequence[int]] = (), details: Sequence[str] = ()):
        self.arch_sets = [tuple(a) for a in arch_sets]
        self.details = list(details)
        self.rows: list[str] = []

    def arch(self, arches: Optional[Sequence[int]]) -> str:
        if not arches:
            return ""
        key = tuple(arches)
        if key not in self.arch_sets:
            self.arch_sets.append(key)
        return str(self.arch_sets.index(key))

    def detail(self, text: Optional[str]) -> str:
        if not text:
            return ""
        if text not in self.details:
            self.details.append(text)
        return str(self.details.index(text))

    def add(self, fields: Sequence[Optional[str]]) -> None:
        self.rows.append("|".join("" if v is None else str(v) for v in fields))

    def release(self, rel: Any, **changes: Any) -> Any:
        return replace(rel, _rows=tuple(self.rows), _arch_sets=tuple(self.arch_sets),
                       _details=tuple(self.details), _built=[None] * len(self.rows), **changes)


def _with_assets(rel: Any, assets: Sequence[Asset], g: GithubRelease, fetched: str) -> Any:
    """A known release re-statused from its asset list."""
    named = {a.name.replace("%2B", "+"): a for a in assets}
    rows = _Rows(rel._arch_sets, rel._details)
    young = _hours_between(g.published, fetched)
    still_uploading = young is not None and young < UPLOAD_GRACE_HOURS
    day = fetched[:10]
    for raw, w in zip(rel._rows, rel.wheels):
        f = raw.split("|")
        asset = named.pop(w.filename, None)
        if asset is not None:
            f[6], f[7], f[9] = "observed", "", asset.sha256 or f[9]
        elif w.status == "likely_failed" or still_uploading:
            pass
        else:
            f[6] = "missing"
            f[7] = rows.detail(f"not in the release's asset list (GitHub Releases API, {day})")
        rows.add(f)
    siblings = _siblings(rel)
    for name, asset in named.items():  # listed, unknown to the index: a manual or NGC upload
        tags = _wheel_tags(name, rel.package)
        if tags is None:
            continue
        source = "ngc" if tags.ngc else "extra"
        arch, build_os = siblings.get((source, tags.cuda, tags.platform)) or \
            siblings.get(("matrix", tags.cuda, tags.platform), (None, None))
        rows.add(_fields(rel.package, rel.version, tags, name, rows.arch(arch), "observed", "",
                         source, asset.sha256, None if source == "ngc" else build_os))
    sizes = {**rel._sizes, **{a.name.replace("%2B", "+"): a.size for a in assets
                              if a.size is not None}}
    return rows.release(rel, origin="github", as_of=fetched, _sizes=sizes)


def _from_assets(package: str, g: GithubRelease, assets: Sequence[Asset], template: Any,
                 fetched: str) -> Any:
    """A new release whose asset list has wheels: one observed row per wheel."""
    parsed = [(a, t) for a in assets if (t := _wheel_tags(a.name, package)) is not None]
    if not parsed:
        return _from_workflow(package, g, template, fetched, [template])
    version = Counter(t.version for _, t in parsed).most_common(1)[0][0]
    rows = _Rows()
    siblings = _siblings(template)
    for asset, tags in parsed:
        source = "ngc" if tags.ngc else "matrix"
        arch, build_os = siblings.get((source, tags.cuda, tags.platform), (None, None))
        rows.add(_fields(package, version, tags, asset.name.replace("%2B", "+"), rows.arch(arch),
                         "observed", "", source, asset.sha256, build_os))
    url_base = _url_base(assets, g.tag) or template.url_base
    sizes = {a.name.replace("%2B", "+"): a.size for a in assets if a.size is not None}
    return _new(template, g, version, url_base, rows, "github", fetched, sizes, None)


def _from_workflow(package: str, g: GithubRelease, template: Any, fetched: str,
                   known: Sequence[Any]) -> Any:
    """A new tag with no wheel uploaded yet: the rows its workflow builds, `expected`."""
    rule = dict(g.workflow or template.workflow or {})
    if not rule:
        return _new(template, g, _version(g.tag), template.url_base, _Rows(), "workflow",
                    fetched, {}, None)
    base = template.workflow or {}
    rule.setdefault("label", base.get("label", "major"))
    rule.setdefault("ngc", base.get("ngc", False))
    version = _version(g.tag)
    source_text = (f"derived from publish.yaml at {g.tag}" if g.workflow else
                   f"derived from the workflow of {template.tag} ({g.tag}'s own was not read)")
    by_combo = {(w.python, w.platform, w.torch, w.cuda, w.cxx11abi): w
                for w in template.wheels if w.source == "matrix"}
    siblings = _siblings(template)
    rows = _Rows()
    platforms = set()
    for combo, runner, torch_version in expand(rule):
        python, platform, torch, cuda, abi = combo
        platforms.add(platform)
        twin = by_combo.get(combo)
        status, detail = ("likely_failed", twin.status_detail) \
            if twin is not None and twin.status == "likely_failed" else ("expected", source_text)
        arch = twin.arches if twin is not None else \
            siblings.get(("matrix", cuda, platform), (None, None))[0]
        build = torch_version if "dev" in torch_version else None  # a nightly-built label
        rows.add([python, platform, torch, cuda, "1" if abi else "0", rows.arch(arch), status,
                  rows.detail(detail), "matrix", None, runner, build, None])
    if rule.get("ngc"):
        _ngc_rows(rows, g.published or fetched, sorted(platforms), known, siblings)
    return _new(template, g, version, template.url_base, rows, "workflow", fetched, {}, rule)


def _ngc_rows(rows: _Rows, published: str, platforms: Sequence[str], known: Sequence[Any],
              siblings: Mapping[Any, Any]) -> None:
    images = _known_images(known)
    if not images:
        return
    day = date.fromisoformat(published[:10])
    newest = max(images)
    for label, status in ngc_images(day, day, images):
        cuda, python = images.get(label) or images[newest]
        detail = (f"NGC image {label} was in the 7-month window of the run"
                  + ("" if status == "expected" else ", but whether it existed then is not known"))
        for platform in platforms:
            arch = siblings.get(("ngc", cuda, platform), (None, None))[0]
            rows.add([python, platform, label, cuda, "1", rows.arch(arch), status,
                      rows.detail(detail), "ngc", None, None, None, None])


def _known_images(releases: Sequence[Any]) -> dict[str, tuple[str, str]]:
    """NGC tag -> (CUDA label, Python) of every NGC wheel seen in an asset list."""
    out: dict[str, tuple[str, str]] = {}
    for rel in releases:
        for raw in rel._rows:
            f = raw.split("|")
            if f[8] == "ngc" and f[6] == "observed":
                out.setdefault(f[2], (f[3], f[0]))
    return out


def _new(template: Any, g: GithubRelease, version: str, url_base: str, rows: _Rows, origin: str,
         fetched: str, sizes: Mapping[str, int], rule: Optional[Mapping[str, Any]]) -> Any:
    note = (f"read from the GitHub Releases API on {fetched[:10]}; setup.py and build facts "
            f"are assumed to be those of {template.tag}")
    return rows.release(
        template, tag=g.tag, version=version, pypi=(), requires_python=None,
        date=(g.published or "")[:10] or None, url_base=url_base, notes=(note,),
        workflow=rule or template.workflow, origin=origin, as_of=fetched, _sizes=dict(sizes))


def _fields(package: str, version: str, tags: Any, name: str, arch: str, status: str,
            detail: str, source: str, sha: Optional[str], build_os: Optional[str]) -> list[Any]:
    rebuilt = wheel_filename(package, version, python=tags.python, torch=tags.torch,
                             cuda=tags.cuda, cxx11abi=bool(tags.cxx11abi), platform=tags.platform)
    return [tags.python, tags.platform, tags.torch, tags.cuda, "1" if tags.cxx11abi else "0",
            arch, status, detail, source, sha, build_os, None, None if rebuilt == name else name]


def _siblings(rel: Any) -> dict[tuple[str, str, str], tuple[Any, Optional[str]]]:
    """(source, CUDA label, platform) -> (GPU architectures, build OS) of the release's wheels:
    a wheel from the same runners and toolkit has the same ones."""
    out: dict[tuple[str, str, str], tuple[Any, Optional[str]]] = {}
    for w in rel.wheels:
        if w.arches:
            out.setdefault((w.source, w.cuda, w.platform), (w.arches, w.build_os))
    return out


def _template(releases: Sequence[Any], tag: str) -> Any:
    """The newest bundled release at or below `tag`: a new tag runs the workflow and setup.py of
    the branch it was cut from, which is what that release had (or a later commit)."""
    want = _tag_version(tag)
    ordered = sorted(releases, key=lambda r: _sort_key(r.tag), reverse=True)
    below = [r for r in ordered if want is not None and _sort_key(r.tag) <= want]
    return (below or ordered)[0]


def _with_pypi(rel: Any, sdists: Mapping[Optional[Version], Mapping[str, Any]]) -> Any:
    found = sdists.get(_tag_version(rel.version))
    pypi = (rel.version,) if found is not None else ()
    requires = found.get("requires_python") if found is not None else None
    if pypi == rel.pypi and requires == rel.requires_python:
        return rel
    return replace(rel, pypi=pypi, requires_python=requires)


def _looks_like_wheel(name: str, package: str) -> bool:
    """Cheap pre-filter (a release lists ~100 assets; parsing every name costs)."""
    return name.startswith(f"{package}-") and name.endswith(".whl") and "torch" in name


def _wheel_tags(name: str, package: str) -> Any:
    """The parsed name of a Mamba-style Linux CUDA wheel of `package`, else None."""
    try:
        tags = parse_wheel_filename(name)
    except ValueError:
        return None
    if tags.package != package or tags.cuda is None or tags.torch is None \
            or tags.cxx11abi is None or tags.python is None \
            or not tags.platform.startswith("linux_"):
        return None
    return tags


def _url_base(assets: Sequence[Asset], tag: str) -> Optional[str]:
    """`https://github.com/<repo>/releases/download` from a browser_download_url."""
    for a in assets:
        if a.url and a.url.endswith(f"/{tag}/{a.name}"):
            return a.url[: -len(f"/{tag}/{a.name}")]
    return None


def _hours_between(start: Optional[str], end: str) -> Optional[float]:
    try:
        a = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    if (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return (b - a).total_seconds() / 3600


def _version(tag: str) -> str:
    return tag[1:] if tag.startswith("v") else tag


def _sort_key(tag: str) -> Version:
    """A tag's version for ordering; an unparsable tag sorts below every release."""
    return _tag_version(tag) or Version("0")


def _tag_version(tag: str) -> Optional[Version]:
    try:
        return Version(_version(tag))
    except InvalidVersion:
        return None
