"""Upstream's selective-scan test grid and a perturbed-weights sweep, against the float64 oracle.

mamba_ssm's tests/ops/test_selective_scan.py (`test_selective_scan`) parametrises, counting the
values it has commented out: wtype {float32, complex64}, itype {float32, float16, bfloat16},
seqlen {8, 16, 32, 64, 128, 256, 372, 512, 784, 1024, 1134, 2048, 4096}, return_last_state,
has_delta_bias, delta_softplus, has_z, has_D, varBC_groups {1, 2}, is_variable_B and
is_variable_C (groups > 1 only with both variable), with batch 2, dim 4, dstate 8, A =
-0.5·U(0,1), B, C, u, z, D ~ N(0,1), delta = 0.5·U(0,1), delta_bias = 0.5·U(0,1); and
tolerances rtol/atol 6e-4/2e-3 (fp32), 3e-3/5e-3 (fp16), 3e-2/5e-2 (bf16), gradients with
the rules in its (commented) asserts. Here: every combination of all the parameters except
seqlen (960 runs) against the oracle, each at one sequence length: real A (the chunked scan) at
the 13 lengths in turn, complex A (which runs the plain loop, ~0.6 ms per step with its
backward) at 8, 16 and 32 in turn. The oracle runs every problem of one length in one loop
(tests/scan_oracle.py `many`).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from scan_oracle import discretise, finish, many, one_torch_thread  # noqa: E402, F401

from mamba_doctor.block import MambaRef, selective_scan_chunked  # noqa: E402

SEQLENS = (8, 16, 32, 64, 128, 256, 372, 512, 784, 1024, 1134, 2048, 4096)
FLAGS = ("return_last_state", "has_delta_bias", "delta_softplus", "has_z", "has_D")
BC = [(True, True, 1), (True, True, 2), (True, False, 1), (False, True, 1), (False, False, 1)]
TOL = {torch.float32: (6e-4, 2e-3), torch.float16: (3e-3, 5e-3), torch.bfloat16: (3e-2, 5e-2)}
BATCH, DIM, DSTATE = 2, 4, 8


def grid() -> list[dict[str, Any]]:
    runs = []
    for i, (wtype, itype, flags, (var_b, var_c, groups)) in enumerate(itertools.product(
            (torch.float32, torch.complex64), TOL, itertools.product((False, True), repeat=5),
            BC)):
        runs.append({"wtype": wtype, "itype": itype, **dict(zip(FLAGS, flags)),
                     "is_variable_B": var_b, "is_variable_C": var_c, "varBC_groups": groups,
                     "seqlen": (SEQLENS if wtype == torch.float32 else SEQLENS[:3])[
                         i % (len(SEQLENS) if wtype == torch.float32 else 3)], "seed": i})
    return runs


def make_inputs(run: dict[str, Any]) -> dict[str, Any]:
    """Upstream's distributions and shapes (its own RNG sequence is not reproduced)."""
    g = torch.Generator().manual_seed(run["seed"])
    L, itype, wtype = run["seqlen"], run["itype"], run["wtype"]
    cplx = wtype == torch.complex64

    def randn(*shape: int, dtype: Any = torch.float32) -> Any:
        return torch.randn(*shape, generator=g, dtype=torch.float32).to(dtype)

    def rand(*shape: int) -> Any:
        return torch.rand(*shape, generator=g)

    A = -0.5 * rand(DIM, DSTATE)
    if cplx:
        A = torch.complex(A, randn(DIM, DSTATE))

    def bc(variable: bool) -> Any:
        if not variable:
            return randn(DIM, DSTATE, dtype=wtype) if not cplx else torch.complex(
                randn(DIM, DSTATE), randn(DIM, DSTATE))
        tl = 2 * L if cplx else L
        if run["varBC_groups"] == 1:
            return randn(BATCH, DSTATE, tl, dtype=itype)
        return randn(BATCH, run["varBC_groups"], DSTATE, tl, dtype=itype)

    return {"u": randn(BATCH, DIM, L, dtype=itype), "delta": (0.5 * rand(BATCH, DIM, L)).to(itype),
            "A": A, "B": bc(run["is_variable_B"]), "C": bc(run["is_variable_C"]),
            "D": randn(DIM) if run["has_D"] else None,
            "z": randn(BATCH, DIM, L, dtype=itype) if run["has_z"] else None,
            "delta_bias": 0.5 * rand(DIM) if run["has_delta_bias"] else None,
            "g": randn(BATCH, DIM, L)}


def grad_tol(name: str, run: dict[str, Any], rtol: float, atol: float) -> tuple[float, float]:
    """Upstream's gradient rules (its asserts, commented out in the file, give these)."""
    rtolw, atolw = 1e-3, 1e-3
    if run["has_z"]:  # "If we have z, the errors on the weights seem higher"
        rtolw, atolw = max(rtolw, rtol), max(atolw, atol)
    return {"u": (2 * rtol, 2 * atol), "delta": (5 * rtol, 10 * atol), "A": (rtolw, 5 * atolw),
            "B": (rtol, atol) if run["is_variable_B"] else (rtolw, atolw),
            "C": (rtol, atol) if run["is_variable_C"] else (rtolw, atolw)}.get(
        name, (rtolw, atolw))


