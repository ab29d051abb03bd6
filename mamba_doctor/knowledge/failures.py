"""The failure knowledge base: loads failures.json (package data) into typed, compiled entries."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor._resources import read_bytes

KB_PATH = Path(__file__).with_name("failures.json")
PHASES = ("install", "build", "import", "model_construction", "first_forward")
STRENGTHS = ("decisive", "prose", "conditional", "supporting")
# Older spellings of the strengths, still read.
_STRENGTH_ALIASES = {"strong": "decisive", "weak": "supporting"}
# Widest match a knowledge-base regex may have, in bytes: regexes run only in windows of this
# size around their anchors (mamba_doctor/diagnose/textscan.py), which keeps matching linear.
MAX_WIDTH = 640
RULE_OPS = ("eq", "in", "missing", "present", "contains", "ver_lt", "ver_ge", "sm_lt", "sm_ge",
            "sm_between", "ver_lt_fact", "ver_ge_fact", "major_ne_fact")


@dataclass(frozen=True)
class Pattern:
    """One text test: a plain substring, or a regex tried only on lines holding `anchor`.

    Searches run on UTF-8 bytes (half the cost of searching a str holding non-ASCII
    characters), so the compiled forms are bytes too.
    """

    kind: str  # "text" | "regex"
    pattern: str
    needles: tuple[bytes, ...] = ()  # the substring, or the literals every regex match contains
    regex: Optional[re.Pattern[bytes]] = None
    icase: bool = False  # case-blind (Windows paths: C:\\Users and c:\\users are one path)
    context: bool = False  # required, but its line is not shown as evidence (a package name)
    budget: int = 0  # bytes of anchor windows a regex may examine (0: textscan's default)


# A prose regex examines this many bytes of anchor windows at most: the poster's words fill a
# post, not a build log, whose lines repeat the common words they are anchored on ("wheel",
# "nvcc", "version") thousands of times.
PROSE_BUDGET = 1 << 15


@dataclass(frozen=True)
class Signature:
    """A piece of evidence; kind "all" needs every part somewhere in the text.

    decisive: the error line that proves the mode, enough for a diagnosis on its own;
    prose: the poster's own words naming the cause ("no nvcc on the server", "Windows下安装报错"):
      a diagnosis on its own, but ranked under any mode an error line proves, and none where
      the kernels ran;
    conditional: enough only when the facts of the machine the log came from confirm the mode;
    supporting: only adds to the score (a platform, a version, a path in the log).
    """

    parts: tuple[Pattern, ...]
    strength: str
    weight: float



@dataclass(frozen=True)
class Rule:
    """A check of one environment fact that confirms (weight > 0) or refutes (< 0) a mode."""

    fact: str
    op: str
    value: Any
    weight: float
    if_known: Optional[str] = None
    why: str = ""


@dataclass(frozen=True)
class Fix:
    """A fix template: `tailored` when its placeholders are known here, else `generic`.

    `advice` names a problem of mamba_doctor/advice instead ("torch", "source_build", ...): with
    the machine's facts the engine asks the advice engine (the same recommendation `check` and
    `install` give), without them `generic` is shown.
    """

    tailored: str
    generic: str
    advice: Optional[str] = None


@dataclass(frozen=True)
class Mode:
    id: str
    title: str
    phase: str
    prior: int  # rank by public evidence: breaks ties between look-alikes
    signatures: tuple[Signature, ...]
    negative: tuple[Signature, ...]
    cause: str
    probe: tuple[str, ...]
    confirm: tuple[Rule, ...]
    fixes: tuple[Fix, ...]
    related: tuple[str, ...]
    evidence: tuple[str, ...]
    # Modes that, matched decisively in the same log, explain it better: this one ranks under
    # them. "*" is any specific mode (pip's "Failed building wheel" wraps every build error).
    yields_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    schema_version: int
    modes: tuple[Mode, ...]
    # Signs that the kernels imported and ran (a kernel's own argument check, an OOM, a shape
    # error): with them, conditional evidence no longer makes a diagnosis.
    kernels_ran: tuple[Signature, ...] = ()



def load_raw(path: Path = KB_PATH) -> dict[str, Any]:
    """The JSON document as stored (for schema tests and tooling)."""
    data = json.loads(read_bytes(path))  # read_bytes: also from inside the zipapp
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the knowledge base must be a JSON object")
    return data


@lru_cache(maxsize=4)
def load_knowledge(path: Path = KB_PATH) -> KnowledgeBase:
    """Load and compile the knowledge base once per process; raises ValueError when malformed."""
    raw = load_raw(path)
    modes = tuple(_mode(m) for m in raw.get("modes", ()))
    ran = tuple(_signature(s, negative=True) for s in raw.get("kernels_ran", ()))
    return KnowledgeBase(schema_version=int(raw.get("schema_version", 0)), modes=modes,
                         kernels_ran=ran)


def _pattern(raw: Mapping[str, Any]) -> Pattern:
    kind = raw.get("kind", "text")
    text = raw["pattern"]
    icase = bool(raw.get("icase", False))
    context = bool(raw.get("context", False))
    if kind == "text":
        needle = text.lower() if icase else text
        return Pattern("text", text, (needle.encode(),), icase=icase, context=context)
    if kind == "regex":
        width = regex_width(text)
        if width > MAX_WIDTH:
            raise ValueError(f"regex {text!r} may match {width} bytes, more than {MAX_WIDTH}")
        # MULTILINE: the search runs on a window of a larger buffer, where ^ and $ must mean
        # the line's bounds.
        flags = re.MULTILINE | (re.IGNORECASE if icase else 0)
        anchors = [a.lower() if icase else a for a in _anchors(raw)]
        return Pattern("regex", text, tuple(a.encode() for a in anchors),
                       re.compile(text.encode(), flags), icase=icase, context=context)
    raise ValueError(f"unknown pattern kind {kind!r}")


def regex_width(pattern: str) -> int:
    """The most bytes a match of `pattern` can span (huge for unbounded repetition)."""
    try:  # Python 3.11 renamed sre_parse and deprecated the old name
        from re import _parser as sre_parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse as sre_parser  # type: ignore[no-redef]
    hi = sre_parser.parse(pattern.encode()).getwidth()[1]  # the bytes form, as compiled
    return int(min(hi, 1 << 32))


def _anchors(raw: Mapping[str, Any]) -> list[str]:
    anchor = raw.get("anchor", [])
    return [anchor] if isinstance(anchor, str) else list(anchor)


def _signature(raw: Mapping[str, Any], *, negative: bool = False) -> Signature:
    raws = raw["parts"] if raw.get("kind") == "all" else [raw]
    parts = tuple(_pattern(p) for p in raws)
    strength = "supporting" if negative else strength_of(raw)
    if strength == "prose":
        parts = tuple(replace(p, budget=PROSE_BUDGET) for p in parts)
    return Signature(parts=parts, strength=strength, weight=float(raw["weight"]))


def strength_of(raw: Mapping[str, Any]) -> str:
    strength = str(raw.get("strength", "decisive"))
    return _STRENGTH_ALIASES.get(strength, strength)


def _rule(raw: Mapping[str, Any]) -> Rule:
    return Rule(fact=raw["fact"], op=raw["op"], value=raw.get("value"), weight=float(raw["weight"]),
                if_known=raw.get("if_known"), why=raw.get("why", ""))


def _fix(raw: Any) -> Fix:
    if isinstance(raw, str):
        return Fix(raw, raw)
    if "advice" in raw:
        return Fix(raw["generic"], raw["generic"], advice=raw["advice"])
    return Fix(raw["tailored"], raw["generic"])


def _mode(raw: Mapping[str, Any]) -> Mode:
    try:
        return Mode(
            id=raw["id"], title=raw["title"], phase=raw["phase"], prior=int(raw.get("prior", 99)),
            signatures=tuple(_signature(s) for s in raw["signatures"]),
            negative=tuple(_signature(s, negative=True) for s in raw.get("negative", ())),
            cause=raw["cause"], probe=tuple(raw.get("probe", ())),
            confirm=tuple(_rule(r) for r in raw.get("confirm", ())),
            fixes=tuple(_fix(f) for f in raw["fixes"]), related=tuple(raw.get("related", ())),
            evidence=tuple(raw.get("evidence", ())),
            yields_to=tuple(raw.get("yields_to", ())),
        )
    except (KeyError, TypeError, re.error) as exc:
        raise ValueError(f"knowledge base entry {raw.get('id')!r} is malformed: {exc}") from exc


def validate(raw: Mapping[str, Any], *, fact_is_valid: Any = None,
             advice_actions: Optional[Sequence[str]] = None) -> list[str]:
    """Every problem found in a raw knowledge-base document (empty list: valid).

    `fact_is_valid(path) -> bool` checks environment fact names, `advice_actions` the names a
    fix may give for the advice engine (mamba_doctor.advice.ACTIONS), when given.
    """
    problems: list[str] = []
    for s in raw.get("kernels_ran", []):
        problems.extend(f"kernels_ran: {p}" for p in _check_signature(s))
    modes: Sequence[Mapping[str, Any]] = raw.get("modes") or []
    ids = [m.get("id") for m in modes]
    if len(ids) != len(set(ids)):
        problems.append("duplicate ids")
    for m in modes:
        mid = m.get("id")
        for key in ("id", "title", "phase", "signatures", "cause", "probe", "fixes", "related"):
            if not m.get(key) and key not in ("probe", "related"):
                problems.append(f"{mid}: missing {key}")
        if m.get("phase") not in PHASES:
            problems.append(f"{mid}: unknown phase {m.get('phase')!r}")
        sigs = m.get("signatures") or []
        if not any(strength_of(s) in ("decisive", "prose") for s in sigs):
            problems.append(f"{mid}: no decisive (or prose) signature")
        for s in [*sigs, *m.get("negative", [])]:
            problems.extend(f"{mid}: {p}" for p in _check_signature(s))
        for rel in m.get("related", []):
            if rel not in ids or rel == mid:
                problems.append(f"{mid}: related id {rel!r} is unknown")
        for other in m.get("yields_to", []):
            if (other not in ids and other != "*") or other == mid:
                problems.append(f"{mid}: yields_to id {other!r} is unknown")
        for f in m.get("fixes", []):
            pair = isinstance(f, Mapping) and set(f) == {"tailored", "generic"}
            named = isinstance(f, Mapping) and set(f) == {"advice", "generic"} and \
                (advice_actions is None or f["advice"] in advice_actions)
            if not isinstance(f, str) and not pair and not named:
                problems.append(f"{mid}: a fix must be a string, {{tailored, generic}} or "
                                "{advice, generic} naming a known advice action")
        for r in m.get("confirm", []):
            if r.get("op") not in RULE_OPS:
                problems.append(f"{mid}: unknown rule op {r.get('op')!r}")
            if r.get("fact") not in m.get("probe", []):
                problems.append(f"{mid}: rule fact {r.get('fact')!r} is not listed in probe")
        if fact_is_valid is not None:
            for fact in m.get("probe", []):
                if not fact_is_valid(fact):
                    problems.append(f"{mid}: unknown environment fact {fact!r}")
    return problems


def _check_signature(s: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if strength_of(s) not in STRENGTHS:
        problems.append(f"bad strength {s.get('strength')!r}")
    if not isinstance(s.get("weight"), (int, float)) or s["weight"] <= 0:
        problems.append(f"weight must be a positive number: {s}")
    for part in s["parts"] if s.get("kind") == "all" else [s]:
        if part.get("kind") == "regex":
            try:
                re.compile(part["pattern"].encode())
            except re.error as exc:
                problems.append(f"regex {part['pattern']!r} does not compile: {exc}")
                continue
            flags = re.IGNORECASE if part.get("icase") else 0
            example = part.get("example", "")
            if not example or not re.search(part["pattern"].encode(), example.encode(), flags):
                problems.append(f"regex {part['pattern']!r} does not match its example")
            if regex_width(part["pattern"]) > MAX_WIDTH:
                problems.append(f"regex {part['pattern']!r} is unbounded or wider than "
                                f"{MAX_WIDTH} bytes: bound its repetitions")
            anchors = _anchors(part)
            # Regexes only run around an anchor: that keeps a 50k-line log fast and a 1 MB
            # line linear.
            if not anchors or any(len(a.encode()) < 3 for a in anchors):
                # bytes, not characters: a two-character Chinese word ("报错") is 6 bytes
                problems.append(f"regex {part['pattern']!r} needs anchors of 3+ bytes")
            elif not any((a.lower() in example.lower()) if part.get("icase") else (a in example)
                         for a in anchors):
                problems.append(f"regex {part['pattern']!r}: no anchor occurs in its example")
        elif part.get("kind", "text") == "text":
            if not part.get("pattern", "").strip():
                problems.append("empty text signature")
        else:
            problems.append(f"unknown kind {part.get('kind')!r}")
    return problems
