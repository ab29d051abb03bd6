"""`mamba-doctor smoke`: run the spatio-temporal Mamba block in the target and prove its numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command
from mamba_doctor.errors import EXIT_CODE_HELP, ExitCode, SmokeTestFailed, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.smoke.runner import SmokeOptions, SmokeReport


def register(app: typer.Typer) -> None:
    @app.command("smoke", help=_HELP)
    def _cmd(
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Run in this interpreter or environment directory; it needs torch, not "
            "mamba-doctor [default: the active venv/conda env, else this Python].",
        ),
        device: str = typer.Option("auto", "--device", metavar="[auto|cuda|cpu]",
                                   help="Run on this device (auto: CUDA when torch sees one)."),
        backend: str = typer.Option(
            "auto", "--backend", metavar="[auto|cuda|ref]",
            help="Mamba backend: auto (mamba_ssm kernels on a GPU, else the reference), cuda "
            "(fail if the kernels are unusable) or ref (pure PyTorch only).",
        ),
        batch: int = typer.Option(2, "--batch", metavar="B", help="Batch size B."),
        steps: int = typer.Option(12, "--steps", metavar="T", help="Time steps T (at least 2)."),
        nodes: int = typer.Option(5, "--nodes", metavar="N", help="Graph nodes N."),
        dim: int = typer.Option(64, "--dim", metavar="D",
                                help="Feature width D (divisible by --heads)."),
        heads: int = typer.Option(8, "--heads", metavar="K",
                                  help="Attention heads K (head width D/K)."),
        dtype: str = typer.Option(
            "float32", "--dtype", metavar="DTYPE",
            help="Precision of the CUDA comparison: float32, float16 or bfloat16.",
        ),
        temporal: str = typer.Option(
            "mamba", "--temporal", metavar="[mamba|attention]",
            help="Temporal branch: mamba or attention (GMAN, for A/B).",
        ),
        trace: bool = typer.Option(
            False, "--trace", help="Also list every op with its shapes, parameters and meaning.",
        ),
        stress: bool = typer.Option(
            False, "--stress",
            help="Also run every check with trained-like Mamba weights (large Δ·|A|), the "
            "regime where kernels and references are most likely to disagree.",
        ),
        trace_format: Optional[str] = typer.Option(
            None, "--trace-format", metavar="[table|markdown|mermaid|json]",
            help="Print the trace as a table (after the checks), Markdown study notes, a "
            "Mermaid data-flow diagram or JSON; the last three go alone to stdout (the report "
            "to stderr), for a file. Implies --trace.",
        ),
        timeout: float = typer.Option(
            600.0, "--timeout", metavar="SECONDS",
            help="Kill the test after this many seconds (a hang counts as a failure).",
        ),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        def body() -> Outcome:
            from mamba_doctor.smoke.runner import SmokeOptions

            if trace_format is not None and trace_format not in TRACE_FORMATS:
                raise UsageError(f"--trace-format {trace_format}: choose one of "
                                 + ", ".join(TRACE_FORMATS))
            options = SmokeOptions(device=device, backend=backend, batch=batch, steps=steps,
                                   nodes=nodes, dim=dim, heads=heads, dtype=dtype,
                                   temporal=temporal, trace=trace or trace_format is not None,
                                   timeout=timeout, stress=stress)
            return run_smoke_command(python, options, json_mode=json_mode,
                                     trace_format=trace_format or "table")

        run_command("smoke", json_mode=json_mode, body=body)


_HELP = (
    "Run STMambaBlock forward and backward in the target interpreter and check it.\n\n"
    "On a GPU with mamba_ssm: the CUDA kernels (fast and slow path) against a float64 "
    "pure-PyTorch reference with the same weights, outputs and gradients, with timings and peak "
    "memory. Without them: the reference path only (clearly labelled), with shape, finiteness, "
    "causality and gradient checks. Runs in a child process with a timeout, so a crash or hang "
    "in a kernel is reported.\n\n" + EXIT_CODE_HELP
)


TRACE_FORMATS = ("table", "markdown", "mermaid", "json")


def run_smoke_command(python: Optional[str], options: SmokeOptions, *,
                      json_mode: bool, trace_format: str = "table") -> Outcome:
    """Choose the target, run the child, and turn a failed report into SmokeTestFailed."""
    from mamba_doctor.probe import choose_target
    from mamba_doctor.smoke.runner import run_smoke
    from mamba_doctor.ui import status

    options.validate()
    target = choose_target(python)
    with status(f"Running the smoke test in {target.python} ...", json_mode=json_mode):
        report = run_smoke(target, options=options)
    return smoke_outcome(report, trace_format=trace_format)


def smoke_outcome(report: SmokeReport, *, trace_format: str = "table") -> Outcome:
    """The report as the command's outcome: exit 7, with the report shown, when it failed. A
    trace in a document format goes alone to stdout, the report then to stderr."""

    def render(console: Console) -> None:
        from mamba_doctor.smoke.view import render_smoke

        if trace_format == "table" or not report.data.get("trace"):
            render_smoke(console, report.data)
            return
        from mamba_doctor.smoke.trace_text import trace_document
        from mamba_doctor.ui import stderr_console

        render_smoke(stderr_console(), report.data, trace=False)
        console.file.write(trace_document(report.data["trace"], report.data.get("options") or {},
                                          trace_format))
        console.file.flush()

    if not report.passed:
        failure = SmokeTestFailed(report.message or "smoke test failed", hint=report.hint,
                                  data=report.data)
        return Outcome.failed(failure, render=render)
    return Outcome(data=report.data, exit_code=ExitCode.OK, render=render)
