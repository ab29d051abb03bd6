"""The distinct whitespace-separated words of a text: proof, without a pass over the text, that
a needle is not in it.

Most of the needles a log is searched for are not in it, and each absent needle costs a pass
over the whole text (about 3 ms a needle for a 50,000-line log). A log repeats itself (progress
bars, compile lines, tracebacks), so its distinct words are far fewer bytes than the text, and a
needle whose pieces are missing from them is missing from the text: the pieces between two
blanks of the needle are whole words of the text, its first piece ends a word, its last begins
one, and a needle without blanks lies inside one word.

Digits are folded to "0" in the words and in the needles alike (a byte-for-byte map keeps every
substring a substring): timestamps, steps, versions and sizes then stop making each line's words
new. When the words are still not much smaller than the text, they are not used: searching them
would cost what searching the text costs.

The test is one-sided: "maybe" still needs the real search.
"""

from __future__ import annotations

__all__ = ["SMALL_TEXT", "Vocabulary"]

_FOLD_DIGITS = bytes.maketrans(b"123456789", b"000000000")
SMALL_TEXT = 1 << 16  # bytes: below this a pass over the text costs less than building the words


class Vocabulary:
    """Built from a text lower-cased with `bytes.lower`; asked with needles lower-cased alike.

    `bytes.split()` cuts the text and the needle at the same six ASCII blanks, so the two
    always agree on where a word ends."""

    __slots__ = ("_joined", "_words", "useful")

    def __init__(self, lower: bytes) -> None:
        self._words = frozenset(lower.translate(_FOLD_DIGITS).split())
        # Words joined by a byte no word holds, with one before and after: a needle piece found
        # right after "\n" begins a word, right before "\n" ends one.
        self._joined = b"\n" + b"\n".join(self._words) + b"\n"
        # A small text keeps its words whatever their size, so that every small log (the test
        # fixtures) goes through them too.
        self.useful = len(lower) < SMALL_TEXT or 2 * len(self._joined) < len(lower)

    def __len__(self) -> int:
        return len(self._words)

    def may_hold(self, needle: bytes) -> bool:
        """False only when the text cannot contain `needle` (lower-cased)."""
        if not self.useful:
            return True
        needle = needle.translate(_FOLD_DIGITS)
        pieces = needle.split()
        if not pieces:
            return True
        lead, trail = needle[:1].isspace(), needle[-1:].isspace()
        if len(pieces) == 1:
            return self._piece(pieces[0], starts=lead, ends=trail)
        first, *middle, last = pieces
        return (self._piece(first, starts=lead, ends=True)
                and all(word in self._words for word in middle)
                and self._piece(last, starts=True, ends=trail))

    def _piece(self, piece: bytes, *, starts: bool, ends: bool) -> bool:
        """Whether some word holds `piece`: as the whole word, its start, its end, or anywhere."""
        if starts and ends:
            return piece in self._words
        return (b"\n" if starts else b"") + piece + (b"\n" if ends else b"") in self._joined
