"""Match a log or error text against the failure knowledge base: ranked causes, evidence, fixes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from mamba_doctor.diagnose.facts import check_rule, fix_values, placeholders_in, render_template
from mamba_doctor.diagnose.textscan import MAX_LINE, TextScan
from mamba_doctor.knowledge.failures import KnowledgeBase, Mode, Signature, load_knowledge
from mamba_doctor.models import Environment

__all__ = ["MAX_LINE", "MIN_SCORE", "REPORT_HINT", "Diagnosis", "diagnose", "render_diagnoses"]

if TYPE_CHECKING:  # rich stays out of the import path until something is drawn
    from rich.console import Console

logger = logging.getLogger(__name__)

MIN_SCORE = 3.0  # below this a mode is a guess, not a diagnosis
ENV_QUALIFY = 3.0  # machine facts that let weak text evidence make a diagnosis
RELATIVE_CUT = 0.25  # drop runners-up scoring under this share of the best one
MAX_MATCHED = 6  # evidence lines kept per diagnosis
_SYMBOL = re.compile(r"undefined symbol: (_Z\S+)")
_WHEEL_TAGS = re.compile(r"torch(\d+\.\d+)cxx11abi(TRUE|FALSE)")
_BUILD_TORCH = re.compile(r"torch\.__version__\s+=\s+(\S+)")
_OLD_ABI_STRING = re.compile(r"(RKSs|PKSs|ISs|ESs)")

ABI = "cxx11-abi-mismatch"
TORCH_VERSION = "torch-version-mismatch-undefined-symbol"
ISOLATION = "build-isolation-wrong-torch"


@dataclass(frozen=True)
class Diagnosis:
    """One recognised failure: what it is, why it happened, the lines that showed it, the fix."""

    id: str
    title: str
    score: float
    cause: str
    fix: tuple[str, ...]
    matched: tuple[str, ...]
    phase: str = ""
    related: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()  # facts of this machine that support the diagnosis
    tailored: bool = False  # fixes were filled in from a probed environment

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": self.score, "cause": self.cause,
                "fix": list(self.fix), "matched": list(self.matched), "phase": self.phase,
                "related": list(self.related), "confirmed": list(self.confirmed),
                "tailored": self.tailored}


@dataclass
class _Candidate:
    mode: Mode
    score: float = 0.0
    lines: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    strong: bool = False
    conditional: bool = False
    env_support: float = 0.0  # what the machine's facts added

    @property
    def qualifies(self) -> bool:
        # Conditional evidence counts only when the machine itself clearly confirms the mode.
        confirmed = self.conditional and self.env_support >= ENV_QUALIFY
        return (self.strong or confirmed) and self.score >= MIN_SCORE


def diagnose(text: str, env: Optional[Environment] = None, *, limit: int = 3,
             python: Optional[str] = None, kb: Optional[KnowledgeBase] = None
             ) -> tuple[Diagnosis, ...]:
    """Rank the known failure modes that explain `text` (a log, a traceback, an error message).

    `env` (a probed Environment) separates look-alikes and fills the fixes with this machine's
    versions; `python` names the interpreter used in commands. Returns at most `limit` diagnoses
    (all when `limit` <= 0), best first; an empty tuple when nothing known matches.
    """
    kb = kb or load_knowledge()
    scan = TextScan(text)
    candidates: dict[str, _Candidate] = {}
    for mode in kb.modes:
        cand = _score_mode(mode, scan)
        if cand is not None:
            candidates[mode.id] = cand
    if not candidates:
        return ()
    _discriminate(scan, env, candidates)
    if env is not None:
        for cand in candidates.values():
            _apply_rules(cand, env)
    ranked = sorted((c for c in candidates.values() if c.qualifies),
                    key=lambda c: (-c.score, c.mode.prior))
    if ranked:
        best = ranked[0].score
        ranked = [c for c in ranked if c.score >= best * RELATIVE_CUT]
    if limit > 0:
        ranked = ranked[:limit]
    values = _fix_values(env, python, ranked)
    return tuple(_finish(c, values, tailored=env is not None) for c in ranked)


def _signature_lines(sig: Signature, scan: TextScan) -> Optional[list[str]]:
    lines: list[str] = []
    for part in sig.parts:
        hits = scan.hits(part)
        if not hits:
            return None
        lines.extend(hits[:1] if len(sig.parts) > 1 else hits)
    return lines


def _score_mode(mode: Mode, scan: TextScan) -> Optional[_Candidate]:
    cand = _Candidate(mode)
    # Strong and conditional signatures first: weak ones (often broad regexes) are only
    # searched once the mode can qualify at all.
    for first_pass in (True, False):
        for sig in mode.signatures:
            if (sig.strength != "weak") != first_pass:
                continue
            lines = _signature_lines(sig, scan)
            if lines is not None:
                cand.score += sig.weight
                cand.lines.extend(lines)
                cand.strong = cand.strong or sig.strength == "strong"
                cand.conditional = cand.conditional or sig.strength == "conditional"
        if first_pass and not cand.lines:
            return None
    for neg in mode.negative:
        if _signature_lines(neg, scan) is not None:
            cand.score -= neg.weight
    return cand


def _apply_rules(cand: _Candidate, env: Environment) -> None:
    for rule in cand.mode.confirm:
        if check_rule(env, rule.fact, rule.op, rule.value, if_known=rule.if_known):
            cand.score += rule.weight
            cand.env_support += rule.weight
            if rule.weight > 0 and rule.why:
                cand.confirmed.append(rule.why)


def _bump(cands: Mapping[str, _Candidate], mode_id: str, delta: float, why: str = "") -> None:
    cand = cands.get(mode_id)
    if cand is not None:
        cand.score += delta
        if why and delta > 0:
            cand.confirmed.append(why)


def _discriminate(scan: TextScan, env: Optional[Environment],
                  cands: Mapping[str, _Candidate]) -> None:
    """Separate the undefined-symbol look-alikes using the mangled name and torch's ABI flag."""
    if ABI not in cands and TORCH_VERSION not in cands and ISOLATION not in cands:
        return
    text = scan.text
    symbols = [m.group(1) for _, m in zip(range(20), _SYMBOL.finditer(text))]
    new_abi = any("__cxx11" in s or "B5cxx11" in s for s in symbols)
    old_abi = any(_OLD_ABI_STRING.search(s) for s in symbols)
    torch_abi = env.torch.cxx11abi if env is not None else None
    if new_abi and torch_abi is None:
        # std::__cxx11 in a missing symbol is the classic sign of an ABI mix-up
        _bump(cands, ABI, 3.0)
        _bump(cands, TORCH_VERSION, -1.5)
    if symbols and not new_abi and not old_abi:
        _bump(cands, ABI, -3.0)  # no std::string in the symbol: the ABI flag cannot explain it
    if (new_abi and torch_abi is False) or (old_abi and torch_abi is True):
        flag = "new" if new_abi else "old"
        why = f"the missing symbol uses the {flag} C++ string ABI, torch the other one"
        _bump(cands, ABI, 4.0, why)
        _bump(cands, TORCH_VERSION, -2.0)
    elif (new_abi and torch_abi is True) or (old_abi and torch_abi is False):
        why = "torch uses the same C++ ABI as the missing symbol, so torch's API changed"
        _bump(cands, ABI, -5.0)
        _bump(cands, TORCH_VERSION, 2.0, why)
    if env is None or not env.torch.version:
        return
    torch_mm = ".".join(env.torch.version.split("+")[0].split(".")[:2])
    tags = _WHEEL_TAGS.search(text)
    if tags is not None:
        if env.torch.cxx11abi is not None and (tags.group(2) == "TRUE") != env.torch.cxx11abi:
            _bump(cands, ABI, 3.0, f"the wheel in the log is cxx11abi{tags.group(2)}, "
                                   "torch uses the other ABI")
        if tags.group(1) != torch_mm:
            _bump(cands, TORCH_VERSION, 3.0, f"the wheel in the log targets torch "
                                             f"{tags.group(1)}, torch {torch_mm} is installed")
    built = _BUILD_TORCH.search(text)
    if built is not None and built.group(1).split("+")[0] != env.torch.version.split("+")[0]:
        why = f"the build used torch {built.group(1)}, this environment has {env.torch.version}"
        _bump(cands, ISOLATION, 3.0, why)
        _bump(cands, TORCH_VERSION, 1.0, why)


