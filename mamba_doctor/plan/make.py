"""The use case of `mamba-doctor plan`: the machine's stack, or why there is none, and the files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from mamba_doctor.errors import UsageError
from mamba_doctor.models import Environment
from mamba_doctor.plan.blocked import blocked
from mamba_doctor.plan.model import Blocked, Machine, Stack
from mamba_doctor.plan.recipes import files, recipes
from mamba_doctor.plan.search import first_stack


@dataclass(frozen=True)
class Plan:
    machine: Machine
    result: Union[Stack, Blocked]
    recipes: dict[str, list[str]] = field(default_factory=dict)
    written: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return isinstance(self.result, Stack)

    def to_dict(self) -> dict[str, Any]:
        m = self.machine
        env = m.env
        return {
            "machine": {"platform": env.os.arch, "glibc": env.os.glibc, "driver": m.driver,
                        "driver_cuda": f"{m.ceiling[0]}.{m.ceiling[1]}" if m.ceiling else None,
                        "gpus": [{"name": n, "sm": sm} for n, sm in m.gpus]},
            "stack": self.result.to_dict() if isinstance(self.result, Stack) else None,
            "blocked": self.result.to_dict() if isinstance(self.result, Blocked) else None,
            "recipes": self.recipes, "written": list(self.written),
            "source_build_without_root": (
                f"conda install -c nvidia cuda-nvcc={self.result.cuda}"
                if isinstance(self.result, Stack) else None),
        }


def make_plan(env: Environment, *, python: Optional[str] = None,
              mamba_version: Optional[str] = None, write: Optional[Path] = None,
              name: str = "mamba") -> Plan:
    """Raises UsageError for a malformed --python-version or an unknown --mamba-version."""
    from mamba_doctor.wheels.index import load_index

    index = load_index()
    if python is not None:
        m = re.fullmatch(r"(3)\.(\d{1,2})(?:\.\d+)?", python.strip())
        if m is None:
            raise UsageError(f"--python-version {python!r}: expected 3.X, e.g. 3.10")
        python = f"{m.group(1)}.{int(m.group(2))}"
    if mamba_version is not None and not index.matching("mamba_ssm", mamba_version):
        known = ", ".join(r.version for r in index.for_package("mamba_ssm")[:6])
        raise UsageError(f"--mamba-version {mamba_version}: not a mamba_ssm release",
                         hint=f"Newest releases: {known}, ...")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"--name {name!r}: use letters, digits, '.', '_' and '-'")
    machine = Machine.of(env)
    stack = first_stack(machine, index, python=python, mamba_version=mamba_version)
    result: Union[Stack, Blocked] = stack if stack is not None else blocked(
        machine, index, python=python, mamba_version=mamba_version)
    if not isinstance(result, Stack):
        return Plan(machine, result)
    written = []
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        for filename, text in files(result, name=name).items():
            (write / filename).write_text(text, encoding="utf-8")
            written.append(str(write / filename))
    return Plan(machine, result, recipes(result, name=name), tuple(written))
