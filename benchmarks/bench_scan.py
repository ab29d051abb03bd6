"""Chunked selective scan (MambaRef's default) vs the plain sequential loop, on CPU.

    python benchmarks/bench_scan.py [--length 720] [--batch 10] [--repeats 7] [--threads N]

Both run the same scan (mamba_ssm's selective_scan_fn semantics: z gate, D skip, delta bias and
softplus) on the same random inputs shaped like the smoke block's Mamba: (B·N, Di, L) with
B·N=10, Di=128, d_state=16. Reports median wall time of forward and of forward+backward, the
ratio of medians, and the max abs difference of outputs and input gradients.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mamba_doctor.block import selective_scan_chunked, selective_scan_sequential  # noqa: E402


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
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch %s, %d threads, shape (b=%d, d=128, l=%d, n=16)"
          % (torch.__version__, torch.get_num_threads(), args.batch, args.length))
    for dtype in (torch.float32, torch.float64):
        inputs = make_inputs(args.batch, 128, 16, args.length, dtype)
        y_seq, g_seq = run(selective_scan_sequential, inputs, True)
        y_chk, g_chk = run(selective_scan_chunked, inputs, True)
        scale = y_seq.abs().max().item()
        err = (y_seq - y_chk).abs().max().item()
        gerr = max((a - b).abs().max().item() / max(a.abs().max().item(), 1e-30)
                   for a, b in zip(g_seq, g_chk))
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        ok = err <= tol * max(scale, 1.0) and gerr <= tol * 10
        print("%s: max|Δy| = %.3g (max|y| = %.3g), max relative |Δgrad| = %.3g -> %s"
              % (str(dtype).replace("torch.", ""), err, scale, gerr, "same" if ok else "DIFFER"))
        for label, backward in (("forward", False), ("forward+backward", True)):
            seq = median_ms(selective_scan_sequential, inputs, backward, args.repeats)
            chk = median_ms(selective_scan_chunked, inputs, backward, args.repeats)
            print("  %-17s sequential %8.1f ms   chunked %8.1f ms   ratio %5.1fx"
                  % (label, seq, chk, seq / chk))
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
