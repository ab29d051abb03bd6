"""`mamba-doctor envs`: the Python environments on this machine, and which can get Mamba."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mamba_doctor.commands._shell import Outcome, run_command

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command("envs")
    def _cmd(
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
        timeout: float = typer.Option(
            20.0, "--timeout", min=1.0, metavar="SECONDS",
            help="Give up on one environment's interpreter after this many seconds.",
        ),
    ) -> None:
        """List the conda/mamba/micromamba envs, .venv/venv here and $WORKON_HOME venvs, each
        with its Python, torch (version, CUDA build, C++ ABI) and whether a prebuilt
        mamba_ssm + causal_conv1d pair fits it on this machine.

        torch is read from its files, not imported, so this stays quick. Point the other
        commands at one with `--python PREFIX`.
        """

        def body() -> Outcome:
            return run_envs(json_mode=json_mode, timeout=timeout)

        run_command("envs", json_mode=json_mode, body=body)


def run_envs(*, json_mode: bool, timeout: float = 20.0) -> Outcome:
    import os
    from pathlib import Path

    from mamba_doctor.advice.envs import assess_envs
    from mamba_doctor.probe.envs import discover_envs, probe_machine, read_env_facts
    from mamba_doctor.ui import progress_enabled, stderr_console
    from mamba_doctor.wheels.index import load_index

    environ = dict(os.environ)

    def gather() -> tuple:
        found = discover_envs(environ=environ, cwd=Path.cwd(), home=Path.home())
        return probe_machine(environ=environ), read_env_facts(found, environ=environ,
                                                              timeout=timeout)

    if progress_enabled(json_mode=json_mode):
        with stderr_console().status("Looking for Python environments ..."):
            machine, facts = gather()
    else:
        machine, facts = gather()
    fits = assess_envs(facts, machine, load_index())
    data = {"environments": [f.to_dict() for f in fits],
            "machine": {"platform": machine.os.arch, "glibc": machine.os.glibc,
                        "driver_cuda": machine.nvidia.cuda_driver_version,
                        "gpus": [g.name for g in machine.nvidia.gpus]}}

    def render(console: Console) -> None:
        from mamba_doctor.advice.envs_view import render_envs

        render_envs(console, fits)

    return Outcome(data=data, render=render)
