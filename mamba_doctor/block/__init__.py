"""The spatio-temporal Mamba block (STMambaBlock) and a pure-PyTorch Mamba (MambaRef), lazily.

`import mamba_doctor.block` does not import torch; the first access to one of the names below
does (PEP 562 module `__getattr__`). So the doctor's CLI, which never touches these names, starts
without torch, while a user writes simply::

    from mamba_doctor.block import STMambaBlock
    blk = STMambaBlock(K=8, d=8, temporal="mamba")       # D = K·d = 64
    Y = blk(X, STE)                                      # X, STE, Y: (B, T, N, 64)

Exports:
  STMambaBlock: GMAN's ST-attention block with a Mamba temporal branch (see its docstring).
  MambaRef: Mamba-1 mixer in pure PyTorch, parameter-compatible with mamba_ssm.Mamba, with its
    decoding API (forward(x, inference_params), step, allocate_inference_cache).
  selective_scan_chunked / selective_scan_sequential: the scan, fast and plain, with
    mamba_ssm's selective_scan_ref signature (fixed, variable and grouped B/C).
  mamba_forward: Mamba-1's forward for any module with mamba_ssm.Mamba's parameters.
  load_mamba_ssm: (mamba_ssm.Mamba or None, reason, fast path available).
  count_parameters, trace_block: parameter count; every op of one forward with its shapes.

The implementation modules use relative imports only and run on Python 3.8, because the smoke
test copies them (without the rest of the doctor) into the target interpreter.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List

_WHERE = {
    "MambaRef": "mamba_ref",
    "mamba_forward": "mamba_ref",
    "selective_scan_chunked": "scan",
    "selective_scan_sequential": "scan",
    "STMambaBlock": "st_block",
    "count_parameters": "st_block",
    "load_mamba_ssm": "st_block",
    "Recorder": "trace",
}

__all__ = [*sorted(_WHERE), "trace_block"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("." + module, __package__), name)
    globals()[name] = value  # later lookups (and pickle) find it directly
    return value


def trace_block(block: Any, X: Any, STE: Any) -> List[Dict[str, Any]]:
    """Run one forward of `block` without gradients and return every op it performed, in order.

    Each entry: op (dotted name), input_shape and output_shape (lists of shapes), input_names
    and output_names (where the maths names them), input_from (the index of the op, or "X" /
    "STE", each input came from), params ({name: shape}) and meaning (one line). The block's BN
    layers should be in eval mode if the running statistics must not move.
    """
    import torch

    from .trace import Recorder

    with Recorder(sources={"X": X, "STE": STE}) as rec, torch.no_grad():
        block(X, STE)
    return rec.ops
