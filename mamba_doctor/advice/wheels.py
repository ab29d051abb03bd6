"""The kernels themselves: which `mamba-doctor install` to run, the one "no wheel fits" message,
its ranked ways out as commands, and the fixes for a missing or mismatched causal_conv1d."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from mamba_doctor.advice import commands as cmd
from mamba_doctor.advice.build import build_advice
from mamba_doctor.advice.model import Advice
from mamba_doctor.advice.torch import new_environment_advice, option_advice
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.alternatives import TorchOption, driver_known
from mamba_doctor.wheels.index import WheelIndex, load_index
from mamba_doctor.wheels.resolution import Alternative, Resolution


def resolutions(target: Target, index: Optional[WheelIndex] = None) -> tuple[Resolution, ...]:
    from mamba_doctor.wheels.resolve import resolve_pair

    return resolve_pair(target.env, index or load_index())


def mamba_advice(target: Target, index: Optional[WheelIndex] = None,
                 found: Optional[Sequence[Resolution]] = None) -> Advice:
    """"mamba": get working kernels into the target: the prebuilt pair when it fits, else the
    best way out (another release, another torch, a source build, a new environment)."""
    index = index or load_index()
    found = tuple(found) if found is not None else resolutions(target, index)
    by = {r.package: r for r in found}
    mamba, conv = by.get("mamba_ssm"), by.get("causal_conv1d")
    if mamba is not None and mamba.wheel is not None:
        if conv is None or conv.wheel is not None:
            pair = " and ".join(f"{r.package} {r.version}" for r in found)
            pair += f" ({_build_tag(mamba.filename)})"
            return Advice("mamba", f"Install the prebuilt wheels that fit: {pair}",
                          (cmd.install(target.python),), _guess_notes(found))
        return Advice("mamba", f"Install the prebuilt mamba_ssm {mamba.version} alone: no "
                      "causal_conv1d wheel that it can call fits (Mamba then uses a slower "
                      "convolution)", (cmd.install(target.python, causal_conv1d=False),),
                      _guess_notes(found))
    best = best_way_out(target, mamba, index)
    return Advice("mamba", f"{no_wheel_summary(mamba)}; {_lower(best.summary)}",
                  best.commands, best.notes)


def best_way_out(target: Target, res: Optional[Resolution],
                 index: Optional[WheelIndex] = None) -> Advice:
    """The first way out of "no wheel fits", else a new environment."""
    ways = ways_out(target, res, index) if res is not None else ()
    return ways[0] if ways else new_environment_advice(target, index)


def no_wheel_summary(res: Optional[Resolution]) -> str:
    """The one "no wheel fits" sentence."""
    if res is None:
        return "No prebuilt wheel fits"
    why = res.why_none()
    return f"No prebuilt {res.package} wheel fits ({why})"


def ways_out(target: Target, res: Resolution, index: Optional[WheelIndex] = None
             ) -> tuple[Advice, ...]:
    """Each of the resolution's alternatives as complete commands for the target, ranked."""
    index = index or load_index()
    out = []
    for alt in res.alternatives:
        advice = phrase(target, alt, index)
        if advice is not None:
            out.append(advice)
    return tuple(out)


def phrase(target: Target, alt: Alternative, index: Optional[WheelIndex] = None
           ) -> Optional[Advice]:
    """One way out as an Advice (None when it cannot be phrased for this target)."""
    py = target.python
    if alt.kind == "version" and alt.release:
        command = cmd.install(py, mamba_version=alt.release) if alt.package == "mamba_ssm" \
            else cmd.fetch_wheel(py, alt.package, release=alt.release)
        return Advice("mamba", f"Use {alt.package} {alt.release}, which has a wheel for this "
                      "environment", (command,))
    if alt.kind == "torch" and alt.torch and alt.variant:
        from mamba_doctor.knowledge.cuda_tables import cuda_tuple, driver_ceiling, variant_cuda

        nv = target.env.nvidia
        top = cuda_tuple(nv.cuda_driver_version or driver_ceiling(nv.driver_version))
        cuda = variant_cuda(alt.variant)
        return option_advice(target, TorchOption(
            alt.torch, alt.variant, alt.release, driver_checked=driver_known(target.env),
            within_ceiling=top is None or cuda is None or cuda <= top))
    if alt.kind == "python" and alt.python:
        return _new_python(target, alt.python, alt.summary)
    if alt.kind == "source":
        advice = build_advice(target, index)
        return advice if advice.commands or advice.notes else None
    if alt.kind == "platform":
        commands = ("wsl --install -d Ubuntu",) if "Windows" in alt.summary else ()
        return Advice("platform", alt.summary[0].upper() + alt.summary[1:], commands)
    return None


