"""The block's sub-layers: FC (Linear+BN+ReLU), GMAN multi-head attention, the Mamba branch.

Imports torch at the top: reach it through `mamba_doctor.block`. Runs on Python 3.8.
"""

from __future__ import annotations

import math
from typing import Any, Callable, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import trace
from .mamba_ref import MambaRef, mamba_forward


def _name(m: nn.Module, default: str) -> str:
    return getattr(m, "_trace_name", default) or default


class FC(nn.Module):
    """GMAN's FC: Linear(c_in→c_out) → BatchNorm (only with an activation, TF semantics) → ReLU.

    (…, c_in) -> (…, c_out). BN pools statistics over every axis but the last (B·T·N rows) with
    eps 1e-3 as in the TF code. Weights are Glorot-uniform, biases zero (TF's conv2d init).
    """

    def __init__(self, c_in: int, c_out: int, *, act: bool, use_bn: bool, bn_momentum: float,
                 bias: bool = True, **fk: Any) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, c_out, bias=bias, **fk)
        nn.init.xavier_uniform_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)
        self.bn = (nn.BatchNorm1d(c_out, eps=1e-3, momentum=bn_momentum, **fk)
                   if act and use_bn else None)
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        y = self.linear(x)
        if self.bn is not None:
            y = self.bn(y.reshape(-1, y.shape[-1])).reshape(y.shape)
        if self.act:
            y = F.relu(y)
        parts = "Linear" + (", BN" if self.bn is not None else "") + (", ReLU" if self.act else "")
        trace.record(_name(self, "fc"), [x], [y], _param_shapes(self),
                     "%s %d→%d applied at every (b,t,n)" % (parts, x.shape[-1], y.shape[-1]))
        return y


def fc_stack(d: int, **kw: Any) -> nn.Sequential:
    """TF's output FC [D→D ReLU (BN), D→D linear]."""
    return nn.Sequential(FC(d, d, act=True, **kw), FC(d, d, act=False, **kw))


