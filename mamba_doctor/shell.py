"""The one place that turns a command's outcome or failure into output and an exit code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import typer

from mamba_doctor.errors import DoctorError, ExitCode
from mamba_doctor.output import (
    Outcome,
    envelope,
    error_entry,
    error_from_exception,
    stderr_console,
    stdout_console,
    write_json,
)

logger = logging.getLogger("mamba_doctor")

ISSUE_TRACKER = "https://github.com/mamba-doctor/mamba-doctor/issues"


@dataclass
class GlobalOptions:
    debug: bool = False
    verbosity: int = 0


OPTIONS = GlobalOptions()


def setup_logging(verbosity: int) -> None:
    """WARNING by default, -v INFO, -vv DEBUG; always on stderr."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    if verbosity < 0:
        level = logging.ERROR
    root = logging.getLogger("mamba_doctor")
    root.setLevel(level)
    if not root.handlers:
        from rich.logging import RichHandler

        handler = RichHandler(console=stderr_console(), show_time=False, show_path=False)
        root.addHandler(handler)
    root.propagate = False


def run_command(command: str, *, json_mode: bool, body: Callable[[], Outcome]) -> None:
    """Run a command body and exit with its code.

    Expected failures (DoctorError) become a message + hint on stderr, or the JSON envelope's
    `errors[]`; Ctrl-C exits 130; anything else is a bug: exit 1 with a short note (--debug
    shows the traceback).
    """
    try:
        outcome = body()
    except DoctorError as exc:
        _finish_error(command, json_mode, exc.exit_code, error_from_exception(exc), exc.data)
    except KeyboardInterrupt:
        err = error_entry("interrupted", "interrupted (Ctrl-C)", None)
        _finish_error(command, json_mode, ExitCode.INTERRUPTED, err, {})
    except Exception as exc:
        if OPTIONS.debug:
            raise
        logger.debug("unexpected error", exc_info=True)
        err = error_entry(
            "unexpected_error",
            f"unexpected error: {type(exc).__name__}: {exc}",
            f"This is a bug in mamba-doctor. Run again with --debug for the traceback and report "
            f"it at {ISSUE_TRACKER}.",
        )
        _finish_error(command, json_mode, ExitCode.ERROR, err, {})
    else:
        _finish_ok(command, json_mode, outcome)


def _finish_ok(command: str, json_mode: bool, outcome: Outcome) -> None:
    if json_mode:
        write_json(
            envelope(command, exit_code=outcome.exit_code, data=outcome.data,
                     errors=outcome.errors)
        )
    else:
        if outcome.render is not None:
            outcome.render(stdout_console())
        for err in outcome.errors:
            _print_error(err)
    raise typer.Exit(int(outcome.exit_code))


def _finish_error(
    command: str, json_mode: bool, code: ExitCode, err: dict[str, str | None], data: dict
) -> None:
    if json_mode:
        write_json(envelope(command, exit_code=code, data=data, errors=[err]))
    else:
        _print_error(err)
        if code == ExitCode.INTERRUPTED:
            pass
    raise typer.Exit(int(code))


def _print_error(err: dict[str, str | None]) -> None:
    from rich.markup import escape

    console = stderr_console()
    console.print(f"[bold red]error:[/] {escape(err['message'] or '')}")
    if err.get("hint"):
        console.print(f"[bold]hint:[/] {escape(err['hint'] or '')}")
