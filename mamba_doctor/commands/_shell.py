"""The one place that turns a command's outcome or failure into output and an exit code, and the
--json envelope every command emits."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

import typer

from mamba_doctor.errors import DoctorError, ExitCode
from mamba_doctor.ui import stderr_console, stdout_console

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA_VERSION = "1"

@dataclass
class Outcome:
    """What a command body returns to the CLI shell: the one way to an exit code and output.

    `render` draws the human view on the stdout console; `data` is the JSON view. A non-zero
    `exit_code` comes with its `errors` (a finding such as "check failed", or an expected
    failure caught with `Outcome.failed`); the human view prints them after `render`.
    """

    data: dict[str, Any] = field(default_factory=dict)
    exit_code: ExitCode = ExitCode.OK
    errors: list[dict[str, Optional[str]]] = field(default_factory=list)
    render: Optional[Callable[[Console], None]] = None

    @classmethod
    def failed(cls, exc: DoctorError, *, render: Optional[Callable[[Console], None]] = None
               ) -> Outcome:
        """An expected failure with what was learnt before it (`exc.data`) and, for a person, a
        view of that (the rejected wheels, the steps that ran) above the error message."""
        code = exc.exit_code
        if code == ExitCode.INTERRUPTED:  # said as the signal that came (install's way back)
            code = interrupted_exit_code()
        return cls(data=dict(exc.data), exit_code=code,
                   errors=[error_from_exception(exc)], render=render)


def error_entry(code: str, message: str, hint: Optional[str] = None) -> dict[str, Optional[str]]:
    return {"code": code, "message": message, "hint": hint}


def error_from_exception(exc: DoctorError) -> dict[str, Optional[str]]:
    return error_entry(exc.code, exc.message, exc.hint)


def envelope(
    command: str,
    *,
    exit_code: int,
    data: Mapping[str, Any],
    errors: Sequence[Mapping[str, Optional[str]]] = (),
) -> dict[str, Any]:
    """Build the versioned document; `status` is derived from the exit code and errors."""
    status = ("partial" if errors else "success") if exit_code == ExitCode.OK else "error"
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        "data": dict(data),
        "errors": [dict(e) for e in errors],
    }


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=_default)


def write_json(doc: Mapping[str, Any]) -> None:
    # Plain write, not rich.print_json: no colour codes in machine output, even on a TTY.
    sys.stdout.write(dumps(doc) + "\n")
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "value"):  # enums
        return obj.value
    return str(obj)



logger = logging.getLogger("mamba_doctor")


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
    shows the traceback). Every path ends in `_finish`.
    """
    from mamba_doctor._run import interrupts_end_children

    try:
        with interrupts_end_children():
            outcome = body()
    except DoctorError as exc:
        outcome = Outcome.failed(exc)
    except KeyboardInterrupt as exc:
        outcome = interrupted(exc)
    except Exception as exc:
        if OPTIONS.debug:
            raise
        logger.debug("unexpected error", exc_info=True)
        outcome = Outcome(exit_code=ExitCode.ERROR, errors=[error_entry(
            "unexpected_error", f"unexpected error: {type(exc).__name__}: {exc}", _BUG_HINT)])
    _finish(command, json_mode, outcome)


def interrupted(exc: KeyboardInterrupt) -> Outcome:
    """Ctrl-C (exit 130), SIGTERM (143) or SIGHUP (129): the children are already ended (see
    _run.interrupts_end_children) and the temporary folders removed on the way here."""
    import signal

    from mamba_doctor.errors import Terminated

    signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
    name = {int(signal.SIGINT): "Ctrl-C", int(signal.SIGTERM): "SIGTERM"}.get(int(signum), "")
    name = name or getattr(signal.Signals(signum), "name", str(signum))
    message = (f"interrupted ({name}); the commands it had started were ended and its "
               "temporary files removed")
    return Outcome(exit_code=_signal_exit(signum),
                   errors=[error_entry("interrupted", message, None)])


def interrupted_exit_code() -> ExitCode:
    """130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP (128 + the signal's number)."""
    import signal

    from mamba_doctor._run import received_signal

    return _signal_exit(received_signal() or signal.SIGINT)


def _signal_exit(signum: int) -> ExitCode:
    try:
        return ExitCode(128 + int(signum))
    except ValueError:
        return ExitCode.INTERRUPTED


def _finish(command: str, json_mode: bool, outcome: Outcome) -> None:
    if json_mode:
        write_json(envelope(command, exit_code=outcome.exit_code, data=outcome.data,
                            errors=outcome.errors))
    else:
        if outcome.render is not None:
            try:
                outcome.render(stdout_console())
            except Exception as exc:  # a view's bug must not hide the exit code and errors
                if OPTIONS.debug:
                    raise
                logger.debug("rendering failed", exc_info=True)
                _print_error(error_entry("unexpected_error", "unexpected error while printing "
                                         f"the result: {type(exc).__name__}: {exc}", _BUG_HINT))
        for err in outcome.errors:
            _print_error(err)
    raise typer.Exit(int(outcome.exit_code))


_BUG_HINT = "This is a bug in mamba-doctor: run again with --debug for the traceback."


def _print_error(err: Mapping[str, Optional[str]]) -> None:
    """`error: ...` and `hint: ...`, each one logical line (soft-wrapped: a path in them copies
    whole), and the hint's commands whole on lines of their own (mamba_doctor/ui.py)."""
    from rich.markup import escape

    from mamba_doctor.ui import print_whole, split_commands

    console = stderr_console()
    console.print(f"[bold red]error:[/] {escape(err['message'] or '')}", soft_wrap=True)
    for i, line in enumerate((err.get("hint") or "").splitlines()):
        prose, commands = split_commands(line)
        if prose:
            console.print(("[bold]hint:[/] " if i == 0 else "  ") + escape(prose), soft_wrap=True)
        for command in commands:
            print_whole(console, command, indent=2)
