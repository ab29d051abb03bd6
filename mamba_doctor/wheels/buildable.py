"""Could the kernels be built from source here, and for which GPUs? Pure, over the facts.

A source build compiles against the installed torch with an nvcc of torch's CUDA major (torch's
extension builder refuses another major), so it can only target what a toolkit of that major
can compile for, and it only helps if torch itself has kernels for the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from mamba_doctor.knowledge.cuda_tables import (
    cuda_targets,
    cuda_tuple,
    first_cuda,
    newest_cuda,
    sm_runs,
    torch_minor,
    torch_runs_on,
)
from mamba_doctor.models import Environment, parse_sm, visible_gpus


@dataclass(frozen=True)
class BuildCheck:
    """`possible`: False when the facts show the build cannot work (`why` says what blocks it);
    `sms`: the architectures to build for (empty: no GPU known, pass --arch); `toolkit`: what
    the build needs from CUDA_HOME that the probed toolkit does not give (None: it is fine)."""

    possible: bool
    sms: tuple[int, ...] = ()
    why: Optional[str] = None
    toolkit: Optional[str] = None


def check_build(env: Environment) -> BuildCheck:
    t = env.torch
    cuda = cuda_tuple(t.cuda)
    if t.installed is False or not (t.version or t.cuda):  # a log may tell only torch's CUDA
        return BuildCheck(False, why="torch is not installed: the build compiles against it")
    if cuda is None:
        return BuildCheck(False, why=f"torch {t.version} is not a CUDA build: the kernels "
                                     "cannot be compiled against it")
    sms = tuple(sorted({g.sm for g in visible_gpus(env)}))
    for sm in sms:
        if not _torch_has_kernels(env, sm):
            return BuildCheck(False, sms, f"torch {t.version} (CUDA {t.cuda}) has no kernels "
                                          f"for sm_{sm}: a mamba_ssm built here could not run "
                                          "beside it")
        top = newest_cuda(cuda[0])
        if top is not None and cuda_targets(top, sm) is False:
            first = first_cuda(sm)
            need = f"CUDA {first[0]}.{first[1]}" if first else "a newer CUDA"
            return BuildCheck(False, sms, f"no CUDA {cuda[0]}.x toolkit can compile for sm_{sm} "
                                          f"(it needs {need}), and a build must use torch's CUDA "
                                          f"major ({t.cuda})")
    return BuildCheck(True, sms, toolkit=toolkit_gap(env, cuda, sms))


def _torch_has_kernels(env: Environment, sm: int) -> bool:
    listed = env.torch.arch_list
    if listed:  # torch.cuda.get_arch_list() of the installed build
        cubins = tuple(s for s in (parse_sm(a) for a in listed if a.startswith("sm_")) if s)
        ptx = tuple(s for s in (parse_sm(a) for a in listed if a.startswith("compute_")) if s)
        return sm_runs(sm, cubins) or any(p <= sm for p in ptx)
    minor = torch_minor(env.torch.version)
    cuda = cuda_tuple(env.torch.cuda)
    if minor is None or cuda is None:
        return True  # nothing known against it
    return torch_runs_on(minor, f"cu{cuda[0]}{cuda[1]}", sm) is not False


def toolkit_gap(env: Environment, cuda: tuple[int, int], sms: tuple[int, ...]
                ) -> Optional[str]:
    """What CUDA_HOME must provide that the probed toolkit lacks (None: it is fine). Never
    points at the probed toolkit when it is the wrong one."""
    # only the GPUs that need a later release of torch's own major raise the floor
    floor = max((f for f in (first_cuda(s) for s in sms) if f and f[0] == cuda[0]), default=None)
    need = f"a CUDA {cuda[0]}.x toolkit" + (
        f" (>= {floor[0]}.{floor[1]})" if floor and floor[1] else
        f" (torch's CUDA is {env.torch.cuda})")
    tk = env.cuda_toolkit
    have = cuda_tuple(tk.nvcc_version)
    if have is None:
        return f"{need} as CUDA_HOME: no nvcc was found"
    where = tk.cuda_home or tk.nvcc_path or "the toolkit found"
    if have[0] != cuda[0]:
        return (f"{need} as CUDA_HOME: {where} has nvcc {tk.nvcc_version}, the wrong major for "
                f"torch's CUDA {env.torch.cuda}")
    if any(cuda_targets(have, sm) is False for sm in sms):
        return f"{need} as CUDA_HOME: nvcc {tk.nvcc_version} in {where} is too old for this GPU"
    return None
