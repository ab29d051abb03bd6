"""Does a user-supplied extension wheel fit the target? Pure checks of its filename tags."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from mamba_doctor.models import Environment

# The release wheels' local label: +cu12torch2.4cxx11abiTRUE (old releases: cu118/cu122;
# NGC builds: torch25.09). See shared reference wheels/REPORT.md §1.
_LABEL = re.compile(r"^cu(?P<cuda>\d+)torch(?P<torch>\d+\.\d+)cxx11abi(?P<abi>TRUE|FALSE)$", re.I)


@dataclass(frozen=True)
class WheelFacts:
    """What a wheel filename says about where it runs."""

    name: str  # canonical distribution name
    version: str  # public version, without the local label
    local: Optional[str]
    interpreters: frozenset[str]
    abis: frozenset[str]
    platforms: frozenset[str]
    cuda_major: Optional[int] = None
    torch_minor: Optional[str] = None  # "2.4", or an NGC container tag "25.09"
    cxx11abi: Optional[bool] = None


def parse_wheel_facts(filename: str) -> WheelFacts:
    """Parse `name-ver[+label]-py-abi-plat.whl`. Raises ValueError for a non-wheel name."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise ValueError(str(exc)) from exc
    local = version.local
    facts = WheelFacts(
        name=str(name),
        version=version.public,
        local=local,
        interpreters=frozenset(t.interpreter for t in tags),
        abis=frozenset(t.abi for t in tags),
        platforms=frozenset(t.platform for t in tags),
    )
    m = _LABEL.match(local or "")
    if m:
        cuda = m.group("cuda")
        facts = replace(
            facts,
            cuda_major=int(cuda[:2]) if len(cuda) >= 3 else int(cuda),
            torch_minor=m.group("torch"),
            cxx11abi=m.group("abi").upper() == "TRUE",
        )
    return facts


def wheel_mismatches(facts: WheelFacts, env: Environment) -> tuple[str, ...]:
    """Reasons the wheel cannot work in `env`; empty when it fits. Unknown facts never reject."""
    out: list[str] = []
    py = env.python.abi_tag  # "cp311"
    if py and not ({py, "py3", "py2.py3"} & facts.interpreters or _py3_generic(facts)):
        out.append(f"built for Python {_tags(facts.interpreters)}, the target is {py}")
    if py and not ({py, "none", "abi3"} & facts.abis):
        out.append(f"built for the ABI {_tags(facts.abis)}, the target is {py}")
    plat = env.python.platform_tag
    if plat and "any" not in facts.platforms and not any(
        _platform_fits(p, plat) for p in facts.platforms
    ):
        out.append(f"built for {_tags(facts.platforms)}, the target is {plat}")
    torch = env.torch
    if facts.cuda_major is not None and torch.installed is not False:
        if torch.version and torch.cuda is None and torch.hip is None:
            out.append(f"built for CUDA {facts.cuda_major}, but torch {torch.version} is a "
                       "CPU build")
        elif torch.cuda and _major(torch.cuda) != facts.cuda_major:
            out.append(f"built for CUDA {facts.cuda_major}, torch uses CUDA {torch.cuda}")
    if facts.torch_minor and torch.version and not _is_ngc_label(facts.torch_minor):
        have = ".".join(torch.version.split("+")[0].split(".")[:2])
        if have != facts.torch_minor:
            out.append(f"built for torch {facts.torch_minor}, the target has torch {torch.version}"
                       " (it would fail with 'undefined symbol' at import)")
    if None not in (facts.cxx11abi, torch.cxx11abi) and facts.cxx11abi != torch.cxx11abi:
        out.append(f"built with cxx11abi={str(facts.cxx11abi).upper()}, torch has "
                   f"cxx11abi={str(torch.cxx11abi).upper()}")
    return tuple(out)


def _py3_generic(facts: WheelFacts) -> bool:
    return any(i.startswith("py3") for i in facts.interpreters)


def _platform_fits(wheel_plat: str, target: str) -> bool:
    if wheel_plat == target:
        return True
    # manylinux*/musllinux* wheels run on linux_<arch> of the same architecture (glibc aside).
    arch = target.split("_", 1)[1] if target.startswith("linux_") else None
    return bool(arch) and wheel_plat.startswith(("manylinux", "musllinux")) and wheel_plat.endswith(
        "_" + str(arch))


def _is_ngc_label(torch_label: str) -> bool:
    return int(torch_label.split(".")[0]) >= 20  # "25.09": an NGC container, not a torch minor


def _major(version: str) -> Optional[int]:
    head = version.split(".")[0]
    return int(head) if head.isdigit() else None


def _tags(values: frozenset[str]) -> str:
    return "/".join(sorted(values))
