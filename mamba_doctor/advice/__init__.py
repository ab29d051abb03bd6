"""The one place that turns facts into "what to run next".

Every recommendation check, fetch-wheel, install, smoke and explain print comes from here, so
the same facts get the same advice everywhere. Each problem has a key and one function:

    torch          a torch that works here with the Mamba kernels        advice.torch
    mamba          get the kernels in: the prebuilt pair, else the best way out
    causal_conv1d  mamba_ssm without the causal_conv1d it calls          advice.wheels
    mamba_pair     an installed pair whose C++ binding disagrees
    source_build   `install --from-source --arch X`, when the facts allow advice.build
    toolkit        the nvcc a source build needs (never a wrong-major CUDA_HOME)
    driver         the driver cannot run torch's CUDA                    advice.system
    no_driver      no NVIDIA driver answered (a container, WSL, a bare host)
    driver_unresponsive  a driver is there but hangs (nvidia-smi does not answer)
    gpu_visible    CUDA_VISIBLE_DEVICES hides every GPU
    platform       Windows, macOS, another CPU
    python         a new environment, when the target's Python cannot work
    reproduce      rerun a failing import and hand it to `explain` (needs `module`)

The rules they keep: commands are complete (pinned, real index URLs, the target's own
`<python> -m pip`, no placeholders); the project's own commands come before manual recipes;
nothing the facts rule out is recommended (a build for an architecture the CUDA cannot target,
a torch without a wheel for the target's Python or beyond the driver, a wrong-major
CUDA_HOME); every value from the facts is validated and quoted (advice.commands).
"""

from __future__ import annotations

from typing import Callable, Optional

from mamba_doctor.advice.build import build_advice, toolkit_advice
from mamba_doctor.advice.commands import Unsafe
from mamba_doctor.advice.model import Advice
from mamba_doctor.advice.system import (
    driver_advice,
    driver_unresponsive_advice,
    gpu_visible_advice,
    next_step_advice,
    no_driver_advice,
    platform_advice,
    reproduce_advice,
)
from mamba_doctor.advice.torch import new_environment_advice, torch_advice
from mamba_doctor.advice.wheels import (
    causal_conv1d_advice,
    mamba_advice,
    no_wheel_summary,
    pair_advice,
    resolution_dict,
    ways_out,
)
from mamba_doctor.probe.interpreter import Target

__all__ = [
    "ACTIONS", "Advice", "advise", "build_advice", "causal_conv1d_advice", "driver_advice",
    "driver_unresponsive_advice",
    "gpu_visible_advice", "mamba_advice", "new_environment_advice", "next_step_advice",
    "no_driver_advice", "no_wheel_summary", "pair_advice", "platform_advice",
    "reproduce_advice", "resolution_dict", "toolkit_advice", "torch_advice", "ways_out",
]

ACTIONS: dict[str, Callable[[Target], Optional[Advice]]] = {
    "torch": torch_advice,
    "mamba": mamba_advice,
    "causal_conv1d": causal_conv1d_advice,
    "mamba_pair": pair_advice,
    "source_build": build_advice,
    "toolkit": toolkit_advice,
    "driver": driver_advice,
    "no_driver": no_driver_advice,
    "driver_unresponsive": driver_unresponsive_advice,
    "gpu_visible": gpu_visible_advice,
    "platform": platform_advice,
    "python": new_environment_advice,
}


def advise(action: str, target: Target, *, module: Optional[str] = None) -> Optional[Advice]:
    """The advice for problem `action` on the target's facts (None: nothing to advise).

    The hook for callers that name a problem (explain's fix templates): a value from the facts
    that fails validation leaves the command out, with a note, rather than raising.
    """
    try:
        if action == "reproduce":
            return reproduce_advice(target, module or "mamba_ssm")
        found = ACTIONS.get(action)
        if found is None:
            raise KeyError(f"unknown advice action {action!r} (known: {', '.join(ACTIONS)})")
        return found(target)
    except Unsafe as exc:
        return Advice(action, "A fact of this environment cannot be put into a command safely",
                      notes=(str(exc),))
