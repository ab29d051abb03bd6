"""`mamba-doctor fetch-wheel`: resolve the exact prebuilt wheel(s) for a machine, download them."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.download.fetch_wheel import FetchResult


class PackageChoice(str, enum.Enum):
    mamba_ssm = "mamba_ssm"
    causal_conv1d = "causal_conv1d"
    all = "all"


def register(app: typer.Typer) -> None:
    @app.command("fetch-wheel")
    def _cmd(
        package: PackageChoice = typer.Option(
            PackageChoice.all, "--package", metavar="PACKAGE",
            help="Resolve mamba_ssm, causal_conv1d, or all (both, as a matching pair)."),
        version: Optional[str] = typer.Option(
            None, "--version", metavar="VERSION",
            help="Use this release [default: the newest with a wheel that fits]."),
        env_file: Optional[Path] = typer.Option(
            None, "--env", metavar="FILE",
            help="Resolve for the machine in FILE (saved there with: mamba-doctor check --json)."),
        torch_version: Optional[str] = typer.Option(
            None, "--torch-version", metavar="VERSION",
            help="Assume this torch version (e.g. 2.0.0 or 2.4.1+cu121)."),
        cuda_version: Optional[str] = typer.Option(
            None, "--cuda-version", metavar="X.Y",
            help="Assume torch's CUDA (torch.version.cuda), e.g. 11.8."),
        python_version: Optional[str] = typer.Option(
            None, "--python-version", metavar="X.Y", help="Assume this Python version, e.g. 3.10."),
        cxx11abi: Optional[str] = typer.Option(
            None, "--cxx11abi", metavar="TRUE|FALSE",
            help="Assume torch's C++ ABI flag: TRUE or FALSE."),
        platform: Optional[str] = typer.Option(
            None, "--platform", metavar="TAG", help="Assume this platform tag, e.g. linux_x86_64."),
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Probe this interpreter or environment [default: the active venv/conda env, "
            "else this Python]."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Show the resolution; download nothing."),
        dest: Optional[Path] = typer.Option(
            None, "--dest", metavar="DIR",
            help="Also copy the verified wheel(s) into this directory [default: keep them in the "
            "cache only]."),
        mirror: List[str] = typer.Option(
            [], "--mirror", metavar="URL",
            help="Also try this mirror: a proxy prefix (https://host/), a folder "
            "(https://host/wheels/) or a template with {url} or {filename}; repeatable, tried "
            "before the origin, adds to $MAMBA_DOCTOR_MIRROR."),
        url: Optional[str] = typer.Option(
            None, "--url", metavar="URL",
            help="Download this wheel URL instead of the resolved one."),
        sha256: Optional[str] = typer.Option(
            None, "--sha256", metavar="HEX", help="Require this sha256 digest (one package)."),
        find_links: List[Path] = typer.Option(
            [], "--find-links", metavar="DIR",
            help="Take the wheel from this local folder if it is there."),
        retries: int = typer.Option(
            5, "--retries", min=0, metavar="N", help="Retry a failed download N times."),
        timeout: float = typer.Option(
            30.0, "--timeout", min=0.1, metavar="SECONDS",
            help="Give up on a silent connection after this many seconds."),
        allow_http: bool = typer.Option(
            False, "--allow-http", help="Allow plain http:// URLs and mirrors."),
        max_size: Optional[str] = typer.Option(
            None, "--max-size", metavar="SIZE",
            help="Refuse a download larger than this (bytes, or with K/M/G: 800M) "
            "[default: 4G]."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Find the exact prebuilt mamba_ssm / causal_conv1d wheel for a machine and download it.

        The machine is this one (probed), or the one described by --env FILE (the output of
        `mamba-doctor check --json` on, say, an offline server); single facts can be overridden
        with --torch-version, --cuda-version, --python-version, --cxx11abi and --platform.
        Prints why every other wheel was rejected, and when none fits, the nearest ways out as
        commands (exit 4). Downloads resume, try mirrors, are verified before use, and are kept
        in $MAMBA_DOCTOR_CACHE_DIR/wheels (default ~/.cache/mamba-doctor/wheels).
        """
        from mamba_doctor.download.fetch_wheel import FetchArgs
        from mamba_doctor.ui import progress_enabled

        args = FetchArgs(
            package=package.value, version=version, env_file=env_file,
            torch_version=torch_version, cuda_version=cuda_version,
            python_version=python_version, cxx11abi=cxx11abi, platform=platform, python=python,
            dry_run=dry_run, dest=dest, mirrors=tuple(mirror), url=url, sha256=sha256,
            find_links=tuple(find_links), retries=retries, timeout=timeout,
            allow_http=allow_http, show_progress=progress_enabled(json_mode=json_mode),
            max_size=max_size,
        )

        def body() -> Outcome:
            from mamba_doctor.download.fetch_wheel import fetch_wheel

            return fetch_outcome(fetch_wheel(args))

        run_command("fetch-wheel", json_mode=json_mode, body=body)


def fetch_outcome(result: FetchResult) -> Outcome:
    """The result as the command's outcome: exit 4, with the rejected wheels shown, when no
    wheel fits."""

    def render(console: Console) -> None:
        from mamba_doctor.ui import print_whole
        from mamba_doctor.wheels.view import render_resolutions

        if result.index:
            _note(console, result.index["line"])
        for note in result.assumed:
            _note(console, note)
        render_resolutions(console, result.resolutions, dry_run=result.dry_run,
                           ways=result.ways)
        for d in result.downloads:  # the path whole: it is what gets copied
            console.print("[green]verified[/]", end=" ")
            print_whole(console, f"{d.path}  sha256 {d.sha256}")

    if result.failure is not None:
        return Outcome.failed(result.failure, render=render)
    return Outcome(data=result.to_dict(), render=render)


def _note(console: Console, note: str) -> None:
    """A dim note, its commands whole on lines of their own (mamba_doctor/ui.py)."""
    from rich.markup import escape

    from mamba_doctor.ui import print_whole, split_commands

    prose, commands = split_commands(note)
    console.print(f"[dim]{escape(prose)}[/]")
    for command in commands:
        print_whole(console, command, indent=2)
