"""`mamba-doctor check`: probe the machine and the target interpreter, and say what blocks Mamba."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from mamba_doctor.commands._shell import Outcome, error_entry, run_command
from mamba_doctor.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.check.report import CheckReport
    from mamba_doctor.probe.interpreter import Target


def register(app: typer.Typer) -> None:
    @app.command("check")
    def _cmd(
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Check this interpreter or environment directory [default: the active "
            "venv/conda env, else this Python].",
        ),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
        deep: bool = typer.Option(
            False, "--deep",
            help="Import torch even when it is a CPU-only build (slower; catches a torch "
            "that crashes on import).",
        ),
        timeout: float = typer.Option(
            60.0, "--timeout", min=1.0, metavar="SECONDS",
            help="Give up on the target interpreter after this many seconds.",
        ),
    ) -> None:
        """Show the driver, GPUs, CUDA, torch and mamba packages, and what blocks Mamba.

        Every fact comes from a child process with a timeout, so a torch that crashes or
        hangs on import is reported, not fatal. Exits 3 when a blocking check fails.
        """

        def body() -> Outcome:
            from mamba_doctor.check.report import build_report
            from mamba_doctor.probe import choose_target, probed
            from mamba_doctor.ui import status

            chosen = choose_target(python)
            with status(f"Probing {chosen.python} ...", json_mode=json_mode):
                target = probed(chosen, timeout=timeout, deep=deep)
            outcome = check_outcome(build_report(target), json_mode=json_mode)
            return with_target_context(outcome, target, json_mode=json_mode)

        run_command("check", json_mode=json_mode, body=body)


def check_outcome(report: CheckReport, *, json_mode: bool) -> Outcome:
    """The report as the command's outcome: exit 3 when a blocking check fails."""
    from mamba_doctor.check.view import render_check

    def render(console: Console) -> None:
        render_check(console, report)

    if not report.blocking:
        return Outcome(data=report.to_dict(), exit_code=ExitCode.OK, render=render)
    ids = ", ".join(c.id for c in report.blocking)
    err = error_entry("check_failed", f"{len(report.blocking)} blocking check(s) failed: {ids}",
                      report.next_steps[0] if report.next_steps else None)
    # The human view says it in the verdict panel; JSON readers get it in errors[] as well.
    return Outcome(data=report.to_dict(), exit_code=ExitCode.CHECK_FAILED,
                   errors=[err] if json_mode else [], render=render)


def with_target_context(outcome: Outcome, target: Target, *, json_mode: bool) -> Outcome:
    """Say which interpreter was checked and why; when it has no torch, the machine's other
    environments (as `mamba-doctor envs` lists them), so the right one can be named next."""
    from mamba_doctor.probe.interpreter import origin_text

    why = origin_text(target)
    outcome.data["target"] = {"python": target.python, "origin": target.origin, "why": why}
    fits = []
    if target.env.torch.installed is False and target.local:
        from mamba_doctor.advice.envs import other_environments

        fits = other_environments(target)
        outcome.data["candidate_environments"] = [f.to_dict() for f in fits]
    inner = outcome.render

    def render(console: Console) -> None:
        from rich.markup import escape

        console.print(f"[bold]Target:[/] {escape(target.python)} [dim]({escape(why)})[/]")
        if inner is not None:
            inner(console)
        if fits:
            from mamba_doctor.advice.envs_view import envs_table

            console.print(envs_table(fits, title="This target has no torch; the machine's "
                                     "other environments:"))
            best = next((f for f in fits if f.fits), None)
            if best is not None:
                import shlex

                console.print("Check that one: mamba-doctor check --python "
                              + shlex.quote(best.facts.location.prefix))

    outcome.render = render
    return outcome
