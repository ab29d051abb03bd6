"""Views of `install`: a stderr line per finished step, a live "compiling X (elapsed)" line, the
final table, and on failure the way back (offered to a person at a terminal)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.errors import DoctorError
    from mamba_doctor.install.build import BuildProgress
    from mamba_doctor.install.pipeline import InstallReport
    from mamba_doctor.install.steps import Step
    from mamba_doctor.probe.interpreter import Target

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


def render_report(console: Console, report: InstallReport) -> None:
    """The steps as a table and, after a real run, what changed and the way back."""
    from rich.panel import Panel

    render_steps(console, report.steps, dry_run=report.dry_run)
    if report.dry_run:
        return
    lines = [f"{k}: {report.previous.get(k) or '(absent)'} -> {v or '(absent)'}"
             for k, v in sorted(report.installed.items())]
    lines.append(f"torch kept at {report.pins.get('torch')}")
    if report.restore:
        lines.append("way back: " + " && ".join(report.restore))
    console.print(Panel("\n".join(lines), title="installed", border_style="green"))


def render_steps(console: Console, steps: list[dict[str, Any]], *, dry_run: bool) -> None:
    from rich.table import Table

    table = Table(title="install" + (" (dry run: nothing changed)" if dry_run else ""))
    for col in ("step", "status", "time"):
        table.add_column(col)
    # fold, not the default ellipsis: the commands must stay whole to be copied and rerun
    table.add_column("command / detail", overflow="fold")
    for s in steps:
        text = s["command"] or ""
        if s["detail"]:
            text = f"{text}\n{s['detail']}" if text else s["detail"]
        table.add_row(s["name"], s["status"], f"{s['duration']:.1f}s", text)
    console.print(table)
    if dry_run:
        planned = [s["command"] for s in steps
                   if s["status"] == "planned" and s["command"] and "<" not in s["command"]]
        if planned:  # once more outside the table, whole lines that copy and paste cleanly
            console.print("[bold]commands it would run:[/]")
            for line in planned:
                console.print(line, soft_wrap=True, markup=False, highlight=False)


def render_failure(console: Console, *, exc: DoctorError, target: Target) -> None:
    """After a failed install: the way back, and for a person at a terminal, the offer to run
    it (the steps were already shown one by one on stderr)."""
    import shlex
    import sys

    import typer
    from rich.markup import escape

    commands = [str(c) for c in exc.data.get("restore", [])]
    if not commands:
        return
    console.print("[bold]The way back:[/] " + escape(" && ".join(commands)), highlight=False)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return
    if not typer.confirm("Run it now?", default=False, err=True):
        return
    for line in commands:
        done = target.run(shlex.split(line), timeout=1800)
        console.print(("restored: " if done.ok else "failed: ") + line, markup=False)
