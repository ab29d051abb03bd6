"""Views of `install`: a stderr line per finished step, a live "compiling X (elapsed)" line, the
final table, and on failure the way back (offered to a person at a terminal)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.errors import DoctorError
    from mamba_doctor.install.build import BuildProgress
    from mamba_doctor.install.pipeline import InstallReport
    from mamba_doctor.install.steps import Step
    from mamba_doctor.models import CheckResult
    from mamba_doctor.probe.interpreter import Target

logger = logging.getLogger(__name__)

_MARK = {"ok": "[green]ok[/]", "failed": "[red]failed[/]", "planned": "[cyan]planned[/]",
         "cached": "[green]cached[/]", "skipped": "[yellow]skipped[/]"}


def print_step(console: Console, step: Step) -> None:
    """One logical line per finished step (soft-wrapped: paths in the detail copy whole)."""
    from rich.markup import escape

    detail = f" - {escape(step.detail)}" if step.detail else ""
    console.print(f"{_MARK.get(step.status, step.status)} {step.name} "
                  f"({step.duration_s:.1f}s){detail}", soft_wrap=True)


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


def render_blockers(console: Console, rows: Sequence[CheckResult]) -> None:
    """check's blocking rows that an install does not fix, with check's hints, before the
    install starts (mamba_doctor/install/precheck.py says why it goes on)."""
    from rich.markup import escape

    from mamba_doctor.ui import print_items

    if not rows:
        return
    console.print("[yellow]check:[/] installing will not fix "
                  + escape(", ".join(f"{c.id} ({c.summary})" for c in rows))
                  + "; the kernels will not run here until it is fixed:")
    print_items(console, list(dict.fromkeys(c.hint for c in rows if c.hint)))


def render_report(console: Console, report: InstallReport) -> None:
    """The steps as a table and, after a real run, what changed and the way back."""
    from rich.markup import escape

    from mamba_doctor.ui import panel, print_whole

    render_steps(console, report.steps, dry_run=report.dry_run)
    if report.dry_run:
        return
    lines = [escape(f"{k}: {report.previous.get(k) or '(absent)'} -> {v or '(absent)'}")
             for k, v in sorted(report.installed.items())]
    lines.append(escape(f"torch kept at {report.pins.get('torch')}"))
    console.print(panel("\n".join(lines), title="installed", style="green"))
    if report.restore:
        console.print("[bold]The way back:[/]")
        for line in report.restore:
            print_whole(console, line, indent=2)


def render_steps(console: Console, steps: list[dict[str, Any]], *, dry_run: bool) -> None:
    """The step table (step, status, time, detail), then every step's command whole on its own
    line under a `# step` comment: the table never holds a command (mamba_doctor/ui.py)."""
    from rich.markup import escape

    from mamba_doctor.ui import print_whole, table

    out = table(title="install" + (" (dry run: nothing changed)" if dry_run else ""))
    for col in ("step", "status", "time"):
        out.add_column(col, no_wrap=True)
    out.add_column("detail")
    for s in steps:
        out.add_row(escape(s["name"]), escape(s["status"]), f"{s['duration']:.1f}s",
                    escape(s["detail"] or ("command below" if s["command"] else "")))
    console.print(out)
    shown = [s for s in steps if s["command"]]
    if shown:
        console.print("[bold]commands it would run:[/]" if dry_run else "[bold]commands run:[/]")
    for s in shown:
        print_whole(console, f"# {s['name']} ({s['status']})", style="dim")
        print_whole(console, s["command"])


def render_failure(console: Console, *, exc: DoctorError, target: Target) -> None:
    """After a failed install, as `check` shows a failure: the step table, the diagnosis of
    the failed import with its fixes, the way back, and for a person at a terminal the offer
    to run it."""
    import shlex
    import sys

    import typer
    from rich.markup import escape

    from mamba_doctor.ui import print_items, print_whole

    if exc.data.get("steps"):
        render_steps(console, list(exc.data["steps"]), dry_run=bool(exc.data.get("dry_run")))
    found = list(exc.data.get("diagnosis") or [])
    if found:  # the best match with its fixes; the others by name
        best = found[0]
        console.print(f"[bold]diagnosis:[/] {escape(str(best.get('title', '')))}: "
                      f"{escape(str(best.get('cause', '')))}")
        print_items(console, [str(f) for f in best.get("fix") or []], bullet="fix:")
        for other in found[1:]:
            console.print(f"[dim]also possible: {escape(str(other.get('title', '')))}[/]")
    commands = [str(c) for c in exc.data.get("restore", [])]
    if not commands:
        return
    console.print("[bold]The way back:[/]")
    for line in commands:
        print_whole(console, line, indent=2)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return
    if not typer.confirm("Run it now?", default=False, err=True):
        return
    for line in commands:
        done = target.run(shlex.split(line), timeout=1800)
        console.print(("restored: " if done.ok else "failed: ") + line, markup=False)
