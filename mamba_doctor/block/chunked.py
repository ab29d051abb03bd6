"""The chunked selective scan's core: forward and a backward that is itself a reverse scan.

Imports torch at the top: reach it through `mamba_doctor.block`. Python 3.8, stdlib + torch only
(copied into the smoke child).

Recurrence, per batch row, channel d and state n (time-major tensors, (b, l, ...)):
    h_t = exp(Δ_t·A) ⊙ h_{t-1} + Δu_t·B_t,     y_t = Σ_n C_t,n · h_t,n.
Inside a chunk of c steps, with S_t = Σ_{k≤t} Δ_k (inclusive, within the chunk), X_t = A·S_t and
P_t = exp(X_t), the state is h_t = P_t·(h_in + Σ_{k≤t} Δu_k B_k / P_k): the sum is a matmul with
a triangular matrix of ones, for every chunk of a block at once. Chunks are chained in Python.

Range: the chunk length is chosen (halving from 8) so that Σ|Δ|·max|A| over any chunk is at most
`limit` (500 in fp64, 40 in fp32), so P and 1/P both lie within e^±limit: finite, normal
numbers. A single step steeper than that forces chunks of one step, which run the recurrence
itself (no 1/P at all), so any decay, even one that underflows to 0, is exact.

Backward (this module's reason to exist; autograd through the forward above multiplies 1/P by
1/P and overflows): with g_t = ∂L/∂h_t, the reverse recurrence g_t = C_t·dy_t + a_{t+1}·g_{t+1}
has the mirrored closed form g_t = (1/P_t)·(Σ_{s≥t} P_s C_s dy_s + P_e·g_in) per chunk, where
every factor is again within e^±limit. Then, directly and without cancellation:
    ∂Δu_t = Σ_n g_t B_t,  ∂B_t = Σ_d g_t Δu_t,  ∂C_t = Σ_d dy_t h_t,
    q_t = g_t ⊙ a_t ⊙ h_{t-1} (the gradient of log a_t),  ∂Δ_t = Σ_n A q_t,  ∂A = Σ_{b,t} Δ_t q_t.
States are recomputed block by block from the block-start states saved by the forward, as
mamba_ssm's CUDA kernel recomputes them from its chunk states (csrc/selective_scan/).
"""

from __future__ import annotations

import contextlib
from typing import Any, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# State elements (b·c·n·d) per block of chunks: large enough that the Python loop is short,
# small enough to stay in cache (measured with benchmarks/bench_scan.py).
_BLOCK_ELEMS = 1 << 17
# Up to this many state elements (b·L·n·d) the forward keeps states and decays for the backward
# (2 tensors of this size: 128 MiB in fp64 at the limit); beyond, the backward recomputes them.
_KEEP_ELEMS = 1 << 23

# B and C come in three layouts (time-major): "fixed" (n, d); "var" (b, l, n); "group"
# (b, l, g, n), where channel d uses group d // (d_inner / g), as mamba_ssm's selective_scan_ref.
Layout = Tuple[str, int]  # (kind, groups)


def limit_for(dtype: torch.dtype) -> float:
    return 500.0 if dtype == torch.float64 else 40.0


