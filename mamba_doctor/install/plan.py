"""Pure pip/uv plumbing for `install`: argv, dry-run plan parsers, the torch pin, the way back."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mamba_doctor.probe.interpreter import Target

# pip learnt `install --dry-run --report` in 22.2 (pip changelog, 2022-07); older pips cannot show
# a plan before acting, so the doctor refuses to install with them rather than guess.
MIN_PIP_FOR_REPORT = Version("22.2")


@dataclass(frozen=True)
class Installer:
    """How to run `pip install` against the target: its own pip, or `uv pip --python`."""

    kind: str  # "pip" or "uv"
    target: Target
    uv: Optional[str] = None  # path of the uv binary when kind == "uv"

    def argv(self, verb: str, *args: str) -> tuple[str, ...]:
        """`python -m pip <verb> ...` or `uv pip <verb> --python python ...`."""
        python = self.target.python
        if self.kind == "uv":
            return (self.uv or "uv", "pip", verb, "--python", python, *args)
        return (python, "-m", "pip", verb, *args)


@dataclass(frozen=True)
class PlannedInstall:
    """One distribution the installer says it would install."""

    name: str  # canonical name
    version: str
    requested: bool = False  # one of the wheels we asked for (not a dependency)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "requested": self.requested}


def index_args(*, find_links: Sequence[str] = (), no_index: bool = False) -> tuple[str, ...]:
    """Index options shared by every install call (the user's pip config applies otherwise)."""
    out: list[str] = []
    for link in find_links:
        out += ["--find-links", str(link)]
    if no_index:
        out.append("--no-index")
    return tuple(out)


def dry_run_argv(
    installer: Installer, targets: Sequence[str], *, constraint: str, report: str,
    index: Sequence[str] = (),
) -> tuple[str, ...]:
    """The plan check: resolve `targets` WITH their dependencies under the pins; change nothing.

    No `--ignore-installed` and no `--upgrade`: then the plan lists exactly what would change in
    the target (a requirement the installed torch already meets is not listed, one that needs
    another torch is either unsatisfiable under the pin or shows up as a torch install).
    """
    if installer.kind == "uv":
        return installer.argv("install", "--dry-run", "--constraint", constraint, *index, *targets)
    # not --quiet: it would hide pip's "The conflict is caused by: ..." explanation
    return installer.argv(
        "install", "--dry-run", "--report", report, "--constraint", constraint,
        *index, *targets,
    )


def install_argv(
    installer: Installer, targets: Sequence[str], *, constraint: Optional[str] = None,
    index: Sequence[str] = (), force_reinstall: bool = False,
) -> tuple[str, ...]:
    """A real install, always `--no-deps`: the dependency set was decided by the dry run."""
    args = ["--no-deps"]
    if force_reinstall:
        args.append("--force-reinstall")
    if constraint:
        args += ["--constraint", constraint]
    return installer.argv("install", *args, *index, *targets)


@dataclass(frozen=True)
class InstallCommands:
    """The commands that change the target: the dependencies (None: there are none), then the
    extension wheels."""

    dependencies: Optional[tuple[str, ...]]
    wheels: tuple[str, ...]


def install_commands(installer: Installer, wheels: Sequence[str], deps: Sequence[str], *,
                     index: Sequence[str] = ()) -> InstallCommands:
    """What the real run executes and the dry run prints: one function, so they cannot drift.

    `wheels` are the files where the real run has them (the cache, or --wheel paths). No
    `--constraint`: `deps` are exact `name==version` pins from the plan check, installed with
    --no-deps, and that check already refused any change to a pinned package; a constraints
    file would add nothing but a path the dry run cannot know.
    """
    return InstallCommands(
        install_argv(installer, deps, index=index) if deps else None,
        install_argv(installer, wheels, index=index, force_reinstall=True))


def constraints_text(pins: Mapping[str, str]) -> str:
    """A constraints file pinning each protected distribution to its installed version."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def parse_keep(specs: Sequence[str]) -> tuple[str, ...]:
    """--keep values: distribution names (a version part, if given, is ignored: the installed one
    is what is pinned). Raises ValueError on a malformed name."""
    out: list[str] = []
    for spec in specs:
        name = re.split(r"[<>=!~; \[]", spec.strip(), maxsplit=1)[0]
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
            raise ValueError(f"not a package name: {spec!r}")
        out.append(canonicalize_name(name))
    return tuple(dict.fromkeys(out))


def parse_pip_report(text: str) -> tuple[PlannedInstall, ...]:
    """pip's `--report` JSON (format version 1) -> what it would install.

    Raises ValueError when the document is not a pip installation report.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"pip report is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("install"), list):
        raise ValueError("pip report has no 'install' list")
    out = []
    for item in doc["install"]:
        meta = item.get("metadata") or {}
        out.append(PlannedInstall(
            name=canonicalize_name(str(meta.get("name", ""))),
            version=str(meta.get("version", "")),
            requested=bool(item.get("requested")),
        ))
    return tuple(out)


# uv prints its plan on stderr: " + name==1.2.3" to add, " - name==1.0" to remove, and
# " + name @ file:///.../x.whl" for a file we passed.
_UV_LINE = re.compile(r"^\s*([+-])\s+([A-Za-z0-9][A-Za-z0-9._-]*)(?:==(\S+)|\s+@\s+(\S+))")


def parse_uv_dry_run(text: str, *, local_names: Sequence[str] = ()) -> tuple[PlannedInstall, ...]:
    """`uv pip install --dry-run` output -> what it would install (removals of an upgraded
    package appear as its new version being added)."""
    local = {canonicalize_name(n) for n in local_names}
    out = []
    for line in text.splitlines():
        m = _UV_LINE.match(line)
        if m and m.group(1) == "+":
            name = canonicalize_name(m.group(2))
            version = m.group(3) or _version_from_url(m.group(4) or "")
            out.append(PlannedInstall(name, version, requested=name in local or bool(m.group(4))))
    return tuple(out)


def _version_from_url(url: str) -> str:
    parts = url.rsplit("/", 1)[-1].split("-")
    return parts[1] if len(parts) > 2 else ""


def protected_changes(
    plan: Sequence[PlannedInstall], pins: Mapping[str, Optional[str]]
) -> tuple[str, ...]:
    """Sentences for every planned install that would replace (or add) a protected package."""
    out = []
    for item in plan:
        if item.name in pins and not _same_version(item.version, pins[item.name]):
            before = pins[item.name] or "absent"
            out.append(f"{item.name} would change: {before} -> {item.version}")
    return tuple(out)


def dependency_targets(
    plan: Sequence[PlannedInstall], exclude: Sequence[str]
) -> tuple[str, ...]:
    """The `name==version` list of planned dependencies, without our own wheels."""
    skip = {canonicalize_name(n) for n in exclude}
    return tuple(f"{p.name}=={p.version}" for p in plan if p.name not in skip and not p.requested)


def pip_supports_report(version: Optional[str]) -> bool:
    try:
        return version is not None and Version(version) >= MIN_PIP_FOR_REPORT
    except InvalidVersion:
        return False


def restore_argvs(
    installer: Installer,
    previous: Mapping[str, Optional[str]],
    touched: Sequence[str],
    backups: Mapping[str, str] = {},  # read-only default
) -> tuple[tuple[str, ...], ...]:
    """The commands that put `touched` packages back to `previous` (None = was not installed).

    A package with a backup wheel comes back from it (exactly the files it had); one without
    is reinstalled by version from the configured index.
    """
    from_backup = [backups[n] for n in touched if previous.get(n) and n in backups]
    by_version = [f"{n}=={previous[n]}" for n in touched if previous.get(n) and n not in backups]
    remove = [n for n in touched if not previous.get(n)]
    out: list[tuple[str, ...]] = []
    if remove:
        verb_args = ("-y",) if installer.kind == "pip" else ()
        out.append(installer.argv("uninstall", *verb_args, *remove))
    if from_backup:
        out.append(installer.argv("install", "--no-deps", "--force-reinstall", *from_backup))
    if by_version:
        # --no-build-isolation: an old mamba-ssm may come back as an sdist that needs this torch.
        out.append(installer.argv("install", "--no-deps", "--no-build-isolation", *by_version))
    return tuple(out)


def render_argv(argv: Sequence[str]) -> str:
    """A copy-pasteable shell line."""
    return shlex.join(argv)


def _same_version(a: Optional[str], b: Optional[str]) -> bool:
    if a is None or b is None:
        return a == b
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b
