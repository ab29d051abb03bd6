"""Human view of a CheckReport: facts, checks, wheels, the verdict and the next steps.

Follows the rendering rule in mamba_doctor/ui.py: tables and the verdict box hold prose; paths and
commands follow them whole, each on a line of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from mamba_doctor.check.packages import error_line
from mamba_doctor.check.report import CheckReport
from mamba_doctor.models import CheckStatus, Environment

if TYPE_CHECKING:  # rich is imported lazily, when something is drawn
    from rich.console import Console, RenderableType
    from rich.table import Table

    from mamba_doctor.ui import CommandRefs

_MARKS = {
    CheckStatus.OK: "[green]ok[/]",
    CheckStatus.WARN: "[yellow]warn[/]",
    CheckStatus.FAIL: "[bold red]FAIL[/]",
    CheckStatus.SKIP: "[dim]skip[/]",
}


def render_check(console: Console, report: CheckReport) -> None:
    """Print the report; writes nothing but to `console`."""
    from mamba_doctor.ui import CommandRefs, print_items, print_labelled

    env = report.environment
    console.print(facts_table(env))
    paths = fact_paths(env)
    if paths:
        print_labelled(console, paths)
    console.print()
    refs = CommandRefs()
    console.print(checks_table(report, refs))
    refs.print(console)
    if report.resolution:
        console.print()
        render_wheels(console, report.resolution)
    if report.index:
        from rich.markup import escape

        from mamba_doctor.ui import print_whole, split_commands

        prose, commands = split_commands(report.index["line"])
        console.print(f"[dim]{escape(prose)}[/]")
        for command in commands:
            print_whole(console, command, indent=2)
    console.print()
    console.print(verdict_panel(report))
    console.print("[bold]Next:[/]")
    print_items(console, next_items(report))


def render_wheels(console: Console, resolution: Mapping[str, Any]) -> None:
    """One row per package: the prebuilt wheel that fits (its file name whole, on its line), or
    the first reason none does (prose, wrapped under itself)."""
    from rich.markup import escape
    from rich.table import Table

    from mamba_doctor.ui import print_whole

    console.print("[bold]Prebuilt wheels for this machine[/]")
    rows = list(resolution.get("resolutions", ()))
    width = max((len(str(r.get("package"))) for r in rows), default=0)
    for res in rows:
        name = str(res.get("package")).ljust(width)
        if res.get("filename"):
            guess = "" if res.get("exact") else "  (best guess)"
            print_whole(console, f"{name}  {res['filename']}{guess}", indent=2)
            continue
        reasons = res.get("notes") or [r.get("message", "") for r in res.get("rejected", [])]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column()
        grid.add_row("  " + escape(name), "[red]none fits[/]"
                     + (f": {escape(str(reasons[0]))}" if reasons else ""))
        console.print(grid)
    console.print("  details:", end=" ")
    print_whole(console, "mamba-doctor fetch-wheel --dry-run")


def facts_table(env: Environment) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Environment", show_header=False, title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in facts(env):
        table.add_row(key, escape(value))
    return table


def facts(env: Environment) -> list[tuple[str, str]]:
    """The headline facts as (label, text) rows; unknown facts say why. Paths are left to
    `fact_paths`, which prints them whole."""
    o, nv, tk, py, t = env.os, env.nvidia, env.cuda_toolkit, env.python, env.torch
    rows = [
        ("OS", _join(o.distro, o.arch, f"glibc {o.glibc}" if o.glibc else None,
                     f"GLIBCXX {o.glibcxx}" if o.glibcxx else None, "WSL2" if o.wsl else None,
                     o.container)),
        ("Python", _join(py.version, py.abi_tag,
                         "venv" if py.is_venv else ("conda" if py.conda_prefix else None),
                         f"pip {py.pip_version}" if py.pip_version else None)),
    ]
    if t.installed is False:
        rows.append(("torch", "not installed"))
    else:
        cuda = f"CUDA {t.cuda}" if t.cuda else (f"HIP {t.hip}" if t.hip else "CPU-only")
        abi = None if t.cxx11abi is None else f"cxx11abi={t.cxx11abi}"
        avail = None if t.cuda_available is None else f"cuda available={t.cuda_available}"
        rows.append(("torch", _join(t.version, cuda, abi, avail,
                                    "import failed" if "import" in t.reasons else None)))
    driver = (_join(nv.driver_version, f"CUDA <= {nv.cuda_driver_version}"
                    if nv.cuda_driver_version else None) if nv.driver_version
              else "none found")
    rows.append(("NVIDIA driver", driver))
    for g in nv.gpus:
        mem = f"{g.memory_mib // 1024} GiB" if g.memory_mib else None
        hidden = "hidden by CUDA_VISIBLE_DEVICES" if g.visible is False else None
        rows.append((f"GPU {g.index}", _join(g.name, f"sm_{g.sm}" if g.sm else None, mem,
                                              hidden)))
    rows.append(("CUDA toolkit", f"nvcc {tk.nvcc_version}" if tk.nvcc_version else "no nvcc"))
    for name in ("mamba_ssm", "causal_conv1d", "triton"):
        info = env.packages.get(name)
        rows.append((name, info.version if info and info.version else "not installed"))
    return rows


def fact_paths(env: Environment) -> list[tuple[str, str]]:
    """The paths behind the facts, to print whole under the table."""
    rows = [("python", env.python.executable), ("CUDA home", env.cuda_toolkit.cuda_home)]
    return [(label, path) for label, path in rows if path]


def checks_table(report: CheckReport, refs: Optional[CommandRefs] = None) -> Table:
    """The verdict rows. A hint that is one of the next steps says so; any other hint's commands
    and long paths become [n] marks, printed whole after the table by `refs`."""
    from rich.markup import escape

    from mamba_doctor.ui import CommandRefs, table

    refs = refs if refs is not None else CommandRefs()
    steps = list(report.next_steps)
    out = table(title="Checks", expand=False)
    out.add_column("status", no_wrap=True)
    out.add_column("check", no_wrap=True)
    out.add_column("result and next step")
    for c in report.checks:
        text = refs.cite(c.summary, c.id, paths=True)
        if c.hint and c.status in (CheckStatus.FAIL, CheckStatus.WARN):
            pointer = (f"see Next, step {steps.index(c.hint) + 1}" if c.hint in steps
                       else refs.cite(c.hint, c.id))
            text += f"\n[cyan]-> {pointer}[/]"
        out.add_row(_MARKS[c.status], escape(c.id), text)
    return out


def verdict_panel(report: CheckReport) -> RenderableType:
    """The verdict in a box: what blocks, and which import failed for which known reason."""
    from rich.console import Group
    from rich.markup import escape

    from mamba_doctor.ui import panel

    if report.verdict == "fail":
        ids = ", ".join(c.id for c in report.blocking)
        head = f"[bold red]Mamba cannot run here yet[/] (blocking: {escape(ids)})"
        style = "red"
    elif report.verdict == "warn":
        head, style = "[bold yellow]Mamba can run here, with warnings above[/]", "yellow"
    else:
        head, style = "[bold green]All checks passed[/]", "green"
    lines = [head]
    for name, text in report.import_errors.items():
        found = report.diagnoses.get(name) or ()
        title = str(found[0].get("title") or "") if found else ""
        lines.append(f"[bold]{escape(name)}:[/] {escape(title or error_line(text))}")
    return panel(Group(*lines), title="Verdict", style=style)


def next_items(report: CheckReport) -> list[str]:
    """The next steps, then the first fix of each failed import (once: mamba_ssm often fails
    for the same reason as its extension)."""
    items = list(report.next_steps)
    seen = set(items)
    for name in report.import_errors:
        found = report.diagnoses.get(name) or ()
        fixes = [str(f) for f in found[0].get("fix") or ()] if found else []
        if fixes and fixes[0] not in seen:
            seen.add(fixes[0])
            items.append(f"{name}: {fixes[0]}")
    return items


def _join(*parts: Optional[str]) -> str:
    return ", ".join(p for p in parts if p) or "unknown"
