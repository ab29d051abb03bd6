"""`mamba-doctor bundle`: one folder holding everything an offline server needs for Mamba.

For the server described by `check --json` (its platform, Python, torch, installed
distributions and pip tags): the prebuilt mamba_ssm + causal_conv1d pair (resolver +
downloader), every runtime dependency the server lacks (pip, resolving as the server would:
bundle/pip_resolve.py), never torch unless asked, mamba-doctor.pyz, manifest.json and
INSTALL.txt. Downloads resume and are verified; rerunning finishes an interrupted bundle.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mamba_doctor import _run
from mamba_doctor.bundle.instructions import install_command, install_text
from mamba_doctor.bundle.pip_resolve import (
    Pip,
    Planned,
    find_pip,
    marker_environment,
    resolve_for_server,
)
from mamba_doctor.errors import NoCompatibleWheel, UsageError
from mamba_doctor.install.manifest import Entry, Manifest, entry_for, write_manifest
from mamba_doctor.models import Environment

PAIR = ("mamba_ssm", "causal_conv1d")
PYTORCH_INDEX = "https://download.pytorch.org/whl/{variant}"


@dataclass(frozen=True)
class BundleOptions:
    dest: Path
    version: Optional[str] = None
    with_torch: bool = False
    mirrors: tuple[str, ...] = ()
    index_url: Optional[str] = None
    find_links: tuple[Path, ...] = ()
    zipapp: Optional[Path] = None  # an existing mamba-doctor.pyz to put in
    include_zipapp: bool = True
    allow_http: bool = False
    retries: int = 5
    timeout: float = 30.0
    show_progress: bool = False
    pip_python: Optional[str] = None


@dataclass
class BundleReport:
    dest: Path
    entries: list[Entry] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)  # server dists pip did not need
    notes: list[str] = field(default_factory=list)
    install_command: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "files": [e.to_dict() for e in self.entries],
                "total_bytes": sum(e.size for e in self.entries), "notes": self.notes,
                "install_command": self.install_command}


Step = Callable[[str], None]


def make_bundle(env: Environment, options: BundleOptions, *, cache: Path,
                run: _run.Runner = _run.run, environ: Optional[Mapping[str, str]] = None,
                on_step: Step = lambda _s: None) -> BundleReport:
    """Fill `options.dest`; manifest.json is written last. Raises DoctorError subclasses."""
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    if env.torch.version is None and not options.with_torch:
        raise UsageError("the --env file shows no torch on the server: the kernels are built "
                         "for one torch, so there is nothing to match",
                         hint="Install torch on the server first (mamba-doctor plan says which), "
                         "or bundle it too with --with-torch and --torch-version.")
    dest = options.dest
    dest.mkdir(parents=True, exist_ok=True)
    report = BundleReport(dest)
    on_step("resolving the mamba_ssm + causal_conv1d pair")
    index = load_index()
    resolutions = resolve_pair(env, index, version=options.version)
    missing = [r for r in resolutions if r.wheel is None]
    if missing:
        from mamba_doctor.advice.wheels import best_way_out, no_wheel_summary
        from mamba_doctor.probe.interpreter import Target

        way = best_way_out(Target.described(env), missing[0], index)
        raise NoCompatibleWheel(no_wheel_summary(missing[0]), hint=way.text(),
                                data={"resolutions": [r.to_dict() for r in resolutions]})
    on_step("downloading the pair")
    pair = _fetch([(r.package, r.wheel.filename, r.wheel.url, r.wheel.sha256)
                   for r in resolutions if r.wheel is not None], options, cache, github=True)
    for res, path in zip(resolutions, pair):
        report.entries.append(entry_for(path, role=res.package, why=_pair_why(res.wheel),
                                        name=res.package, version=res.version))

    on_step("resolving the dependencies the server lacks (pip, for the server's tags)")
    pip = find_pip(_pip_candidates(options), run=run)
    planned, installed = _plan_dependencies(env, options, pip, pair, run=run, environ=environ)
    report.already_there = sorted(installed)
    deps = [p for p in planned if canonicalize_name(p.name) not in {canonicalize_name(n)
                                                                     for n in PAIR}]
    if deps:
        on_step(f"downloading {len(deps)} dependencies")
    paths = _fetch([(p.name, p.filename, p.url, p.sha256) for p in deps], options, cache,
                   github=False)
    parents = _required_by(planned, marker_environment(env))
    for p, path in zip(deps, paths):
        role = "torch" if canonicalize_name(p.name) == "torch" else "dependency"
        why = ("asked for with --with-torch" if role == "torch" else
               "needed by " + ", ".join(parents.get(canonicalize_name(p.name), ["the pair"])))
        report.entries.append(entry_for(path, role=role, why=why, name=p.name,
                                        version=p.version))
    if not env.distributions:
        report.notes.append("the --env file lists no installed distributions (made by an "
                            "older mamba-doctor): every dependency but torch is bundled")

    if options.include_zipapp:
        on_step("adding mamba-doctor.pyz")
        pyz = _zipapp(options, pip, cache, dest, run=run)
        report.entries.append(entry_for(pyz, role="zipapp", why="mamba-doctor itself: runs "
                                        "on the server as `python3 mamba-doctor.pyz`, nothing "
                                        "to install"))
    report.install_command = install_command(env, options.include_zipapp)
    (dest / "INSTALL.txt").write_text(install_text(env, report.entries, report.install_command),
                                      encoding="utf-8")
    from mamba_doctor import __version__

    target = {"python": env.python.version, "python_executable": env.python.executable,
              "torch": env.torch.version, "platform": env.python.platform_tag,
              "constraints": [f"torch=={env.torch.version}"] if env.torch.version else []}
    write_manifest(dest, Manifest(tuple(report.entries), target,
                                  f"mamba-doctor {__version__}"))
    return report


def _pip_candidates(options: BundleOptions) -> list[str]:
    if options.pip_python:
        return [options.pip_python]
    return [p for p in (sys.executable, shutil.which("python3"), shutil.which("python")) if p]


def _plan_dependencies(env: Environment, options: BundleOptions, pip: Pip,
                       pair: Sequence[Path], *, run: _run.Runner,
                       environ: Optional[Mapping[str, str]]) -> tuple[list[Planned], list[str]]:
    installed = _server_installed(env)
    requirements = [str(p) for p in pair]
    extra_index: list[str] = []
    torch = env.torch.version
    if options.with_torch:
        installed.pop("torch", None)
        requirements.append(f"torch=={torch}")
        local = torch.split("+", 1)[1] if torch and "+" in torch else None
        if local:  # +cu118 builds live on the PyTorch index, not on PyPI
            extra_index.append(PYTORCH_INDEX.format(variant=local))
    with tempfile.TemporaryDirectory(prefix="mamba-doctor-bundle-") as tmp:
        planned = resolve_for_server(
            pip, env, requirements, workdir=Path(tmp), installed=installed,
            constraints=[f"torch=={torch}"] if torch else [], index_url=options.index_url,
            extra_index_urls=extra_index, find_links=[str(p) for p in options.find_links],
            run=run, environ=environ)
    if not options.with_torch and any(canonicalize_name(p.name) == "torch" for p in planned):
        raise UsageError("pip would bring another torch to the server",
                         hint="A dependency wants a torch other than the server's; choose an "
                         "older mamba_ssm with --version.")
    return planned, list(installed)


def _server_installed(env: Environment) -> dict[str, str]:
    """The server's distributions, the pair left out (the bundle brings its own)."""
    have = dict(env.distributions)
    if not have:  # an older --env file: what it does say
        have = {n: p.version for n, p in env.packages.items() if p.version}
        if env.torch.version:
            have["torch"] = env.torch.version
    skip = {canonicalize_name(n) for n in PAIR}
    return {n: v for n, v in have.items() if canonicalize_name(n) not in skip}


