"""When no wheel fits: why (blockers) and the nearest ways out as exact commands, ranked. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Optional, Sequence

from packaging.version import Version

from mamba_doctor._compat import removeprefix
from mamba_doctor.knowledge.cuda_tables import (
    TORCH_INDEX,
    torch_default_abi,
    torch_has_python,
    torch_variants,
)
from mamba_doctor.models import Environment
from mamba_doctor.wheels.candidates import fitting, version_groups, wheel_rejections
from mamba_doctor.wheels.facts import Facts, apply_overrides, facts_of
from mamba_doctor.wheels.index import Release, WheelIndex, label_key
from mamba_doctor.wheels.resolution import Alternative

_MAX_PER_KIND = 2


def blockers(releases: Sequence[Release], f: Facts, package: str) -> list[str]:
    """Reasons shared by every existing wheel: the facts no release of `package` can satisfy."""

    common: Optional[set[str]] = None
    examples: dict[str, str] = {}
    # Judge within this platform (and Python) when wheels exist for it: "no aarch64 wheel for
    # CUDA 11" is the useful sentence, although x86_64 cu11 wheels exist.
    pool = _pool(releases, f.platform, f.python) or _pool(releases, f.platform, None) \
        or [(rel, w) for rel in releases for w in rel.wheels]
    for rel, w in pool:
        if not w.available:
            continue
        codes = {r.code: r.message for r in wheel_rejections(w, f, rel)}
        examples.update({c: m for c, m in codes.items() if c not in examples})
        common = set(codes) if common is None else common & set(codes)
        if not common:
            return []
    if common is None:
        return [f"no {package} wheel is published for the requested release(s)"]
    avail = [w for _, w in pool if w.available]
    where = f" for {f.platform}" if f.platform else ""
    out = []
    for code in sorted(common):
        if code == "torch":
            labels = sorted({w.torch for w in avail if not w.ngc}, key=label_key)
            out.append(f"no {package} wheel is built for torch {f.torch_minor}{where} "
                       f"(torch {labels[0]} to {labels[-1]} are)")
        elif code == "python":
            pys = sorted({w.python for w in avail}, key=label_key)
            out.append(f"no {package} wheel is built for Python {f.python}{where} "
                       f"(Python {pys[0]} to {pys[-1]} are)")
        elif code == "cuda":
            majors = sorted({w.cuda_major for w in avail})
            out.append(f"no {package} wheel is built for CUDA {f.cuda_major}{where} (CUDA "
                       + ", ".join(map(str, majors)) + " are)")
        elif code == "platform" and f.platform:
            plats = sorted({w.platform for w in avail})
            out.append(f"no {package} wheel is built for {f.platform} (only for "
                       + ", ".join(plats) + ")")
        elif code in _NEEDS_CUDA_TORCH:
            # the example would only repeat the reason ("this torch is a CPU-only build")
            out.append(f"no {package} wheel fits {_FACT[code]}: every wheel needs a CUDA "
                       "build of torch")
        elif code in _FACT:
            out.append(f"no {package} wheel fits on {_FACT[code]}: e.g. {examples[code]}")
        else:
            out.append(examples[code])
    return out


def _pool(releases: Sequence[Release], platform: Optional[str],
          python: Optional[str]) -> list[tuple[Release, Any]]:
    if platform is None:
        return []
    return [(rel, w) for rel in releases for w in rel.wheels_for(platform, python)]


_NEEDS_CUDA_TORCH = frozenset({"cpu_torch", "hip", "torch_absent"})
_FACT = {
    "platform": "this platform", "python": "this Python", "torch": "this torch version",
    "cuda": "this CUDA major", "cpu_torch": "a CPU-only torch", "cxx11abi": "this C++ ABI",
    "gpu_arch": "this GPU", "glibc": "this glibc", "ngc": "this NGC container",
    "hip": "a ROCm torch", "torch_absent": "a machine without torch",
    "runtime_python": "this Python (at import time)",
}


def alternatives_for(env: Environment, index: WheelIndex, package: str, f: Facts, *,
                     version: Optional[str] = None,
                     allowed: Optional[Callable[[Release], bool]] = None) -> tuple[Any, ...]:
    """Ranked alternatives: another version, another torch, another Python, a source build."""
    out: list[Alternative] = []
    rels = [r for r in index.for_package(package) if allowed is None or allowed(r)]
    # 1. another release of this package with a wheel for this very environment
    for group in version_groups(rels):
        if version is not None and group[0].version == version:
            continue
        if fitting(group, f):
            v = group[0].version
            out.append(Alternative("version", f"{package} {v} has a wheel for this environment",
                                   (f"mamba-doctor fetch-wheel --package {package} --version {v}",),
                                   rank=10))
            break
    out.extend(_torch_alternatives(env, index, rels, f, package))
    out.extend(_python_alternatives(env, rels, f, package))
    out.extend(_source_alternatives(f, package))
    return tuple(sorted(out, key=lambda a: a.rank))


def _torch_alternatives(env: Environment, index: WheelIndex, rels: Sequence[Release], f: Facts,
                        package: str) -> list[Any]:
    if f.platform is not None and not f.platform.startswith("linux"):
        return []
    labels = sorted({w.torch for r in rels for w in r.wheels if w.available and not w.ngc},
                    key=label_key, reverse=True)
    majors = _cuda_majors(f)
    found: list[tuple[tuple[int, int], Any]] = []
    for label in labels:
        if label == f.torch_minor and not f.torch_is_cpu and f.torch_state == "installed":
            continue
        if torch_has_python(label, f.python) is False:
            continue
        for order, major in enumerate(majors):
            variant = _best_variant(torch_variants(label), major, f.driver_cuda)
            if variant is None:
                continue
            abi = torch_default_abi(label, variant)
            cuda = f"{variant[2:-1]}.{variant[-1]}"
            trial = apply_overrides(replace(env, torch=replace(env.torch, hip=None)),
                                    torch_version=f"{label}.0", cuda_version=cuda,
                                    cxx11abi=abi)
            tf = replace(facts_of(trial), ngc=None)
            wheels = fitting([r for r in rels if label in _labels(r)], tf)
            if not wheels:
                continue
            best = max(wheels, key=lambda w: Version(removeprefix(w.tag, "v")))
            driver = "" if f.driver_cuda else " (driver not checked: make sure it supports " \
                f"CUDA {cuda})"
            distance = abs(_minor_index(label) - _minor_index(f.torch_minor)) \
                if f.torch_minor else 0
            alt = Alternative(
                "torch",
                f"torch {label} with CUDA {cuda} ({variant}): {package} {best.version} has a "
                f"wheel for it{driver}; torch's companions (torchvision...) must match",
                (f"pip install 'torch=={label}.*' --index-url {TORCH_INDEX}/{variant}",
                 f"mamba-doctor fetch-wheel --package {package} --version {best.version}"),
                rank=20 + order * 10 + distance)
            found.append(((order, distance), alt))
            break
    found.sort(key=lambda t: t[0])
    return [alt for _, alt in found[:_MAX_PER_KIND]]


def _python_alternatives(env: Environment, rels: Sequence[Release], f: Facts,
                         package: str) -> list[Any]:
    if f.python is None or (f.platform is not None and not f.platform.startswith("linux")):
        return []
    pythons = sorted({w.python for r in rels for w in r.wheels if w.available}, key=label_key,
                     reverse=True)
    for py in pythons:
        if py == f.python:
            continue
        trial = facts_of(apply_overrides(env, python_version=py))
        trial = replace(trial, free_threaded=False)
        if fitting(rels, trial):
            return [Alternative(
                "python", f"Python {py} has a {package} wheel for this torch/CUDA; create an "
                f"environment with it and install the same torch there",
                (f"python{py} -m venv ~/.venvs/mamba-py{py.replace('.', '')}",), rank=50)]
    return []


def _source_alternatives(f: Facts, package: str) -> list[Any]:
    plat = f.platform or "linux"
    if plat.startswith("win"):
        return [Alternative("platform", "native Windows has no wheels and the CUDA build is "
                            "unsupported: use WSL2 (Ubuntu) and run mamba-doctor there",
                            ("wsl --install -d Ubuntu",), rank=5)]
    if plat.startswith("macosx"):
        return [Alternative("platform", "macOS has no CUDA: Mamba's kernels need a Linux machine "
                            "with an NVIDIA GPU (resolve for it with --env FILE)", (), rank=5)]
    if f.torch_is_cpu or f.hip or f.torch_state == "absent":
        return []
    arches = sorted({sm for _, sm in f.gpus})
    if arches:
        cmds = tuple(f"mamba-doctor install --from-source --arch {sm // 10}.{sm % 10}"
                     for sm in arches[:1]) if len(arches) == 1 else (
            "mamba-doctor install --from-source --arch "
            + ",".join(f"{sm // 10}.{sm % 10}" for sm in arches),)
        what = "your GPU's architecture only"
    else:
        cmds = ("mamba-doctor install --from-source",)
        what = "the GPU architectures you name with --arch X.Y (no GPU was visible here)"
    return [Alternative("source", f"build {package} from source for {what} (needs nvcc "
                        "matching torch's CUDA; minutes instead of an hour when one arch)", cmds,
                        rank=90)]


def _labels(rel: Release) -> frozenset[str]:
    found = _LABELS.get((rel.package, rel.tag))
    if found is None:
        found = _LABELS[(rel.package, rel.tag)] = frozenset(w.torch for w in rel.wheels)
    return found


_LABELS: dict[tuple[str, str], frozenset[str]] = {}


def _cuda_majors(f: Facts) -> list[int]:
    ceiling = f.driver_cuda.major if f.driver_cuda else None
    first = f.cuda_major if f.cuda_major is not None else ceiling if ceiling is not None else 12
    others = [m for m in (13, 12, 11) if m != first and (ceiling is None or m <= ceiling)]
    return [first, *others]


def _best_variant(variants: Sequence[str], major: int, driver: Optional[Version]) -> Optional[str]:
    ok = []
    for v in variants:
        digits = removeprefix(v, "cu")
        if not digits.isdigit() or int(digits[:-1]) != major:
            continue
        if driver is not None and Version(f"{digits[:-1]}.{digits[-1]}") > driver:
            continue
        ok.append(v)
    return max(ok, key=lambda v: int(v[2:]), default=None)


def _minor_index(label: Optional[str]) -> int:
    major, minor = (*label_key(label or "0.0"), 0, 0)[:2]
    return major * 100 + minor

