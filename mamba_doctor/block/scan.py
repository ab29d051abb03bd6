"""The selective scan with mamba_ssm's `selective_scan_fn` / `selective_scan_ref` interface.

Imports torch at the top: reach it through `mamba_doctor.block`. Python 3.8, stdlib + torch only
(copied into the smoke child).

    selective_scan_chunked(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                           delta_softplus=False, return_last_state=False, chunk_size=None)
    selective_scan_sequential(...same, without chunk_size)

Shapes, as upstream (mamba_ssm/ops/selective_scan_interface.py, `selective_scan_ref`):
  u, delta, z: (b, d, l);  A: (d, n);  D, delta_bias: (d,);
  B, C: fixed (d, n), variable (b, n, l), or grouped (b, g, n, l), where channel i reads group
  i // (d / g). With a complex A (S4D-complex), variable B/C are real with the real and
  imaginary parts interleaved along time, (b, n, 2l) or (b, g, n, 2l); fixed ones are complex
  (d, n); y takes twice the real part, as upstream.
Returns y (b, d, l) in u's dtype, and with `return_last_state` also the last state (b, d, n) in
the compute dtype: float64 for float64 inputs (the oracle), float32 otherwise (as upstream).
Δ = softplus(delta + delta_bias) when asked; y = (Σ_n C·h + D·u)·SiLU(z).
Unlike upstream's CUDA `selective_scan_fn`, the last state's gradient is propagated (as
`selective_scan_ref` does through autograd).
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .chunked import Layout, chunked_scan

ScanOut = Union[Tensor, Tuple[Tensor, Tensor]]


def _shape(t: Tensor) -> str:
    return str(tuple(t.shape))


def check_args(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor],
               z: Optional[Tensor], delta_bias: Optional[Tensor]) -> Tuple[Layout, Layout]:
    """Validate shapes like upstream documents them; return the layouts of B and C.

    Raises ValueError naming the tensor, its shape and what was expected.
    """
    if u.dim() != 3:
        raise ValueError("selective scan: u must be (batch, d, seqlen), got shape %s" % _shape(u))
    b, d, L = u.shape
    if u.is_complex():
        raise ValueError("selective scan: u must be real, got %s" % u.dtype)
    for name, t in (("delta", delta), ("z", z)):
        if t is not None and tuple(t.shape) != (b, d, L):
            raise ValueError("selective scan: %s has shape %s; expected u's shape %s"
                             % (name, _shape(t), _shape(u)))
    if A.dim() != 2 or A.shape[0] != d:
        raise ValueError("selective scan: A has shape %s; expected (d, n) with d = %d"
                         % (_shape(A), d))
    n = A.shape[1]
    for name, t in (("D", D), ("delta_bias", delta_bias)):
        if t is not None and tuple(t.shape) != (d,):
            raise ValueError("selective scan: %s has shape %s; expected (%d,)"
                             % (name, _shape(t), d))
    return _layout("B", B, A, b, d, n, L), _layout("C", C, A, b, d, n, L)


def _layout(name: str, t: Tensor, A: Tensor, b: int, d: int, n: int, L: int) -> Layout:
    complex_a = A.is_complex()
    tl = 2 * L if complex_a else L
    if t.dim() == 2 and tuple(t.shape) == (d, n):
        if t.is_complex() and not complex_a:
            raise ValueError("selective scan: %s is complex but A is real" % name)
        return ("fixed", 1)
    if t.is_complex():
        raise ValueError("selective scan: a variable %s must be real (with a complex A its "
                         "real and imaginary parts interleave along time), got %s"
                         % (name, t.dtype))
    if t.dim() == 3 and tuple(t.shape) == (b, n, tl):
        return ("var", 1)
    if t.dim() == 4 and t.shape[0] == b and t.shape[2:] == (n, tl) and t.shape[1] >= 1 \
            and d % t.shape[1] == 0:
        return ("var", 1) if t.shape[1] == 1 else ("group", int(t.shape[1]))
    raise ValueError(
        "selective scan: %s has shape %s; expected fixed (d, n) = (%d, %d), variable "
        "(b, n, l) = (%d, %d, %d) or grouped (b, g, n, l) = (%d, g, %d, %d) with g dividing "
        "d = %d" % (name, _shape(t), d, n, b, n, tl, b, n, tl, d))


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # Like mamba_ssm's kernels and selective_scan_ref the recurrence runs in fp32 for fp32/fp16/
    # bf16 inputs; fp64 inputs stay fp64 (the oracle; upstream's reference would drop to fp32).
    return torch.float64 if dtype == torch.float64 else torch.float32


def _delta(delta: Tensor, delta_bias: Optional[Tensor], softplus: bool,
           cdt: torch.dtype) -> Tensor:
    delta = delta.to(cdt)
    if delta_bias is not None:
        delta = delta + delta_bias.to(cdt)[:, None]
    return F.softplus(delta) if softplus else delta


def _finish(y: Tensor, u: Tensor, D: Optional[Tensor], z: Optional[Tensor],
            out_dtype: torch.dtype) -> Tensor:
    """y + D·u, then times SiLU(z). `y` must be the caller's own fresh tensor: without autograd
    it is updated in place, sparing two full-size allocations."""
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


_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}


def _per_step(t: Tensor, layout: Layout, d: int, cdt: torch.dtype, complex_a: bool) -> Tensor:
    """B or C broadcastable to (b, d, l, n) for the loop."""
    if layout[0] == "fixed":
        return t.to(cdt)[:, None, :]  # (d, 1, n)
    t = t.to(_REAL.get(cdt, cdt))
    if complex_a:  # (…, n, 2l) real -> (…, n, l) complex
        t = torch.view_as_complex(t.reshape(*t.shape[:-1], -1, 2).contiguous())
    if t.dim() == 3:
        return t.transpose(1, 2)[:, None]  # (b, 1, l, n)
    return t.repeat_interleave(d // t.shape[1], dim=1).transpose(2, 3)  # (b, d, l, n)


def selective_scan_sequential(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor] = None,
    z: Optional[Tensor] = None, delta_bias: Optional[Tensor] = None, delta_softplus: bool = False,
    return_last_state: bool = False,
) -> ScanOut:
    """The selective scan as a plain loop over time: the obvious, slow, trusted version (the
    same computation as upstream's `selective_scan_ref`; real or complex A)."""
    lay_b, lay_c = check_args(u, delta, A, B, C, D, z, delta_bias)
    rdt = _compute_dtype(u.dtype)
    complex_a = A.is_complex()
    cdt = (torch.complex128 if rdt == torch.float64 else torch.complex64) if complex_a else rdt
    b, d, L = u.shape
    dt = _delta(delta, delta_bias, delta_softplus, rdt)
    dA = torch.exp(dt.unsqueeze(-1) * A.to(cdt)[:, None, :])  # (b, d, l, n)
    Bx = _per_step(B, lay_b, d, cdt, complex_a)
    Cx = _per_step(C, lay_c, d, cdt, complex_a)
    dBu = (dt * u.to(rdt)).unsqueeze(-1) * Bx
    h = dA.new_zeros((b, d, A.shape[1]))
    ys = []
    # unbind, not [:, :, t]: an index's backward writes a full-size zero tensor at every step.
    Cs = [Cx[:, 0]] * L if lay_c[0] == "fixed" else Cx.unbind(2)
    for a_t, bu_t, c_t in zip(dA.unbind(2), dBu.unbind(2), Cs):
        h = a_t * h + bu_t  # h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t
        y_t = (h * c_t).sum(-1)  # y_t = <h_t, C_t>
        ys.append(2 * y_t.real if complex_a else y_t)
    y = torch.stack(ys, dim=-1) if ys else u.new_zeros((b, d, 0), dtype=rdt)
    y = _finish(y, u, D, z, u.dtype)
    return (y, h) if return_last_state else y


def selective_scan_chunked(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor] = None,
    z: Optional[Tensor] = None, delta_bias: Optional[Tensor] = None, delta_softplus: bool = False,
    return_last_state: bool = False, chunk_size: Optional[int] = None,
) -> ScanOut:
    """The same scan as `selective_scan_sequential`, in closed form within chunks of steps.

    See mamba_doctor/block/chunked.py for the method: finite and accurate in fp32 and fp64 for
    any step size and decay rate, forward and backward (a reverse scan of its own, not autograd
    through the forward). `chunk_size` caps the chunk length (default 8, 4 for large batches;
    shorter where Δ·|A| is large). A complex A runs the plain loop (`selective_scan_sequential`).
    """
    lay_b, lay_c = check_args(u, delta, A, B, C, D, z, delta_bias)
    if A.is_complex():
        return selective_scan_sequential(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                         return_last_state)
    cdt = _compute_dtype(u.dtype)
    # Time-major (b, l, d): a block of steps is then a contiguous slice.
    dt = delta.to(cdt).transpose(1, 2)
    if delta_bias is not None:
        dt = dt + delta_bias.to(cdt)
    dt = (F.softplus(dt) if delta_softplus else dt).contiguous()
    du = dt * u.to(cdt).transpose(1, 2)
    At = A.to(cdt).t().contiguous()  # (n, d)
    Bk, Ck = (_time_major(t, lay, cdt) for t, lay in ((B, lay_b), (C, lay_c)))
    y, last = chunked_scan(dt, du, At, Bk, Ck, lay_b, lay_c, chunk_size)
    y = _finish(y.transpose(1, 2), u, D, z, u.dtype)
    return (y, last.transpose(1, 2)) if return_last_state else y


def _time_major(t: Tensor, layout: Layout, cdt: torch.dtype) -> Tensor:
    """fixed (d, n) -> (n, d); variable (b, n, l) -> (b, l, n);
    grouped (b, g, n, l) -> (b, l, g, n)."""
    t = t.to(cdt)
    if layout[0] == "fixed":
        return t.t().contiguous()
    if t.dim() == 4 and layout[0] == "var":
        t = t[:, 0]
    return (t.transpose(1, 2) if t.dim() == 3 else t.permute(0, 3, 1, 2)).contiguous()
