"""`fleet` and the shared cache against a real SLURM: .ci/slurm-up.sh's six simulated nodes.

Skipped (with the reason) where SLURM cannot be started; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
import slurmkit
from clirunner import CliRunner
from httpserver import Fault, FaultyServer
from installkit import make_wheel

from mamba_doctor.cli import app

pytestmark = pytest.mark.timeout(120)

GROUPS = {  # (partition, GPU type, count) -> outcome
    ("cpu", None, 0): "fails",
    ("gpu", "a100", 2): "runs",
    ("gpu", "p100", 1): "fails",
    ("gpu", "v100", 1): "runs",
    ("gpu-a100", "a100", 2): "runs",
    ("gpu-p100", "p100", 1): "fails",
    ("gpu-v100", "v100", 1): "runs",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    started = False
    if not slurmkit.cluster_answers():
        started, why = slurmkit.start_cluster(install=slurmkit.in_ci())
        if not started:
            message = f"SLURM cannot be started here: {why}"
            if slurmkit.in_ci():
                pytest.fail(message)
            pytest.skip(message)
    yield slurmkit.CONF
    if started:
        slurmkit.stop_cluster()


@pytest.fixture(scope="module")
def env_python(cluster: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(slurmkit.make_standin_env(tmp_path_factory.mktemp("fleet") / "env"))


@pytest.fixture(autouse=True)
def _slurm_conf(cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_CONF", str(cluster))


def fleet(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["fleet", *args])
    return result.exit_code, result.stdout, result.stderr


def fleet_json(*args: str) -> tuple[int, dict]:
    code, out, _ = fleet(*args, "--json")
    return code, json.loads(out)


def test_groups_verdicts_drained_node_and_json_contract(env_python: str) -> None:
    started = time.monotonic()
    code, doc = fleet_json("--python", env_python)
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"fleet took {elapsed:.1f} s for the 6-node cluster"
    assert code == 0
    assert set(doc) == {"schema_version", "command", "status", "exit_code", "data", "errors"}
    assert (doc["command"], doc["status"], doc["exit_code"], doc["errors"]) == (
        "fleet", "success", 0, [])
    data = doc["data"]
    assert {"groups", "nodes", "summary", "sbatch", "doctor", "python"} <= set(data)

    found = {(g["partition"], g["gpu"][0]["type"] if g["gpu"] else None,
              g["gpu"][0]["count"] if g["gpu"] else 0): g for g in data["groups"]}
    assert {k: g["outcome"] for k, g in found.items()} == GROUPS
    a100 = found[("gpu-a100", "a100", 2)]
    assert a100["nodes"] == ["node1", "node2", "node6"]
    assert a100["not_run"] == [{"node": "node6", "state": "drained",
                                "reason": "drained: ci: maintenance"}]
    facts = a100["facts"]
    assert (facts["gpu_model"], facts["compute_capability"], facts["driver_version"],
            facts["cuda_driver_version"], facts["torch_version"], facts["torch_uses_gpu"]) == (
        "NVIDIA A100-SXM4-80GB", "8.0", "550.54.15", "12.4", "2.4.1+cu121", True)
    assert [w.split()[0] for w in facts["wheels"]] == ["mamba_ssm", "causal_conv1d"]
    v100 = found[("gpu-v100", "v100", 1)]["facts"]
    assert (v100["compute_capability"], v100["driver_version"]) == ("7.0", "535.183.01")
    assert v100["wheels"], "the env's wheels fit the V100"
    p100 = found[("gpu-p100", "p100", 1)]
    assert p100["reason_code"] == "gpu_arch_mamba"
    assert "sm_60" in p100["reason"] and "no mamba_ssm kernel" in p100["reason"]
    assert p100["facts"]["torch_uses_gpu"] is True  # torch 2.4 has sm_60; mamba_ssm has not
    cpu = found[("cpu", None, 0)]
    assert cpu["reason_code"] == "no_gpu" and "no GPU" in cpu["reason"]

    nodes = {n["node"]: n for n in data["nodes"]}
    assert sorted(nodes) == [f"node{i}" for i in range(1, 7)]
    assert nodes["node6"]["job"] is None and nodes["node6"]["outcome"] == "not_run"
    assert nodes["node6"]["reason"] == "drained: ci: maintenance"
    # one node per group, and node1 answers for both partitions it is in
    asked = sorted(n for n, v in nodes.items() if v["job"] is not None)
    assert asked == ["node1", "node3", "node4", "node5"]
    assert nodes["node2"]["reason"] == "not asked: node1 answered for its group"
    assert nodes["node1"]["job"]["status"] == "done"
    assert nodes["node4"]["check"]["data"]["blocking"] == ["gpu_arch_mamba"]

    assert data["sbatch"] == ["#SBATCH --partition=gpu-a100,gpu-v100", "#SBATCH --gres=gpu:1"]
    summary = " ".join(data["summary"])
    assert "Runs on gpu (a100 x2), gpu (v100 x1), gpu-a100 and gpu-v100" in summary
    assert "Fails on gpu (p100 x1) and gpu-p100: sm_60 (Pascal) is compiled into no mamba_ssm " \
           "kernel" in summary
    assert "node6 (drained: ci: maintenance)" in summary
    assert slurmkit.squeue_names() == []


def test_human_view_and_sbatch_lines_select_exactly_the_working_nodes(env_python: str) -> None:
    code, out, _ = fleet("--python", env_python, "--partition", "gpu")
    assert code == 0
    for text in ("Where ", "group, asked", "gpu (a100 x2)", "gpu (p100 x1)", "gpu (v100 x1)",
                 "fails: sm_60, no mamba_ssm kernel", "Summary", "Submit where it runs"):
        assert text in out, text
    lines = [ln for ln in out.splitlines() if ln.startswith("#SBATCH")]
    assert lines == ["#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1",
                     "#SBATCH --constraint='a100|v100'"]
    # the lines as printed, read by sbatch itself: the P100 node is out, the others in
    verdicts = {node: slurmkit.sbatch_test_only(lines, node)[0]
                for node in ("node1", "node2", "node3", "node4")}
    assert verdicts == {"node1": True, "node2": True, "node3": True, "node4": False}


def test_all_nodes_and_smoke(env_python: str) -> None:
    code, doc = fleet_json("--python", env_python, "--partition", "gpu-a100", "--all-nodes",
                           "--smoke", "--timeout", "60")
    nodes = {n["node"]: n for n in doc["data"]["nodes"]}
    assert sorted(n for n, v in nodes.items() if v["job"]) == ["node1", "node2"]
    for name in ("node1", "node2"):
        smoke = nodes[name]["facts"]["smoke"]
        # the stand-in torch has no tensors: check passes, the block cannot run
        assert smoke["ok"] is False and smoke["summary"]
        assert nodes[name]["outcome"] == "fails"
        assert nodes[name]["reason"].startswith("smoke test failed")
    assert code == 3 and doc["errors"][0]["code"] == "runs_nowhere"


def test_fleet_run_inside_an_allocation_submits_jobs_of_its_own(env_python: str) -> None:
    # an interactive job (salloc, srun --pty) exports SLURM_JOB_ID and friends: passed on,
    # srun would try a step inside that job ("Step requested GRES but job doesn't have GRES")
    done = subprocess.run(["srun", "-J", "mamba-doctor-fleet-test-outer", "-p", "cpu",
                           slurmkit.doctor_script(), "fleet", "--python", env_python,
                           "--partition", "gpu-v100", "--timeout", "30", "--json"],
                          env=slurmkit.slurm_env(), capture_output=True, text=True, timeout=90)
    doc = json.loads(done.stdout)
    [group] = doc["data"]["groups"]
    assert group["outcome"] == "runs", group
    assert done.returncode == 0


def hanging_doctor(tmp_path: Path, node: str) -> str:
    """A doctor that hangs on `node` (a step that never reports: a stuck filesystem, a hung
    import) and answers `--version` at once, as fleet's check before submitting asks."""
    script = tmp_path / "hanging-doctor"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" != --version ] && [ "${{SLURMD_NODENAME:-}}" = {node} ]; then\n'
                      "  exec sleep 600\n"
                      "fi\n"
                      f'exec {slurmkit.doctor_script()} "$@"\n')
    script.chmod(0o755)
    return str(script)


