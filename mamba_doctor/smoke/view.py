"""Human view of a smoke report: environment panel, checks table, timings, diagnoses, op trace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow"}


def render_smoke(console: Console, data: dict[str, Any]) -> None:
    """Print the report to `console` (stdout); pure apart from that."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    env = data.get("environment") or {}
    lines = [f"target: {escape(str(data.get('target_python')))}"]
    if env.get("torch"):
        cc = env.get("compute_capability")
        gpu = f", GPU {env['gpu']} (sm {cc})" if env.get("gpu") else ""
        cuda = f"CUDA {env['torch_cuda']}" if env.get("torch_cuda") else "CPU-only build"
        lines.append(f"torch {env['torch']} ({cuda}){escape(gpu)}")
        pk = env.get("packages") or {}
        missing = "not installed"
        lines.append(f"mamba_ssm {pk.get('mamba_ssm') or missing}, "
                     f"causal_conv1d {pk.get('causal_conv1d') or missing}")
    if data.get("device") or data.get("backend"):  # absent when the child never got that far
        lines.append(f"device: {data.get('device')}, backend: {data.get('backend')}"
                     + (f", paths: {', '.join(data['paths'])}" if data.get("paths") else ""))
    if data.get("input_shape"):
        shape_out = tuple(data.get("output_shape") or ())
        lines.append(f"input (B,T,N,D) = {tuple(data['input_shape'])} -> output {shape_out}, "
                     f"{data.get('parameters')} parameters")
    if data.get("label"):
        lines.append(f"[bold yellow]{escape(data['label'])}[/]")
    console.print(Panel("\n".join(lines), title="smoke", expand=False))

    table = Table(title="checks", show_lines=False)
    for col in ("status", "check", "detail"):
        table.add_column(col, overflow="fold")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for c in data.get("checks") or []:
        status = c.get("status", "?")
        counts[status] = counts.get(status, 0) + 1
        table.add_row(f"[{_STYLE.get(status, '')}]{status}[/]", escape(c.get("name", "")),
                      escape(c.get("detail", "")))
    console.print(table)

    timings = data.get("timings_ms") or {}
    if timings:
        tt = Table(title="timings (ms)")
        for col in ("what", "first call", "steady (median)"):
            tt.add_column(col)
        for name, value in timings.items():
            if isinstance(value, dict):
                tt.add_row(name, f"{value.get('first', 0):.2f}", f"{value.get('median', 0):.2f}")
            else:
                tt.add_row(name, "", f"{value:.2f}")
        console.print(tt)
    if data.get("peak_memory_mb"):
        console.print("peak GPU memory (MiB): " + ", ".join(
            f"{k} {v:.1f}" for k, v in data["peak_memory_mb"].items()))
    for err in data.get("errors") or []:
        console.print(f"[red]error[/] in {escape(err.get('stage', ''))}: "
                      f"{escape(err.get('message', ''))}")
    crash = data.get("crash")
    if crash and crash.get("stderr_tail"):
        console.print(Panel(escape(crash["stderr_tail"][-1500:]), title="child stderr (tail)"))
    for d in data.get("diagnoses") or []:
        console.print(f"[bold]diagnosis:[/] {escape(d.get('title', ''))}: "
                      f"{escape(d.get('cause', ''))}")
        for fix in d.get("fix") or []:
            console.print(f"  fix: {escape(fix)}")
    if data.get("trace"):
        render_trace(console, data["trace"])
    summary = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["skip"]:
        summary += f", {counts['skip']} skipped"
    console.print(summary)


def render_trace(console: Console, ops: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mamba_doctor.block.trace import format_params, format_shapes

    table = Table(title="op trace (reference block, eval mode)")
    for col in ("#", "op", "input", "output", "parameters", "meaning"):
        table.add_column(col, overflow="fold")
    for i, op in enumerate(ops, 1):
        table.add_row(str(i), escape(op["op"]), format_shapes(op["input_shape"]),
                      format_shapes(op["output_shape"]), escape(format_params(op["params"])),
                      escape(op["meaning"]))
    console.print(table)
