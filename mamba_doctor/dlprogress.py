"""The rich download bar on stderr: bytes, speed, ETA and the offset a resume started from."""

from __future__ import annotations

from typing import Any, Optional


class RichProgress:
    """A download bar for one file; each attempt starts a fresh bar at its offset."""

    def __init__(self, label: str, *, console: Any = None) -> None:
        self._label = label
        self._console = console
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: Optional[int], offset: int) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from mamba_doctor.output import stderr_console

        label = self._label
        if offset:
            label += f" (resumed at {offset / 2**20:.1f} MiB)"
        # Without a length there is nothing to fill: a spinner says "still moving" instead.
        gauge = BarColumn() if total else SpinnerColumn()
        self._progress = Progress(
            TextColumn("{task.description}"), gauge, DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=self._console or stderr_console(), transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=total, completed=offset)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=n)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