def test_a_node_that_hangs_past_the_timeout_is_a_timed_out_row(env_python: str,
                                                                tmp_path: Path) -> None:
    slurmkit.wait_idle("node3")  # so that the 4 s are spent hanging, not queueing
    started = time.monotonic()
    code, doc = fleet_json("--python", env_python, "--nodelist", "node3", "--timeout", "4",
                           "--doctor", hanging_doctor(tmp_path, "node3"))
    elapsed = time.monotonic() - started
    assert elapsed < 30
    node3 = next(n for n in doc["data"]["nodes"] if n["node"] == "node3")
    assert node3["job"]["status"] == "timed_out"
    assert node3["reason"] == "timed out after 4 s"
    groups = doc["data"]["groups"]
    assert {g["outcome"] for g in groups} == {"no_report"}
    assert code == 3
    assert {e["code"] for e in doc["errors"]} >= {"job_timed_out"}
    assert slurmkit.squeue_names() == []


def test_a_node_whose_driver_hangs_is_reported_as_such_not_as_no_driver(env_python: str) -> None:
    # check bounds every probe by its own timeout: a wedged driver (nvidia-smi hangs) comes back
    # as a finding of its own, with advice that fits it (not "install a driver" or "--gpus all")
    slurmkit.wait_idle("node3")
    slurmkit.hang_node("node3", True)
    try:
        code, doc = fleet_json("--python", env_python, "--nodelist", "node3", "--timeout", "8")
    finally:
        slurmkit.hang_node("node3", False)
    node3 = next(n for n in doc["data"]["nodes"] if n["node"] == "node3")
    assert node3["job"]["status"] == "done"
    driver = next(c for c in node3["check"]["data"]["checks"] if c["id"] == "driver")
    assert driver["status"] == "fail" and driver["problem"] == "driver_unresponsive"
    assert "did not answer" in driver["summary"]
    assert "wedged" in (driver["hint"] or "")
    assert code == 3


