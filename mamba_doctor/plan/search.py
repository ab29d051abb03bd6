"""The newest stack that is prebuilt end to end for a machine: Python, torch (CUDA variant and
index), mamba_ssm and causal_conv1d, each choice with its reason (pure: machine facts + index).

Searched from the wheel index itself: each release's wheels (newest release first) say which
Python, torch minor, CUDA major and C++ ABI they were built for; a wheel is a candidate when
that torch exists for that Python with a CUDA variant the driver runs (wheels_index/torch.json)
and the ABI is the one those torch wheels have. The winner is confirmed by the same resolver
`install` uses, on the machine with that Python and torch, so `plan` never names a stack that
`install` would then refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Optional

from mamba_doctor.knowledge.cuda_tables import (
    minor_compat_min_driver,
    pair,
    toolkit_driver,
    torch_default_abi,
    torch_python_range,
    torch_runs_on,
    torch_variants,
    version_of,
)
from mamba_doctor.models import Environment, PythonInfo, TorchInfo
from mamba_doctor.plan.model import Choice, Machine, Stack
from mamba_doctor.wheels.facts import facts_of, platform_of
from mamba_doctor.wheels.fit import wheel_fits
from mamba_doctor.wheels.index import Release, WheelCandidate, WheelIndex, label_key


def first_stack(machine: Machine, index: WheelIndex, *, python: Optional[str] = None,
                mamba_version: Optional[str] = None) -> Optional[Stack]:
    """The newest prebuilt stack, natively within the driver's CUDA first, then through minor-
    version compatibility; None when there is none."""
    limits = [(machine.ceiling, False)]
    widened = compat_limit(machine)
    if widened is not None:
        limits.append((widened, True))
    for limit, compat in limits:
        stack = _search(machine, index, limit, python=python, mamba_version=mamba_version,
                        compat=compat)
        if stack is None:
            continue
        if not compat and len(limits) > 1:
            newer = _search(machine, index, limits[1][0], python=python,
                            mamba_version=mamba_version, compat=True)
            if newer is not None and label_key(newer.torch) > label_key(stack.torch):
                need = toolkit_driver(newer.cuda) or "?"
                stack = replace(stack, notes=(*stack.notes, (
                    f"a newer stack also runs here through CUDA minor-version compatibility: "
                    f"torch {newer.torch} ({newer.variant}) with mamba_ssm "
                    f"{newer.mamba.version}; NVIDIA driver >= {need} runs it natively")))
        return stack
    return None


def compat_limit(machine: Machine) -> Optional[tuple[int, int]]:
    """The whole CUDA major of the driver's ceiling, when the driver meets NVIDIA's floor for
    minor-version compatibility (https://docs.nvidia.com/deploy/cuda-compatibility/)."""
    if machine.ceiling is None or machine.driver is None:
        return None
    floor = version_of(minor_compat_min_driver(machine.ceiling[0]))
    have = version_of(machine.driver)
    if floor is None or have is None or have < floor:
        return None
    return (machine.ceiling[0], 99)


def _search(machine: Machine, index: WheelIndex, limit: Optional[tuple[int, int]], *,
            python: Optional[str], mamba_version: Optional[str], compat: bool) -> Optional[Stack]:
    from mamba_doctor.wheels.resolve import resolve_pair

    platform = platform_of(machine.env)
    releases = index.matching("mamba_ssm", mamba_version) if mamba_version \
        else index.for_package("mamba_ssm")
    for rel in releases:
        for cand in _candidates(rel, machine, platform, limit, python):
            env = hypothetical(machine, cand)
            resolutions = resolve_pair(env, index, version=rel.version)
            mamba, causal = (next((r.wheel for r in resolutions if r.package == p), None)
                             for p in ("mamba_ssm", "causal_conv1d"))
            if mamba is None:
                continue
            return _stack(machine, cand, mamba, causal, compat)
    return None


@dataclass(frozen=True)
class _Candidate:
    python: str
    torch: str
    variant: str
    cxx11abi: bool
    wheel: WheelCandidate


def _candidates(rel: Release, machine: Machine, platform: Optional[str],
                limit: Optional[tuple[int, int]], python: Optional[str]) -> Iterator[_Candidate]:
    """This release's wheels that some real torch + Python can use here, best first: newest
    torch, then newest Python, then the highest CUDA variant."""
    seen = set()
    found = []
    for w in rel.wheels_for(platform, python) if platform else ():
        if not w.available or w.ngc or w.nightly:
            continue
        variant = torch_variant(w.torch, w.python, w.cuda_major, limit)
        if variant is None or torch_default_abi(w.torch, variant) != w.cxx11abi:
            continue
        if any(torch_runs_on(w.torch, variant, sm) is False for _, sm in machine.gpus):
            continue  # that torch has no kernels for this GPU (e.g. sm_120 before cu128)
        key = (w.torch, w.python, variant, w.cxx11abi)
        if key in seen:
            continue
        cand = _Candidate(w.python, w.torch, variant, w.cxx11abi, w)
        if wheel_fits(w, facts_of(hypothetical(machine, cand)), release=rel):
            seen.add(key)
            found.append(cand)
    # the driver's own CUDA major first (as advice/torch.py does: a cu124 torch on a CUDA 12.4
    # driver rather than a newer torch's cu118 build), then the newest torch, Python, variant
    major = machine.ceiling[0] if machine.ceiling else None
    found.sort(key=lambda c: (major is None or pair(c.variant)[0] == major, label_key(c.torch),
                              label_key(c.python), pair(c.variant)), reverse=True)
    return iter(found)


def torch_variant(minor: str, python: str, cuda_major: int,
                  limit: Optional[tuple[int, int]]) -> Optional[str]:
    """The highest CUDA variant of torch `minor` for this CUDA major within `limit` (None: no
    limit known), when that torch is published for `python` (wheels_index/torch.json)."""
    span = torch_python_range(minor)
    if not span or not label_key(span[0]) <= label_key(python) <= label_key(span[1]):
        return None
    variants = [v for v in torch_variants(minor) if v.startswith("cu")
                and pair(v)[0] == cuda_major and (limit is None or pair(v) <= limit)]
    return max(variants, key=pair) if variants else None


def hypothetical(machine: Machine, cand: _Candidate) -> Environment:
    """The machine with a fresh env holding that Python and the official torch wheel."""
    py = cand.python
    return replace(machine.env, python=PythonInfo(
        version=f"{py}.0", implementation="cpython", abi_tag="cp" + py.replace(".", ""),
        platform_tag=platform_of(machine.env)),
        torch=TorchInfo(installed=True, version=f"{cand.torch}.0+{cand.variant}",
                        cuda=f"{pair(cand.variant)[0]}.{pair(cand.variant)[1]}",
                        cxx11abi=cand.cxx11abi))


def _stack(machine: Machine, cand: _Candidate, mamba: WheelCandidate,
           causal: Optional[WheelCandidate], compat: bool) -> Stack:
    sms = ", ".join(f"sm_{sm}" for _, sm in machine.gpus) or "no GPU known"
    abi = "cxx11abiTRUE" if cand.cxx11abi else "cxx11abiFALSE"
    ceiling = (f"{machine.ceiling[0]}.{machine.ceiling[1]}" if machine.ceiling else None)
    cuda = f"{pair(cand.variant)[0]}.{pair(cand.variant)[1]}"
    choices = [
        Choice("mamba_ssm", mamba.version, f"the newest release with a prebuilt wheel for this "
               f"machine ({mamba.platform}, {sms}; the wheel needs glibc >= "
               f"{mamba.glibc or '?'}); asset {mamba.status}"),
        Choice("torch", f"{cand.torch} ({cand.variant})", f"the newest torch that mamba_ssm "
               f"{mamba.version} has a wheel for here; its official wheels use {abi}, as that "
               "wheel does"),
        Choice("python", cand.python, f"the newest Python torch {cand.torch} and that wheel "
               "are both built for"),
        Choice("cuda", cuda, (f"the highest CUDA variant of torch {cand.torch} within the "
                              f"driver's CUDA {ceiling}" if ceiling and not compat else
                              f"above the driver's CUDA {ceiling}: runs through CUDA "
                              f"minor-version compatibility (driver >= "
                              f"{minor_compat_min_driver(pair(cand.variant)[0])}); a driver "
                              f">= {toolkit_driver(cuda) or '?'} runs it natively"
                              if compat else
                              f"the highest CUDA variant of torch {cand.torch} (the driver is "
                              f"not known: it must be >= {toolkit_driver(cuda) or '?'})")),
    ]
    notes = []
    if causal is not None:
        choices.append(Choice("causal_conv1d", causal.version, f"the newest release mamba_ssm "
                              f"{mamba.version} can call with a wheel here"))
    else:
        notes.append("no causal_conv1d wheel fits beside it: mamba_ssm then uses its slower "
                     "convolution path")
    if not machine.gpus:
        notes.append("no GPU known: the GPU architecture was not checked")
    if machine.env.os.glibc is None:
        notes.append("glibc not known: the wheels need glibc " + (mamba.glibc or "?"))
    return Stack(cand.python, cand.torch, cand.variant, cand.cxx11abi, mamba, causal, compat,
                 tuple(choices), tuple(notes))
