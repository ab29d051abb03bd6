"""Source-build advice: `mamba-doctor install --from-source --arch X` when the facts allow it,
and the CUDA toolkit it needs (never the probed CUDA_HOME when that one is the wrong major)."""

from __future__ import annotations

from typing import Optional

from packaging.version import Version

from mamba_doctor.advice import commands as cmd
from mamba_doctor.advice.model import Advice
from mamba_doctor.knowledge.cuda_tables import cuda_tuple, version_of
from mamba_doctor.models import visible_gpus
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.buildable import check_build, toolkit_gap
from mamba_doctor.wheels.index import WheelIndex, load_index

# causal_conv1d >= 1.5.1 (the partner of mamba_ssm >= 2.2.5) needs torch >= 2.4 and Python >=
# 3.10 at run time (knowledge/failures.json: causal-conv1d-mamba-version-skew).
NEW_BINDING_TORCH = Version("2.4")


def source_release(target: Target, index: Optional[WheelIndex] = None) -> Optional[str]:
    """The mamba_ssm release to build: the newest (None) unless the target's torch or Python is
    too old for the causal_conv1d it pairs with; then the newest release of the older pair."""
    env = target.env
    torch = version_of(env.torch.version)
    py = cuda_tuple(env.python.version)
    old_torch = torch is not None and Version(torch.base_version) < NEW_BINDING_TORCH
    if not old_torch and (py is None or py >= (3, 10)):
        return None
    for rel in (index or load_index()).for_package("mamba_ssm"):
        if rel.companion is not None and rel.companion[1] is not None and rel.pypi:
            return rel.pypi[0]
    return None


def build_advice(target: Target, index: Optional[WheelIndex] = None) -> Advice:
    """"source_build": compile mamba_ssm and causal_conv1d here, for the GPUs torch will use."""
    build = check_build(target.env)
    if not build.possible:
        return Advice("source_build", f"A source build cannot work here: {build.why}")
    notes = (f"needs {build.toolkit}",) if build.toolkit else ()
    release = source_release(target, index)
    if not build.sms:
        return Advice("source_build", "Build from source with `mamba-doctor install "
                      "--from-source --arch X.Y`, naming the compute capability of the GPU it "
                      "will run on (none is visible here)", (), notes)
    archs = ", ".join(f"sm_{s}" for s in build.sms)
    pinned = f" (mamba_ssm {release}, whose causal_conv1d still supports this torch/Python)" \
        if release else ""
    return Advice("source_build", f"Build mamba_ssm and causal_conv1d from source for {archs} "
                  f"only{pinned}", (cmd.install(target.python, mamba_version=release,
                                                from_source=True, sms=build.sms),), notes)


def toolkit_advice(target: Target) -> Advice:
    """"toolkit": the nvcc a source build needs (the prebuilt wheels need none)."""
    env = target.env
    cuda = cuda_tuple(env.torch.cuda)
    if cuda is None:
        return Advice("toolkit", "A source build needs a CUDA build of torch first; the prebuilt "
                      "wheels need no CUDA toolkit at all")
    sms = tuple(sorted({g.sm for g in visible_gpus(env)}))
    need = toolkit_gap(env, cuda, sms)
    if need is None:
        return Advice("toolkit", f"The CUDA toolkit found (nvcc {env.cuda_toolkit.nvcc_version}) "
                      "fits torch's CUDA: a source build can use it")
    return Advice("toolkit", f"Only a source build needs a toolkit, and it needs {need} "
                  "(conda: cuda-nvcc of that version; or an NVIDIA 'devel' image); the prebuilt "
                  "wheels need none")
