"""Run a command's use case through the CLI shell (the one path to the envelope and exit code)
with facts a test chose, instead of patching how the command finds them."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any, Callable

import pytest
import typer

from mamba_doctor.commands._shell import Outcome, run_command


def envelope_of(command: str, body: Callable[[], Outcome]) -> tuple[int, dict[str, Any]]:
    """(exit code, the --json document) of `body` run as `command`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(typer.Exit) as done:
        run_command(command, json_mode=True, body=body)
    return int(done.value.exit_code), json.loads(out.getvalue())
