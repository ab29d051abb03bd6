"""Benchmark: load the wheel index and resolve, each in a fresh interpreter (what a CLI run pays).

    python benchmarks/wheel_index.py [--runs 15] [--reference ../shared/reference/wheels]

Compares `load_index()` (compact index, wheels built lazily) with the usual alternative, reading
the full research JSON files (shared/reference/wheels/*.json, 4.6 MB) with json.load, both timed
after imports, and reports the median of each and their ratio. Also times a full
`resolve_pair()` (imports and index load included) for the classic environment and for a
"nothing fits" environment that computes alternatives.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LOAD = ("import time; t=time.perf_counter(); from mamba_doctor.wheels.index import load_index; "
        "i=load_index(); [r.wheels for p in ('mamba_ssm','causal_conv1d') "
        "for r in i.for_package(p)]; print(time.perf_counter()-t)")
LOAD_ONLY = ("import time; from mamba_doctor.wheels.index import load_index; "
             "t=time.perf_counter(); load_index(); print(time.perf_counter()-t)")
RAW = ("import time, json; t=time.perf_counter(); "
       "[json.load(open(r'{ref}/' + n + '.json')) for n in ('mamba_ssm','causal_conv1d')]; "
       "print(time.perf_counter()-t)")
RESOLVE = ("import time; t=time.perf_counter(); from mamba_doctor.wheels.index import load_index; "
           "from mamba_doctor.wheels.resolve import resolve_pair, apply_overrides; "
           "from mamba_doctor.models import Environment; "
           "env=apply_overrides(Environment(), torch_version='{torch}', python_version='{py}', "
           "cxx11abi={abi}, platform='linux_x86_64'); resolve_pair(env, load_index()); "
           "print(time.perf_counter()-t)")


def _median_ms(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        times.append(float(out.strip()) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reference", default=str(REPO.parent / "shared/reference/wheels"))
    args = parser.parse_args()
    load = _median_ms(LOAD, args.runs)
    rows = [("import + load_index() + build all 6,662 wheels", load)]
    ref = Path(args.reference)
    if not (ref / "mamba_ssm.json").is_file():
        ref = REPO.parent.parent / "shared/reference/wheels"
    if (ref / "mamba_ssm.json").is_file():
        raw = _median_ms(RAW.format(ref=ref), args.runs)
        rows.append(("json.load of the research JSON (alternative)", raw))
    rows.append(("load_index() alone (modules already imported)", _median_ms(LOAD_ONLY,
                                                                              args.runs)))
    rows.append(("resolve_pair, classic env (torch 2.0 cu118 py3.8)", _median_ms(
        RESOLVE.format(torch="2.0.0+cu118", py="3.8", abi=False), args.runs)))
    rows.append(("resolve_pair, no wheel (torch 2.11 cu128 py3.12)", _median_ms(
        RESOLVE.format(torch="2.11.0+cu128", py="3.12", abi=True), args.runs)))
    for name, ms in rows:
        sys.stdout.write(f"{name:55s} median {ms:7.1f} ms\n")
    by = dict(rows)
    raw_key = "json.load of the research JSON (alternative)"
    if raw_key in by:
        ratio = by[raw_key] / by["load_index() alone (modules already imported)"]
        sys.stdout.write(f"load_index() is {ratio:.1f}x faster than reading the research JSON\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
