"""Time `mamba-doctor check --json` against `python -m torch.utils.collect_env` in one environment.

    python benchmarks/bench_check.py [--python PATH] [--runs 7]

Runs are interleaved (check, collect_env, check --deep, ...) after one warm-up of each so that
both see the same page cache and machine load. Prints the median wall time of each and the
ratio of medians (target: check / collect_env <= 0.6). `check --deep` also imports a CPU-only
torch, which is what `check` always does for a CUDA build.
"""

# ruff: noqa: T201  # a benchmark script reports on stdout
from __future__ import annotations

import argparse
import statistics
import sys
import time

from mamba_doctor import _run


def _time(argv: list[str], timeout: float) -> float:
    start = time.perf_counter()
    done = _run.run(argv, timeout=timeout)
    elapsed = time.perf_counter() - start
    if done.timed_out or done.start_error or done.returncode not in (0, 3):
        sys.exit(f"benchmark command failed: {' '.join(argv[:6])}: {done.describe_failure()}\n"
                 f"{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable,
                        help="target interpreter (needs torch for collect_env)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    check = [sys.executable, "-m", "mamba_doctor", "check", "--json", "--python", args.python]
    commands = {
        "mamba-doctor check --json": check,
        "mamba-doctor check --json --deep": [*check, "--deep"],
        "python -m torch.utils.collect_env": [args.python, "-m", "torch.utils.collect_env"],
    }
    for argv in commands.values():  # warm-up: page cache, .pyc files
        _time(argv, args.timeout)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(_time(argv, args.timeout))

    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["python -m torch.utils.collect_env"]
    print(f"target: {args.python}   runs: {args.runs} (after 1 warm-up each)")
    for name, t in times.items():
        spread = f"min {min(t):.2f} s, max {max(t):.2f} s"
        print(f"  {name:36s} median {medians[name]:6.2f} s  ({spread})")
    for name in ("mamba-doctor check --json", "mamba-doctor check --json --deep"):
        print(f"ratio of medians  {name} / collect_env = {medians[name] / base:.2f}")


if __name__ == "__main__":
    main()
