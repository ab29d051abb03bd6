"""Match a log or error text against the failure knowledge base: ranked causes, evidence, fixes.

Evidence, not vetoes: a mode is diagnosed on decisive evidence (the error line that proves it),
or on conditional evidence that the facts of the log's machine confirm. Supporting evidence (a
platform, a version in the log) and machine facts re-rank and tailor; they never suppress a
decisive match, and they never make a diagnosis alone. When the log comes from another machine
than the one probed, its own facts are used instead of this machine's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from mamba_doctor.diagnose.facts import check_rule
from mamba_doctor.diagnose.fixes import advice_target, fix_texts, values_for
from mamba_doctor.diagnose.guessed_wheel import NOT_FOUND, guessed_wheels
from mamba_doctor.diagnose.logfacts import LogFacts, merge, other_machine, read_log_facts
from mamba_doctor.diagnose.ownpackage import own_package_missing
from mamba_doctor.diagnose.textscan import MAX_LINE, TextScan, containment
from mamba_doctor.knowledge.failures import KnowledgeBase, Mode, Pattern, Signature, load_knowledge
from mamba_doctor.models import Environment
from mamba_doctor.wheels.index import label_key

__all__ = ["MAX_LINE", "MIN_SCORE", "REPORT_HINT", "Analysis", "Diagnosis", "analyse",
           "diagnose", "render_diagnoses"]

if TYPE_CHECKING:  # rich stays out of the import path until something is drawn
    from rich.console import Console

MIN_SCORE = 3.0  # below this a mode is a guess, not a diagnosis
ENV_QUALIFY = 3.0  # machine facts that let conditional text evidence make a diagnosis
RELATIVE_CUT = 0.25  # drop runners-up scoring under this share of the best one
MAX_MATCHED = 6  # evidence lines kept per diagnosis
_SYMBOL = re.compile(rb"undefined symbol: (_Z\S{1,400})")
_WHEEL_TAGS = re.compile(rb"torch(\d{1,2}\.\d{1,3})cxx11abi(TRUE|FALSE)")
_BUILD_TORCH = re.compile(rb"torch\.__version__\s{1,8}=\s{1,8}(\S{1,60})")
_OLD_ABI_STRING = re.compile(rb"(RKSs|PKSs|ISs|ESs)")
# The torch an extension was compiled against shows in c10::Warning's constructor: torch moved
# from c10::variant to std::variant between 2.1 and 2.2 (pytorch/pytorch#103675 to #110423,
# c10::variant deleted by #112725 in November 2023), so "NS_7variant" was built against torch
# 2.1 or older and "St7variant" against 2.2 or newer, whichever C++ ABI either used.
_WARNING_VARIANT = re.compile(rb"^_ZN3c107WarningC[12]E(NS_7variant|St7variant)")
# The extension whose symbol is missing, when the line names its file.
_SO_PATH = re.compile(rb"(?<![\w.-])(/[^\s:'\"]{1,300}\.so): undefined symbol: _Z")

# A symbol of the C++ standard library alone (std::, no c10/at/torch name in it): the libstdc++
# loaded at import is older than the one the extension was linked with, whatever torch is.
_STD_SYMBOL = re.compile(rb"_ZN?K?St")
_TORCH_NAMES = re.compile(rb"3c10|2at\d|5torch|6caffe2")
# The poster rebuilt the extension from source and the symbol is still missing. Anchored,
# bounded regexes for TextScan.matches (case-blind: prose).
_REBUILT = (
    ("from source", re.compile(rb"(?i)\b(re-?built|re-?compiled|built|compiled|installed)\b"
                               rb"[^\n]{0,40}from (the )?source")),
    ("fresh", re.compile(rb"(?i)\bfresh\b[^\n]{0,24}\b(re)?(build|install|compil)")),
    ("clean", re.compile(rb"(?i)\bclean\b[^\n]{0,24}\b(re)?(build|install|compil)")),
)
# A pip build of the sources with pip's default build isolation.
_PIP_BUILD = re.compile(rb"pip3? install (-e |--editable )?(\.(?=[\s`'\"/]|$)|\S{0,80}"
                        rb"(mamba[-_]ssm|causal[-_]conv1d)|git\+)")

ABI = "cxx11-abi-mismatch"
TORCH_VERSION = "torch-version-mismatch-undefined-symbol"
ISOLATION = "build-isolation-wrong-torch"
GLIBCXX = "glibc-glibcxx-too-old"
OLD_SOURCE = "old-source-vs-new-torch"
OWN_PACKAGE = "project-package-not-installed"
SOURCE_BUILD = "no-prebuilt-wheel-slow-source-build"
DOWNLOAD = "github-wheel-download-failed"
_BARE_NO_MODULE = re.compile(r"[\s…]{0,8}No module named ['\"]")
# pip's last word when the install went through (a source build that took long but worked)
_SUCCEEDED = re.compile(rb"Successfully (installed|built) [^\n]{0,200}"
                        rb"(mamba[-_]ssm|causal[-_]conv1d)")
YIELD_MARGIN = 0.5  # how far under the mode it yields to a mode is put (see _yield)

# Where unknown failures can be reported: the upstream trackers, which exist.
REPORT_HINT = (
    "If this is a mamba-ssm or causal-conv1d problem, search or report it upstream with the "
    "whole log and the output of `mamba-doctor check --json`: "
    "https://github.com/state-spaces/mamba/issues or "
    "https://github.com/Dao-AILab/causal-conv1d/issues"
)


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
    confirmed: tuple[str, ...] = ()  # facts (of the log's machine) that support the diagnosis
    tailored: bool = False  # fixes were filled in from known facts

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": self.score, "cause": self.cause,
                "fix": list(self.fix), "matched": list(self.matched), "phase": self.phase,
                "related": list(self.related), "confirmed": list(self.confirmed),
                "tailored": self.tailored}


@dataclass(frozen=True)
class Analysis:
    """The diagnoses of a text and where the facts used for them came from."""

    diagnoses: tuple[Diagnosis, ...]
    log_facts: LogFacts
    other_machine: tuple[str, ...] = ()  # why the log is not from the probed target
    facts_from: str = "none"  # "target", "env-file", "log" or "none"
    kernels_ran: bool = False

    @property
    def note(self) -> Optional[str]:
        if not self.other_machine:
            return None
        because = "; ".join(self.other_machine)
        if self.facts_from == "env-file":
            return (f"The log does not match the --env file ({because}): the fixes follow the "
                    "--env file.")
        return (f"This log comes from another machine ({because}). The diagnosis uses the log's "
                "own facts and the fixes are tailored from them; for exact fixes run explain "
                "there, or pass that machine's `mamba-doctor check --json` with --env.")


@dataclass
class _Candidate:
    mode: Mode
    text_score: float = 0.0
    adjust: float = 0.0  # what facts and the look-alike discrimination added
    lines: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    decisive: bool = False  # an error line or the poster's words make the diagnosis alone
    from_log: bool = False  # ... and an error line is among them (not only prose)
    conditional: bool = False
    env_support: float = 0.0
    yielded: bool = False  # ranked under a mode it yields to, even where the floor ties them

    @property
    def score(self) -> float:
        total = self.text_score + self.adjust
        # Facts re-rank; they never push a decisive match out of the diagnoses.
        return max(total, MIN_SCORE) if self.decisive else total

    def qualifies(self, kernels_ran: bool) -> bool:
        if self.decisive:
            # the poster's words do not outweigh a log showing the kernels ran
            return self.text_score >= MIN_SCORE and (self.from_log or not kernels_ran)
        confirmed = self.conditional and not kernels_ran and self.env_support >= ENV_QUALIFY
        return confirmed and self.score >= MIN_SCORE


def diagnose(text: str, env: Optional[Environment] = None, *, limit: int = 3,
             python: Optional[str] = None, kb: Optional[KnowledgeBase] = None
             ) -> tuple[Diagnosis, ...]:
    """Rank the known failure modes that explain `text` (a log, a traceback, an error message).

    `env` is the machine the text came from (its facts separate look-alikes and fill the fixes);
    `python` names the interpreter used in commands. Returns at most `limit` diagnoses (all when
    `limit` <= 0), best first; an empty tuple when nothing known matches.
    """
    return analyse(text, env, limit=limit, python=python, kb=kb).diagnoses


def analyse(text: str, env: Optional[Environment] = None, *, env_source: str = "target",
            check_origin: bool = False, limit: int = 3, python: Optional[str] = None,
            kb: Optional[KnowledgeBase] = None) -> Analysis:
    """Like `diagnose`, and say whose facts were used.

    With `check_origin`, `env` is only the machine explain runs on (`env_source` "target") or a
    saved `--env` file ("env-file"): when the log's paths, Python or platform differ from it,
    the log's own facts are used instead of the target's and the analysis says why.
    """
    kb = kb or load_knowledge()
    scan = TextScan(text, _containment(kb))
    candidates: dict[str, _Candidate] = {}
    for mode in kb.modes:
        cand = _score_mode(mode, scan)
        if cand is not None:
            candidates[mode.id] = cand
    log = read_log_facts(scan, gpus=any(_uses_gpu(c.mode) for c in candidates.values()))
    ran = any(_signature_lines(sig, scan) is not None for sig in kb.kernels_ran)
    if ran:
        _drop_fallback_notices(candidates)
    why = tuple(other_machine(log, env)) if (check_origin and env is not None) else ()
    facts_env, facts_from = _facts_env(env, env_source, log, bool(why))
    _two_torches(log, kb, candidates)
    _guessed_wheel(scan, kb, candidates)
    _rebuilt_still_missing(scan, kb, candidates)
    _project_cannot_import_itself(scan, kb, candidates)
    if candidates:
        _discriminate(scan, facts_env, candidates)
        if facts_env is not None:
            for cand in candidates.values():
                _apply_rules(cand, facts_env)
        _yield(candidates)
    ranked = sorted((c for c in candidates.values() if c.qualifies(ran)),
                    key=lambda c: (-c.score, c.yielded, c.mode.prior))
    if ranked:
        best = ranked[0].score
        ranked = [c for c in ranked if c.score >= best * RELATIVE_CUT]
    if limit > 0:
        ranked = ranked[:limit]
    values = values_for(facts_env, python, [c.mode for c in ranked])
    target = advice_target(facts_env, python)
    found = tuple(_finish(c, values, target, tailored=facts_env is not None,
                          partial=facts_from == "log") for c in ranked)
    return Analysis(diagnoses=found, log_facts=log, other_machine=why, facts_from=facts_from,
                    kernels_ran=ran)


_CONTAINS: dict[int, tuple[KnowledgeBase, dict[bytes, tuple[bytes, ...]]]] = {}


def _containment(kb: KnowledgeBase) -> dict[bytes, tuple[bytes, ...]]:
    """textscan.containment() over every needle of `kb`, computed once per knowledge base (the
    kb is kept beside it, so its id is not reused while the entry lives)."""
    entry = _CONTAINS.get(id(kb))
    if entry is None or entry[0] is not kb:
        sigs = [s for m in kb.modes for s in (*m.signatures, *m.negative)] + list(kb.kernels_ran)
        needles = [n for sig in sigs for part in sig.parts for n in part.needles]
        entry = _CONTAINS[id(kb)] = (kb, containment(needles))
    return entry[1]


def _uses_gpu(mode: Mode) -> bool:
    return any(rule.fact.startswith("nvidia.gpus[]") for rule in mode.confirm)


def _facts_env(env: Optional[Environment], source: str, log: LogFacts, elsewhere: bool
               ) -> tuple[Optional[Environment], str]:
    """The facts confirm rules and fixes use, and where they come from."""
    from_log = log.environment() if log.known else None
    if env is None:
        return from_log, ("log" if from_log is not None else "none")
    if elsewhere and source != "env-file":
        return from_log, ("log" if from_log is not None else "none")
    merged = merge(env, from_log) if from_log is not None else env
    return merged, source


def _signature_lines(sig: Signature, scan: TextScan) -> Optional[list[str]]:
    lines: list[str] = []
    for part in sig.parts:
        hits = scan.hits(part)
        if not hits:
            return None
        if not part.context:
            lines.extend(hits[:1] if len(sig.parts) > 1 else hits)
    return lines


def _score_mode(mode: Mode, scan: TextScan) -> Optional[_Candidate]:
    cand = _Candidate(mode)
    # Decisive and conditional signatures first: supporting ones (often broad regexes) are only
    # searched once the mode can qualify at all.
    for first_pass in (True, False):
        for sig in mode.signatures:
            if (sig.strength != "supporting") != first_pass:
                continue
            lines = _signature_lines(sig, scan)
            if lines is not None:
                cand.text_score += sig.weight
                cand.lines.extend(lines)
                cand.decisive = cand.decisive or sig.strength in ("decisive", "prose")
                cand.from_log = cand.from_log or sig.strength == "decisive"
                cand.conditional = cand.conditional or sig.strength == "conditional"
        if first_pass and not cand.lines:
            return None
    for neg in mode.negative:
        if _signature_lines(neg, scan) is not None:
            cand.text_score -= neg.weight
    return cand


def _apply_rules(cand: _Candidate, env: Environment) -> None:
    for rule in cand.mode.confirm:
        if check_rule(env, rule.fact, rule.op, rule.value, if_known=rule.if_known):
            cand.adjust += rule.weight
            cand.env_support += rule.weight
            if rule.weight > 0 and rule.why:
                cand.confirmed.append(rule.why)


def _yield(cands: Mapping[str, _Candidate]) -> None:
    """Rank a mode under the modes it yields to (the knowledge base's `yields_to`) that the log
    also proves: pip's "the build failed" under the build error it wraps, a platform under a
    defect that fails on every platform. Modes yielding to any ("*") go last, under the rest;
    a mode only the poster's words name goes under every mode an error line proves, except
    those that yield to any (pip's wrapper still goes under the cause the poster names)."""
    def proven(c: _Candidate) -> bool:
        return c.decisive and c.text_score >= MIN_SCORE

    logged = [c.score for c in cands.values()
              if proven(c) and c.from_log and "*" not in c.mode.yields_to]
    for cand in cands.values():
        if cand.decisive and not cand.from_log and logged and \
                cand.score > max(logged) - YIELD_MARGIN:
            cand.adjust -= cand.score - (max(logged) - YIELD_MARGIN)
            cand.yielded = True

    order = sorted((c for c in cands.values() if c.mode.yields_to),
                   key=lambda c: "*" in c.mode.yields_to)
    for cand in order:
        if "*" in cand.mode.yields_to:
            over = [c.score for c in cands.values() if proven(c) and "*" not in c.mode.yields_to]
        else:
            over = [cands[i].score for i in cand.mode.yields_to if i in cands and proven(cands[i])]
        if over and cand.score > max(over) - YIELD_MARGIN:
            cand.adjust -= cand.score - (max(over) - YIELD_MARGIN)
            # A decisive score never drops under MIN_SCORE, so two floored modes tie: the
            # flag keeps the one that yields second.
            cand.yielded = True


def _bump(cands: Mapping[str, _Candidate], mode_id: str, delta: float, why: str = "") -> None:
    cand = cands.get(mode_id)
    if cand is not None:
        cand.adjust += delta
        if why and delta > 0:
            cand.confirmed.append(why)


def _discriminate(scan: TextScan, env: Optional[Environment],
                  cands: Mapping[str, _Candidate]) -> None:
    """Separate the undefined-symbol look-alikes using the mangled name and torch's ABI flag."""
    if ABI not in cands and TORCH_VERSION not in cands and ISOLATION not in cands:
        return
    text = scan.data
    symbols = _symbols(text)
    # std::__cxx11 (or the B5cxx11 tag), whatever Markdown did to its underscores
    new_abi = any(b"cxx11" in s for s in symbols)
    old_abi = any(_OLD_ABI_STRING.search(s) for s in symbols)
    torch_abi = env.torch.cxx11abi if env is not None else None
    if new_abi and torch_abi is None:
        # std::__cxx11 in a missing symbol is the classic sign of an ABI mix-up
        _bump(cands, ABI, 3.0)
        _bump(cands, TORCH_VERSION, -1.5)
    if symbols and not new_abi and not old_abi:
        _bump(cands, ABI, -3.0)  # no std::string in the symbol: the ABI flag cannot explain it
    if symbols and all(_STD_SYMBOL.match(s) and not _TORCH_NAMES.search(s) for s in symbols):
        why = "the missing symbol belongs to the C++ standard library, not to torch"
        _bump(cands, GLIBCXX, 3.0, why)
        _bump(cands, TORCH_VERSION, -3.0)
        _bump(cands, ABI, -3.0)
    if new_abi and torch_abi is None and _built_in_a_source_tree(text):
        # Compiled in a checkout, so against the torch (and ABI) of its build: the torch that
        # imports it now is another one. No release wheel's ABI flag is involved.
        _bump(cands, ABI, -3.0)
        _bump(cands, TORCH_VERSION, 2.0, "the extension was compiled in a source tree, not "
                                         "installed from a release wheel")
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
    abi_differs = (new_abi and torch_abi is False) or (old_abi and torch_abi is True)
    _variant_generation(symbols, torch_mm, cands, abi_differs=abi_differs)
    tags = _WHEEL_TAGS.search(text)
    if tags is not None:
        flag, wheel_mm = tags.group(2).decode(), tags.group(1).decode()
        if env.torch.cxx11abi is not None and (flag == "TRUE") != env.torch.cxx11abi:
            _bump(cands, ABI, 3.0, f"the wheel in the log is cxx11abi{flag}, "
                                   "torch uses the other ABI")
        if wheel_mm != torch_mm:
            _bump(cands, TORCH_VERSION, 3.0, f"the wheel in the log targets torch "
                                             f"{wheel_mm}, torch {torch_mm} is installed")
    built = _BUILD_TORCH.search(text)
    used = built.group(1).decode("ascii", "replace") if built is not None else None
    if used is not None and used.split("+")[0] != env.torch.version.split("+")[0]:
        why = f"the build used torch {used}, this environment has {env.torch.version}"
        _bump(cands, ISOLATION, 3.0, why)
        _bump(cands, TORCH_VERSION, 1.0, why)


def _variant_generation(symbols: Sequence[bytes], torch_mm: str, cands: Mapping[str, _Candidate],
                        *, abi_differs: bool) -> None:
    """A missing c10::Warning constructor of the other torch generation than the installed torch
    (see _WARNING_VARIANT): that symbol exists in neither ABI of this torch, so the extension was
    built for another torch version. Where its ABI differs from torch's too, that stays the
    runner-up: the wheel to install must fit both."""
    installed_new = label_key(torch_mm) >= (2, 2)
    for sym in symbols:
        m = _WARNING_VARIANT.match(sym)
        if m is None:
            continue
        built_new = m.group(1) == b"St7variant"
        if built_new != installed_new:
            built = "2.2 or newer (std::variant)" if built_new else "2.1 or older (c10::variant)"
            why = (f"the missing c10::Warning symbol was compiled against torch {built}; "
                   f"torch {torch_mm} is installed")
            _bump(cands, TORCH_VERSION, 5.0 if abi_differs else 3.0, why)
            if not abi_differs:
                _bump(cands, ABI, -5.0)
        return


def _two_torches(log: LogFacts, kb: KnowledgeBase, cands: dict[str, _Candidate]) -> None:
    """An isolated build that printed another torch than the one the poster says is installed:
    the build environment fetched its own torch (build-isolation-wrong-torch), whatever else the
    source build then ran into. Its evidence is the pair of lines, so the mode may be created."""
    two = log.isolated_build
    if two is None:
        return
    # _discriminate states the comparison: the log's facts carry the poster's torch.
    cand = _from_lines(kb, cands, ISOLATION, 4.0)
    if cand is not None:
        cand.lines.extend([two.built_line, two.said_line])


def _drop_fallback_notices(cands: dict[str, _Candidate]) -> None:
    """In a log that shows the code ran on (kernels_ran), a mode whose only evidence is an import
    error printed on a line of its own ("No module named 'selective_scan_cuda_core'" with no
    exception name before it, as `print(e)` in an `except ImportError` writes it) is a project
    saying which kernel backend it could not load and falling back; it did not stop the run."""
    for mode_id in [m for m, c in cands.items()
                    if c.lines and all(_BARE_NO_MODULE.match(line) for line in c.lines)]:
        del cands[mode_id]


def _guessed_wheel(scan: TextScan, kb: KnowledgeBase, cands: dict[str, _Candidate]) -> None:
    """What the index says of the wheel setup.py guessed (see diagnose/guessed_wheel.py): never
    published (a source build was bound to happen), or published while setup.py says it was not
    found (the download failed). A log whose install then succeeded shows no failure."""
    guesses = guessed_wheels(scan)
    if not guesses or _SUCCEEDED.search(scan.data) is not None:
        return
    for guess in guesses:  # the first one the index can judge decides
        name = f"{guess.package} {guess.tag}"
        if guess.published:
            if NOT_FOUND not in scan.data:
                continue
            target, score = DOWNLOAD, 4.0
            why = (f"{guess.filename} is published in {name}: setup.py's download of it failed "
                   "and it built from source instead")
        else:
            target, score = SOURCE_BUILD, 3.5
            why = f"{name} never published the guessed wheel {guess.filename}"
            if guess.torch_newer:
                why += (f" (its newest wheels are for torch {guess.newest_torch}, older than "
                        f"torch {guess.torch})")
        cand = _from_lines(kb, cands, target, score)
        if cand is not None:
            cand.lines.append(guess.line)
            cand.confirmed.append(why)
        return


def _from_lines(kb: KnowledgeBase, cands: dict[str, _Candidate], mode_id: str, score: float
                ) -> Optional[_Candidate]:
    """The candidate for `mode_id`, for error lines that a rule of this module read across the
    log: made (decisive, with `score`) when no signature made it, else raised by 3."""
    cand = cands.get(mode_id)
    if cand is not None:
        cand.adjust += 3.0
        return cand
    mode = next((m for m in kb.modes if m.id == mode_id), None)
    if mode is None:
        return None
    cand = cands[mode_id] = _Candidate(mode, text_score=score, decisive=True, from_log=True)
    return cand


def _symbols(text: bytes) -> list[bytes]:
    return [m.group(1) for _, m in zip(range(20), _SYMBOL.finditer(text))]


def _first_line(scan: TextScan, anchor: str, regex: re.Pattern[bytes], icase: bool
                ) -> Optional[str]:
    needle = (anchor.lower() if icase else anchor).encode()
    hits = scan.hits(Pattern("regex", regex.pattern.decode(), (needle,), regex, icase))
    return hits[0] if hits else None


def _rebuilt_still_missing(scan: TextScan, kb: KnowledgeBase, cands: dict[str, _Candidate]
                           ) -> None:
    """A torch symbol still missing after the poster rebuilt the extension from source: not a
    stale binary (a build against the torch that runs cannot miss its symbols). Either pip's
    isolated build compiled against another torch (a pip build of the sources without
    --no-build-isolation in the log), or the source uses an API this torch no longer has."""
    if TORCH_VERSION not in cands and ABI not in cands:
        return
    if not any(_TORCH_NAMES.search(s) for s in _symbols(scan.data)):
        return
    said = next((line for anchor, rx in _REBUILT
                 if (line := _first_line(scan, anchor, rx, True)) is not None), None)
    if said is None:
        return
    pip = None if b"--no-build-isolation" in scan.data else _first_line(scan, "pip", _PIP_BUILD,
                                                                          False)
    target = ISOLATION if pip is not None else OLD_SOURCE
    cand = _from_lines(kb, cands, target, 6.0)
    if cand is None:
        return
    cand.lines.extend([said] + ([pip] if pip else []))
    cand.confirmed.append("the extension was rebuilt from source and the symbol is still missing"
                          + (", in pip's isolated build" if pip else ""))
    _bump(cands, TORCH_VERSION, -3.0)
    _bump(cands, ABI, -3.0)


def _project_cannot_import_itself(scan: TextScan, kb: KnowledgeBase,
                                  cands: dict[str, _Candidate]) -> None:
    """`No module named 'X'` where X is a folder of the traceback's own files (ownpackage.py):
    the project's own package, not importable from where the script runs."""
    found = own_package_missing(scan.data)
    if found is None:
        return
    name, path = found
    error = _first_line(scan, "No module named", re.compile(
        rb"No module named '" + re.escape(name) + rb"'"), False)
    if error is None:
        return
    cand = _from_lines(kb, cands, OWN_PACKAGE, 4.5)
    if cand is None:
        return
    cand.lines.extend([error, path.decode("utf-8", "replace")])
    cand.confirmed.append(f"the traceback runs from a folder named like the missing module "
                          f"'{name.decode('utf-8', 'replace')}'")


def _built_in_a_source_tree(text: bytes) -> bool:
    """Whether the extension with the missing symbol lies outside any site-/dist-packages (an
    in-place or `build/` copy of a checkout)."""
    hit = _SO_PATH.search(text, 0, 1 << 20)
    return hit is not None and b"-packages/" not in hit.group(1)


def _finish(cand: _Candidate, values: Mapping[str, str], target: Optional[Any], *,
            tailored: bool, partial: bool = False) -> Diagnosis:
    seen: list[str] = []
    for line in cand.lines:
        if line and line not in seen:
            seen.append(line)
    return Diagnosis(
        id=cand.mode.id, title=cand.mode.title, score=round(cand.score, 2), cause=cand.mode.cause,
        fix=fix_texts(cand.mode, values, target, partial=partial),
        matched=tuple(seen[:MAX_MATCHED]),
        phase=cand.mode.phase, related=cand.mode.related,
        confirmed=tuple(dict.fromkeys(cand.confirmed)), tailored=tailored,
    )


def render_diagnoses(console: Console, diagnoses: Sequence[Diagnosis], *,
                     report_hint: bool = True, note: Optional[str] = None) -> None:
    """Draw diagnoses best first: cause and evidence in a box, then the fixes under it with
    their commands whole on lines of their own (mamba_doctor/ui.py's rendering rule); with none,
    say where to report the failure."""
    from rich.console import Group
    from rich.markup import escape

    from mamba_doctor.ui import hanging_list, panel, print_items, print_whole

    if note:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    if not diagnoses:
        console.print("[bold]No known failure recognised in this text.[/]")
        if report_hint:
            console.print(escape(REPORT_HINT), soft_wrap=True)
        return
    for rank, d in enumerate(diagnoses, 1):
        body: list[Any] = [f"[dim]{d.id} · {d.phase.replace('_', ' ')} · score {d.score:g}[/]",
                           f"[bold]Cause:[/] {escape(d.cause)}"]
        if d.confirmed:
            body.append("[bold]Confirmed by the facts:[/]")
            body.append(hanging_list([escape(c) for c in d.confirmed], bullet="•"))
        console.print(panel(Group(*body), title=f"{rank}. {escape(d.title)}",
                            style="red" if rank == 1 else "yellow"))
        if d.matched:  # log lines hold paths: whole, outside the box
            console.print("[bold]Matched:[/]")
            for line in d.matched:
                print_whole(console, line, indent=2, style="dim")
        console.print("[bold]Fix:[/]")
        print_items(console, d.fix)
        console.print()

