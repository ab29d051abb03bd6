"""Start-up of the zipapp (`python3 mamba-doctor.pyz`) against the pip-installed entry point.

    .venv-py313/bin/python benchmarks/bench_zipapp.py [--pyz dist/mamba-doctor.pyz] [--runs 9]

The entry point is the `mamba-doctor` script of the venv running this benchmark; the zipapp
runs on that venv's base interpreter, which has nothing installed. Each timed pair runs
`--help` (typer, click and rich imported, help rendered) and `--version`, interleaved, after one
warm-up. The zipapp's first run in an empty cache (unpack + compile) is timed separately, three
times. Prints medians and the ratios of medians (zipapp / entry point).
"""

# ruff: noqa: T201  # a benchmark script reports on stdout
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyz", type=Path, default=ROOT / "dist" / "mamba-doctor.pyz")
    parser.add_argument("--entry", default=str(Path(sys.executable).parent / "mamba-doctor"))
    parser.add_argument("--python", default=str(Path(sys.base_prefix) / "bin" / "python3"),
                        help="interpreter for the zipapp [default: this venv's base Python]")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if not args.pyz.is_file():
        sys.exit(f"{args.pyz}: not built (python3 scripts/build-zipapp.py)")

    cache = Path(tempfile.mkdtemp(prefix="bench-zipapp-"))
    env = {**os.environ, "MAMBA_DOCTOR_CACHE_DIR": str(cache)}
    try:
        cold = []
        for _ in range(3):
            shutil.rmtree(cache / "zipapp", ignore_errors=True)
            cold.append(_time([args.python, str(args.pyz), "--version"], env))
        commands = {}
        for flag in ("--help", "--version"):
            commands[f"zipapp {flag}"] = [args.python, str(args.pyz), flag]
            commands[f"entry point {flag}"] = [args.entry, flag]
        for argv in commands.values():
            _time(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(_time(argv, env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    medians = {name: statistics.median(t) for name, t in times.items()}
    version = subprocess.run([args.python, "-V"], capture_output=True, text=True).stdout.strip()
    print(f"zipapp: {args.pyz} ({args.pyz.stat().st_size / 1e6:.2f} MB) on {version}")
    print(f"entry point: {args.entry}   runs: {args.runs} (after 1 warm-up each)")
    print(f"  zipapp first run, empty cache (unpack + compile): median "
          f"{statistics.median(cold):.2f} s (of 3)")
    for name, t in times.items():
        print(f"  {name:22s} median {medians[name]:.3f} s  (min {min(t):.3f}, max {max(t):.3f})")
    for flag in ("--help", "--version"):
        ratio = medians[f"zipapp {flag}"] / medians[f"entry point {flag}"]
        print(f"ratio of medians  zipapp / entry point, {flag}: {ratio:.2f}")


if __name__ == "__main__":
    main()
