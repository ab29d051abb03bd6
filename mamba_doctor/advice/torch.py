"""Which torch to install: one choice per environment, shared by every command.

The choice is the first of `wheels.alternatives.torch_options` (a torch the target's Python,
the driver and the GPUs can run, preferring one with a prebuilt mamba_ssm wheel and the least
change); when no torch can run here with this Python, the only way is a new environment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from mamba_doctor.advice import commands as cmd
from mamba_doctor.advice.model import Advice
from mamba_doctor.knowledge.cuda_tables import (
    toolkit_driver,
    torch_minor,
    variant_cuda,
    version_of,
)
from mamba_doctor.models import Environment
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.alternatives import TorchOption, torch_options
from mamba_doctor.wheels.facts import apply_overrides, python_minor
from mamba_doctor.wheels.index import WheelIndex, load_index

# Pythons tried for a new environment, best covered by torch and the mamba wheels first.
NEW_ENV_PYTHONS = ("3.12", "3.11", "3.13", "3.10")


def choose_torch(env: Environment, index: Optional[WheelIndex] = None
                 ) -> Optional[TorchOption]:
    """The torch to move to: the best runnable one with a prebuilt mamba_ssm wheel, else the
    best runnable one (mamba_ssm then builds from source). None: no torch for this Python runs
    on this machine."""
    options = torch_options(env, index or load_index())
    return next((o for o in options if o.release), options[0] if options else None)


def torch_spec(env: Environment, option: TorchOption) -> str:
    """The pin: the installed release itself when only its CUDA variant changes (a CPU build,
    a variant the driver cannot run), else the release line the wheels were built for."""
    current = version_of(env.torch.version)
    if current is not None and torch_minor(env.torch.version) == option.minor:
        return current.base_version
    return f"{option.minor}.*"


def torch_commands(target: Target, option: TorchOption, *, python: Optional[str] = None
                   ) -> tuple[str, ...]:
    """Install the chosen torch in the target, then the kernels (prebuilt when a wheel exists,
    else built for the GPUs torch will use)."""
    py = python or target.python
    env = target.env if python is None else _without_torch(target.env)
    first = cmd.torch_install(py, torch_spec(env, option), option.variant)
    if option.release:
        return first, cmd.install(py)
    sms = _sms(env)
    # no GPU known: a build command would need an --arch only the user knows
    return (first, cmd.install(py, from_source=True, sms=sms)) if sms else (first,)


def torch_advice(target: Target, index: Optional[WheelIndex] = None) -> Advice:
    """"torch": a torch that works here with the Mamba kernels."""
    index = index or load_index()
    option = choose_torch(target.env, index)
    if option is None:
        return new_environment_advice(target, index, key="torch")
    return option_advice(target, option)


def option_advice(target: Target, option: TorchOption) -> Advice:
    """One torch build as advice; the same words wherever it is recommended."""
    spec = torch_spec(target.env, option)
    cuda = variant_cuda(option.variant) or (0, 0)
    what = f"torch {spec.rstrip('.*')} built for CUDA {cuda[0]}.{cuda[1]} ({option.variant})"
    if option.release:
        summary = f"Install {what}: mamba_ssm {option.release} has a prebuilt wheel for it"
    else:
        summary = (f"Install {what}, then build mamba_ssm from source: no torch this machine "
                   "runs has a prebuilt mamba_ssm wheel for it")
    return Advice("torch", summary, torch_commands(target, option),
                  _driver_notes(option, cuda))


def new_environment_advice(target: Target, index: Optional[WheelIndex] = None, *,
                           key: str = "python") -> Advice:
    """A fresh environment with a Python whose torch and mamba_ssm wheels run here: the way out
    when nothing can work with the target's own Python."""
    index = index or load_index()
    env = target.env
    py = python_minor(env.python.version, env.python.abi_tag) or "this Python"
    for candidate in NEW_ENV_PYTHONS:
        if candidate == py:
            continue
        trial = _without_torch(apply_overrides(env, python_version=candidate))
        option = choose_torch(trial, index)
        if option is None or option.release is None:
            continue
        make, new_python = cmd.new_venv(candidate)
        cuda = variant_cuda(option.variant) or (0, 0)
        what = (f"a new environment with Python {candidate} (torch {option.minor} with CUDA "
                f"{cuda[0]}.{cuda[1]}, mamba_ssm {option.release})")
        here = choose_torch(env, index)
        if here is not None and here.release is not None:
            summary = (f"Python {py} gets only older mamba_ssm releases; {what} gets the "
                       "newest")
        else:
            summary = f"No torch for Python {py} runs with the Mamba kernels here: {what} is " \
                "the only way"
        return Advice(key, summary, (make, *torch_commands(
            target.with_env(trial), option, python=new_python)), _driver_notes(option, cuda))
    return Advice(key, f"No torch and Python combination with Mamba kernels fits this machine "
                       f"(Python {py}); the pure-PyTorch reference (mamba_doctor.block.MambaRef) "
                       "runs anywhere torch runs")


def _without_torch(env: Environment) -> Environment:
    """A new environment holds no torch yet (nor the old one's build facts)."""
    from mamba_doctor.models import TorchInfo

    return replace(env, torch=TorchInfo(installed=False), packages={})


def _sms(env: Environment) -> tuple[int, ...]:
    from mamba_doctor.models import visible_gpus

    return tuple(sorted({g.sm for g in visible_gpus(env)}))


def _driver_notes(option: TorchOption, cuda: tuple[int, int]) -> tuple[str, ...]:
    need = toolkit_driver(f"{cuda[0]}.{cuda[1]}")
    if not option.driver_checked:
        return (f"the driver was not checked: CUDA {cuda[0]}.{cuda[1]} needs an NVIDIA driver"
                + (f" >= {need}" if need else " that supports it"),)
    if not option.within_ceiling:
        return (f"no torch within the driver's CUDA version has a wheel here: this one runs "
                f"through CUDA minor-version compatibility, without the PTX JIT Triton kernels "
                f"need; a driver >= {need} runs it fully" if need else
                "it runs through CUDA minor-version compatibility only",)
    return ()
