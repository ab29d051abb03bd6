"""The operating system: distro, kernel, arch, glibc, the target's GLIBCXX, WSL, container."""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path
from typing import Callable, Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.models import OsInfo

_GLIBCXX_RE = re.compile(rb"GLIBCXX_(\d+)\.(\d+)(?:\.(\d+))?")
_LDCONFIG_ARCH = {"x86_64": "x86-64", "aarch64": "AArch64", "ppc64le": "ppc64le"}


def parse_os_release(text: str) -> Optional[str]:
    """PRETTY_NAME (else NAME VERSION) from /etc/os-release."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("\"'")
    if values.get("PRETTY_NAME"):
        return values["PRETTY_NAME"]
    name = " ".join(v for v in (values.get("NAME"), values.get("VERSION")) if v)
    return name or None


def parse_glibc_version(text: str) -> Optional[str]:
    """"glibc 2.36" (os.confstr) or the first line of `ldd --version` -> "2.36"."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if "musl" in text.lower():
        return None
    match = re.search(r"(\d+\.\d+)\s*$", first) or re.search(r"\b(2\.\d+)\b", first)
    return match.group(1) if match else None


def parse_glibcxx(data: bytes) -> Optional[str]:
    """Newest GLIBCXX_x.y.z version string found in a libstdc++ binary."""
    found = {tuple(int(p) for p in m.groups() if p is not None) for m in _GLIBCXX_RE.finditer(data)}
    if not found:
        return None
    return ".".join(str(p) for p in max(found))


def parse_ldconfig_libstdcxx(text: str, *, arch: Optional[str]) -> Optional[str]:
    """Path of libstdc++.so.6 for this arch from `ldconfig -p`."""
    want = _LDCONFIG_ARCH.get(arch or "", "")
    fallback = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("libstdc++.so.6 ") or "=>" not in line:
            continue
        path = line.split("=>", 1)[1].strip()
        if want and want in line:
            return path
        fallback = fallback or path
    return fallback


def detect_wsl(proc_version: Optional[str], environ: Mapping[str, str]) -> bool:
    """WSL kernels say "microsoft" in /proc/version; WSL also sets WSL_DISTRO_NAME."""
    if environ.get("WSL_DISTRO_NAME") or environ.get("WSL_INTEROP"):
        return True
    return bool(proc_version) and "microsoft" in (proc_version or "").lower()


def detect_container(
    environ: Mapping[str, str], *, dockerenv: bool = False, containerenv: bool = False
) -> Optional[str]:
    """"ngc-pytorch 24.01" in NVIDIA's PyTorch images, else "docker" / "podman" / None."""
    ngc = environ.get("NVIDIA_PYTORCH_VERSION")
    if ngc:
        return f"ngc-pytorch {ngc}"
    if dockerenv:
        return "docker"
    if containerenv:
        return "podman"
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    return None


ADMIN_GROUPS = ("sudo", "wheel", "admin")  # Debian/Ubuntu, Fedora/RHEL/Arch, older Ubuntu/macOS


def detect_admin() -> Optional[bool]:
    """Root, or a member of a group that may use sudo; None where this cannot be told."""
    if not hasattr(os, "geteuid"):
        return None
    if os.geteuid() == 0:
        return True
    try:
        import grp

        names = {grp.getgrgid(g).gr_name for g in os.getgroups()}
    except (ImportError, KeyError, OSError):
        return None
    return bool(names & set(ADMIN_GROUPS))


def detect_slurm(environ: Mapping[str, str], *,
                 which: Callable[..., Optional[str]] = shutil.which) -> Optional[str]:
    """"job" inside a SLURM allocation (SLURM_JOB_ID, https://slurm.schedmd.com/sbatch.html
    #SECTION_OUTPUT-ENVIRONMENT-VARIABLES), "login" where srun exists but no job runs (a login
    node), else None."""
    if environ.get("SLURM_JOB_ID"):
        return "job"
    if which("srun", path=environ.get("PATH", "")) or which("sbatch", path=environ.get("PATH", "")):
        return "login"
    return None


def probe_glibcxx(path: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(newest GLIBCXX, reason when unknown) from the libstdc++ file at `path`."""
    if not path:
        return None, "no libstdc++ found for the target"
    try:
        data = Path(path).resolve().read_bytes()
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    version = parse_glibcxx(data)
    return version, None if version else f"no GLIBCXX_ version strings in {path}"


def probe_os(
    *, run: Runner = _run.run, environ: Mapping[str, str], root: Path = Path("/")
) -> OsInfo:
    """Everything but GLIBCXX, which needs the target's libstdc++ (`probe_glibcxx`).

    Never raises; `root` re-roots the file reads (tests).
    """
    reasons: dict[str, str] = {}
    system = platform.system() or None
    os_release = _read(root / "etc/os-release")
    distro = parse_os_release(os_release) if os_release else None
    if system == "Darwin":
        distro = f"macOS {platform.mac_ver()[0]}".strip()
    elif system == "Windows":
        distro = f"Windows {platform.release()}"
    elif distro is None:
        reasons["distro"] = "no /etc/os-release"
    glibc = None
    if system == "Linux":
        glibc, why = _glibc(run, environ)
        if why:
            reasons["glibc"] = why
    else:
        reasons["glibc"] = f"not a glibc system ({system})"
    return OsInfo(
        system=system,
        distro=distro,
        kernel=platform.release() or None,
        arch=platform.machine() or None,
        glibc=glibc,
        wsl=detect_wsl(_read(root / "proc/version"), environ) if system == "Linux" else False,
        container=detect_container(environ, dockerenv=(root / ".dockerenv").exists(),
                                   containerenv=(root / "run/.containerenv").exists()),
        admin=detect_admin(),
        slurm=detect_slurm(environ),
        reasons=reasons,
    )


def find_libstdcxx(
    from_target: Optional[str], *, run: Runner = _run.run, arch: Optional[str],
    timeout: float = 10.0,
) -> tuple[Optional[str], str]:
    """The libstdc++ the target loads: what the target's own loader resolved, else ldconfig."""
    if from_target:
        return from_target, "target"
    done = run(["ldconfig", "-p"], timeout=timeout)
    if not done.ok:
        done = run(["/sbin/ldconfig", "-p"], timeout=timeout)
    found = parse_ldconfig_libstdcxx(done.stdout, arch=arch) if done.ok else None
    return found, "ldconfig"


def _glibc(run: Runner, environ: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        value = None
    if value:
        return parse_glibc_version(value), None
    done = run(["ldd", "--version"], timeout=10, env=environ)
    found = parse_glibc_version(done.stdout + "\n" + done.stderr) if done.returncode is not None \
        else None
    return found, None if found else "not glibc (musl?) or ldd unavailable"


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None
