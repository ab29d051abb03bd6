"""The rich download bar on stderr: bytes, speed, ETA and the offset a resume started from."""

from __future__ import annotations

from typing import Any, Optional


class RichProgress:
    """One download bar per file, kept across attempts; `stop()` once at the end."""

    def __init__(self, label: str, *, console: Any = None) -> None:
        self._label = label
        self._console = console
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: Optional[int], offset: int) -> None:
        """Show the bar (first attempt) or move it to where this attempt starts."""
        label = self._label
        if offset:
            label += f" (resumed at {offset / 2**20:.1f} MiB)"
        if self._progress is None:
            self._progress = self._make(total)
            self._progress.start()
            self._task = self._progress.add_task(label, total=total, completed=offset)
        else:
            self._progress.reset(self._task, total=total, completed=offset, description=label)

    def _make(self, total: Optional[int]) -> Any:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from mamba_doctor.ui import stderr_console

        # Without a length there is nothing to fill: a spinner says "still moving" instead.
        gauge = BarColumn() if total else SpinnerColumn()
        return Progress(
            TextColumn("{task.description}"), gauge, DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=self._console or stderr_console(), transient=False,
        )

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=n)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