def _new_python(target: Target, python: str, summary: str) -> Advice:
    """The same torch in a new environment with `python` (the alternative found its wheel)."""
    from mamba_doctor.knowledge.cuda_tables import torch_minor

    env = target.env
    minor = torch_minor(env.torch.version)
    cuda = env.torch.cuda
    if minor is None or cuda is None:
        return new_environment_advice(target)
    make, new_python = cmd.new_venv(python)
    torch = cmd.torch_install(new_python, _base(env.torch.version), "cu" + cuda.replace(".", ""))
    return Advice("python", summary[0].upper() + summary[1:],
                  (make, torch, cmd.install(new_python)))


def causal_conv1d_advice(target: Target, index: Optional[WheelIndex] = None) -> Advice:
    """"causal_conv1d": mamba_ssm is installed without it: add the prebuilt one it can call."""
    from mamba_doctor.wheels.resolve import resolve_pair

    index = index or load_index()
    env = target.env
    mamba = _installed(target, "mamba_ssm")
    (res,) = resolve_pair(env, index, packages=("causal_conv1d",))
    if res.wheel is not None and mamba:
        return Advice("causal_conv1d", f"Install the prebuilt causal_conv1d {res.version} that "
                      f"mamba_ssm {mamba} calls, with the pair kept together",
                      (cmd.install(target.python, mamba_version=mamba),))
    build = build_advice(target, index)
    if build.commands:
        return Advice("causal_conv1d", "No prebuilt causal_conv1d that the installed mamba_ssm "
                      "calls fits here; build the pair from source", build.commands, build.notes)
    return Advice("causal_conv1d", "No prebuilt causal_conv1d that the installed mamba_ssm calls "
                  "fits here; " + _lower(mamba_advice(target, index).text()))


def pair_advice(target: Target, index: Optional[WheelIndex] = None) -> Advice:
    """"mamba_pair": the installed mamba_ssm and causal_conv1d disagree: reinstall a pair."""
    index = index or load_index()
    mamba = _installed(target, "mamba_ssm")
    kept = mamba_advice_for_release(target, mamba, index) if mamba else None
    if kept is not None:
        return kept
    best = mamba_advice(target, index)
    return Advice("mamba_pair", "Reinstall mamba_ssm and causal_conv1d as a matching pair: "
                  + _lower(best.summary), best.commands, best.notes)


def mamba_advice_for_release(target: Target, release: str, index: WheelIndex
                             ) -> Optional[Advice]:
    """Keep mamba_ssm `release` and install the causal_conv1d it calls (None: no such pair of
    prebuilt wheels fits here)."""
    from mamba_doctor.errors import UsageError
    from mamba_doctor.wheels.resolve import resolve_pair

    try:
        found = resolve_pair(target.env, index, version=_base(release))
    except UsageError:  # a release the index does not know
        return None
    if any(r.wheel is None for r in found):
        return None
    conv = next(r for r in found if r.package == "causal_conv1d")
    return Advice("mamba_pair", f"Reinstall mamba_ssm {_base(release)} with the causal_conv1d "
                  f"{conv.version} it calls", (cmd.install(target.python,
                                                           mamba_version=_base(release)),))


def resolution_dict(res: Resolution, target: Target,
                    index: Optional[WheelIndex] = None) -> dict[str, Any]:
    """`Resolution.to_dict()` with each way out's commands for the target (the JSON form every
    command writes)."""
    out = res.to_dict()
    for alt, raw in zip(res.alternatives, out["alternatives"]):
        advice = phrase(target, alt, index)
        raw["commands"] = list(advice.commands) if advice else []
        raw["notes"] = list(advice.notes) if advice else []
    return out


def _guess_notes(found: Sequence[Resolution]) -> tuple[str, ...]:
    unchecked = {u for r in found if not r.exact for u in r.unchecked}
    return tuple(sorted(u.split(": ", 1)[1] for u in unchecked if u.startswith("cxx11abi: ")
                        and "assumed" in u))


def _installed(target: Target, name: str) -> Optional[str]:
    info = target.env.packages.get(name)
    return str(info.version) if info is not None and info.version else None


def _base(version: Optional[str]) -> str:
    text = str(version or "")
    return text.split("+", 1)[0]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _build_tag(filename: Optional[str]) -> str:
    """"cu12torch2.5cxx11abiFALSE-cp311" from a release wheel's name (what it was built for)."""
    parts = str(filename or "").split("-")
    local = parts[1].split("+", 1)[1] if len(parts) > 2 and "+" in parts[1] else ""
    return "-".join(p for p in (local, parts[2] if len(parts) > 2 else "") if p)
