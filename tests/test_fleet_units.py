"""`fleet` without a cluster: sinfo/srun outputs recorded on the CI cluster, pure grouping and
advice, the cancel-only-our-jobs rule through a fake runner, the doctor check, the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Optional

import pytest
from clirunner import CliRunner
from fake_runner import FakeRunner, done

from mamba_doctor.cli import app
from mamba_doctor.errors import SlurmUnavailable, UsageError
from mamba_doctor.fleet.advice import summary_sentences
from mamba_doctor.fleet.doctor import check_doctor, doctor_argv
from mamba_doctor.fleet.groups import group_nodes, plan_jobs
from mamba_doctor.fleet.launch import Launch, discover, run_jobs
from mamba_doctor.fleet.report import build_report
from mamba_doctor.fleet.sinfo import GpuGres, parse_gres, parse_sinfo, runnable_state
from mamba_doctor.fleet.srun import (
    CANCELLED,
    DONE,
    FAILED,
    TIMED_OUT,
    JobRun,
    StepRuns,
    find_document,
    interpret_job,
    srun_argv,
)

SLURM = Path(__file__).parent / "fixtures" / "slurm"


def recorded(name: str) -> str:
    return (SLURM / name).read_text()


CLUSTER = parse_sinfo(recorded("sinfo-ci-cluster.txt"))


# --- sinfo -----------------------------------------------------------------------------------

def test_recorded_sinfo_parses_every_node_and_partition() -> None:
    assert len(CLUSTER) == 11
    by = {(n.name, n.partition): n for n in CLUSTER}
    assert by[("node1", "gpu-a100")].gpus == (GpuGres("a100", 2),)
    assert by[("node1", "gpu-a100")].features == ("a100", "gpu")
    assert by[("node5", "cpu")].default_partition and by[("node5", "cpu")].gpus == ()
    node6 = by[("node6", "gpu")]
    assert (node6.state, node6.reason, node6.runnable) == ("drained", "ci: maintenance", False)
    assert node6.why_not_runnable() == "drained: ci: maintenance"


@pytest.mark.parametrize("text, expected", [
    ("gpu:a100:4(S:0-1),nvme:1", (GpuGres("a100", 4),)),
    ("gpu:2(S:0,1)", (GpuGres(None, 2),)),  # the comma inside the parentheses is no separator
    ("gpu:tesla:2,gpu:k80:1", (GpuGres("tesla", 2), GpuGres("k80", 1))),
    ("gpu", (GpuGres(None, 1),)),
    ("gpu:a100:0", ()),
    ("mps:100,shard:8", ()),
    ("(null)", ()),
    ("", ()),
])
def test_parse_gres(text: str, expected: tuple) -> None:
    assert parse_gres(text) == expected


@pytest.mark.parametrize("state, runnable", [
    ("idle", True), ("mixed", True), ("allocated", True), ("completing", True),
    ("planned", True), ("idle~", True), ("mix-", True),
    ("drained", False), ("draining", False), ("down*", False), ("idle*", False),
    ("down", False), ("maint", False), ("idle$", False), ("mixed+drain", False),
    ("inval", False), ("future", False), ("", False),
])
def test_node_states(state: str, runnable: bool) -> None:
    assert runnable_state(state) is runnable


def test_a_reason_holding_the_separator_stays_whole() -> None:
    [line] = parse_sinfo("gpu7|gpu|down*|gpu:h100:8|gpu,h100|fan|PSU failed, see RT#12")
    assert line.reason == "fan|PSU failed, see RT#12"
    assert line.why_not_runnable() == "down (not responding): fan|PSU failed, see RT#12"


# --- grouping and planning -------------------------------------------------------------------

def test_groups_and_one_job_per_group_reusing_shared_nodes() -> None:
    groups = group_nodes(CLUSTER)
    assert [g.id for g in groups] == [
        "cpu/nogpu/cpu", "gpu/a100x2/a100,gpu", "gpu/p100x1/gpu,p100", "gpu/v100x1/gpu,v100",
        "gpu-a100/a100x2/a100,gpu", "gpu-p100/p100x1/gpu,p100", "gpu-v100/v100x1/gpu,v100"]
    jobs = {j.node: j for j in plan_jobs(groups)}
    assert sorted(jobs) == ["node1", "node3", "node4", "node5"]  # node6 is drained
    assert jobs["node1"].groups == ("gpu/a100x2/a100,gpu", "gpu-a100/a100x2/a100,gpu")
    assert (jobs["node1"].gres, jobs["node5"].gres) == ("gpu:a100:1", None)
    every = plan_jobs(groups, all_nodes=True)
    assert [j.node for j in every] == ["node5", "node1", "node2", "node4", "node3"]


def test_an_idle_node_is_asked_before_a_busy_one() -> None:
    lines = parse_sinfo("n1|p|allocated|gpu:2|gpu|none\nn2|p|mixed|gpu:2|gpu|none\n"
                        "n3|p|idle~|gpu:2|gpu|none\nn4|p|idle|gpu:2|gpu|none\n")
    assert [j.node for j in plan_jobs(group_nodes(lines))] == ["n4"]
    assert [j.node for j in plan_jobs(group_nodes(lines[:3]))] == ["n2"]


def test_srun_asks_for_one_gpu_of_the_type_on_exactly_that_node() -> None:
    job = next(j for j in plan_jobs(group_nodes(CLUSTER)) if j.node == "node3")
    argv = srun_argv(job, name="mamba-doctor-fleet-ab12-0", command=("md", "check"),
                     timeout_s=90)
    assert argv == ("srun", "--job-name=mamba-doctor-fleet-ab12-0", "--partition=gpu",
                    "--nodelist=node3", "--nodes=1", "--ntasks=1", "--time=2",
                    "--gres=gpu:v100:1", "md", "check")


# --- what a finished srun says ---------------------------------------------------------------

def _interpret(stderr: str = "", stdout: str = "", rc: Optional[int] = 1, **kw: Any) -> JobRun:
    args: dict[str, Any] = {"returncode": rc, "stdout": stdout, "stderr": stderr,
                            "timed_out": False, "start_error": None, "timeout_s": 4.0}
    args.update(kw)
    return interpret_job(**args)


def test_recorded_srun_failures_become_reasons() -> None:
    missing = _interpret(recorded("srun-execve-missing.stderr"), rc=2)
    assert missing.status == FAILED
    assert missing.reason.startswith("/nonexistent/mamba-doctor cannot run on the node (No such")
    gres = _interpret(recorded("srun-bad-gres.stderr"))
    assert (gres.status, gres.reason) == (FAILED, "srun: Unable to allocate resources: "
                                                  "Requested node configuration is not available")
    cancelled = _interpret(recorded("srun-cancelled.stderr"), rc=143)
    assert (cancelled.status, cancelled.reason) == (CANCELLED, "cancelled by Slurm")
    limit = _interpret(recorded("srun-time-limit.stderr"), rc=143)
    assert (limit.status, limit.reason) == (TIMED_OUT, "Slurm's time limit ended the job")
    ours = _interpret(rc=None, timed_out=True)
    assert (ours.status, ours.reason) == (TIMED_OUT, "timed out after 4 s")
    waiting = _interpret("srun: job 7 queued and waiting for resources\n", rc=None,
                         timed_out=True)
    assert waiting.reason == "timed out after 4 s (still waiting for the node)"
    assert _interpret(rc=None, start_error="No such file or directory").status == FAILED


def test_a_report_is_done_whatever_it_says_and_noise_around_it_is_ignored() -> None:
    doc = _envelope("check", 3, {"checks": [], "verdict": "fail"})
    text = "some banner\n" + json.dumps(doc, indent=2) + "\nbye {not json}\n"
    assert find_document(text) == doc
    assert _interpret(stdout=text, rc=3).status == DONE
    broken = _envelope("check", 2, {}, errors=[{"code": "usage_error",
                                                "message": "--python /x: no such file"}])
    run = _interpret(stdout=json.dumps(broken), rc=2)
    assert (run.status, run.reason) == (FAILED, "--python /x: no such file")


# --- merging and advice ----------------------------------------------------------------------

def _envelope(command: str, code: int, data: dict, errors: Optional[list] = None) -> dict:
    return {"schema_version": "1", "command": command, "status": "success" if code == 0
            else "error", "exit_code": code, "data": data, "errors": errors or []}


def _check_doc(cc: Optional[str], *, blocking: tuple[str, ...] = ()) -> dict:
    """A check report as a node sends it (only the keys the fleet reads)."""
    gpus = [{"index": 0, "name": f"GPU sm{cc}", "compute_capability": cc, "visible": True}] \
        if cc else []
    checks = [{"id": b, "status": "fail", "summary": f"{b} fails", "hint": f"fix {b}"}
              for b in blocking]
    return _envelope("check", 3 if blocking else 0, {
        "checks": checks, "verdict": "fail" if blocking else "ok", "blocking": list(blocking),
        "next_steps": [], "environment": {"nvidia": {"gpus": gpus, "driver_version": "550.1"},
                                          "torch": {"version": "2.4.1+cu121"}},
        "resolution": {"resolutions": [
            {"package": "mamba_ssm", "version": "2.3.0", "wheel": None if blocking else {}}]},
    })


CC = {"node1": "8.0", "node2": "8.0", "node3": "7.0", "node4": "6.0", "node5": None}
BLOCKING = {"node4": ("gpu_arch_mamba",), "node5": ("driver",)}


def _report(lines: tuple, *, all_nodes: bool = False, bad: tuple[str, ...] = ()) -> Any:
    groups = group_nodes(lines)
    runs = {}
    for job in plan_jobs(groups, all_nodes=all_nodes):
        blocking = BLOCKING.get(job.node, ("torch_gpu",) if job.node in bad else ())
        doc = _check_doc(CC[job.node], blocking=blocking)
        runs[job.node] = StepRuns(f"j-{job.node}", JobRun(DONE, document=doc))
    return build_report(lines, groups, runs, doctor=("md",), doctor_version="0.1",
                        python="/env/bin/python")


def test_the_recorded_cluster_gives_the_partitions_that_hold_only_working_nodes() -> None:
    report = _report(CLUSTER)
    assert report.sbatch == ("#SBATCH --partition=gpu-a100,gpu-v100", "#SBATCH --gres=gpu:1")
    sentences = summary_sentences(report.groups)
    assert sentences[0].startswith("Runs on gpu (a100 x2), gpu (v100 x1), gpu-a100 and gpu-v100")
    assert sentences[1].startswith("Fails on cpu: no GPU")
    assert sentences[2].startswith("Fails on gpu (p100 x1) and gpu-p100: sm_60 (Pascal) is "
                                   "compiled into no mamba_ssm kernel")
    assert sentences[-1] == "Not asked (not taking jobs): node6 (drained: ci: maintenance)."


def test_a_mixed_partition_gets_a_constraint_naming_the_working_gpus() -> None:
    report = _report(tuple(n for n in CLUSTER if n.partition == "gpu"))
    assert report.sbatch == ("#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1",
                             "#SBATCH --constraint='a100|v100'")


def test_without_a_telling_feature_the_failing_nodes_are_excluded_by_name() -> None:
    lines = parse_sinfo("node1|gpu|idle|gpu:a100:2|gpu|none\n"
                        "node4|gpu|idle|gpu:p100:1|gpu|none\n")
    assert _report(lines).sbatch == ("#SBATCH --partition=gpu", "#SBATCH --gres=gpu:a100:1",
                                     "#SBATCH --exclude=node4")


def test_nodes_of_one_group_that_disagree_are_excluded_by_name() -> None:
    lines = tuple(n for n in CLUSTER if n.partition == "gpu-a100")
    report = _report(lines, all_nodes=True, bad=("node2",))
    [row] = report.groups
    assert row.outcome == "mixed"
    assert report.sbatch == ("#SBATCH --partition=gpu-a100", "#SBATCH --gres=gpu:a100:1",
                             "#SBATCH --exclude=node2")
    assert any(s.startswith("Nodes of gpu-a100 disagree: runs on node1; fails on node2")
               for s in report.sentences)


def test_nothing_runs_no_sbatch_lines() -> None:
    lines = tuple(n for n in CLUSTER if n.partition in ("cpu", "gpu-p100"))
    report = _report(lines)
    assert report.sbatch == () and not report.runs_somewhere
    assert report.sentences[0] == "Runs nowhere on the nodes asked."


def test_cluster_names_are_quoted_for_the_batch_script() -> None:
    lines = parse_sinfo("n1|gpu;rm -rf ~|idle|gpu:a100:1|a100|none\n")
    assert _report_cc(lines)[0] == "#SBATCH --partition='gpu;rm -rf ~'"


def _report_cc(lines: tuple) -> tuple[str, ...]:
    groups = group_nodes(lines)
    runs = {j.node: StepRuns("j", JobRun(DONE, document=_check_doc("8.0")))
            for j in plan_jobs(groups)}
    return build_report(lines, groups, runs, doctor=("md",), doctor_version=None,
                        python=None).sbatch


# --- the edges through a fake runner ---------------------------------------------------------

def test_sinfo_missing_failing_or_empty() -> None:
    with pytest.raises(SlurmUnavailable, match="sinfo cannot run here"):
        discover(run=FakeRunner())
    failing = FakeRunner({("sinfo",): done(rc=1, stderr="sinfo: error: Unable to contact "
                                                         "slurm controller (connect failure)")})
    with pytest.raises(SlurmUnavailable, match="Unable to contact slurm controller"):
        discover(run=failing)
    with pytest.raises(UsageError, match="no node for partition nope"):
        discover(partitions=["nope"], run=FakeRunner({("sinfo",): done("")}))


def test_a_timed_out_step_cancels_exactly_its_own_job_id() -> None:
    queue = iter(["4242\n", ""])  # listed once, then gone
    runner = FakeRunner({
        ("srun",): done(timed_out=True),
        ("squeue",): lambda argv: done(next(queue, "")),
        ("scancel",): done(""),
    })
    job = next(j for j in plan_jobs(group_nodes(CLUSTER)) if j.node == "node3")
    launch = Launch(doctor=("md",), python=None, timeout_s=3, smoke=False, user="alice",
                    token="t0k3n")
    runs, interrupted = run_jobs([job], launch, run=runner)
    assert interrupted is None
    assert runs["node3"].check.status == TIMED_OUT
    squeues = [c for c in runner.calls if c[0] == "squeue"]
    assert squeues[0] == ("squeue", "--noheader", "--user=alice",
                          "--name=mamba-doctor-fleet-t0k3n-0", "--format=%i")
    assert [c for c in runner.calls if c[0] == "scancel"] == [("scancel", "4242")]


def test_the_callers_allocation_is_not_passed_to_srun() -> None:
    from mamba_doctor.fleet.srun import job_environ

    inside = {"PATH": "/bin", "SLURM_JOB_ID": "77", "SLURM_JOBID": "77", "SLURM_NNODES": "1",
              "SLURM_GPUS_PER_NODE": "1", "SLURMD_NODENAME": "node5", "SLURM_CONF": "/c",
              "SLURM_ACCOUNT": "lab", "SLURM_QOS": "normal", "MAMBA_DOCTOR_CACHE_DIR": "/s"}
    assert job_environ(inside) == {"PATH": "/bin", "SLURM_CONF": "/c", "SLURM_ACCOUNT": "lab",
                                   "SLURM_QOS": "normal", "MAMBA_DOCTOR_CACHE_DIR": "/s"}


def test_doctor_is_checked_before_anything_is_submitted(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        check_doctor((str(tmp_path / "nope"),))
    with pytest.raises(UsageError, match="not a working mamba-doctor"):
        check_doctor(("/bin/true",))
    script = tmp_path / "md"
    script.write_text("#!/bin/sh\necho mamba-doctor 1.2.3\n")
    script.chmod(0o755)
    assert check_doctor((str(script),)) == "1.2.3"


def test_doctor_argv_prefers_the_zipapp_this_runs_from(tmp_path: Path) -> None:
    pyz = tmp_path / "mamba-doctor.pyz"
    with zipfile.ZipFile(pyz, "w") as zf:
        zf.writestr("__main__.py", "")
    assert doctor_argv(None, argv0=str(pyz), executable="/py", default_script="/s") == (
        "python3", str(pyz))  # not executable: run through python3
    pyz.chmod(0o755)
    assert doctor_argv(None, argv0=str(pyz), executable="/py", default_script="/s") == (
        str(pyz),)
    assert doctor_argv(None, argv0="/x/pytest", executable="/py", default_script="/s") == ("/s",)
    assert doctor_argv(None, argv0="", executable="/py", default_script=None) == (
        "/py", "-m", "mamba_doctor")
    assert doctor_argv("rel/md", argv0="", executable="/py", default_script=None)[0] \
        .endswith("/rel/md")


def test_cli_help_and_a_bad_doctor_is_a_usage_error_in_the_envelope(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fleet", "--help"])
    for flag in ("--python", "--partition", "--nodelist", "--all-nodes", "--smoke", "--doctor",
                 "--timeout", "--max-parallel", "--json"):
        assert flag in result.stdout
    result = CliRunner().invoke(app, ["fleet", "--doctor", str(tmp_path / "md"), "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert (doc["command"], doc["exit_code"], doc["errors"][0]["code"]) == (
        "fleet", 2, "usage_error")
