"""Pure: turn each node's `check --json` (and `smoke --json`) into facts, and nodes into groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.fleet.groups import NodeGroup
from mamba_doctor.fleet.sinfo import NodeLine
from mamba_doctor.fleet.srun import NOT_RUN, JobRun
from mamba_doctor.knowledge.cuda_tables import arch_name
from mamba_doctor.models import parse_sm

RUNS, FAILS, NO_REPORT, MIXED = "runs", "fails", "no_report", "mixed"
OUTCOMES = (RUNS, FAILS, NO_REPORT, NOT_RUN, MIXED)


@dataclass(frozen=True)
class NodeFacts:
    """What one node's report says, reduced to the columns of the fleet table."""

    verdict: str  # check's overall verdict: ok / warn / fail
    blocking: tuple[str, ...] = ()
    reason: Optional[str] = None  # why it fails, in a few words
    reason_code: Optional[str] = None  # "no_gpu", or the first blocking check's id
    next_step: Optional[str] = None
    gpu_model: Optional[str] = None
    gpu_count: int = 0  # GPUs the job could see
    compute_capability: Optional[str] = None
    driver_version: Optional[str] = None
    cuda_driver_version: Optional[str] = None
    torch_version: Optional[str] = None
    torch_uses_gpu: Optional[bool] = None  # None: nothing to use (no GPU, no CUDA torch)
    wheels: tuple[str, ...] = ()  # the prebuilt pair that fits: "mamba_ssm 2.3.0", ...
    wheels_reason: Optional[str] = None  # why none fits
    python: Optional[str] = None
    smoke_ok: Optional[bool] = None
    smoke_summary: Optional[str] = None

    @property
    def runs(self) -> bool:
        return self.verdict in ("ok", "warn") and self.smoke_ok is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict, "blocking": list(self.blocking), "reason": self.reason,
            "reason_code": self.reason_code, "next_step": self.next_step,
            "gpu_model": self.gpu_model, "gpu_count": self.gpu_count,
            "compute_capability": self.compute_capability,
            "driver_version": self.driver_version,
            "cuda_driver_version": self.cuda_driver_version,
            "torch_version": self.torch_version, "torch_uses_gpu": self.torch_uses_gpu,
            "wheels": list(self.wheels), "wheels_reason": self.wheels_reason,
            "python": self.python, "smoke": None if self.smoke_ok is None else
            {"ok": self.smoke_ok, "summary": self.smoke_summary},
        }


@dataclass(frozen=True)
class NodeResult:
    """One node: what sinfo said, what its job did, what its report says."""

    line: NodeLine
    partitions: tuple[str, ...]
    job: Optional[JobRun] = None  # None: not run (down, drained, or not chosen)
    facts: Optional[NodeFacts] = None
    job_name: Optional[str] = None
    stand_in: Optional[str] = None  # the node asked for this one's group when it was not

    @property
    def outcome(self) -> str:
        if self.job is None:
            return NOT_RUN
        if self.facts is None:
            return NO_REPORT
        return RUNS if self.facts.runs else FAILS

    @property
    def reason(self) -> Optional[str]:
        if self.job is None:
            if not self.line.runnable:
                return self.line.why_not_runnable()
            return f"not asked: {self.stand_in} answered for its group" if self.stand_in else None
        if self.facts is None:
            return self.job.reason
        if self.facts.smoke_ok is False and self.facts.verdict != "fail":
            return f"smoke test failed: {self.facts.smoke_summary}"
        return self.facts.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.line.name, "partitions": list(self.partitions),
            "state": self.line.state, "state_reason": self.line.reason,
            "runnable": self.line.runnable, "gres": self.line.gres_text or None,
            "features": list(self.line.features), "outcome": self.outcome,
            "reason": self.reason, "job_name": self.job_name,
            "job": None if self.job is None else self.job.to_dict(),
            "facts": None if self.facts is None else self.facts.to_dict(),
            "check": _trimmed_report(self.job.document) if self.job and self.job.document
            else None,
        }


@dataclass(frozen=True)
class GroupRow:
    """One row of the fleet table: a group, the nodes asked for it, and the outcome."""

    group: NodeGroup
    results: tuple[NodeResult, ...]  # of the nodes asked for this group
    label: str

    @property
    def facts(self) -> Optional[NodeFacts]:
        return next((r.facts for r in self.results if r.facts is not None), None)

    @property
    def outcome(self) -> str:
        found = {r.outcome for r in self.results}
        if not found:
            return NOT_RUN
        return found.pop() if len(found) == 1 else MIXED

    @property
    def reason(self) -> Optional[str]:
        if not self.results:
            why = sorted({m.why_not_runnable() for m in self.group.not_runnable})
            return "no node can take a job: " + "; ".join(why) if why else None
        reasons = [r.reason for r in self.results if r.reason]
        return reasons[0] if reasons else None

    @property
    def reason_code(self) -> Optional[str]:
        for r in self.results:
            if r.facts is not None and r.facts.reason_code:
                return r.facts.reason_code
            if r.facts is None and r.job is not None:
                return r.job.status
        return None if self.results else NOT_RUN

    def to_dict(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "id": self.group.id, "label": self.label, "partition": self.group.partition,
            "gpu": [{"type": g.type, "count": g.count} for g in self.group.gpus],
            "features": list(self.group.features), "nodes": list(self.group.names),
            "tested": [r.line.name for r in self.results],
            "not_run": [{"node": m.name, "state": m.state, "reason": m.why_not_runnable()}
                        for m in self.group.not_runnable],
            "outcome": self.outcome, "reason": self.reason, "reason_code": self.reason_code,
            "facts": None if facts is None else facts.to_dict(),
        }


