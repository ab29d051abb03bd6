"""`mamba-doctor explain`: the cause and the fix of a failed install or import, from its log."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from mamba_doctor.commands._shell import Outcome, run_command
from mamba_doctor.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mamba_doctor.diagnose.engine import Diagnosis
    from mamba_doctor.probe.interpreter import Target

logger = logging.getLogger(__name__)

MAX_INPUT = 64 << 20  # bytes; pip logs are a few MB even for a failed source build
PROBE_TIMEOUT_S = 30.0  # explain must stay quick; a hung `import torch` is not worth waiting on


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def _cmd(
        file: Optional[str] = typer.Argument(
            None, metavar="[FILE|-]", show_default=False,
            help="Log or error text to explain; '-' or nothing reads stdin."),
        python: Optional[str] = typer.Option(
            None, "--python", metavar="PATH",
            help="Tailor fixes to this interpreter or environment [default: the active "
            "venv/conda env, else this Python]."),
        no_probe: bool = typer.Option(
            False, "--no-probe", help="Do not inspect this machine; give generic fixes."),
        env_file: Optional[Path] = typer.Option(
            None, "--env", metavar="FILE",
            help="Use the machine in FILE (saved with: mamba-doctor check --json) instead of "
            "probing this one."),
        limit: int = typer.Option(3, "--limit", min=0, metavar="N",
                                  help="Show at most N causes (0: all)."),
        json_mode: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Explain why installing or running mamba-ssm failed, and how to fix it.

        Paste or pipe the log of a failed pip install, an import error or a traceback, e.g.
        "pip install mamba-ssm 2>&1 | tee log.txt", then "mamba-doctor explain log.txt". The doctor
        matches it against about forty known failure modes and, when run on the affected
        machine, fills the fixes in with this machine's exact versions.
        """

        def body() -> Outcome:
            result = explain(file, python=python, probe=not no_probe, env_file=env_file,
                             limit=limit)
            if result.note and not no_probe and env_file is None:
                logger.warning("%s", result.note)
            return Outcome(data=result.to_dict(), render=lambda c: _render(c, result))

        run_command("explain", json_mode=json_mode, body=body)


@dataclass(frozen=True)
class Explanation:
    """What `explain` found: the diagnoses, and the environment their fixes were tailored to."""

    source: str
    lines: int
    diagnoses: tuple[Diagnosis, ...]
    target: Optional[Target] = None  # None: the fixes are generic
    note: Optional[str] = None  # why the fixes are generic (or whose facts they use)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source, "lines": self.lines,
            "environment_used": self.target is not None, "probe_note": self.note,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
        }
        if not self.diagnoses:
            from mamba_doctor.diagnose.engine import REPORT_HINT

            data["hint"] = REPORT_HINT
        return data


def explain(file: Optional[str], *, python: Optional[str], probe: bool,
            env_file: Optional[Path], limit: int) -> Explanation:
    """Read the input, diagnose it, and tailor the fixes when the environment is known."""
    from mamba_doctor.diagnose.engine import diagnose
    from mamba_doctor.probe import choose_target

    source, text = read_input(file)
    if not text.strip():
        raise UsageError(f"nothing to explain: {source} is empty",
                         hint="Save the whole output of the failing command, e.g. "
                              "`pip install mamba-ssm 2>&1 | tee log.txt`.")
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    # An explicit --python is checked (exit 2 if missing) and used in the fix commands even
    # when the machine is not probed.
    chosen = choose_target(python) if python else None
    found = diagnose(text, limit=limit, python=chosen.python if chosen else None)
    target: Optional[Target] = None
    note: Optional[str] = None
    if env_file is not None:
        from mamba_doctor.probe import load_target

        target = load_target(env_file=env_file)
    elif found and probe:  # only worth probing when there is something to tailor
        target, note = probe_target(chosen or choose_target(None))
    elif found:
        note = "not probed (--no-probe): fixes are generic"
    if target is not None:
        found = diagnose(text, target.env, limit=limit, python=target.python)
    return Explanation(source, lines, found, target, note)


def read_input(file: Optional[str]) -> tuple[str, str]:
    """(name, text) of the file, or of stdin for None / '-'; raises UsageError when unreadable."""
    if file is None or file == "-":
        if file is None and sys.stdin.isatty():
            raise UsageError("no input: give a log file, or pipe one in",
                             hint="e.g. `mamba-doctor explain pip.log` or "
                                  "`pip install mamba-ssm 2>&1 | mamba-doctor explain -`")
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (some IDE consoles)
            return "stdin", sys.stdin.read(MAX_INPUT)
        return "stdin", decode_log(stream.read(MAX_INPUT))
    path = Path(file).expanduser()
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size > MAX_INPUT and path.is_file():
                fh.seek(size - MAX_INPUT)  # a failure is reported at the end of its log
            data = fh.read(MAX_INPUT)  # bounded: `explain /dev/zero` must not eat the memory
    except IsADirectoryError:
        raise UsageError(f"{file}: is a directory, not a log file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    return str(path), decode_log(data)


def decode_log(data: bytes) -> str:
    """Text of a saved log: UTF-8, or UTF-16 with a BOM (PowerShell's `>` writes that)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")  # never fails: bad bytes become U+FFFD


def probe_target(target: Target) -> tuple[Optional[Target], Optional[str]]:
    """Probe the target; on any failure return a note instead (a failed probe only costs the
    tailoring, never the diagnosis)."""
    from mamba_doctor.probe import probed

    try:
        return probed(target, timeout=PROBE_TIMEOUT_S), None
    except Exception as exc:
        logger.debug("probe failed", exc_info=True)
        return None, f"probing {target.python} failed ({exc}): fixes are generic"


def _render(console: Console, result: Explanation) -> None:
    from rich.markup import escape

    from mamba_doctor.diagnose.engine import render_diagnoses

    if result.diagnoses and result.target is not None:
        t = result.target.env.torch
        console.print(f"[dim]Fixes tailored to {escape(result.target.python)}"
                      f" (torch {escape(t.version or '?')}, CUDA {escape(t.cuda or 'none')}).[/]")
    render_diagnoses(console, result.diagnoses)
