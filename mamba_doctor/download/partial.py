"""The `.part` file's sidecar and the pure rules of resuming: Content-Range, headers, backoff."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from mamba_doctor._files import atomic_write_text

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)


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
    try:
        raw = json.loads(sidecar_path(part).read_text(encoding="utf-8"))
        return PartState(**{k: raw[k] for k in ("url", "validator", "size", "resumable")})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_state(part: Path, state: PartState) -> None:
    atomic_write_text(sidecar_path(part), json.dumps(asdict(state)))


def discard_part(part: Path) -> None:
    for path in (part, sidecar_path(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
