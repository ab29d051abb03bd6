"""Source distributions for `install --from-source`: find one on PyPI (with sha256), unpack it."""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mamba_doctor.errors import DownloadError, InstallFailed, UsageError

PYPI_SIMPLE = "https://pypi.org/simple"
# PEP 691: the JSON form of the simple index, which carries each file's sha256.
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# The kernels' sources; an sdist without them cannot build (failure `sdist-missing-csrc`).
_KERNEL_DIR = "csrc"


@dataclass(frozen=True)
class SdistRef:
    """One sdist file as the index lists it."""

    package: str  # "mamba_ssm" / "causal_conv1d"
    version: str
    filename: str
    url: str
    sha256: Optional[str]

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "filename": self.filename,
                "url": self.url, "sha256": self.sha256}


def parse_sdist_filename(filename: str) -> tuple[str, str]:
    """`mamba_ssm-2.3.2.post1.tar.gz` -> ("mamba_ssm", "2.3.2.post1"). Raises ValueError."""
    name = Path(filename).name
    m = re.fullmatch(r"(?P<name>[A-Za-z0-9_.-]+?)-(?P<ver>[0-9][^-]*)\.tar\.gz", name)
    if not m:
        raise ValueError(f"{filename}: not an sdist name (expected <package>-<version>.tar.gz)")
    return canonicalize_name(m.group("name")).replace("-", "_"), m.group("ver")


def pick_sdist(package: str, index_doc: dict[str, Any], version: Optional[str], *,
               within: Optional[tuple[str, Optional[str]]] = None) -> SdistRef:
    """Choose the sdist for `version` (default: the newest non-yanked release, in the range
    [min, below) `within` when given) from a PEP 691 page.

    Raises UsageError when the requested version has no sdist.
    """
    found: dict[Version, SdistRef] = {}
    for f in index_doc.get("files", []):
        name = str(f.get("filename", ""))
        if not name.endswith(".tar.gz") or f.get("yanked"):
            continue
        try:
            pkg, ver = parse_sdist_filename(name)
            parsed = Version(ver)
        except (ValueError, InvalidVersion):
            continue
        if parsed.is_prerelease and version is None:
            continue
        if within is not None and not (Version(within[0]) <= parsed and (
                within[1] is None or parsed < Version(within[1]))):
            continue
        sha = (f.get("hashes") or {}).get("sha256")
        found[parsed] = SdistRef(pkg, ver, name, str(f.get("url", "")), sha)
    if version is not None:
        for parsed, ref in found.items():
            if parsed == Version(version):
                return ref
        listed = ", ".join(str(v) for v in sorted(found)[-5:]) or "none"
        raise UsageError(f"{package} {version} has no source distribution on the index",
                         hint=f"Newest versions with one: {listed}.")
    if not found:
        raise UsageError(f"{package}: the index lists no source distribution")
    return found[max(found)]


def fetch_index_page(package: str, *, index_url: str = PYPI_SIMPLE, timeout: float = 30.0
                     ) -> dict[str, Any]:
    """GET the PEP 691 JSON page of `package`. Raises DownloadError."""
    import requests

    from mamba_doctor.download.transfer import make_session

    url = f"{index_url.rstrip('/')}/{canonicalize_name(package)}/"
    try:
        resp = make_session().get(url, headers={"Accept": _SIMPLE_JSON}, timeout=timeout)
        resp.raise_for_status()
        doc = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise DownloadError(f"cannot read the package index for {package}: {exc}",
                            hint="Check the network, or pass --sdist FILE.") from exc
    if not isinstance(doc, dict):
        raise DownloadError(f"unexpected index answer for {package}")
    return doc


