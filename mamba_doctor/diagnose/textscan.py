"""Fast line-level search of a large log: normalise once, find substrings and anchored regexes."""

from __future__ import annotations

import re

from mamba_doctor.knowledge.failures import Pattern

MAX_LINE = 240  # evidence lines are trimmed to this many characters
MAX_HITS = 3  # occurrences kept per pattern
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class TextScan:
    """The text, normalised once and encoded to UTF-8, with cached pattern searches."""

    def __init__(self, text: str) -> None:
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        if "\r" in text:  # progress bars and Windows line ends
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.text = text
        self.data = text.encode("utf-8", errors="replace")
        self._hits: dict[tuple[str, str], list[str]] = {}

    def hits(self, pattern: Pattern) -> list[str]:
        key = (pattern.kind, pattern.pattern)
        if key not in self._hits:
            self._hits[key] = self._search(pattern)
        return self._hits[key]

    def _search(self, pattern: Pattern) -> list[str]:
        """Up to MAX_HITS matching lines, in text order.

        A regex is only tried on the lines holding one of its anchors, so the cost is a few
        fast substring scans rather than a regex pass over megabytes of pip output.
        """
        data = self.data
        found: dict[int, str] = {}  # line start -> line, so each line counts once
        for needle in pattern.needles:
            pos = data.find(needle)
            while pos != -1 and len(found) < MAX_HITS:
                start, end = self._line_bounds(pos)
                if pattern.regex is None:
                    found.setdefault(start, self._line(start, end, pos))
                elif start not in found:
                    m = pattern.regex.search(data, start, end)
                    if m is not None:
                        found[start] = self._line(start, end, m.start())
                pos = data.find(needle, end)
        return [found[k] for k in sorted(found)][:MAX_HITS]

    def _line_bounds(self, pos: int) -> tuple[int, int]:
        start = self.data.rfind(b"\n", 0, pos) + 1
        end = self.data.find(b"\n", pos)
        return start, len(self.data) if end == -1 else end

    def _line(self, start: int, end: int, at: int) -> str:
        """The line around a match, decoded and cut to MAX_LINE characters."""
        raw = self.data[start:end]
        line = raw.decode("utf-8", errors="replace")
        if len(line) <= MAX_LINE:
            return line.strip()
        offset = len(raw[:at - start].decode("utf-8", errors="ignore"))
        begin = max(0, min(offset - 40, len(line) - MAX_LINE))
        piece = line[begin:begin + MAX_LINE].strip()
        return ("…" if begin > 0 else "") + piece + ("…" if begin + MAX_LINE < len(line) else "")
