"""The two consoles (stdout: the result, stderr: chatter and progress) and small render helpers."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, ContextManager, Optional, Sequence

if TYPE_CHECKING:  # rich is imported lazily to keep start-up fast
    from rich.console import Console
    from rich.table import Table


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


def status(text: str, *, json_mode: bool) -> ContextManager[object]:
    """A spinner on stderr while `text` runs, for a person at a terminal; nothing otherwise."""
    if not progress_enabled(json_mode=json_mode):
        return contextlib.nullcontext()
    return stderr_console().status(text)
