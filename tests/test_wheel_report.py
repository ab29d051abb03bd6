"""The resolution summary `check` shows, and the rich rendering of resolutions."""

from __future__ import annotations

import io

from rich.console import Console
from wheel_envs import make_env

from mamba_doctor.models import CheckStatus
from mamba_doctor.wheel_report import render_resolutions, summarize_for_check


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
    assert row.status is CheckStatus.FAIL and not row.blocking
    assert "sm_60" in row.summary
    assert row.hint.endswith("mamba-doctor install --from-source --arch 6.0")
    text = _render(resolutions)
    assert "no compatible wheel" in text and "gpu_arch" in text and "way out 1" in text
