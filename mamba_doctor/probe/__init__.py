"""Probe a machine and a target interpreter into an `Environment`, running the probes concurrently.

Each `probe_*` touches the machine through the `_run` seam and never raises for what it finds
(no GPU, no torch, a crashing import); the `parse_*` functions beside them are pure.
"""

from __future__ import annotations

import os as _os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.models import Environment
from mamba_doctor.probe.compilers import probe_build_tools
from mamba_doctor.probe.envfile import read_env_file
from mamba_doctor.probe.interpreter import Target, choose_target
from mamba_doctor.probe.nvidia import probe_nvidia
from mamba_doctor.probe.os import find_libstdcxx, probe_glibcxx, probe_os
from mamba_doctor.probe.target import TargetFacts, probe_target
from mamba_doctor.probe.toolkit import probe_toolkit

__all__ = ["Target", "TargetFacts", "choose_target", "load_target", "probe_environment",
           "probe_nvidia", "probe_os", "probe_target", "probe_toolkit", "probed"]


def probe_environment(
    python: str,
    *,
    run: Runner = _run.run,
    environ: Optional[Mapping[str, str]] = None,
    timeout: float = 60.0,
    root: Path = Path("/"),
    deep: bool = False,
) -> Environment:
    """Probe everything `check` reports, concurrently.

    Raises UsageError if `python` is not a working Python interpreter. Anything else that goes
    wrong (no driver, a torch import that crashes or hangs, a hanging nvidia-smi) is recorded
    in the returned Environment, with reasons. `deep` imports torch even when it is a
    CPU-only build that nothing else needs (see `probe_target`).
    """
    env = dict(_os.environ if environ is None else environ)
    side_timeout = min(timeout, 15.0)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe") as pool:
        try:
            target_f = pool.submit(probe_target, python, run=run, environ=env,
                                   timeout=timeout, deep=deep)
            nvidia_f = pool.submit(probe_nvidia, run=run, environ=env, root=root,
                                   timeout=side_timeout)
            toolkit_f = pool.submit(probe_toolkit, run=run, environ=env, timeout=side_timeout)
            os_f = pool.submit(probe_os, run=run, environ=env, root=root)
            target = target_f.result()  # UsageError propagates; the pool waits for the rest
            os_info = os_f.result()
            nvidia, toolkit = nvidia_f.result(), toolkit_f.result()
            build_tools = probe_build_tools(toolkit, run=run, environ=env, python=python,
                                            timeout=side_timeout)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: end the probes' children now, or the
            _run.kill_children()  # pool's exit waits for them (a hung torch import: 60 s)
            raise
    if os_info.system == "Linux":
        path, _ = find_libstdcxx(target.libstdcxx_path, run=run, arch=os_info.arch)
        glibcxx, why = probe_glibcxx(path)
        reasons = {**os_info.reasons, **({"glibcxx": why} if why else {})}
        os_info = replace(os_info, glibcxx=glibcxx, libstdcxx_path=path, reasons=reasons)
    return Environment(os=os_info, nvidia=nvidia, cuda_toolkit=toolkit, python=target.python,
                       torch=target.torch, packages=dict(target.packages),
                       build_tools=build_tools,
                       distributions=dict(target.distributions))


def load_target(python: Optional[str] = None, *, env_file: Optional[Path] = None,
                timeout: float = 60.0, deep: bool = False,
                environ: Optional[Mapping[str, str]] = None) -> Target:
    """The target with its facts: the machine an --env FILE describes (nothing is probed; its
    interpreter path belongs to that machine), else the chosen interpreter, probed here.

    Raises UsageError for a missing interpreter or an unreadable file.
    """
    if env_file is not None:
        return Target.described(read_env_file(env_file))
    return probed(choose_target(python, environ=environ), timeout=timeout, deep=deep,
                  environ=environ)


def probed(target: Target, *, timeout: float = 60.0, deep: bool = False,
           environ: Optional[Mapping[str, str]] = None) -> Target:
    """`target` with what `probe_environment` finds there."""
    return target.with_env(probe_environment(target.python, run=target.run, environ=environ,
                                             timeout=timeout, deep=deep))

