"""Pure parsing of `sinfo -N` output: one record per node and partition, its GPUs and state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# One line per (node, partition). The reason comes last because it is free text; the other
# fields cannot hold "|". Without a width, `-o` fields are not truncated (sinfo(1), -o).
SINFO_FIELDS = ("%N", "%P", "%T", "%G", "%f", "%E")
SINFO_FORMAT = "|".join(SINFO_FIELDS)

# Base states (sinfo(1) "NODE STATE CODES", long and short forms) a new job can start on.
_RUNNABLE = {"idle", "mixed", "mix", "allocated", "alloc", "completing", "comp", "planned",
             "plnd"}
# Among runnable nodes, the ones to ask first: an idle node answers at once, an allocated
# one only when a running job ends.
_PREFERENCE = {"idle": 0, "planned": 1, "plnd": 1, "mixed": 1, "mix": 1, "completing": 2,
               "comp": 2, "allocated": 3, "alloc": 3}
# State suffixes: "*" not responding, "~" powered off, "#" powering up, "!"/"%" powering down,
# "$" maintenance reservation, "@" reboot pending, "^" reboot issued, "-" planned.
_FLAGS = "*~#!%$@^-"
_FLAG_WORDS = {"*": "not responding", "~": "powered down", "#": "powering up",
               "!": "powering down", "%": "powering down", "$": "maintenance reservation",
               "@": "reboot pending", "^": "rebooting", "-": "planned"}
_BLOCKING_FLAGS = "*$"  # a node that does not answer; one held for a maintenance reservation
_NULL = {"", "(null)", "none", "n/a"}


@dataclass(frozen=True)
class GpuGres:
    """One `gpu[:type]:count` entry of a node's GRES."""

    type: Optional[str]  # "a100"; None when the site configures untyped GPUs
    count: int

    def label(self) -> str:
        return f"{self.type or 'gpu'} x{self.count}"


@dataclass(frozen=True)
class NodeLine:
    """What sinfo says about one node in one partition."""

    name: str
    partition: str
    state: str  # as printed: "idle", "drained", "down*", "mixed~"
    gpus: tuple[GpuGres, ...] = ()
    features: tuple[str, ...] = ()
    reason: Optional[str] = None
    default_partition: bool = False
    gres_text: str = ""

    @property
    def runnable(self) -> bool:
        """A job can start here now or once running jobs end (not down, drained, failed...)."""
        return runnable_state(self.state)

    @property
    def preference(self) -> int:
        """Lower is better when choosing which node of a group to ask."""
        return state_preference(self.state)

    @property
    def gpu_count(self) -> int:
        return sum(g.count for g in self.gpus)

    def why_not_runnable(self) -> str:
        """"drained: maintenance", "down (not responding)": for the report."""
        words = describe_state(self.state)
        return f"{words}: {self.reason}" if self.reason else words


def parse_sinfo(text: str) -> tuple[NodeLine, ...]:
    """Parse `sinfo -h -N -o SINFO_FORMAT` output; lines that do not fit are skipped."""
    out: list[NodeLine] = []
    for raw in text.splitlines():
        parts = raw.rstrip("\n").split("|", len(SINFO_FIELDS) - 1)
        if len(parts) != len(SINFO_FIELDS):
            continue
        name, partition, state, gres, features, reason = (p.strip() for p in parts)
        if not name or not partition or not state:
            continue
        default = partition.endswith("*")
        out.append(NodeLine(
            name=name, partition=partition.rstrip("*"), state=state,
            gpus=parse_gres(gres), features=parse_features(features),
            reason=None if reason.lower() in _NULL else reason,
            default_partition=default, gres_text="" if gres.lower() in _NULL else gres))
    return tuple(out)


def parse_gres(text: str) -> tuple[GpuGres, ...]:
    """The GPU entries of a GRES string: "gpu:a100:4(S:0-1),nvme:1" -> (a100 x4,).

    Entries are split at commas outside parentheses ("gpu:2(S:0,1)" is one entry); anything
    that is not `gpu` (nvme, mps, shard) is not a GPU.
    """
    entries: list[GpuGres] = []
    for entry in _split_top_level(text.strip()):
        base = re.sub(r"\(.*\)$", "", entry.strip())
        parts = base.split(":")
        if not parts or parts[0] != "gpu":
            continue
        gpu_type: Optional[str] = None
        count = 1
        if len(parts) == 2:
            if parts[1].isdigit():
                count = int(parts[1])
            else:
                gpu_type = parts[1]
        elif len(parts) >= 3:
            gpu_type = parts[1] or None
            count = int(parts[2]) if parts[2].isdigit() else 1
        if count > 0:
            entries.append(GpuGres(gpu_type, count))
    return tuple(entries)


def parse_features(text: str) -> tuple[str, ...]:
    """Available features "gpu,a100" -> ("a100", "gpu"), sorted; "(null)" -> ()."""
    if text.strip().lower() in _NULL:
        return ()
    return tuple(sorted({f.strip() for f in text.split(",") if f.strip()}))


def state_words(state: str) -> tuple[set[str], str]:
    """("drained", "down*") -> ({base words}, the flag characters)."""
    text = state.strip().lower()
    flags = ""
    while text and text[-1] in _FLAGS:
        flags += text[-1]
        text = text[:-1]
    return {w for w in re.split(r"[+]", text) if w}, flags


def runnable_state(state: str) -> bool:
    words, flags = state_words(state)
    if set(flags) & set(_BLOCKING_FLAGS) or not words:
        return False
    return words <= _RUNNABLE


def state_preference(state: str) -> int:
    words, flags = state_words(state)
    rank = max((_PREFERENCE.get(w, 9) for w in words), default=9)
    return rank + (5 if flags else 0)  # a powered-down node boots before it answers


def describe_state(state: str) -> str:
    words, flags = state_words(state)
    text = "+".join(sorted(words)) or "unknown"
    notes = [_FLAG_WORDS[f] for f in flags if f in _FLAG_WORDS]
    return f"{text} ({', '.join(notes)})" if notes else text


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return [p for p in parts if p.strip() and p.strip().lower() not in _NULL]
