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

    from mamba_doctor.diagnose.engine import Analysis, Diagnosis
    from mamba_doctor.probe.interpreter import Target

logger = logging.getLogger(__name__)

MAX_INPUT = 64 << 20  # bytes; pip logs are a few MB even for a failed source build
PROBE_TIMEOUT_S = 30.0  # explain must stay quick; a hung `import torch` is not worth waiting on


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def _cmd(
        file: Optional[str] = typer.Argument(
            None, metavar="[FILE|-]", show_default=False,
            help="Log or error text to explain; '-' or nothing reads stdin (at a terminal: "
            "paste the log, then press Ctrl-D)."),
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
        machine, fills the fixes in with this machine's exact versions. A log from another
        machine is recognised as such and explained with its own facts.
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
    analysis: Analysis
    target: Optional[Target] = None  # None: the fixes are generic
    note: Optional[str] = None  # why the fixes are generic (or whose facts they use)

    @property
    def diagnoses(self) -> tuple[Diagnosis, ...]:
        return self.analysis.diagnoses

    @property
    def tailored_to_target(self) -> bool:
        """The fixes use the target's facts (not only the log's, from another machine)."""
        return self.target is not None and self.analysis.facts_from != "log"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source, "lines": self.lines,
            "environment_used": self.tailored_to_target, "probe_note": self.note,
            "facts_from": self.analysis.facts_from,
            "other_machine": list(self.analysis.other_machine),
            "origin_note": self.analysis.note,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
        }
        if not self.diagnoses:
            from mamba_doctor.diagnose.engine import REPORT_HINT

            data["hint"] = REPORT_HINT
        return data


def explain(file: Optional[str], *, python: Optional[str], probe: bool,
            env_file: Optional[Path], limit: int) -> Explanation:
    """Read the input, diagnose it, and tailor the fixes when the environment is known.

    The probed target is only where explain runs: when the log's paths, Python or platform say
    it came from another machine, its own facts are used (and the analysis says so).
    """
    from mamba_doctor.diagnose.engine import analyse
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
    result = analyse(text, limit=limit, python=chosen.python if chosen else None)
    found = result.diagnoses
    target: Optional[Target] = None
    note: Optional[str] = None
    if env_file is not None:
        from mamba_doctor.probe import load_target

        target = load_target(env_file=env_file)
    elif found and probe:  # only worth probing when there is something to tailor
        target, note = probe_target(chosen or choose_target(None))
    elif found:
        note = ("not probed (--no-probe): fixes use only the log's own facts"
                if result.facts_from == "log" else "not probed (--no-probe): fixes are generic")
    if target is not None:
        # Only an explicit --python is written into the commands as given; otherwise they name
        # the interpreter of the facts used: the probed one for a log from here, the `--env`
        # file's, or for a log from another machine its own (else plain `python`), never the
        # path of the interpreter probed here.
        result = analyse(text, target.env, env_source="target" if target.local else "env-file",
                         check_origin=True, limit=limit,
                         python=chosen.python if chosen else None)
    return Explanation(source, lines, result, target, note)


PASTE_PROMPT = ("Paste the log or error text, then press Ctrl-D on an empty line "
                "(Ctrl-Z then Enter on Windows) to explain it.")
BINARY_SAMPLE = 1 << 16  # bytes looked at to tell a log from a binary file


def read_input(file: Optional[str]) -> tuple[str, str]:
    """(name, text) of the file, or of stdin for None / '-'; raises UsageError when unreadable.

    At a terminal with no argument, asks for the text to be pasted instead of failing.
    """
    if file is None or file == "-":
        if sys.stdin.isatty():
            sys.stderr.write(PASTE_PROMPT + "\n")  # stderr: stdout may be a --json document
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (some IDE consoles)
            return "stdin", sys.stdin.read(MAX_INPUT)
        return "stdin", decode_log(stream.read(MAX_INPUT), "stdin")
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
    return str(path), decode_log(data, str(path))


def decode_log(data: bytes, name: str = "the input") -> str:
    """Text of a saved log: UTF-8, or UTF-16 (PowerShell's `>` writes it, with or without a
    BOM). Raises UsageError for a binary file (a core dump, an archive, a wheel)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    sample = data[:BINARY_SAMPLE]
    odd = sample[1::2]
    if len(odd) > 8 and odd.count(0) > 0.9 * len(odd) and not sample[0::2].count(0):
        return data.decode("utf-16-le", errors="replace")  # ASCII text in UTF-16 without a BOM
    if _looks_binary(sample):
        raise UsageError(f"{name} is a binary file, not a log",
                         hint="Give the text output of the failing command, e.g. "
                              "`pip install mamba-ssm 2>&1 | tee log.txt`, then explain log.txt.")
    return data.decode("utf-8-sig", errors="replace")  # never fails: bad bytes become U+FFFD


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, or many control bytes or invalid UTF-8: not something a terminal printed."""
    if not sample:
        return False
    if sample.count(0) > len(sample) // 1000:
        return True
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    text = sample.decode("utf-8", errors="replace")
    return controls > len(sample) // 20 or text.count("\ufffd") > len(text) // 10


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

    if result.diagnoses and result.target is not None and result.tailored_to_target:
        console.print(f"[dim]Fixes tailored to {escape(result.target.python)} "
                      f"({escape(torch_phrase(result.target))}).[/]", soft_wrap=True)
    render_diagnoses(console, result.diagnoses, note=result.analysis.note)


def torch_phrase(target: Target) -> str:
    """"torch 2.5.1 with CUDA 12.4", "torch 2.5.1, a CPU-only build", "no torch installed"."""
    t = target.env.torch
    if t.installed is False:
        return "no torch installed"
    if not t.version:
        return "torch version unknown" + (": its import failed" if t.error else "")
    if t.cuda:
        return f"torch {t.version} with CUDA {t.cuda}"
    return f"torch {t.version}, " + (f"ROCm {t.hip}" if t.hip else "a CPU-only build")
