"""`mamba-doctor smoke` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from mamba_doctor.errors import DoctorError
from mamba_doctor.output import Outcome
from mamba_doctor.shell import run_command


def register(app: typer.Typer) -> None:
    @app.command("smoke")
    def _cmd(json_mode: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
        """Not implemented yet."""

        def body() -> Outcome:
            raise DoctorError("'smoke' is not implemented yet")

        run_command("smoke", json_mode=json_mode, body=body)
