"""Explicit op recording for the block: every op's input/output shapes, parameter shapes, meaning.

No torch import (anything with a `.shape` works). Runs on Python 3.8. Recording is off unless a
`Recorder` is active, and then costs one global lookup per op.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

_ACTIVE: Optional[Recorder] = None


class Recorder:
    """Context manager collecting one dict per recorded op, in execution order.

    Each entry: {"op": dotted name, "input_shape": [[...], ...], "output_shape": [[...], ...],
    "params": {name: [shape]}, "meaning": one line}.
    """

    def __init__(self) -> None:
        self.ops: List[Dict[str, Any]] = []
        self._previous: Optional[Recorder] = None

    def __enter__(self) -> Recorder:
        global _ACTIVE
        self._previous, _ACTIVE = _ACTIVE, self
        return self

    def __exit__(self, *exc: object) -> None:
        global _ACTIVE
        _ACTIVE = self._previous


def active() -> bool:
    return _ACTIVE is not None


def record(
    op: str, inputs: Sequence[Any], outputs: Sequence[Any], params: Mapping[str, Any],
    meaning: str,
) -> None:
    """Append one op to the active recorder; do nothing when none is active."""
    rec = _ACTIVE
    if rec is None:
        return
    rec.ops.append({
        "op": op,
        "input_shape": [shape_of(t) for t in inputs],
        "output_shape": [shape_of(t) for t in outputs],
        "params": {k: shape_of(v) for k, v in params.items()},
        "meaning": meaning,
    })


def shape_of(t: Any) -> List[int]:
    return [int(s) for s in t.shape]


def format_shapes(shapes: Sequence[Sequence[int]]) -> str:
    """[[2,12,5,64],[2,12,5,64]] -> '(2,12,5,64) ×2'; [] -> '–'."""
    texts = ["(" + ",".join(str(s) for s in shape) + ")" for shape in shapes]
    if not texts:
        return "–"
    if len(set(texts)) == 1 and len(texts) > 1:
        return "%s ×%d" % (texts[0], len(texts))
    return ", ".join(texts)


def format_params(params: Mapping[str, Sequence[int]]) -> str:
    if not params:
        return "–"
    return ", ".join("%s (%s)" % (k, ",".join(str(s) for s in v)) for k, v in params.items())