def plan(dt: Tensor, At: Tensor, chunk_size: Optional[int], block_elems: int) -> int:
    """The chunk length for Δ (b, l, d) and A (n, d)."""
    b, L, d = dt.shape
    n = At.shape[0]
    limit = limit_for(dt.dtype)
    with torch.no_grad():
        rate = At.abs().amax(0) if n else At.new_zeros(d)  # the steepest rate per channel
        mag = dt.abs()
        # 8 steps (the triangular matmul costs 2c flops per element; 8 and 16 measured alike in
        # fp32, 8 faster in fp64); 4 when one chunk alone would far exceed a block.
        start = chunk_size or (8 if b * 8 * n * d <= 2 * block_elems else 4)
        c = max(1, min(max(L, 1), start))
        while c > 1:
            nc = -(-L // c)
            padded = F.pad(mag, (0, 0, 0, nc * c - L))
            if float((padded.reshape(b, nc, c, d).sum(2) * rate).max()) <= limit:
                break
            c //= 2
    return c


def _expand(t: Tensor, layout: Layout, steps: slice, d: int) -> Tensor:
    """B or C for `steps`, broadcastable to (b, s, n, d)."""
    kind, g = layout
    if kind == "fixed":
        return t
    if kind == "var":
        return t[:, steps, :, None]
    blk = t[:, steps].transpose(2, 3)  # (b, s, n, g)
    b, s, n, _ = blk.shape
    return blk[..., None].expand(b, s, n, g, d // g).reshape(b, s, n, d).contiguous()


def _contract(H: Tensor, t: Tensor, layout: Layout, steps: slice, d: int) -> Tensor:
    """Σ_n t_n·H_n for H (b, s, n, d): (b, s, d)."""
    if layout[0] == "var":
        return torch.matmul(t[:, steps, None, :], H).squeeze(2)
    return (H * _expand(t, layout, steps, d)).sum(-2)


def _reduce(H: Tensor, v: Tensor, layout: Layout, out: Tensor, steps: slice) -> None:
    """Accumulate Σ_d H·v (v (b, s, d)) into the gradient `out` of a B or C in `layout`."""
    kind, g = layout
    if kind == "var":  # a row vector times Hᵀ: several times faster than H times a column
        out[:, steps] = torch.matmul(v[:, :, None, :], H.transpose(-1, -2)).squeeze(2)
    elif kind == "fixed":
        out += (H * v[:, :, None, :]).sum((0, 1))
    else:
        b, s, n, d = H.shape
        prod = (H * v[:, :, None, :]).reshape(b, s, n, g, d // g).sum(-1)
        out[:, steps] = prod.transpose(2, 3)


class _Plan:
    """Shapes and chunking of one call, shared by forward and backward."""

    def __init__(self, dt: Tensor, At: Tensor, lay_b: Layout, lay_c: Layout,
                 chunk_size: Optional[int], block_elems: int) -> None:
        self.b, self.L, self.d = dt.shape
        self.n = At.shape[0]
        self.lay_b, self.lay_c = lay_b, lay_c
        self.c = plan(dt, At, chunk_size, block_elems)
        self.nc = -(-self.L // self.c) if self.L else 0
        self.pad = self.nc * self.c - self.L
        self.per_block = max(1, block_elems // max(1, self.b * self.c * self.n * self.d))
        self.blocks = list(range(0, self.nc, self.per_block))

    def padded(self, t: Tensor, layout: Optional[Layout] = None) -> Tensor:
        """Zero-pad along time to whole chunks: Δ = 0 steps neither decay nor add input."""
        if not self.pad or (layout is not None and layout[0] == "fixed"):
            return t
        widths = [0, 0] * (t.dim() - 2) + [0, self.pad]
        return F.pad(t, widths)

    def steps(self, j0: int) -> Tuple[slice, int]:
        m = min(self.per_block, self.nc - j0)
        return slice(j0 * self.c, (j0 + m) * self.c), m


def _block_states(p: _Plan, ones: Tensor, dt: Tensor, du: Tensor, At: Tensor, Bk: Tensor,
                  carry: Tensor, j0: int, bufs: Optional[List[Tensor]] = None,
                  ) -> Tuple[Tensor, Tensor, List[Tensor]]:
    """States H and decays P of one block, both (b, m, c, n, d), and each chunk's start state.

    Written with in-place ops: it only ever runs without autograd. With `bufs` (three flat
    tensors of a block's size) H and P are written into them, valid until the next call: fresh
    large tensors for every block cost page faults.
    """
    b, c, n, d = p.b, p.c, p.n, p.d
    steps, m = p.steps(j0)
    shape = (b, m, c, n, d)
    size = b * m * c * n * d
    out = [t[:size].view(shape) for t in bufs] if bufs else [None, None, None]
    drive = _product(du[:, steps, None, :], _expand(Bk, p.lay_b, steps, d), shape, out[0])
    if c == 1:  # one step per chunk: the recurrence itself, exact for any decay (no 1/P)
        P = _product(dt[:, steps, None, :], At, shape, out[1]).exp_()
        ends = _chain(P[:, :, 0], drive[:, :, 0], carry)
        return ends[:, :, None], P, _starts(carry, ends)
    S = torch.matmul(ones, dt[:, steps].reshape(b, m, c, d))  # Σ Δ within each chunk
    P = _product(S[..., None, :], At, shape, out[1]).exp_()
    acc = drive.div_(P)
    if m == 1:  # the incoming state joins the sum as if it were one more term
        acc[:, 0, 0] += carry
    flat = (b, m, c, n * d)
    if out[2] is None:
        acc = torch.matmul(ones, acc.view(flat)).view(shape)
    else:
        acc = torch.matmul(ones, acc.view(flat), out=out[2].view(flat)).view(shape)
    if m == 1:
        return acc.mul_(P), P, [carry]
    # chain the chunks of this block, then add each chunk's incoming state
    starts = _starts(carry, _chain(P[:, :, -1], acc[:, :, -1] * P[:, :, -1], carry))
    acc += torch.stack(starts, dim=1)[:, :, None]
    return acc.mul_(P), P, starts


def _product(a: Tensor, b: Tensor, shape: Tuple[int, ...], out: Optional[Tensor]) -> Tensor:
    """a·b (broadcast) as a contiguous tensor of `shape`, written into `out` when given (a
    product with a broadcast operand may otherwise come out strided)."""
    if out is not None:
        return torch.mul(a, b, out=out.view(torch.broadcast_shapes(a.shape, b.shape))).view(shape)
    return (a * b).contiguous().view(shape)


def _buffers(p: _Plan, like: Tensor) -> List[Tensor]:
    size = p.b * min(p.per_block, p.nc) * p.c * p.n * p.d
    return [like.new_empty(size) for _ in range(3)]


def _chain(P: Tensor, E: Tensor, x0: Tensor) -> Tensor:
    """x_{i+1} = P_i·x_i + E_i for P, E (b, m, n, d) from x_0 (b, n, d): (x_1..x_m) stacked.

    A loop for a few steps; otherwise a log-depth (Hillis–Steele) scan of the pairs (P, E),
    composing (P_a, E_a) then (P_b, E_b) into (P_b·P_a, P_b·E_a + E_b): only products and sums.
    """
    m = P.shape[1]
    if m <= 8:
        xs = []
        for i in range(m):
            x0 = torch.addcmul(E[:, i], P[:, i], x0)
            xs.append(x0)
        return torch.stack(xs, dim=1)
    shift = 1
    while shift < m:
        E = torch.cat([E[:, :shift], torch.addcmul(E[:, shift:], P[:, shift:], E[:, :-shift])], 1)
        P = torch.cat([P[:, :shift], P[:, shift:] * P[:, :-shift]], 1)
        shift *= 2
    return torch.addcmul(E, P, x0[:, None])


def _starts(x0: Tensor, ends: Tensor) -> List[Tensor]:
    """The state entering each step: x_0, x_1, .., x_{m-1}."""
    return [x0, *ends[:, :-1].unbind(1)]


def scan_forward(p: _Plan, dt: Tensor, du: Tensor, At: Tensor, Bk: Tensor, Ck: Tensor,
                 keep: Optional[List[Tuple[Tensor, Tensor]]] = None,
                 ) -> Tuple[Tensor, Tensor, List[Tensor]]:
    """y (b, L, d), the last state (b, n, d) and the state entering each block; each block's
    (H, P) appended to `keep` when given (the backward then need not recompute them)."""
    b, n, d = p.b, p.n, p.d
    dt, du = p.padded(dt), p.padded(du)
    Bk, Ck = p.padded(Bk, p.lay_b), p.padded(Ck, p.lay_c)
    ones = torch.ones(p.c, p.c, dtype=dt.dtype, device=dt.device).tril_()
    carry = dt.new_zeros((b, n, d))
    y = dt.new_empty((b, p.nc * p.c, d))
    carries = []
    bufs = _buffers(p, dt) if keep is None and len(p.blocks) > 1 else None
    for j0 in p.blocks:
        carries.append(carry)
        steps, m = p.steps(j0)
        H, P, _ = _block_states(p, ones, dt, du, At, Bk, carry, j0, bufs)
        if keep is not None:
            keep.append((H, P))
        carry = H[:, -1, -1].clone()
        y[:, steps] = _contract(H.view(b, m * p.c, n, d), Ck, p.lay_c, steps, d)
    return y[:, :p.L], carry, carries


def _reverse_chunks(V: Tensor, P: Tensor, rev: Tensor, gcarry: Tensor) -> Tensor:
    """g (b, s, n, d) of one block from V = P·C·dy (b, m, c, n, d) and the gradient `gcarry`
    arriving at the block's end: g_t = (Σ_{s≥t} V_s + P_e·g_in) / P_t within each chunk."""
    b, m, c, n, d = V.shape
    if m == 1:  # the gradient arriving from the future joins as one more term
        V[:, 0, -1] += P[:, 0, -1] * gcarry
    R = torch.matmul(rev, V.view(b, m, c, n * d)).view(b, m, c, n, d)
    if m > 1:  # the gradient entering each chunk's end, chained from the last chunk back
        ends = _chain(P[:, :, -1].flip(1), R[:, :, 0].flip(1), gcarry)
        gin = torch.cat([gcarry[:, None], ends[:, :-1]], dim=1).flip(1)
        R += (P[:, :, -1] * gin)[:, :, None]
    return R.div_(P).view(b, m * c, n, d)


def scan_backward(p: _Plan, saved: Tuple[Tensor, ...], carries: List[Tensor], dy: Tensor,
                  dlast: Optional[Tensor], needs: Tuple[bool, ...],
                  kept: Optional[List[Tuple[Tensor, Tensor]]] = None) -> Tuple[Any, ...]:
    """Gradients of (Δ, Δu, A, B, C) given those of y (b, L, d) and of the last state; the
    blocks' states come from `kept` (the forward's) or are recomputed."""
    dt, du, At, Bk, Ck = saved
    b, n, d, c = p.b, p.n, p.d, p.c
    dt, du, dy = p.padded(dt), p.padded(du), p.padded(dy.contiguous())
    Bk, Ck = p.padded(Bk, p.lay_b), p.padded(Ck, p.lay_c)
    ones = torch.ones(c, c, dtype=dt.dtype, device=dt.device).tril_()
    rev = ones.t().contiguous()  # Σ_{s≥t}
    d_dt, d_du = torch.zeros_like(dt), torch.zeros_like(du)
    d_A = torch.zeros_like(At)
    d_B, d_C = torch.zeros_like(Bk), torch.zeros_like(Ck)
    gcarry = dlast.to(dt.dtype).contiguous() if dlast is not None else dt.new_zeros((b, n, d))
    bufs = _buffers(p, dt) if not kept and len(p.blocks) > 1 else None
    for i in range(len(p.blocks) - 1, -1, -1):
        j0, carry = p.blocks[i], carries[i]
        steps, m = p.steps(j0)
        s = m * c
        shape = (b, m, c, n, d)
        if kept:
            H, P = kept.pop()
        else:
            H, P, _ = _block_states(p, ones, dt, du, At, Bk, carry, j0, bufs)
        Hs = H.view(b, s, n, d)
        dyb = dy[:, steps]
        V = (dyb[:, :, None, :] * _expand(Ck, p.lay_c, steps, d)).contiguous().view(shape)
        if c == 1:  # g_t = C_t dy_t + a_{t+1} g_{t+1}, step by step (no division by P)
            Pr, Vr = P[:, :, 0].flip(1), V[:, :, 0].flip(1)
            ends = _chain(Pr, Pr * Vr, gcarry)  # a_t·g_t, from the last step back
            gin = torch.cat([gcarry[:, None], ends[:, :-1]], dim=1).flip(1)
            G = (V[:, :, 0] + gin).view(b, s, n, d)
            gcarry = ends[:, -1]
        else:
            G = _reverse_chunks(V.mul_(P), P, rev, gcarry)
            gcarry = G[:, 0].mul(P[:, 0, 0])  # a_first·g_first: into the previous block
        d_du[:, steps] = _contract(G, Bk, p.lay_b, steps, d)
        if needs[3]:
            _reduce(G, du[:, steps], p.lay_b, d_B, steps)
        if needs[4]:
            _reduce(Hs, dyb, p.lay_c, d_C, steps)
        Q = (dt[:, steps, None, :] * At).exp_().mul_(G)  # a_t·g_t, then times h_{t-1}
        Q[:, 1:] *= Hs[:, :-1]
        Q[:, 0] *= carry
        d_dt[:, steps] = (Q * At).sum(-2)
        if needs[2]:
            d_A += (Q * dt[:, steps, None, :]).sum((0, 1))
    L = p.L
    grads = [d_dt[:, :L], d_du[:, :L], d_A, d_B, d_C]
    for k in (3, 4):
        if (p.lay_b, p.lay_c)[k - 3][0] != "fixed":
            grads[k] = grads[k][:, :L]
    return tuple(g if need else None for g, need in zip(grads, needs))


class ChunkedScan(torch.autograd.Function):
    """Autograd wrapper: (Δ, Δu, A (n, d), B, C) -> (y (b, L, d), last state (b, n, d))."""

    @staticmethod
    def forward(ctx: Any, dt: Tensor, du: Tensor, At: Tensor, Bk: Tensor, Ck: Tensor,
                p: _Plan) -> Tuple[Tensor, Tensor]:
        # Keep every block's states for the backward when they are not too large (like
        # mambapy, which keeps its whole state); recompute them from the block starts otherwise.
        keep: Optional[List[Tuple[Tensor, Tensor]]] = (
            [] if p.b * p.nc * p.c * p.n * p.d <= _KEEP_ELEMS else None)
        y, last, carries = scan_forward(p, dt, du, At, Bk, Ck, keep)
        ctx.save_for_backward(dt, du, At, Bk, Ck, *carries)
        ctx.plan, ctx.kept = p, keep
        return y, last

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Optional[Tensor], dlast: Optional[Tensor]) -> Tuple[Any, ...]:
        saved = ctx.saved_tensors
        p: _Plan = ctx.plan
        if dy is None:
            dy = torch.zeros((p.b, p.L, p.d), dtype=saved[0].dtype, device=saved[0].device)
        needs = tuple(ctx.needs_input_grad[:5])
        kept, ctx.kept = ctx.kept, None
        with no_autocast(saved[0].device.type):
            grads = scan_backward(p, saved[:5], list(saved[5:]), dy, dlast, needs, kept)
        return (*grads, None)


def chunked_scan(dt: Tensor, du: Tensor, At: Tensor, Bk: Tensor, Ck: Tensor, lay_b: Layout,
                 lay_c: Layout, chunk_size: Optional[int] = None,
                 block_elems: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """y (b, L, d) and the last state (b, n, d); differentiable when an input requires grad."""
    with no_autocast(dt.device.type):
        p = _Plan(dt, At, lay_b, lay_c, chunk_size, block_elems or _BLOCK_ELEMS)
        if torch.is_grad_enabled() and any(t.requires_grad for t in (dt, du, At, Bk, Ck)):
            return ChunkedScan.apply(dt, du, At, Bk, Ck, p)
        y, last, _ = scan_forward(p, dt, du, At, Bk, Ck)
        return y, last


def no_autocast(device_type: str) -> Any:
    """Autocast off: the scan runs in its compute dtype (fp32 or fp64), as mamba_ssm's kernel
    does whatever autocast says; under autocast its matmuls would otherwise drop to bf16/fp16."""
    try:
        return torch.autocast(device_type=device_type, enabled=False)
    except (AttributeError, RuntimeError, TypeError):  # torch without torch.autocast
        return contextlib.nullcontext()
