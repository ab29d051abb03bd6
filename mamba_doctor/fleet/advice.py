"""Pure: one sentence per outcome, and the `#SBATCH` lines that select where the env works."""

from __future__ import annotations

import shlex
from typing import Iterable, Optional, Sequence

from mamba_doctor.advice.system import REFERENCE_PATH
from mamba_doctor.fleet.groups import NodeGroup, natural_key
from mamba_doctor.fleet.merge import FAILS, MIXED, NO_REPORT, RUNS, GroupRow


def summary_sentences(rows: Sequence[GroupRow]) -> tuple[str, ...]:
    """"Runs on gpu-a100 and gpu-v100 (...)", then one sentence per distinct failure reason,
    the jobs that gave no report, and the nodes that were not asked."""
    out: list[str] = []
    runs = [r for r in rows if r.outcome == RUNS]
    if runs:
        pairs = {r.facts.wheels for r in runs if r.facts is not None}
        wheels = next(iter(pairs)) if len(pairs) == 1 else ()
        extra = f" (prebuilt wheels: {' + '.join(wheels)})" if wheels else ""
        out.append(f"Runs on {_join(r.label for r in runs)}{extra}.")
    else:
        out.append("Runs nowhere on the nodes asked.")
    by_reason: dict[str, list[GroupRow]] = {}
    for r in rows:
        if r.outcome == FAILS:
            by_reason.setdefault(r.reason or "unknown reason", []).append(r)
    for reason, group in by_reason.items():
        code = group[0].reason_code
        tail = ""
        if code == "gpu_arch_mamba":
            tail = f"; use {REFERENCE_PATH} there" + (
                ", or keep jobs off it with the #SBATCH lines below (--constraint/--exclude)"
                if runs else "")
        elif code == "no_gpu":
            tail = "; Mamba's kernels need an NVIDIA GPU"
        elif group[0].facts is not None and group[0].facts.next_step:
            tail = f"; next: {group[0].facts.next_step}"
        out.append(f"Fails on {_join(r.label for r in group)}: {reason}{tail}.")
    for r in rows:
        if r.outcome == MIXED:
            parts = [f"{res.outcome.replace('_', ' ')} on {res.line.name}"
                     + (f" ({res.reason})" if res.reason else "") for res in r.results]
            out.append(f"Nodes of {r.label} disagree: {'; '.join(parts)}.")
        elif r.outcome == NO_REPORT:
            names = ", ".join(res.line.name for res in r.results)
            out.append(f"No report from {r.label} ({names}): {r.reason}.")
    skipped = sorted({(m.name, m.why_not_runnable()) for r in rows for m in r.group.not_runnable},
                     key=lambda x: natural_key(x[0]))
    if skipped:
        out.append("Not asked (not taking jobs): "
                   + "; ".join(f"{name} ({why})" for name, why in skipped) + ".")
    return tuple(out)


def sbatch_lines(rows: Sequence[GroupRow], all_groups: Sequence[NodeGroup]) -> tuple[str, ...]:
    """`#SBATCH --partition/--gres/--constraint` (or `--exclude`) lines that send a job only
    to nodes like those where the environment ran. Empty when it ran nowhere.

    Partitions where every group ran are preferred: when they hold every node that ran, they
    need no constraint. Otherwise all partitions where something ran are named, and the other
    nodes in them (that failed, or gave no answer) are kept out by a feature only the working
    groups have, else by name.
    """
    good = [r for r in rows if r.outcome == RUNS or (
        r.outcome == MIXED and any(res.outcome == RUNS for res in r.results))]
    if not good:
        return ()
    partitions = _clean_cover(rows) or _unique(r.group.partition for r in good)
    good = [r for r in good if r.group.partition in partitions]
    good_ids = {r.group.id for r in good}
    lines = [f"#SBATCH --partition={_q(','.join(partitions))}"]
    gres = _gres(good)
    if gres:
        lines.append(f"#SBATCH --gres={_q(gres)}")
    good_nodes = {n for r in good for n in r.group.names}
    others = [g for g in all_groups if g.partition in partitions and g.id not in good_ids
              and not set(g.names) <= good_nodes]
    # The good nodes of a mixed group must not stand in for the bad ones.
    excluded = [res.line.name for r in rows if r.outcome == MIXED and r.group.partition
                in partitions for res in r.results if res.outcome != RUNS]
    if others:
        constraint = _constraint([r.group for r in good], others)
        if constraint is not None:
            lines.append(f"#SBATCH --constraint={_q(constraint)}")
        else:
            excluded += [name for g in others for name in g.names if name not in good_nodes]
    if excluded:
        names = sorted(set(excluded), key=natural_key)
        lines.append(f"#SBATCH --exclude={_q(','.join(names))}")
    return tuple(lines)


def _clean_cover(rows: Sequence[GroupRow]) -> list[str]:
    """Fewest partitions, each with nothing but working groups, that hold every node that
    ran (greedy set cover); [] when no such set exists."""
    wanted = {n for r in rows if r.outcome == RUNS for n in r.group.names}
    by_partition: dict[str, set[str]] = {}
    dirty: set[str] = set()
    for r in rows:
        if r.outcome == RUNS:
            by_partition.setdefault(r.group.partition, set()).update(r.group.names)
        else:
            dirty.add(r.group.partition)
    clean = {p: nodes for p, nodes in by_partition.items() if p not in dirty}
    order = [r.group.partition for r in rows]
    chosen: list[str] = []
    left = set(wanted)
    while left:
        best = max(clean, key=lambda p: (len(clean[p] & left), -order.index(p)), default=None)
        if best is None or not clean[best] & left:
            return []
        chosen.append(best)
        left -= clean.pop(best)
    return sorted(chosen, key=order.index)


def _gres(good: Sequence[GroupRow]) -> Optional[str]:
    if not all(r.group.gpus for r in good):
        return None  # a working group without GPUs: asking for one would exclude it
    types = {r.group.gpu_type for r in good}
    if len(types) == 1 and None not in types:
        return f"gpu:{types.pop()}:1"
    return "gpu:1"


def _constraint(good: Sequence[NodeGroup], others: Sequence[NodeGroup]) -> Optional[str]:
    """"a100|v100": for each working group one feature no other group of those partitions
    has; None when some working group has no such feature."""
    taken = {f for g in others for f in g.features}
    picks: list[str] = []
    for g in good:
        own = [f for f in g.features if f not in taken]
        if not own:
            return None
        # prefer the feature naming the GPU type, which says why to a reader
        best = next((f for f in own if g.gpu_type and f.lower() == g.gpu_type.lower()), own[0])
        if best not in picks:
            picks.append(best)
    return "|".join(picks)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _join(items: Iterable[str]) -> str:
    names = list(items)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _q(value: str) -> str:
    """Partition and feature names come from the cluster: quote them for the shell that reads
    the batch script (sbatch reads #SBATCH lines with shell-like word splitting)."""
    return shlex.quote(value)