class GMANAttention(nn.Module):
    """GMAN multi-head attention over nodes (spatial) or over time (temporal), on (B,T,N,D).

    Q, K, V = FC(2D→D, ReLU) of X‖STE; heads by reshaping D into (K, d), never split(K); scores
    QKᵀ/√d; softmax over the attended axis (masked j>i when `causal`); merge heads; FC stack.
    """

    def __init__(self, K: int, d: int, *, axis: str, causal: bool, **kw: Any) -> None:
        super().__init__()
        D = K * d
        self.K, self.d, self.axis, self.causal = K, d, axis, causal
        self.fc_q = FC(2 * D, D, act=True, **kw)
        self.fc_k = FC(2 * D, D, act=True, **kw)
        self.fc_v = FC(2 * D, D, act=True, **kw)
        self.fc_out = fc_stack(D, **kw)

    def extra_repr(self) -> str:
        return "heads=%d, head_dim=%d, over=%s, causal=%s" % (self.K, self.d, self.axis,
                                                             self.causal)

    def forward(self, X: Tensor, STE: Tensor) -> Tensor:
        name = _name(self, self.axis)
        B, T, N, D = X.shape
        XS = torch.cat([X, STE], dim=-1)
        trace.record(name + ".concat", [X, STE], [XS], {}, "join features and embedding: 2D")
        q, k, v = self.fc_q(XS), self.fc_k(XS), self.fc_v(XS)
        if self.axis == "nodes":  # (B,T,N,K,d) -> (B,T,K,N,d): attend over N
            split = lambda t: t.reshape(B, T, N, self.K, self.d).transpose(2, 3)  # noqa: E731
            what = "each (b,t): nodes attend to nodes"
        else:  # (B,N,K,T,d): attend over T, per node
            split = lambda t: (t.permute(0, 2, 1, 3).reshape(B, N, T, self.K, self.d)  # noqa: E731
                               .transpose(2, 3))
            what = "each (b,n): steps attend to steps"
        qh, kh, vh = split(q), split(k), split(v)
        trace.record(name + ".split_heads", [q, k, v], [qh, kh, vh], {},
                     "reshape D into K heads of width d, head axis before the attended axis")
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(self.d)
        trace.record(name + ".scores", [qh, kh], [scores], {}, "QKᵀ/√d: " + what)
        if self.causal:
            L = scores.shape[-1]
            future = torch.ones(L, L, dtype=torch.bool, device=scores.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        trace.record(name + ".softmax", [scores], [attn], {},
                     ("mask j>i (causal), then " if self.causal else "") + "softmax over keys")
        heads = attn @ vh
        trace.record(name + ".attend", [attn, vh], [heads], {}, "weighted sum of the values")
        if self.axis == "nodes":
            o = heads.transpose(2, 3).reshape(B, T, N, D)
        else:
            o = heads.transpose(2, 3).reshape(B, N, T, D).permute(0, 2, 1, 3)
        trace.record(name + ".merge_heads", [heads], [o], {},
                     "concatenate heads back to (B,T,N,D)")
        return self.fc_out(o)


class MambaTemporal(nn.Module):
    """Temporal branch with Mamba: U = FC_in(X‖STE) (or X+STE), Mamba per node over time, FC stack.

    (B,T,N,D) -> permute (B,N,T,D) -> (B·N,T,D): row b·N+n is node n of sample b, time the only
    sequence axis -> Mamba -> back to (B,T,N,D). `mamba` is a MambaRef or a mamba_ssm.Mamba (same
    parameters); `mamba_rev` (bidirectional only) runs on the time-reversed sequence.
    """

    def __init__(self, D: int, *, make_mamba: Callable[[], nn.Module], bidirectional: bool,
                 temporal_input: str, use_bn: bool, bn_momentum: float, **fk: Any) -> None:
        super().__init__()
        kw = dict(use_bn=use_bn, bn_momentum=bn_momentum, **fk)
        self.temporal_input = temporal_input
        self.fc_in = FC(2 * D, D, act=True, **kw) if temporal_input == "concat_fc" else None
        self.mamba = make_mamba()
        self.mamba_rev = make_mamba() if bidirectional else None
        self.fc_out = fc_stack(D, **kw)
        self.run_mamba: Callable[[nn.Module, Tensor, str], Tensor] = _run_ref
        self.paths: List[str] = []

    def forward(self, X: Tensor, STE: Tensor) -> Tensor:
        name = _name(self, "temporal")
        B, T, N, D = X.shape
        if self.fc_in is not None:
            XS = torch.cat([X, STE], dim=-1)
            trace.record(name + ".concat", [X, STE], [XS], {}, "join features and embedding: 2D")
            U = self.fc_in(XS)
        else:
            U = X + STE
            trace.record(name + ".add_ste", [X, STE], [U], {}, "U = X + STE (no parameters)")
        S = U.permute(0, 2, 1, 3).reshape(B * N, T, D)
        trace.record(name + ".to_sequences", [U], [S], {},
                     "permute to (B,N,T,D), flatten B·N: one time series per node")
        self.paths = []
        Y = self.run_mamba(self.mamba, S, name + ".mamba")
        if self.mamba_rev is not None:
            Yr = self.run_mamba(self.mamba_rev, S.flip(1), name + ".mamba_rev").flip(1)
            trace.record(name + ".add_reverse", [Y, Yr], [Y], {},
                         "bidirectional: add the time-reversed Mamba's output")
            Y = Y + Yr
        H = Y.reshape(B, N, T, D).permute(0, 2, 1, 3)
        trace.record(name + ".from_sequences", [Y], [H], {}, "un-flatten and permute back")
        return self.fc_out(H)


def _run_ref(module: nn.Module, S: Tensor, name: str) -> Tensor:
    scan = getattr(module, "scan", "chunked")
    return mamba_forward(module, S, scan=scan, chunk_size=getattr(module, "chunk_size", None),
                         prefix=name)


class GatedFusion(nn.Module):
    """z = σ(H_S·W_xs + H_T·W_xt + b_z); H = z⊙H_S + (1−z)⊙H_T; then the FC stack. (B,T,N,D)."""

    def __init__(self, D: int, **kw: Any) -> None:
        super().__init__()
        self.fc_xs = FC(D, D, act=False, bias=False, **kw)
        self.fc_xt = FC(D, D, act=False, bias=True, **kw)
        self.fc_h = fc_stack(D, **kw)

    def forward(self, HS: Tensor, HT: Tensor) -> Tensor:
        name = _name(self, "fusion")
        XS, XT = self.fc_xs(HS), self.fc_xt(HT)
        z = torch.sigmoid(XS + XT)
        trace.record(name + ".gate", [XS, XT], [z], {}, "z = σ(XS + XT): per feature, how much "
                     "spatial vs temporal")
        H = z * HS + (1 - z) * HT
        trace.record(name + ".mix", [z, HS, HT], [H], {}, "H = z⊙H_S + (1−z)⊙H_T")
        return self.fc_h(H)


def _param_shapes(m: nn.Module) -> dict:
    return dict(m.named_parameters())


__all__ = ["FC", "GMANAttention", "GatedFusion", "MambaRef", "MambaTemporal", "fc_stack"]
