"""An independent float64 oracle for the selective scan, written for the tests only.

It follows mamba_ssm's `selective_scan_ref` (mamba_ssm/ops/selective_scan_interface.py): Δ =
softplus(delta + bias) when asked; for t = 0..l-1, h = exp(Δ_t·A)·h + Δ_t·u_t·B_t and
y_t = Σ_n C_t·h (twice the real part for a complex A); y += D·u; y *= SiLU(z). B and C are fixed
(d, n), variable (b, n, l) or grouped (b, g, n, l) (channel i reads group i // (d/g)); with a
complex A variable B/C are real with real and imaginary parts interleaved along time. Nothing
here is shared with mamba_doctor.block: its own softplus, its own layout handling, one loop.

`stacked_loop` runs the same recurrence for many independent problems at once (their
discretised inputs stacked along the batch axis), so a test can check hundreds of
configurations against one Python loop over time.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

import pytest
import torch
from torch import Tensor


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Import into a test module to run its tests on one torch thread: on a shared machine two
    OpenMP threads contending for busy cores made these small ops ~4x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def softplus(x: Tensor) -> Tensor:
    # log(1 + e^x), linear above 20 as torch.nn.functional.softplus's default threshold.
    return torch.where(x > 20, x, torch.log1p(torch.exp(torch.clamp(x, max=20))))


def _per_channel(M: Tensor, d: int, cdtype: torch.dtype, complex_a: bool) -> Tensor:
    """B or C as (b or 1, d, n, l) (variable) or (d, n) (fixed), in float64 / complex128."""
    if M.dim() == 2:
        return M.to(cdtype)
    M = M.double()
    if complex_a:
        M = torch.complex(M[..., 0::2], M[..., 1::2])
    if M.dim() == 3:
        return M[:, None]
    groups = M.shape[1]
    return M[:, torch.arange(d) // (d // groups)]


def discretise(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
               delta_bias: Optional[Tensor], delta_softplus: bool) -> tuple[Tensor, Tensor, Tensor]:
    """exp(Δ·A), Δ·u·B and C, each (b, d, n, l), in float64 (complex128 for a complex A)."""
    b, d, L = u.shape
    complex_a = A.is_complex()
    cdtype = torch.complex128 if complex_a else torch.float64
    dt = delta.double()
    if delta_bias is not None:
        dt = dt + delta_bias.double()[:, None]
    if delta_softplus:
        dt = softplus(dt)
    decay = torch.exp(dt[:, :, None, :] * A.to(cdtype)[None, :, :, None])
    Bc, Cc = (_per_channel(M, d, cdtype, complex_a) for M in (B, C))
    Bc, Cc = (M[None, :, :, None] if M.dim() == 2 else M for M in (Bc, Cc))
    drive = (dt * u.double())[:, :, None, :] * Bc
    return decay, drive, Cc.expand(b, d, A.shape[1], L)


def stacked_loop(decay: Tensor, drive: Tensor, Cc: Tensor) -> tuple[Tensor, Tensor]:
    """The recurrence over time on (b, d, n, l) inputs: y (b, d, l) (twice the real part if
    complex) and the last state (b, d, n)."""
    h = torch.zeros(decay.shape[:3], dtype=decay.dtype)
    hs: list[Tensor] = []
    # unbind, not [..., t]: indexing's backward writes a full-size zero tensor every step; and
    # one op per step, the read-out y_t = Σ_n C_t·h_t done once for all steps afterwards.
    for a, bu in zip(decay.unbind(-1), drive.unbind(-1)):
        h = torch.addcmul(bu, a, h)
        hs.append(h)
    if not hs:
        return decay.new_zeros((*decay.shape[:2], 0)).real, h
    y = (torch.stack(hs, dim=-1) * Cc).sum(-2)
    return (2 * y.real if y.is_complex() else y), h


def finish(y: Tensor, u: Tensor, D: Optional[Tensor], z: Optional[Tensor]) -> Tensor:
    if D is not None:
        y = y + u.double() * D.double()[:, None]
    if z is not None:
        zz = z.double()
        y = y * zz * torch.sigmoid(zz)
    return y


def oracle_scan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                D: Optional[Tensor] = None, z: Optional[Tensor] = None,
                delta_bias: Optional[Tensor] = None, delta_softplus: bool = False,
                return_last_state: bool = False):
    y, h = stacked_loop(*discretise(u, delta, A, B, C, delta_bias, delta_softplus))
    y = finish(y, u, D, z)
    return (y, h) if return_last_state else y


def many(problems: Sequence[tuple[Tensor, Tensor, Tensor]],
         finishers: Sequence[Callable[[Tensor], Tensor]]) -> tuple[list[Tensor], list[Tensor]]:
    """Run many discretised problems of the same (d, n, l) through one loop; each problem's y
    then goes through its own finisher. Returns ([y per problem], [last state per problem])."""
    sizes = [p[0].shape[0] for p in problems]
    y, h = stacked_loop(*(torch.cat([p[k] for p in problems]) for k in range(3)))
    return [f(yy) for f, yy in zip(finishers, y.split(sizes))], list(h.split(sizes))
