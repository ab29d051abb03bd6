"""manifest.json of a bundle: every file with its size, sha256, role and why it is there.

`bundle` writes it last (a bundle without one is unfinished); `install --bundle` checks every
file against it before pip sees any of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.download.integrity import sha256_file
from mamba_doctor.errors import UsageError

MANIFEST = "manifest.json"
FORMAT = 1
ROLES = ("mamba_ssm", "causal_conv1d", "dependency", "torch", "zipapp")


@dataclass(frozen=True)
class Entry:
    file: str  # a plain name inside the bundle folder
    size: int
    sha256: str
    role: str  # one of ROLES
    why: str
    name: Optional[str] = None  # the distribution it installs (None for the zipapp)
    version: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "size": self.size, "sha256": self.sha256, "role": self.role,
                "why": self.why, "name": self.name, "version": self.version}


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]
    target: Mapping[str, Any] = field(default_factory=dict)  # python, torch, platform, pins
    created_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "created_by": self.created_by, "target": dict(self.target),
                "files": [e.to_dict() for e in self.entries]}

    def by_role(self, *roles: str) -> list[Entry]:
        return [e for e in self.entries if e.role in roles]


def entry_for(path: Path, *, role: str, why: str, name: Optional[str] = None,
              version: Optional[str] = None) -> Entry:
    return Entry(path.name, path.stat().st_size, sha256_file(path), role, why, name, version)


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    path = folder / MANIFEST
    partial = folder / (MANIFEST + ".part")
    partial.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n")
    partial.replace(path)
    return path


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the bundle in `folder`; UsageError when there is none or it is malformed."""
    path = folder / MANIFEST
    hint = ("Make the bundle on a connected machine: mamba-doctor bundle --env server.json "
            "--dest DIR, and copy the whole folder.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--bundle {folder}: no {MANIFEST} (not a bundle, or an unfinished one)",
                         hint=hint) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--bundle {folder}: cannot read {MANIFEST} ({exc})", hint=hint) from None
    try:
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, this mamba-doctor reads {FORMAT}")
        entries = tuple(_entry(raw) for raw in doc["files"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"--bundle {folder}: {MANIFEST} is malformed ({exc})",
                         hint=hint) from None
    return Manifest(entries, dict(doc.get("target") or {}), str(doc.get("created_by") or ""))


def _entry(raw: Mapping[str, Any]) -> Entry:
    name = str(raw["file"])
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"not a plain file name: {name!r}")
    role = str(raw["role"])
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} for {name}")
    digest = str(raw["sha256"]).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{name}: sha256 is not 64 hex digits")
    return Entry(name, int(raw["size"]), digest, role, str(raw.get("why") or ""),
                 raw.get("name"), raw.get("version"))


def verify_files(folder: Path, entries: Sequence[Entry]) -> list[str]:
    """One sentence per file that is missing, has another size, or another sha256."""
    problems = []
    for e in entries:
        path = folder / e.file
        if not path.is_file():
            problems.append(f"{e.file} is missing")
        elif path.stat().st_size != e.size:
            problems.append(f"{e.file} has {path.stat().st_size} bytes, the manifest says "
                            f"{e.size} (copied only in part?)")
        elif sha256_file(path) != e.sha256:
            problems.append(f"{e.file} does not match its sha256 (changed after bundling)")
    return problems
