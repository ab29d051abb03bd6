"""Human view of a CheckReport: facts table, checks table, verdict panel; on a given Console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from mamba_doctor.check.packages import error_line
from mamba_doctor.check.report import CheckReport
from mamba_doctor.models import CheckStatus, Environment

if TYPE_CHECKING:  # rich is imported lazily, when something is drawn
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

_MARKS = {
    CheckStatus.OK: "[green]ok[/]",
    CheckStatus.WARN: "[yellow]warn[/]",
    CheckStatus.FAIL: "[bold red]FAIL[/]",
    CheckStatus.SKIP: "[dim]skip[/]",
}


def render_check(console: Console, report: CheckReport) -> None:
    """Print the report; writes nothing but to `console`."""
    console.print(facts_table(report.environment))
    console.print(checks_table(report))
    if report.resolution:
        console.print(wheels_table(report.resolution))
    if report.index:
        from rich.markup import escape

        console.print(f"[dim]{escape(report.index['line'])}[/]")
    console.print(verdict_panel(report))


def wheels_table(resolution: Mapping[str, Any]) -> Table:
    """One row per package: the prebuilt wheel that fits, or the first reason none does."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Prebuilt wheels for this machine", title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    table.add_column("package", style="bold")
    table.add_column("wheel (mamba-doctor fetch-wheel --dry-run for details)", overflow="fold")
    for res in resolution.get("resolutions", ()):
        if res.get("filename"):
            text = escape(res["filename"]) + ("" if res.get("exact") else " [dim](best guess)[/]")
        else:
            reasons = res.get("notes") or [r.get("message", "") for r in res.get("rejected", [])]
            text = "[red]none fits[/]" + (f": {escape(reasons[0])}" if reasons else "")
        table.add_row(escape(str(res.get("package"))), text)
    return table


def facts_table(env: Environment) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Environment", show_header=False, title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column()
    for key, value in facts(env):
        table.add_row(key, escape(value))
    return table


def facts(env: Environment) -> list[tuple[str, str]]:
    """The headline facts as (label, text) rows; unknown facts say why."""
    o, nv, tk, py, t = env.os, env.nvidia, env.cuda_toolkit, env.python, env.torch
    rows = [
        ("OS", _join(o.distro, o.arch, f"glibc {o.glibc}" if o.glibc else None,
                     f"GLIBCXX {o.glibcxx}" if o.glibcxx else None, "WSL2" if o.wsl else None,
                     o.container)),
        ("Python", _join(py.version, py.abi_tag, py.executable,
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
    rows.append(("CUDA toolkit", _join(f"nvcc {tk.nvcc_version}" if tk.nvcc_version else
                                       "no nvcc", tk.cuda_home)))
    for name in ("mamba_ssm", "causal_conv1d", "triton"):
        info = env.packages.get(name)
        rows.append((name, info.version if info and info.version else "not installed"))
    return rows


def checks_table(report: CheckReport) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Checks", title_justify="left", expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result and next step", overflow="fold")
    for c in report.checks:
        text = escape(c.summary)
        if c.hint and c.status in (CheckStatus.FAIL, CheckStatus.WARN):
            text += f"\n[cyan]-> {escape(c.hint)}[/]"
        table.add_row(_MARKS[c.status], c.id, text)
    return table


def verdict_panel(report: CheckReport) -> Panel:
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel

    from mamba_doctor.ui import hanging_list

    if report.verdict == "fail":
        ids = ", ".join(c.id for c in report.blocking)
        head = f"[bold red]Mamba cannot run here yet[/] (blocking: {escape(ids)})"
        style = "red"
    elif report.verdict == "warn":
        head, style = "[bold yellow]Mamba can run here, with warnings above[/]", "yellow"
    else:
        head, style = "[bold green]All checks passed[/]", "green"
    steps = hanging_list([escape(step) for step in report.next_steps])
    lines: list[str] = []
    shown: set[str] = set()
    for name, text in report.import_errors.items():
        found = report.diagnoses.get(name) or ()
        title = str(found[0].get("title") or "") if found else ""
        lines.append(f"[bold]{escape(name)}:[/] {escape(title or error_line(text))}")
        fixes = list(found[0].get("fix") or ()) if found else []
        if fixes and str(fixes[0]) not in shown:  # mamba_ssm often fails for the same reason
            shown.add(str(fixes[0]))
            lines.append(f"  fix: {escape(str(fixes[0]))}")
    body = Group(head, "", "[bold]Next:[/]", steps, *lines)
    return Panel(body, title="Verdict", border_style=style, expand=False)


def _join(*parts: Optional[str]) -> str:
    return ", ".join(p for p in parts if p) or "unknown"
