"""The fleet use case: check the doctor, discover and group the nodes, run, merge, advise."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.fleet.doctor import check_doctor, warn_if_node_local
from mamba_doctor.fleet.groups import group_nodes, plan_jobs
from mamba_doctor.fleet.launch import Launch, discover, run_jobs, sigterm_as_interrupt
from mamba_doctor.fleet.report import FleetReport, build_report
from mamba_doctor.fleet.srun import job_environ


@dataclass(frozen=True)
class FleetOptions:
    doctor: tuple[str, ...]
    user: str
    python: Optional[str] = None
    partitions: tuple[str, ...] = ()
    nodelist: Optional[str] = None
    all_nodes: bool = False
    smoke: bool = False
    timeout_s: float = 300.0
    max_parallel: int = 8
    environ: Optional[Mapping[str, str]] = None  # the caller's; its allocation is dropped


def survey(options: FleetOptions, *, run: Runner = _run.run,
           on_plan: Optional[Callable[[int], None]] = None,
           on_done: Optional[Callable[[int, int, str], None]] = None) -> FleetReport:
    """Run the doctor on one node per group (or every node) and merge what comes back.

    Raises UsageError for a doctor that does not work here or filters that match no node,
    SlurmUnavailable without a working sinfo. An interrupt (Ctrl-C, SIGTERM) cancels our jobs
    and returns the report so far, with `interrupted` set.
    """
    started = time.monotonic()
    with sigterm_as_interrupt():
        version = check_doctor(options.doctor, run=run)
        notes = [n for n in (warn_if_node_local(options.doctor[-1], what="the doctor"),
                             _python_note(options.python)) if n]
        environ = None if options.environ is None else job_environ(options.environ)
        lines = discover(partitions=options.partitions, nodelist=options.nodelist, run=run,
                         environ=environ)
        groups = group_nodes(lines)
        jobs = plan_jobs(groups, all_nodes=options.all_nodes)
        if on_plan is not None:
            on_plan(len(jobs))
        launch = Launch(doctor=options.doctor, python=options.python,
                        timeout_s=options.timeout_s, smoke=options.smoke, user=options.user,
                        token=secrets.token_hex(4), max_parallel=options.max_parallel,
                        environ=environ)
        runs, interrupted = run_jobs(jobs, launch, run=run, on_done=on_done)
    return build_report(lines, groups, runs, doctor=options.doctor, doctor_version=version,
                        python=options.python, notes=notes, interrupted=interrupted,
                        duration_s=time.monotonic() - started)


def _python_note(python: Optional[str]) -> Optional[str]:
    if python is None:
        return None
    if not os.path.exists(python):
        return (f"--python {python} does not exist on this node; the compute nodes must "
                "see it at the same path")
    return warn_if_node_local(python, what="the environment")
