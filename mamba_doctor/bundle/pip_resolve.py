"""Ask pip what the *server* would install, on this machine: every dependency it lacks.

pip resolves as if it ran on the server: `install --dry-run --report` with the server's wheel
tags (`--platform/--python-version/--implementation/--abi`, recorded by `check --json`), in an
interpreter whose only "installed" distributions are the server's, written as bare dist-info
folders (a shadow of its site-packages). So pip skips what the server has (torch above all),
picks wheels that install there, and its report names each file's URL and sha256.
Two things `--python-version` does not do are done by the bootstrap below: pip runs with `-S`
(nothing of this machine's site-packages counts as installed) and environment markers
(`importlib-metadata; python_version < "3.10"`) are evaluated for the server's Python and
platform, not this one's (pip evaluates them with packaging's `default_environment()`,
https://packaging.python.org/en/latest/specifications/dependency-specifiers/#environment-markers).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.errors import DoctorError, UsageError
from mamba_doctor.install.pip_failure import explain_pip_failure
from mamba_doctor.models import Environment

# Runs pip from `pipdir` (a folder holding only a link to the pip package) with `shadow` as the
# installed distributions and the server's marker values.
BOOTSTRAP = r'''
import json, sys
pipdir, shadow, markers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
del sys.argv[1:4]
sys.path[:0] = [pipdir] + ([shadow] if shadow else [])
if markers:
    import pip._vendor.packaging.markers as m
    _default = m.default_environment
    def default_environment():
        env = _default()
        env.update(markers)
        return env
    m.default_environment = default_environment
from pip._internal.cli.main import main
sys.exit(main())
'''
# install --dry-run --report came in pip 22.2, --platform/--abi with --dry-run (instead of only
# with --target) in 23.3 (pip/_internal/cli/cmdoptions.py: check_dist_restriction)
MIN_PIP = (23, 3)


class ResolveFailed(DoctorError):
    """pip could not find a set of wheels for the server (its explanation is in the message)."""

    code = "bundle_resolution_failed"


@dataclass(frozen=True)
class Pip:
    python: str
    package_dir: str  # .../site-packages/pip
    version: str


@dataclass(frozen=True)
class Planned:
    """One distribution pip would install on the server."""

    name: str
    version: str
    url: str
    sha256: Optional[str]
    requested: bool
    requires: tuple[str, ...]  # Requires-Dist, as written

    @property
    def filename(self) -> str:
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])


def find_pip(candidates: Sequence[str], *, run: Runner = _run.run) -> Pip:
    """The first interpreter among `candidates` with a pip new enough. Raises UsageError."""
    probe = ("import os, pip; print(os.path.dirname(pip.__file__)); print(pip.__version__)")
    tried = []
    for python in dict.fromkeys(candidates):
        done = run([python, "-c", probe], timeout=30)
        lines = done.stdout.strip().splitlines()
        if not done.ok or len(lines) != 2:
            tried.append(f"{python}: no pip")
            continue
        version = lines[1].strip()
        if _version_tuple(version) < MIN_PIP:
            tried.append(f"{python}: pip {version} is older than 23.3")
            continue
        return Pip(python, lines[0].strip(), version)
    raise UsageError("bundle needs pip 23.3 or newer on this machine to resolve the server's "
                     "dependencies (" + "; ".join(tried) + ")",
                     hint="python3 -m pip install -U pip (or give --pip-python PATH).")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def marker_environment(env: Environment) -> dict[str, str]:
    """The server's values for the PEP 508 markers pip evaluates (unknown ones left to pip)."""
    out: dict[str, str] = {}
    version = env.python.version
    if version:
        out["python_full_version"] = version
        out["python_version"] = ".".join(version.split(".")[:2])
    impl = (env.python.implementation or "").lower()
    if impl:
        out["implementation_name"] = impl
        out["platform_python_implementation"] = {"cpython": "CPython",
                                                 "pypy": "PyPy"}.get(impl, impl)
        if impl == "cpython" and version:
            out["implementation_version"] = version
    plat = env.python.platform_tag or ""
    if plat.startswith("linux_") or env.os.system == "Linux":
        out.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    arch = env.os.arch or (plat.split("_", 1)[1] if plat.startswith("linux_") else None)
    if arch:
        out["platform_machine"] = arch
    return out


def server_tags(env: Environment) -> tuple[list[str], list[str]]:
    """(platforms, abis) for pip's --platform/--abi: as the server reported them, else derived
    from its glibc and architecture (manylinux_2_N down to 2_17 and the legacy aliases,
    https://peps.python.org/pep-0600/)."""
    plats = [p for p in env.python.supported_platforms if p != "any"]
    abis = list(env.python.supported_abis)
    py = env.python.abi_tag
    if not abis and py:
        abis = [py, "abi3", "none"]
    if not plats:
        arch = env.os.arch or _arch_of(env.python.platform_tag)
        if arch is None:
            raise UsageError("the --env file says neither the platform nor the architecture",
                             hint="Save it again with: mamba-doctor check --json > server.json")
        plats = derive_platforms(env.os.glibc, arch)
    if not abis:
        raise UsageError("the --env file does not say the server's Python version",
                         hint="Save it again with: mamba-doctor check --json > server.json")
    return plats, abis


