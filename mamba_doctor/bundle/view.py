"""Human view of a bundle: its files, by role, and the line to run on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mamba_doctor.bundle.make import BundleReport

if TYPE_CHECKING:
    from rich.console import Console


def render_bundle(console: Console, report: BundleReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"bundle in {report.dest}", title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    for name in ("file", "MB", "role", "why"):
        table.add_column(name, overflow="fold")
    for e in report.entries:
        table.add_row(escape(e.file), f"{e.size / 1e6:.1f}", e.role, escape(e.why))
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    total = sum(e.size for e in report.entries) / 1e6
    console.print(f"{len(report.entries)} files, {total:.1f} MB; manifest.json and INSTALL.txt "
                  "written. Copy the folder to the server and run there:")
    console.print(f"  cd {escape(str(report.dest.name))} && {escape(report.install_command)}",
                  soft_wrap=True)