@pytest.mark.parametrize("signum, said", [(signal.SIGTERM, "SIGTERM"),
                                           (signal.SIGINT, "Ctrl-C")], ids=["SIGTERM", "SIGINT"])
def test_sigterm_cancels_our_jobs_and_only_ours(env_python: str, tmp_path: Path,
                                                signum: int, said: str) -> None:
    env = slurmkit.slurm_env()
    foreign = subprocess.run(["sbatch", "--parsable", "-J", "someone-elses-job", "-p",
                              "gpu-a100", "-w", "node1", "-o", "/dev/null", "--wrap",
                              "sleep 60"], env=env, capture_output=True, text=True,
                             check=True).stdout.strip()
    slurmkit.wait_idle("node3")
    out = (tmp_path / "fleet.json").open("w")
    err = (tmp_path / "fleet.err").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "mamba_doctor", "fleet", "--python",
                             env_python, "--nodelist", "node3", "--timeout", "90", "--json",
                             "--doctor", hanging_doctor(tmp_path, "node3")],
                            env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while not slurmkit.squeue_names() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert slurmkit.squeue_names(), "fleet's job never showed up in squeue"
        time.sleep(0.5)  # let the step start on the node
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
        err.close()
    doc = json.loads((tmp_path / "fleet.json").read_text())
    queue = subprocess.run(["squeue", "-h", "-o", "%i %j"], env=env, capture_output=True,
                           text=True, check=True).stdout
    subprocess.run(["scancel", foreign], env=env, check=False)
    assert code == 130
    assert doc["exit_code"] == 130 and doc["errors"][0]["code"] == "interrupted"
    node3 = next(n for n in doc["data"]["nodes"] if n["node"] == "node3")
    assert node3["job"]["status"] == "cancelled"
    assert said in node3["reason"]
    assert "mamba-doctor-fleet" not in queue
    assert f"{foreign} someone-elses-job" in queue  # not ours: left alone


def test_three_nodes_fetch_one_wheel_into_a_shared_cache_once(
        server: FaultyServer, tmp_path: Path) -> None:
    # incompressible content, served slowly, so that the three downloads really overlap
    payload = os.urandom(96 * 1024).hex()
    name = "mamba_ssm-9.9.9+cu12torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    wheel = make_wheel(tmp_path / "build", "mamba_ssm", "9.9.9+cu12torch2.4cxx11abiFALSE",
                       {"mamba_ssm/__init__.py": f"BLOB = {payload!r}\n"},
                       tag="cp311-cp311-linux_x86_64")
    assert wheel.name == name
    body = wheel.read_bytes()
    origin = f"https://github.com/state-spaces/mamba/releases/download/v9.9.9/{name}"
    path = f"/wheels/{quote(name)}"  # a directory mirror: <mirror>/<file name>
    server.add(path, body, faults=(Fault(rate=len(body) / 4.0),))  # 4 s
    digest = hashlib.sha256(body).hexdigest()
    (tmp_path / "env.json").write_text('{"python": {"version": "3.11.7"}}')
    cache = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"])
    script = (f'exec {slurmkit.doctor_script()} fetch-wheel --env {tmp_path}/env.json '
              f'--url {origin} --sha256 {digest} --mirror {server.url("/wheels/")} --allow-http '
              f'--dest {tmp_path}/dest-$SLURM_PROCID --json > {tmp_path}/out-$SLURM_PROCID.json')
    done = subprocess.run(["srun", "-J", "mamba-doctor-fleet-test-cache", "-p", "gpu",
                           "-w", "node1,node2,node3", "-N3", "-n3", "--time=2", "sh", "-c",
                           script], env=slurmkit.slurm_env(), capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    # the lock made the late-comers wait (lock.py logs it once per wait), then they found it
    assert done.stderr.count("waiting for another mamba-doctor process") >= 1, done.stderr
    docs = [json.loads((tmp_path / f"out-{i}.json").read_text()) for i in range(3)]
    downloads = [d["data"]["downloads"][0] for d in docs]
    assert sorted(d["from_cache"] for d in downloads) == [False, True, True]
    assert {d["sha256"] for d in downloads} == {digest}
    for i in range(3):
        copy = tmp_path / f"dest-{i}" / name
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    gets = [h for h in server.hits_for(path) if h.status in (200, 206)]
    assert len(gets) == 1 and server.sent(path) == len(body)
    leftovers = [p.name for p in (cache / "wheels").iterdir()
                 if p.name.endswith((".part", ".tmp")) or ".part." in p.name]
    assert leftovers == []
    assert (cache / "wheels" / name).read_bytes() == body