def _fix_values(env: Optional[Environment], python: Optional[str],
                ranked: Sequence[_Candidate]) -> dict[str, str]:
    if env is None:
        if not python:
            return {}
        return {"python": python, "python_opt": f" --python {python}", "pip": f"{python} -m pip"}
    wants_wheel = any("mamba_wheel" in placeholders_in(f.tailored)
                      for c in ranked for f in c.mode.fixes)
    return fix_values(env, python=python, wheels=_resolve_wheels(env) if wants_wheel else None)


def _resolve_wheels(env: Environment) -> Optional[dict[str, str]]:
    """Exact wheel file names from the wheel resolver; None when it fails."""
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    try:
        found = {}
        for res in resolve_pair(env, load_index()):
            if res.wheel is not None:
                found[res.package] = res.wheel.filename
        return found
    except Exception:  # a resolver bug costs only the exact name: a generic hint is shown
        logger.debug("wheel resolution unavailable for diagnosis", exc_info=True)
        return None


def _finish(cand: _Candidate, values: Mapping[str, str], *, tailored: bool) -> Diagnosis:
    seen: list[str] = []
    for line in cand.lines:
        if line and line not in seen:
            seen.append(line)
    fixes = []
    for fix in cand.mode.fixes:
        text, complete = render_template(fix.tailored, values)
        fixes.append(text if complete else render_template(fix.generic, values)[0])
    return Diagnosis(
        id=cand.mode.id, title=cand.mode.title, score=round(cand.score, 2), cause=cand.mode.cause,
        fix=tuple(fixes), matched=tuple(seen[:MAX_MATCHED]), phase=cand.mode.phase,
        related=cand.mode.related, confirmed=tuple(dict.fromkeys(cand.confirmed)),
        tailored=tailored,
    )


