"""Facts a log tells about the machine that wrote it: platform, Python, torch, CUDA, GPU, versions.

They confirm modes when the log comes from another machine than the one `explain` runs on, and
tell whether it does. Every value is read with a pattern that admits only version-like tokens
(digits, dots, a local tag) or a known word, so nothing from the log reaches a fix unvalidated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from mamba_doctor.diagnose.gpunames import read_gpus
from mamba_doctor.diagnose.textscan import TextScan
from mamba_doctor.knowledge.cuda_tables import torch_default_abi
from mamba_doctor.models import Environment

__all__ = ["LogFacts", "TwoTorches", "isolated_build_torches", "merge", "other_machine",
           "read_log_facts"]

_VER = rb"(\d{1,3}\.\d{1,3}(?:\.\d{1,4})?(?:(?:a|b|rc|\.dev|\.post)\d{1,10})?)"
_LOCAL = rb"(\+[A-Za-z0-9.]{1,40})?"


def _rx(pattern: bytes, icase: bool = False) -> re.Pattern[bytes]:
    return re.compile(pattern, re.IGNORECASE if icase else 0)


# (anchor, regex): the anchor is a literal of every match (see TextScan.matches).
_WINDOWS = (
    (":\\", _rx(rb"\b[a-z]:\\(?:[^\s'\"]{0,160}\\)?(site-packages|scripts|appdata|anaconda\d?|"
                rb"miniconda\d?|envs|users|program files|windows)\\", icase=True)),
    (":/", _rx(rb"\b[a-z]:/(?:[^\s'\"]{0,160}/)?(site-packages|scripts|appdata|anaconda\d?|"
               rb"miniconda\d?|envs|users|program files|windows)/", icase=True)),
    ("win_amd64", _rx(rb"win_amd64", icase=True)),
    ("winerror", _rx(rb"\bwinerror \d{1,5}", icase=True)),
)
_MACOS = (("macosx_", _rx(rb"macosx_\d{1,2}_\d{1,2}_(arm64|x86_64|universal2)")),
          ("/opt/homebrew/", _rx(rb"/opt/homebrew/")),
          ("Python.framework", _rx(rb"Python\.framework")),
          # a home directory: /Users/NAME/ (not C:/Users/, not a path inside another one)
          ("/Users/", _rx(rb"(?<![\w\\:/.~-])/Users/[^/\s'\"]{1,64}/")),
          # the per-user temporary directory, where pip unpacks and builds
          ("/private/var/folders/", _rx(rb"(?<![\w/])/private/var/folders/")))
_LINUX = (("linux_x86_64", _rx(rb"linux_x86_64")), ("linux_aarch64", _rx(rb"linux_aarch64")),
          ("-linux-gnu", _rx(rb"(x86_64|aarch64)-linux-gnu")),
          ("-packages/", _rx(rb"(?<![\w\\])/[\w./-]{1,200}/(site|dist)-packages/")))
# The author saying so ("on Windows 11", "在windows下"), read only when no path or tag tells.
_WINDOWS_SAID = (
    ("windows", _rx(rb"\bwindows ?(?:10|11|server|" + "下|上|系统|环境".encode() + rb")"
                    rb"|\b(?:on|in|under|using|with) windows\b(?! subsystem)", icase=True)),
    ("win1", _rx(rb"\bwin1[01]\b", icase=True)),
)
_WSL = ("/mnt/", _rx(rb"(?<![\w/])/mnt/[c-z]/"))
_COLAB = ("/content/", _rx(rb"(?<![\w/])/content/"))
_KAGGLE = ("/kaggle/", _rx(rb"(?<![\w/])/kaggle/"))
_AARCH64 = (("aarch64", _rx(rb"aarch64")),)
_PYTHON = (  # the interpreter's own paths first, then tags
    ("python3.", _rx(rb"python3\.(\d{1,2})[/\\](site|dist)-packages", icase=True)),
    ("cpython-3", _rx(rb"cpython-3(\d{1,2})")),
    ("Python 3.", _rx(rb"\bPython 3\.(\d{1,2})\.\d{1,2}\b")),
)
_TORCH = (
    ("torch.__version__", _rx(rb"torch\.__version__\s{0,8}=\s{0,8}" + _VER + _LOCAL)),
    ("torch in ", _rx(rb"Requirement already satisfied: torch in [^\n(]{0,200}\(" + _VER
                      + _LOCAL + rb"\)")),
    ("torch", _rx(rb"\b(?:py)?torch(?:==| version |=| )" + _VER + _LOCAL, icase=True)),
)
# An isolated build (pip's overlay, uv's or pip's PEP 517 steps) prints the torch it fetched for
# itself on setup.py's `torch.__version__ = ...` line, which need not be the torch the poster has.
_ISOLATED = re.compile(rb"pip-build-env-|build_meta\.build_wheel|The build backend returned an "
                       rb"error|Installing build dependencies|Getting requirements to build wheel")
_NVCC = (
    ("release ", _rx(rb"Cuda compilation tools, release (\d{1,2}\.\d{1,2})")),
    ("The detected CUDA version (", _rx(rb"The detected CUDA version \((\d{1,2}\.\d{1,2})\)")),
)
# torch's message spans two lines ("...used to compile\n PyTorch (12.1). Please make sure...")
_TORCH_CUDA = (("PyTorch (", _rx(rb"PyTorch \((\d{1,2}\.\d{1,2})\)\. Please make sure")),)
_DRIVER = ("Driver Version:", _rx(rb"Driver Version: (\d{2,3}\.\d{1,3}(?:\.\d{1,3})?)"
                                  rb"\s{1,16}CUDA Version: (\d{1,2}\.\d{1,2})"))
_SM = (("CUDA capability sm_", _rx(rb"CUDA capability sm_(\d{2,3})")),
       # torch's warning, however much of its start the poster kept
       ("is not compatible with the current PyTorch",
        _rx(rb"sm_(\d{2,3})\W{0,4}is not compatible with the current PyTorch")))
# AMD's toolchain: a ROCm torch, ROCm's install prefix, its compiler driver or GPU targets
_ROCM = (("+rocm", _rx(rb"\d{1,3}(?:\.\d{1,4}){1,2}\+rocm\d{1,2}(?:\.\d{1,2}){0,2}")),
         ("/opt/rocm", _rx(rb"(?<![\w/])/opt/rocm\b")),
         ("hipcc", _rx(rb"\bhipcc\b")), ("amdgcn", _rx(rb"\bamdgcn\b")))
_PACKAGES = {
    "mamba_ssm": ("mamba", _rx(rb"mamba[-_]ssm(?:-|==| )" + _VER, icase=True)),
    "causal_conv1d": ("causal", _rx(rb"causal[-_]conv1d(?:-|==| )" + _VER, icase=True)),
    "triton": ("triton", _rx(rb"\btriton(?:-|==| )" + _VER, icase=True)),
}


@dataclass(frozen=True)
class TwoTorches:
    """An isolated build's torch and another torch the log names (the one installed)."""

    built: str
    built_line: str
    said: str
    said_line: str


