"""Which of the machine's environments can get Mamba from prebuilt wheels (`mamba-doctor envs`).

Each environment is judged on this machine's facts (platform, glibc, driver, GPUs) with its own
Python and torch, by the same resolver `check` uses, so an env listed as fitting resolves to
the same pair that `install --python ENV` would install.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional, Sequence

from mamba_doctor.models import Environment
from mamba_doctor.probe.envs import EnvFacts

if TYPE_CHECKING:
    from mamba_doctor.probe.interpreter import Target
    from mamba_doctor.wheels.index import WheelIndex


@dataclass(frozen=True)
class EnvFit:
    facts: EnvFacts
    fits: Optional[bool]  # a prebuilt pair exists; None: the env could not be read
    pair: tuple[str, ...]  # ("mamba_ssm 2.2.2", "causal_conv1d 1.4.0") when it fits
    why: str

    def to_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "prefix": f.location.prefix, "python_executable": f.location.python,
            "kind": f.location.kind, "found_by": f.location.found_by,
            "python": f.python.version, "torch": f.torch.version if f.torch.installed else None,
            "torch_cuda": f.torch.cuda, "torch_cxx11abi": f.torch.cxx11abi,
            "mamba_ssm": f.packages["mamba_ssm"].version if "mamba_ssm" in f.packages else None,
            "prebuilt_pair_fits": self.fits, "pair": list(self.pair), "why": self.why,
            "error": f.error,
        }


def assess_envs(found: Sequence[EnvFacts], machine: Environment, index: WheelIndex
                ) -> list[EnvFit]:
    """Judge every env; the ones a prebuilt pair fits first, then those with torch, in the order
    found within each group (the active env, then the working directory's, ...)."""
    fits = [assess(f, machine, index) for f in found]
    rank = {True: 0, False: 1, None: 2}
    return sorted(fits, key=lambda e: (rank[e.fits], not e.facts.torch.installed))


def assess(found: EnvFacts, machine: Environment, index: WheelIndex) -> EnvFit:
    from mamba_doctor.advice.wheels import no_wheel_summary
    from mamba_doctor.wheels.resolve import resolve_pair

    if found.error is not None:
        return EnvFit(found, None, (), f"could not be read: {found.error}")
    if not found.torch.installed:
        return EnvFit(found, False, (), "no torch installed")
    env = replace(machine, python=found.python, torch=found.torch,
                  packages=dict(found.packages))
    resolutions = resolve_pair(env, index)
    missing = [r for r in resolutions if r.wheel is None]
    if not missing:
        pair = tuple(f"{r.package} {r.version}" for r in resolutions)
        return EnvFit(found, True, pair, "prebuilt wheels fit: " + ", ".join(pair))
    return EnvFit(found, False, (), no_wheel_summary(missing[0]))


def describe_torch(found: EnvFacts) -> str:
    """"2.0.0+cu118 (CUDA 11.8, cxx11abiFALSE)", "none", or "2.4.0 (CPU-only)"."""
    t = found.torch
    if found.error is not None:
        return "?"
    if not t.installed:
        return "none"
    build = f"CUDA {t.cuda}" if t.cuda else ("ROCm " + t.hip if t.hip else "CPU-only")
    abi = "" if t.cxx11abi is None else f", cxx11abi{'TRUE' if t.cxx11abi else 'FALSE'}"
    return f"{t.version} ({build}{abi})"


def other_environments(target: Target, *, timeout: float = 20.0) -> list[EnvFit]:
    """The machine's environments but `target`'s own, judged as `envs` does (for `check` on a
    target without torch). Never raises: a failure leaves the list empty."""
    import os
    from pathlib import Path

    from mamba_doctor.probe.envs import discover_envs, read_env_facts
    from mamba_doctor.wheels.index import load_index

    try:
        environ = dict(os.environ)
        own = os.path.realpath(target.python)
        found = [loc for loc in discover_envs(environ=environ, cwd=Path.cwd(), home=Path.home())
                 if os.path.realpath(loc.python) != own]
        facts = read_env_facts(found, environ=environ, timeout=timeout)
        return assess_envs(facts, target.env, load_index())
    except Exception:  # a helping list must never break check itself
        import logging

        logging.getLogger(__name__).debug("listing the other environments failed", exc_info=True)
        return []
