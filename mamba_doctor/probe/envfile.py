"""Read a machine description saved with `mamba-doctor check --json` (the --env FILE option)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment

SECTIONS = ("os", "nvidia", "cuda_toolkit", "python", "torch", "packages")
MAX_BYTES = 16 << 20  # `check --json` writes about 150 kB
HINT = "Save one on the target machine with: mamba-doctor check --json > env.json"


def read_env_file(path: Path, *, flag: str = "--env") -> Environment:
    """The Environment in `path` (a whole `check --json` envelope or its environment part).

    Raises UsageError (exit 2) when the file cannot be read, is not JSON, or describes nothing:
    an object without any environment section would silently resolve for "everything unknown".
    """
    try:
        with Path(path).expanduser().open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # bounded: `--env /dev/zero` must not eat the memory
        if len(raw) > MAX_BYTES:
            raise UsageError(f"{flag} {path}: over {MAX_BYTES >> 20} MiB, not a `check --json` "
                             "document", hint=HINT)
        text = raw.decode("utf-8-sig")
    except IsADirectoryError:
        raise UsageError(f"{flag} {path}: is a directory, not a file", hint=HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{flag} {path}: cannot read it ({why})", hint=HINT) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {path}: not JSON ({exc})", hint=HINT) from None
    if not any(key in SECTIONS for key in _environment_part(doc)):
        raise UsageError(f"{flag} {path}: no environment in it (expected some of: "
                         f"{', '.join(SECTIONS)})", hint=HINT)
    try:
        return Environment.from_dict(doc)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{flag} {path}: not an environment document ({exc})",
                         hint=HINT) from None


def _environment_part(doc: object) -> Mapping[str, object]:
    """The mapping Environment.from_dict reads: it unwraps the envelope and its `environment`."""
    if not isinstance(doc, Mapping):
        return {}
    inner = doc.get("data")
    if isinstance(inner, Mapping):
        doc = inner
    env = doc.get("environment")
    return env if isinstance(env, Mapping) else doc
