"""Human view of `mamba-doctor envs`: one row per environment, on a given Console."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Sequence

from mamba_doctor.advice.envs import EnvFit, describe_torch

if TYPE_CHECKING:  # rich is imported lazily, when something is drawn
    from rich.console import Console
    from rich.table import Table


def envs_table(fits: Sequence[EnvFit], *, title: str = "Python environments") -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, padding=(0, 2, 0, 0))
    for name in ("environment", "Python", "torch", "prebuilt Mamba pair"):
        table.add_column(name, overflow="fold")
    for fit in fits:
        loc = fit.facts.location
        mark = {True: "[green]fits[/]: ", False: "[red]no[/]: ", None: "[yellow]?[/] "}[fit.fits]
        where = f"{escape(short_path(loc.prefix))}\n[dim]{escape(loc.found_by)}[/]"
        table.add_row(where, escape(fit.facts.python.version or "?"),
                      escape(describe_torch(fit.facts)), mark + escape(fit.why))
    return table


def render_envs(console: Console, fits: Sequence[EnvFit]) -> None:
    if not fits:
        console.print("No Python environments found (conda/mamba/micromamba envs, .venv or venv "
                      "here, $WORKON_HOME). Create one: mamba-doctor plan")
        return
    console.print(envs_table(fits))
    best = next((f for f in fits if f.fits), None)
    if best is not None:
        console.print(f"Next: mamba-doctor install --python "
                      f"{shlex.quote(best.facts.location.prefix)}")
    else:
        console.print("None of them can take a prebuilt pair as it is: "
                      "`mamba-doctor plan` gives a new environment that can.")


def short_path(path: str) -> str:
    """"./.venv" under the working directory, "~/..." under home, else as it is."""
    cwd, home = os.getcwd(), os.path.expanduser("~")
    if path.startswith(cwd + os.sep):
        return "." + path[len(cwd):]
    return "~" + path[len(home):] if home != "/" and path.startswith(home + os.sep) else path