@dataclass(frozen=True)
class LogFacts:
    """What the log shows; `evidence` says where each fact came from (fact -> log excerpt)."""

    system: Optional[str] = None  # "Windows", "Darwin", "Linux"
    wsl: bool = False
    rocm: bool = False  # the log is from AMD's toolchain (ROCm torch, /opt/rocm, hipcc)
    platform: Optional[str] = None  # "Colab", "Kaggle" when the paths say so
    arch: Optional[str] = None
    python_minor: Optional[str] = None  # "3.10"
    torch_version: Optional[str] = None
    torch_cuda: Optional[str] = None
    nvcc_version: Optional[str] = None
    driver_version: Optional[str] = None
    driver_cuda: Optional[str] = None
    sm: Optional[int] = None
    gpus: tuple[tuple[str, int], ...] = ()  # (model as written, sm) of each GPU the log names
    packages: dict[str, str] = field(default_factory=dict)
    site_prefixes: tuple[str, ...] = ()  # ".../lib/python3.10" prefixes of site-packages paths
    isolated_build: Optional[TwoTorches] = None  # an isolated build's torch and the poster's
    evidence: dict[str, str] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return any((self.system, self.rocm, self.python_minor, self.torch_version,
                    self.torch_cuda, self.nvcc_version, self.driver_version, self.sm,
                    self.packages))

    def environment(self) -> Environment:
        """These facts as an Environment (unknown ones left unset), for confirm rules."""
        data: dict[str, Any] = {"os": {}, "python": {}, "torch": {}, "nvidia": {},
                                "cuda_toolkit": {}, "packages": {}}
        if self.system:
            data["os"]["system"] = self.system
            data["os"]["wsl"] = self.wsl
        if self.arch:
            data["os"]["arch"] = self.arch
        if self.python_minor:
            data["python"]["version"] = self.python_minor
            data["python"]["abi_tag"] = "cp" + self.python_minor.replace(".", "")
        if self.torch_version:
            data["torch"].update(installed=True, version=self.torch_version)
            abi = _pypi_torch_abi(self.torch_version)
            if abi is not None:
                data["torch"]["cxx11abi"] = abi
        if self.rocm:
            data["torch"].update(installed=True, hip=_rocm_version(self.torch_version))
        if self.torch_cuda:  # torch's own CUDA in the log: torch is there
            data["torch"].update(installed=True, cuda=self.torch_cuda)
        if self.nvcc_version:
            data["cuda_toolkit"]["nvcc_version"] = self.nvcc_version
        if self.driver_version:
            data["nvidia"].update(driver_version=self.driver_version,
                                  cuda_driver_version=self.driver_cuda)
        named = self.gpus or ((("", self.sm),) if self.sm is not None else ())
        if named:
            data["nvidia"]["gpus"] = [{"index": i, "name": name, "compute_capability":
                                       f"{sm // 10}.{sm % 10}"}
                                      for i, (name, sm) in enumerate(named)]
        for name, version in self.packages.items():
            data["packages"][name] = {"version": version}
        return Environment.from_dict(data)


