"""`index update`, `index update --from FILE` and `index export`: read the live sources into an
overlay document, check it, and replace the cached overlay atomically (or leave it alone)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from mamba_doctor import __version__
from mamba_doctor._files import atomic_write_text
from mamba_doctor.download.lock import file_lock
from mamba_doctor.errors import DoctorError, IndexUpdateFailed, UsageError
from mamba_doctor.index_update.github import API_URL, read_releases
from mamba_doctor.index_update.http import ApiClient, check_mirrors
from mamba_doctor.index_update.pypi import PYPI_URL, read_project
from mamba_doctor.wheels.overlay import (
    FORMAT,
    SCHEMA,
    OverlayError,
    default_overlay_path,
    parse_overlay,
    read_overlay,
)

logger = logging.getLogger(__name__)

PACKAGES = ("mamba_ssm", "causal_conv1d")
SOURCES = ("github", "pypi")


@dataclass(frozen=True)
class UpdateArgs:
    mirrors: tuple[str, ...] = ()  # --mirror entries given on the command line
    env_mirrors: tuple[str, ...] = ()  # $MAMBA_DOCTOR_MIRROR (folder entries are skipped)
    api_url: str = API_URL
    pypi_url: str = PYPI_URL
    token_env: str = "GITHUB_TOKEN"
    allow_http: bool = False
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0
    partial: bool = False  # keep the sources that answered when others failed
    from_file: Optional[Path] = None
    force: bool = False  # --from FILE: accept an overlay older than the cached one


def update_index(args: UpdateArgs, *, environ: Optional[Mapping[str, str]] = None,
                 now: Optional[Callable[[], datetime]] = None) -> dict[str, Any]:
    """Refresh the cached overlay; returns what was read. Raises IndexUpdateFailed (nothing
    written, the previous overlay intact) or UsageError (a bad flag or file)."""
    target = default_overlay_path()
    if args.from_file is not None:
        return _import(Path(args.from_file), target, force=args.force)
    check_mirrors(args.mirrors)
    env = os.environ if environ is None else environ
    token = env.get(args.token_env) or (env.get("GH_TOKEN") if args.token_env == "GITHUB_TOKEN"
                                        else None)
    api, pypi = args.api_url.rstrip("/"), args.pypi_url.rstrip("/")
    client = ApiClient(mirrors=(*args.mirrors, *args.env_mirrors), allow_http=args.allow_http,
                       timeout=args.timeout, retries=args.retries, backoff=args.backoff,
                       token=token or None, token_env=args.token_env,
                       token_host=urlsplit(api).netloc, workdir=target.parent / "tmp")
    client.urls(f"{api}/")  # refuse a plain-http source before anything is fetched
    client.urls(f"{pypi}/")
    clock = now or (lambda: datetime.now(timezone.utc))
    previous = _previous(target)
    known = _known_tags()
    packages: dict[str, dict[str, Any]] = {}
    failures: list[DoctorError] = []
    for package in PACKAGES:
        facts: dict[str, Any] = {}
        for source in SOURCES:
            try:
                if source == "github":
                    got = read_releases(client, api, package, known_tags=known.get(package,
                                                                                   frozenset()))
                else:
                    got = read_project(client, pypi, package)
            except IndexUpdateFailed as exc:
                failures.append(exc)
                if exc.code == "rate_limited" or not args.partial:
                    raise _failed(exc, failures) from None
                kept = (previous.get(package) or {}).get(source)
                if kept:
                    facts[source] = kept  # the last good record of this source, with its date
                continue
            facts[source] = {"fetched": _stamp(clock()), **got}
        packages[package] = facts
    doc = {"format": FORMAT, "schema": SCHEMA, "created": _stamp(clock()),
           "tool": f"mamba-doctor {__version__}", "packages": packages}
    write_overlay(target, doc)
    summary = summarize(doc, known)
    summary.update(path=str(target), requests=client.requests_made,
                   failed=[{"code": e.code, "message": e.message} for e in failures])
    return summary


def export_overlay(dest: Path) -> dict[str, Any]:
    """Copy the cached overlay to `dest` (a file, or a folder to put overlay.json in)."""
    source = default_overlay_path()
    try:
        overlay = read_overlay(source)
    except OverlayError as exc:
        raise UsageError(f"no index overlay to export ({exc})",
                         hint="Run `mamba-doctor index update` on this machine first.") from None
    dest = Path(dest).expanduser()
    if dest.is_dir():
        dest = dest / source.name
    write_overlay(dest, json.loads(source.read_text(encoding="utf-8")))
    return {"path": str(dest), "created": overlay.created, "fetched": overlay.newest_fetch()}


def write_overlay(path: Path, doc: Mapping[str, Any]) -> None:
    """Check `doc`, then replace `path` atomically: a reader sees the old file or the new one."""
    parse_overlay(doc)  # never write what the loader would refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    with file_lock(path.with_name(path.name + ".lock"), what="writing the index overlay"):
        atomic_write_text(path, text)


def summarize(doc: Mapping[str, Any], known: Mapping[str, frozenset]) -> dict[str, Any]:
    """Per package: releases and assets read, new tags, digests, PyPI versions."""
    out: dict[str, Any] = {"created": doc["created"], "packages": {}}
    for package, facts in doc["packages"].items():
        gh, pypi = facts.get("github") or {}, facts.get("pypi") or {}
        rels = gh.get("releases") or []
        assets = [a for r in rels for a in r["assets"] if a["name"].endswith(".whl")]
        out["packages"][package] = {
            "github_fetched": gh.get("fetched"), "pypi_fetched": pypi.get("fetched"),
            "releases": len(rels),
            "new_tags": sorted(r["tag"] for r in rels if r["tag"] not in known.get(package, ())),
            "wheel_assets": len(assets),
            "with_sha256": sum(1 for a in assets if a.get("sha256")),
            "pypi_versions": len(pypi.get("versions") or {}),
        }
    return out


def _import(source: Path, target: Path, *, force: bool) -> dict[str, Any]:
    try:
        incoming = read_overlay(source)
    except OverlayError as exc:
        raise UsageError(f"--from {source}: {exc}",
                         hint="Give a file written by `mamba-doctor index export`.") from None
    current = None
    with contextlib.suppress(OverlayError):
        current = read_overlay(target)
    if current is not None and incoming.newest_fetch() < current.newest_fetch() and not force:
        raise UsageError(f"--from {source} was read on {incoming.newest_fetch()}, before the "
                         f"cached overlay ({current.newest_fetch()})",
                         hint="Add --force to replace the newer one anyway.")
    doc = json.loads(source.read_text(encoding="utf-8"))
    write_overlay(target, doc)
    summary = summarize(doc, _known_tags())
    summary.update(path=str(target), imported_from=str(source), requests=0, failed=[])
    return summary


def _previous(target: Path) -> dict[str, Any]:
    try:
        read_overlay(target)
        return json.loads(target.read_text(encoding="utf-8")).get("packages") or {}
    except (OverlayError, OSError, ValueError):
        return {}


def _known_tags() -> dict[str, frozenset]:
    from mamba_doctor.wheels.index import load_index

    index = load_index(overlay=False)
    return {p: frozenset(r.tag for r in index.for_package(p)) for p in PACKAGES}


def _failed(exc: IndexUpdateFailed, failures: Sequence[DoctorError]) -> IndexUpdateFailed:
    hint = exc.hint or ""
    if "unchanged" not in hint:
        hint = (hint + " " if hint else "") + "The previous index is unchanged."
    return type(exc)(exc.message, hint=hint,
                     data={**exc.data, "written": False,
                           "failed": [{"code": e.code, "message": e.message} for e in failures]})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def index_status(today: Optional[Any] = None) -> dict[str, Any]:
    """What the resolver reads now: the bundled index, the overlay over it, their dates."""
    from mamba_doctor.wheels.freshness import freshness
    from mamba_doctor.wheels.index import load_index

    index = load_index()
    day = today or datetime.now(timezone.utc).date()
    fresh = freshness(index, today=day)
    overlay = index.overlay
    sources = {}
    if overlay is not None:
        for package, facts in overlay.packages.items():
            sources[package] = {s: getattr(facts, s).fetched if getattr(facts, s) else None
                                for s in SOURCES}
    return {"freshness": fresh.to_dict(), "bundled_as_of": dict(index.as_of),
            "overlay_path": str(default_overlay_path()),
            "overlay_created": overlay.created if overlay is not None else None,
            "sources": sources,
            "releases": {p: len(index.for_package(p)) for p in PACKAGES},
            "newest": {p: index.for_package(p)[0].tag for p in PACKAGES}}
