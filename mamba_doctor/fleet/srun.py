"""Pure: the srun/squeue/scancel command lines, and what a finished `srun` says happened."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.fleet.groups import Job

JOB_PREFIX = "mamba-doctor-fleet"

DONE, FAILED, TIMED_OUT, CANCELLED, NOT_RUN = "done", "failed", "timed_out", "cancelled", "not_run"

# slurmstepd's banner when a step or job is ended from outside, e.g.
# "slurmstepd-node5: error: *** STEP 9.0 ON node5 CANCELLED AT 2026-12-03T14:37:25 ***" and
# "*** JOB 12 ON node1 CANCELLED AT ... DUE TO TIME LIMIT ***" (src/slurmd/slurmstepd/req.c).
_CANCELLED_RE = re.compile(r"\*\*\* (?:STEP|JOB) \S+ ON \S+ CANCELLED AT \S+(?P<why>[^*]*)\*\*\*")
_EXECVE_RE = re.compile(r"execve\(\): (?P<path>.+?): (?P<why>No such file or directory|"
                        r"Permission denied)")
_SRUN_ERROR_RE = re.compile(r"^srun: error: (?!\S+: task \d+: )(?P<msg>.+)$", re.M)


@dataclass(frozen=True)
class JobRun:
    """What one srun step produced: the doctor's JSON document, or why there is none."""

    status: str  # DONE (a report came back, whatever it says), FAILED, TIMED_OUT, CANCELLED
    reason: Optional[str] = None
    document: Optional[dict[str, Any]] = None
    exit_code: Optional[int] = None
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "exit_code": self.exit_code,
                "duration_s": round(self.duration_s, 2)}


@dataclass(frozen=True)
class StepRuns:
    """The steps run on one node: `check`, and `smoke` when asked."""

    job_name: str
    check: JobRun
    smoke: Optional[JobRun] = None


def job_name(token: str, index: int) -> str:
    """A name unique to this fleet run, so that cleanup cancels exactly its own jobs."""
    return f"{JOB_PREFIX}-{token}-{index}"


def time_limit_minutes(timeout_s: float) -> int:
    """Slurm's --time is in whole minutes: the step's own limit, in case `fleet` dies first."""
    return max(1, math.ceil(timeout_s / 60.0))


def doctor_command(doctor: Sequence[str], command: str, *, python: Optional[str],
                   timeout_s: float) -> tuple[str, ...]:
    """`<doctor> check --json [--python P] --timeout N`: the doctor stops the target a little
    before srun is stopped, so a hanging import is reported by it rather than lost."""
    inner = max(1, int(timeout_s * 0.75))
    argv = [*doctor, command, "--json", "--timeout", str(inner)]
    if python:
        argv += ["--python", python]
    return tuple(argv)


def srun_argv(job: Job, *, name: str, command: Sequence[str], timeout_s: float
              ) -> tuple[str, ...]:
    """One task on exactly `job.node`, with one GPU of its type when it has GPUs."""
    argv = ["srun", f"--job-name={name}", f"--partition={job.partition}",
            f"--nodelist={job.node}", "--nodes=1", "--ntasks=1",
            f"--time={time_limit_minutes(timeout_s)}"]
    if job.gres:
        argv.append(f"--gres={job.gres}")
    return (*argv, *command)


# SLURM_* variables srun may keep from the caller's environment: the site and account it
# submits under. All others describe an allocation `fleet` may be running inside (salloc, an
# interactive job); srun would read them as a request to run a step in that job (SLURM_JOB_ID)
# or with its resources (SLURM_GPUS_PER_NODE, ...), which is not what `fleet` asks for.
KEPT_SLURM_VARS = ("SLURM_CONF", "SLURM_ACCOUNT", "SLURM_QOS", "SLURM_RESERVATION",
                   "SLURM_WCKEY", "SLURM_CLUSTERS", "SLURM_TIME_FORMAT")


def job_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for srun/squeue/scancel: the caller's, minus its allocation."""
    return {k: v for k, v in environ.items()
            if not k.startswith(("SLURM_", "SLURMD_")) or k in KEPT_SLURM_VARS}


def sinfo_argv(*, partitions: Sequence[str] = (), nodelist: Optional[str] = None
               ) -> tuple[str, ...]:
    from mamba_doctor.fleet.sinfo import SINFO_FORMAT

    argv = ["sinfo", "--noheader", "--Node", f"--format={SINFO_FORMAT}"]
    if partitions:
        argv.append(f"--partition={','.join(partitions)}")
    if nodelist:
        argv.append(f"--nodes={nodelist}")
    return tuple(argv)


