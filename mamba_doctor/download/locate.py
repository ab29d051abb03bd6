"""Where a wheel would come from, found WITHOUT writing anything: for `install --dry-run`.

The same order as fetch.fetch_files (a verified cache copy, then a --find-links copy that
verifies, else the network), but nothing is removed, copied or recorded: a copy that does not
verify is merely not used, as the real run would not use it either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from mamba_doctor._files import sha256_file
from mamba_doctor.download.announce import source_name
from mamba_doctor.download.fetch import WHEELS_SUBDIR, FetchRequest, _read_digests
from mamba_doctor.download.integrity import verify_wheel_file
from mamba_doctor.download.mirrors import candidate_urls
from mamba_doctor.download.redact import redact_url
from mamba_doctor.errors import DownloadError

INDEX_SHA = "sha256 from the wheel index"
RECORD_ONLY = ("no sha256 is published for it: checked against its own RECORD (each member's "
               "hash and size), METADATA and WHEEL tags")


@dataclass(frozen=True)
class Located:
    """Where the real run will take one file from, and how it is (or will be) verified."""

    origin: str  # cache | find-links | download
    available: Optional[Path]  # a verified copy there now (None: it must be downloaded)
    final: Path  # where the real run will have it: <cache>/wheels/<filename>
    detail: str  # one sentence for the plan


def verification(req: FetchRequest) -> str:
    """How a file is verified: never "sha256-checked" where no sha256 is published."""
    return INDEX_SHA if req.sha256 else RECORD_ONLY


def locate(req: FetchRequest, *, cache_dir: Path, find_links: Sequence[Path] = (),
           mirrors: Sequence[str] = ()) -> Located:
    """Find `req` as fetch_files would, reading only."""
    wheels = Path(cache_dir) / WHEELS_SUBDIR
    final = wheels / req.filename
    how = verification(req)
    if _cache_copy_verifies(wheels, req):
        return Located("cache", final, final, f"already in the cache ({final}); verified again "
                       f"before use ({how})")
    for folder in find_links:
        local = Path(folder).expanduser() / req.filename
        if _verifies(local, req):
            return Located("find-links", local, final, f"from --find-links ({local}), copied "
                           f"into {wheels}; {how}")
    urls = candidate_urls(req.url, req.filename, mirrors)
    where = ", then ".join(source_name(redact_url(u), redact_url(req.url)) for u in urls)
    return Located("download", None, final, f"downloaded from {where} into {wheels}; {how}")


def _cache_copy_verifies(wheels: Path, req: FetchRequest) -> bool:
    final = wheels / req.filename
    if not final.is_file():
        return False
    try:
        actual = sha256_file(final)
    except OSError:
        return False
    if req.sha256:
        return actual == req.sha256.lower()
    recorded = (_read_digests(wheels).get(req.filename) or {}).get("sha256")
    return actual == recorded if recorded else _verifies(final, req)


def _verifies(path: Path, req: FetchRequest) -> bool:
    if not path.is_file():
        return False
    try:
        verify_wheel_file(path, expected_filename=req.filename, sha256=req.sha256)
    except (DownloadError, OSError):
        return False
    return True
