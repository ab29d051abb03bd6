"""Pure: the whole fleet report (groups, nodes, sentences, #SBATCH lines) and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.fleet.advice import sbatch_lines, summary_sentences
from mamba_doctor.fleet.groups import NodeGroup, natural_key
from mamba_doctor.fleet.merge import RUNS, GroupRow, NodeResult, merge, node_facts
from mamba_doctor.fleet.sinfo import NodeLine
from mamba_doctor.fleet.srun import DONE, JobRun, StepRuns


@dataclass(frozen=True)
class FleetReport:
    groups: tuple[GroupRow, ...]
    nodes: tuple[NodeResult, ...]
    sentences: tuple[str, ...]
    sbatch: tuple[str, ...]
    doctor: tuple[str, ...]
    doctor_version: Optional[str]
    python: Optional[str]
    notes: tuple[str, ...] = ()
    interrupted: Optional[str] = None
    duration_s: float = 0.0

    @property
    def runs_somewhere(self) -> bool:
        return any(g.outcome == RUNS for g in self.groups)

    @property
    def no_report(self) -> tuple[NodeResult, ...]:
        """Nodes whose job ended without a report (failed, timed out, cancelled)."""
        return tuple(n for n in self.nodes if n.job is not None and n.facts is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [g.to_dict() for g in self.groups],
            "nodes": [n.to_dict() for n in self.nodes],
            "summary": list(self.sentences),
            "sbatch": list(self.sbatch),
            "doctor": list(self.doctor),
            "doctor_version": self.doctor_version,
            "python": self.python,
            "notes": list(self.notes),
            "interrupted": self.interrupted,
            "duration_s": round(self.duration_s, 2),
        }


def build_report(lines: Sequence[NodeLine], groups: Sequence[NodeGroup],
                 runs: Mapping[str, StepRuns], *, doctor: Sequence[str],
                 doctor_version: Optional[str], python: Optional[str],
                 notes: Sequence[str] = (), interrupted: Optional[str] = None,
                 duration_s: float = 0.0) -> FleetReport:
    """Merge the per-node documents into nodes, groups, sentences and #SBATCH lines."""
    partitions: dict[str, list[str]] = {}
    first_line: dict[str, NodeLine] = {}
    for line in lines:
        partitions.setdefault(line.name, []).append(line.partition)
        first_line.setdefault(line.name, line)
    stand_in = {m.name: next((n for n in g.names if n in runs), None)
                for g in groups for m in g.members}
    results: dict[str, NodeResult] = {}
    for name in sorted(first_line, key=natural_key):
        step = runs.get(name)
        facts = None
        if step is not None and step.check.status == DONE and step.check.document is not None:
            facts = node_facts(step.check.document, _smoke_doc(step.smoke))
        results[name] = NodeResult(
            line=first_line[name], partitions=tuple(partitions[name]),
            job=step.check if step is not None else None, facts=facts,
            job_name=step.job_name if step is not None else None,
            stand_in=None if step is not None else stand_in.get(name))
    rows = merge(groups, results)
    return FleetReport(groups=rows, nodes=tuple(results.values()),
                       sentences=summary_sentences(rows), sbatch=sbatch_lines(rows, groups),
                       doctor=tuple(doctor), doctor_version=doctor_version, python=python,
                       notes=tuple(notes), interrupted=interrupted, duration_s=duration_s)


def _smoke_doc(step: Optional[JobRun]) -> Optional[Mapping[str, Any]]:
    if step is None:
        return None
    if step.document is not None:
        return step.document
    return {"exit_code": step.exit_code, "errors": [{"message": step.reason or step.status}]}
