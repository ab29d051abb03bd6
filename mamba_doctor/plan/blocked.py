"""When no stack is prebuilt for a machine: the plain reason and the ways that still work."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from mamba_doctor.knowledge.cuda_tables import tables, toolkit_driver
from mamba_doctor.plan.model import Blocked, Machine
from mamba_doctor.plan.search import first_stack
from mamba_doctor.wheels.facts import platform_of

if TYPE_CHECKING:
    from mamba_doctor.wheels.index import WheelIndex

REFERENCE = ("the pure-PyTorch reference path runs anywhere torch does, on the CPU or this GPU: "
             "mamba_doctor.block.MambaRef, or STMambaBlock(mamba_backend=\"ref\"); check it with "
             "`mamba-doctor smoke --device cpu`")


def _oldest_driver_stack(machine: Machine, index: WheelIndex):  # type: ignore[no-untyped-def]
    """(CUDA, its driver, the stack) for the lowest CUDA whose driver gets a prebuilt stack."""
    for cuda, driver in sorted(tables()["toolkit_driver"].items(), key=lambda kv: _key(kv[0])):
        if machine.ceiling is not None and _key(cuda) <= machine.ceiling:
            continue
        # driver None: natively (minor-version compatibility would widen the ceiling)
        stack = first_stack(Machine(machine.env, _key(cuda), None, machine.gpus), index)
        if stack is not None:
            return cuda, driver, stack
    return None


def _key(cuda: str) -> tuple[int, int]:
    major, minor = cuda.split(".")
    return int(major), int(minor)


def blocked(machine: Machine, index: WheelIndex, *, python: Optional[str],
            mamba_version: Optional[str]) -> Blocked:
    platform = platform_of(machine.env)
    if platform not in ("linux_x86_64", "linux_aarch64"):
        return Blocked(f"no prebuilt wheels exist for {platform or 'this platform'}: every "
                       "mamba_ssm release ships Linux x86_64 and aarch64 wheels only",
                       ("On Windows use WSL2 (a Linux distribution); on macOS there is no CUDA.",
                        REFERENCE))
    pascal = [(name, sm) for name, sm in machine.gpus if sm < 70 and sm not in (53, 62)]
    if pascal:
        name, sm = pascal[0]
        arch = f"{sm // 10}.{sm % 10}"
        return Blocked(
            f"{name} is sm_{sm} (Pascal or older): no mamba_ssm release ships kernels for it "
            "(there are no sm_60/sm_61 cubins and no PTX), so no prebuilt stack exists",
            (REFERENCE,
             f"A source build for this GPU alone, untested upstream: conda install -c nvidia "
             f"cuda-nvcc=12.4 (nvcc 13 cannot target Pascal), then mamba-doctor install "
             f"--from-source --arch {arch}.",
             "A GPU with compute capability 7.5 or newer (7.0 with mamba_ssm <= 2.3.1)."))
    if python is not None or mamba_version is not None:
        free = first_stack(machine, index)
        if free is not None:
            asked = " and ".join(x for x in (python and f"Python {python}",
                                             mamba_version and f"mamba_ssm {mamba_version}")
                                 if x)
            return Blocked(f"no prebuilt stack with {asked} fits this machine",
                           (f"Without that choice: Python {free.python}, torch {free.torch} "
                            f"({free.variant}), mamba_ssm {free.mamba.version} (mamba-doctor "
                            "plan without --python-version / --mamba-version).",))
    if machine.ceiling is not None:
        oldest = _oldest_driver_stack(machine, index)
        if oldest is not None:
            cuda, native, stack = oldest
            newest = first_stack(Machine(machine.env, None, None, machine.gpus), index)
            have = machine.driver or f"CUDA {machine.ceiling[0]}.{machine.ceiling[1]}"
            works = [f"Ask the administrator for NVIDIA driver >= {native} (CUDA {cuda}): "
                     f"then Python {stack.python}, torch {stack.torch} ({stack.variant}), "
                     f"mamba_ssm {stack.mamba.version} are prebuilt here."]
            if newest is not None and newest.torch != stack.torch:
                works.append(f"The newest stack (torch {newest.torch} {newest.variant}, "
                             f"mamba_ssm {newest.mamba.version}) needs driver >= "
                             f"{toolkit_driver(newest.cuda) or '?'}.")
            return Blocked(
                f"the NVIDIA driver ({have}) is too old for every prebuilt stack: the oldest "
                f"CUDA any of them needs is {cuda}", (*works, REFERENCE), driver_needed=native)
    glibc = machine.env.os.glibc
    if glibc is not None:
        free = first_stack(Machine(replace(machine.env, os=replace(machine.env.os, glibc=None)),
                                   machine.ceiling, machine.driver, machine.gpus), index)
        if free is not None:
            return Blocked(
                f"glibc {glibc} is older than every prebuilt wheel needs (the newest stack's "
                f"wheels were built on {free.mamba.build_os or 'a newer OS'}, glibc "
                f"{free.mamba.glibc})",
                ("Run in a container with a newer OS (e.g. docker/apptainer with an NGC "
                 "PyTorch image), or build from source here without root: conda install -c "
                 f"nvidia cuda-nvcc={free.cuda} (the CUDA of torch), then mamba-doctor install "
                 "--from-source.", REFERENCE))
    return Blocked("no mamba_ssm release has a prebuilt wheel that fits this machine",
                   ("mamba-doctor install --from-source builds one here (without root: conda "
                    "install -c nvidia cuda-nvcc=<torch's CUDA> first).", REFERENCE))
