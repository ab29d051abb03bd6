"""`install --from-source`: sdists -> wheels built for the target GPU(s) only, cached for reuse."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from mamba_doctor._files import atomic_copy
from mamba_doctor.advice import commands as cmd
from mamba_doctor.errors import InstallFailed, UsageError
from mamba_doctor.install.build import (
    BuildProgress,
    build_wheel,
    cache_key,
    check_toolchain,
    parse_gpu_arch_list,
    probe_resources,
    size_max_jobs,
    target_archs,
    wheel_argv,
)
from mamba_doctor.install.nvcc_shim import arch_label
from mamba_doctor.install.plan import render_argv
from mamba_doctor.install.sdist import (
    SdistRef,
    build_requirements,
    download_sdist,
    fetch_index_page,
    parse_sdist_filename,
    pick_sdist,
    sdist_requirements,
    unpack_sdist,
)
from mamba_doctor.install.sources import WheelSource
from mamba_doctor.install.steps import Step, StepLog
from mamba_doctor.probe.interpreter import Target

# causal-conv1d first: mamba-ssm's setup does not need it, but a failure there is cheaper.
BUILD_ORDER = ("causal_conv1d", "mamba_ssm")


def source_wheels(
    target: Target, *, packages: Sequence[str], version: Optional[str],
    sdists: Sequence[Path], arch: Optional[str], jobs: Optional[int], cache: Path, dry_run: bool,
    force: bool, environ: Mapping[str, str], log: StepLog,
    on_progress: Callable[[str, float, Optional[BuildProgress], str], None],
    precheck: Callable[[str, Sequence[str]], None] = lambda _p, _r: None,
) -> list[WheelSource]:
    """Check the toolchain, get the sdists, build (or reuse) one wheel each. Raises DoctorError.

    The toolkit is the probe's (CUDA_HOME, its nvcc and version: the one torch's extension
    builder will use). `precheck(package, requirements)` runs before each build with the
    sdist's Requires-Dist, so a plan that would move torch stops the command before the
    compiler starts.
    """
    env, python = target.env, target.python
    sms = target_archs(env, arch)
    toolkit = env.cuda_toolkit
    nvcc_version = toolkit.nvcc_version if toolkit.nvcc_path else None
    check_toolchain(env, nvcc_version)
    # check_toolchain raised unless the probe found nvcc; CUDA_HOME is the folder above it
    nvcc = str(toolkit.nvcc_path)
    home = Path(toolkit.cuda_home) if toolkit.cuda_home else Path(nvcc).resolve().parent.parent
    supported = parse_gpu_arch_list(target.run([nvcc, "--list-gpu-arch"], timeout=60).stdout)
    unsupported = [s for s in sms if supported and s not in supported]
    if unsupported:
        raise InstallFailed(f"nvcc {nvcc_version} cannot generate code for "
                            f"{arch_label(unsupported)}",
                            hint="Use a newer CUDA toolkit (sm_100/sm_120 need 12.8+).")
    cpus, mem = probe_resources()
    n_jobs = jobs or size_max_jobs(cpus, mem)
    log.add(Step("check-toolchain", "ok", 0.0, None,
                 f"nvcc {nvcc_version} at {home}, torch CUDA {env.torch.cuda}, building for "
                 f"{arch_label(sms)}, MAX_JOBS={n_jobs} ({cpus} CPUs, "
                 f"{'?' if mem is None else round(mem / 2**30)} GiB available)"))
    refs = _sdist_refs(sdists, packages, version, log)
    out: list[WheelSource] = []
    for pkg in sorted(refs, key=BUILD_ORDER.index):
        ref, local = refs[pkg]
        built_dir = cache / "built" / f"{pkg}-{ref.version}" / cache_key(env, sms)
        cached = sorted(built_dir.glob("*.whl")) if built_dir.is_dir() else []
        if cached and not force:
            log.add(Step(f"build-{pkg}", "cached", 0.0, None, f"reusing {cached[-1]}"))
            out.append(WheelSource(pkg, cached[-1].name, cached[-1], origin="cache"))
            continue
        if dry_run:
            argv = wheel_argv(python, Path(f"<unpacked {ref.filename}>"), built_dir)
            log.add(Step(f"build-{pkg}", "planned", 0.0, render_argv(argv),
                         f"CUDA_HOME=<shim of {home} restricting -gencode to {arch_label(sms)}> "
                         f"MAX_JOBS={n_jobs}"))
            out.append(WheelSource(pkg, f"{pkg}-{ref.version}-<built>.whl", None, ref.url,
                                   "build"))
            continue
        path = local or _download(ref, cache / "sdists", log)
        precheck(pkg, sdist_requirements(path))
        out.append(_build_one(pkg, ref, path, target=target, home=home, sms=sms, jobs=n_jobs,
                              cache=cache, built_dir=built_dir, environ=environ, log=log,
                              on_progress=on_progress))
    return out


def _build_one(pkg: str, ref: SdistRef, sdist: Path, *, target: Target, home: Path,
               sms: Sequence[int], jobs: int, cache: Path, built_dir: Path,
               environ: Mapping[str, str], log: StepLog,
               on_progress: Callable[[str, float, Optional[BuildProgress], str], None],
               ) -> WheelSource:
    python = target.python
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = cache / "logs" / f"build-{pkg}-{ref.version}-{stamp}.log"
    with tempfile.TemporaryDirectory(prefix=f"mamba-doctor-build-{pkg}-") as tmp:
        work = Path(tmp)
        project = unpack_sdist(sdist, work / "src")
        _check_build_env(target, build_requirements(project), pkg=pkg, log=log)
        try:
            built = build_wheel(
                target, project, package=pkg, version=ref.version, real_cuda_home=home, sms=sms,
                jobs=jobs, workdir=work, log_path=log_path, base_environ=environ,
                on_progress=lambda t, p, line: on_progress(pkg, t, p, line))
        except InstallFailed as exc:
            log.add(Step(f"build-{pkg}", "failed", 0.0, None, f"log: {log_path}"))
            raise exc
        built_dir.mkdir(parents=True, exist_ok=True)
        kept = built_dir / built.path.name
        atomic_copy(built.path, kept)
    log.add(Step(f"build-{pkg}", "ok", built.seconds, render_argv(
        wheel_argv(python, Path(f"<unpacked {ref.filename}>"), built_dir)),
        f"{arch_label(sms)}, MAX_JOBS={jobs}, log: {log_path}"))
    return WheelSource(pkg, kept.name, kept, origin="build")


def _check_build_env(target: Target, needs: Sequence[str], *, pkg: str, log: StepLog) -> None:
    """Refuse before compiling when the target lacks what the build imports: with
    --no-build-isolation the build uses the target's own packages and pip checks none of them.
    A missing ninja only warns: torch then falls back to a one-file-at-a-time build that ignores
    MAX_JOBS (slow, but it works)."""
    python = target.python
    if target.pip_version is None:
        raise InstallFailed(f"building {pkg} runs `pip wheel` in the target, which has no pip",
                            hint=f"Add pip first: {cmd.interpreter(python)} -m ensurepip (or: uv "
                                 f"pip install --python {cmd.interpreter(python)} pip).")
    have = target.installed(needs)
    absent = [n for n in needs if not have.get(n)]
    missing = [n for n in absent if n != "ninja"]
    if "ninja" in absent:
        log.add(Step(f"check-build-requirements-{pkg}", "ok", 0.0, None,
                     f"ninja is missing: the build will compile one file at a time and ignore "
                     f"MAX_JOBS (faster: {cmd.pip_install(python, 'ninja')})"))
    if missing:
        raise InstallFailed(
            f"building {pkg} needs {', '.join(missing)} in the target (the build uses the "
            "target's own packages, so that it compiles against its torch); nothing was changed",
            hint="Install them first (none of them changes torch): "
                 + cmd.pip_install(python, *missing),
            data={"missing_build_requirements": missing})


def _sdist_refs(sdists: Sequence[Path], packages: Sequence[str], version: Optional[str],
                log: StepLog) -> dict[str, tuple[SdistRef, Optional[Path]]]:
    """--sdist files when given (only those are built), else the index's sdists."""
    refs: dict[str, tuple[SdistRef, Optional[Path]]] = {}
    if sdists:
        for path in sdists:
            if not path.is_file():
                raise UsageError(f"--sdist {path}: no such file")
            try:
                pkg, ver = parse_sdist_filename(path.name)
            except ValueError as exc:
                raise UsageError(f"--sdist {path}: {exc}") from exc
            if pkg not in BUILD_ORDER:
                raise UsageError(f"--sdist {path}: not mamba_ssm or causal_conv1d")
            refs[pkg] = (SdistRef(pkg, ver, path.name, path.resolve().as_uri(), None),
                         path.resolve())
        return refs
    mamba: Optional[SdistRef] = None
    for pkg in sorted(packages, key=("mamba_ssm", "causal_conv1d").index):
        if pkg == "mamba_ssm":
            mamba = pick_sdist(pkg, fetch_index_page(pkg), version)
            refs[pkg] = (mamba, None)
        else:  # the causal_conv1d whose binding the mamba_ssm being built calls (the index)
            refs[pkg] = (pick_sdist(pkg, fetch_index_page(pkg), None,
                                    within=_companion(mamba.version) if mamba else None), None)
    log.add(Step("find-sdists", "ok", 0.0, None,
                 ", ".join(f"{r.filename} (sha256 {str(r.sha256)[:12]}...)"
                           for r, _ in refs.values())))
    return refs


def _download(ref: SdistRef, dest: Path, log: StepLog) -> Path:
    # Not the wheel downloader: it verifies wheels (zip, name), and an sdist is a tarball.
    start = time.monotonic()
    path = download_sdist(ref, dest)
    log.add(Step(f"download-{ref.package}-sdist", "ok", time.monotonic() - start, None, str(path)))
    return path


def _companion(mamba_version: str) -> Optional[tuple[str, Optional[str]]]:
    from mamba_doctor.wheels.index import load_index

    rel = next(iter(load_index().matching("mamba_ssm", mamba_version)), None)
    return rel.companion if rel is not None else None
