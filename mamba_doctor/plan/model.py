"""The plan's result types: a Stack (each choice with its reason) or why there is none."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

from mamba_doctor.knowledge.cuda_tables import cuda_tuple, driver_ceiling, pair
from mamba_doctor.models import Environment, PythonInfo, TorchInfo
from mamba_doctor.wheels.facts import facts_of
from mamba_doctor.wheels.index import WheelCandidate

TORCH_INDEX = "https://download.pytorch.org/whl"


@dataclass(frozen=True)
class Choice:
    what: str  # "python" | "torch" | "cuda" | "mamba_ssm" | "causal_conv1d" | "driver" | ...
    value: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "value": self.value, "why": self.why}


@dataclass(frozen=True)
class Stack:
    python: str  # "3.12"
    torch: str  # minor, "2.8"
    variant: str  # "cu128"
    cxx11abi: bool
    mamba: WheelCandidate
    causal: Optional[WheelCandidate]
    compat: bool = False  # runs through CUDA minor-version compatibility, not natively
    choices: tuple[Choice, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def torch_spec(self) -> str:
        return f"torch=={self.torch}.*"

    @property
    def index_url(self) -> str:
        return f"{TORCH_INDEX}/{self.variant}"

    @property
    def cuda(self) -> str:
        major, minor = pair(self.variant)
        return f"{major}.{minor}"

    def to_dict(self) -> dict[str, Any]:
        def wheel(w: Optional[WheelCandidate]) -> Optional[dict[str, Any]]:
            return None if w is None else {"version": w.version, "filename": w.filename,
                                           "url": w.url, "tag": w.tag, "status": w.status}
        return {"python": self.python, "torch": {"spec": self.torch_spec, "minor": self.torch,
                                                 "variant": self.variant, "cuda": self.cuda,
                                                 "index_url": self.index_url,
                                                 "cxx11abi": self.cxx11abi},
                "mamba_ssm": wheel(self.mamba), "causal_conv1d": wheel(self.causal),
                "compat": self.compat, "choices": [c.to_dict() for c in self.choices],
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Blocked:
    """No prebuilt stack: why, plainly, and what works instead."""

    reason: str
    what_works: tuple[str, ...] = ()
    driver_needed: Optional[str] = None  # the driver to ask the admin for

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "what_works": list(self.what_works),
                "driver_needed": self.driver_needed}


@dataclass(frozen=True)
class Machine:
    """What the plan is made for: the machine's platform, glibc, driver and GPUs."""

    env: Environment  # the machine facts (python/torch ignored)
    ceiling: Optional[tuple[int, int]]  # the highest CUDA the driver runs natively
    driver: Optional[str]
    gpus: tuple[tuple[str, int], ...] = field(default=())

    @classmethod
    def of(cls, env: Environment) -> Machine:
        ceiling = cuda_tuple(env.nvidia.cuda_driver_version
                             or driver_ceiling(env.nvidia.driver_version))
        bare = replace(env, python=PythonInfo(), torch=TorchInfo(), packages={},
                       distributions={})
        return cls(bare, ceiling, env.nvidia.driver_version, facts_of(bare).gpus)
