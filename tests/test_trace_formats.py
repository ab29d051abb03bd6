"""The shape trace as study notes: named inputs, where each input came from, the sizes legend,
the terminal table at any width, Markdown, Mermaid and JSON, and the generated docs."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import CliRunner
from rich.console import Console

from mamba_doctor.cli import app
from mamba_doctor.smoke.trace_text import Sizes, legend, trace_markdown, trace_mermaid
from mamba_doctor.smoke.trace_view import render_trace

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent
OPTS = {"batch": 2, "steps": 12, "nodes": 5, "dim": 64, "heads": 8}


@pytest.fixture(scope="module", params=["mamba", "attention"])
def ops(request: pytest.FixtureRequest) -> list[dict]:
    from mamba_doctor.block import STMambaBlock, trace_block

    torch.manual_seed(0)
    blk = STMambaBlock(K=8, d=8, temporal=request.param, mamba_backend="ref").eval()
    return trace_block(blk, torch.randn(2, 12, 5, 64), torch.randn(2, 12, 5, 64))


def _by_name(ops: list[dict]) -> dict[str, tuple[int, dict]]:
    return {op["op"]: (i, op) for i, op in enumerate(ops)}


def test_every_input_has_a_source_and_selective_scan_names_its_five(ops: list[dict]) -> None:
    named = _by_name(ops)
    for i, op in enumerate(ops):
        assert len(op["input_from"]) == len(op["input_shape"]), op["op"]
        for src in op["input_from"]:
            assert src in ("X", "STE") or (isinstance(src, int) and src < i), (op["op"], src)
    assert ops[0]["input_from"] == ["X", "STE"]  # STE arrives broadcast: a new object
    assert named["residual"][1]["input_from"] == ["X", len(ops) - 2]
    if "temporal.mamba.selective_scan" not in named:
        return
    _, scan = named["temporal.mamba.selective_scan"]
    assert scan["input_names"] == ["x", "delta", "B", "C", "z"]
    src = [ops[k]["op"] if isinstance(k, int) else k for k in scan["input_from"]]
    assert src == ["temporal.mamba.conv1d+silu", "temporal.mamba.dt_proj",
                   "temporal.mamba.x_proj", "temporal.mamba.x_proj",
                   "temporal.mamba.split_xz"]
    gate = named["fusion.gate"][1]
    assert [ops[k]["op"] for k in gate["input_from"]] == ["fusion.fc_xs", "fusion.fc_xt"]


def test_legend_explains_each_derived_size_once(ops: list[dict]) -> None:
    lines = legend(ops, Sizes.of(ops, OPTS))
    assert any(line.startswith("128 = 2·D = 2·64: X and STE side by side") for line in lines)
    values = [line.split(" = ", 1)[0] for line in lines]
    assert len(values) == len(set(values))
    if any("mamba" in op["op"] for op in ops):
        assert "10 = B·N = 2·5: one sequence per node" in lines
        assert any(line.startswith("120 = B·N·T = 2·5·12") for line in lines)
        assert any(line.startswith("128 = 2·D") and "Di = expand·D = 2·64" in line
                   for line in lines)


@pytest.mark.parametrize("width", [60, 120, 200])
def test_terminal_trace_keeps_op_names_and_shapes_whole(ops: list[dict], width: int) -> None:
    buf = io.StringIO()
    render_trace(Console(file=buf, width=width, color_system=None), ops, Sizes.of(ops, OPTS))
    lines = buf.getvalue().splitlines()
    assert all(len(line.rstrip()) <= width for line in lines), "a line ran past the width"
    for op in ops:
        assert any(re.search(rf"(^|\s){re.escape(op['op'])}(\s|$)", line) for line in lines), \
            op["op"]
        for shape in op["output_shape"]:
            text = "(" + ",".join(map(str, shape)) + ")"
            assert any(text in line for line in lines), (op["op"], text)


def test_mermaid_is_a_labelled_data_flow_from_x_and_ste_to_y(ops: list[dict]) -> None:
    text = trace_mermaid(ops)
    assert text.startswith("flowchart TD\n")
    edges = re.findall(r'^  (\S+) -- "([^"]+)" --> (\S+)$', text, re.M)
    nodes = set(re.findall(r'^\s+(op\d+)\["[^"]+"\]$', text, re.M))
    assert len(nodes) == len(ops) and len(re.findall(r"^\s*subgraph ", text, re.M)) == 4
    assert all(re.search(r"\(\d+(,\d+)*\)", label) for _s, label, _d in edges), edges
    # every op is reached from X or STE and leads to Y
    succ: dict[str, set[str]] = {}
    for s, _label, d in edges:
        succ.setdefault(s, set()).add(d)
    seen, todo = set(), ["X", "STE"]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(succ.get(node, ()))
    made_from_parameters = {f"op{i}" for i, op in enumerate(ops, 1) if not op["input_shape"]}
    assert nodes | {"Y"} <= seen | made_from_parameters, sorted(nodes - seen)
    assert all(succ.get(n) for n in nodes), "an op whose output goes nowhere"


def test_markdown_notes_have_the_legend_the_diagram_and_one_table_per_branch(
        ops: list[dict]) -> None:
    text = trace_markdown(ops, Sizes.of(ops, OPTS))
    assert "```mermaid\nflowchart TD" in text and "SPEC" not in text
    assert text.count("| # | op | input | output | parameters | meaning |") == 4
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == len(ops)
    if any("selective_scan" in op["op"] for op in ops):
        assert ("x (10,128,12), delta (10,128,12), B (10,16,12), C (10,16,12), z (10,128,12)"
                in text)


def test_readme_and_smoke_doc_hold_the_generated_notes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "trace_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["markdown", "mermaid", "json"])
def test_document_formats_go_alone_to_stdout(fmt: str) -> None:
    result = CliRunner().invoke(app, ["smoke", "--python", sys.executable, "--steps", "4",
                                      "--nodes", "2", "--dim", "16", "--heads", "2",
                                      "--trace-format", fmt])
    assert result.exit_code == 0, result.output
    out = result.stdout
    if fmt == "json":
        assert json.loads(out)[0]["op"] == "spatial.concat"
    elif fmt == "mermaid":
        assert out.startswith("flowchart TD")
    else:
        assert out.startswith("## The block, op by op") and "4 = " in out
    assert "passed" in result.stderr and "passed" not in out.split("\n", 1)[0]
