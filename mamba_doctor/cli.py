"""The typer application: global options, command registration, and main()."""

from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from mamba_doctor import __version__
from mamba_doctor.commands import register_all
from mamba_doctor.commands._shell import OPTIONS, setup_logging
from mamba_doctor.errors import EXIT_CODE_HELP, ExitCode

app = typer.Typer(
    name="mamba-doctor",
    help=(
        "Get Mamba (mamba-ssm) working on this machine and prove it.\n\n"
        "Start with `mamba-doctor check`. " + EXIT_CODE_HELP + "\n\n"
        "Environment: MAMBA_DOCTOR_CACHE_DIR (where downloads are kept; default "
        "~/.cache/mamba-doctor), MAMBA_DOCTOR_MIRROR (extra wheel URL prefixes, comma- or "
        "space-separated)."
    ),
    no_args_is_help=True,
    add_completion=False,
    # Markdown joins a docstring's wrapped lines into one paragraph; typer's "rich" mode keeps
    # the hard line breaks, which wrap into ragged half-lines at 80 columns.
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mamba-doctor {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Log more (-vv: debug)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log only errors."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
    plain: bool = typer.Option(
        False, "--plain",
        help="Draw no boxes or tables' frames [default: on when stdout is not a terminal]."),
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    from mamba_doctor.ui import fit_streams, set_plain

    fit_streams()
    OPTIONS.debug = debug
    OPTIONS.verbosity = -1 if quiet else verbose
    set_plain(True if plain else None)
    setup_logging(OPTIONS.verbosity)


register_all(app)


# Global flags that may also follow the command (`mamba-doctor check -q`): moved before it.
GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose", "--debug",
                          "--plain"})


def hoist_global_flags(argv: list[str]) -> list[str]:
    """argv with the global flags that follow the command moved in front of it (never past a
    `--`, after which everything is an argument)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in GLOBAL_FLAGS]
    return [*flags, *rest, *argv[end:]]


def flag_given_a_value(argv: list[str]) -> Optional[str]:
    """The message for `--quiet true` or `-v 2` (flags take no value), else None."""
    end = argv.index("--") if "--" in argv else len(argv)
    for flag, value in zip(argv[:end], argv[1:end]):
        if flag in GLOBAL_FLAGS and (value.lower() in ("true", "false", "yes", "no", "on", "off")
                                     or value.isdigit()):
            more = " (repeat it for more: -vv)" if flag in ("-v", "--verbose") else ""
            return f"{flag} takes no value, got {value!r}: write {flag} alone{more}"
    return None


def _usage(message: str, *, json_mode: bool) -> int:
    from mamba_doctor.commands._shell import envelope, error_entry, write_json

    sys.stderr.write(f"error: {message}\n")
    if json_mode:
        write_json(envelope("mamba-doctor", exit_code=ExitCode.USAGE, data={},
                            errors=[error_entry("usage_error", message, None)]))
    return int(ExitCode.USAGE)


def _flags_take_no_value() -> None:
    """typer >= 0.2x shows a flag as `--quiet <bool>` and a counter as `-v <int>`, which reads as
    "takes a value" (`--quiet true` then fails as "No such command 'true'"): show none."""
    try:
        from typer.core import TyperOption
    except ImportError:
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_mamba_doctor", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Optional[str]:
        if (self.is_flag or self.count) and self.metavar is None:
            return None
        return original(self, ctx)

    display_type_rich._mamba_doctor = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()


def main() -> None:
    """Console-script entry point."""
    from mamba_doctor.ui import fit_streams

    fit_streams()
    misused = flag_given_a_value(sys.argv[1:])
    if misused:
        sys.exit(_usage(misused, json_mode="--json" in sys.argv[1:]))
    sys.argv[1:] = argv = hoist_global_flags(sys.argv[1:])
    try:
        if "--json" in argv:
            sys.exit(_main_json(argv))
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command body (e.g. during start-up)
        sys.stderr.write("interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))


def _main_json(argv: list[str]) -> int:
    """Run with --json: a flag that click itself rejects (`--batch x`) still yields the one JSON
    document on stdout, with exit code 2, instead of only a usage box on stderr."""
    from mamba_doctor.commands._shell import envelope, error_entry, write_json

    usage_error = _usage_error_class()
    try:
        result = app(standalone_mode=False)
    except usage_error as exc:
        command = next((a for a in argv if not a.startswith("-")), "mamba-doctor")
        format_message = getattr(exc, "format_message", None)
        message = str(format_message()) if callable(format_message) else str(exc)
        sys.stderr.write(message + "\n")
        hint = f"see `mamba-doctor {command} --help`" if command != "mamba-doctor" else None
        write_json(envelope(command, exit_code=ExitCode.USAGE, data={},
                            errors=[error_entry("usage_error", message, hint)]))
        return int(ExitCode.USAGE)
    except typer.Abort:
        return int(ExitCode.INTERRUPTED)
    return result if isinstance(result, int) else 0


def _usage_error_class() -> type[Exception]:
    # typer >= 0.2x vendors click as typer._click; older releases depend on click itself.
    try:
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError  # type: ignore[no-redef,import-not-found]
    return UsageError
