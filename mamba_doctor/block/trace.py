"""Explicit op recording for the block: every op's inputs and outputs (named where the maths
names them), parameter shapes, meaning, and where each input came from.

No torch import (anything with a `.shape` works). Runs on Python 3.8 with the standard library
only: the smoke test copies it into the target interpreter. Recording is off unless a `Recorder`
is active, and then costs one global lookup per op.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

_ACTIVE: Optional[Recorder] = None

# The names the maths gives an op's inputs and outputs, by the op's last dotted component
# (Mamba: Gu & Dao 2023, https://arxiv.org/abs/2312.00752, Algorithm 2; GMAN: Zheng et al. 2020,
# https://arxiv.org/abs/1911.08415, section 4). Ops not listed here stay unnamed.
NAMES: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "concat": (("X", "STE"), ("X‖STE",)),
    "add_ste": (("X", "STE"), ("U",)),
    "split_heads": (("Q", "K", "V"), ("Q", "K", "V")),
    "scores": (("Q", "K"), ("scores",)),
    "attend": (("attention", "V"), ("heads",)),
    "split_xz": (("xz",), ("x", "z")),
    "x_proj": (("x",), ("delta_low", "B", "C")),
    "dt_proj": (("delta_low",), ("delta",)),
    "A": ((), ("A",)),
    "selective_scan": (("x", "delta", "B", "C", "z"), ("y",)),
    "gate": (("XS", "XT"), ("z",)),
    "mix": (("z", "H_S", "H_T"), ("H",)),
    "residual": (("X", "H"), ("Y",)),
}


class Recorder:
    """Context manager collecting one dict per recorded op, in execution order.

    Each entry: {"op": dotted name, "input_shape": [[...], ...], "output_shape": [[...], ...],
    "input_names" / "output_names": [...] (where NAMES knows them), "input_from": [source, ...]
    (an earlier op's index, or a name in `sources`), "params": {name: [shape]}, "meaning": one
    line}. `sources` names the block's own inputs (X, STE) so that edges can start there.

    While active it holds a reference to every recorded tensor, so that an input can be matched
    to the op that produced it by identity (an id() of a freed tensor could be reused).
    """

    def __init__(self, sources: Optional[Mapping[str, Any]] = None) -> None:
        self.ops: List[Dict[str, Any]] = []
        self._outputs: List[List[Any]] = []
        self._sources: List[Tuple[str, Any]] = list((sources or {}).items())
        self._previous: Optional[Recorder] = None

    def __enter__(self) -> Recorder:
        global _ACTIVE
        self._previous, _ACTIVE = _ACTIVE, self
        return self

    def __exit__(self, *exc: object) -> None:
        global _ACTIVE
        _ACTIVE = self._previous
        self._outputs, self._sources = [], []

    def add(self, op: str, inputs: Sequence[Any], outputs: Sequence[Any],
            params: Mapping[str, Any], meaning: str) -> None:
        entry: Dict[str, Any] = {
            "op": op,
            "input_shape": [shape_of(t) for t in inputs],
            "output_shape": [shape_of(t) for t in outputs],
            "input_from": self._sources_of(op, inputs),
            "params": {k: shape_of(v) for k, v in params.items()},
            "meaning": meaning,
        }
        names = NAMES.get(op.rsplit(".", 1)[-1])
        if names is not None and len(names[0]) == len(inputs):
            entry["input_names"] = list(names[0])
        if names is not None and len(names[1]) == len(outputs):
            entry["output_names"] = list(names[1])
        self.ops.append(entry)
        self._outputs.append(list(outputs))

    def _sources_of(self, op: str, inputs: Sequence[Any]) -> List[Any]:
        """Where each input of `op` came from: the op that returned this very object, or the
        block input it is; else (a reshaped copy) the latest op of the same branch whose output
        has as many elements; else a block input of that shape not yet used by this op (STE
        arrives broadcast, a new object); else None."""
        found: List[Any] = []
        for t in inputs:
            found.append(self._identity(t))
        branch = op.split(".", 1)[0]
        for k, t in enumerate(inputs):
            if found[k] is None:
                found[k] = self._same_size(branch, _numel(shape_of(t)))
            if found[k] is None:
                found[k] = next((name for name, s in self._sources
                                 if shape_of(s) == shape_of(t) and name not in found), None)
        return found

    def _identity(self, t: Any) -> Any:
        for i in range(len(self._outputs) - 1, -1, -1):
            if any(o is t for o in self._outputs[i]):
                return i
        return next((name for name, s in self._sources if s is t), None)

    def _same_size(self, branch: str, size: int) -> Optional[int]:
        for i in range(len(self.ops) - 1, -1, -1):
            if self.ops[i]["op"].split(".", 1)[0] == branch and any(
                    _numel(s) == size for s in self.ops[i]["output_shape"]):
                return i
        return None


def active() -> bool:
    return _ACTIVE is not None


def record(
    op: str, inputs: Sequence[Any], outputs: Sequence[Any], params: Mapping[str, Any],
    meaning: str,
) -> None:
    """Append one op to the active recorder; do nothing when none is active."""
    rec = _ACTIVE
    if rec is not None:
        rec.add(op, inputs, outputs, params, meaning)


def shape_of(t: Any) -> List[int]:
    return [int(s) for s in t.shape]


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def format_shape(shape: Sequence[int]) -> str:
    return "(" + ",".join(str(s) for s in shape) + ")"


def format_shapes(shapes: Sequence[Sequence[int]],
                  names: Optional[Sequence[str]] = None) -> str:
    """[[2,12,5,64],[2,12,5,64]] -> '(2,12,5,64) ×2'; with names 'X (2,12,5,64), STE (...)';
    [] -> '–'."""
    texts = [format_shape(shape) for shape in shapes]
    if not texts:
        return "–"
    if names is not None and len(names) == len(texts):
        return ", ".join(f"{n} {t}" for n, t in zip(names, texts))
    if len(set(texts)) == 1 and len(texts) > 1:
        return f"{texts[0]} ×{len(texts)}"
    return ", ".join(texts)


def format_params(params: Mapping[str, Sequence[int]]) -> str:
    if not params:
        return "–"
    return ", ".join(f"{k} ({','.join(str(s) for s in v)})" for k, v in params.items())
