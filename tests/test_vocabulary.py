"""The word index that proves needles absent (mamba_doctor/diagnose/vocabulary.py): it never
calls a present needle absent, it does rule absent ones out, and the engine gives the same
answers with it as without it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mamba_doctor.diagnose.engine import diagnose
from mamba_doctor.diagnose.normalize import LOCALE_MESSAGES, normalize, normalize_scan
from mamba_doctor.diagnose.vocabulary import Vocabulary
from mamba_doctor.knowledge.failures import load_knowledge

FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def test_pieces_must_be_whole_words_word_ends_and_word_starts() -> None:
    vocab = Vocabulary(b"importerror: undefined symbol: _zn3c10 in libc10.so\n")
    assert vocab.may_hold(b"undefined symbol: _z")  # "undefined" ends a word, "_z" starts one
    assert vocab.may_hold(b"defined symbol")  # the first piece may be a word's end ...
    assert not vocab.may_hold(b"undefine symbol")  # ... but must end where the word ends
    assert not vocab.may_hold(b"symbol: _zn3c10 out")  # a middle piece is a whole word
    assert not vocab.may_hold(b"in libc10.so.6")  # the last piece starts a word, no more
    assert vocab.may_hold(b"rror")  # a needle without blanks lies anywhere inside a word
    assert not vocab.may_hold(b"rrors")
    assert not vocab.may_hold(b" symbol ") and vocab.may_hold(b" symbol: ")  # blanks both sides
    assert vocab.may_hold(b"") and vocab.may_hold(b"   ")  # nothing to prove


def test_digits_are_folded_alike_in_text_and_needle() -> None:
    vocab = Vocabulary(b"step 1234 loss 0.5 cuda 12.4\n")
    assert vocab.may_hold(b"cuda 11.8")  # a needle's digits fold like the text's: "maybe"
    assert vocab.may_hold(b"step 5678 loss")
    assert not vocab.may_hold(b"step 99 loss")  # the number of digits still counts
    assert not vocab.may_hold(b"cuda 12.4.1")  # and the shape: one more ".0"
    assert len(vocab) == 6  # step, 0000, loss, 0.0, cuda, 00.0


def test_words_not_smaller_than_a_large_text_are_not_used() -> None:
    rng = random.Random(5)
    distinct = b"\n".join(b"%016x" % rng.getrandbits(64) for _ in range(10_000))
    assert not Vocabulary(distinct).useful
    assert Vocabulary(distinct).may_hold(b"anything at all")  # unused: always "maybe"
    assert Vocabulary(b"same line again\n" * 10_000).useful


@pytest.mark.parametrize("seed", range(40))
def test_never_calls_a_present_needle_absent(seed: int) -> None:
    """Random texts over a small alphabet (so words repeat and needles straddle them), and
    needles cut from the text, from its mutations and at random."""
    rng = random.Random(seed)
    alphabet = b"ab1 \t\n:_.xY"
    text = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
    lower = text.lower()
    vocab = Vocabulary(lower)
    ruled_out = 0
    for _ in range(300):
        if text and rng.random() < 0.5:
            i = rng.randrange(len(text))
            needle = lower[i:i + rng.randint(1, 12)]
            if rng.random() < 0.4:  # one byte changed: present or not, the test must hold
                j = rng.randrange(len(needle))
                needle = needle[:j] + bytes([rng.choice(alphabet)]).lower() + needle[j + 1:]
        else:
            needle = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8))).lower()
        if needle in lower:
            assert vocab.may_hold(needle), (text, needle)
        elif not vocab.may_hold(needle):
            ruled_out += 1
    assert ruled_out > 0 or len(set(text.split())) < 2


def test_normalising_a_large_text_still_translates_every_locale_message() -> None:
    padding = "".join(f"[{i}] Requirement already satisfied: numpy\n" for i in range(3000))
    for local, english in LOCALE_MESSAGES.items():
        text = padding + f"fatal: cuda_runtime.h: {local} here\n"
        assert len(text.encode()) > 1 << 16
        assert f"cuda_runtime.h: {english} here" in normalize(text), local
    data, vocab = normalize_scan(padding.encode())
    assert vocab is not None and vocab.useful and data == padding.encode()  # built once, kept
    local = next(iter(LOCALE_MESSAGES))
    assert normalize_scan((padding + local + "\n").encode())[1] is None  # replaced: built anew


def _padded(text: str, rng: random.Random) -> str:
    """The log after 2,000 lines of noise whose words repeat (so the index is used)."""
    noise = [f"  Downloading pkg{rng.randint(0, 30)}-1.{rng.randint(0, 9)}.whl"
             f" ({rng.randint(1, 999)} kB)" for _ in range(2000)]
    return "\n".join(noise) + "\n" + text


def test_the_engine_answers_alike_with_and_without_the_index(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Every fixture log, as posted and after 2,000 lines of noise (above the size where
    normalising builds the index), gives the same diagnoses when the index is never asked."""
    load_knowledge()
    rng = random.Random(11)
    texts = []
    for path in sorted(FIXTURES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [text, _padded(text, rng)]
    assert len(texts) > 150
    used = [[d.id for d in diagnose(t, limit=0)] for t in texts]
    monkeypatch.setattr(Vocabulary, "may_hold", lambda self, needle: True)
    assert [[d.id for d in diagnose(t, limit=0)] for t in texts] == used
    assert sum(1 for ids in used if ids) > 140  # the fixtures are diagnosed: not a vacuous check
