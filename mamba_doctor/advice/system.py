"""Advice about the machine around the kernels: the driver, the GPUs torch sees, the platform,
and how to hand a failing import to `explain`."""

from __future__ import annotations

from typing import Optional

from mamba_doctor.advice import commands as cmd
from mamba_doctor.advice.model import Advice
from mamba_doctor.knowledge.cuda_tables import cuda_tuple, toolkit_driver
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.index import WheelIndex

REFERENCE_PATH = "the pure-PyTorch reference path (mamba_doctor.block.MambaRef)"


def no_driver_advice(target: Target) -> Optional[Advice]:
    """"no_driver": no NVIDIA driver answered (None when one did: then it is something else)."""
    nv = target.env.nvidia
    if nv.driver_version or nv.cuda_driver_version or nv.gpus:
        return None
    os_ = target.env.os
    if os_.wsl:
        return Advice("no_driver", "WSL2 uses the Windows driver: install the current NVIDIA "
                      "driver on Windows (not inside WSL), then restart WSL (wsl --shutdown)")
    if os_.container:
        return Advice("no_driver", f"This is a container ({os_.container}) and no GPU was passed "
                      "into it: start it with the GPUs (docker run --gpus all, with the NVIDIA "
                      "Container Toolkit on the host; podman: --device nvidia.com/gpu=all); the "
                      "driver belongs on the host, not in the image")
    from mamba_doctor.advice.where import no_driver_where

    here = no_driver_where(target)  # a SLURM login node, a job without a GPU, no root
    if here is not None:
        return here
    return Advice("no_driver", "Install the NVIDIA driver for the GPU and reboot (Ubuntu: sudo "
                  f"ubuntu-drivers install); without an NVIDIA GPU use {REFERENCE_PATH}")


def driver_unresponsive_advice(target: Target) -> Advice:
    """"driver_unresponsive": a driver is there but does not answer (nvidia-smi hangs)."""
    return Advice("driver_unresponsive", "The NVIDIA driver is not answering (nvidia-smi hangs): "
                  "a GPU or the driver is wedged, which only the machine's administrator can "
                  "clear (the kernel log shows NVRM Xid errors; a reset or reboot is usual); "
                  "on a cluster, use another node and report this one")


def gpu_visible_advice(target: Target) -> Advice:
    """"gpu_visible": CUDA_VISIBLE_DEVICES hides every GPU from torch."""
    return Advice("gpu_visible", "Let torch see a GPU: CUDA_VISIBLE_DEVICES hides them all",
                  ("unset CUDA_VISIBLE_DEVICES",), ("or name one: export CUDA_VISIBLE_DEVICES=0",))


def driver_advice(target: Target, index: Optional[WheelIndex] = None) -> Advice:
    """"driver": the driver cannot run torch's CUDA: a newer driver, or a torch it runs."""
    from mamba_doctor.advice.torch import torch_advice

    env = target.env
    cuda = cuda_tuple(env.torch.cuda)
    need = toolkit_driver(f"{cuda[0]}.{cuda[1]}") if cuda else None
    from mamba_doctor.advice.where import driver_upgrade

    upgrade = driver_upgrade(env, need)  # without root: whom to ask for it
    torch = torch_advice(target, index)
    return Advice("driver", f"{upgrade}, or: {torch.summary[:1].lower()}{torch.summary[1:]}",
                  torch.commands, torch.notes)


def platform_advice(target: Target) -> Optional[Advice]:
    """"platform": no CUDA wheels can run on this OS/CPU at all (None: the platform is fine)."""
    os_ = target.env.os
    if os_.system == "Windows":
        return Advice("platform", "Native Windows has no mamba_ssm CUDA wheels: use WSL2 "
                      f"(Ubuntu) with the NVIDIA Windows driver, or {REFERENCE_PATH}",
                      ("wsl --install -d Ubuntu",))
    if os_.system == "Darwin":
        return Advice("platform", "macOS has no CUDA: use a Linux machine with an NVIDIA GPU "
                      f"(mamba-doctor fetch-wheel --env FILE resolves for it), or {REFERENCE_PATH}")
    if os_.system == "Linux" and os_.arch not in (None, "x86_64", "aarch64"):
        return Advice("platform", f"mamba_ssm wheels exist only for x86_64 and aarch64: use such "
                      f"a machine, or {REFERENCE_PATH}")
    return None


def reproduce_advice(target: Target, module: str) -> Advice:
    """"reproduce": rerun a failing import in the target and let `explain` read the error."""
    return Advice("reproduce", f"See why `import {module}` fails",
                  (cmd.reproduce(target.python, module),))


def next_step_advice(target: Target) -> Advice:
    """"next": nothing blocks: install the kernels, or prove the installed ones."""
    mamba = target.env.packages.get("mamba_ssm")
    if mamba is not None and mamba.version:
        return Advice("next", "Prove the kernels work", (cmd.doctor("smoke", target.python),))
    return Advice("next", "Install the kernels", (cmd.install(target.python),))
