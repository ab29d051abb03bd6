"""`mamba-doctor bundle`: everything an offline server needs, in one folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command("bundle")
    def _cmd(
        env_file: Path = typer.Option(
            ..., "--env", metavar="FILE",
            help="The server, saved there with: mamba-doctor check --json > server.json"),
        dest: Path = typer.Option(..., "--dest", metavar="DIR",
                                  help="Put the bundle in this folder (made if needed)."),
        version: Optional[str] = typer.Option(
            None, "--version", metavar="VERSION",
            help="This mamba-ssm release [default: the newest with a wheel that fits]."),
        with_torch: bool = typer.Option(
            False, "--with-torch",
            help="Also bundle the server's torch (same version; by default torch never moves)."),
        mirror: List[str] = typer.Option(
            [], "--mirror", metavar="URL",
            help="Also try this mirror for the GitHub release assets (forms as in fetch-wheel); "
            "repeatable, adds to $MAMBA_DOCTOR_MIRROR."),
        index_url: Optional[str] = typer.Option(
            None, "--index-url", metavar="URL",
            help="Take the dependencies from this PyPI mirror [default: pip's own setting, "
            "e.g. $PIP_INDEX_URL]."),
        find_links: List[Path] = typer.Option(
            [], "--find-links", metavar="DIR",
            help="Look for wheels (the pair, dependencies) in this folder first (repeatable)."),
        zipapp: Optional[Path] = typer.Option(
            None, "--zipapp", metavar="FILE",
            help="Put this mamba-doctor.pyz in [default: the one running, else build one]."),
        no_zipapp: bool = typer.Option(False, "--no-zipapp",
                                       help="Leave mamba-doctor.pyz out."),
        pip_python: Optional[str] = typer.Option(
            None, "--pip-python", metavar="PATH",
            help="Run pip (23.3+) with this interpreter [default: this one, else python3]."),
        retries: int = typer.Option(5, "--retries", min=0, metavar="N",
                                    help="Retry a failed download N times."),
        timeout: float = typer.Option(30.0, "--timeout", min=0.1, metavar="SECONDS",
                                      help="Give up on a silent connection after this long."),
        allow_http: bool = typer.Option(False, "--allow-http",
                                        help="Allow plain http:// URLs (a lab mirror)."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Make one folder for an offline server: the mamba_ssm + causal_conv1d wheels that fit
        it, every runtime dependency it lacks (resolved by pip for its platform and Python,
        torch held at its version), mamba-doctor.pyz, manifest.json and INSTALL.txt.

        On the server: `python3 mamba-doctor.pyz install --bundle DIR`. Downloads resume and
        are verified; run it again to finish an interrupted bundle.
        """

        def body() -> Outcome:
            return run_bundle(env_file, dest, version=version, with_torch=with_torch,
                              mirrors=tuple(mirror), index_url=index_url,
                              find_links=tuple(find_links), zipapp=zipapp,
                              include_zipapp=not no_zipapp, pip_python=pip_python,
                              retries=retries, timeout=timeout, allow_http=allow_http,
                              json_mode=json_mode)

        run_command("bundle", json_mode=json_mode, body=body)


def run_bundle(env_file: Path, dest: Path, *, json_mode: bool, **choices: object) -> Outcome:
    from mamba_doctor.bundle.make import BundleOptions, make_bundle
    from mamba_doctor.config import cache_dir
    from mamba_doctor.probe.envfile import read_env_file
    from mamba_doctor.ui import progress_enabled, stderr_console

    env = read_env_file(env_file)
    show = progress_enabled(json_mode=json_mode)
    options = BundleOptions(dest=dest, show_progress=show, **choices)  # type: ignore[arg-type]
    console = stderr_console()
    report = make_bundle(env, options, cache=cache_dir(),
                         on_step=(lambda text: console.print(f"[dim]{text} ...[/]"))
                         if not json_mode else (lambda _t: None))

    def render(out: Console) -> None:
        from mamba_doctor.bundle.view import render_bundle

        render_bundle(out, report)

    return Outcome(data=report.to_dict(), render=render)
