"""Driver advice for where the user is: a SLURM login node or a job without a GPU, an account
without root or sudo. `sudo ubuntu-drivers install` only where it can help (advice/system.py
asks here before giving it; a container and WSL are answered there)."""

from __future__ import annotations

from typing import Optional

from mamba_doctor.advice import commands as cmd
from mamba_doctor.advice.model import Advice
from mamba_doctor.knowledge.cuda_tables import cuda_tuple, toolkit_driver
from mamba_doctor.models import Environment
from mamba_doctor.probe.interpreter import Target


def place(env: Environment) -> str:
    """"wsl", "container", "slurm-login", "slurm-job", "no-root" or "host"."""
    os_ = env.os
    if os_.wsl:
        return "wsl"
    if os_.container:
        return "container"
    if os_.slurm == "login":
        return "slurm-login"
    if os_.slurm == "job":
        return "slurm-job"
    if os_.admin is False:
        return "no-root"
    return "host"


def needed_driver(env: Environment) -> tuple[Optional[str], Optional[str]]:
    """(CUDA, the driver that runs it natively) for torch's CUDA here; (None, None) unknown."""
    cuda = cuda_tuple(env.torch.cuda)
    if cuda is None:
        return None, None
    text = f"{cuda[0]}.{cuda[1]}"
    return text, toolkit_driver(text)


def no_driver_where(target: Target) -> Optional[Advice]:
    """"no_driver" on a login node, in a job without a GPU, without root; None elsewhere."""
    env = target.env
    where = place(env)
    if where == "slurm-login":
        return Advice("no_driver", "This looks like a SLURM login node (srun is here, no GPU): "
                      "run the check on a GPU node",
                      (f"srun --gres=gpu:1 --pty {cmd.doctor('check', target.python)}",),
                      ("add -p PARTITION / -A ACCOUNT as your cluster needs",))
    if where == "slurm-job":
        return Advice("no_driver", "This SLURM job has no GPU: ask for one (#SBATCH "
                      "--gres=gpu:1, or srun --gres=gpu:1 ...)")
    if where == "no-root":
        cuda, driver = needed_driver(env)
        which = (f" >= {driver} (what torch's CUDA {cuda} needs)" if driver else
                 " (>= 525.60.13 runs any CUDA 12 torch)")
        return Advice("no_driver", "No root or sudo here, so the driver is the administrator's "
                      f"to install: ask for an NVIDIA driver{which}")
    return None


def driver_upgrade(env: Environment, need: Optional[str]) -> str:
    """"Upgrade the NVIDIA driver to >= X", or, without root, who to ask for it."""
    at_least = f" >= {need}" if need else ""
    where = place(env)
    if where in ("no-root", "slurm-login", "slurm-job"):
        return f"Ask the administrator for NVIDIA driver{at_least} (no root or sudo here)"
    if where == "container":
        return f"Upgrade the host's NVIDIA driver to{at_least} (the container uses the host's)"
    return f"Upgrade the NVIDIA driver to{at_least}"
