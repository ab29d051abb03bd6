"""MambaRef: pure-PyTorch Mamba-1 with mamba_ssm.Mamba's parameters, forward and decoding API.

Imports torch at the top: reach it through `mamba_doctor.block`, which loads it lazily. Runs on
Python 3.8 (it is copied into the smoke child of any target interpreter).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import trace
from .scan import selective_scan_chunked, selective_scan_sequential


class MambaRef(nn.Module):
    """Pure-PyTorch Mamba-1 mixer, a drop-in for `mamba_ssm.Mamba` on any device.

    Parameters (names, shapes and initialisation exactly as mamba_ssm.Mamba, so one state_dict
    loads into either with strict=True; Di = expand·d_model, R = dt_rank):
      d_model: width D of the input and output features, (batch, seqlen, D) -> same.
      d_state: state size Ns per channel (the SSM memory); A_log is (Di, Ns).
      d_conv: width W of the depthwise causal convolution; conv1d.weight is (Di, 1, W).
      expand: inner width factor, Di = expand·d_model; in_proj is D -> 2Di (x and gate z).
      dt_rank: rank R of Δ's low-rank projection, "auto" = ceil(D/16); dt_proj is R -> Di.
      dt_min, dt_max: range of the initial step size Δ0, sampled log-uniformly per channel.
      dt_init: "random" (dt_proj.weight ~ U(±R^-½·dt_scale)) or "constant" (that value).
      dt_scale: scales the dt_proj.weight init.
      dt_init_floor: lower clamp of the sampled Δ0; dt_proj.bias = softplus⁻¹(Δ0).
      conv_bias: whether conv1d has a bias.
      bias: whether in_proj and out_proj have biases.
      use_fast_path, layer_idx: accepted for signature compatibility; unused here.
      device, dtype: factory kwargs; A_log and D stay float32 whatever dtype is, as upstream.
      scan: "chunked" (default) or "sequential" selective scan; both compute the same thing.
      chunk_size: longest chunk of the chunked scan (default 8, 4 for large batches; shrunk
        when Δ is large).
    The random init consumes the RNG in the same order as mamba_ssm.Mamba.__init__, so the same
    seed on the same device gives the same weights.
    """

    def __init__(
        self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
        dt_rank: Union[int, str] = "auto", dt_min: float = 0.001, dt_max: float = 0.1,
        dt_init: str = "random", dt_scale: float = 1.0, dt_init_floor: float = 1e-4,
        conv_bias: bool = True, bias: bool = False, use_fast_path: bool = True,
        layer_idx: Optional[int] = None, device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None, scan: str = "chunked",
        chunk_size: Optional[int] = None,
    ) -> None:
        super().__init__()
        if scan not in ("chunked", "sequential"):
            raise ValueError("scan must be 'chunked' or 'sequential', not %r" % (scan,))
        if dt_init not in ("random", "constant"):
            raise ValueError("dt_init must be 'random' or 'constant', not %r" % (dt_init,))
        fk: dict = {"device": device, "dtype": dtype}
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.use_fast_path, self.layer_idx = use_fast_path, layer_idx
        self.scan, self.chunk_size = scan, chunk_size
        self.in_proj = nn.Linear(d_model, self.d_inner * 2, bias=bias, **fk)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, kernel_size=d_conv,
                                groups=self.d_inner, padding=d_conv - 1, bias=conv_bias, **fk)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **fk)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **fk)
        std = self.dt_rank ** -0.5 * dt_scale
        with torch.no_grad():
            if dt_init == "constant":
                self.dt_proj.weight.fill_(std)
            else:
                self.dt_proj.weight.uniform_(-std, std)
            # Δ0 log-uniform in [dt_min, dt_max]; the bias is its inverse softplus.
            dt = torch.exp(torch.rand(self.d_inner, **fk) * (math.log(dt_max) - math.log(dt_min))
                           + math.log(dt_min)).clamp(min=dt_init_floor)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.dt_proj.bias._no_reinit = True  # type: ignore[attr-defined]
        # S4D-real init: A = -(1, 2, ..., Ns) for every channel, stored as log, kept in fp32.
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device)
        self.A_log = nn.Parameter(torch.log(A).repeat(self.d_inner, 1).contiguous())
        self.A_log._no_weight_decay = True  # type: ignore[attr-defined]
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))
        self.D._no_weight_decay = True  # type: ignore[attr-defined]
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **fk)

    def extra_repr(self) -> str:
        return "d_model=%d, d_state=%d, d_conv=%d, expand=%d, dt_rank=%d, scan=%s" % (
            self.d_model, self.d_state, self.d_conv, self.expand, self.dt_rank, self.scan)

    def forward(self, hidden_states: Tensor, inference_params: Any = None) -> Tensor:
        """(batch, seqlen, d_model) -> (batch, seqlen, d_model); causal along seqlen.

        With `inference_params` (mamba_ssm.utils.generation.InferenceParams or anything with
        `key_value_memory_dict` and `seqlen_offset`), as mamba_ssm.Mamba: at seqlen_offset 0 the
        whole prompt runs and leaves this layer's (conv_state, ssm_state) in
        key_value_memory_dict[layer_idx]; later calls advance those states one token at a time
        (`step`; several tokens are stepped in turn).
        """
        if inference_params is None:
            return mamba_forward(self, hidden_states, scan=self.scan, chunk_size=self.chunk_size)
        conv_state, ssm_state = self._get_states_from_cache(inference_params,
                                                            hidden_states.shape[0])
        if inference_params.seqlen_offset > 0:
            outs = [self.step(hidden_states[:, t:t + 1], conv_state, ssm_state)[0]
                    for t in range(hidden_states.shape[1])]
            return torch.cat(outs, dim=1)
        return mamba_forward(self, hidden_states, scan=self.scan, chunk_size=self.chunk_size,
                             states=(conv_state, ssm_state))

    def step(self, hidden_states: Tensor, conv_state: Tensor,
             ssm_state: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Advance the recurrence by one token: (batch, 1, d_model) -> (out (batch, 1, d_model),
        conv_state, ssm_state), both states updated in place, as mamba_ssm.Mamba.step.

        conv_state (batch, Di, d_conv) holds the last d_conv conv inputs, ssm_state (batch, Di,
        d_state) the SSM state h. The arithmetic runs in fp64 for fp64 inputs, else in fp32
        (upstream's selective_state_update kernel also works in fp32); states keep their dtype.
        """
        if hidden_states.dim() != 3 or hidden_states.shape[1] != 1:
            raise ValueError("MambaRef.step decodes one token at a time: hidden_states must be "
                             "(batch, 1, d_model), got %s" % (tuple(hidden_states.shape),))
        dtype = hidden_states.dtype
        cdt = torch.float64 if dtype == torch.float64 else torch.float32
        xz = self.in_proj(hidden_states.squeeze(1))  # (b, 2Di)
        x, z = xz.chunk(2, dim=-1)
        conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
        conv_state[:, :, -1] = x
        x = (conv_state * self.conv1d.weight[:, 0, :].to(conv_state.dtype)).sum(-1)
        if self.conv1d.bias is not None:
            x = x + self.conv1d.bias.to(x.dtype)
        x = F.silu(x).to(dtype)
        dt, B, C = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(F.linear(dt, self.dt_proj.weight).to(cdt) + self.dt_proj.bias.to(cdt))
        A = -torch.exp(self.A_log.to(cdt))  # (Di, Ns)
        xc = x.to(cdt)
        h = ssm_state.to(cdt) * torch.exp(dt[..., None] * A) \
            + (dt * xc)[..., None] * B.to(cdt)[:, None, :]
        ssm_state.copy_(h)
        y = (h * C.to(cdt)[:, None, :]).sum(-1) + self.D.to(cdt) * xc
        y = (y * F.silu(z.to(cdt))).to(dtype)
        return self.out_proj(y).unsqueeze(1), conv_state, ssm_state

    def allocate_inference_cache(self, batch_size: int, max_seqlen: int,
                                 dtype: Optional[torch.dtype] = None,
                                 **kwargs: Any) -> Tuple[Tensor, Tensor]:
        """Zeroed (conv_state (batch, Di, d_conv), ssm_state (batch, Di, d_state)), as
        mamba_ssm.Mamba: in `dtype`, else conv1d's and dt_proj's weight dtypes. `max_seqlen` is
        accepted for the interface; a recurrent state does not grow with it."""
        device = self.out_proj.weight.device
        conv = torch.zeros(batch_size, self.d_inner, self.d_conv, device=device,
                           dtype=dtype or self.conv1d.weight.dtype)
        ssm = torch.zeros(batch_size, self.d_inner, self.d_state, device=device,
                          dtype=dtype or self.dt_proj.weight.dtype)
        return conv, ssm

    def _get_states_from_cache(self, inference_params: Any, batch_size: int,
                               initialize_states: bool = False) -> Tuple[Tensor, Tensor]:
        if self.layer_idx is None:
            raise ValueError("MambaRef needs layer_idx to use inference_params (its states are "
                             "kept in inference_params.key_value_memory_dict[layer_idx])")
        cache = inference_params.key_value_memory_dict
        if self.layer_idx not in cache:
            cache[self.layer_idx] = self.allocate_inference_cache(batch_size, 0)
        conv_state, ssm_state = cache[self.layer_idx]
        if initialize_states:
            conv_state.zero_()
            ssm_state.zero_()
        return conv_state, ssm_state


