"""MambaRef: pure-PyTorch Mamba-1 with mamba_ssm.Mamba's parameters, and its selective scans.

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


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # Like mamba_ssm's kernels and selective_scan_ref: the recurrence runs in fp32 for fp32/fp16/
    # bf16 inputs, and in fp64 when the input is fp64 (the oracle).
    return torch.float64 if dtype == torch.float64 else torch.float32


def _prepare(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, delta_bias: Optional[Tensor],
    delta_softplus: bool,
) -> Tuple[Tensor, Tensor, torch.dtype]:
    """Return (log-decay ΔA, input term Δ·B·u), both (b, d, l, n), in the compute dtype."""
    cdt = _compute_dtype(u.dtype)
    delta = delta.to(cdt)
    if delta_bias is not None:
        delta = delta + delta_bias.to(cdt)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    # ΔA (ZOH for A) and Δ·B·u (Euler for B), as in mamba_ssm: (b,d,l,1)*(1,d,1,n) etc.
    dA_log = delta.unsqueeze(-1) * A.to(cdt)[:, None, :]
    dBu = (delta * u.to(cdt)).unsqueeze(-1) * B.to(cdt).transpose(1, 2).unsqueeze(1)
    return dA_log, dBu, cdt


def _finish(
    y: Tensor, u: Tensor, D: Optional[Tensor], z: Optional[Tensor], out_dtype: torch.dtype
) -> Tensor:
    """y + D·u, then times SiLU(z). `y` must be the caller's own fresh tensor: when no gradient
    is recorded it is updated in place, sparing two full-size allocations (page faults)."""
    cdt = y.dtype
    inplace = not (torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (y, u, D, z)))
    if D is not None:
        uc, Dc = u.to(cdt), D.to(cdt)[:, None]
        y = y.addcmul_(uc, Dc) if inplace else torch.addcmul(y, uc, Dc)
    if z is not None:
        g = F.silu(z.to(cdt))
        y = y.mul_(g) if inplace else y * g
    return y.to(out_dtype)


def selective_scan_sequential(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor] = None,
    z: Optional[Tensor] = None, delta_bias: Optional[Tensor] = None, delta_softplus: bool = False,
    return_last_state: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """The selective scan as a plain loop over time: the obvious, slow, trusted version.

    Shapes follow mamba_ssm's `selective_scan_fn`: u, delta, z (b, d, l); A (d, n); B, C
    (b, n, l); D, delta_bias (d). Returns y (b, d, l) in u's dtype, plus the last state
    (b, d, n) when `return_last_state`.
    """
    dA_log, dBu, cdt = _prepare(u, delta, A, B, delta_bias, delta_softplus)
    dA = torch.exp(dA_log)
    Cc = C.to(cdt)
    h = u.new_zeros((u.shape[0], u.shape[1], A.shape[1]), dtype=cdt)
    ys = []
    for t in range(u.shape[2]):
        h = dA[:, :, t] * h + dBu[:, :, t]  # h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t
        ys.append((h * Cc[:, None, :, t]).sum(-1))  # y_t = <h_t, C_t>
    y = _finish(torch.stack(ys, dim=-1), u, D, z, u.dtype)
    return (y, h) if return_last_state else y


def selective_scan_chunked(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor] = None,
    z: Optional[Tensor] = None, delta_bias: Optional[Tensor] = None, delta_softplus: bool = False,
    return_last_state: bool = False, chunk_size: Optional[int] = None,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """The same scan as `selective_scan_sequential`, with a Python loop over blocks of chunks.

    Inside a chunk the recurrence has a closed form in log space. With S_t = Σ_{k≤t} Δ_k (a
    cumulative sum within the chunk) and P_t = exp(A·S_t) ≤ 1, the state is
    h_t = P_t · (Σ_{k≤t} Δ_k B_k u_k / P_k + h_in): the sum is one matmul with a triangular
    matrix of ones, for every chunk at once. Only the chunks' end states are chained in a loop.
    1/P_k grows within a chunk, so the chunk length is chosen (halving from `chunk_size`,
    default 8) such that max|A|·ΣΔ over any chunk stays under 40 in fp32 and 500 in fp64: no
    overflow, no underflow of P, and since every factor is a product and not a difference of
    large numbers the results match the loop to rounding. Very large steps only shrink the
    chunks (down to 1, which is the sequential loop again).

    Speed: the (b, d, l, n) state is never built whole. Chunks are processed a block at a time,
    a block holding about `_BLOCK_ELEMS` state elements so that it stays in cache, laid out
    (b, t, n, d) so that y_t = Σ_n C_t,n h_t,n is a matmul too.
    """
    cdt = _compute_dtype(u.dtype)
    b, d, L = u.shape
    n = A.shape[1]
    At = A.to(cdt).t().contiguous()  # (n, d); contiguous, else A·S reads A with stride n
    limit = 40.0 if cdt == torch.float32 else 500.0
    # Without autograd the block's buffers can be overwritten in place (less memory traffic).
    inplace = not (torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (u, delta, A, B, C, delta_bias)))
    # Time-major Δ and Δ·u, (b, l, d): a block is then a slice along dim 1, contiguous (else
    # every op on a block reads strided memory and matmul copies per step).
    delta = delta.to(cdt)
    if inplace and delta_bias is not None:  # the bias add writes the transposed copy
        dt = torch.add(delta.transpose(1, 2), delta_bias.to(cdt), out=delta.new_empty((b, L, d)))
    else:
        if delta_bias is not None:
            delta = delta + delta_bias.to(cdt)[:, None]
        dt = delta.transpose(1, 2).contiguous()
    if delta_softplus:
        dt = F.softplus(dt)
    du = dt * u.to(cdt).transpose(1, 2)  # output in dt's (time-major) layout
    with torch.no_grad():
        rate = (-At).amax(0)  # the steepest decay rate of each channel, (d,)
        steep = bool((dt.amax(dim=(0, 1)) * rate).max() > limit)
    # Longest chunk: 8 steps (the triangular matmul costs 2c flops per element; 8 and 16 were
    # measured alike in fp32, 8 faster in fp64), 4 when a chunk alone would far exceed a block.
    c0 = 8 if b * 8 * n * d <= 2 * _BLOCK_ELEMS else 4
    c, dt = _pick_chunk(dt, rate, limit, chunk_size or c0)
    nc = dt.shape[1] // c
    per_block = max(1, _BLOCK_ELEMS // (b * c * n * d))  # chunks per block
    pad = nc * c - L  # padded steps: Δ = 0, no decay and no input; their outputs are dropped
    if pad:
        du = F.pad(du, (0, 0, 0, pad))
    Bt, Ct = (F.pad(t.transpose(1, 2), (0, 0, 0, pad)).contiguous()
              for t in (B.to(cdt), C.to(cdt)))
    # Cumulative sums along a chunk are products with a triangular matrix of ones: a matmul is
    # several times faster than cumsum along a middle dimension on CPU.
    ones = torch.ones(c, c, dtype=cdt, device=u.device).tril()
    carry = u.new_zeros((b, n, d), dtype=cdt)
    if inplace:  # three block buffers, reused: fresh large tensors cost page faults every time
        bufs = [u.new_empty((b * per_block * c * n * d,), dtype=cdt) for _ in range(3)]
    ys = []
    for j0 in range(0, nc, per_block):
        m = min(per_block, nc - j0)
        steps = slice(j0 * c, (j0 + m) * c)
        shape = (b, m, c, n, d)
        if inplace:
            X, w, acc = (t[:b * m * c * n * d].view(shape) for t in bufs)
        if steep:  # some step decays by more than e^-limit: clamp it to that, per element
            X = (dt[:, steps, None, :] * At).clamp(min=-limit).reshape(shape).cumsum(2)
        else:
            S = torch.matmul(ones, dt[:, steps].reshape(b, m, c, d))[..., None, :]  # ΣΔ in chunk
            X = torch.mul(S, At, out=X) if inplace else S * At  # A·S, (b, m, c, n, d)
        P = X.exp_() if inplace else X.exp()
        if inplace:
            torch.mul(du[:, steps, None, :], Bt[:, steps, :, None], out=w.view(b, m * c, n, d))
            w.div_(P)
        else:
            w = (du[:, steps, None, :] * Bt[:, steps, :, None]).reshape(shape) / P
        if m == 1:  # the incoming state joins the sum as if it were one more term
            if inplace:
                w[:, 0, 0] += carry
            else:
                w = torch.cat([w[:, :, :1] + carry[:, None, None], w[:, :, 1:]], dim=2)
        if inplace:
            torch.matmul(ones, w.view(b, m, c, n * d), out=acc.view(b, m, c, n * d))
        else:
            acc = torch.matmul(ones, w.reshape(b, m, c, n * d)).reshape(shape)
        if m > 1:  # chain the chunks of this block, then add each chunk's incoming state
            P_end, E_end = P[:, :, -1], acc[:, :, -1] * P[:, :, -1]
            starts = []
            for p_i, e_i in zip(P_end.unbind(1), E_end.unbind(1)):
                starts.append(carry)
                carry = torch.addcmul(e_i, p_i, carry)  # p_i·carry + e_i in one op
            start = torch.stack(starts, dim=1)[:, :, None]
            acc = acc.add_(start) if inplace else acc + start
        H = acc.mul_(P) if inplace else acc * P  # the states h_t, (b, m, c, n, d)
        if m == 1:  # (a view into a buffer when in place: read before the next overwrite)
            carry = H[:, 0, -1]
        Hs = H.reshape(b, m * c, n, d)
        ys.append(torch.matmul(Ct[:, steps, None, :], Hs).reshape(b, m * c, d))
    y = torch.cat(ys, dim=1)[:, :L].transpose(1, 2)
    y = _finish(y, u, D, z, u.dtype)
    return (y, carry.transpose(1, 2).clone()) if return_last_state else y


# State elements (b·c·n·d) handled per block of chunks: large enough that the Python loop is
# short, small enough to stay in cache (measured with benchmarks/bench_scan.py).
_BLOCK_ELEMS = 1 << 17


def _pick_chunk(dt: Tensor, rate: Tensor, limit: float, start: int) -> Tuple[int, Tensor]:
    """Halve the chunk length from `start` until rate·ΣΔ <= limit in every chunk (or length 1);
    return it and Δ (b, l, d) zero-padded to a whole number of chunks."""
    b, L, d = dt.shape
    c = max(1, min(L, start))
    while True:
        nc = -(-L // c)
        padded = F.pad(dt, (0, 0, 0, nc * c - L)) if nc * c > L else dt
        if c == 1:
            return c, padded
        with torch.no_grad():
            if float((padded.reshape(b, nc, c, d).sum(2) * rate).max()) <= limit:
                return c, padded
        c //= 2


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

    def forward(self, hidden_states: Tensor) -> Tensor:
        """(batch, seqlen, d_model) -> (batch, seqlen, d_model); causal along seqlen."""
        return mamba_forward(self, hidden_states, scan=self.scan, chunk_size=self.chunk_size)


def mamba_forward(
    m: Any, x: Tensor, *, scan: str = "chunked", chunk_size: Optional[int] = None,
    prefix: str = "mamba",
) -> Tensor:
    """Mamba-1's forward for any module with mamba_ssm.Mamba's parameters (MambaRef or Mamba).

    Follows mamba_ssm's slow path op by op (the matmuls in the input dtype, the scan in fp32 or
    fp64), and records each op when a trace is active.
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
    if scan == "chunked":
        y = selective_scan_chunked(xc, dt, A, Bc, Cc, Dp, z=z, delta_bias=dbias,
                                   delta_softplus=True, chunk_size=chunk_size)
    else:
        y = selective_scan_sequential(xc, dt, A, Bc, Cc, Dp, z=z, delta_bias=dbias,
                                      delta_softplus=True)
    assert isinstance(y, Tensor)  # no return_last_state: the output alone
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
