"""STMambaBlock (GMAN's ST-attention block, Mamba temporal branch) and the Mamba backend choice.

Imports torch at the top: reach it through `mamba_doctor.block`. Runs on Python 3.8.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from . import trace
from .mamba_ref import MambaRef, mamba_forward
from .parts import GatedFusion, GMANAttention, MambaTemporal

_KERNEL: Optional[Tuple[Optional[type], Optional[str], bool]] = None


def load_mamba_ssm() -> Tuple[Optional[type], Optional[str], bool]:
    """Return (mamba_ssm.Mamba or None, why it is unusable or None, fast path available).

    Usable means the compiled selective-scan extension loaded, not merely that `import mamba_ssm`
    worked: unreleased mamba_ssm versions import without it and fail on first use. The fast path
    also needs causal_conv1d; without it Mamba silently takes the slow path.
    """
    global _KERNEL
    if _KERNEL is None:
        try:
            from mamba_ssm.modules import mamba_simple  # type: ignore[import-not-found]
            from mamba_ssm.ops import selective_scan_interface as ssi  # type: ignore[import-not-found]
        except Exception as exc:  # ImportError, "undefined symbol" (ImportError), OSError...
            _KERNEL = (None, "%s: %s" % (type(exc).__name__, exc), False)
        else:
            if getattr(ssi, "selective_scan_cuda", True) is None:
                _KERNEL = (None, "mamba_ssm imported but its compiled selective_scan_cuda "
                           "extension is missing", False)
            else:
                fast = getattr(mamba_simple, "causal_conv1d_fn", None) is not None
                _KERNEL = (mamba_simple.Mamba, None, fast)
    return _KERNEL


class STMambaBlock(nn.Module):
    """GMAN's spatio-temporal block with Mamba as the temporal mixer: (X, STE) -> Y, all (B,T,N,D).

    Y = X + FC_h(GatedFusion(SpatialAttention(X, STE), Temporal(X, STE))); both branches read the
    same X and STE. Parameters:
      K: attention heads; d: width of one head; D = K·d is the feature width of X, STE and Y.
      temporal: "mamba" (Mamba per node over time) or "attention" (GMAN temporal attention, A/B).
      causal: attention: mask j>i (step t sees steps ≤ t). Mamba is causal by construction;
        causal=False with temporal="mamba" turns on `bidirectional`.
      bidirectional: Mamba only: add a second Mamba (own weights) run on reversed time.
      mask: GMAN's name for `causal`; when given it overrides it.
      use_bn: BatchNorm after each FC that has a ReLU (TF semantics); False: plain Linear+ReLU.
      bn_momentum: PyTorch BN momentum (eps is TF's 1e-3); bn_decay: TF's decay, = 1 − momentum.
      d_state, d_conv, expand, dt_rank, dt_min, dt_max, dt_init, dt_scale, dt_init_floor,
        conv_bias: passed to the Mamba mixer (see MambaRef); mamba_bias is its `bias`.
      mamba_backend: "ref" = MambaRef (pure PyTorch, any device); "cuda" = mamba_ssm.Mamba, raises
        if it is unusable; "auto" = mamba_ssm.Mamba when torch sees a GPU and the kernel loads,
        else MambaRef. With "auto", a CPU input runs the same weights through the reference math.
      mamba_fast_path: mamba_ssm's use_fast_path (fused kernel; needs causal_conv1d).
      temporal_input: "concat_fc" (U = FC(2D→D, ReLU)(X‖STE)) or "add" (U = X + STE).
      dropout: on H before the residual (GMAN uses none).
      device, dtype: factory kwargs.
    The resolved choice is `self.backend` ("cuda" | "ref"), why in `self.backend_reason`, and the
    path the last forward took in `self.last_path` ("cuda-fast" | "cuda-slow" | "ref"); all three
    appear in repr().
    """

    def __init__(
        self, K: int = 8, d: int = 8, temporal: str = "mamba", causal: bool = True,
        bidirectional: bool = False, mask: Optional[bool] = None, use_bn: bool = True,
        bn_momentum: float = 0.1, bn_decay: Optional[float] = None, d_state: int = 16,
        d_conv: int = 4, expand: int = 2, dt_rank: Union[int, str] = "auto",
        dt_min: float = 0.001, dt_max: float = 0.1, dt_init: str = "random",
        dt_scale: float = 1.0, dt_init_floor: float = 1e-4, conv_bias: bool = True,
        mamba_bias: bool = False, mamba_backend: str = "auto", mamba_fast_path: bool = True,
        temporal_input: str = "concat_fc", dropout: float = 0.0,
        device: Optional[torch.device] = None, dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        if K < 1 or d < 1:
            raise ValueError("K and d must be >= 1 (got K=%r, d=%r)" % (K, d))
        for arg, value, allowed in (("temporal", temporal, ("mamba", "attention")),
                                    ("mamba_backend", mamba_backend, ("auto", "cuda", "ref")),
                                    ("temporal_input", temporal_input, ("concat_fc", "add"))):
            if value not in allowed:
                raise ValueError("%s must be one of %s, not %r" % (arg, allowed, value))
        if mask is not None:
            causal = mask
        if bn_decay is not None:
            bn_momentum = 1.0 - bn_decay
        if temporal == "mamba" and not causal:
            bidirectional = True
        D = K * d
        self.K, self.d, self.D, self.temporal_kind = K, d, D, temporal
        self.causal, self.bidirectional = causal, bidirectional and temporal == "mamba"
        self.mamba_backend = mamba_backend
        fk: Dict[str, Any] = {"device": device, "dtype": dtype}
        kw: Dict[str, Any] = dict(use_bn=use_bn, bn_momentum=bn_momentum, **fk)
        self.spatial = GMANAttention(K, d, axis="nodes", causal=False, **kw)
        self.backend, self.backend_reason, self.last_path = "ref", "", ""
        self.fast_path_available = False
        self.temporal: nn.Module
        if temporal == "attention":
            self.temporal = GMANAttention(K, d, axis="time", causal=causal, **kw)
            self.backend, self.backend_reason = "none", "temporal='attention' uses no Mamba"
        else:
            cls = self._pick_backend(mamba_backend)
            mk = dict(d_state=d_state, d_conv=d_conv, expand=expand, dt_rank=dt_rank,
                      dt_min=dt_min, dt_max=dt_max, dt_init=dt_init, dt_scale=dt_scale,
                      dt_init_floor=dt_init_floor, conv_bias=conv_bias, bias=mamba_bias,
                      use_fast_path=mamba_fast_path, **fk)
            mamba = MambaTemporal(D, make_mamba=lambda: cls(D, **mk),
                                  bidirectional=self.bidirectional,
                                  temporal_input=temporal_input, **kw)
            mamba.run_mamba = self._run_mamba
            self.temporal = mamba
        self.fusion = GatedFusion(D, **kw)
        self.dropout = nn.Dropout(dropout)
        for name, module in self.named_modules():
            module._trace_name = name  # type: ignore[assignment]

    def _pick_backend(self, requested: str) -> type:
        if requested == "ref":
            self.backend, self.backend_reason = "ref", "mamba_backend='ref'"
            return MambaRef
        cls, why, fast = load_mamba_ssm()
        if requested == "cuda":
            if cls is None:
                raise RuntimeError("mamba_backend='cuda' but mamba_ssm is unusable: %s" % why)
            self.backend, self.backend_reason = "cuda", "mamba_backend='cuda'"
        elif cls is None:
            self.backend, self.backend_reason = "ref", "mamba_ssm unusable: %s" % why
            return MambaRef
        elif not torch.cuda.is_available():
            self.backend, self.backend_reason = "ref", "torch sees no CUDA device"
            return MambaRef
        else:
            self.backend, self.backend_reason = "cuda", "mamba_ssm kernel loaded"
        self.fast_path_available = fast
        return cls

    def _run_mamba(self, module: nn.Module, S: Tensor, name: str) -> Tensor:
        if isinstance(module, MambaRef):
            self.last_path = "ref"
            return module(S) if not trace.active() else mamba_forward(
                module, S, scan=module.scan, chunk_size=module.chunk_size, prefix=name)
        if not S.is_cuda:
            if self.mamba_backend == "cuda":
                raise RuntimeError("mamba_backend='cuda' needs a CUDA input; got device %s"
                                   % S.device)
            self.last_path = "ref"  # auto on a CPU input: same weights, reference math
            return mamba_forward(module, S, prefix=name)
        fast = bool(getattr(module, "use_fast_path", False)) and self.fast_path_available
        self.last_path = "cuda-fast" if fast else "cuda-slow"
        out = module(S)
        trace.record(name, [S], [out], dict(module.named_parameters()),
                     "mamba_ssm.Mamba (%s CUDA kernel): the whole mixer in one call"
                     % self.last_path)
        return out

    def extra_repr(self) -> str:
        return "K=%d, d=%d, D=%d, temporal=%s, causal=%s, backend=%s (%s)%s" % (
            self.K, self.d, self.D, self.temporal_kind, self.causal, self.backend,
            self.backend_reason, ", last_path=%s" % self.last_path if self.last_path else "")

    def forward(self, X: Tensor, STE: Tensor) -> Tensor:
        """X, STE: (B, T, N, D) (STE may broadcast, e.g. (1, T, N, D)) -> Y: (B, T, N, D)."""
        if X.dim() != 4 or X.shape[-1] != self.D:
            raise ValueError("X must be (B, T, N, D=%d); got %s" % (self.D, tuple(X.shape)))
        STE = STE.expand(X.shape)
        HS = self.spatial(X, STE)
        HT = self.temporal(X, STE)
        H = self.dropout(self.fusion(HS, HT))
        Y = X + H
        trace.record("residual", [X, H], [Y], {}, "Y = X + H (every layer keeps width D)")
        return Y


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars (BN running statistics are buffers, not counted)."""
    return sum(p.numel() for p in module.parameters())


__all__ = ["STMambaBlock", "count_parameters", "load_mamba_ssm"]
