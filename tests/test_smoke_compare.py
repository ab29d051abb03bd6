"""The kernel-vs-reference comparison of the GPU smoke path, exercised on CPU with stand-in kernels.

On a GPU the `cls` is mamba_ssm.Mamba; here MambaRef (right) and two broken subclasses (wrong
output, wrong gradient) stand in, so the tolerance logic and the reporting are tested for real.
"""

from __future__ import annotations

import json
import sys

import pytest
from clirunner import CliRunner

torch = pytest.importorskip("torch")

from mamba_doctor.block import MambaRef  # noqa: E402
from mamba_doctor.cli import app  # noqa: E402
from mamba_doctor.smoke.child import kernels as _smoke_cuda  # noqa: E402
from mamba_doctor.smoke.child.report import Report  # noqa: E402
from mamba_doctor.smoke.runner import SmokeOptions  # noqa: E402

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


# The stress configuration: trained-like Mamba weights (large Δ·|A|), reference side and the
# comparison machinery, on CPU.

STRESS = {**OPTS, "stress": True}


def test_stress_weights_reach_the_hard_regime_and_the_reference_agrees() -> None:
    from mamba_doctor.smoke.child import stress

    rep = Report({})
    stress.stress_reference_checks(torch, STRESS, "cpu", rep)
    checks = {c["name"]: c for c in rep.data["checks"]}
    assert set(checks) == {"stress: finite values", "stress: gradient flow", "stress: regime",
                           "stress: chunked scan = sequential loop (fp64, values and gradients)"}
    assert all(c["status"] == "pass" for c in checks.values()), checks
    regime = rep.data["stress_regime"]
    assert regime["stress"]["max_chunk8"] > 40 > regime["default"]["max_chunk8"]


def test_stress_scan_check_fails_for_a_wrong_chunked_gradient(monkeypatch) -> None:
    from mamba_doctor.smoke.child import stress

    class Drifting(MambaRef):  # the chunked path's gradients off by one part in a million
        def forward(self, hidden_states, inference_params=None):
            out = super().forward(hidden_states)
            return out + 1e-6 * (out - out.detach()) if self.scan == "chunked" else out

    monkeypatch.setattr(stress, "MambaRef", Drifting)
    rep = Report({})
    stress.stress_reference_checks(torch, STRESS, "cpu", rep)
    scan = next(c for c in rep.data["checks"] if "sequential loop" in c["name"])
    assert scan["status"] == "fail" and 1e-7 < scan["max_abs_err"] < 1e-5, scan


def test_stress_comparison_is_tagged_and_uses_the_stress_weights() -> None:
    rep = Report({})
    opts = {**STRESS, "weights": "stress", "dtype": "float32"}
    _smoke_cuda.cuda_checks(torch, opts, MambaRef, True, rep, device="cpu", tag="stress: ")
    names = {c["name"]: c["status"] for c in rep.data["checks"]}
    assert "stress: Mamba op cuda-fast float32: parameter gradients" in names
    assert "stress: block cuda-slow float32: output" in names
    assert all(s == "pass" for s in names.values()), names
    assert "stress_op_cuda-fast_fwd_bwd" in rep.data["timings_ms"]
    bad = Report({})
    _smoke_cuda.cuda_checks(torch, opts, WrongGradient, True, bad, device="cpu", tag="stress: ")
    failed = {c["name"] for c in bad.data["checks"] if c["status"] == "fail"}
    assert "stress: Mamba op cuda-fast float32: input gradients" in failed
    # The stress weights are not the default ones.
    from mamba_doctor.smoke.child.reference import mamba_state_dict

    a, b = mamba_state_dict(torch, OPTS, 16), mamba_state_dict(torch, opts, 16)
    assert not torch.equal(a["dt_proj.bias"], b["dt_proj.bias"])
    assert torch.equal(a["dt_proj.bias"], mamba_state_dict(torch, OPTS, 16)["dt_proj.bias"])


def test_stress_option_reaches_the_child() -> None:
    assert SmokeOptions(stress=True).to_child()["stress"] is True
    assert SmokeOptions().to_child()["stress"] is False
    result = CliRunner().invoke(app, ["smoke", "--json", "--python", sys.executable, "--device",
                                      "cpu", "--stress", "--dim", "16", "--heads", "2",
                                      "--steps", "6", "--nodes", "3"])
    data = json.loads(result.stdout)["data"]
    assert result.exit_code == 0, data["checks"]
    assert data["options"]["stress"] is True
    assert data["stress_regime"]["stress"]["max_chunk8"] > 40
    stress_checks = [c for c in data["checks"] if c["name"].startswith("stress: ")]
    assert len(stress_checks) == 4 and all(c["status"] == "pass" for c in stress_checks)
