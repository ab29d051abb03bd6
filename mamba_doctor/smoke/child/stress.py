"""The smoke test's stress configuration: trained-like Mamba weights with large Δ·|A|.

Runs inside the target interpreter (Python 3.8+, torch only). mamba_ssm's initialisation keeps
Δ = softplus(dt_proj.bias + …) within [0.001, 0.1], so Δ·|A| stays near 1 per step and every
scan runs in its easy regime. Trained weights do not: larger steps and faster decays are where
a closed-form or blocked scan overflows or loses accuracy, and where kernels and references are
most likely to disagree. The stress weights come from weights.py.
"""

from __future__ import annotations

from typing import Any, Dict

from ...block import MambaRef
from ...block.chunked import limit_for
from ...block.mamba_ref import causal_conv1d
from .reference import build_block, gradient_flow_check, make_inputs, sizes
from .report import Report, stage

TAG = "stress: "


def decay_regime(torch: Any, mamba: Any, S: Any) -> Dict[str, float]:
    """max Δ·|A| over one step, and over 8 consecutive steps (a chunk of the reference scan; all
    steps when there are fewer)."""
    F = torch.nn.functional
    m, x = mamba.double(), S.double()
    with torch.no_grad():  # Δ as mamba_forward computes it (block/mamba_ref.py)
        xs = (x @ m.in_proj.weight.t())[..., :m.d_inner].transpose(1, 2)
        xc = F.silu(causal_conv1d(xs, m.conv1d.weight, m.conv1d.bias)).transpose(1, 2)
        dt_low = (xc @ m.x_proj.weight.t())[..., :m.dt_rank]
        delta = F.softplus(dt_low @ m.dt_proj.weight.t() + m.dt_proj.bias)  # (b, L, Di)
        steps = delta * torch.exp(m.A_log.double()).amax(1)  # Δ·max|A| per channel
        window = min(8, x.shape[1])
        chunk = steps.unfold(1, window, 1).sum(-1)
    return {"max_step": float(steps.max()), "max_chunk8": float(chunk.max()), "window": window}


def stress_reference_checks(torch: Any, opts: Dict[str, Any], device: str, rep: Report) -> None:
    """The block and its Mamba with stress weights: finite, gradients flow, and the chunked scan
    equals the plain loop in float64 in values and every gradient."""
    opts = {**opts, "weights": "stress"}
    B, T, N, D, _ = sizes(opts)
    stage("stress: build")
    blk = build_block(torch, opts, "ref").to(device).eval()
    X, STE, G = make_inputs(torch, opts, device, torch.float32)
    with torch.no_grad():
        out = blk(X, STE)
    finite = bool(torch.isfinite(out).all())
    rep.check(TAG + "finite values", "pass" if finite else "fail",
              "all finite" if finite else "NaN or inf in the output")
    stage("stress: backward")
    gradient_flow_check(torch, blk.train(), X, STE, G, rep, tag=TAG)
    if opts.get("temporal", "mamba") != "mamba":
        return
    stage("stress: scan")
    mamba = blk.temporal.mamba
    gen = torch.Generator().manual_seed(int(opts.get("seed", 0)) + 5)
    S = torch.randn(B * N, T, D, generator=gen, dtype=torch.float64).to(device)
    W = torch.randn(B * N, T, D, generator=gen, dtype=torch.float64).to(device)
    regime = decay_regime(torch, _copy(torch, mamba, D, device), S)
    plain = build_block(torch, {**opts, "weights": "default"}, "ref").temporal.mamba
    usual = decay_regime(torch, _copy(torch, plain, D, device), S)
    rep.data["stress_regime"] = {"stress": regime, "default": usual}
    # Hard means: beyond what one 8-step chunk of the fp32 reference scan takes (block/chunked.py).
    hard = regime["max_chunk8"] > limit_for(torch.float32)
    rep.check(TAG + "regime", "pass" if hard else "fail",
              "max Δ·|A| per step %.3g, over %d steps %.3g (default weights: %.3g and %.3g)"
              % (regime["max_step"], regime["window"], regime["max_chunk8"], usual["max_step"],
                 usual["max_chunk8"]))
    results = {}
    for scan in ("sequential", "chunked"):
        m = _copy(torch, mamba, D, device)
        m.scan = scan
        Si = S.clone().requires_grad_(True)
        y = m(Si)
        (y * W).sum().backward()
        results[scan] = [("output", y.detach()), ("input", Si.grad)] + [
            (k, p.grad) for k, p in m.named_parameters()]
    worst, where = 0.0, ""
    for (name, want), (_, got) in zip(results["sequential"], results["chunked"]):
        if not bool(torch.isfinite(got).all()):
            worst, where = float("inf"), name
            break
        err = float((got - want).abs().max() / want.abs().max().clamp_min(1e-300))
        if err >= worst:
            worst, where = err, name
    rep.check(TAG + "chunked scan = sequential loop (fp64, values and gradients)",
              "pass" if worst <= 1e-10 else "fail",
              "max relative |Δ| = %.3g (at %s)" % (worst, where), max_abs_err=worst)


def _copy(torch: Any, mamba: Any, D: int, device: str) -> Any:
    m = MambaRef(D, d_state=mamba.d_state, d_conv=mamba.d_conv, expand=mamba.expand,
                 dt_rank=mamba.dt_rank).to(device).double()
    m.load_state_dict(mamba.state_dict())
    return m
