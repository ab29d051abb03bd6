"""Loads the wheel index (wheels_index/*.json, plus the newest overlay `mamba-doctor index update`
wrote): every mamba_ssm / causal_conv1d release and wheel, and what PyPI serves."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple, Optional, Union

from packaging.version import InvalidVersion, Version

from mamba_doctor._compat import removeprefix
from mamba_doctor._resources import read_bytes
from mamba_doctor.config import index_dir
from mamba_doctor.wheels.names import wheel_filename

logger = logging.getLogger(__name__)

PACKAGES = ("mamba_ssm", "causal_conv1d")

# Where a wheel row's existence comes from; only these two may ever be suggested, the rest never
# (a URL that 404s is exactly the failure the doctor exists to avoid).
AVAILABLE = ("observed", "expected")
STATUS_TEXT = {
    "observed": "asset seen in the release's asset list",
    "expected": "built by the release workflow (asset list not seen)",
    "missing": "expected, but absent from the release's asset list",
    "likely_failed": "its CI build job most likely failed: no such asset",
    "unverified": "whether this asset exists is not known",
}
# Where a row's status comes from (with `as_of`, the day it was read).
ORIGIN_TEXT = {
    "bundled": "the index bundled with mamba-doctor",
    "github": "the release's asset list (GitHub Releases API)",
    "workflow": "derived from the release's workflow (no asset list yet)",
}


class WheelCandidate(NamedTuple):
    """One release asset (a NamedTuple: thousands are built at load time, so it must be cheap)."""

    package: str
    tag: str
    version: str  # the version written in the filename (__version__), not always the tag
    filename: str
    url: str
    python: str  # "3.8"
    torch: str  # "2.0", or an NGC container release such as "25.09"
    cuda: str  # label as written: "118", "122", "124", "11", "12", "13"
    cxx11abi: bool
    platform: str  # "linux_x86_64" | "linux_aarch64"
    arches: Optional[tuple[int, ...]]  # SASS targets (86 = sm_86); None: unknown
    status: str  # observed | expected | missing | likely_failed | unverified
    status_detail: Optional[str]
    source: str  # matrix | ngc | extra (uploaded later by a manual workflow run)
    sha256: Optional[str]
    build_os: Optional[str]
    glibc: Optional[str]  # glibc of the build OS: the oldest the binary can be expected to load on
    torch_build: Optional[str]  # pre-release torch CI compiled against ("2.4.0.dev20240505")
    origin: str = "bundled"  # where `status` comes from: bundled | github | workflow
    as_of: Optional[str] = None  # when that source was read ("2026-12-03T14:00:00Z")
    size: Optional[int] = None  # bytes, from the asset list

    @property
    def available(self) -> bool:
        return self.status in AVAILABLE

    @property
    def ngc(self) -> bool:
        return self.source == "ngc"

    @property
    def nightly(self) -> bool:
        return self.torch_build is not None

    @property
    def cuda_major(self) -> int:
        # "118" / "122" / "124" (old labels) carry major+minor, "11" / "12" / "13" the major only.
        return int(self.cuda[:2])

    @property
    def python_tag(self) -> str:
        return "cp" + self.python.replace(".", "")

    def to_dict(self) -> dict[str, Any]:
        out = self._asdict()
        out["arches"] = list(self.arches) if self.arches is not None else None
        return out


@dataclass(frozen=True)
class Release:
    """One GitHub release tag and what its setup.py / wheels look like."""

    package: str
    tag: str
    version: str  # __version__ at the tag: the version inside the wheel filenames
    pypi: tuple[str, ...]  # PyPI versions these wheels install as
    date: Optional[str]
    url_base: str
    guess_rule: str  # setup.py URL-guess rule id (the index's guess_rules, wheels_index/SOURCES.md)
    build_isolation: str  # "newest_torch" | "no_torch": what pip's isolated build sees
    runtime_python_min: Optional[str]
    companion: Optional[tuple[str, Optional[str]]]  # causal_conv1d range [min, below)
    arch_scheme: Optional[str]
    notes: tuple[str, ...]
    _rows: tuple[str, ...] = field(repr=False, compare=False)  # "|"-joined, see build_index.py
    _arch_sets: tuple[tuple[int, ...], ...] = field(repr=False, compare=False)
    _details: tuple[str, ...] = field(repr=False, compare=False)
    _glibc: Mapping[str, str] = field(repr=False, compare=False)
    _built: list[Optional[WheelCandidate]] = field(repr=False, compare=False)
    requires_python: Optional[str] = None  # of the PyPI sdist of `version`
    workflow: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)
    origin: str = "bundled"  # where its rows' statuses come from (ORIGIN_TEXT)
    as_of: Optional[str] = None
    _sizes: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tag_version(self) -> Version:
        return Version(removeprefix(self.tag, "v"))

    @functools.cached_property
    def wheels(self) -> tuple[WheelCandidate, ...]:
        return tuple(self._candidate(i) for i in range(len(self._rows)))

    @functools.cached_property
    def _by_target(self) -> Mapping[tuple[str, str], tuple[int, ...]]:
        groups: dict[tuple[str, str], list[int]] = {}
        for i, row in enumerate(self._rows):
            python, platform, _ = row.split("|", 2)
            groups.setdefault((platform, python), []).append(i)
        return {k: tuple(v) for k, v in groups.items()}

    def wheels_for(self, platform: Optional[str],
                   python: Optional[str]) -> tuple[WheelCandidate, ...]:
        """Wheels for a platform and Python (None: any); builds only the rows it returns."""
        if platform is None or python is None:
            return tuple(w for w in self.wheels if (platform is None or w.platform == platform)
                         and (python is None or w.python == python))
        return tuple(self._candidate(i) for i in self._by_target.get((platform, python), ()))

    def _candidate(self, i: int) -> WheelCandidate:
        built = self._built[i]
        if built is not None:
            return built
        (py, plat, torch, cuda, abi, arch, status, detail, src, sha, os_, build,
         name) = self._rows[i].split("|")
        if not name:
            name = wheel_filename(self.package, self.version, python=py, torch=torch, cuda=cuda,
                                  cxx11abi=abi == "1", platform=plat)
        built = WheelCandidate(
            self.package, self.tag, self.version, name, f"{self.url_base}/{self.tag}/{name}",
            py, torch, cuda, abi == "1", plat,
            self._arch_sets[int(arch)] if arch else None,
            status, self._details[int(detail)] if detail else None, src, sha or None,
            os_ or None, self._glibc.get(os_) if os_ else None, build or None,
            self.origin, self.as_of, self._sizes.get(name),
        )
        self._built[i] = built
        return built

    def compatible_companion(self, version: str) -> Optional[bool]:
        """Whether causal_conv1d `version` can be called by this mamba_ssm release (None: n/a)."""
        if self.companion is None:
            return None
        low, below = self.companion
        v = Version(version)
        return v >= Version(low) and (below is None or v < Version(below))


@dataclass(frozen=True)
class WheelIndex:
    """Both packages' releases, newest tag first, and what PyPI serves of them (the torch tables
    beside them are read by mamba_doctor/knowledge/cuda_tables.py)."""

    releases: Mapping[str, tuple[Release, ...]]
    guess_rules: Mapping[str, Mapping[str, Any]]
    # package -> version -> {"requires_python", "uploaded", "yanked"}: the sdists on PyPI
    pypi: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    # when the bundled facts were read: {"releases": "2026-08-20", "pypi": "2026-12-03"}
    as_of: Mapping[str, str] = field(default_factory=dict)
    overlay: Optional[Any] = None  # the wheels.overlay.Overlay merged in, if any
    overlay_error: Optional[str] = None  # why the cached overlay was not used

    def pypi_sdist(self, package: str, version: str) -> Optional[Mapping[str, Any]]:
        """PyPI's sdist of `package==version` (what `pip install` builds), or None if absent."""
        want = _parse(version)
        for v, info in self.pypi.get(normalize_package(package), {}).items():
            if want is not None and _parse(v) == want:
                return info
        return None

    def for_package(self, package: str) -> tuple[Release, ...]:
        return self.releases[normalize_package(package)]

    def matching(self, package: str, version: str) -> tuple[Release, ...]:
        """Releases serving `version`: tag v<version>, or wheels named <version> under any tag."""
        want = _parse(version)
        out = []
        for rel in self.for_package(package):
            if want is not None and (rel.tag_version == want or _parse(rel.version) == want):
                out.append(rel)
        return tuple(out)

    def release(self, package: str, tag: str) -> Optional[Release]:
        tag = tag if tag.startswith("v") else f"v{tag}"
        return next((r for r in self.for_package(package) if r.tag == tag), None)

    def lookup(self, filename: str) -> tuple[WheelCandidate, ...]:
        """Every indexed asset with this filename (one per tag holding it); () if unknown."""
        name = filename.rsplit("/", 1)[-1].replace("%2B", "+")
        package = name.split("-", 1)[0]
        if package not in self.releases:
            return ()
        return tuple(w for w in self.iter_wheels(package) if w.filename == name)

    def iter_wheels(self, package: str) -> Iterator[WheelCandidate]:
        for rel in self.for_package(package):
            yield from rel.wheels