def derive_platforms(glibc: Optional[str], arch: str) -> list[str]:
    """manylinux_2_N for N from the server's glibc down (to 5 on x86, where manylinux1 began; to
    17 elsewhere), each legacy alias after its glibc (PEP 600, as packaging.tags orders them),
    then linux_<arch>."""
    major, _, minor = (glibc or "2.17").partition(".")
    top = int(minor) if major == "2" and minor.isdigit() else 17
    x86 = arch in ("x86_64", "i686")
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    plats = []
    for m in range(top, 4 if x86 else 16, -1):
        plats.append(f"manylinux_2_{m}_{arch}")
        if m in aliases and (x86 or m == 17):
            plats.append(f"{aliases[m]}_{arch}")
    return [*plats, f"linux_{arch}"]


def _arch_of(platform_tag: Optional[str]) -> Optional[str]:
    if platform_tag and platform_tag.startswith("linux_"):
        return platform_tag.split("_", 1)[1]
    return None


def write_shadow(folder: Path, distributions: Mapping[str, str]) -> Path:
    """A folder of bare dist-info directories, one per distribution the server has."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in distributions.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or not version \
                or "/" in version or "\n" in version:
            continue  # a hostile or broken --env file must not write outside the shadow
        dist = re.sub(r"[-_.]+", "_", name)
        info = folder / f"{dist}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder


def resolve_for_server(
    pip: Pip, env: Environment, requirements: Sequence[str], *, workdir: Path,
    installed: Mapping[str, str], constraints: Sequence[str] = (),
    index_url: Optional[str] = None, extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (), run: Runner = _run.run,
    environ: Optional[Mapping[str, str]] = None,
) -> list[Planned]:
    """pip's plan for installing `requirements` on the server. Raises ResolveFailed."""
    plats, abis = server_tags(env)
    pipdir = workdir / "pip"
    pipdir.mkdir(parents=True, exist_ok=True)
    link = pipdir / "pip"
    if not link.exists():
        os.symlink(pip.package_dir, link)
    shadow = write_shadow(workdir / "shadow", installed)
    constraint = workdir / "constraints.txt"
    constraint.write_text("".join(f"{c}\n" for c in constraints))
    report = workdir / "pip-report.json"
    py = env.python.version or ""
    argv = [pip.python, "-S", "-c", BOOTSTRAP, str(pipdir), str(shadow),
            json.dumps(marker_environment(env)), "install", "--dry-run",
            "--disable-pip-version-check", "--no-input", "--report", str(report),
            "--only-binary=:all:", "--python-version", ".".join(py.split(".")[:2]),
            "--implementation", "cp" if (env.python.implementation or "cpython") == "cpython"
            else "pp", "--constraint", str(constraint)]
    for p in plats:
        argv += ["--platform", p]
    for a in abis:
        argv += ["--abi", a]
    if index_url:
        argv += ["--index-url", index_url]
    for url in extra_index_urls:
        argv += ["--extra-index-url", url]
    for link_dir in find_links:
        argv += ["--find-links", link_dir]
    argv += list(requirements)
    # a dry run with --report changes nothing; older pips would still refuse an OS-managed
    # interpreter (PEP 668) without this
    child_env = {**(os.environ if environ is None else environ),
                 "PIP_BREAK_SYSTEM_PACKAGES": "1", "PYTHONNOUSERSITE": "1"}
    done = run(argv, timeout=900, env=child_env)
    if not done.ok:
        message, hint = explain_pip_failure(done.stderr + done.stdout, offline=False)
        raise ResolveFailed(message, hint=hint,
                            data={"pip_output": (done.stderr + done.stdout)[-6000:]})
    return parse_report(report.read_text(encoding="utf-8"))


def parse_report(text: str) -> list[Planned]:
    """pip's installation report (format 1) -> what it would install, with URLs and digests."""
    try:
        doc = json.loads(text)
        items = doc["install"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ResolveFailed(f"pip gave no usable installation report ({exc})") from None
    out = []
    for item in items:
        meta = item.get("metadata") or {}
        info = item.get("download_info") or {}
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        out.append(Planned(name=str(meta.get("name", "")), version=str(meta.get("version", "")),
                           url=str(info.get("url", "")), sha256=hashes.get("sha256"),
                           requested=bool(item.get("requested")),
                           requires=tuple(meta.get("requires_dist") or ())))
    return out
