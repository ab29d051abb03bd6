"""stderr views for `install`: a line per finished step, a live "compiling X (elapsed)" line."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.install.build import BuildProgress
    from mamba_doctor.install.steps import Step

logger = logging.getLogger(__name__)

_MARK = {"ok": "[green]ok[/]", "failed": "[red]failed[/]", "planned": "[cyan]planned[/]",
         "cached": "[green]cached[/]", "skipped": "[yellow]skipped[/]"}


def print_step(console: Console, step: Step) -> None:
    from rich.markup import escape

    detail = f" - {escape(step.detail)}" if step.detail else ""
    console.print(f"{_MARK.get(step.status, step.status)} {step.name} "
                  f"({step.duration_s:.1f}s){detail}")


def format_build_status(package: str, elapsed: float, done: Optional[int], total: Optional[int],
                        unit: Optional[str]) -> str:
    """`building mamba_ssm  12:34  [3/10] selective_scan_fwd_fp16.cu`."""
    minutes, seconds = divmod(int(elapsed), 60)
    count = f"[{done}/{total}] " if done is not None and total else ""
    return f"building {package}  {minutes:02d}:{seconds:02d}  {count}{unit or 'preparing'}"


class BuildView:
    """A rich status line while the build runs (TTY only); otherwise a log line per new unit."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self._console = console
        self._live = live
        self._status: Any = None
        self._last: tuple[Optional[int], Optional[str]] = (None, None)
        self._unit: Optional[str] = None
        self._counts: tuple[Optional[int], Optional[int]] = (None, None)

    def update(self, package: str, elapsed: float, progress: Optional[BuildProgress],
               _line: str) -> None:
        if progress is not None:
            self._unit = progress.unit or self._unit
            if progress.done is not None:
                self._counts = (progress.done, progress.total)
        text = format_build_status(package, elapsed, *self._counts, self._unit)
        if self._live:
            if self._status is None:
                self._status = self._console.status(text)
                self._status.start()
            else:
                self._status.update(text)
        elif (self._counts[0], self._unit) != self._last:
            self._last = (self._counts[0], self._unit)
            logger.info("%s", text)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