def normalize_package(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    if key not in PACKAGES:
        raise KeyError(name)
    return key


def load_index(path: Optional[Path] = None, *,
               overlay: Union[Path, bool, None] = None) -> WheelIndex:
    """Load both packages' index and merge the newest overlay over it (cached).

    `overlay`: None reads the one `mamba-doctor index update` left in the cache (if any), False
    none, a path that file. An overlay that cannot be read leaves the bundled index in use (with
    `overlay_error` saying why). Raises FileNotFoundError if the bundled index is absent.
    """
    directory = str(path or index_dir())
    if overlay is False:
        return _load(directory)
    from mamba_doctor.wheels.overlay import default_overlay_path

    target = Path(overlay) if isinstance(overlay, (str, Path)) else default_overlay_path()
    try:
        stat = target.stat()
    except OSError:
        return _load(directory)
    # keyed on the file's identity: a new overlay (index update) is read on the next call
    return _merged(directory, str(target), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _merged(directory: str, path: str, mtime_ns: int, size: int) -> WheelIndex:
    from mamba_doctor.wheels.merge import apply_overlay
    from mamba_doctor.wheels.overlay import OverlayError, read_overlay

    base = _load(directory)
    try:
        found = read_overlay(Path(path))
    except OverlayError as exc:
        logger.warning("ignoring the cached index overlay %s: %s", path, exc)
        return WheelIndex(base.releases, base.guess_rules, base.pypi, base.as_of,
                          overlay_error=str(exc))
    return apply_overlay(base, found)


@functools.lru_cache(maxsize=4)
def _load(directory: str) -> WheelIndex:
    base = Path(directory)
    releases: dict[str, tuple[Release, ...]] = {}
    rules: dict[str, Any] = {}
    pypi: dict[str, Mapping[str, Mapping[str, Any]]] = {}
    as_of: dict[str, str] = {}
    for package in PACKAGES:
        doc = json.loads(read_bytes(base / f"{package}.json"))  # also from inside the zipapp
        rules.update(doc["guess_rules"])
        glibc = doc["build_os_glibc"]
        day = (doc.get("as_of") or {}).get("releases")
        rels = [_release(package, raw, glibc, day) for raw in doc["releases"]]
        rels.sort(key=lambda r: r.tag_version, reverse=True)
        releases[package] = tuple(rels)
        pypi[package] = doc.get("pypi") or {}
        for key, day in (doc.get("as_of") or {}).items():
            as_of[key] = max(as_of.get(key, day), day)
    return WheelIndex(releases=releases, guess_rules=rules, pypi=pypi, as_of=as_of)


def _release(package: str, raw: Mapping[str, Any], glibc: Mapping[str, str],
             as_of: Optional[str]) -> Release:
    comp = raw.get("companion")
    return Release(
        package=package, tag=raw["tag"], version=raw["version"], pypi=tuple(raw["pypi"]),
        date=raw.get("date"), url_base=raw["url_base"], guess_rule=raw["guess"]["rule"],
        build_isolation=raw["build_isolation"], runtime_python_min=raw.get("runtime_python_min"),
        companion=(comp["min"], comp["below"]) if comp else None,
        arch_scheme=raw.get("arch_scheme"), notes=tuple(raw.get("notes") or ()),
        _rows=tuple(raw["wheels"]), _arch_sets=tuple(tuple(a) for a in raw["arch_sets"]),
        _details=tuple(raw["details"]), _glibc=glibc, _built=[None] * len(raw["wheels"]),
        requires_python=raw.get("requires_python"), workflow=raw.get("workflow"), as_of=as_of,
    )


def label_key(label: str) -> tuple[int, ...]:
    """Sort key for "2.10" / "3.13" labels: numeric, so torch 2.10 sorts after 2.9."""
    return tuple(int(p) for p in label.split(".") if p.isdigit())


def _parse(version: str) -> Optional[Version]:
    try:
        return Version(removeprefix(version.strip(), "v"))
    except InvalidVersion:
        return None
