"""Pure: group alike nodes (partition, GPU type and count, features) and choose whom to ask."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from mamba_doctor.fleet.sinfo import GpuGres, NodeLine


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one partition with the same GPUs and features: one answer stands for all."""

    partition: str
    gpus: tuple[GpuGres, ...]
    features: tuple[str, ...]
    members: tuple[NodeLine, ...]

    @property
    def id(self) -> str:
        """Stable, readable key: "gpu-a100/a100x2/a100,gpu"."""
        gpu = "+".join(f"{g.type or 'gpu'}x{g.count}" for g in self.gpus) or "nogpu"
        return f"{self.partition}/{gpu}/{','.join(self.features) or '-'}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    @property
    def runnable(self) -> tuple[NodeLine, ...]:
        return tuple(m for m in self.members if m.runnable)

    @property
    def not_runnable(self) -> tuple[NodeLine, ...]:
        return tuple(m for m in self.members if not m.runnable)

    @property
    def gpu_type(self) -> Optional[str]:
        return self.gpus[0].type if self.gpus else None

    def gpu_label(self) -> str:
        return ", ".join(g.label() for g in self.gpus) if self.gpus else "no GPU"


@dataclass(frozen=True)
class Job:
    """One `srun` to start: which node, through which partition, asking for which GPU."""

    node: str
    partition: str
    gres: Optional[str]  # "gpu:a100:1", "gpu:1"; None for a node without GPUs
    groups: tuple[str, ...]  # ids of the groups this node answers for


def group_nodes(lines: Sequence[NodeLine]) -> tuple[NodeGroup, ...]:
    """Group sinfo lines; sorted by partition, most GPUs first, then GPU type and features.

    A node in two partitions belongs to a group in each: who may run there differs.
    """
    buckets: dict[tuple[str, tuple[GpuGres, ...], tuple[str, ...]], list[NodeLine]] = {}
    for line in lines:
        key = (line.partition, line.gpus, line.features)
        bucket = buckets.setdefault(key, [])
        if all(m.name != line.name for m in bucket):
            bucket.append(line)
    groups = [NodeGroup(p, g, f, tuple(sorted(ms, key=lambda m: natural_key(m.name))))
              for (p, g, f), ms in buckets.items()]
    return tuple(sorted(groups, key=lambda g: (natural_key(g.partition),
                                               -sum(x.count for x in g.gpus), g.id)))


def plan_jobs(groups: Sequence[NodeGroup], *, all_nodes: bool = False) -> tuple[Job, ...]:
    """The nodes to ask: one runnable node per group (a node already asked for another group
    is reused), or with `all_nodes` every runnable node once. Groups with no runnable node
    get no job: they are reported, not waited for."""
    chosen: dict[str, list[str]] = {}  # node -> group ids, in order
    partition_of: dict[str, str] = {}
    line_of: dict[str, NodeLine] = {}
    for group in groups:
        candidates = group.runnable
        if not candidates:
            continue
        if all_nodes:
            picks: tuple[NodeLine, ...] = candidates
        else:
            reuse = [m for m in candidates if m.name in chosen]
            picks = (reuse[0] if reuse else min(
                candidates, key=lambda m: (m.preference, natural_key(m.name))),)
        for node in picks:
            chosen.setdefault(node.name, []).append(group.id)
            partition_of.setdefault(node.name, group.partition)
            line_of.setdefault(node.name, node)
    return tuple(Job(node=name, partition=partition_of[name], gres=gres_request(line_of[name]),
                     groups=tuple(ids)) for name, ids in chosen.items())


def gres_request(line: NodeLine) -> Optional[str]:
    """One GPU of the node's (first) type: enough for `check` to see what a job would see."""
    if not line.gpus:
        return None
    gpu = line.gpus[0]
    return f"gpu:{gpu.type}:1" if gpu.type else "gpu:1"


def natural_key(name: str) -> tuple[object, ...]:
    """node2 before node10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
