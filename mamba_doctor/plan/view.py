"""Human view of a plan: the machine, each choice with its reason, the recipes; or the block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mamba_doctor.plan.make import Plan
from mamba_doctor.plan.model import Stack

if TYPE_CHECKING:
    from rich.console import Console


def render_plan(console: Console, plan: Plan) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    m = plan.machine
    gpus = ", ".join(f"{n} (sm_{sm})" for n, sm in m.gpus) or "none known"
    ceiling = f"CUDA {m.ceiling[0]}.{m.ceiling[1]}" if m.ceiling else "not known"
    console.print(f"[bold]Machine:[/] {escape(str(m.env.os.arch or '?'))}, glibc "
                  f"{escape(str(m.env.os.glibc or '?'))}, driver {escape(str(m.driver or '?'))} "
                  f"({ceiling}), GPUs: {escape(gpus)}")
    result = plan.result
    if not isinstance(result, Stack):
        body = [escape(result.reason), ""] + [f"• {escape(w)}" for w in result.what_works]
        console.print(Panel("\n".join(body), title="no prebuilt stack", border_style="red"))
        return
    table = Table(title="The newest fully prebuilt stack", title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    for col in ("", "choice", "why"):
        table.add_column(col, overflow="fold")
    for c in result.choices:
        table.add_row(c.what, escape(c.value), escape(c.why))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for how, lines in plan.recipes.items():
        title = {"conda": "with conda", "venv": "with python -m venv + pip",
                 "uv": "with uv"}[how]
        console.print(f"\n[bold]Create it {title}:[/]")
        for line in lines:
            console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    for path in plan.written:
        console.print(f"[green]wrote[/] {escape(path)}")
    console.print(f"\n[dim]Building from source without root: conda install -c nvidia "
                  f"cuda-nvcc={result.cuda} (torch's CUDA), then mamba-doctor install "
                  "--from-source.[/]")
