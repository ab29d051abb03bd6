"""The typer application: global options, command registration, and main()."""

from __future__ import annotations

import sys
from typing import Optional

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
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    OPTIONS.debug = debug
    OPTIONS.verbosity = -1 if quiet else verbose
    setup_logging(OPTIONS.verbosity)


register_all(app)


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
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
