"""`install`: from a working torch to verified Mamba kernels, torch untouched, way back recorded."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._files import last_lines
from mamba_doctor.advice import commands as cmd
from mamba_doctor.errors import (
    DoctorError,
    InstallFailed,
    Interrupted,
    TargetNotReady,
)
from mamba_doctor.install.build import BuildProgress
from mamba_doctor.install.collisions import check_collisions
from mamba_doctor.install.import_check import VerifyResult, verify_modules
from mamba_doctor.install.interrupts import reraise, signal_name
from mamba_doctor.install.plan import (
    Installer,
    PlannedInstall,
    dependency_targets,
    index_args,
    install_commands,
    render_argv,
    restore_argvs,
)
from mamba_doctor.install.sources import (
    PACKAGES,
    WheelSource,
    canonical,
    resolved_wheels,
    user_wheels,
)
from mamba_doctor.install.steps import (
    Step,
    StepLog,
    backup,
    check_plan,
    choose_installer,
    verify,
)
from mamba_doctor.models import Environment
from mamba_doctor.probe.interpreter import Target

PROTECTED = ("torch",)


@dataclass(frozen=True)
class InstallOptions:
    """Everything the user chose; plain values resolved by the CLI."""

    version: Optional[str] = None
    wheels: tuple[Path, ...] = ()
    causal_conv1d: bool = True
    from_source: bool = False
    sdists: tuple[Path, ...] = ()
    arch: Optional[str] = None
    jobs: Optional[int] = None
    mirrors: tuple[str, ...] = ()
    find_links: tuple[Path, ...] = ()
    dry_run: bool = False
    verify: bool = True
    force: bool = False
    keep: tuple[str, ...] = ()  # canonical names
    show_progress: bool = False
    bundle: Optional[Path] = None  # a folder made by `mamba-doctor bundle`: install from it only


@dataclass
class InstallReport:
    """What happened: the `data` of `install --json`."""

    python: str
    dry_run: bool
    steps: list[dict[str, Any]] = field(default_factory=list)
    wheels: list[WheelSource] = field(default_factory=list)
    plan: tuple[PlannedInstall, ...] = ()
    pins: dict[str, str] = field(default_factory=dict)
    previous: dict[str, Optional[str]] = field(default_factory=dict)
    installed: dict[str, Optional[str]] = field(default_factory=dict)
    restore: tuple[str, ...] = ()
    backups: dict[str, str] = field(default_factory=dict)
    verification: Optional[VerifyResult] = None
    diagnosis: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python, "dry_run": self.dry_run, "steps": self.steps,
            "wheels": [w.to_dict() for w in self.wheels],
            "plan": [p.to_dict() for p in self.plan], "pins": self.pins,
            "previous": self.previous, "installed": self.installed,
            "restore": list(self.restore), "backups": self.backups,
            "verification": self.verification.to_dict() if self.verification else None,
            "diagnosis": self.diagnosis,
        }


OnBuild = Callable[[str, float, Optional[BuildProgress], str], None]


def install(
    options: InstallOptions, *, target: Target, cache: Path,
    environ: Optional[Mapping[str, str]] = None, on_step: Callable[[Step], None] = lambda _s: None,
    on_build: OnBuild = lambda *_: None, earlier: Sequence[Step] = (),
) -> InstallReport:
    """Run the pipeline on the probed `target`. Raises DoctorError subclasses whose `data` is
    this report so far.

    `earlier` steps (the CLI's probe) head the report's step list. Ctrl-C, SIGTERM or SIGHUP
    (see _run.interrupts_end_children) raise errors.Interrupted carrying the report: pip is
    never killed mid-install (it is let finish), so each package is either as it was or
    completely installed, and `previous`, `installed`, `restore` and `backups` say which and
    how to go back.
    """
    log = StepLog(steps=list(earlier), on_step=on_step)
    report = InstallReport(target.python, options.dry_run)
    try:
        _pipeline(options, target=target, cache=cache, environ=environ or {}, log=log,
                  report=report, on_build=on_build)
    except DoctorError as exc:
        report.steps = log.to_list()
        exc.data = {**report.to_dict(), **exc.data}
        raise
    except KeyboardInterrupt as exc:
        report.steps = log.to_list()
        raise _interrupted(report, exc, target=target) from None
    report.steps = log.to_list()
    return report


def _interrupted(report: InstallReport, exc: KeyboardInterrupt, *,
                 target: Target) -> Interrupted:
    """The report of an interrupted install: what is there now, and the way back."""
    which = signal_name(exc)
    touched = list(report.previous)
    if touched:
        # a second interrupt, or a target that does not answer: report what is known
        with contextlib.suppress(KeyboardInterrupt, DoctorError):
            report.installed = target.installed(touched)
    changed = {k: v for k, v in report.installed.items() if v != report.previous.get(k)}
    if not changed:
        message = f"interrupted ({which}); nothing was changed"
        hint = None
    else:
        moves = ", ".join(f"{k} {report.previous.get(k) or '(absent)'} -> {v or '(absent)'}"
                          for k, v in sorted(changed.items()))
        message = (f"interrupted ({which}) after pip had started; it was let finish, so every "
                   f"package is complete: {moves}")
        hint = _way_back_hint(report)
    return Interrupted(message, hint=hint, data={**report.to_dict(), "interrupted": which})


def _stop_if_interrupted(done: _run.Completed) -> None:
    if done.interrupted:
        raise reraise(done.interrupted)


def _pipeline(options: InstallOptions, *, target: Target, cache: Path,
              environ: Mapping[str, str], log: StepLog, report: InstallReport,
              on_build: OnBuild) -> None:
    python = target.python
    protected = tuple(dict.fromkeys((*PROTECTED, *options.keep)))
    # torch and the probe's packages are known; only other --keep names are asked for
    known = target.known_versions(protected)
    pinned = {**known, **target.installed([n for n in protected if n not in known])}
    if target.externally_managed:
        raise InstallFailed(
            f"{python} is managed by the operating system (PEP 668: EXTERNALLY-MANAGED); "
            "installing into it could break system tools",
            hint="Create a virtual environment that sees the system torch and install there: "
                 f"{cmd.interpreter(python)} -m venv --system-site-packages ~/.venvs/mamba && "
                 "mamba-doctor install --python ~/.venvs/mamba/bin/python")
    installer = choose_installer(target)
    log.add(Step("installer", "ok", 0.0, None, f"{installer.kind} "
                 f"{target.pip_version if installer.kind == 'pip' else installer.uv}"))
    if not pinned.get("torch"):
        raise TargetNotReady(f"torch is not installed in {python}",
                             hint="Install the torch you want first (`mamba-doctor check` "
                                  "says which fits this driver); mamba-doctor never chooses "
                                  "torch for you.")
    report.pins = {k: v for k, v in pinned.items() if v}
    missing_keep = [k for k in options.keep if not pinned.get(k)]
    log.add(Step("pin-protected", "ok", 0.0, None,
                 ", ".join(f"{k}=={v}" for k, v in sorted(report.pins.items()))
                 + (f" (--keep not installed, ignored: {', '.join(missing_keep)})"
                    if missing_keep else "")))

    # Constraints and pip's report stay in the cache, so the printed commands can be rerun.
    # Made on first use: a run that stops earlier (no wheel fits, bad --wheel) leaves nothing.
    # A dry run writes nothing anywhere: its plan check works in a temporary folder, removed.
    made: list[Path] = []

    def workdir() -> Path:
        if not made and options.dry_run:
            made.append(Path(tempfile.mkdtemp(prefix="mamba-doctor-dry-run-")))
        elif not made:
            (cache / "runs").mkdir(parents=True, exist_ok=True)
            made.append(Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"),
                                              dir=cache / "runs")))
        return made[0]

    try:
        _steps(options, target=target, cache=cache, environ=environ, log=log, report=report,
               on_build=on_build, workdir=workdir, installer=installer)
    finally:
        if options.dry_run and made:
            shutil.rmtree(made[0], ignore_errors=True)


def _steps(options: InstallOptions, *, target: Target, cache: Path,
           environ: Mapping[str, str], log: StepLog, report: InstallReport,
           on_build: OnBuild, workdir: Callable[[], Path], installer: Installer) -> None:
    python, env = target.python, target.env
    packages = PACKAGES if options.causal_conv1d else ("mamba_ssm",)
    links = [*([str(options.bundle)] if options.bundle else []), *map(str, options.find_links)]
    index = index_args(find_links=links, no_index=options.bundle is not None)

    def precheck(package: str, requirements: Sequence[str]) -> None:
        if requirements:
            check_plan(installer, requirements, report.pins, workdir=workdir() / package,
                       index=index, log=log, local_names=(),
                       step=f"check-dependencies-before-build-{package}")

    if options.bundle is not None:
        from mamba_doctor.install.bundle import bundle_wheels

        wheels = bundle_wheels(options.bundle, env, force=options.force, log=log)
    elif options.wheels:
        wheels = user_wheels(options.wheels, env, force=options.force, log=log)
    elif options.from_source:
        from mamba_doctor.install.from_source import source_wheels

        wheels = source_wheels(
            target, packages=packages, version=options.version,
            sdists=options.sdists, arch=options.arch, jobs=options.jobs, cache=cache,
            dry_run=options.dry_run, force=options.force, environ=environ, log=log,
            on_progress=on_build, precheck=precheck)
    else:
        wheels = resolved_wheels(
            target, version=options.version, packages=packages, cache=cache,
            mirrors=options.mirrors, find_links=options.find_links,
            download=not options.dry_run, show_progress=options.show_progress, log=log)
    report.wheels = list(wheels)
    names = [canonical(w.package) for w in wheels]
    targets = [w.target for w in wheels]  # where the real run has them
    readable = [w.check_target for w in wheels]  # a verified copy there now
    pinned = ", ".join(f"{k}=={v}" for k, v in sorted(report.pins.items()))
    if any(r is None for r in readable):  # dry run, files not here yet: no plan without them
        log.add(Step("check-dependencies", "planned", 0.0, None,
                     f"after the download: the installer's dry run of these wheels with their "
                     f"dependencies, {pinned} pinned; it decides the dependency install"))
        log.add(Step("install-dependencies", "planned", 0.0, None,
                     "the dependencies that check finds missing, each as name==version, "
                     "--no-deps (none: this step is skipped)"))
        commands = install_commands(installer, targets, (), index=index)
        log.add(Step("install-wheels", "planned", 0.0, render_argv(commands.wheels)))
        _plan_verify(log, python, options)
        report.previous = target.installed(names)
        return

    plan, _constraint = check_plan(installer, [str(r) for r in readable], report.pins,
                                   workdir=workdir(), index=index, log=log, local_names=names,
                                   bundle=options.bundle is not None,
                                   note=_DRY_CHECK if options.dry_run else None)
    report.plan = plan
    check_collisions(target, [w.path for w in wheels if w.path is not None], names, log=log)
    deps = dependency_targets(plan, names)
    touched = list(dict.fromkeys([*names, *(d.split("==")[0] for d in deps)]))
    report.previous = target.installed(touched)
    backups: dict[str, str] = {}
    present = [n for n in touched if report.previous.get(n)]
    if present and not options.dry_run:
        backups = backup(target, present, workdir() / "backups", log=log)
    report.backups = backups
    report.restore = tuple(render_argv(a) for a in
                           restore_argvs(installer, report.previous, touched, backups))
    commands = install_commands(installer, targets, deps, index=index)
    if options.dry_run:
        if commands.dependencies:
            log.add(Step("install-dependencies", "planned", 0.0,
                         render_argv(commands.dependencies)))
        log.add(Step("install-wheels", "planned", 0.0, render_argv(commands.wheels)))
        _plan_verify(log, python, options)
        return
    if commands.dependencies:
        done = log.run("install-dependencies", commands.dependencies, run=target.run,
                       shield=True)
        _stop_if_interrupted(done)
        _must(done, "installing dependencies")
    done = log.run("install-wheels", commands.wheels, run=target.run, shield=True)
    _stop_if_interrupted(done)
    _must(done, "installing the wheels")
    report.installed = target.installed(touched)

    if not options.verify:
        log.add(Step("verify", "skipped", 0.0, None, "--no-verify"))
        return
    causal = options.causal_conv1d and bool(
        "causal-conv1d" in names or target.installed(["causal-conv1d"]).get("causal-conv1d"))
    result = verify(target, verify_modules(causal_conv1d=causal), log=log)
    report.verification = result
    if not result.ok:
        report.diagnosis = _diagnose(result.error_text, env)
        raise InstallFailed(
            "installed, but the kernels do not work: " + "; ".join(result.failures)[:600],
            hint=_way_back_hint(report),
        )


# The dry run's plan check really ran, in a temporary folder it then removed (a dry run writes
# nothing); its paths are not the real run's, which checks again with its files in the cache.
_DRY_CHECK = ("ran now, in a temporary folder since removed; the real run checks again, "
              "keeping its constraints and pip's report under the cache's runs/ folder")


def _plan_verify(log: StepLog, python: str, options: InstallOptions) -> None:
    if options.verify:
        log.add(Step("verify", "planned", 0.0, f"{python} -c <verification snippet>",
                     "import torch and the kernels in the target"))


def _must(done: _run.Completed, what: str) -> None:
    if not done.ok:
        tail = last_lines(done.stderr or done.stdout, 15)
        raise InstallFailed(f"{what} failed: {done.describe_failure()}",
                            hint=tail or None, data={"pip_output": tail})


def _way_back_hint(report: InstallReport) -> str:
    before = ", ".join(f"{k} {v or '(absent)'}" for k, v in sorted(report.previous.items()))
    cmds = " && ".join(report.restore) or "(nothing to restore)"
    return f"Before this install: {before}. To go back: {cmds}"


def _diagnose(text: str, env: Environment) -> list[dict[str, Any]]:
    """The diagnosis knowledge base's best matches for the verification's error text."""
    from mamba_doctor.diagnose.engine import diagnose

    try:
        return [d.to_dict() for d in diagnose(text, env, limit=3)]
    except Exception:  # a diagnosis bug must not hide the install's result
        return []
