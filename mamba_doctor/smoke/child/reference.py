"""Smoke checks that need no mamba_ssm: shapes, counts, causality, gradients, scan and gradcheck.

Runs inside the target interpreter (Python 3.8+, torch only); results go into the child's Report.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Dict, List, Tuple

from ...block import MambaRef, STMambaBlock, count_parameters, trace_block
from .report import Report, stage, timed_ms
from .weights import stress_weights


def sizes(opts: Dict[str, Any]) -> Tuple[int, int, int, int, int]:
    return (int(opts.get("batch", 2)), int(opts.get("steps", 12)), int(opts.get("nodes", 5)),
            int(opts.get("dim", 64)), int(opts.get("heads", 8)))


def build_block(torch: Any, opts: Dict[str, Any], backend: str, **kw: Any) -> Any:
    """The smoke block, always from the same seed: every variant shares one set of weights.
    With opts["weights"] == "stress" its Mamba weights are trained-like (see stress.py)."""
    D, K = sizes(opts)[3:]
    seed = int(opts.get("seed", 0))
    torch.manual_seed(seed)
    blk = STMambaBlock(K=K, d=D // K, temporal=opts.get("temporal", "mamba"),
                       mamba_backend=backend, **kw)
    if opts.get("weights") == "stress" and opts.get("temporal", "mamba") == "mamba":
        for i, m in enumerate((blk.temporal.mamba, blk.temporal.mamba_rev)):
            if m is not None:
                stress_weights(torch, m, seed + i)
    return blk


def mamba_state_dict(torch: Any, opts: Dict[str, Any], D: int) -> Dict[str, Any]:
    """The weights of the op-level comparison's Mamba(D) (stress weights when asked)."""
    torch.manual_seed(int(opts.get("seed", 0)))
    m = MambaRef(D)
    if opts.get("weights") == "stress":
        stress_weights(torch, m, int(opts.get("seed", 0)))
    return m.state_dict()


def make_inputs(torch: Any, opts: Dict[str, Any], device: str, dtype: Any) -> List[Any]:
    """X, STE and the output weighting G (loss = Σ out⊙G), from a fixed generator."""
    B, T, N, D, _ = sizes(opts)
    g = torch.Generator().manual_seed(int(opts.get("seed", 0)) + 1)
    return [torch.randn(B, T, N, D, generator=g).to(device=device, dtype=dtype)
            for _ in range(3)]


def expected_parameters(D: int, temporal: str, d_state: int = 16, d_conv: int = 4,
                        expand: int = 2) -> int:
    """The count the layer sizes give (docs/smoke.md; each BN adds 2D)."""
    def act(i: int, o: int) -> int:
        return i * o + o + 2 * o

    def lin(i: int, o: int) -> int:
        return i * o + o

    stack = act(D, D) + lin(D, D)
    attention = 3 * act(2 * D, D) + stack
    Di, R, Ns = expand * D, math.ceil(D / 16), d_state
    mamba = (2 * Di * D + Di * d_conv + Di + (R + 2 * Ns) * Di + Di * R + Di + Di * Ns + Di
             + D * Di)
    right = attention if temporal == "attention" else act(2 * D, D) + mamba + stack
    return attention + right + D * D + lin(D, D) + stack


def reference_checks(torch: Any, opts: Dict[str, Any], device: str, rep: Report) -> None:
    """The reference-backend checks (docs/smoke.md lists them), in float32 on `device`."""
    B, T, N, D, _ = sizes(opts)
    temporal = opts.get("temporal", "mamba")
    stage("reference: build")
    blk = build_block(torch, opts, "ref").to(device).eval()
    X, STE, G = make_inputs(torch, opts, device, torch.float32)
    rep.data["input_shape"] = [B, T, N, D]
    n_params, want = count_parameters(blk), expected_parameters(D, temporal)
    rep.data["parameters"] = n_params
    rep.check("parameter count", "pass" if n_params == want else "fail",
              "%d (the layer sizes give %d)" % (n_params, want))
    stage("reference: forward")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.no_grad():
        holder: Dict[str, Any] = {}
        first = timed_ms(lambda: (holder.update(out=blk(X, STE)), sync()))
        out = holder["out"]
        times = [timed_ms(lambda: (blk(X, STE), sync())) for _ in range(3)]
    rep.data["timings_ms"]["ref_forward"] = {"first": first, "median": statistics.median(times)}
    rep.data["output_shape"] = list(out.shape)
    rep.check("output shape", "pass" if list(out.shape) == [B, T, N, D] else "fail",
              "%s for input %s" % (tuple(out.shape), (B, T, N, D)))
    finite = bool(torch.isfinite(out).all())
    rep.check("finite values", "pass" if finite else "fail",
              "all finite" if finite else "NaN or inf in the output")
    seq = X.permute(0, 2, 1, 3).reshape(B * N, T, D)
    back = seq.reshape(B, N, T, D).permute(0, 2, 1, 3)
    ok = torch.equal(back, X) and all(torch.equal(seq[b * N + n], X[b, :, n])
                                      for b in range(B) for n in range(N))
    rep.check("reshape round-trip", "pass" if ok else "fail",
              "(B,T,N,D) -> (B·N,T,D) -> back; row b·N+n = X[b,:,n,:]")
    stage("reference: causality")
    causality_check(torch, blk, X, STE, rep, exact=device == "cpu")
    if B >= 2:
        with torch.no_grad():
            alone = blk(X[:1], STE[:1])
        err = float((alone - out[:1]).abs().max())
        rep.check("batch independence", "pass" if err <= 1e-5 * (1 + float(out.abs().max()))
                  else "fail", "sample 0 alone vs in the batch: max |Δ| = %.3g" % err)
    stage("reference: backward")
    gradient_flow_check(torch, blk.train(), X, STE, G, rep)
    if temporal == "mamba":
        stage("reference: scan")
        scan_check(torch, blk.temporal.mamba, device, B * N, T, D, rep)
    stage("reference: gradcheck")
    gradcheck(torch, device, rep)


