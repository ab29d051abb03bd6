"""`mamba-doctor report`: everything a bug report needs, as one plain-text block to paste."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command("report")
    def _cmd(
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Report on this interpreter or environment directory [default: the active "
            "venv/conda env, else this Python]."),
        timeout: float = typer.Option(
            60.0, "--timeout", min=1.0, metavar="SECONDS",
            help="Give up on the target interpreter after this many seconds."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Print one plain-text block to paste into a bug report (an issue on mamba-ssm, say).

        What `python -m torch.utils.collect_env` prints (OS, Python, torch, CUDA, cuDNN, GPUs,
        driver, nvcc, gcc, cmake, the relevant pip and conda packages), plus the driver's CUDA
        ceiling, each GPU's SM, whether the mamba extensions import, the prebuilt wheel that
        fits, g++, ninja and the checks that did not pass. Always exits 0 when it could look.
        """

        def body() -> Outcome:
            from mamba_doctor import __version__
            from mamba_doctor.check.bug_report import collect_extras, report_text
            from mamba_doctor.check.report import build_report
            from mamba_doctor.probe import choose_target, probed
            from mamba_doctor.ui import status

            chosen = choose_target(python)
            with status(f"Probing {chosen.python} ...", json_mode=json_mode):
                target = probed(chosen, timeout=timeout, deep=True)
                extras = collect_extras(target, environ=os.environ, timeout=timeout)
            report = build_report(target)
            text = report_text(target, report, extras, version=__version__)

            def render(console: Console) -> None:
                console.file.write(text)  # as is: no markup, no wrapping, pasteable
                console.file.flush()

            return Outcome(data={"text": text, "environment": target.env.to_dict(),
                                 "checks": [c.to_dict() for c in report.checks],
                                 "packages": dict(extras.pip), "conda": list(extras.conda),
                                 "cudnn": extras.cudnn}, render=render)

        run_command("report", json_mode=json_mode, body=body)