def render_diagnoses(console: Console, diagnoses: Sequence[Diagnosis], *,
                     report_hint: bool = True) -> None:
    """Draw diagnoses as rich panels (best first); with none, say how to report the failure."""
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel

    from mamba_doctor.ui import hanging_list

    if not diagnoses:
        console.print("[bold]No known failure recognised in this text.[/]")
        if report_hint:
            console.print(REPORT_HINT)
        return
    for rank, d in enumerate(diagnoses, 1):
        body: list[Any] = [f"[dim]{d.id} · {d.phase.replace('_', ' ')} · score {d.score:g}[/]",
                           f"[bold]Cause:[/] {escape(d.cause)}"]
        if d.confirmed:
            body.append("[bold]On this machine:[/]")
            body.append(hanging_list([escape(c) for c in d.confirmed], bullet="•"))
        if d.matched:
            body.append("[bold]Matched:[/]")
            body.extend(f"  [dim]{escape(line)}[/]" for line in d.matched)
        body.append("[bold]Fix:[/]")
        body.append(hanging_list([escape(f) for f in d.fix]))
        console.print(Panel(Group(*body), title=f"{rank}. {escape(d.title)}",
                            title_align="left", border_style="red" if rank == 1 else "yellow"))


REPORT_HINT = (
    "If this is a mamba-ssm problem, report it upstream (https://github.com/state-spaces/mamba/"
    "issues) with the full log and the output of `mamba-doctor check --json` attached."
)