def mamba_forward(
    m: Any, x: Tensor, *, scan: str = "chunked", chunk_size: Optional[int] = None,
    prefix: str = "mamba", states: Optional[Tuple[Tensor, Tensor]] = None,
) -> Tensor:
    """Mamba-1's forward for any module with mamba_ssm.Mamba's parameters (MambaRef or Mamba).

    Follows mamba_ssm's slow path op by op (the matmuls in the input dtype, the scan in fp32 or
    fp64), and records each op when a trace is active. `states` = (conv_state, ssm_state) are
    overwritten with the states after the last step, as upstream's prefill does.
    """
    b, L, _ = x.shape
    Di, R, Ns = m.d_inner, m.dt_rank, m.d_state
    W_in = m.in_proj.weight
    # in_proj as W·xᵀ so that xz is channel-major (b, 2Di, L), the layout the scan wants.
    xz = (W_in @ x.reshape(b * L, -1).t()).reshape(2 * Di, b, L).permute(1, 0, 2)
    if m.in_proj.bias is not None:
        xz = xz + m.in_proj.bias.to(xz.dtype)[:, None]
    trace.record(prefix + ".in_proj", [x], [xz], {"in_proj.weight": W_in},
                 "project each step's D features to 2·Di: the SSM input x and the gate z")
    xs, z = xz.chunk(2, dim=1)
    trace.record(prefix + ".split_xz", [xz], [xs, z], {}, "split channels into x and gate z")
    if states is not None:  # the last d_conv conv inputs, zero-padded on the left if fewer
        states[0].copy_(F.pad(xs, (m.d_conv - L, 0)))
    xc = F.silu(causal_conv1d(xs, m.conv1d.weight, m.conv1d.bias))
    trace.record(prefix + ".conv1d+silu", [xs], [xc], _params(m.conv1d, "conv1d."),
                 "depthwise causal conv over time (step t sees t-W+1..t), then SiLU")
    rows = xc.transpose(1, 2).reshape(b * L, Di)
    x_dbl = m.x_proj(rows)
    dt_low, Bm, Cm = torch.split(x_dbl, [R, Ns, Ns], dim=-1)
    trace.record(prefix + ".x_proj", [rows], [dt_low, Bm, Cm], _params(m.x_proj, "x_proj."),
                 "per step: low-rank Δ input, input matrix B_t and output matrix C_t (selective)")
    dt = (m.dt_proj.weight @ dt_low.t()).reshape(Di, b, L).permute(1, 0, 2)
    trace.record(prefix + ".dt_proj", [dt_low], [dt], _params(m.dt_proj, "dt_proj."),
                 "lift Δ to Di channels (bias added inside the scan, then softplus)")
    Bc = Bm.reshape(b, L, Ns).transpose(1, 2)
    Cc = Cm.reshape(b, L, Ns).transpose(1, 2)
    A = -torch.exp(m.A_log.float() if x.dtype != torch.float64 else m.A_log.double())
    trace.record(prefix + ".A", [], [A], {"A_log": m.A_log},
                 "A = -exp(A_log): per channel and state, the decay rate (fp32 or fp64)")
    Dp = m.D.double() if x.dtype == torch.float64 else m.D.float()
    dbias = m.dt_proj.bias.double() if x.dtype == torch.float64 else m.dt_proj.bias.float()
    last = states is not None
    if scan == "chunked":
        res = selective_scan_chunked(xc, dt, A, Bc, Cc, Dp, z=z, delta_bias=dbias,
                                     delta_softplus=True, return_last_state=last,
                                     chunk_size=chunk_size)
    else:
        res = selective_scan_sequential(xc, dt, A, Bc, Cc, Dp, z=z, delta_bias=dbias,
                                        delta_softplus=True, return_last_state=last)
    if isinstance(res, tuple):  # return_last_state: also the state after the last step
        y, h = res
        if states is not None:
            states[1].copy_(h)
    else:
        y = res
    trace.record(prefix + ".selective_scan", [xc, dt, Bc, Cc, z], [y], {"D": m.D},
                 "Δ=softplus(Δ+b); h_t=exp(ΔA)h_{t-1}+ΔB_t x_t; y_t=<h_t,C_t>+D·x_t; y·=SiLU(z)")
    yt = y.transpose(1, 2)
    out = m.out_proj(yt)
    trace.record(prefix + ".out_proj", [yt], [out], _params(m.out_proj, "out_proj."),
                 "project Di channels back to D features")
    return out


def causal_conv1d(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """Depthwise causal convolution: (b, Di, L) with weight (Di, 1, W) -> (b, Di, L).

    out[t] = bias + Σ_k weight[k]·x[t−W+1+k], i.e. nn.Conv1d with padding W−1 truncated to the
    first L steps, as mamba_ssm's slow path computes it. Written as W shifted multiply-adds
    because torch's CPU depthwise conv1d is very slow in float64 (~80 ms for a (1, 8, 5) input).
    Weights follow x's dtype, as autocast would cast them for the convolution.
    """
    W, L = weight.shape[-1], x.shape[-1]
    w = weight[:, 0, :].to(x.dtype)
    xp = F.pad(x, (W - 1, 0))
    out = w[:, 0, None] * xp[..., :L]
    for k in range(1, W):
        out = out + w[:, k, None] * xp[..., k:k + L]
    return out if bias is None else out + bias.to(x.dtype)[:, None]


def _params(module: nn.Module, prefix: str) -> dict:
    return {prefix + k: v for k, v in module.named_parameters()}
