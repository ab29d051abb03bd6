"""Human view of a smoke report: what ran where, the checks and their summary, timings, what
went wrong (the child's stderr, the diagnoses), then the op trace (mamba_doctor/smoke/
trace_view.py) last, so that the verdict is never scrolled away behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow"}


def render_smoke(console: Console, data: dict[str, Any], *, trace: bool = True) -> None:
    """Print the report to `console`; with `trace`, the op trace (when there is one) as a table
    after the summary. Pure apart from that."""
    from rich.console import Group
    from rich.markup import escape

    from mamba_doctor.ui import panel, print_items, print_labelled, print_whole, table

    env = data.get("environment") or {}
    lines = []
    if env.get("torch"):
        cc = env.get("compute_capability")
        gpu = f", GPU {env['gpu']} (sm {cc})" if env.get("gpu") else ""
        cuda = f"CUDA {env['torch_cuda']}" if env.get("torch_cuda") else "CPU-only build"
        lines.append(escape(f"torch {env['torch']} ({cuda}){gpu}"))
        pk = env.get("packages") or {}
        missing = "not installed"
        lines.append(escape(f"mamba_ssm {pk.get('mamba_ssm') or missing}, "
                            f"causal_conv1d {pk.get('causal_conv1d') or missing}"))
    if data.get("device") or data.get("backend"):  # absent when the child never got that far
        lines.append(escape(f"device: {data.get('device')}, backend: {data.get('backend')}"
                            + (f", paths: {', '.join(data['paths'])}" if data.get("paths")
                               else "")))
    if data.get("input_shape"):
        shape_out = tuple(data.get("output_shape") or ())
        lines.append(f"input (B,T,N,D) = {tuple(data['input_shape'])} -> output {shape_out}, "
                     f"{data.get('parameters')} parameters")
    if data.get("label"):
        lines.append(f"[bold yellow]{escape(data['label'])}[/]")
    if lines:
        console.print(panel(Group(*lines), title="smoke"))
    print_labelled(console, [("target", str(data.get("target_python")))], indent=0)

    checks = table(title="checks")
    for col in ("status", "check", "detail"):
        checks.add_column(col, no_wrap=col != "detail")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for c in data.get("checks") or []:
        status = c.get("status", "?")
        counts[status] = counts.get(status, 0) + 1
        checks.add_row(f"[{_STYLE.get(status, '')}]{status}[/]", escape(c.get("name", "")),
                       escape(c.get("detail", "")))
    console.print(checks)

    timings = data.get("timings_ms") or {}
    if timings:
        tt = table(title="timings (ms)")
        for col in ("what", "first call", "steady (median)"):
            tt.add_column(col, no_wrap=True)
        for name, value in timings.items():
            if isinstance(value, dict):
                tt.add_row(escape(name), f"{value.get('first', 0):.2f}",
                           f"{value.get('median', 0):.2f}")
            else:
                tt.add_row(escape(name), "", f"{value:.2f}")
        console.print(tt)
    if data.get("peak_memory_mb"):
        console.print("peak GPU memory (MiB): " + ", ".join(
            f"{escape(k)} {v:.1f}" for k, v in data["peak_memory_mb"].items()))
    for err in data.get("errors") or []:
        console.print(f"[red]error[/] in {escape(err.get('stage', ''))}: "
                      f"{escape(err.get('message', ''))}", soft_wrap=True)
    crash = data.get("crash")
    if crash and crash.get("stderr_tail"):  # a traceback holds paths: whole lines, no box
        console.print("[bold]child stderr (last lines):[/]")
        for line in crash["stderr_tail"][-1500:].splitlines():
            print_whole(console, line, indent=2, style="dim")
    for d in data.get("diagnoses") or []:
        console.print(f"[bold]diagnosis:[/] {escape(d.get('title', ''))}: "
                      f"{escape(d.get('cause', ''))}")
        print_items(console, list(d.get("fix") or []), bullet="fix:")
    summary = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["skip"]:
        summary += f", {counts['skip']} skipped"
    console.print(f"[bold]{summary}[/]")
    if trace and data.get("trace"):
        from mamba_doctor.smoke.trace_text import Sizes
        from mamba_doctor.smoke.trace_view import render_trace

        console.print()
        render_trace(console, data["trace"], Sizes.of(data["trace"], data.get("options") or {}))
