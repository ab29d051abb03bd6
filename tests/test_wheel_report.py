"""The resolution summary `check` shows, and the rich rendering of resolutions."""

from __future__ import annotations

import io

from rich.console import Console
from wheel_envs import make_env

from mamba_doctor.models import CheckStatus
from mamba_doctor.probe.interpreter import Target
from mamba_doctor.wheels.view import render_resolutions, summarize_for_check


def _render(resolutions) -> str:
    buf = io.StringIO()
    render_resolutions(Console(file=buf, width=120, no_color=True), resolutions)
    return buf.getvalue()


def test_check_row_when_wheels_fit() -> None:
    env = make_env(python="3.8", torch="2.0.0+cu118", cuda="11.8", gpus=["a100"], glibc="2.35")
    resolutions, row = summarize_for_check(env)
    assert row.id == "wheels" and row.status is CheckStatus.OK and not row.blocking
    assert "mamba_ssm 2.2.2" in row.summary and "causal_conv1d 1.4.0" in row.summary
    text = _render(resolutions)
    assert "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl" in text


def test_check_row_warns_when_facts_are_unknown() -> None:
    _, row = summarize_for_check(make_env(python="3.12", torch="2.8.0+cu128", cuda="12.8",
                                          abi=None))
    assert row.status is CheckStatus.WARN and "unchecked" in row.summary


def test_check_row_when_nothing_fits() -> None:
    env = make_env(python="3.10", torch="2.4.0+cu121", cuda="12.1", gpus=["p100"])
    resolutions, row = summarize_for_check(env)
    assert row.status is CheckStatus.FAIL and not row.blocking and row.problem == "mamba"
    assert "sm_60" in row.summary
    checked = _torch_rows(env)["wheels"]
    assert checked.commands[-1].endswith("mamba-doctor install --python python --from-source "
                                         "--arch 6.0")
    text = _render(resolutions)
    assert "no compatible wheel" in text and "gpu_arch" in text and "way out 1" in text


def _torch_rows(env):  # type: ignore[no-untyped-def]
    from mamba_doctor.check.report import build_report

    report = build_report(Target.described(env))
    return {c.id: c for c in report.checks}


def test_check_torch_advice_matches_the_wheels_row() -> None:
    # A CPU-only torch 2.13 with no driver: the table alone would say "torch 2.13 cu130", for
    # which no mamba_ssm wheel exists; torch_build must name the same torch as the wheels row.
    import re

    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import apply_overrides, resolve

    env = make_env(python="3.11", torch="2.13.0+cpu", cuda=None, abi=True)
    rows = _torch_rows(env)
    build, wheels = rows["torch_build"], rows["wheels"]
    assert build.status is CheckStatus.FAIL and wheels.status is CheckStatus.FAIL
    assert build.commands == wheels.commands
    m = re.search(r"pip install 'torch==(\d+\.\d+)\.\*' --index-url \S+/cu(\d+)(\d)$",
                  build.commands[0])
    assert m is not None, build.hint
    assert m.group(1) != "2.13"
    # and that torch really has a prebuilt mamba_ssm wheel for this Python
    trial = apply_overrides(env, torch_version=f"{m.group(1)}.0",
                            cuda_version=f"{m.group(2)}.{m.group(3)}", cxx11abi=True)
    assert resolve(trial, load_index(), "mamba_ssm").wheel is not None


def test_check_torch_advice_says_source_build_when_no_torch_has_wheels() -> None:
    env = make_env(python="3.14", torch="2.11.0+cpu", cuda=None, abi=True, gpus=["h100"],
                   driver_cuda="12.8")
    rows = _torch_rows(env)
    row = rows["torch_build"]
    assert "no torch this machine runs has a prebuilt mamba_ssm wheel" in row.hint
    assert "-m pip install torch==2.11.0 --index-url " in row.commands[0]
    assert row.commands[1] == "mamba-doctor install --python python --from-source --arch 9.0"


def test_check_advises_a_torch_with_wheels_when_torch_is_absent() -> None:
    env = make_env(python="3.10", torch=None, cuda=None, torch_installed=False)
    rows = _torch_rows(env)
    # no torch at all: the advice is a torch that has wheels, in every row that names one
    row = rows["torch_build"]
    assert row.commands == rows["wheels"].commands and "has a prebuilt wheel for it" in row.hint
    assert row.commands[0].startswith("python -m pip install 'torch==")


def test_wheels_row_says_no_wheel_once() -> None:
    _, row = summarize_for_check(make_env(python="3.11", torch="2.5.1+cpu", cuda=None))
    assert row.summary == ("no mamba_ssm (nor causal_conv1d) wheel fits a CPU-only torch: every "
                           "wheel needs a CUDA build of torch")


def test_torch_advice_names_the_checked_interpreter() -> None:
    from dataclasses import replace

    base = make_env(python="3.11", torch="2.13.0+cpu", cuda=None, abi=True)
    env = replace(base, python=replace(base.python, executable="/opt/my env/bin/python"))
    rows = _torch_rows(env)
    for row in ("torch_build", "wheels"):
        assert "'/opt/my env/bin/python' -m pip install 'torch==" in rows[row].hint, row