def close(got: Any, want: Any, rtol: float, atol: float) -> bool:
    got, want = got.detach().to(want.dtype), want.detach()
    return bool(torch.isfinite(got).all()) and bool(
        ((got - want).abs() <= atol + rtol * want.abs()).all())


NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


def test_upstream_selective_scan_grid_against_the_oracle() -> None:
    runs = grid()
    assert len(runs) == 2 * 3 * 32 * 5 == 960  # every combination once; seqlen in turn
    assert {r["seqlen"] for r in runs if r["wtype"] == torch.float32} == set(SEQLENS)
    failures = []
    for L in SEQLENS:
        group = [r for r in runs if r["seqlen"] == L]
        for cplx in (False, True):  # one oracle loop per (length, real/complex)
            sub = [r for r in group if (r["wtype"] == torch.complex64) == cplx]
            failures += _check_group(sub) if sub else []
    assert not failures, f"{len(failures)} of 960 runs outside the tolerances: {failures[:5]}"


def _check_group(runs: list[dict[str, Any]]) -> list[str]:
    inputs = [make_inputs(r) for r in runs]
    oracle_leaves = [{k: v.detach().double() if not v.is_complex() else v.detach().cdouble()
                      for k, v in x.items() if v is not None and k != "g"} for x in inputs]
    for leaves in oracle_leaves:
        for v in leaves.values():
            v.requires_grad_()
    problems, finishers = [], []
    for r, lv in zip(runs, oracle_leaves):
        problems.append(discretise(lv["u"], lv["delta"], lv["A"], lv["B"], lv["C"],
                                   lv.get("delta_bias"), r["delta_softplus"]))
        # As upstream's selective_scan_ref, the output is cast to the input dtype (so the
        # gradient arriving at it is rounded to that dtype too, as the kernel's is).
        finishers.append(lambda y, lv=lv, r=r: finish(y, lv["u"], lv.get("D"), lv.get("z")).to(
            r["itype"]).double())
    ys, hs = many(problems, finishers)
    loss = sum((y * x["g"].double()).sum() for y, x in zip(ys, inputs))
    loss.backward()
    failures = []
    for r, x, lv, y_o, h_o in zip(runs, inputs, oracle_leaves, ys, hs):
        rtol, atol = TOL[r["itype"]]
        leaves = {k: v.detach().clone().requires_grad_() for k, v in x.items()
                  if v is not None and k != "g"}
        out = selective_scan_chunked(
            *(leaves.get(k) for k in NAMES[:5]), leaves.get("D"), leaves.get("z"),
            delta_bias=leaves.get("delta_bias"), delta_softplus=r["delta_softplus"],
            return_last_state=r["return_last_state"])
        y = out[0] if r["return_last_state"] else out
        bad = [] if close(y, y_o, rtol, atol) else ["out"]
        if r["return_last_state"] and not close(out[1], h_o, rtol, atol):
            bad.append("state")
        (y.float() * x["g"]).sum().backward()  # upstream: out.backward(g), no state gradient
        for k, v in leaves.items():
            if not close(v.grad, lv[k].grad, *grad_tol(k, r, rtol, atol)):
                bad.append("d" + k)
        if bad:
            failures.append(f"{ {k: v for k, v in r.items() if k != 'seed'} }: {bad}")
    return failures


def _perturbed_configs() -> list[tuple[dict[str, int], int, int]]:
    """64 module configurations: d_model, d_state, expand, d_conv, seqlen, batch."""
    return [({"d_model": dm, "d_state": ns, "expand": ex, "d_conv": dc}, L, b)
            for dm, ns, ex, dc, L, b in itertools.product(
                (32, 64), (8, 16), (1, 2), (2, 4), (12, 64), (1, 2))]


def test_perturbed_weights_give_finite_exact_gradients_float64() -> None:
    # Trained-like weights: every parameter + 0.3·N(0,1). The previous chunked scan (autograd
    # through 1/P) gave NaN gradients for x and every parameter except D and out_proj in 12 of
    # these 64 float64 configurations (|A|·ΣΔ over a chunk in 355..500).
    configs = _perturbed_configs()
    assert len(configs) == 64
    worst = 0.0
    for i, (kw, L, b) in enumerate(configs):
        torch.manual_seed(i)
        sd = {k: v.double() + 0.3 * torch.randn(v.shape, dtype=torch.float64)
              for k, v in MambaRef(**kw).state_dict().items()}
        x = torch.randn(b, L, kw["d_model"], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(100 + i))
        G = torch.randn(b, L, kw["d_model"], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(200 + i))
        results = []
        for scan in ("sequential", "chunked"):
            m = MambaRef(**kw, scan=scan).double()
            m.load_state_dict(sd)
            xi = x.clone().requires_grad_()
            out = m(xi)
            (out * G).sum().backward()
            results.append([out.detach(), xi.grad] + [p.grad for p in m.parameters()])
        names = ["out", "x"] + [k for k, _ in m.named_parameters()]
        for name, a, w in zip(names, results[1], results[0]):  # chunked vs the loop
            assert bool(torch.isfinite(w).all()) and bool(torch.isfinite(a).all()), (i, name)
            err = float((a - w).abs().max() / w.abs().max())
            assert err <= 1e-10, (i, kw, name, err)
            worst = max(worst, err)
    assert worst < 1e-12  # measured: 1.6e-14
