"""NVIDIA GPU model names in a log, and the compute capability (sm) each one has.

A log that says "RTX 5090" or "Tesla P100" tells which GPU the failing kernels met, which
separates "no kernel image" on a Blackwell card from the same line on a Pascal card. Capabilities
are NVIDIA's (https://developer.nvidia.com/cuda-gpus). Only unambiguous model tokens are read:
a bare "3090" or "T4" in prose may be anything, so short tokens need a vendor word around them.
"""

from __future__ import annotations

import re
from typing import Callable, Tuple

from mamba_doctor.diagnose.textscan import TextScan

__all__ = ["read_gpus"]

_Reader = Tuple[str, "re.Pattern[bytes]", Callable[["re.Match[bytes]"], int]]


def _rx(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern, re.IGNORECASE)


_GEFORCE = {b"20": 75, b"30": 86, b"40": 89, b"50": 120}
_GTX = {b"9": 52, b"10": 61, b"16": 75}
_QUADRO = {b"gp100": 60, b"gv100": 70}
_QUADRO_SERIES = {b"p": 61, b"m": 52, b"t": 75, b"r": 75}
_JETSON = {b"nano": 53, b"tx2": 62, b"xavier": 72, b"orin": 87, b"thor": 110}
_RTX_PRO = {b"a": 86, b"ada": 89, b"blackwell": 120}
# Data-centre parts named by a token that is rarely anything else.
_DC = {b"p100": 60, b"p40": 61, b"v100": 70, b"a100": 80, b"a800": 80, b"h100": 90, b"h800": 90,
       b"h200": 90, b"gh200": 90, b"b100": 100, b"b200": 100, b"gb200": 100, b"b300": 103,
       b"gb300": 103, b"gb10": 121}
# Short tokens ("T4", "L4", "A10") only next to a vendor word: "Tesla T4", "NVIDIA A10G".
_SHORT = {b"t4": 75, b"l4": 89, b"l40": 89, b"l40s": 89, b"a10": 86, b"a10g": 86, b"a40": 86,
          b"a30": 80}

def _dc(token: bytes) -> int:
    """The sm of a data-centre token; a leading G (GH200, GB200, Quadro GP100) keeps the chip's."""
    token = token.lower()
    return _DC.get(token) or _DC[token[1:]]


_READERS: tuple[_Reader, ...] = (
    ("rtx", _rx(rb"\brtx ?(20|30|40|50)[5-9]0(?: ?ti| ?super)?\b"),
     lambda m: _GEFORCE[m.group(1)]),
    ("rtx", _rx(rb"\brtx (?:(a)[2456]000|[2456]000 (ada)|pro [2456]000 (blackwell))\b"),
     lambda m: _RTX_PRO[(m.group(1) or m.group(2) or m.group(3)).lower()]),
    ("gtx", _rx(rb"\bgtx ?(9|10|16)[5-8]0(?: ?ti)?\b"), lambda m: _GTX[m.group(1)]),
    ("titan", _rx(rb"\btitan (rtx|v|xp)\b"),
     lambda m: {b"rtx": 75, b"v": 70, b"xp": 61}[m.group(1).lower()]),
    ("quadro", _rx(rb"\bquadro (gp100|gv100|(?:([pmt])\d{3,4})|(r)tx ?\d{4})\b"),
     lambda m: _QUADRO.get(m.group(1).lower()) or _QUADRO_SERIES[(m.group(2) or m.group(3))
                                                                 .lower()]),
    ("jetson", _rx(rb"\bjetson (?:agx |orin )?(nano|tx2|xavier|orin|thor)\b"),
     lambda m: _JETSON[m.group(1).lower()]),
    ("dgx spark", _rx(rb"\bdgx spark\b"), lambda m: 121),
    *((token, _rx(rb"(?<![A-Za-z0-9.-])(?:tesla |nvidia )?(g?" + token.encode() + rb")"
                  rb"(?:[ -](?:sxm\d?|pcie|nvl)\w{0,8})?(?![\w.])"),
       lambda m: _dc(m.group(1)))
      for token in ("p100", "v100", "a100", "a800", "h100", "h800", "h200", "b100", "b200",
                    "b300")),
    ("p40", _rx(rb"(?<![A-Za-z0-9.-])(?:tesla )?(p40)(?![\w.])"), lambda m: _dc(m.group(1))),
    ("gb10", _rx(rb"(?<![A-Za-z0-9.-])(gb10)(?![\w.])"), lambda m: _dc(m.group(1))),
    ("nvidia ", _rx(rb"\bnvidia (?:geforce )?(t4|l4|l40s?|a10g?|a40|a30)\b"),
     lambda m: _SHORT[m.group(1).lower()]),
    ("tesla ", _rx(rb"\btesla (t4|a10g?|a40|a30)\b"), lambda m: _SHORT[m.group(1).lower()]),
)
_CAPABILITY = ("capability sm_", _rx(rb"\bcapability sm_(\d{2,3})\b"))


def read_gpus(scan: TextScan, limit: int = 4) -> tuple[tuple[str, int], ...]:
    """(name as written, sm) of each distinct GPU the log names, in reading order."""
    found: dict[int, tuple[int, str]] = {}  # sm -> (offset, name)
    anchor, rx = _CAPABILITY
    for m in scan.matches(anchor, rx, limit=limit, icase=True):
        found.setdefault(int(m.group(1)), (m.start(), m.group(0).decode("ascii", "replace")))
    for anchor, rx, sm_of in _READERS:
        for m in scan.matches(anchor, rx, limit=limit, icase=True):
            sm = sm_of(m)
            name = m.group(0).decode("ascii", "replace").strip()
            if sm not in found or m.start() < found[sm][0]:
                found[sm] = (m.start(), name)
    ordered = sorted(found.items(), key=lambda kv: kv[1][0])[:limit]
    return tuple((name, sm) for sm, (_pos, name) in ordered)
