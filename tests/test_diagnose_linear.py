"""Matching is linear in the input: 1 MiB single-line inputs built from the engine's own anchors
each take under 2 s, and eight times the input takes roughly eight times as long.

The 2 s bound is for an idle machine; on a shared box the bound grows with the load average, so
that a busy CI runner does not fail a linear engine (a quadratic one takes minutes here).
"""

from __future__ import annotations

import os
import time
from typing import Any, cast

import pytest

from mamba_doctor.diagnose.engine import diagnose
from mamba_doctor.knowledge.failures import load_knowledge

MIB = 1 << 20


def _budget(seconds: float = 2.0) -> float:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return seconds * max(1.0, load / (os.cpu_count() or 1))


def _anchors(regex_only: bool) -> list[str]:
    kb = load_knowledge()
    found: set[str] = set()
    sigs = [s for m in kb.modes for s in (*m.signatures, *m.negative)] + list(kb.kernels_ran)
    for sig in sigs:
        for part in sig.parts:
            if part.regex is not None or not regex_only:
                found.update(n.decode() for n in part.needles)
    return sorted(found)


def _line(shape: str, size: int = MIB) -> str:
    return (shape * (size // len(shape) + 1))[:size]


def _seconds(text: str) -> float:
    start = time.perf_counter()
    diagnose(text, limit=0)
    return time.perf_counter() - start


def test_every_regex_anchor_repeated_for_a_mebibyte() -> None:
    load_knowledge()
    slow = []
    for anchor in _anchors(regex_only=True):
        took = _seconds(_line(anchor))
        if took > _budget():
            slow.append((anchor, round(took, 2)))
    assert slow == []


@pytest.mark.parametrize("shape", [
    "".join(_anchors(regex_only=False)),  # every needle of the knowledge base, over and over
    "undefined symbol: _Z" + "N" * 500,  # near misses that reach deep into a regex
    "Command '['" + "a" * 300 + "gcc', '",
    "C:\\" + "x\\" * 200,
    "error: " * 50 + "x",
    "Guessing wheel URL: " + "timed out " * 3,
    "\x1b[" + "1;" * 400,  # an unterminated escape sequence
    "\x1b]8;;" + "h" * 1000,
    "*" * 999 + "Z1",
    "&#" + "9" * 40 + ";",
    "> " * 300 + "\n",
    "没有那个文件或目录" * 10 + " ",
], ids=lambda shape: ascii(shape[:16]))
def test_pathological_shapes(shape: str) -> None:
    load_knowledge()
    assert _seconds(_line(shape)) < _budget()


def test_time_grows_linearly() -> None:
    shape = "".join(_anchors(regex_only=False))
    # 8x the input: ~8x the time when linear, 64x when quadratic. The wide gap keeps the test
    # meaningful on a loaded runner, where single timings wobble by 2x.
    small = min(_seconds(_line(shape, MIB // 8)) for _ in range(5))
    large = min(_seconds(_line(shape, MIB)) for _ in range(3))
    assert large < 24 * max(small, 1e-3)


def test_containment_lists_the_shorter_needles_each_holds() -> None:
    from mamba_doctor.diagnose.textscan import containment
    table = containment([b"No module named", b"No module named 'nnunetv2.", b"Undefined Symbol",
                         b"undefined symbol: _Z", b"cuda"])
    assert table[b"no module named 'nnunetv2."] == (b"no module named",)
    assert table[b"undefined symbol: _z"] == (b"undefined symbol",)  # case-blind
    assert b"cuda" not in table and b"no module named" not in table


def test_containment_changes_no_answer() -> None:
    """A needle proved absent through a shorter one it holds is absent indeed: every fixture log
    and a log with neither gives the same diagnoses with the table as without it."""
    from pathlib import Path

    from mamba_doctor.diagnose import engine
    from mamba_doctor.diagnose.textscan import TextScan
    kb = load_knowledge()
    logs = sorted((Path(__file__).parent / "fixtures" / "logs").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in logs] + ["nothing to see\n" * 1000]
    with_table = [[d.id for d in diagnose(t)] for t in texts]
    real = engine._containment
    try:
        engine._containment = lambda _kb: {}  # type: ignore[assignment]
        without = [[d.id for d in diagnose(t)] for t in texts]
    finally:
        engine._containment = real
    assert with_table == without
    scan = TextScan("No module named 'x'", engine._containment(kb))
    assert scan._find_first(b"No module named 'nnunetv2.", False) == -1
    assert scan._find_first(b"No module named", False) == 0


def test_a_regex_with_many_anchors_shares_one_scan_budget() -> None:
    """On a line where all of a regex's anchors recur, the regex examines SCAN_BUDGET bytes of
    windows in all, not SCAN_BUDGET per anchor (each anchor used to get its own)."""
    import re

    from mamba_doctor.diagnose import textscan
    from mamba_doctor.knowledge.failures import Pattern

    rx = re.compile(rb"(alpha|bravo|charlie|delta) never")
    examined: list[int] = []

    class Counting:  # the regex, counting the bytes each search is given
        def search(self, data: bytes, lo: int, hi: int) -> object:
            examined.append(hi - lo)
            return rx.search(data, lo, hi)

    anchors = (b"alpha", b"bravo", b"charlie", b"delta")
    pattern = Pattern("regex", rx.pattern.decode(), anchors, cast(Any, Counting()), False)
    scan = textscan.TextScan(("alpha bravo charlie delta " * 60_000)[:MIB])
    assert scan.hits(pattern) == []
    window = 2 * textscan.WINDOW + 16
    assert textscan.SCAN_BUDGET <= sum(examined) <= textscan.SCAN_BUDGET + window
