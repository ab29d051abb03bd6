"""Human view of a fleet report: one table row per group, the sentences, the #SBATCH lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from mamba_doctor.fleet.merge import FAILS, MIXED, NO_REPORT, RUNS, GroupRow, arch_label
from mamba_doctor.fleet.report import FleetReport
from mamba_doctor.fleet.srun import NOT_RUN

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {RUNS: "green", FAILS: "red", MIXED: "yellow", NO_REPORT: "yellow", NOT_RUN: "dim"}


def render_fleet(console: Console, report: FleetReport) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from mamba_doctor.ui import hanging_list

    torch = next((g.facts.torch_version for g in report.groups
                  if g.facts is not None and g.facts.torch_version), None)
    target = report.python or "the default environment"
    title = f"Where {target} runs" + (f" (torch {torch})" if torch else "")
    # Six columns in 80: a light box, and only the verdict may claim the spare width.
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 1), expand=True)
    table.add_column("group, asked", overflow="fold", max_width=14)
    table.add_column("GPU, driver", overflow="fold", max_width=18)
    table.add_column("torch", overflow="fold", max_width=5)
    table.add_column("wheels", overflow="fold", max_width=15)
    table.add_column("verdict", overflow="fold", ratio=1)
    for row in report.groups:
        cells = [escape(c) for c in _cells(row)]
        cells[-1] = f"[{_STYLE.get(row.outcome, 'default')}]{cells[-1]}[/]"
        table.add_row(*cells)
    console.print(table)
    console.print("[bold]Summary[/]")
    console.print(hanging_list([escape(s) for s in report.sentences], bullet="•"))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if report.sbatch:
        console.print("[bold]Submit where it runs[/] (lines for your batch script):")
        for line in report.sbatch:
            console.print(escape(line), soft_wrap=True)
    if report.interrupted:
        console.print(f"[yellow]{escape(report.interrupted)}[/]: the rows above are partial")


def _cells(row: GroupRow) -> tuple[str, str, str, str, str]:
    facts = row.facts
    tested = ", ".join(r.line.name for r in row.results) or "none"
    of = f" of {len(row.group.members)}" if len(row.group.members) > 1 else ""
    group = f"{row.label}\n{tested}{of}"
    if facts is not None and facts.gpu_model:
        arch = arch_label(facts.compute_capability)
        gpu = _short_gpu(facts.gpu_model) + (f" {arch.split()[0]}" if arch else "")
    else:
        gpu = row.group.gpu_label() if row.group.gpus else "no GPU"
    if facts is not None and facts.driver_version:
        ceiling = f", CUDA {facts.cuda_driver_version}" if facts.cuda_driver_version else ""
        gpu += f"\ndriver {facts.driver_version}{ceiling}"
    uses = "-" if facts is None else {True: "yes", False: "no", None: "-"}[facts.torch_uses_gpu]
    wheels = "-"
    if facts is not None and facts.gpu_count:
        wheels = "\n".join(facts.wheels) if facts.wheels else "none fits"
    verdict = row.outcome.replace("_", " ")
    reason = _short_reason(row)
    if reason:
        verdict += f": {reason}"
    return group, gpu, uses, wheels, verdict


def _short_gpu(name: str) -> str:
    """"NVIDIA A100-SXM4-80GB" -> "A100-SXM4-80GB": the vendor says nothing here."""
    for prefix in ("NVIDIA ", "Tesla "):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def _short_reason(row: GroupRow) -> Optional[str]:
    """The table's few words; the summary sentence below it has the whole reason."""
    facts = row.facts
    if row.outcome == FAILS and facts is not None:
        if row.reason_code == "no_gpu":
            return "no GPU"
        arch = arch_label(facts.compute_capability)
        if row.reason_code == "gpu_arch_mamba" and arch:
            return f"{arch.split()[0]}, no mamba_ssm kernel"
    return row.reason
