"""When no wheel fits: why (blockers), and the nearest ways out as data, ranked. Pure.

What would fit is computed here (another release, another torch, another Python, a source
build); phrasing it as commands for a target is mamba_doctor/advice's job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

from packaging.version import Version

from mamba_doctor._compat import removeprefix
from mamba_doctor.knowledge.cuda_tables import (
    cuda_tuple,
    driver_ceiling,
    driver_runs,
    torch_default_abi,
    torch_has_python,
    torch_minors,
    torch_runs_on,
    torch_variants,
    variant_cuda,
)
from mamba_doctor.models import Environment
from mamba_doctor.wheels.buildable import check_build
from mamba_doctor.wheels.candidates import fitting, version_groups, wheel_rejections
from mamba_doctor.wheels.facts import Facts, apply_overrides, facts_of
from mamba_doctor.wheels.index import Release, WheelIndex, label_key
from mamba_doctor.wheels.resolution import Alternative

# One torch way out: the torch the advice engine recommends everywhere else.
_MAX_PER_KIND = 1


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
    """Ranked alternatives: another version, another torch, another Python, a source build.
    Only ways the facts do not rule out (a torch the driver, the GPU and the Python can run; a
    build a toolkit of torch's CUDA major can compile)."""
    out: list[Alternative] = []
    rels = [r for r in index.for_package(package) if allowed is None or allowed(r)]
    # 1. another release of this package with a wheel for this very environment
    for group in version_groups(rels):
        if version is not None and group[0].version == version:
            continue
        if fitting(group, f):
            v = group[0].version
            out.append(Alternative("version", f"{package} {v} has a wheel for this environment",
                                   rank=10, package=package, release=v))
            break
    options = torch_options(env, index, package, rels)
    with_wheel = [o for o in options if o.release is not None]
    for order, option in enumerate(with_wheel):
        if order == _MAX_PER_KIND:
            break
        cuda = variant_cuda(option.variant) or (0, 0)
        driver = "" if option.driver_checked else \
            f" (driver not checked: it must support CUDA {cuda[0]}.{cuda[1]})"
        out.append(Alternative(
            "torch", f"torch {option.minor} with CUDA {cuda[0]}.{cuda[1]} ({option.variant}): "
            f"{package} {option.release} has a wheel for it{driver}; torch's companions "
            "(torchvision...) must match", rank=20 + order, package=package,
            release=option.release, torch=option.minor, variant=option.variant))
    if not with_wheel and options and not check_build(env).possible:
        out.extend(_torch_then_build(env, options[0], package))
    out.extend(_python_alternatives(env, rels, f, package))
    out.extend(_source_alternatives(env, f, package))
    return tuple(sorted(out, key=lambda a: a.rank))


def _torch_then_build(env: Environment, option: TorchOption, package: str) -> list[Any]:
    """No torch that runs here has a wheel: a torch that runs, then a source build, when the
    build would then be possible."""
    cuda = f"{option.variant[2:-1]}.{option.variant[-1]}"
    trial = apply_overrides(replace(env, torch=replace(env.torch, hip=None, arch_list=())),
                            torch_version=f"{option.minor}.0", cuda_version=cuda,
                            cxx11abi=torch_default_abi(option.minor, option.variant))
    build = check_build(trial)
    if not build.possible:
        return []
    return [Alternative("torch", f"torch {option.minor} with CUDA {cuda} ({option.variant}) runs "
                        f"here, then build {package} from source: no torch this machine runs has "
                        "a prebuilt wheel for it", rank=80, package=package, torch=option.minor,
                        variant=option.variant, arches=build.sms)]


@dataclass(frozen=True)
class TorchOption:
    """A torch build this machine can run: `release` is the newest `package` release with a
    wheel for it here (None: none has one)."""

    minor: str
    variant: str
    release: Optional[str]
    driver_checked: bool  # False: the driver's CUDA ceiling is unknown
    within_ceiling: bool = True  # False: runs only through CUDA minor-version compatibility


def torch_options(env: Environment, index: WheelIndex, package: str = "mamba_ssm",
                  releases: Optional[Sequence[Release]] = None) -> list[TorchOption]:
    """Every torch minor + CUDA variant that publishes a wheel for the target's Python, that the
    driver runs and that has kernels for every GPU torch will use; best first: one with a
    `package` wheel, then one within the driver's CUDA ceiling (minor-version compatibility
    runs SASS but not the PTX that Triton compiles, so it is only a last resort), then the CUDA
    major torch already uses (else the driver's), then the nearest torch release, then newer.
    One variant per minor: the newest the driver runs within its ceiling, else by
    compatibility."""
    f = facts_of(env)
    if f.platform is not None and not f.platform.startswith("linux"):
        return []
    rels = list(releases if releases is not None else index.for_package(package))
    ceiling = env.nvidia.cuda_driver_version
    driver = env.nvidia.driver_version
    majors = _cuda_majors(f)
    current = None if f.torch_is_cpu or f.torch_state != "installed" or f.hip else (
        f.torch_minor, f"cu{f.cuda.replace('.', '')}" if f.cuda else None)
    found: list[tuple[tuple[Any, ...], TorchOption]] = []
    for minor in torch_minors():
        if torch_has_python(minor, f.python) is False:
            continue
        choice = _variant_for(minor, majors, f, ceiling, driver, current)
        if choice is None:
            continue
        variant, order, exact = choice
        release = _release_for(env, rels, minor, variant)
        distance = abs(_minor_index(minor) - _minor_index(f.torch_minor)) if f.torch_minor \
            else 0
        option = TorchOption(minor, variant, release, driver_checked=driver_known(env),
                             within_ceiling=exact)
        found.append(((release is None, not exact, order, distance, -_minor_index(minor)),
                      option))
    found.sort(key=lambda t: t[0])
    return [o for _, o in found]


def driver_known(env: Environment) -> bool:
    """Whether the driver's CUDA ceiling is known (reported, or read from its version)."""
    nv = env.nvidia
    return cuda_tuple(nv.cuda_driver_version or driver_ceiling(nv.driver_version)) is not None


def _variant_for(minor: str, majors: Sequence[int], f: Facts, ceiling: Optional[str],
                 driver: Optional[str], current: Optional[tuple[Optional[str], Optional[str]]]
                 ) -> Optional[tuple[str, int, bool]]:
    top = cuda_tuple(ceiling or driver_ceiling(driver))
    for order, major in enumerate(majors):
        runnable = []
        for variant in torch_variants(minor):
            cuda = variant_cuda(variant)
            if cuda is None or cuda[0] != major or (minor, variant) == current:
                continue
            if driver_runs(cuda, ceiling, driver) is False:
                continue
            if any(torch_runs_on(minor, variant, sm) is False for _, sm in f.gpus):
                continue
            runnable.append((top is None or cuda <= top, cuda, variant))
        if runnable:
            exact, _cuda, variant = max(runnable)
            return variant, order, exact
    return None


def _release_for(env: Environment, rels: Sequence[Release], minor: str, variant: str
                 ) -> Optional[str]:
    """Newest release with a wheel for this env once torch is `minor` + `variant`."""
    cuda = f"{variant[2:-1]}.{variant[-1]}"
    trial = apply_overrides(replace(env, torch=replace(env.torch, hip=None)),
                            torch_version=f"{minor}.0", cuda_version=cuda,
                            cxx11abi=torch_default_abi(minor, variant))
    tf = replace(facts_of(trial), ngc=None)
    wheels = fitting([r for r in rels if minor in _labels(r)], tf)
    if not wheels:
        return None
    return max(wheels, key=lambda w: Version(removeprefix(w.tag, "v"))).version


def _python_alternatives(env: Environment, rels: Sequence[Release], f: Facts,
                         package: str) -> list[Any]:
    if f.python is None or (f.platform is not None and not f.platform.startswith("linux")):
        return []
    if not _torch_runs_here(env, f):
        return []  # the same torch under another Python would not run either
    pythons = sorted({w.python for r in rels for w in r.wheels if w.available}, key=label_key,
                     reverse=True)
    for py in pythons:
        if py == f.python or (f.torch_minor and torch_has_python(f.torch_minor, py) is False):
            continue  # this torch must exist for that Python too
        trial = facts_of(apply_overrides(env, python_version=py))
        trial = replace(trial, free_threaded=False)
        if fitting(rels, trial):
            return [Alternative(
                "python", f"Python {py} has a {package} wheel for this torch/CUDA; create an "
                f"environment with it and install the same torch there", rank=50,
                package=package, python=py)]
    return []


def _torch_runs_here(env: Environment, f: Facts) -> bool:
    """Whether the installed torch build can run on this driver and these GPUs."""
    if f.cuda is None or f.torch_minor is None:
        return False
    cuda = cuda_tuple(f.cuda)
    if cuda is None:
        return False
    nv = env.nvidia
    if driver_runs(cuda, nv.cuda_driver_version, nv.driver_version) is False:
        return False
    variant = f"cu{cuda[0]}{cuda[1]}"
    return not any(torch_runs_on(f.torch_minor, variant, sm) is False for _, sm in f.gpus)


def _source_alternatives(env: Environment, f: Facts, package: str) -> list[Any]:
    plat = f.platform or "linux"
    if plat.startswith("win"):
        return [Alternative("platform", "native Windows has no wheels and the CUDA build is "
                            "unsupported: use WSL2 (Ubuntu) and run mamba-doctor there",
                            rank=5, package=package)]
    if plat.startswith("macosx"):
        return [Alternative("platform", "macOS has no CUDA: Mamba's kernels need a Linux machine "
                            "with an NVIDIA GPU (resolve for it with --env FILE)", rank=5,
                            package=package)]
    build = check_build(env)
    if not build.possible:
        return []  # never offer a build the facts show cannot work (BuildCheck.why says why)
    what = "your GPU's architecture only" if build.sms else \
        "the GPU architectures you name with --arch X.Y (no GPU was visible here)"
    need = f"; needs {build.toolkit}" if build.toolkit else \
        " (with the CUDA toolkit found here)"
    return [Alternative("source", f"build {package} from source for {what}: minutes instead of "
                        f"an hour when one arch{need}", rank=90, package=package,
                        arches=build.sms)]


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


def _minor_index(label: Optional[str]) -> int:
    major, minor = (*label_key(label or "0.0"), 0, 0)[:2]
    return major * 100 + minor
