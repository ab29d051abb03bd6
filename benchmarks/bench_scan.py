"""Chunked selective scan (MambaRef's default) vs the plain sequential loop, on CPU.

    python benchmarks/bench_scan.py [--length 720] [--batch 1,10] [--repeats 7] [--threads 1]
                                    [--backward-batch 1] [--forward-only]

All run the same scan (mamba_ssm's selective_scan_fn semantics: z gate, D skip, delta bias and
softplus) on the same random inputs, shaped like the smoke block's Mamba: (batch, Di=128, L)
with d_state=16. Compared:
  sequential: `selective_scan_sequential`, a loop over time that indexes step t of precomputed
    tensors, as mamba_ssm's own pure-PyTorch `selective_scan_ref` does (the usual alternative);
  loop-unbind: the same loop over `unbind` views (a tuned loop: its backward does not allocate
    a full-size gradient per step);
  chunked: `selective_scan_chunked`, MambaRef's default.
Reports, per batch size and dtype, the median wall time of forward (every batch size) and of
forward+backward (the batch sizes in --backward-batch: the sequential loop's backward is slow),
the ratio of medians against the chunked scan, and the max abs difference of outputs and input
gradients. Torch runs on --threads threads (default 1, the same for every variant: the machine
may be shared, and one thread keeps the figures stable); the warm-up call is not timed.
"""

# ruff: noqa: T201, UP031  # a benchmark reports on stdout (printf style, as it was written)
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


VARIANTS = (("sequential", selective_scan_sequential), ("loop-unbind", loop_unbind),
            ("chunked", selective_scan_chunked))


def make_inputs(batch: int, d: int, n: int, length: int, dtype: torch.dtype) -> list:
    g = torch.Generator().manual_seed(0)
    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=dtype)
    A = -torch.arange(1, n + 1, dtype=dtype).repeat(d, 1)  # mamba's S4D-real init
    return [r(batch, d, length), r(batch, d, length) - 2.0, A, r(batch, n, length),
            r(batch, n, length), torch.ones(d, dtype=dtype), r(batch, d, length),
            torch.full((d,), -3.0, dtype=dtype)]


def run(fn, inputs: list, backward: bool) -> tuple:
    # No copies of the inputs (the scans never write into them): time the scan, not clones.
    leaves = [t.detach().requires_grad_() for t in inputs] if backward else list(inputs)
    u, delta, A, B, C, D, z, bias = leaves
    y = fn(u, delta, A, B, C, D, z=z, delta_bias=bias, delta_softplus=True)
    grads = None
    if backward:
        y.sum().backward()
        grads = [t.grad for t in leaves]
    return y.detach(), grads


def median_ms(variants: tuple, inputs: list, backward: bool, repeats: int) -> dict:
    """Median wall time (ms) of each variant, the variants interleaved so that a change in the
    machine's load during the run touches them all alike."""
    for _, fn in variants:
        run(fn, inputs, backward)  # warm-up
    times: dict = {name: [] for name, _ in variants}
    for _ in range(repeats):
        for name, fn in variants:
            start = time.perf_counter()
            run(fn, inputs, backward)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=720)
    ap.add_argument("--batch", default="1,10", help="comma-separated batch sizes")
    ap.add_argument("--backward-batch", default="1",
                    help="batch sizes that also time forward+backward (comma-separated)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default)")
    ap.add_argument("--forward-only", action="store_true", help="skip forward+backward")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(x) for x in args.batch.split(",")]
    bw_batches = set() if args.forward_only else {int(x) for x in args.backward_batch.split(",")}
    print("torch %s, %d threads, d=128, l=%d, n=16, median of %d"
          % (torch.__version__, torch.get_num_threads(), args.length, args.repeats))
    failed = False
    for batch in batches:
        failed |= bench_batch(batch, args.length, args.repeats, batch in bw_batches)
    sys.exit(1 if failed else 0)


def bench_batch(batch: int, length: int, repeats: int, backward: bool) -> bool:
    """Print one batch size's figures; return whether the scans disagreed."""
    failed = False
    for dtype in (torch.float32, torch.float64):
        inputs = make_inputs(batch, 128, 16, length, dtype)
        y_seq, g_seq = run(selective_scan_sequential, inputs, backward)
        y_chk, g_chk = run(selective_scan_chunked, inputs, backward)
        scale = y_seq.abs().max().item()
        err = (y_seq - y_chk).abs().max().item()
        gerr = 0.0 if not backward else max(
            (a - b).abs().max().item() / max(a.abs().max().item(), 1e-30)
            for a, b in zip(g_seq, g_chk))
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        ok = err <= tol * max(scale, 1.0) and gerr <= tol * 10
        failed |= not ok
        print("b=%d %s: chunked vs sequential max|dy| = %.3g (max|y| = %.3g), max rel |dgrad|"
              " = %.3g -> %s" % (batch, str(dtype).replace("torch.", ""), err, scale, gerr,
                          "same" if ok else "DIFFER"))
        for label, bw in (("forward", False), ("forward+backward", True)):
            if bw and not backward:
                continue
            ms = median_ms(VARIANTS, inputs, bw, repeats)
            print("  %-17s " % label + "   ".join(
                "%s %.1f ms (%.1fx)" % (name, t, t / ms["chunked"]) for name, t in ms.items()),
                flush=True)
    return failed


if __name__ == "__main__":
    main()
