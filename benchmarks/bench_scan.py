"""The chunked selective scan (MambaRef's default) vs the plain loop and mambapy's parallel scan.

    python benchmarks/bench_scan.py [--length 720] [--batch 1,10] [--repeats 7] [--threads 1]
                                    [--backward-batch 1] [--forward-only] [--delta-bias -3]

All run the same scan (mamba_ssm's selective_scan_fn semantics: z gate, D skip, delta bias and
softplus) on the same random inputs, shaped like the smoke block's Mamba: (batch, Di=128, L)
with d_state=16 and A = -(1..16) (mamba's S4D-real init). Compared:
  sequential: `selective_scan_sequential`, a loop over time (the plain reference);
  mambapy: mambapy's `MambaBlock.selective_scan` with its Blelloch parallel scan `pscan` (the
    usual pure-PyTorch alternative on a CPU; it pads L to a power of two), wrapped with the
    same delta bias, softplus and z gate, its inputs made time-major and contiguous first;
  chunked: `selective_scan_chunked`, MambaRef's default.
Reports, per batch size and dtype, the median wall time of forward (every batch size) and of
forward+backward (the batch sizes in --backward-batch), the ratio of medians against the chunked
scan (other / chunked), and the largest differences from the loop. --delta-bias sets the Δ bias
(Δ = softplus(N(0,1) - 2 + bias)): -3 gives Δ ≈ 0.01 like an initialised Mamba; 1 gives
trained-like steps (Δ·|A| in the tens), where the chunked scan shortens its chunks. Torch runs on
--threads threads (default 1, the same for every variant: the machine may be shared, and one
thread keeps the figures stable); the warm-up call is not timed.
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
import torch.nn.functional as F

from mamba_doctor.block import selective_scan_chunked, selective_scan_sequential


def mambapy_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    from mambapy.mamba import MambaBlock  # its selective_scan does not use `self`

    dt = delta + delta_bias[:, None]
    dt = F.softplus(dt) if delta_softplus else dt
    x, dt, Bl, Cl = (t.transpose(1, 2).contiguous() for t in (u, dt, B, C))
    y = MambaBlock.selective_scan(None, x, dt, A, Bl, Cl, D)  # (b, l, d)
    return y.transpose(1, 2) * F.silu(z)


def variants(with_mambapy: bool) -> tuple:
    found = (("sequential", selective_scan_sequential),)
    if with_mambapy:
        found += (("mambapy", mambapy_scan),)
    return (*found, ("chunked", selective_scan_chunked))


def make_inputs(batch: int, d: int, n: int, length: int, dtype: torch.dtype, bias: float) -> list:
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=dtype)

    A = -torch.arange(1, n + 1, dtype=dtype).repeat(d, 1)  # mamba's S4D-real init
    return [r(batch, d, length), r(batch, d, length) - 2.0, A, r(batch, n, length),
            r(batch, n, length), torch.ones(d, dtype=dtype), r(batch, d, length),
            torch.full((d,), bias, dtype=dtype)]


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


def median_ms(found: tuple, inputs: list, backward: bool, repeats: int) -> dict:
    """Median wall time (ms) of each variant, the variants interleaved so that a change in the
    machine's load during the run touches them all alike."""
    for _, fn in found:
        run(fn, inputs, backward)  # warm-up
    times: dict = {name: [] for name, _ in found}
    for _ in range(repeats):
        for name, fn in found:
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
    ap.add_argument("--delta-bias", type=float, default=-3.0,
                    help="Δ bias: -3 ≈ initialised Mamba, 1 ≈ trained-like large steps")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import mambapy.pscan  # noqa: F401
        with_mambapy = True
    except ImportError:
        with_mambapy = False
        print("mambapy is not installed: comparing with the loop only (pip install mambapy)")
    batches = [int(x) for x in args.batch.split(",")]
    bw_batches = set() if args.forward_only else {int(x) for x in args.backward_batch.split(",")}
    print("torch %s, %d threads, d=128, l=%d, n=16, delta bias %g, median of %d; ratio = "
          "other / chunked" % (torch.__version__, torch.get_num_threads(), args.length,
                               args.delta_bias, args.repeats))
    failed = False
    for batch in batches:
        failed |= bench_batch(batch, args, batch in bw_batches, variants(with_mambapy))
    sys.exit(1 if failed else 0)


def bench_batch(batch: int, args: argparse.Namespace, backward: bool, found: tuple) -> bool:
    """Print one batch size's figures; return whether a scan disagreed with the loop."""
    failed = False
    for dtype in (torch.float32, torch.float64):
        inputs = make_inputs(batch, 128, 16, args.length, dtype, args.delta_bias)
        y_seq, g_seq = run(selective_scan_sequential, inputs, backward)
        scale = y_seq.abs().max().item()
        notes = []
        for name, fn in found[1:]:
            y, g = run(fn, inputs, backward)
            err = (y_seq - y).abs().max().item() / max(scale, 1e-30)
            gerr = 0.0 if not backward else max(
                (a - b).abs().max().item() / max(a.abs().max().item(), 1e-30)
                for a, b in zip(g_seq, g))
            notes.append("%s %.2g / %.2g" % (name, err, gerr))
            if name == "chunked":
                tol = 1e-5 if dtype == torch.float32 else 1e-12
                failed |= not (err <= tol and gerr <= 10 * tol)
        print("b=%d %s: max relative difference from the loop (output / gradients): %s"
              % (batch, str(dtype).replace("torch.", ""), ", ".join(notes)))
        for label, bw in (("forward", False), ("forward+backward", True)):
            if bw and not backward:
                continue
            ms = median_ms(found, inputs, bw, args.repeats)
            print("  %-17s " % label + "   ".join(
                "%s %.1f ms (%.1fx)" % (name, t, t / ms["chunked"]) for name, t in ms.items()),
                flush=True)
    return failed


if __name__ == "__main__":
    main()
