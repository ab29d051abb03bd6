"""The `.part` file's sidecar and the pure rules of resuming: Content-Range, headers, backoff."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from mamba_doctor.download.files import remove, write_text_atomic

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d{1,19})-(\d{1,19})|\*)/(\d{1,19}|\*)\s*$",
                            re.IGNORECASE | re.ASCII)
_MAX_SIDECAR = 64 << 10  # a real one is a few hundred bytes


@dataclass(frozen=True)
class ContentRange:
    """A parsed `Content-Range`; start/end are None in the `bytes */N` form of a 416."""

    start: Optional[int]
    end: Optional[int]
    total: Optional[int]


@dataclass(frozen=True)
class PartState:
    """The sidecar next to a `.part` file: where its bytes came from, what they should add to."""

    url: str
    validator: Optional[str] = None  # a strong ETag, else Last-Modified: sent back as If-Range
    size: Optional[int] = None  # the full size, when the server said it
    resumable: bool = True  # False when the body was content-encoded (ranges would not line up)


def parse_content_range(header: Optional[str]) -> Optional[ContentRange]:
    """Parse `bytes 100-199/1000`, `bytes 100-199/*` or `bytes */1000`; None if malformed."""
    match = _CONTENT_RANGE.match(header or "")
    if not match:
        return None
    start, end, total = match.groups()
    if start is not None and int(end) < int(start):
        return None
    return ContentRange(
        start=None if start is None else int(start),
        end=None if end is None else int(end),
        total=None if total == "*" else int(total),
    )


def plan_headers(have: int, state: Optional[PartState]) -> dict[str, str]:
    """Request headers for an attempt that already has `have` bytes on disk."""
    headers = {"Accept-Encoding": "identity"}  # a gzipped body cannot be resumed by byte range
    if have > 0:
        headers["Range"] = f"bytes={have}-"
        if state is not None and state.validator:
            headers["If-Range"] = state.validator
    return headers


def backoff_delay(failures: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter: uniform in [0.5, 1] x min(cap, base * 2^(failures-1))."""
    ceiling = min(cap, base * float(2 ** max(0, failures - 1)))
    return ceiling * (0.5 + rng() / 2)


def sidecar_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def load_state(part: Path) -> Optional[PartState]:
    """The sidecar's state, or None when it is missing, unreadable or not what save_state
    writes (wrong types included: a validator that is a number would be sent as If-Range and
    fail every run the same way)."""
    path = sidecar_path(part)
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SIDECAR:
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state_from_json(raw)


def state_from_json(raw: Any) -> Optional[PartState]:
    if not isinstance(raw, dict):
        return None
    url, validator = raw.get("url"), raw.get("validator")
    size, resumable = raw.get("size"), raw.get("resumable", True)
    if not isinstance(url, str) or not url:
        return None
    if validator is not None and not (isinstance(validator, str) and _header_safe(validator)):
        return None
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        return None
    if not isinstance(resumable, bool):
        return None
    return PartState(url=url, validator=validator, size=size, resumable=resumable)


def _header_safe(value: str) -> bool:
    """Printable ASCII only: anything else cannot go into an If-Range header."""
    return 0 < len(value) <= 1024 and all(" " <= c <= "~" for c in value)


def save_state(part: Path, state: PartState) -> None:
    """Write the sidecar atomically (a full disk raises DiskFull and leaves no `.tmp`)."""
    write_text_atomic(sidecar_path(part), json.dumps(asdict(state)))


def discard_part(part: Path) -> None:
    for path in (part, sidecar_path(part)):
        remove(path)
