"""Smoke checks of mamba_ssm's CUDA kernels against the float64 reference (docs/smoke.md:
the tolerances are upstream's, tests/ops/test_selective_scan.py).

Runs inside the target interpreter (Python 3.8+) only when torch sees a GPU and the kernel
imports. Block level first, so that "first call" timings include loading the kernels.

How agreement is judged, for each output and gradient: the kernel result passes when it is
allclose to the float64 MambaRef oracle with upstream's per-dtype tolerances, or when its max
error is at most twice that of the same computation done by MambaRef at the same dtype (the
rule flash-attention's tests use): at fp16/bf16 the input rounding alone can exceed upstream's
tolerances, which were set for kernel-vs-reference on identical low-precision inputs.
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, Optional, Tuple

from ...block import MambaRef
from .reference import build_block, make_inputs, mamba_state_dict, sizes
from .report import Report, stage, timed_ms

# tests/ops/test_selective_scan.py in mamba_ssm (v1.2.2 .. HEAD): (rtol, atol) per input dtype.
TOLERANCES = {"float32": (6e-4, 2e-3), "float16": (3e-3, 5e-3), "bfloat16": (3e-2, 5e-2)}


def grad_tolerance(name: str, rtol: float, atol: float) -> Tuple[float, float]:
    """Upstream's gradient rules: du 2×; dΔ (dt_proj) 5×rtol/10×atol; dA 5×atolw; weights w."""
    if name in ("input", "X", "STE"):
        return 2 * rtol, 2 * atol
    rw, aw = max(1e-3, rtol), max(1e-3, atol)
    if "dt_proj" in name:
        return max(rw, 5 * rtol), max(aw, 10 * atol)
    if "A_log" in name:
        return rw, 5 * aw
    return rw, aw


def compare(got: Any, oracle: Any, same: Optional[Any], rtol: float, atol: float) -> Dict[str, Any]:
    g, o = got.double(), oracle.double()
    err = (g - o).abs()
    max_abs = float(err.max()) if err.numel() else 0.0
    allclose = bool((err <= atol + rtol * o.abs()).all())
    ref_err = float((same.double() - o).abs().max()) if same is not None else None
    passed = allclose or (ref_err is not None and max_abs <= 2 * ref_err)
    return {"max_abs": max_abs, "ref_err": ref_err, "allclose": allclose, "passed": passed,
            "scale": float(o.abs().max()) if o.numel() else 0.0, "rtol": rtol, "atol": atol}


def report(rep: Report, name: str, res: Dict[str, Any], what: str = "") -> None:
    detail = "max |Δ| = %.3g (max |ref| %.3g, rtol %g, atol %g)" % (
        res["max_abs"], res["scale"], res["rtol"], res["atol"])
    if res["ref_err"] is not None:
        detail += "; MambaRef at this dtype: %.3g" % res["ref_err"]
    if what:
        detail += "; worst: " + what
    rep.check(name, "pass" if res["passed"] else "fail", detail, max_abs_err=res["max_abs"])
    rep.data["max_abs_err"][name] = res["max_abs"]


def compare_grads(rep: Report, name: str, got: Dict[str, Any], oracle: Dict[str, Any],
                  same: Dict[str, Any], rtol: float, atol: float, inputs: Tuple[str, ...]) -> None:
    for group, keys in (("input gradients", [k for k in oracle if k in inputs]),
                        ("parameter gradients", [k for k in oracle if k not in inputs])):
        worst, worst_key, ok = None, "", True
        for k in keys:
            if got.get(k) is None:
                rep.check("%s: %s" % (name, group), "fail", "no gradient for " + k)
                ok = False
                break
            res = compare(got[k], oracle[k], same.get(k), *grad_tolerance(k, rtol, atol))
            if worst is None or not res["passed"] or (
                    worst["passed"] and res["max_abs"] > worst["max_abs"]):
                worst, worst_key = res, k
        if ok and worst is not None:
            report(rep, "%s: %s" % (name, group), worst, worst_key)