def node_facts(check: Mapping[str, Any], smoke: Optional[Mapping[str, Any]] = None
               ) -> Optional[NodeFacts]:
    """Facts from a `check --json` envelope; None when it holds no report."""
    data = check.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("checks"), list):
        return None
    checks = {str(c.get("id")): c for c in data["checks"] if isinstance(c, Mapping)}
    env = _section(data, "environment")
    nvidia = _section(env, "nvidia")
    torch = _section(env, "torch")
    gpus = [g for g in nvidia.get("gpus") or [] if isinstance(g, Mapping)]
    shown = [g for g in gpus if g.get("visible") is not False] or gpus
    first = shown[0] if shown else {}
    blocking = tuple(str(b) for b in data.get("blocking") or [])
    reason, code, step = _failure(blocking, checks, first, data)
    wheels, wheels_reason = _wheels(data, checks)
    smoke_ok, smoke_summary = _smoke(smoke)
    return NodeFacts(
        verdict=str(data.get("verdict") or "fail"), blocking=blocking, reason=reason,
        reason_code=code, next_step=step, gpu_model=first.get("name"),
        gpu_count=len(shown), compute_capability=first.get("compute_capability"),
        driver_version=nvidia.get("driver_version"),
        cuda_driver_version=nvidia.get("cuda_driver_version"),
        torch_version=torch.get("version"), torch_uses_gpu=_torch_uses_gpu(checks),
        wheels=wheels, wheels_reason=wheels_reason,
        python=_section(env, "python").get("executable"),
        smoke_ok=smoke_ok, smoke_summary=smoke_summary)


def merge(groups: Sequence[NodeGroup], results: Mapping[str, NodeResult]
          ) -> tuple[GroupRow, ...]:
    """One row per group, holding the results of the nodes asked for it."""
    labels = group_labels(groups)
    return tuple(GroupRow(g, tuple(results[n] for n in g.names
                                   if n in results and results[n].job is not None),
                          labels[g.id]) for g in groups)


def group_labels(groups: Sequence[NodeGroup]) -> dict[str, str]:
    """The partition name, or "partition (a100 x2)" where a partition holds several groups."""
    per_partition: dict[str, int] = {}
    for g in groups:
        per_partition[g.partition] = per_partition.get(g.partition, 0) + 1
    labels = {}
    for g in groups:
        extra = g.gpu_label() if per_partition[g.partition] > 1 else ""
        if extra and sum(1 for o in groups if o.partition == g.partition
                         and o.gpu_label() == g.gpu_label()) > 1:
            extra += " " + ",".join(g.features)
        labels[g.id] = f"{g.partition} ({extra})" if extra else g.partition
    return labels


def arch_label(capability: Optional[str]) -> Optional[str]:
    sm = parse_sm(capability)
    if sm is None:
        return None
    return f"sm_{sm} ({arch_name(sm)})"


def _failure(blocking: tuple[str, ...], checks: Mapping[str, Mapping[str, Any]],
             gpu: Mapping[str, Any], data: Mapping[str, Any]
             ) -> tuple[Optional[str], Optional[str], Optional[str]]:
    if not blocking:
        return None, None, None
    first = checks.get(blocking[0], {})
    hint = first.get("hint") or next(iter(data.get("next_steps") or []), None)
    if blocking[0] == "driver" and not gpu:
        return "no GPU: no NVIDIA driver or GPU on this node", "no_gpu", hint
    if blocking[0] == "gpu_arch_mamba":
        arch = arch_label(gpu.get("compute_capability"))
        if arch:
            return f"{arch} is compiled into no mamba_ssm kernel", blocking[0], hint
    return str(first.get("summary") or blocking[0]), blocking[0], hint


def _wheels(data: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]]
            ) -> tuple[tuple[str, ...], Optional[str]]:
    resolution = data.get("resolution")
    rows = resolution.get("resolutions") if isinstance(resolution, Mapping) else None
    rows = rows if isinstance(rows, list) else []
    found = []
    for r in rows:
        if isinstance(r, Mapping) and r.get("wheel"):
            found.append(f"{r.get('package')} {r.get('version')}")
    complete = bool(rows) and len(found) == len(rows)
    if complete:
        return tuple(found), None
    row = checks.get("wheels")
    return (), str(row.get("summary")) if row else "the wheel index was not consulted"


def _torch_uses_gpu(checks: Mapping[str, Mapping[str, Any]]) -> Optional[bool]:
    states = [checks.get(i, {}).get("status") for i in ("torch_gpu", "gpu_arch_torch")]
    if "fail" in states:
        return False
    if states and all(s == "ok" for s in states):
        return True
    return None


def _smoke(doc: Optional[Mapping[str, Any]]) -> tuple[Optional[bool], Optional[str]]:
    if doc is None:
        return None, None
    if doc.get("exit_code") == 0:
        return True, "passed"
    errors = doc.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    text = first.get("hint") or first.get("message") or f"exit {doc.get('exit_code')}"
    return False, str(text).splitlines()[0][:200]


def _section(env: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = env.get(key)
    return value if isinstance(value, Mapping) else {}


def _trimmed_report(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The node's check report without the wheel resolver's long rejection lists."""
    data = dict(doc.get("data") or {})
    data.pop("resolution", None)
    return {"exit_code": doc.get("exit_code"), "status": doc.get("status"),
            "errors": doc.get("errors") or [], "data": data}
