"""The cluster edge: sinfo, the srun steps in parallel, and cancelling exactly our own jobs.

Every command goes through `_run`. Jobs carry a name unique to this run, so cleanup (after a
timeout, on Ctrl-C or SIGTERM) cancels only job ids that squeue lists under those names.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.errors import SlurmUnavailable, UsageError
from mamba_doctor.fleet.groups import Job
from mamba_doctor.fleet.sinfo import NodeLine, parse_sinfo
from mamba_doctor.fleet.srun import (
    CANCELLED,
    DONE,
    JobRun,
    StepRuns,
    doctor_command,
    interpret_job,
    job_name,
    parse_job_ids,
    scancel_argv,
    sinfo_argv,
    squeue_argv,
    srun_argv,
)

logger = logging.getLogger(__name__)

_SLURM_TIMEOUT_S = 30.0  # sinfo/squeue/scancel answer in well under a second on a live cluster
_CLEANUP_S = 15.0  # how long to keep cancelling and waiting for our jobs to leave the queue
_POLL_S = 0.2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as an interrupt so that the same cleanup runs."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated (only the main thread can take signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def discover(*, partitions: Sequence[str] = (), nodelist: Optional[str] = None,
             run: Runner = _run.run, environ: Optional[Mapping[str, str]] = None,
             ) -> tuple[NodeLine, ...]:
    """The nodes sinfo lists (one line per node and partition). Raises SlurmUnavailable when
    sinfo is missing or fails, UsageError when nothing matches the filters."""
    done = run(sinfo_argv(partitions=partitions, nodelist=nodelist), timeout=_SLURM_TIMEOUT_S,
               env=environ)
    if done.start_error is not None:
        raise SlurmUnavailable(
            f"sinfo cannot run here ({done.start_error}): `fleet` needs SLURM's client "
            "commands", hint="Run `mamba-doctor fleet` on the cluster's login node, where "
            "sinfo and srun work.")
    if not done.ok:
        first = next((ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()), "")
        raise SlurmUnavailable(f"sinfo failed: {first or done.describe_failure()}",
                               hint="Check that `sinfo` works in this shell (the controller "
                               "must be reachable; SLURM_CONF must name the cluster's config).")
    lines = parse_sinfo(done.stdout)
    if not lines:
        wanted = ", ".join([*(f"partition {p}" for p in partitions),
                            *([f"nodes {nodelist}"] if nodelist else [])]) or "the cluster"
        raise UsageError(f"sinfo lists no node for {wanted}",
                         hint="`sinfo -N` shows the partitions and nodes this account sees.")
    return lines


@dataclass
class _Shared:
    results: dict[str, StepRuns] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    stop_reason: str = ""
    finished: int = 0


@dataclass(frozen=True)
class Launch:
    """How to run the doctor on the nodes."""

    doctor: tuple[str, ...]
    python: Optional[str]
    timeout_s: float
    smoke: bool
    user: str
    token: str
    max_parallel: int = 8
    environ: Optional[Mapping[str, str]] = None  # for srun etc. (srun.job_environ)


def run_jobs(jobs: Sequence[Job], launch: Launch, *, run: Runner = _run.run,
             on_done: Optional[Callable[[int, int, str], None]] = None,
             ) -> tuple[dict[str, StepRuns], Optional[str]]:
    """Run every job, at most `max_parallel` at once; returns the runs by node and, when
    interrupted (Ctrl-C, SIGTERM), why. Before returning, every job of ours still queued or
    running is cancelled and waited for, so none outlives this call."""
    shared = _Shared()
    todo: queue.Queue[tuple[int, Job]] = queue.Queue()
    for i, job in enumerate(jobs):
        todo.put((i, job))
    workers = [threading.Thread(target=_worker, args=(todo, shared, launch, run, on_done,
                                                      len(jobs)),
                                name=f"fleet-{n}", daemon=True)
               for n in range(max(1, min(launch.max_parallel, len(jobs))))]
    interrupted: Optional[str] = None
    try:
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(_POLL_S)
    except KeyboardInterrupt as exc:
        interrupted = ("cancelled: fleet got SIGTERM" if isinstance(exc, Terminated)
                       else "cancelled: fleet was interrupted (Ctrl-C)")
        shared.stop_reason = interrupted
        shared.stop.set()
        _cancel_until_done(shared, workers, launch, run)
    finally:
        _cancel(list(shared.started), launch.user, run, wait=True, env=launch.environ)
    for i, job in enumerate(jobs):  # jobs never started, or whose worker did not come back
        if job.node not in shared.results:
            shared.results[job.node] = StepRuns(job_name(launch.token, i),
                                                JobRun(CANCELLED, interrupted or "not started"))
    return shared.results, interrupted


def _worker(todo: queue.Queue[tuple[int, Job]], shared: _Shared, launch: Launch, run: Runner,
            on_done: Optional[Callable[[int, int, str], None]], total: int) -> None:
    while not shared.stop.is_set():
        try:
            index, job = todo.get_nowait()
        except queue.Empty:
            return
        name = job_name(launch.token, index)
        check = _step(job, name, "check", shared, launch, run)
        smoke = None
        if launch.smoke and check.status == DONE and not shared.stop.is_set() and \
                (check.document or {}).get("exit_code") == 0:
            smoke = _step(job, f"{name}-smoke", "smoke", shared, launch, run)
        with shared.lock:
            shared.results[job.node] = StepRuns(name, check, smoke)
            shared.finished += 1
            finished = shared.finished
        if on_done is not None:
            on_done(finished, total, job.node)


def _step(job: Job, name: str, command: str, shared: _Shared, launch: Launch,
          run: Runner) -> JobRun:
    argv = srun_argv(job, name=name, timeout_s=launch.timeout_s, command=doctor_command(
        launch.doctor, command, python=launch.python, timeout_s=launch.timeout_s))
    with shared.lock:
        shared.started.append(name)
    done = run(argv, timeout=launch.timeout_s, env=launch.environ)
    if done.timed_out:  # srun was killed; its job would live on until Slurm's time limit
        _cancel([name], launch.user, run, wait=False, env=launch.environ)
    return interpret_job(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr,
                         timed_out=done.timed_out, start_error=done.start_error,
                         timeout_s=launch.timeout_s, duration_s=done.duration_s,
                         interrupted=shared.stop_reason if shared.stop.is_set() else None)


def _cancel_until_done(shared: _Shared, workers: Sequence[threading.Thread], launch: Launch,
                       run: Runner) -> None:
    """scancel our jobs until every worker is back: a job srun had not yet submitted when
    squeue was asked is caught by the next round."""
    deadline = time.monotonic() + _CLEANUP_S
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        with shared.lock:
            names = list(shared.started)
        _cancel(names, launch.user, run, wait=False, env=launch.environ)
        for w in workers:
            w.join(0.3)


def _cancel(names: Sequence[str], user: str, run: Runner, *, wait: bool,
            env: Optional[Mapping[str, str]]) -> None:
    """scancel the ids squeue lists under our job names; with `wait`, until none is left."""
    if not names:
        return
    deadline = time.monotonic() + _CLEANUP_S
    while True:
        listed = run(squeue_argv(names, user=user), timeout=_SLURM_TIMEOUT_S, env=env)
        ids = parse_job_ids(listed.stdout) if listed.ok else ()
        if not ids:
            return
        logger.info("cancelling job(s) %s", " ".join(ids))
        run(scancel_argv(ids), timeout=_SLURM_TIMEOUT_S, env=env)
        if not wait or time.monotonic() >= deadline:
            return
        time.sleep(0.5)