def unpack_sdist(path: Path, dest: Path) -> Path:
    """Extract `path` under `dest` and return the project directory (the one with setup.py).

    Refuses members that would land outside `dest` (absolute paths, `..`, links out) and an sdist
    without the CUDA sources. Raises InstallFailed.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = tar.getmembers()
            root = dest.resolve()
            for member in members:
                target = (dest / member.name).resolve()
                if root not in target.parents and target != root:
                    raise InstallFailed(f"{path.name}: unsafe path in archive: {member.name}")
                if member.issym() or member.islnk() or member.isdev():
                    raise InstallFailed(f"{path.name}: links or devices in archive: {member.name}")
            if hasattr(tarfile, "data_filter"):  # 3.9.17+/3.11.4+: the stdlib's own guard too
                tar.extractall(dest, members=members, filter="data")
            else:
                tar.extractall(dest, members=members)  # every member checked above
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InstallFailed(f"cannot unpack {path.name}: {exc}") from exc
    candidates = sorted(p.parent for p in dest.glob("*/setup.py"))
    if not candidates:
        raise InstallFailed(f"{path.name}: no setup.py at the top of the archive")
    project = candidates[0]
    if not (project / _KERNEL_DIR).is_dir():
        raise InstallFailed(
            f"{path.name} has no {_KERNEL_DIR}/ directory: it cannot build the CUDA kernels",
            hint="Use the sdist published on PyPI for this version, or a source checkout.",
        )
    return project


def download_sdist(ref: SdistRef, dest_dir: Path, *, timeout: float = 60.0, retries: int = 5
                   ) -> Path:
    """Download the sdist with the project's resumable transfer (retries, Range resume of a
    `.part` left by an interrupted run), then check the sha256 the index published.

    Raises DownloadError (ChecksumMismatch when the digest differs).
    """
    from mamba_doctor._files import sha256_file
    from mamba_doctor.download.partial import discard_part, sidecar_path
    from mamba_doctor.download.transfer import make_session, transfer
    from mamba_doctor.errors import ChecksumMismatch

    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / ref.filename
    part = target.with_name(target.name + ".part")
    try:
        transfer(make_session(), ref.url, part, timeout=timeout, retries=retries,
                 allow_http=bool(ref.sha256))  # the digest guards the bytes
    except DownloadError as exc:
        exc.hint = exc.hint or "Retry (the download resumes), or pass --sdist FILE."
        raise
    actual = sha256_file(part)
    if ref.sha256 and actual != ref.sha256.lower():
        discard_part(part)  # bad bytes must not be resumed from either
        raise ChecksumMismatch(f"{ref.filename}: sha256 {actual} differs from the "
                               f"index's {ref.sha256}")
    part.replace(target)
    sidecar_path(part).unlink(missing_ok=True)
    return target


def sdist_requirements(path: Path) -> tuple[str, ...]:
    """`Requires-Dist` lines of the sdist's PKG-INFO (empty when it has none or cannot be read).

    Lets `install` check the dependency plan against the pinned torch before an hour of build.
    """
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = next((m for m in tar.getmembers()
                           if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")), None)
            handle = tar.extractfile(member) if member is not None else None
            text = handle.read().decode("utf-8", "replace") if handle is not None else ""
    except (tarfile.TarError, OSError, EOFError):
        return ()
    head = text.split("\n\n", 1)[0]  # the description body follows the first blank line
    return tuple(line.split(":", 1)[1].strip() for line in head.splitlines()
                 if line.startswith("Requires-Dist:"))


# What a setuptools build of these sdists imports from the target with --no-build-isolation:
# setup.py imports packaging and wheel.bdist_wheel at top level, even in releases whose
# pyproject declares nothing (the failure mode build-isolation-missing-build-deps in
# mamba_doctor/knowledge/failures.json).
_SETUPTOOLS_NEEDS = ("setuptools", "wheel", "packaging")


def build_requirements(project: Path) -> tuple[str, ...]:
    """Distribution names the unpacked sdist's build needs in the target (torch left out: it is
    checked on its own). Pure apart from reading pyproject.toml."""
    try:
        text = (project / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    section = re.search(r"^\[build-system\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    body = section.group(1) if section else ""
    listed = re.search(r"^requires\s*=\s*\[(.*?)\]", body, re.M | re.S)
    names = [re.split(r"[\s<>=!~;\[(]", r.strip(), maxsplit=1)[0]
             for r in re.findall(r"[\"']([^\"']+)[\"']", listed.group(1) if listed else "")]
    backend = re.search(r"^build-backend\s*=\s*[\"']([^\"']+)", body, re.M)
    if backend is None or backend.group(1).startswith("setuptools"):
        names += _SETUPTOOLS_NEEDS
    wanted = (canonicalize_name(n) for n in names if n)
    return tuple(dict.fromkeys(n for n in wanted if n != "torch"))
