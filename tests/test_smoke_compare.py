"""The kernel-vs-reference comparison of the GPU smoke path, exercised on CPU with stand-in kernels.

On a GPU the `cls` is mamba_ssm.Mamba; here MambaRef (right) and two broken subclasses (wrong
output, wrong gradient) stand in, so the tolerance logic and the reporting are tested for real.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from mamba_doctor.block import MambaRef  # noqa: E402
from mamba_doctor.smoke.child import kernels as _smoke_cuda  # noqa: E402
from mamba_doctor.smoke.child.report import Report  # noqa: E402

OPTS = {"batch": 2, "steps": 6, "nodes": 3, "dim": 16, "heads": 2, "temporal": "mamba",
        "seed": 0}


class WrongOutput(MambaRef):
    def forward(self, hidden_states):  # 50 % too large: a miscompiled kernel
        return super().forward(hidden_states) * 1.5


class WrongGradient(MambaRef):
    def forward(self, hidden_states):  # right values, gradients 50 % too large
        out = super().forward(hidden_states)
        return out + 0.5 * (out - out.detach())


def _run(cls: type, dtype: str = "float32") -> dict:
    rep = Report({})
    _smoke_cuda.cuda_checks(torch, {**OPTS, "dtype": dtype}, cls, True, rep, device="cpu")
    return {c["name"]: c for c in rep.data["checks"]} | {"_data": rep.data}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_correct_kernel_passes_every_comparison(dtype: str) -> None:
    checks = _run(MambaRef, dtype)
    data = checks.pop("_data")
    names = set(checks)
    for path in ("cuda-fast", "cuda-slow"):
        for what in ("output", "input gradients", "parameter gradients"):
            assert f"block {path} {dtype}: {what}" in names
            assert f"Mamba op {path} {dtype}: {what}" in names
    assert all(c["status"] == "pass" for c in checks.values()), [
        c for c in checks.values() if c["status"] != "pass"]
    if dtype == "float32":  # fp32 vs the fp64 oracle: rounding only
        assert max(data["max_abs_err"].values()) < 1e-4
    assert data["timings_ms"]["op_cuda-fast_fwd_bwd"]["median"] > 0


def test_a_kernel_with_a_wrong_output_fails() -> None:
    checks = _run(WrongOutput)
    assert checks["Mamba op cuda-fast float32: output"]["status"] == "fail"
    assert checks["Mamba op cuda-slow float32: parameter gradients"]["status"] == "fail"
    assert checks["block cuda-fast float32: output"]["status"] == "pass"  # the block uses MambaRef


def test_a_kernel_with_a_wrong_gradient_fails_only_its_gradients() -> None:
    checks = _run(WrongGradient)
    assert checks["Mamba op cuda-fast float32: output"]["status"] == "pass"
    assert checks["Mamba op cuda-fast float32: input gradients"]["status"] == "fail"
    assert "worst" in checks["Mamba op cuda-fast float32: parameter gradients"]["detail"]


def test_tolerance_rules() -> None:
    assert _smoke_cuda.grad_tolerance("X", 6e-4, 2e-3) == (1.2e-3, 4e-3)
    assert _smoke_cuda.grad_tolerance("temporal.mamba.dt_proj.weight", 6e-4, 2e-3) == (
        pytest.approx(3e-3), pytest.approx(2e-2))
    assert _smoke_cuda.grad_tolerance("A_log", 3e-2, 5e-2) == (3e-2, 0.25)
    a = torch.tensor([1.0, 2.0])
    res = _smoke_cuda.compare(a + 0.1, a, a + 0.06, 1e-3, 1e-3)
    assert not res["allclose"] and res["passed"]  # within twice the same-dtype error
    assert not _smoke_cuda.compare(a + 0.1, a, a + 0.01, 1e-3, 1e-3)["passed"]
