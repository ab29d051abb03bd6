"""`mamba-doctor plan`: the newest stack prebuilt end to end for a machine, and how to create it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from mamba_doctor.commands._shell import Outcome, error_entry, run_command
from mamba_doctor.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def _cmd(
        env_file: Optional[Path] = typer.Option(
            None, "--env", metavar="FILE",
            help="Plan for the machine in FILE (mamba-doctor check --json there) [default: "
            "this machine]."),
        python_version: Optional[str] = typer.Option(
            None, "--python-version", metavar="X.Y",
            help="Use this Python [default: the newest the stack supports]."),
        mamba_version: Optional[str] = typer.Option(
            None, "--mamba-version", metavar="VERSION",
            help="Use this mamba-ssm release [default: the newest that fits]."),
        write: Optional[Path] = typer.Option(
            None, "--write", metavar="DIR",
            help="Write environment.yml and requirements.txt (pinned, PyTorch index) there."),
        name: str = typer.Option("mamba", "--name", metavar="NAME",
                                 help="Name of the environment in the commands."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """The newest stack that is prebuilt end to end for this machine (driver CUDA ceiling,
        GPU architecture, glibc, CPU architecture): Python, torch with its CUDA variant and
        index, mamba_ssm and causal_conv1d, each choice with its reason; then how to create it
        with conda, python -m venv + pip, or uv.

        When no prebuilt stack exists (a Pascal GPU, a driver too old) it says so plainly, and
        what works instead. Exits 4 then.
        """

        def body() -> Outcome:
            return run_plan(env_file, python_version=python_version,
                            mamba_version=mamba_version, write=write, name=name,
                            json_mode=json_mode)

        run_command("plan", json_mode=json_mode, body=body)


def run_plan(env_file: Optional[Path], *, python_version: Optional[str],
             mamba_version: Optional[str], write: Optional[Path], name: str,
             json_mode: bool) -> Outcome:
    import os

    from mamba_doctor.plan.make import make_plan

    if env_file is not None:
        from mamba_doctor.probe.envfile import read_env_file

        env = read_env_file(env_file)
    else:
        from mamba_doctor.probe.envs import probe_machine

        env = probe_machine(environ=dict(os.environ))
    plan = make_plan(env, python=python_version, mamba_version=mamba_version, write=write,
                     name=name)

    def render(console: Console) -> None:
        from mamba_doctor.plan.view import render_plan

        render_plan(console, plan)

    if plan.ok:
        return Outcome(data=plan.to_dict(), render=render)
    blocked = plan.result
    hint = blocked.what_works[0] if blocked.what_works else None  # type: ignore[union-attr]
    errors = [error_entry("no_prebuilt_stack", blocked.reason, hint)]  # type: ignore[union-attr]
    return Outcome(data=plan.to_dict(), exit_code=ExitCode.NO_WHEEL,
                   errors=errors if json_mode else [], render=render)
