"""The --json envelope every command emits, and the two consoles (stdout result, stderr chatter)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from mamba_doctor.errors import DoctorError, ExitCode

SCHEMA_VERSION = "1"

if False:  # pragma: no cover  # typing only; rich is imported lazily to keep start-up fast
    from rich.console import Console
    from rich.table import Table


@dataclass
class Outcome:
    """What a command body returns to the CLI shell.

    `render` draws the human view on the stdout console; `data` is the JSON view. A non-zero
    `exit_code` with no exception is a finding (e.g. `check` found a blocking problem).
    """

    data: dict[str, Any] = field(default_factory=dict)
    exit_code: ExitCode = ExitCode.OK
    errors: list[dict[str, Optional[str]]] = field(default_factory=list)
    render: Optional[Callable[[Console], None]] = None


def error_entry(code: str, message: str, hint: Optional[str] = None) -> dict[str, Optional[str]]:
    return {"code": code, "message": message, "hint": hint}


def error_from_exception(exc: DoctorError) -> dict[str, Optional[str]]:
    return error_entry(exc.code, exc.message, exc.hint)


def envelope(
    command: str,
    *,
    exit_code: int,
    data: Mapping[str, Any],
    errors: Sequence[Mapping[str, Optional[str]]] = (),
) -> dict[str, Any]:
    """Build the versioned document; `status` is derived from the exit code and errors."""
    if exit_code == ExitCode.OK:
        status = "partial" if errors else "success"
    else:
        status = "error"
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        "data": dict(data),
        "errors": [dict(e) for e in errors],
    }


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=_default)


def write_json(doc: Mapping[str, Any]) -> None:
    # Plain write, not rich.print_json: no colour codes in machine output, even on a TTY.
    sys.stdout.write(dumps(doc) + "\n")
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "value"):  # enums
        return obj.value
    return str(obj)


_consoles: dict[bool, Console] = {}


def stdout_console() -> Console:
    return _console(stderr=False)


def stderr_console() -> Console:
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    # Not cached across CliRunner invocations: rich binds the stream at construction time when
    # `file` is given, so we let it resolve sys.stdout/sys.stderr itself each time.
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def progress_enabled(*, json_mode: bool) -> bool:
    """Progress bars only for a human watching a terminal."""
    return not json_mode and sys.stderr.isatty()


def hanging_list(items: Sequence[str], *, bullet: Optional[str] = None) -> Table:
    """Items (rich markup) as "  1. text" rows whose wrapped lines stay indented under the text,
    which a joined string cannot do. `bullet` replaces the numbers (e.g. "•")."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for i, item in enumerate(items, 1):
        grid.add_row(f"  {bullet or f'{i}.'}", item)
    return grid