def _fetch(items: Sequence[tuple[str, str, str, Optional[str]]], options: BundleOptions,
           cache: Path, *, github: bool) -> list[Path]:
    """Verified copies in dest/ (resumed, from the cache when already there). `github`: release
    assets, which --mirror / $MAMBA_DOCTOR_MIRROR serve; the rest come from pip's index."""
    from mamba_doctor.config import mirrors_from_env
    from mamba_doctor.download.fetch import FetchRequest, fetch_files

    local = [(i, it) for i, it in enumerate(items) if it[2].startswith("file:")]
    remote = [(i, it) for i, it in enumerate(items) if not it[2].startswith("file:")]
    out: dict[int, Path] = {}
    for i, (_pkg, filename, url, sha) in local:  # pip found it in a --find-links folder
        from urllib.parse import unquote, urlsplit

        from mamba_doctor.download.integrity import sha256_file

        source = Path(unquote(urlsplit(url).path))
        target = options.dest / filename
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        if sha and sha256_file(target) != sha.lower():
            target.unlink()
            raise UsageError(f"{source}: the copy does not match the sha256 pip read from it "
                             "(the folder changed, or the disk is failing)")
        out[i] = target
    if remote:
        results = fetch_files(
            [FetchRequest(pkg, filename, url, sha) for _, (pkg, filename, url, sha) in remote],
            dest=options.dest, cache_dir=cache,
            mirrors=(*options.mirrors, *mirrors_from_env()) if github else (),
            find_links=options.find_links, retries=options.retries, timeout=options.timeout,
            allow_http=options.allow_http, show_progress=options.show_progress)
        for (i, _), result in zip(remote, results):
            out[i] = result.path
    return [out[i] for i in range(len(items))]


def _required_by(planned: Sequence[Planned], markers: Mapping[str, str]) -> dict[str, list[str]]:
    """Dependency name -> the planned distributions whose Requires-Dist names it (for the
    server's markers, extras left aside)."""
    parents: dict[str, list[str]] = {}
    for p in planned:
        for text in p.requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None:
                try:
                    if not req.marker.evaluate({**markers, "extra": ""}):
                        continue
                except Exception:  # a marker packaging cannot evaluate: count it
                    pass
            parents.setdefault(canonicalize_name(req.name), []).append(p.name)
    return parents


def _pair_why(wheel: Any) -> str:
    abi = "cxx11abiTRUE" if wheel.cxx11abi else "cxx11abiFALSE"
    return (f"the kernels, built for torch {wheel.torch}, CUDA {wheel.cuda}, {abi}, "
            f"Python {wheel.python}, {wheel.platform}")


def _zipapp(options: BundleOptions, pip: Pip, cache: Path, dest: Path, *,
            run: _run.Runner) -> Path:
    from mamba_doctor._resources import zipapp_archive
    from mamba_doctor.bundle.zipapp import NAME, build_zipapp, download_dependencies

    target = dest / NAME
    source = options.zipapp or zipapp_archive()
    if source is not None:
        if not Path(source).is_file():
            raise UsageError(f"--zipapp {source}: no such file")
        if Path(source).resolve() != target.resolve():
            shutil.copyfile(source, target)
        return target
    wheels = download_dependencies(cache / "zipapp-wheels", python=pip.python,
                                   index_url=options.index_url,
                                   find_links=[str(p) for p in options.find_links], run=run)
    return build_zipapp(target, wheels).path
