"""Pure wheel-vs-environment checks: each reason a wheel cannot load here; facts left unchecked."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Union

from packaging.version import Version

from mamba_doctor.models import Environment
from mamba_doctor.wheels.facts import Facts, facts_of
from mamba_doctor.wheels.index import Release, WheelCandidate
from mamba_doctor.wheels.names import WheelTags

# Reason codes, in the order a human reads them (and the order of the summary table).
REASON_ORDER = (
    "unavailable", "platform", "python", "runtime_python", "torch_absent", "torch", "ngc",
    "cpu_torch", "hip", "cuda", "cxx11abi", "gpu_arch", "glibc",
)


@dataclass(frozen=True)
class Rejection:
    """One reason why one wheel does not fit (`filename` is None for a reason about no wheel)."""

    code: str
    message: str
    filename: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "filename": self.filename}


Wheel = Union[WheelCandidate, WheelTags]


def sass_runs(wheel_sms: tuple[int, ...], gpu_sm: int) -> bool:
    """SASS (no PTX) runs on the same major architecture with an equal or lower minor."""
    major, minor = divmod(gpu_sm, 10)
    return any(sm // 10 == major and sm % 10 <= minor for sm in wheel_sms)


def check_wheel_fits(tags: Wheel, env: Union[Environment, Facts], *,
                     release: Optional[Release] = None) -> tuple[Rejection, ...]:
    """Every reason `tags` cannot be used in `env`; empty if it fits. Unknown facts never reject."""
    f = env if isinstance(env, Facts) else facts_of(env)
    return tuple(iter_rejections(tags, f, release=release))


def wheel_fits(tags: Wheel, f: Facts, *, release: Optional[Release] = None) -> bool:
    """Same verdict as `not check_wheel_fits(...)` without building messages (the hot loop).

    tests/test_wheel_index.py checks the two agree over every wheel and a grid of environments.
    """
    if f.platform is not None and tags.platform != f.platform:
        return False
    if f.python is not None and tags.python is not None \
            and (tags.python != f.python or f.free_threaded):
        return False
    if f.implementation not in (None, "cpython") or f.torch_state == "absent":
        return False
    if release is not None and release.runtime_python_min and f.python is not None \
            and _ver(f.python) < _ver(release.runtime_python_min):
        return False
    if tags.torch is not None:
        if f.ngc is not None:
            if tags.torch != f.ngc:  # also rejects every non-NGC wheel
                return False
        elif tags.ngc or (f.torch_minor is not None and tags.torch != f.torch_minor):
            return False
        if f.hip or f.torch_is_cpu:
            return False
        if f.cuda_major is not None and tags.cuda_major is not None \
                and tags.cuda_major != f.cuda_major:
            return False
    if f.cxx11abi is not None and tags.cxx11abi is not None and tags.cxx11abi != f.cxx11abi:
        return False
    arches = getattr(tags, "arches", None)
    if f.gpus and arches and not all(sass_runs(arches, sm) for _, sm in f.gpus):
        return False
    glibc = getattr(tags, "glibc", None)
    return not (f.glibc is not None and glibc and tags.platform.startswith("linux")
                and f.glibc < _ver(glibc))


def iter_rejections(tags: Wheel, f: Facts, *,
                    release: Optional[Release] = None) -> Iterator[Rejection]:
    """Yield the reasons lazily, cheapest checks first, so that a caller may stop at one."""
    name = tags.filename
    plat = tags.platform
    if f.platform is not None and plat != f.platform:
        if f.platform.startswith("win"):
            yield Rejection("platform", f"built for {plat}; no Windows wheels exist (use WSL2)",
                            name)
        elif f.platform.startswith("musllinux"):
            yield Rejection("platform", f"built for glibc {plat}; this is a musl (Alpine) "
                            "system", name)
        else:
            yield Rejection("platform", f"built for {plat}; this machine is {f.platform}", name)
    if f.python is not None and tags.python is not None:
        if tags.python != f.python:
            yield Rejection("python", f"built for Python {tags.python} ({_cp(tags.python)}); "
                            f"this is Python {f.python}", name)
        elif f.free_threaded:
            yield Rejection("python", f"built for the regular {_cp(tags.python)} ABI; this Python "
                            f"is the free-threaded {_cp(tags.python)}t build", name)
    if f.implementation not in (None, "cpython"):
        yield Rejection("python", f"built for CPython; this interpreter is {f.implementation}",
                        name)
    if release is not None and release.runtime_python_min and f.python is not None \
            and _ver(f.python) < _ver(release.runtime_python_min):
        yield Rejection("runtime_python", f"{release.package} {release.version} needs Python >= "
                        f"{release.runtime_python_min} at import time (PEP 604 annotations in "
                        f"cpp_functions.py), although a {_cp(f.python)} wheel exists", name)
    yield from _torch_rejections(tags, f)
    abi = tags.cxx11abi
    if f.cxx11abi is not None and abi is not None and abi != f.cxx11abi:
        yield Rejection("cxx11abi", f"built with cxx11abi{str(abi).upper()}; this torch uses "
                        f"cxx11abi{str(f.cxx11abi).upper()} (undefined symbol errors at import)",
                        name)
    arches = getattr(tags, "arches", None)
    if f.gpus and arches:
        for gpu_name, sm in sorted(set(f.gpus), key=lambda g: g[1]):
            if not sass_runs(arches, sm):
                listed = ", ".join(f"sm_{a}" for a in arches)
                yield Rejection("gpu_arch", f"no kernels for {gpu_name} (sm_{sm}): the wheel has "
                                f"{listed} and no PTX (\"no kernel image is available\")", name)
                break
    glibc = getattr(tags, "glibc", None)
    if f.glibc is not None and glibc and plat.startswith("linux") and f.glibc < _ver(glibc):
        yield Rejection("glibc", f"built on {getattr(tags, 'build_os', None) or 'a newer OS'} "
                        f"(glibc {glibc}); this system has glibc {f.glibc} "
                        "(\"GLIBC_2.xx not found\")", name)


def _torch_rejections(tags: Wheel, f: Facts) -> Iterator[Rejection]:
    name = tags.filename
    if f.torch_state == "absent":
        yield Rejection("torch_absent", "torch is not installed in the target environment", name)
        return
    if tags.torch is None:  # not a Mamba-style local label: nothing to compare
        return
    wheel_ngc = tags.ngc
    if f.ngc is not None:
        if wheel_ngc and tags.torch != f.ngc:
            yield Rejection("ngc", f"built in the NGC PyTorch {tags.torch} container; this is "
                            f"NGC {f.ngc}", name)
        elif not wheel_ngc:
            yield Rejection("ngc", f"built for the stable torch {tags.torch}; the torch of NGC "
                            f"{f.ngc} ({f.torch_version or 'a pre-release build'}) differs "
                            "(missing symbols)", name)
    elif wheel_ngc:
        yield Rejection("ngc", f"built for the NGC PyTorch {tags.torch} container only", name)
    elif f.torch_minor is not None and tags.torch != f.torch_minor:
        yield Rejection("torch", f"built for torch {tags.torch}; this is torch {f.torch_version}",
                        name)
    if f.hip:
        yield Rejection("hip", f"this torch is a ROCm build (HIP {f.hip}); no ROCm wheels are "
                        "published", name)
    elif f.torch_is_cpu:
        yield Rejection("cpu_torch", "this torch is a CPU-only build (torch.version.cuda is None)",
                        name)
    elif f.cuda_major is not None and tags.cuda_major is not None \
            and tags.cuda_major != f.cuda_major:
        yield Rejection("cuda", f"built for CUDA {tags.cuda_major} (cu{tags.cuda}); torch uses "
                        f"CUDA {f.cuda}", name)


def unchecked(f: Facts) -> tuple[str, ...]:
    """The facts that are unknown and so were not used to reject anything."""
    out = []
    if f.platform is None:
        out.append("platform: unknown")
    if f.python is None:
        out.append("python: version unknown")
    if f.torch_state == "unknown" or (f.torch_state == "installed" and f.torch_minor is None):
        out.append("torch: version unknown")
    if f.torch_state != "absent" and f.cuda is None and not f.torch_is_cpu and not f.hip:
        out.append("cuda: torch's CUDA version unknown")
    if f.abi_assumed:
        out.append(f"cxx11abi: {f.abi_assumed}")
    elif f.cxx11abi is None and f.torch_state != "absent":
        out.append("cxx11abi: torch's C++ ABI unknown")
    if not f.gpus:
        out.append("gpu: no GPU visible, architecture not checked")
    if f.glibc is None and (f.platform or "linux").startswith("linux"):
        out.append("glibc: version unknown")
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _ver(text: str) -> Version:
    return Version(text)


def _cp(python: str) -> str:
    return "cp" + python.replace(".", "")
