"""Would a learned fallback help `explain`? A nearest-neighbour check on the spent real logs.

    python benchmarks/eval_knn_fallback.py

The question: when no signature matches, could the closest already-labelled log name the cause?
Each log is reduced to the words and word pairs of its error lines (lines with "error", "failed",
"undefined", "No module", ...), weighted by inverse document frequency; its nearest neighbour by
cosine similarity gives the label. It is scored leave-one-round-out: the logs of one round are
labelled from the other rounds only, as a fresh round would be. Only spent parts are used (a
part in STILL_HELD_OUT is never read).

Two figures per similarity threshold: the neighbour alone (right answers among all causes, and
negatives it would flag), and the neighbour used only where the signatures give nothing (extra
right answers, extra false positives). The second flatters the signatures, which were tuned on
these parts; it bounds what the fallback could add. The result recorded in docs/explain.md: no
threshold adds right answers without adding false positives, so `explain` has no such fallback.
"""

# ruff: noqa: T201  # a report script: printing the figures is its job
from __future__ import annotations

import math
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import eval_real_logs as corpus  # noqa: E402

from mamba_doctor.diagnose.engine import analyse  # noqa: E402
from mamba_doctor.diagnose.normalize import normalize  # noqa: E402

_ERROR_LINE = re.compile(r"error|fatal|undefined|cannot|not found|no module|failed|"
                         r"not supported|unsupported|no such|traceback|exception|denied|requires|"
                         r"too old|mismatch|incompatible", re.I)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{2,}")
_HEXISH = re.compile(r"[0-9a-f]{8,}")
THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9)


def features(text: str) -> set[str]:
    """Words and adjacent word pairs of the error lines, lower-cased (hashes dropped)."""
    found: set[str] = set()
    for line in normalize(text).splitlines():
        line = line[:2000]
        if not _ERROR_LINE.search(line):
            continue
        words = [w.lower().strip("._") for w in _WORD.findall(line)]
        words = [w for w in words if len(w) >= 3 and not _HEXISH.fullmatch(w)]
        found.update(words)
        found.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return found


def _unit(feats: set[str], idf: dict[str, float]) -> dict[str, float]:
    vec = {w: idf[w] for w in feats if w in idf}
    norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
    return {w: x / norm for w, x in vec.items()}


def nearest(query: set[str], train: list[tuple[set[str], str]]) -> tuple[float, Optional[str]]:
    """The label of the most similar training log and the cosine similarity."""
    df = Counter(w for feats, _ in train for w in feats)
    idf = {w: math.log(len(train) / c) for w, c in df.items() if c >= 2}
    q = _unit(query, idf)
    best: tuple[float, Optional[str]] = (0.0, None)
    for feats, label in train:
        other = _unit(feats, idf)
        sim = sum(x * other.get(w, 0.0) for w, x in q.items())
        if sim > best[0]:
            best = (sim, label)
    return best


def main() -> None:
    logs = corpus.load_manifest()["logs"]
    rows = []  # (round, want, features, signatures' top-1 or None)
    for entry in logs.values():
        if entry["split"] in corpus.STILL_HELD_OUT:
            continue
        text = (corpus.CORPUS / entry["file"]).read_text(encoding="utf-8")
        found = analyse(text, None, limit=1).diagnoses
        want = corpus.expected_id(entry["label"]) or "negative"
        rows.append((int(entry.get("round", 1)), want, features(text),
                     found[0].id if found else None))
    answers = []  # (want, signatures' answer, similarity, neighbour's label)
    for held in sorted({r[0] for r in rows}):
        train = [(f, want) for rnd, want, f, _ in rows if rnd != held]
        for rnd, want, feats, sig in rows:
            if rnd == held:
                answers.append((want, sig, *nearest(feats, train)))
    causes = sum(a[0] != "negative" for a in answers)
    negatives = len(answers) - causes
    print(f"spent logs: {causes} causes, {negatives} negatives, leave-one-round-out")
    sig_right = sum(a[1] == a[0] for a in answers if a[0] != "negative")
    sig_fp = sum(a[1] is not None for a in answers if a[0] == "negative")
    print(f"signatures (tuned on these parts): {sig_right}/{causes} right, "
          f"{sig_fp}/{negatives} negatives flagged")
    print("similarity  neighbour alone: right, flagged  |  where signatures give nothing: "
          "extra right, extra flagged")
    for th in THRESHOLDS:
        def says(a: tuple, th: float = th) -> Optional[str]:
            return a[3] if a[2] >= th and a[3] != "negative" else None
        alone_right = sum(says(a) == a[0] for a in answers if a[0] != "negative")
        alone_fp = sum(says(a) is not None for a in answers if a[0] == "negative")
        extra_right = sum(a[1] is None and says(a) == a[0] for a in answers
                          if a[0] != "negative")
        extra_fp = sum(a[1] is None and says(a) is not None for a in answers
                       if a[0] == "negative")
        print(f">= {th:<8} {alone_right:>4}/{causes}, {alone_fp:>3}/{negatives}"
              f"{'':22}|  {extra_right:>3}, {extra_fp:>3}")


if __name__ == "__main__":
    main()
