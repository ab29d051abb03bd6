"""Chunked selective scan (MambaRef's default) vs the plain sequential loop, on CPU.

    python benchmarks/bench_scan.py [--length 720] [--batch 1] [--repeats 5] [--threads N]
                                    [--forward-only]

All run the same scan (mamba_ssm's selective_scan_fn semantics: z gate, D skip, delta bias and
softplus) on the same random inputs, shaped like the smoke block's Mamba: (batch, Di=128, L)
with d_state=16. Compared:
  sequential: `selective_scan_sequential`, a loop over time that indexes step t of precomputed
    tensors, as mamba_ssm's own pure-PyTorch `selective_scan_ref` does (the usual alternative);
  loop-unbind: the same loop over `unbind` views (a tuned loop: its backward does not allocate
    a full-size gradient per step);
  chunked: `selective_scan_chunked`, MambaRef's default.
Reports the median wall time of forward and of forward+backward, the ratio of medians against
the chunked scan, and the max abs difference of outputs and input gradients.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from mamba_doctor.block import selective_scan_chunked, selective_scan_sequential


def loop_unbind(u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    delta = delta + delta_bias[:, None]
    delta = torch.nn.functional.softplus(delta) if delta_softplus else delta
    dA = torch.exp(delta.unsqueeze(-1) * A[:, None, :])
    dBu = (delta * u).unsqueeze(-1) * B.transpose(1, 2).unsqueeze(1)
    h = dBu.new_zeros((u.shape[0], u.shape[1], A.shape[1]))
    ys = []
    for a, bx, c in zip(dA.unbind(2), dBu.unbind(2), C.unbind(2)):
        h = a * h + bx
        ys.append((h * c[:, None]).sum(-1))
    return (torch.stack(ys, -1) + u * D[:, None]) * torch.nn.functional.silu(z)


def make_inputs(batch: int, d: int, n: int, length: int, dtype: torch.dtype) -> list:
    g = torch.Generator().manual_seed(0)
    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=dtype)
    A = -torch.arange(1, n + 1, dtype=dtype).repeat(d, 1)  # mamba's S4D-real init
    return [r(batch, d, length), r(batch, d, length) - 2.0, A, r(batch, n, length),
            r(batch, n, length), torch.ones(d, dtype=dtype), r(batch, d, length),
            torch.full((d,), -3.0, dtype=dtype)]


def run(fn, inputs: list, backward: bool) -> tuple:
    leaves = [t.clone().requires_grad_(backward) for t in inputs]
    u, delta, A, B, C, D, z, bias = leaves
    y = fn(u, delta, A, B, C, D, z=z, delta_bias=bias, delta_softplus=True)
    grads = None
    if backward:
        y.sum().backward()
        grads = [t.grad for t in leaves]
    return y.detach(), grads


def median_ms(fn, inputs: list, backward: bool, repeats: int) -> float:
    run(fn, inputs, backward)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(fn, inputs, backward)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=720)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--forward-only", action="store_true", help="skip forward+backward")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch %s, %d threads, shape (b=%d, d=128, l=%d, n=16), median of %d"
          % (torch.__version__, torch.get_num_threads(), args.batch, args.length, args.repeats))
    variants = (("sequential", selective_scan_sequential), ("loop-unbind", loop_unbind),
                ("chunked", selective_scan_chunked))
    failed = False
    for dtype in (torch.float32, torch.float64):
        inputs = make_inputs(args.batch, 128, 16, args.length, dtype)
        y_seq, g_seq = run(selective_scan_sequential, inputs, not args.forward_only)
        y_chk, g_chk = run(selective_scan_chunked, inputs, not args.forward_only)
        scale = y_seq.abs().max().item()
        err = (y_seq - y_chk).abs().max().item()
        gerr = 0.0 if args.forward_only else max(
            (a - b).abs().max().item() / max(a.abs().max().item(), 1e-30)
            for a, b in zip(g_seq, g_chk))
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        ok = err <= tol * max(scale, 1.0) and gerr <= tol * 10
        failed |= not ok
        print("%s: chunked vs sequential max|dy| = %.3g (max|y| = %.3g), max rel |dgrad| = %.3g"
              " -> %s" % (str(dtype).replace("torch.", ""), err, scale, gerr,
                          "same" if ok else "DIFFER"))
        for label, backward in (("forward", False), ("forward+backward", True)):
            if backward and args.forward_only:
                continue
            ms = {name: median_ms(fn, inputs, backward, args.repeats) for name, fn in variants}
            print("  %-17s " % label + "   ".join(
                "%s %.1f ms (%.1fx)" % (name, t, t / ms["chunked"]) for name, t in ms.items()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
