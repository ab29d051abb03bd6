"""`mamba-doctor index update | export | status`: keep the wheel index true after release."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command

index_app = typer.Typer(
    help="Refresh the wheel index from the live GitHub releases and PyPI, or carry it to an "
    "offline machine.", no_args_is_help=True, rich_markup_mode="markdown")


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")


@index_app.command("update")
def _update(
    mirror: List[str] = typer.Option(
        [], "--mirror", metavar="PREFIX",
        help="Read the APIs through this proxy prefix (https://host/) or template with {url}; "
        "repeatable, tried before the origin, adds to $MAMBA_DOCTOR_MIRROR."),
    api_url: str = typer.Option(
        "https://api.github.com", "--api-url", metavar="URL",
        help="The GitHub REST API (GitHub Enterprise, or a mirror of the API)."),
    pypi_url: str = typer.Option(
        "https://pypi.org", "--pypi-url", metavar="URL",
        help="PyPI, or a mirror that serves its JSON API (/pypi/NAME/json)."),
    token_env: str = typer.Option(
        "GITHUB_TOKEN", "--token-env", metavar="NAME",
        help="Environment variable holding a GitHub token, sent to the API host only "
        "(GH_TOKEN too when this is GITHUB_TOKEN)."),
    from_file: Optional[Path] = typer.Option(
        None, "--from", metavar="FILE",
        help="Use this file from `mamba-doctor index export` instead of the network."),
    force: bool = typer.Option(
        False, "--force", help="With --from: replace a cached overlay that is newer."),
    partial: bool = typer.Option(
        False, "--partial",
        help="Keep the sources that answered when another fails (it keeps its last record)."),
    allow_http: bool = typer.Option(
        False, "--allow-http", help="Allow plain http:// API URLs and mirrors."),
    retries: int = typer.Option(5, "--retries", min=0, metavar="N",
                                help="Retry a failed request N times."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, metavar="SECONDS",
                                  help="Give up on a silent connection after this long."),
    json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Read the releases of state-spaces/mamba and Dao-AILab/causal-conv1d (assets, sizes,
    sha256 digests) and PyPI's files of both, and cache them over the bundled index.

    New releases then resolve in `fetch-wheel` and `install`. Nothing is written unless every
    source answered (see --partial): the previous index stays in use. Kept in
    $MAMBA_DOCTOR_CACHE_DIR/index/overlay.json.
    """
    from mamba_doctor.config import mirrors_from_env
    from mamba_doctor.index_update.update import UpdateArgs, update_index

    args = UpdateArgs(mirrors=tuple(mirror), env_mirrors=mirrors_from_env(), api_url=api_url,
                      pypi_url=pypi_url, token_env=token_env, allow_http=allow_http,
                      timeout=timeout, retries=retries, partial=partial, from_file=from_file,
                      force=force)

    def body() -> Outcome:
        from mamba_doctor.index_update.view import render_update
        from mamba_doctor.ui import progress_enabled, stderr_console

        if progress_enabled(json_mode=json_mode) and from_file is None:
            with stderr_console().status("Reading the GitHub Releases and PyPI JSON APIs ..."):
                data = update_index(args)
        else:
            data = update_index(args)
        return Outcome(data=data, render=lambda console: render_update(console, data))

    run_command("index update", json_mode=json_mode, body=body)


@index_app.command("export")
def _export(
    dest: Path = typer.Argument(..., metavar="FILE",
                                help="Where to write it (a folder gets overlay.json)."),
    json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Write the cached overlay to FILE, for `index update --from FILE` on an offline machine."""
    from mamba_doctor.index_update.update import export_overlay

    def body() -> Outcome:
        data = export_overlay(dest)
        return Outcome(data=data, render=lambda console: console.print(
            f"exported the index overlay (read {data['fetched']}) to {data['path']}"))

    run_command("index export", json_mode=json_mode, body=body)


@index_app.command("status")
def _status(json_mode: bool = typer.Option(False, "--json", help="Print one JSON document.")
            ) -> None:
    """Say how old the wheel index is and where it came from; reads no network."""
    from mamba_doctor.index_update.update import index_status

    def body() -> Outcome:
        from mamba_doctor.index_update.view import render_status

        data = index_status()
        return Outcome(data=data, render=lambda console: render_status(console, data))

    run_command("index status", json_mode=json_mode, body=body)
