"""The op trace as a learner reads it, in plain text: the sizes legend (every derived size
explained once), the branches, and the Markdown notes and Mermaid diagram built from them.

Pure: takes the trace (a list of dicts from mamba_doctor/block/trace.py) and the run's sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.block.trace import format_params, format_shape, format_shapes

Op = Mapping[str, Any]


@dataclass(frozen=True)
class Sizes:
    """The run's sizes: B batch, T steps, N nodes, D = K·d features, and (when the trace has a
    Mamba) Di inner width, Ns state size, R rank of Δ, W convolution width."""

    B: int
    T: int
    N: int
    D: int
    K: int
    Di: Optional[int] = None
    Ns: Optional[int] = None
    R: Optional[int] = None
    W: Optional[int] = None

    @classmethod
    def of(cls, ops: Sequence[Op], options: Mapping[str, Any]) -> Sizes:
        """From the smoke options and, for the Mamba sizes, the trace's parameter shapes."""
        params: dict[str, list[int]] = {}
        for op in ops:
            params.update(op.get("params") or {})
        a_log, conv, dt = params.get("A_log"), params.get("conv1d.weight"), params.get(
            "dt_proj.weight")
        return cls(B=int(options.get("batch", 2)), T=int(options.get("steps", 12)),
                   N=int(options.get("nodes", 5)), D=int(options.get("dim", 64)),
                   K=int(options.get("heads", 8)),
                   Di=a_log[0] if a_log else None, Ns=a_log[1] if a_log else None,
                   R=dt[1] if dt else None, W=conv[-1] if conv else None)

    def base(self) -> str:
        d = self.D // self.K if self.K else self.D
        return (f"B={self.B} samples, T={self.T} time steps, N={self.N} nodes, "
                f"D={self.D} = K·d = {self.K}·{d} features (K heads of width d)")

    def derived(self) -> list[tuple[int, str]]:
        """(value, "formula = numbers: meaning") for every size computed from the others."""
        out = [(2 * self.D, f"2·D = 2·{self.D}: X and STE side by side"),
               (self.B * self.N, f"B·N = {self.B}·{self.N}: one sequence per node"),
               (self.B * self.N * self.T,
                f"B·N·T = {self.B}·{self.N}·{self.T}: one row per step of every sequence")]
        if self.Di:
            expand = self.Di // self.D if self.D else 0
            out.append((self.Di, f"Di = expand·D = {expand}·{self.D}: Mamba's inner width"))
            out.append((2 * self.Di, f"2·Di = 2·{self.Di}: the SSM input x and the gate z"))
        if self.Ns:
            out.append((self.Ns, "Ns = d_state: the state size per channel"))
        if self.R:
            rank = "R = dt_rank"
            if math.ceil(self.D / 16) == self.R:  # mamba_ssm's dt_rank="auto"
                rank += f" = ⌈D/16⌉ = ⌈{self.D}/16⌉"
            out.append((self.R, rank + ": the rank of Δ's projection"))
            if self.Ns:
                out.append((self.R + 2 * self.Ns, f"R + 2·Ns = {self.R} + 2·{self.Ns}: Δ (low "
                            "rank), B and C for each step"))
        if self.W:
            out.append((self.W, "W = d_conv: the causal convolution's width"))
        return out


def legend(ops: Sequence[Op], sizes: Sizes) -> list[str]:
    """The base sizes, then each derived size that appears in the trace, once; a value with
    two meanings (128 = 2·D and Di) says both."""
    seen = {int(s) for op in ops for shapes in (op["input_shape"], op["output_shape"],
                                                 list((op.get("params") or {}).values()))
            for shape in shapes for s in shape}
    lines: dict[int, list[str]] = {}
    for value, text in sizes.derived():
        if value in seen:
            lines.setdefault(value, []).append(text)
    return [f"{value} = " + "; also ".join(texts) for value, texts in sorted(lines.items())]


_BRANCH = {
    "spatial": "Spatial branch: attention over the N nodes, at every (b, t)",
    "fusion": "Gated fusion: how much of each branch, per feature",
    "residual": "Residual",
}


def branch_of(op: Op) -> str:
    return str(op["op"]).split(".", 1)[0]


def branch_title(name: str, ops: Sequence[Op]) -> str:
    if name == "temporal":
        mamba = any(".mamba" in str(op["op"]) for op in ops)
        return ("Temporal branch: Mamba over the T steps of every node" if mamba else
                "Temporal branch: attention over the T steps of every node")
    return _BRANCH.get(name, name)


