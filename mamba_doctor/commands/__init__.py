"""One module per command; each exposes register(app). Heavy imports stay inside the commands."""

from __future__ import annotations

import importlib

import typer

# Order is the order in `--help`.
COMMANDS = ("check", "envs", "plan", "fetch_wheel", "bundle", "install", "smoke", "explain",
            "report", "index", "fleet")


def register_all(app: typer.Typer) -> None:
    for name in COMMANDS:
        importlib.import_module(f"mamba_doctor.commands.{name}").register(app)
