"""Time `diagnose()` on two 50,000-line logs (pip and nvcc noise; every line distinct) against a
plain regex pass per signature, and on 1 MiB single-line inputs built from the engine's anchors.

    python benchmarks/bench_diagnose.py [--lines 50000] [--repeat 5] [--pathological]

The alternative is what a simple log matcher does: search the whole text once per signature with
`re.search` (plain substrings escaped). Both see the same log, the real error at its end. Prints
the median of each and their ratio, for each log.

--pathological sweeps every needle of the knowledge base (substrings and regex anchors) through
four 1 MiB shapes without a newline (the needle repeated; with a space; padded with 37 letters;
a near miss with its last character changed), plus every needle concatenated, and prints the
slowest; a matcher that is quadratic on long lines takes minutes on these, the bound is 2 s.
"""

# ruff: noqa: T201  # a benchmark script: printing the figures is its job
from __future__ import annotations

import argparse
import random
import re
import statistics
import time

from mamba_doctor.diagnose.engine import diagnose
from mamba_doctor.knowledge.failures import load_knowledge

ERROR = ("ImportError: /env/lib/python3.10/site-packages/selective_scan_cuda.cpython-310-x86_64-"
         "linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi\n")


def make_log(lines: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    pkgs = ["numpy", "einops", "transformers", "tokenizers", "safetensors", "filelock", "sympy"]
    out = []
    for i in range(lines):
        p, v = rng.choice(pkgs), f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        out.append(rng.choice([
            f"Collecting {p}>={v} (from transformers)",
            f"  Downloading {p}-{v}-py3-none-any.whl ({rng.randint(10, 9000)} kB)",
            f"     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ {rng.randint(1, 99)}.0/99.0 MB 40.1 MB/s",
            f"Requirement already satisfied: {p} in ./.venv/lib/python3.11/site-packages ({v})",
            f"      [{i % 48 + 1}/48] /usr/local/cuda/bin/nvcc -c csrc/selective_scan/"
            f"selective_scan_fwd_bf16.cu -gencode arch=compute_90,code=sm_90 --threads 4",
        ]))
    return "\n".join(out) + "\n" + ERROR


def make_distinct_log(lines: int, seed: int = 7) -> str:
    """A log none of whose words repeats much: a timestamp, a step and a hex id on every line,
    and a path that changes with it. The engine's word index (diagnose/vocabulary.py) is then
    nearly as large as the text, its worst case."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        out.append(f"[2026-12-07 14:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 100:02d}] "
                   f"step {i} loss={rng.random():.6f} id={rng.getrandbits(64):016x} "
                   f"ckpt=/scratch/run{rng.randint(0, 10**6)}/epoch{i // 1000}/shard{i}.pt")
    return "\n".join(out) + "\n" + ERROR


def naive(text: str, patterns: list[re.Pattern[str]]) -> int:
    return sum(1 for rx in patterns if rx.search(text))


MIB = 1 << 20


def needles() -> list[str]:
    kb = load_knowledge()
    out: set[str] = set()
    for sig in [s for m in kb.modes for s in (*m.signatures, *m.negative)] + list(kb.kernels_ran):
        for part in sig.parts:
            out.update(n.decode() for n in part.needles)
    return sorted(out)


def pathological() -> None:
    shapes = []
    for needle in needles():
        shapes += [needle, needle + " ", needle + "x" * 37, needle[:-1] + "#"]
    shapes.append("".join(needles()))
    timings = []
    start = time.perf_counter()
    for shape in shapes:
        text = (shape * (MIB // len(shape) + 1))[:MIB]
        t0 = time.perf_counter()
        diagnose(text, limit=0)
        timings.append((time.perf_counter() - t0, shape))
    timings.sort(reverse=True)
    print(f"pathological: {len(shapes)} shapes of 1 MiB on one line in "
          f"{time.perf_counter() - start:.0f} s; median "
          f"{statistics.median(t for t, _ in timings) * 1000:.0f} ms, slowest:")
    for took, shape in timings[:5]:
        print(f"  {took * 1000:7.0f} ms  {shape[:40]!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pathological", action="store_true",
                        help="also sweep the 1 MiB single-line shapes")
    args = parser.parse_args()
    kb = load_knowledge()
    patterns = []
    for mode in kb.modes:
        for sig in (*mode.signatures, *mode.negative):
            for part in sig.parts:
                src = part.pattern if part.kind == "regex" else re.escape(part.pattern)
                patterns.append(re.compile(src, re.MULTILINE))
    print(f"{len(patterns)} patterns; median of {args.repeat} runs")
    logs = (("pip and nvcc lines", make_log), ("every line distinct", make_distinct_log))
    for name, make in logs:
        text = make(args.lines)
        ours, theirs = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            found = diagnose(text)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            naive(text, patterns)
            theirs.append(time.perf_counter() - start)
        assert found and found[0].id == "torch-version-mismatch-undefined-symbol"
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"log of {name}: {args.lines} lines, {len(text) / 1e6:.1f} MB")
        print(f"  diagnose():             median {a * 1000:7.1f} ms")
        print(f"  regex per signature:    median {b * 1000:7.1f} ms")
        print(f"  ratio (regex/diagnose): {b / a:.1f}x")
    if args.pathological:
        pathological()


if __name__ == "__main__":
    main()
