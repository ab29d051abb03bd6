"""How much faster is a one-architecture build than upstream's -gencode list? Compiles ONE real .cu.

Usage (needs nvcc and a Python with torch, whose headers a CPU build also ships):
    python benchmarks/bench_arch_build.py --sdist mamba_ssm-2.3.2.post1.tar.gz \
        [--unit csrc/selective_scan/selective_scan_fwd_fp32.cu] [--arch 90] [--repeat 3]
Prints the median wall time of compiling the unit for upstream's list (mamba-ssm 2.3.2's, as
setup.py builds it for this nvcc) and for one architecture, and their ratio. The same nvcc
flags setup.py passes are used (-O3, --use_fast_math, --threads 4, ...), so the figures are what
each nvcc call of a real build costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path


# mamba-ssm 2.3.2 / causal-conv1d 1.7.0 setup.py (scheme E of the shared wheels reference, §6):
# sm_75, 80, 87, 90, + 100/120 (nvcc >= 12.8), + 103/110/121 (nvcc >= 13.0).
def upstream_archs(nvcc_version: tuple[int, int]) -> list[int]:
    archs = [75, 80, 87, 90]
    if nvcc_version >= (12, 8):
        archs += [100, 120]
    if nvcc_version >= (13, 0):
        archs += [103, 110, 121]
    return archs


NVCC_FLAGS = ["-O3", "-std=c++17", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
              "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
              "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math", "-lineinfo",
              "--threads", "4"]


def torch_includes(scratch: Path) -> list[str]:
    import torch.utils.cpp_extension as ext

    out = []
    for d in ext.include_paths():
        out += ["-I", d]
    # A CPU build of torch ships the CUDA headers but not this one generated header; its whole
    # content in CUDA builds is the define below, so the benchmark supplies it.
    macros = "c10/cuda/impl/cuda_cmake_macros.h"
    if not any((Path(d) / macros).exists() for d in ext.include_paths()):
        stub = scratch / "stub-include" / "c10" / "cuda" / "impl"
        stub.mkdir(parents=True)
        (stub / "cuda_cmake_macros.h").write_text(
            "#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
        out += ["-I", str(scratch / "stub-include")]
    return [*out, "-I", sysconfig.get_paths()["include"]]


def nvcc_version(nvcc: str) -> tuple[int, int]:
    text = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = text.split("release ")[1].split(",")[0].split(".")
    return int(major), int(minor)


def compile_once(nvcc: str, unit: Path, archs: list[int], includes: list[str], out: Path
                 ) -> tuple[float, float]:
    """(wall seconds, CPU seconds of nvcc and its children)."""
    gencode = [f for a in archs for f in ("-gencode", f"arch=compute_{a},code=sm_{a}")]
    argv = [nvcc, *includes, "-I", str(unit.parent), *NVCC_FLAGS, *gencode,
            "-D_GLIBCXX_USE_CXX11_ABI=1", "-DTORCH_EXTENSION_NAME=bench", "-Xcompiler", "-fPIC",
            "-c", str(unit), "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sdist", required=True, type=Path)
    ap.add_argument("--unit", default="csrc/selective_scan/selective_scan_fwd_fp32.cu")
    ap.add_argument("--arch", type=int, default=90, help="the one architecture (90 = H100/H200)")
    ap.add_argument("--nvcc", default="nvcc")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the one-arch build")
    ap.add_argument("--repeat-full", type=int, default=1, help="runs of the full-list build")
    args = ap.parse_args()
    version = nvcc_version(args.nvcc)
    full = upstream_archs(version)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.sdist) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        unit = next(Path(tmp).glob(f"*/{args.unit}"))
        inc = torch_includes(Path(tmp))
        out = Path(tmp) / "unit.o"
        one: list[tuple[float, float]] = []
        many: list[tuple[float, float]] = []
        # Interleaved, so that a change in machine load hits both sides alike.
        for i in range(max(args.repeat, args.repeat_full)):
            if i < args.repeat:
                one.append(compile_once(args.nvcc, unit, [args.arch], inc, out))
            if i < args.repeat_full:
                many.append(compile_once(args.nvcc, unit, full, inc, out))

    def med(xs: list[tuple[float, float]], k: int) -> float:
        return statistics.median(x[k] for x in xs)

    result = {
        "unit": args.unit, "nvcc": f"{version[0]}.{version[1]}",
        "one_arch": f"sm_{args.arch}", "upstream_archs": [f"sm_{a}" for a in full],
        "one_arch_wall_s": [round(w, 1) for w, _ in one],
        "one_arch_cpu_s": [round(c, 1) for _, c in one],
        "upstream_wall_s": [round(w, 1) for w, _ in many],
        "upstream_cpu_s": [round(c, 1) for _, c in many],
        "speedup_wall_median": round(med(many, 0) / med(one, 0), 2),
        "speedup_cpu_median": round(med(many, 1) / med(one, 1), 2),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