def squeue_argv(names: Sequence[str], *, user: str) -> tuple[str, ...]:
    """Job ids of our own jobs (by their unique names), pending or running."""
    return ("squeue", "--noheader", f"--user={user}", f"--name={','.join(names)}",
            "--format=%i")


def parse_job_ids(text: str) -> tuple[str, ...]:
    """squeue --format=%i lines -> ids ("123", "124_1" for array tasks)."""
    return tuple(t for t in (ln.strip() for ln in text.splitlines()) if re.fullmatch(r"[\d_]+", t))


def scancel_argv(ids: Sequence[str]) -> tuple[str, ...]:
    return ("scancel", *ids)


def interpret_job(*, returncode: Optional[int], stdout: str, stderr: str, timed_out: bool,
                  start_error: Optional[str], timeout_s: float, duration_s: float = 0.0,
                  interrupted: Optional[str] = None) -> JobRun:
    """Classify a finished srun. A report that came back is DONE even when it says the
    environment fails there (`check` exits 3 then); no report is a row with its reason."""
    if start_error is not None:
        return JobRun(FAILED, f"could not start srun: {start_error}", duration_s=duration_s)
    doc = find_document(stdout)
    # A report that made it back before the interrupt counts; the doctor on the node saying it
    # was interrupted itself (srun passes our SIGTERM on to the step) is no report.
    if interrupted and (doc is None or _was_interrupted(doc)):
        return JobRun(CANCELLED, interrupted, None, returncode, duration_s)
    if timed_out:
        waited = "queued and waiting" in stderr and "has been allocated" not in stderr
        where = " (still waiting for the node)" if waited else ""
        return JobRun(TIMED_OUT, f"timed out after {timeout_s:g} s{where}", None, None, duration_s)
    banner = _CANCELLED_RE.search(stderr)
    if banner is not None and doc is None:
        why = banner.group("why").strip()
        if "TIME LIMIT" in why:
            return JobRun(TIMED_OUT, "Slurm's time limit ended the job", None, returncode,
                          duration_s)
        return JobRun(CANCELLED, "cancelled by Slurm" + (f" ({why.lower()})" if why else ""),
                      None, returncode, duration_s)
    if doc is not None:
        failure = _envelope_failure(doc)
        if failure:
            return JobRun(FAILED, failure, doc, returncode, duration_s)
        return JobRun(DONE, None, doc, returncode, duration_s)
    return JobRun(FAILED, _srun_failure(returncode, stderr), None, returncode, duration_s)


def _was_interrupted(doc: dict[str, Any]) -> bool:
    errors = doc.get("errors")
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("code") == "interrupted" for e in errors)


def find_document(stdout: str) -> Optional[dict[str, Any]]:
    """The doctor's JSON envelope in a step's stdout (other lines may surround it)."""
    decoder = json.JSONDecoder()
    found: Optional[dict[str, Any]] = None
    pos = stdout.find("{")
    while pos != -1:
        try:
            obj, end = decoder.raw_decode(stdout, pos)
        except ValueError:
            pos = stdout.find("{", pos + 1)
            continue
        if isinstance(obj, dict) and "schema_version" in obj and "command" in obj:
            found = obj
        pos = stdout.find("{", end)
    return found


def _envelope_failure(doc: dict[str, Any]) -> Optional[str]:
    """Why a `check` envelope holds no report (the doctor itself failed on the node): a bad
    --python there, a crash. A failing smoke test is a result, not a failed job."""
    data = doc.get("data")
    if doc.get("command") != "check" or (isinstance(data, dict) and "checks" in data):
        return None
    errors = doc.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = str(first.get("message") or f"the doctor exited {doc.get('exit_code')}")
    return message.splitlines()[0][:300]


def _srun_failure(returncode: Optional[int], stderr: str) -> str:
    missing = _EXECVE_RE.search(stderr)
    if missing is not None:
        return (f"{missing.group('path')} cannot run on the node ({missing.group('why')}): "
                "put the doctor and the environment on a filesystem every node mounts")
    err = _SRUN_ERROR_RE.search(stderr)
    if err is not None:
        return f"srun: {err.group('msg').strip()}"[:300]
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    tail = f": {lines[-1][:200]}" if lines else ""
    return f"srun exited with status {returncode} and no report{tail}"