def sections(ops: Sequence[Op]) -> list[tuple[str, list[tuple[int, Op]]]]:
    """(title, [(number, op)...]) per run of ops in one branch, numbered from 1."""
    out: list[tuple[str, list[tuple[int, Op]]]] = []
    last = None
    for i, op in enumerate(ops, 1):
        name = branch_of(op)
        if name != last:
            out.append((branch_title(name, ops), []))
            last = name
        out[-1][1].append((i, op))
    return out


def inputs_text(op: Op) -> str:
    return format_shapes(op["input_shape"], op.get("input_names"))


def outputs_text(op: Op) -> str:
    return format_shapes(op["output_shape"], op.get("output_names"))


def trace_markdown(ops: Sequence[Op], sizes: Sizes, *, level: int = 2) -> str:
    """Study notes: the sizes, the diagram, then one table per branch (`level`: heading depth)."""
    h = "#" * level
    out = [f"{h} The block, op by op", "", f"Sizes: {sizes.base()}.", ""]
    out += [f"- {line}" for line in legend(ops, sizes)]
    out += ["", "```mermaid", trace_mermaid(ops).rstrip("\n"), "```", ""]
    for title, rows in sections(ops):
        out += [f"{h}# {title}", "", "| # | op | input | output | parameters | meaning |",
                "|---|---|---|---|---|---|"]
        for n, op in rows:
            cells = [str(n), f"`{op['op']}`", inputs_text(op), outputs_text(op),
                     format_params(op.get("params") or {}), str(op.get("meaning", ""))]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def trace_mermaid(ops: Sequence[Op]) -> str:
    """A top-down data-flow diagram: X and STE into the two branches, the gated fusion, the
    residual; every edge labelled with the tensor's name (where known) and shape."""
    lines = ["flowchart TD", '  X(["X"])', '  STE(["STE"])']
    for b, (title, rows) in enumerate(sections(ops)):
        lines.append(f'  subgraph b{b}["{title}"]')
        for n, op in rows:
            op_name = str(op["op"])
            short = op_name.split(".", 1)[1] if "." in op_name else op_name
            lines.append(f'    op{n}["{short}"]')
        lines.append("  end")
    edges: dict[tuple[str, str], list[str]] = {}
    consumed: set[int] = set()
    for n, op in enumerate(ops, 1):
        names = op.get("input_names") or [None] * len(op["input_shape"])
        for k, src in enumerate(op.get("input_from") or ()):
            if src is None:
                continue
            key = (f"op{src + 1}" if isinstance(src, int) else str(src), f"op{n}")
            if isinstance(src, int):
                consumed.add(src + 1)
            shape = format_shape(op["input_shape"][k])
            name: Optional[str] = names[k] or (_output_name(ops[src], op["input_shape"][k])
                                if isinstance(src, int) else None)
            if name == src:  # the edge leaves the node of that name already
                name = None
            edges.setdefault(key, []).append(f"{name} {shape}" if name else shape)
    for n, op in enumerate(ops[:-1], 1):
        if n not in consumed:  # made from parameters alone (A = -exp(A_log)): feeds the next op
            nxt = next((m for m in range(n + 1, len(ops) + 1)
                        if branch_of(ops[m - 1]) == branch_of(op)), n + 1)
            outs = op.get("output_names") or [None]
            shape = format_shape(op["output_shape"][0]) if op["output_shape"] else ""
            edges.setdefault((f"op{n}", f"op{nxt}"), []).append(
                f"{outs[0]} {shape}" if outs[0] else shape)
    if ops:
        last = ops[-1]
        lines.append('  Y(["Y"])')
        edges[(f"op{len(ops)}", "Y")] = [outputs_text(last)]
    for (src, dst), labels in edges.items():
        label = ", ".join(dict.fromkeys(labels)).replace('"', "'")
        lines.append(f'  {src} -- "{label}" --> {dst}')
    return "\n".join(lines) + "\n"


def _output_name(producer: Op, shape: Sequence[int]) -> Optional[str]:
    """The producer's name for the output of this shape (or of as many elements)."""
    names = producer.get("output_names") or ()
    shapes = producer["output_shape"]
    if len(names) != len(shapes):
        return None
    for name, out in zip(names, shapes):
        if list(out) == list(shape):
            return str(name)
    for name, out in zip(names, shapes):
        if math.prod(out) == math.prod(shape):  # reshaped on the way (math.prod: Python 3.8+)
            return str(name)
    return None


def trace_document(ops: Sequence[Op], options: Mapping[str, Any], fmt: str) -> str:
    """The trace as a file's content: "markdown", "mermaid" or "json"."""
    if fmt == "json":
        import json

        return json.dumps(list(ops), indent=2) + "\n"
    if fmt == "mermaid":
        return trace_mermaid(ops)
    return trace_markdown(ops, Sizes.of(ops, options))
