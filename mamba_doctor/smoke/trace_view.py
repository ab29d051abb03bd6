"""The op trace on a terminal: the sizes legend, then per branch a table whose columns fit their
contents (op names and shapes whole; only the meaning wraps), or on a narrow terminal one short
paragraph per op."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from mamba_doctor.smoke.trace_text import Sizes, legend, sections

if TYPE_CHECKING:
    from rich.console import Console

WIDE = 100  # columns: below this, one paragraph per op instead of a table


def render_trace(console: Console, ops: Sequence[Mapping[str, Any]], sizes: Sizes) -> None:
    from rich.markup import escape

    from mamba_doctor.ui import hanging_list

    console.print("[bold]op trace[/] (reference block, eval mode; `--trace-format markdown` "
                  "or `mermaid` for notes and a diagram)")
    console.print(f"Sizes: {escape(sizes.base())}.")
    console.print(hanging_list([escape(line) for line in legend(ops, sizes)], bullet="-"))
    for title, rows in sections(ops):
        console.print()
        console.print(f"[bold]{escape(title)}[/]")
        if console.width >= WIDE:
            console.print(_table(rows))
        else:
            _paragraphs(console, rows)


def _cell(items: Sequence[str]) -> str:
    from rich.markup import escape

    return "\n".join(escape(i) for i in items) or "–"  # noqa: RUF001 (as block/trace.py)


def _shapes(shapes: Sequence[Sequence[int]], names: Any) -> list[str]:
    from mamba_doctor.block.trace import format_shape, format_shapes

    if names and len(names) == len(shapes):
        width = max(len(n) for n in names)
        return [f"{n.ljust(width)} {format_shape(s)}" for n, s in zip(names, shapes)]
    return [format_shapes(shapes)] if shapes else []


def _params(op: Mapping[str, Any]) -> list[str]:
    from mamba_doctor.block.trace import format_shape

    return [f"{k} {format_shape(v)}" for k, v in (op.get("params") or {}).items()]


def _table(rows: Sequence[tuple[int, Mapping[str, Any]]]) -> Any:
    from rich.markup import escape

    from mamba_doctor.ui import table

    out = table(show_lines=False)
    out.add_column("#", justify="right", no_wrap=True)
    out.add_column("op", no_wrap=True)
    out.add_column("input", no_wrap=True)
    out.add_column("output", no_wrap=True)
    out.add_column("meaning [dim](parameters)[/]", min_width=24)
    for n, op in rows:
        meaning = escape(str(op.get("meaning", "")))
        params = _params(op)
        if params:  # they wrap at ", ", never inside a shape
            meaning += "\n[dim]" + escape(", ".join(params)) + "[/]"
        out.add_row(str(n), escape(str(op["op"])),
                    _cell(_shapes(op["input_shape"], op.get("input_names"))),
                    _cell(_shapes(op["output_shape"], op.get("output_names"))), meaning)
    return out


def _paragraphs(console: Console, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mamba_doctor.smoke.trace_text import inputs_text, outputs_text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for n, op in rows:
        text = [f"[bold]{escape(str(op['op']))}[/]",
                escape(f"{inputs_text(op)} -> {outputs_text(op)}")]
        params = _params(op)
        if params:
            text.append("[dim]" + escape(", ".join(params)) + "[/]")
        text.append(escape(str(op.get("meaning", ""))))
        grid.add_row(str(n), "\n".join(text))
    console.print(grid)