def fwd_bwd(torch: Any, module: Any, inputs: Dict[str, Any], G: Any,
            autocast: Optional[Any], device: str = "cuda") -> Tuple[Any, Dict[str, Any]]:
    """Forward (under autocast when given), loss = Σ out⊙G, backward; returns out and grads."""
    module.zero_grad(set_to_none=True)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    if autocast is not None:
        with torch.autocast(device, dtype=autocast):
            out = module(*leaves.values())
    else:
        out = module(*leaves.values())
    (out * G.to(out.dtype)).sum().backward()
    grads = {k: v.grad for k, v in leaves.items()}
    grads.update({k: p.grad for k, p in module.named_parameters()})
    return out.detach(), grads


def cuda_time(torch: Any, fn: Any, repeats: int = 10,
              device: str = "cuda") -> Tuple[float, float]:
    """(first call, median of the next `repeats`) in ms, with CUDA events (wall clock on CPU)."""
    if device != "cuda":  # tests only: keep them quick
        walls = [timed_ms(fn) for _ in range(min(repeats, 1) + 1)]
        return walls[0], statistics.median(walls[1:] or walls)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats + 1):
        torch.cuda.synchronize()
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return times[0], statistics.median(times[1:] or times)


def cuda_checks(torch: Any, opts: Dict[str, Any], cls: Any, fast: bool, rep: Report,
                device: str = "cuda", tag: str = "") -> None:
    """Block level, then the Mamba mixer alone, on every available path.

    `device` is "cuda" in real runs; the CPU is only for testing this comparison machinery with
    a stand-in kernel class (then the block's Mamba is MambaRef and no path is asserted).
    `tag` prefixes every check name and timing key ("stress: " for the stress weights, which
    opts["weights"] selects).
    """
    dtype_name = opts.get("dtype", "float32")
    dt = getattr(torch, dtype_name)
    rtol, atol = TOLERANCES[dtype_name]
    paths = (["cuda-fast"] if fast else []) + ["cuda-slow"]
    rep.data["paths"] = paths
    rep.data.setdefault("peak_memory_mb", {})
    if not fast and not tag:
        rep.check("fast path (causal_conv1d)", "skip", "causal_conv1d not importable: "
                  "mamba_ssm falls back to its slow path")
    if opts.get("temporal", "mamba") == "mamba":
        block_level(torch, opts, paths, dtype_name, dt, rtol, atol, rep, device, tag)
    else:
        rep.check(tag + "block vs reference", "skip", "temporal='attention' has no Mamba")
    op_level(torch, opts, cls, paths, dtype_name, dt, rtol, atol, rep, device, tag)


def _key(tag: str, key: str) -> str:
    """A timing/memory key with the tag's word in front ("stress: " -> "stress_op_...")."""
    return (tag.rstrip(": ") + "_" + key) if tag else key