def _pypi_torch_abi(version: str) -> Optional[bool]:
    """The C++ ABI of an official torch wheel whose version carries its variant ("2.5.1+cu124",
    "2.6.0+cpu"), by the one rule of knowledge/cuda_tables.py; None for other builds (conda,
    NGC, ROCm and source builds choose their own)."""
    m = re.match(r"(\d+)\.(\d+)\.\d+\+(cu\d+|cpu)$", version)
    if m is None:
        return None
    return torch_default_abi(f"{m.group(1)}.{m.group(2)}", m.group(3))


def _rocm_version(torch_version: Optional[str]) -> str:
    """ROCm's version from a ROCm torch's local tag ("2.3.1+rocm6.0" -> "6.0"), else "yes"."""
    m = re.search(r"\+rocm(\d{1,2}\.\d{1,2})", torch_version or "")
    return m.group(1) if m else "yes"


def _first(scan: TextScan, specs: Any, group: int = 1) -> Optional[tuple[str, str]]:
    """(value, excerpt) of the first spec that matches, or None."""
    for anchor, rx in specs:
        icase = bool(rx.flags & re.IGNORECASE)
        for m in scan.matches(anchor, rx, icase=icase):
            return m.group(group).decode("ascii", "replace"), m.group(0).decode("utf-8", "replace")
    return None


def read_log_facts(scan: TextScan, *, gpus: bool = True) -> LogFacts:
    """The facts of the log's machine; GPU model names only with `gpus` (a dozen more searches,
    worth it only when a candidate mode depends on the GPU)."""
    evidence: dict[str, str] = {}
    system = None
    for name, specs in (("Windows", _WINDOWS), ("Darwin", _MACOS), ("Linux", _LINUX),
                        ("Windows", _WINDOWS_SAID)):
        hit = _first(scan, specs, group=0)
        if hit is not None:
            system, evidence["os.system"] = name, hit[1][:120]
            break
    wsl = system == "Linux" and bool(scan.matches(*_WSL))
    platform = ("Colab" if scan.matches(*_COLAB) else
                "Kaggle" if scan.matches(*_KAGGLE) else None)
    arch = "aarch64" if _first(scan, _AARCH64, group=0) else (
        "x86_64" if system in ("Linux", "Windows") else None)
    python = _first(scan, _PYTHON)
    torch = _first_version(scan, _TORCH)
    two = isolated_build_torches(scan) if torch is not None else None
    if two is not None:  # the poster's torch, not the one the isolated build fetched
        torch = (two.said, two.said_line)
    torch_cuda = None
    if torch is not None:
        local = re.search(r"\+cu(\d{2,3})", torch[0])
        if local:
            torch_cuda = f"{local.group(1)[:-1]}.{local.group(1)[-1]}"
    compiled = _first(scan, _TORCH_CUDA)
    if compiled is not None:
        torch_cuda = compiled[0]
    nvcc = _first(scan, _NVCC)
    driver = scan.matches(*_DRIVER)
    sm = _first(scan, _SM)
    rocm = _first(scan, _ROCM, group=0)
    if rocm is not None:
        evidence["torch.hip"] = rocm[1][:120]
    named = read_gpus(scan) if gpus else ()
    packages = {}
    for name, (anchor, rx) in _PACKAGES.items():
        found = scan.matches(anchor, rx, icase=True, limit=8)
        if found:
            packages[name] = found[-1].group(1).decode("ascii")
    prefixes = tuple(dict.fromkeys(
        m.group(0).decode("utf-8", "replace").rsplit("/", 2)[0]
        for m in scan.matches("-packages/", _LINUX[3][1], limit=8)))
    for key, hit in (("python.version", python), ("torch.version", torch),
                     ("cuda_toolkit.nvcc_version", nvcc)):
        if hit is not None:
            evidence[key] = hit[1][:120]
    return LogFacts(
        system=system, wsl=wsl, rocm=rocm is not None, platform=platform, arch=arch,
        python_minor=f"3.{python[0]}" if python else None,
        torch_version=torch[0] if torch else None, torch_cuda=torch_cuda,
        nvcc_version=nvcc[0] if nvcc else None,
        driver_version=driver[0].group(1).decode() if driver else None,
        driver_cuda=driver[0].group(2).decode() if driver else None,
        sm=int(sm[0]) if sm else (named[0][1] if named else None), gpus=named,
        packages=packages, site_prefixes=prefixes, isolated_build=two,
        evidence=evidence,
    )


