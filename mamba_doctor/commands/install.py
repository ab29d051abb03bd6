"""`mamba-doctor install`: options -> the pipeline (mamba_doctor.install.pipeline) -> outcome."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command
from mamba_doctor.errors import EXIT_CODE_HELP, DoctorError, UsageError
from mamba_doctor.ui import progress_enabled, stderr_console

if TYPE_CHECKING:
    from mamba_doctor.install.pipeline import InstallOptions
    from mamba_doctor.probe.interpreter import Target


def register(app: typer.Typer) -> None:
    @app.command("install", help=_HELP)
    def _cmd(
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Install into this interpreter or environment [default: the active venv/conda "
            "env, else this Python]."),
        version: Optional[str] = typer.Option(
            None, "--version", metavar="VERSION",
            help="Install this mamba-ssm release [default: the newest with a wheel that fits]."),
        wheel: List[Path] = typer.Option(
            [], "--wheel", metavar="FILE",
            help="Install this wheel file instead of resolving one (repeatable)."),
        bundle: Optional[Path] = typer.Option(
            None, "--bundle", metavar="DIR",
            help="Install from this folder made by `mamba-doctor bundle`, with no network."),
        no_causal_conv1d: bool = typer.Option(
            False, "--no-causal-conv1d", help="Leave causal-conv1d out (slower Mamba path)."),
        from_source: bool = typer.Option(
            False, "--from-source", help="Build the kernels here, for this machine's GPU(s) only."),
        sdist: List[Path] = typer.Option(
            [], "--sdist", metavar="FILE",
            help="Build from this sdist file instead of PyPI's (repeatable; with --from-source)."),
        arch: Optional[str] = typer.Option(
            None, "--arch", metavar="LIST",
            help="Build for these compute capabilities, e.g. 8.6,9.0 [default: the detected "
            "GPUs]."),
        jobs: Optional[int] = typer.Option(
            None, "--jobs", metavar="N",
            help="Run this many compile jobs at once [default: sized from CPUs and memory]."),
        mirror: List[str] = typer.Option(
            [], "--mirror", metavar="URL",
            help="Also try this mirror for the wheel downloads (forms as in fetch-wheel); "
            "repeatable, tried before the origin, adds to $MAMBA_DOCTOR_MIRROR."),
        find_links: List[Path] = typer.Option(
            [], "--find-links", metavar="DIR",
            help="Look for wheels and dependencies in this folder first (repeatable)."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print the plan and the exact commands; change nothing."),
        no_verify: bool = typer.Option(
            False, "--no-verify", help="Skip importing the kernels after installing."),
        force: bool = typer.Option(
            False, "--force",
            help="Install a --wheel whose tags do not fit; rebuild a cached source build."),
        keep: List[str] = typer.Option(
            [], "--keep", metavar="PKG",
            help="Also keep this installed package at its version (repeatable; torch is always "
            "kept)."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        def body() -> Outcome:
            import time

            from mamba_doctor.probe import choose_target, probed

            options = _options(version, wheel, no_causal_conv1d, from_source, sdist,
                               arch, jobs, mirror, find_links, dry_run, no_verify, force, keep,
                               json_mode, bundle)
            start = time.monotonic()
            target = probed(choose_target(python))
            return install_outcome(options, target, probe_seconds=time.monotonic() - start,
                                   json_mode=json_mode)

        run_command("install", json_mode=json_mode, body=body)


_HELP = (
    "Install mamba-ssm and causal-conv1d into a Python that already has torch, without ever "
    "changing torch, and prove the kernels import.\n\n"
    "Picks the prebuilt wheels that fit (or takes --wheel files, or builds --from-source for "
    "this GPU only), checks the dependency plan with pip's dry run under a pin of the installed "
    "torch, installs with --no-deps, then imports the kernels in the target. On failure it "
    "prints what was installed before and the command that restores it.\n\n" + EXIT_CODE_HELP
)


def _options(version: Optional[str], wheel: list[Path],
             no_causal_conv1d: bool, from_source: bool, sdist: list[Path], arch: Optional[str],
             jobs: Optional[int], mirror: list[str], find_links: list[Path], dry_run: bool,
             no_verify: bool, force: bool, keep: list[str], json_mode: bool,
             bundle: Optional[Path] = None) -> InstallOptions:
    from mamba_doctor.config import mirrors_from_env
    from mamba_doctor.install.pipeline import InstallOptions
    from mamba_doctor.install.plan import parse_keep

    if wheel and (from_source or sdist):
        raise UsageError("--wheel and --from-source/--sdist exclude each other")
    if bundle is not None and (wheel or from_source or sdist or version):
        raise UsageError("--bundle brings its own wheels: it excludes --wheel, --from-source, "
                         "--sdist and --version")
    if bundle is not None and not bundle.is_dir():
        raise UsageError(f"--bundle {bundle}: not a folder",
                         hint="Give the folder `mamba-doctor bundle --dest` made.")
    if not from_source and (sdist or arch or jobs):
        raise UsageError("--sdist, --arch and --jobs only apply to --from-source")
    if wheel and version:
        raise UsageError("--version does not apply to --wheel files (their name says it)")
    # Checked here rather than by typer, so that --json still gets its one JSON document.
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1")
    for flag, paths in (("--wheel", wheel), ("--sdist", sdist)):
        for path in paths:
            if path.is_dir():
                raise UsageError(f"{flag} {path}: is a folder; give the file")
    for path in find_links:
        if path.exists() and not path.is_dir():
            raise UsageError(f"--find-links {path}: not a folder",
                             hint="Give the folder that holds the wheels.")
    try:
        keep_names = parse_keep(keep)
    except ValueError as exc:
        raise UsageError(f"--keep: {exc}") from exc
    return InstallOptions(
        version=version, wheels=tuple(wheel),
        causal_conv1d=not no_causal_conv1d, from_source=from_source, sdists=tuple(sdist),
        arch=arch, jobs=jobs, mirrors=tuple(dict.fromkeys([*mirror, *mirrors_from_env()])),
        find_links=tuple(find_links), dry_run=dry_run, verify=not no_verify, force=force,
        keep=keep_names, show_progress=progress_enabled(json_mode=json_mode),
        bundle=bundle.resolve() if bundle is not None else None,
    )


def install_outcome(options: InstallOptions, target: Target, *, probe_seconds: float = 0.0,
                    json_mode: bool) -> Outcome:
    """Run the pipeline on the probed target (the probe is its first step) and turn its report
    or its failure into the command's outcome."""
    from functools import partial

    from mamba_doctor.config import cache_dir
    from mamba_doctor.install.pipeline import install
    from mamba_doctor.install.precheck import blockers_data, unfixed_blockers
    from mamba_doctor.install.steps import Step
    from mamba_doctor.install.view import (
        BuildView,
        print_step,
        render_blockers,
        render_failure,
        render_report,
    )

    console = stderr_console()
    show = not json_mode
    env = target.env
    gpus = ", ".join(g.compute_capability or "?" for g in env.nvidia.gpus) or "none"
    probe_step = Step("probe", "ok", probe_seconds, None,
                      f"python {env.python.version or '?'}, torch {env.torch.version or '-'} "
                      f"(CUDA {env.torch.cuda or '-'}), GPUs: {gpus}")
    blockers = unfixed_blockers(target)
    if show:
        print_step(console, probe_step)
        render_blockers(console, blockers)
    view = BuildView(console, live=progress_enabled(json_mode=json_mode))
    try:
        report = install(
            options, target=target, cache=cache_dir(), environ=os.environ,
            on_step=(lambda s: print_step(console, s)) if show else (lambda _s: None),
            on_build=view.update, earlier=[probe_step],
        )
    except DoctorError as exc:
        exc.data = {**exc.data, "check": blockers_data(blockers)}
        return Outcome.failed(exc, render=partial(render_failure, exc=exc, target=target))
    finally:
        view.stop()
    return Outcome(data={**report.to_dict(), "check": blockers_data(blockers)},
                   render=lambda c: render_report(c, report))
