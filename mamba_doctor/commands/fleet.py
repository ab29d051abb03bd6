"""`mamba-doctor fleet`: ask each kind of node of a SLURM cluster whether the environment runs."""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from typing import TYPE_CHECKING, List, Optional

import typer

from mamba_doctor.commands._shell import Outcome, error_entry, run_command
from mamba_doctor.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.fleet.report import FleetReport
    from mamba_doctor.fleet.survey import FleetOptions


def register(app: typer.Typer) -> None:
    @app.command("fleet")
    def _cmd(
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Check this interpreter or environment on the nodes (a path every node "
            "sees) [default: the active venv/conda env, as srun passes it on].",
        ),
        # typer evaluates this annotation at run time: List, not list, on Python 3.8
        partitions: List[str] = typer.Option(
            [], "--partition", "-p", metavar="P",
            help="Only nodes of this partition (repeat for several).",
        ),
        nodelist: Optional[str] = typer.Option(
            None, "--nodelist", "-w", metavar="LIST",
            help="Only these nodes (a Slurm host list: node[1-4],gpu7).",
        ),
        all_nodes: bool = typer.Option(
            False, "--all-nodes", help="Ask every node, not one node per group of alike nodes.",
        ),
        smoke: bool = typer.Option(
            False, "--smoke", help="Also run `smoke` where `check` passes (slower).",
        ),
        doctor: Optional[str] = typer.Option(
            None, "--doctor", metavar="PATH",
            help="The mamba-doctor the nodes run, on a shared filesystem [default: this "
            "installation's entry point, or the zipapp this runs from].",
        ),
        timeout: float = typer.Option(
            300.0, "--timeout", min=1.0, metavar="SECONDS",
            help="Give up on a node's job after this long (queue wait included).",
        ),
        max_parallel: int = typer.Option(
            8, "--max-parallel", min=1, metavar="N", help="Run at most N jobs at once.",
        ),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Find where on a SLURM cluster this environment runs, and how to submit there.

        Run on the login node. Groups the nodes sinfo lists by partition, GPU type and count
        and features; runs `mamba-doctor check --json` through srun on one node of each
        group (every node with --all-nodes), with one GPU of its type; merges the reports
        into one table, one sentence per outcome and the #SBATCH lines that select the nodes
        where it runs. Down and drained nodes are reported, not waited for. Ctrl-C and
        SIGTERM cancel the jobs it started. Exits 0 when the environment runs on some
        group, 3 when it runs on none.
        """
        from mamba_doctor.fleet.survey import FleetOptions

        def body() -> Outcome:
            options = FleetOptions(
                doctor=_doctor(doctor), user=getpass.getuser(),
                python=os.path.abspath(os.path.expanduser(python)) if python else None,
                partitions=tuple(p for arg in partitions for p in arg.split(",") if p),
                nodelist=nodelist, all_nodes=all_nodes, smoke=smoke, timeout_s=timeout,
                max_parallel=max_parallel, environ=dict(os.environ))
            return run_fleet(options, json_mode=json_mode)

        run_command("fleet", json_mode=json_mode, body=body)


def _doctor(path: Optional[str]) -> tuple[str, ...]:
    from mamba_doctor.fleet.doctor import doctor_argv

    script = os.path.join(os.path.dirname(sys.executable), "mamba-doctor")
    default = script if os.access(script, os.X_OK) else shutil.which("mamba-doctor")
    return doctor_argv(path, argv0=sys.argv[0] if sys.argv else "", executable=sys.executable,
                       default_script=default)


def run_fleet(options: FleetOptions, *, json_mode: bool) -> Outcome:
    """Survey the cluster (with a spinner for a person at a terminal) and package the report."""
    from mamba_doctor.fleet.survey import survey
    from mamba_doctor.ui import status

    with status("Asking sinfo for the nodes ...", json_mode=json_mode) as spinner:
        def say(text: str) -> None:
            if spinner is not None:
                spinner.update(text)  # type: ignore[attr-defined]  # rich.status.Status

        report = survey(
            options, on_plan=lambda total: say(f"Running the doctor on {total} node(s) ..."),
            on_done=lambda finished, total, node: say(
                f"Running the doctor: {finished}/{total} done ({node})"))
    return fleet_outcome(report)


def fleet_outcome(report: FleetReport) -> Outcome:
    def render(console: Console) -> None:
        from mamba_doctor.fleet.view import render_fleet

        render_fleet(console, report)

    errors = [error_entry(f"job_{n.job.status}", f"{n.line.name}: {n.reason}")
              for n in report.no_report if n.job is not None]
    if report.interrupted:
        errors.insert(0, error_entry("interrupted", report.interrupted))
        code = ExitCode.INTERRUPTED
    elif report.runs_somewhere:
        code = ExitCode.OK
    else:
        code = ExitCode.CHECK_FAILED
        errors.insert(0, error_entry("runs_nowhere", "the environment runs on none of the "
                                     "nodes asked (the summary says why, per group)"))
    return Outcome(data=report.to_dict(), exit_code=code, errors=errors, render=render)
