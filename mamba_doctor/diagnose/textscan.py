"""Search a large log in linear time: substrings first, regexes only in windows around them.

Each regex of the knowledge base has literal anchors (one of them is part of every match) and a
bounded width (the loader refuses unbounded repetition), so a match lies within `MAX_WIDTH`
bytes of an anchor. A regex therefore runs only on the window around each anchor occurrence,
clipped at line ends, and never on a whole line: a megabyte without a newline costs what a
megabyte of short lines costs. A per-pattern budget bounds the adversarial case of an anchor
repeated all over the input.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Mapping, Optional

from mamba_doctor.diagnose.normalize import normalize_scan
from mamba_doctor.diagnose.vocabulary import Vocabulary
from mamba_doctor.knowledge.failures import MAX_WIDTH, Pattern

MAX_LINE = 240  # evidence lines are trimmed to this many characters
MAX_HITS = 3  # occurrences kept per pattern
WINDOW = 2 * MAX_WIDTH  # bytes a regex sees on each side of an anchor
SCAN_BUDGET = 1 << 19  # bytes of windows one regex may examine in one text
# A UTF-8 character from U+3000 to U+DFFF (CJK punctuation, kana, Han, Hangul): its lead byte.
# A text without one cannot hold a Chinese, Japanese or Korean needle, so those are not searched
# for: each absent needle would otherwise cost a pass over the whole text.
_CJK_LEAD = re.compile(rb"[\xe3-\xed][\x80-\xbf]")


def containment(needles: Iterable[bytes]) -> dict[bytes, tuple[bytes, ...]]:
    """For each needle (lower-cased), the shorter needles it contains, shortest first.

    A needle absent from the lower-cased text proves every needle holding it absent, in either
    case: most of a log's searches are for needles it lacks, each a pass over the whole text, and
    many needles share a shorter one ("No module named", "undefined symbol", "is not defined")."""
    keys = {n.lower() for n in needles}
    lengths = sorted({len(k) for k in keys})
    out: dict[bytes, tuple[bytes, ...]] = {}
    for needle in keys:
        inner = {needle[i:i + size] for size in lengths if size < len(needle)
                 for i in range(len(needle) - size + 1)} & keys
        if inner:
            out[needle] = tuple(sorted(inner, key=lambda k: (len(k), k)))
    return out


class TextScan:
    """The text, normalised once and encoded to UTF-8, with cached pattern searches."""

    def __init__(self, text: str, contains: Optional[Mapping[bytes, tuple[bytes, ...]]] = None
                 ) -> None:
        self.data, self._vocab = normalize_scan(text.encode("utf-8", errors="replace"))
        self._contains = contains or {}  # see containment()
        self._text: Optional[str] = None
        self._lower: Optional[bytes] = None
        self._hits: dict[tuple[str, str, bool, int], list[str]] = {}
        self._first: dict[tuple[bytes, bool], int] = {}  # needle -> first offset (-1: absent)
        self._cjk: Optional[bool] = None

    @property
    def text(self) -> str:
        """The normalised text (decoded on first use)."""
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="replace")
        return self._text

    @property
    def lower(self) -> bytes:
        """The data with ASCII letters lower-cased (same offsets), for case-blind needles."""
        if self._lower is None:
            self._lower = self.data.lower()
        return self._lower

    def hits(self, pattern: Pattern) -> list[str]:
        key = (pattern.kind, pattern.pattern, pattern.icase, pattern.budget)
        if key not in self._hits:
            self._hits[key] = self._search(pattern)
        return self._hits[key]

    def _search(self, pattern: Pattern) -> list[str]:
        """Up to MAX_HITS matching lines (one per line), in text order."""
        found: dict[int, str] = {}  # line start -> evidence line
        # One scan budget for all of a regex's anchors: on a pathological line where they all
        # recur, the regex examines SCAN_BUDGET bytes in all, not that much per anchor.
        budget = [pattern.budget or SCAN_BUDGET]
        for needle in pattern.needles:
            for start, end in self._spans(pattern, needle, budget):
                found.setdefault(self._line_start(start), self._evidence(start, end))
                if len(found) >= MAX_HITS:
                    break
        return [found[k] for k in sorted(found)][:MAX_HITS]

    def matches(self, anchor: str, regex: re.Pattern[bytes], *, limit: int = 1,
                icase: bool = False) -> list[re.Match[bytes]]:
        """Up to `limit` matches of a bounded-width regex holding the literal `anchor`."""
        pattern = Pattern("regex", regex.pattern.decode(), ((anchor.lower() if icase else
                                                              anchor).encode(),), regex, icase)
        out: list[re.Match[bytes]] = []
        for _start, _end, m in self._regex_spans(pattern, pattern.needles[0]):
            out.append(m)
            if len(out) >= limit:
                break
        return out

    def _spans(self, pattern: Pattern, needle: bytes, budget: Optional[list[int]] = None
               ) -> Iterator[tuple[int, int]]:
        """(start, end) of each match, at most one per line, in text order."""
        if pattern.regex is not None:
            for start, end, _m in self._regex_spans(pattern, needle, budget):
                yield start, end
            return
        hay = self.lower if pattern.icase else self.data
        pos = self._find_first(needle, pattern.icase)
        while pos != -1:
            yield pos, pos + len(needle)
            pos = self._next_line(pos, hay, needle)

    def _regex_spans(self, pattern: Pattern, needle: bytes, budget: Optional[list[int]] = None
                     ) -> Iterator[tuple[int, int, re.Match[bytes]]]:
        """Matches in the windows around `needle`, while `budget[0]` bytes of windows are left
        (a fresh SCAN_BUDGET, or the pattern's own, when no shared budget is given)."""
        assert pattern.regex is not None
        hay = self.lower if pattern.icase else self.data
        left = budget if budget is not None else [pattern.budget or SCAN_BUDGET]
        pos = self._find_first(needle, pattern.icase)
        while pos != -1 and left[0] > 0:
            lo, hi = self._window(pos, len(needle))
            left[0] -= hi - lo
            m = pattern.regex.search(self.data, lo, hi)
            if m is not None:
                yield m.start(), m.end(), m
                pos = self._next_line(m.end(), hay, needle)
            else:  # windows overlap by MAX_WIDTH: a match astride two is still seen
                pos = hay.find(needle, max(pos + 1, hi - MAX_WIDTH))

    def _find_first(self, needle: bytes, icase: bool) -> int:
        """The first offset of `needle`, searched once per text however many patterns use it."""
        key = (needle, icase)
        if key not in self._first:
            if _CJK_LEAD.search(needle) is not None and not self._has_cjk():
                self._first[key] = -1
            elif any(self._find_first(inner, True) == -1
                     for inner in self._contains.get(needle.lower(), ())):
                self._first[key] = -1  # a shorter needle it holds is absent (containment())
            elif not self.vocabulary.may_hold(needle.lower()):
                self._first[key] = -1  # its words are not the text's (vocabulary.py)
            else:
                self._first[key] = (self.lower if icase else self.data).find(needle)
        return self._first[key]

    @property
    def vocabulary(self) -> Vocabulary:
        """The text's distinct words (built on first use, unless normalising built them)."""
        if self._vocab is None:
            self._vocab = Vocabulary(self.lower)
        return self._vocab

    def _has_cjk(self) -> bool:
        if self._cjk is None:
            self._cjk = _CJK_LEAD.search(self.data) is not None
        return self._cjk

    def _window(self, pos: int, length: int) -> tuple[int, int]:
        data = self.data
        lo = data.rfind(b"\n", max(0, pos - WINDOW), pos) + 1 or max(0, pos - WINDOW)
        hi = data.find(b"\n", pos + length, pos + length + WINDOW)
        return lo, (min(len(data), pos + length + WINDOW) if hi == -1 else hi)

    def _line_start(self, pos: int) -> int:
        """Where the line holding `pos` starts (or a bounded distance back, for a huge line)."""
        floor = max(0, pos - WINDOW)
        start = self.data.rfind(b"\n", floor, pos)
        return start + 1 if start != -1 else floor

    def _next_line(self, pos: int, hay: bytes, needle: bytes) -> int:
        end = self.data.find(b"\n", pos)
        return -1 if end == -1 else hay.find(needle, end)

    def _evidence(self, start: int, end: int) -> str:
        """The line around data[start:end], decoded and cut to MAX_LINE characters."""
        data = self.data
        lo = data.rfind(b"\n", max(0, start - 4 * MAX_LINE), start) + 1
        cut_left = lo == 0 and start - 4 * MAX_LINE > 0
        if lo == 0:
            lo = max(0, start - 4 * MAX_LINE)
        hi = data.find(b"\n", end, end + 4 * MAX_LINE)
        cut_right = hi == -1 and end + 4 * MAX_LINE < len(data)
        if hi == -1:
            hi = min(len(data), end + 4 * MAX_LINE)
        raw = data[lo:hi]
        line = raw.decode("utf-8", errors="ignore")
        if len(line) <= MAX_LINE and not (cut_left or cut_right):
            return line.strip()
        offset = len(raw[:start - lo].decode("utf-8", errors="ignore"))
        begin = max(0, min(offset - 40, len(line) - MAX_LINE))
        piece = line[begin:begin + MAX_LINE].strip()
        more_left = begin > 0 or cut_left
        more_right = begin + MAX_LINE < len(line) or cut_right
        return ("…" if more_left else "") + piece + ("…" if more_right else "")