def causality_check(torch: Any, blk: Any, X: Any, STE: Any, rep: Report, exact: bool) -> None:
    """Eval mode: a change at steps ≥ t0 must leave outputs before t0 alone (BN in train mode
    pools over time and would leak)."""
    T = X.shape[1]
    if T < 2:
        rep.check("causality", "skip", "needs at least 2 steps")
        return
    t0 = T // 2
    Xp = X.clone()
    Xp[:, t0:] += 1.0
    with torch.no_grad():
        a, b = blk(X, STE), blk(Xp, STE)
    before = float((a[:, :t0] - b[:, :t0]).abs().max())
    after = float((a[:, t0:] - b[:, t0:]).abs().max())
    limit = 0.0 if exact else 1e-5
    ok = before <= limit and after > 1e-4
    rep.check("causality", "pass" if ok else "fail",
              "perturb steps ≥ %d: max |Δ| before = %.3g (allowed %g), after = %.3g (must be > 0)"
              % (t0, before, limit, after), max_abs_err=before)


def gradient_flow_check(torch: Any, blk: Any, X: Any, STE: Any, G: Any, rep: Report,
                        tag: str = "") -> None:
    blk.zero_grad()
    Xg = X.clone().requires_grad_(True)
    (blk(Xg, STE) * G).sum().backward()
    bad = [name for name, p in blk.named_parameters()
           if p.grad is None or not bool(torch.isfinite(p.grad).all())
           or float(p.grad.abs().max()) == 0.0]
    if Xg.grad is None or not bool(torch.isfinite(Xg.grad).all()):
        bad.append("input X")
    n = sum(1 for _ in blk.parameters())
    rep.check(tag + "gradient flow", "fail" if bad else "pass",
              ("no finite non-zero gradient: " + ", ".join(bad[:6])) if bad else
              "all %d parameter tensors and X get finite non-zero gradients" % n)


def scan_check(torch: Any, mamba: Any, device: str, rows: int, T: int, D: int,
               rep: Report) -> None:
    """The chunked scan against the plain loop, same weights, float64."""
    ref = MambaRef(D).to(device).double()
    ref.load_state_dict(mamba.state_dict())
    S = torch.randn(rows, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    S = S.to(device)
    with torch.no_grad():
        ref.scan = "sequential"
        slow = ref(S)
        ref.scan = "chunked"
        fast = ref(S)
    err = float((slow - fast).abs().max())
    rep.check("chunked scan = sequential loop (fp64)", "pass" if err <= 1e-10 else "fail",
              "max |Δ| = %.3g" % err, max_abs_err=err)


def gradcheck(torch: Any, device: str, rep: Report) -> None:
    torch.manual_seed(0)
    m = MambaRef(4, d_state=4, d_conv=3).to(device).double()
    x = torch.randn(1, 5, 4, dtype=torch.float64, device=device, requires_grad=True)
    try:
        ok = bool(torch.autograd.gradcheck(m, (x,), eps=1e-6, atol=1e-5))
        detail = "MambaRef(d_model=4, d_state=4), input (1,5,4), float64"
    except Exception as exc:  # gradcheck raises GradcheckError with the mismatch
        ok, detail = False, str(exc).splitlines()[0]
    rep.check("gradcheck (MambaRef, fp64)", "pass" if ok else "fail", detail)


def trace(torch: Any, opts: Dict[str, Any], device: str) -> List[Dict[str, Any]]:
    """Every op of one forward of the reference block (same weights), eval mode."""
    blk = build_block(torch, opts, "ref").to(device).eval()
    X, STE, _ = make_inputs(torch, opts, device, torch.float32)
    return trace_block(blk, X, STE)
