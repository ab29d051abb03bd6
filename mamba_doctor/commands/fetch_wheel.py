"""`mamba-doctor fetch-wheel`: resolve the exact prebuilt wheel(s) for a machine, download them."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from mamba_doctor.output import Outcome
from mamba_doctor.shell import run_command


class PackageChoice(str, enum.Enum):
    mamba_ssm = "mamba_ssm"
    causal_conv1d = "causal_conv1d"
    all = "all"


def register(app: typer.Typer) -> None:
    @app.command("fetch-wheel")
    def _cmd(
        package: PackageChoice = typer.Option(
            PackageChoice.all, "--package", help="Resolve this package, or both as a pair."),
        version: Optional[str] = typer.Option(
            None, "--version", help="Use this release (default: newest with a wheel here)."),
        env_file: Optional[Path] = typer.Option(
            None, "--env", help="Resolve for the machine described by this `check --json` file."),
        torch_version: Optional[str] = typer.Option(
            None, "--torch-version", help="Assume this torch version (e.g. 2.0.0 or 2.4.1+cu121)."),
        cuda_version: Optional[str] = typer.Option(
            None, "--cuda-version", help="Assume torch's CUDA (torch.version.cuda), e.g. 11.8."),
        python_version: Optional[str] = typer.Option(
            None, "--python-version", help="Assume this Python version, e.g. 3.10."),
        cxx11abi: Optional[str] = typer.Option(
            None, "--cxx11abi", help="Assume torch's C++ ABI flag: TRUE or FALSE."),
        platform: Optional[str] = typer.Option(
            None, "--platform", help="Assume this platform tag, e.g. linux_x86_64."),
        python: Optional[str] = typer.Option(
            None, "--python", help="Probe this interpreter or environment (default: active one)."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Show the resolution; download nothing."),
        dest: Optional[Path] = typer.Option(
            None, "--dest", help="Put the verified wheel(s) in this directory."),
        mirror: list[str] = typer.Option(
            [], "--mirror", help="Try this URL prefix too (repeatable; also MAMBA_DOCTOR_MIRROR)."),
        url: Optional[str] = typer.Option(
            None, "--url", help="Download this wheel URL instead of the resolved one."),
        sha256: Optional[str] = typer.Option(
            None, "--sha256", help="Require this sha256 digest (one package)."),
        find_links: list[Path] = typer.Option(
            [], "--find-links", help="Take the wheel from this local folder if it is there."),
        retries: int = typer.Option(5, "--retries", min=0, help="Retry a failed download N times."),
        timeout: float = typer.Option(
            30.0, "--timeout", min=0.1, help="Give up on a silent connection after S seconds."),
        allow_http: bool = typer.Option(
            False, "--allow-http", help="Allow plain http:// URLs and mirrors."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Find the exact prebuilt mamba_ssm / causal_conv1d wheel for a machine and download it.

        The machine is this one (probed), or the one described by --env FILE (the output of
        `mamba-doctor check --json` on, say, an offline server); single facts can be overridden
        with --torch-version, --cuda-version, --python-version, --cxx11abi and --platform.
        Prints why every other wheel was rejected, and when none fits, the nearest ways out as
        commands (exit 4). Downloads resume, try mirrors, and are verified before use.
        """
        from mamba_doctor.commands._fetch_body import FetchArgs, fetch_body

        args = FetchArgs(
            package=package.value, version=version, env_file=env_file,
            torch_version=torch_version, cuda_version=cuda_version,
            python_version=python_version, cxx11abi=cxx11abi, platform=platform, python=python,
            dry_run=dry_run, dest=dest, mirrors=tuple(mirror), url=url, sha256=sha256,
            find_links=tuple(find_links), retries=retries, timeout=timeout,
            allow_http=allow_http, json_mode=json_mode,
        )

        def body() -> Outcome:
            return fetch_body(args)

        run_command("fetch-wheel", json_mode=json_mode, body=body)