def _first_version(scan: TextScan, specs: Any) -> Optional[tuple[str, str]]:
    for anchor, rx in specs:
        icase = bool(rx.flags & re.IGNORECASE)
        for m in scan.matches(anchor, rx, icase=icase):
            local = m.group(2).decode("ascii") if m.lastindex and m.lastindex >= 2 and \
                m.group(2) else ""
            return m.group(1).decode("ascii") + local, m.group(0).decode("utf-8", "replace")
    return None


def isolated_build_torches(scan: TextScan) -> Optional[TwoTorches]:
    """The isolated build's torch and the first torch of another major.minor that the poster names
    ("torch==2.6.0 already installed", "PyTorch 2.6.0+cu124"), or None."""
    text = scan.data
    build_spec, _, said_spec = _TORCH  # setup.py's line; the poster's "torch==X" / "PyTorch X"
    found = scan.matches(*build_spec)
    if not found or _ISOLATED.search(text, 0, 1 << 21) is None:
        return None
    built = found[0]
    used = built.group(1).decode("ascii")
    for said in scan.matches(*said_spec, icase=True, limit=20):
        version = said.group(1).decode("ascii")
        if version.split(".")[:2] != used.split(".")[:2]:
            return TwoTorches(used + (built.group(2) or b"").decode("ascii"), _line_of(text, built),
                              version + (said.group(2) or b"").decode("ascii"),
                              _line_of(text, said))
    return None


def _line_of(text: bytes, m: re.Match[bytes]) -> str:
    start = text.rfind(b"\n", max(0, m.start() - 240), m.start()) + 1
    end = text.find(b"\n", m.end(), m.end() + 240)
    return text[start:end if end != -1 else m.end()].decode("utf-8", "replace").strip()[:300]


def other_machine(facts: LogFacts, env: Environment) -> list[str]:
    """Why the log cannot come from `env`'s machine and interpreter (empty: it may)."""
    why = []
    system = env.os.system
    if facts.system and system and facts.system != system and not (facts.wsl and system == "Linux"):
        why.append(f"the log shows {facts.system} ({facts.evidence.get('os.system', '')!s}), "
                   f"this machine runs {system}")
    arch = env.os.arch
    if facts.arch == "aarch64" and arch and arch not in ("aarch64", "arm64"):
        why.append(f"the log shows an aarch64 machine, this one is {arch}")
    py = env.python.version
    if facts.python_minor and py and not (py == facts.python_minor
                                          or py.startswith(facts.python_minor + ".")):
        why.append(f"the log's Python is {facts.python_minor}, the target interpreter is {py}")
    exe = env.python.executable or ""
    if facts.site_prefixes and exe.startswith("/") and not why:
        root = exe.rsplit("/bin/", 1)[0]
        if root and not any(p.startswith(root) or root.startswith(p.split("/lib/")[0])
                            for p in facts.site_prefixes):
            why.append(f"the log's packages live under {facts.site_prefixes[0]}, not under "
                       f"{root}")
    nvcc = env.cuda_toolkit.nvcc_version
    if facts.nvcc_version and nvcc and facts.nvcc_version != ".".join(nvcc.split(".")[:2]):
        why.append(f"the log's CUDA toolkit is {facts.nvcc_version}, this machine has nvcc {nvcc}")
    if facts.rocm and env.torch.version and not env.torch.hip:
        why.append(f"the log shows AMD's ROCm ({facts.evidence.get('torch.hip', '')!s}), this "
                   f"machine's torch {env.torch.version} is not a ROCm build")
    here = {g.sm for g in env.nvidia.gpus if g.sm is not None}
    named = facts.gpus or ((("a GPU", facts.sm),) if facts.sm is not None else ())
    if named and here and not here & {sm for _name, sm in named}:
        name, sm = named[0]
        why.append(f"the log names {name} (sm_{sm}), this machine's GPU is "
                   + ", ".join(f"sm_{s}" for s in sorted(here)))
    return why


def merge(primary: Environment, extra: Environment) -> Environment:
    """`primary` with its unknown facts filled in from `extra` (same machine, two sources)."""
    raw_p, raw_e = primary.to_dict(), extra.to_dict()
    for section, values in raw_e.items():
        if section == "packages":
            merged = dict(values)
            merged.update(raw_p.get("packages") or {})
            raw_p["packages"] = merged
            continue
        if not isinstance(values, dict):
            continue
        target = raw_p.setdefault(section, {})
        for key, value in values.items():
            if target.get(key) in (None, "", [], ()) and value not in (None, "", [], ()):
                target[key] = value
    return Environment.from_dict(raw_p)