def block_level(torch: Any, opts: Dict[str, Any], paths: Any, dtype_name: str, dt: Any,
                rtol: float, atol: float, rep: Report, device: str, tag: str = "") -> None:
    stage(tag + "block: reference")
    sd = build_block(torch, opts, "ref").state_dict()
    X, STE, G = make_inputs(torch, opts, device, torch.float32)
    ac = None if dtype_name == "float32" else dt
    oracle = build_block(torch, opts, "ref").to(device).double().eval()
    oracle.load_state_dict(sd)
    o_out, o_grads = fwd_bwd(torch, oracle, {"X": X.double(), "STE": STE.double()},
                             G.double(), None, device)
    ref32 = build_block(torch, opts, "ref").to(device).eval()
    ref32.load_state_dict(sd)

    def run_ref() -> Tuple[Any, Dict[str, Any]]:
        return fwd_bwd(torch, ref32, {"X": X, "STE": STE}, G, ac, device)

    r_out, r_grads = run_ref()
    first, median = cuda_time(torch, run_ref, device=device)
    rep.data["timings_ms"][_key(tag, "block_ref_fwd_bwd")] = {"first": first, "median": median}
    blk = build_block(torch, opts, "cuda" if device == "cuda" else "ref").to(device).eval()
    blk.load_state_dict(sd)  # strict: MambaRef's names and shapes are mamba_ssm's
    rep.data["block_repr_head"] = repr(blk).splitlines()[:2]
    for path in paths:
        name = tag + "block %s %s" % (path, dtype_name)
        stage(name)
        for m in (blk.temporal.mamba, blk.temporal.mamba_rev):
            if m is not None:
                m.use_fast_path = path == "cuda-fast"
        def run_blk() -> Tuple[Any, Dict[str, Any]]:
            return fwd_bwd(torch, blk, {"X": X, "STE": STE}, G, ac, device)

        try:
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            holder: Dict[str, Any] = {}
            first, _ = cuda_time(torch, lambda h=holder: h.update(r=run_blk()), repeats=0,
                                 device=device)
            out, grads = holder["r"]
            if device == "cuda":
                rep.data["peak_memory_mb"][_key(tag, path)] = \
                    torch.cuda.max_memory_allocated() / 2 ** 20
            _, median = cuda_time(torch, run_blk, device=device)
        except Exception as exc:
            rep.check(name + ": forward+backward", "fail", rep.error(name, exc))
            continue
        rep.data["timings_ms"][_key(tag, "block_%s_fwd_bwd" % path)] = {"first": first,
                                                                          "median": median}
        if device == "cuda" and blk.last_path != path:
            rep.check(name + ": path", "fail", "expected %s, the block ran %s"
                      % (path, blk.last_path))
        report(rep, name + ": output", compare(out, o_out, r_out, rtol, atol))
        compare_grads(rep, name, grads, o_grads, r_grads, rtol, atol, ("X", "STE"))


def op_level(torch: Any, opts: Dict[str, Any], cls: Any, paths: Any, dtype_name: str, dt: Any,
             rtol: float, atol: float, rep: Report, device: str, tag: str = "") -> None:
    """mamba_ssm.Mamba alone on (B·N, T, D) against MambaRef fp64, same state_dict."""
    B, T, N, D, _ = sizes(opts)
    stage(tag + "op: reference")
    sd = mamba_state_dict(torch, opts, D)
    g = torch.Generator().manual_seed(int(opts.get("seed", 0)) + 2)
    S = torch.randn(B * N, T, D, generator=g).to(device)
    G = torch.randn(B * N, T, D, generator=g).to(device)
    oracle = MambaRef(D).to(device).double()
    oracle.load_state_dict(sd)
    o_out, o_grads = fwd_bwd(torch, oracle, {"input": S.double()}, G.double(), None, device)
    same = MambaRef(D, device=device, dtype=dt)  # A_log and D stay fp32, as upstream
    same.load_state_dict(sd)
    r_out, r_grads = fwd_bwd(torch, same, {"input": S.to(dt)}, G, None, device)
    for path in paths:
        name = tag + "Mamba op %s %s" % (path, dtype_name)
        stage(name)
        try:
            m = cls(D, device=device, dtype=dt, use_fast_path=path == "cuda-fast")
            m.load_state_dict(sd)

            def run_op(m: Any = m) -> Tuple[Any, Dict[str, Any]]:
                return fwd_bwd(torch, m, {"input": S.to(dt)}, G, None, device)

            out, grads = run_op()
            first, median = cuda_time(torch, run_op, device=device)
        except Exception as exc:
            rep.check(name + ": forward+backward", "fail", rep.error(name, exc))
            continue
        rep.data["timings_ms"][_key(tag, "op_%s_fwd_bwd" % path)] = {"first": first,
                                                                       "median": median}
        report(rep, name + ": output", compare(out, o_out, r_out, rtol, atol))
        compare_grads(rep, name, grads, o_grads, r_grads, rtol, atol, ("input",))
