"""STMambaBlock and MambaRef on CPU: shapes, counts, state_dict, numerics vs independent code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import mamba_doctor  # noqa: E402
from mamba_doctor import block  # noqa: E402
from mamba_doctor.block import (  # noqa: E402
    MambaRef,
    STMambaBlock,
    count_parameters,
    selective_scan_chunked,
    selective_scan_sequential,
    trace_block,
)

PKG = Path(mamba_doctor.__file__).resolve().parent

# mamba_ssm.Mamba(d_model=64)'s parameter names and shapes with its defaults (upstream
# mamba_ssm/modules/mamba_simple.py: expand 2, d_state 16, d_conv 4, dt_rank ceil(64/16)).
MAMBA_SSM_STATE_DICT_64 = {
    "A_log": (128, 16),
    "D": (128,),
    "in_proj.weight": (256, 64),
    "conv1d.weight": (128, 1, 4),
    "conv1d.bias": (128,),
    "x_proj.weight": (36, 128),
    "dt_proj.weight": (128, 4),
    "dt_proj.bias": (128,),
    "out_proj.weight": (64, 128),
}


def _inputs(B=2, T=12, N=5, D=64, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, T, N, D, generator=g, dtype=dtype),
            torch.randn(B, T, N, D, generator=g, dtype=dtype))


@pytest.mark.parametrize(("temporal", "use_bn", "count"), [
    ("mamba", True, 99_776), ("mamba", False, 98_880),
    ("attention", True, 83_904), ("attention", False, 82_752)])
def test_parameter_counts_match_spec(temporal: str, use_bn: bool, count: int) -> None:
    blk = STMambaBlock(temporal=temporal, use_bn=use_bn, mamba_backend="ref")
    assert count_parameters(blk) == count
    X, STE = _inputs()
    assert blk(X, STE).shape == (2, 12, 5, 64)


def test_mamba_parameters_and_bidirectional_count() -> None:
    m = MambaRef(64)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == MAMBA_SSM_STATE_DICT_64
    assert count_parameters(m) == 32_640
    # breakdown: in_proj 16,384; conv 512+128; x_proj 4,608; dt_proj 512+128; A_log 2,048...
    assert m.in_proj.weight.numel() == 16_384 and m.x_proj.weight.numel() == 4_608
    bi = STMambaBlock(mamba_backend="ref", causal=False)
    assert bi.bidirectional and count_parameters(bi) == 99_776 + 32_640
    assert m.A_log.dtype == torch.float32 and m.D.dtype == torch.float32
    half = MambaRef(64, dtype=torch.float16)  # upstream keeps A_log and D in fp32
    assert half.A_log.dtype == torch.float32 and half.in_proj.weight.dtype == torch.float16


def test_initialisation_follows_mamba_ssm() -> None:
    torch.manual_seed(0)
    m = MambaRef(64, dt_min=0.001, dt_max=0.1)
    assert torch.equal(m.A_log, torch.log(torch.arange(1, 17.0)).repeat(128, 1))
    assert torch.equal(m.D, torch.ones(128))
    dt0 = F.softplus(m.dt_proj.bias.detach())  # inverse softplus round-trips into [dt_min, dt_max]
    assert float(dt0.min()) >= 0.001 * 0.999 and float(dt0.max()) <= 0.1 * 1.001
    bound = m.dt_rank ** -0.5
    assert float(m.dt_proj.weight.detach().abs().max()) <= bound and m.dt_rank == 4
    assert MambaRef(64, dt_init="constant").dt_proj.weight.eq(bound).all()
    assert m.dt_proj.bias._no_reinit and m.A_log._no_weight_decay


SPEC_TRACE = {  # op -> (inputs, outputs) as docs/smoke.md's op-by-op table has them
    "spatial.concat": ([[2, 12, 5, 64]] * 2, [[2, 12, 5, 128]]),
    "spatial.fc_q": ([[2, 12, 5, 128]], [[2, 12, 5, 64]]),
    "spatial.split_heads": ([[2, 12, 5, 64]] * 3, [[2, 12, 8, 5, 8]] * 3),  # Q, K and V
    "spatial.scores": ([[2, 12, 8, 5, 8]] * 2, [[2, 12, 8, 5, 5]]),
    "spatial.attend": ([[2, 12, 8, 5, 5], [2, 12, 8, 5, 8]], [[2, 12, 8, 5, 8]]),
    "temporal.to_sequences": ([[2, 12, 5, 64]], [[10, 12, 64]]),
    "temporal.mamba.in_proj": ([[10, 12, 64]], [[10, 256, 12]]),
    "temporal.mamba.split_xz": ([[10, 256, 12]], [[10, 128, 12]] * 2),
    "temporal.mamba.conv1d+silu": ([[10, 128, 12]], [[10, 128, 12]]),
    "temporal.mamba.x_proj": ([[120, 128]], [[120, 4], [120, 16], [120, 16]]),
    "temporal.mamba.dt_proj": ([[120, 4]], [[10, 128, 12]]),
    "temporal.mamba.out_proj": ([[10, 12, 128]], [[10, 12, 64]]),
    "temporal.from_sequences": ([[10, 12, 64]], [[2, 12, 5, 64]]),
    "residual": ([[2, 12, 5, 64]] * 2, [[2, 12, 5, 64]]),
}


def test_trace_matches_spec_shape_tables() -> None:
    blk = STMambaBlock(mamba_backend="ref").eval()
    ops = {op["op"]: op for op in trace_block(blk, *_inputs())}
    for name, (ins, outs) in SPEC_TRACE.items():
        assert (ops[name]["input_shape"], ops[name]["output_shape"]) == (ins, outs), name
    assert ops["temporal.mamba.conv1d+silu"]["params"] == {"conv1d.weight": [128, 1, 4],
                                                            "conv1d.bias": [128]}
    assert all(op["meaning"] for op in ops.values())
    heads = {op["op"]: op for op in trace_block(STMambaBlock(temporal="attention").eval(),
                                                *_inputs())}
    assert heads["temporal.scores"]["output_shape"] == [[2, 5, 8, 12, 12]]
    assert blk(*_inputs()).shape == (2, 12, 5, 64)  # recording is off again


def _naive_mamba(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """Mamba-1 straight from the equations (the Mamba paper's Algorithm 2, arXiv:2312.00752),
    one time step at a time."""
    Wc = sd["conv1d.weight"][:, 0, :]
    Di, W = Wc.shape
    Ns = sd["A_log"].shape[1]
    R = sd["dt_proj.weight"].shape[1]
    xs, z = (x @ sd["in_proj.weight"].T).split(Di, dim=-1)  # (b, L, Di)
    b, L, _ = xs.shape
    conv = torch.zeros_like(xs) + sd["conv1d.bias"]
    for t in range(L):
        for k in range(W):  # tap k looks k steps back
            if t - k >= 0:
                conv[:, t] += Wc[:, W - 1 - k] * xs[:, t - k]
    u = F.silu(conv)
    dt_low, Bm, Cm = (u @ sd["x_proj.weight"].T).split([R, Ns, Ns], dim=-1)
    delta = F.softplus(dt_low @ sd["dt_proj.weight"].T + sd["dt_proj.bias"])
    A = -torch.exp(sd["A_log"])
    h = torch.zeros(b, Di, Ns, dtype=x.dtype)
    ys = []
    for t in range(L):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * u[:, t])[..., None] \
            * Bm[:, t, None, :]
        ys.append((h * Cm[:, t, None, :]).sum(-1) + sd["D"] * u[:, t])
    y = torch.stack(ys, dim=1) * F.silu(z)
    return y @ sd["out_proj.weight"].T


@pytest.mark.parametrize("scan", ["chunked", "sequential"])
def test_mamba_ref_matches_naive_equations_fp64(scan: str) -> None:
    torch.manual_seed(0)
    m = MambaRef(16, d_state=8, d_conv=3, scan=scan, chunk_size=4).double()
    with torch.no_grad():  # larger steps than the init, so the decay really matters
        m.dt_proj.bias.add_(2.0)
    x = torch.randn(3, 11, 16, dtype=torch.float64)
    want = _naive_mamba({k: v.double() for k, v in m.state_dict().items()}, x)
    assert (m(x) - want).abs().max().item() < 1e-12


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mamba_ref_matches_mambapy_with_the_same_state_dict(dtype: torch.dtype) -> None:
    mm = pytest.importorskip("mambapy.mamba")
    torch.manual_seed(0)
    ref = MambaRef(64).to(dtype)
    for pscan in (True, False):
        other = mm.MambaBlock(mm.MambaConfig(d_model=64, n_layers=1, pscan=pscan)).to(dtype)
        # mamba_ssm's names load strictly into mambapy's MambaBlock: no key mapping needed.
        other.load_state_dict(ref.state_dict(), strict=True)
        x = torch.randn(10, 12, 64, dtype=dtype)
        with torch.no_grad():
            err = (ref(x) - other(x)).abs().max().item()
        # measured once: 7.5e-9 (fp32) and 6.9e-12 (fp64; mambapy computes A in fp32).
        assert err < (1e-6 if dtype == torch.float32 else 1e-9), (pscan, err)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("chunk", [None, 1, 3, 16, 100])
def test_chunked_scan_equals_sequential_loop(dtype: torch.dtype, chunk: int | None) -> None:
    g = torch.Generator().manual_seed(5)
    b, d, L, n = 2, 6, 41, 5
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    u, delta, z, B, C = r(b, d, L), r(b, d, L) * 3, r(b, d, L), r(b, n, L), r(b, n, L)
    A = -torch.rand(d, n, generator=g, dtype=dtype) * 12  # steep decays: the chunks must shrink
    D, bias = r(d), r(d)
    y1, h1 = selective_scan_sequential(u, delta, A, B, C, D, z, delta_bias=bias,
                                       delta_softplus=True, return_last_state=True)
    y2, h2 = selective_scan_chunked(u, delta, A, B, C, D, z, delta_bias=bias,
                                    delta_softplus=True, return_last_state=True, chunk_size=chunk)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.isfinite(y2).all()
    assert (y1 - y2).abs().max().item() <= tol * (1 + y1.abs().max().item())
    assert (h1 - h2).abs().max().item() <= tol * (1 + h1.abs().max().item())


@pytest.mark.parametrize("block_elems", [1, 300, 1 << 17])  # one chunk per block, a few, all
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("keep", [0, 1 << 23])  # the backward recomputes states, or reuses them
def test_chunked_scan_blocks_match_the_loop_in_values_and_gradients(
    monkeypatch: pytest.MonkeyPatch, block_elems: int, grad: bool, keep: int
) -> None:
    # The streamed scan has two code paths (in place without autograd, out of place with it)
    # and two ways to chain chunks (one per block, several per block): all must equal the loop.
    from mamba_doctor.block import chunked

    monkeypatch.setattr(chunked, "_BLOCK_ELEMS", block_elems)
    monkeypatch.setattr(chunked, "_KEEP_ELEMS", keep)
    g = torch.Generator().manual_seed(11)
    b, d, L, n = 2, 6, 37, 5
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    inputs = [r(b, d, L), r(b, d, L), -torch.rand(d, n, generator=g, dtype=torch.float64) * 4,
              r(b, n, L), r(b, n, L), r(d), r(b, d, L), r(d)]
    before = [t.clone() for t in inputs]
    weight = r(b, d, L)
    results = []
    for fn in (selective_scan_sequential, selective_scan_chunked):
        leaves = [t.clone().requires_grad_(grad) for t in inputs]
        u, delta, A, B, C, D, z, bias = leaves
        y, h = fn(u, delta, A, B, C, D, z, delta_bias=bias, delta_softplus=True,
                  return_last_state=True)
        grads = torch.autograd.grad((y * weight).sum(), leaves) if grad else []
        results.append((y.detach(), h.detach(), grads))
    (y1, h1, g1), (y2, h2, g2) = results
    assert (y1 - y2).abs().max().item() <= 1e-12 * (1 + y1.abs().max().item())
    assert (h1 - h2).abs().max().item() <= 1e-12 * (1 + h1.abs().max().item())
    for a, c in zip(g1, g2):
        assert (a - c).abs().max().item() <= 1e-11 * (1 + a.abs().max().item())
    assert len(g2) == (8 if grad else 0)
    for t, t0 in zip(inputs, before):  # the in-place path never writes into its inputs
        assert torch.equal(t, t0)


@pytest.mark.parametrize(("temporal", "causal"), [("mamba", True), ("attention", True),
                                                  ("mamba", False), ("attention", False)])
def test_causality_in_eval_mode(temporal: str, causal: bool) -> None:
    torch.manual_seed(0)
    blk = STMambaBlock(temporal=temporal, causal=causal, mamba_backend="ref").eval()
    X, STE = _inputs()
    Xp = X.clone()
    Xp[:, 6:] += 1.0
    with torch.no_grad():
        a, b = blk(X, STE), blk(Xp, STE)
    before = (a[:, :6] - b[:, :6]).abs().max().item()
    assert (a[:, 6:] - b[:, 6:]).abs().max().item() > 1e-3
    if causal:
        assert before == 0.0
    else:  # bidirectional Mamba / unmasked attention see the future
        assert before > 1e-3


def test_gradcheck_tiny_block_and_mamba() -> None:
    torch.manual_seed(0)
    m = MambaRef(4, d_state=4, d_conv=3).double()
    x = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,), eps=1e-6, atol=1e-5)
    blk = STMambaBlock(K=2, d=2, d_state=4, use_bn=False, mamba_backend="ref").double()
    X, STE = _inputs(B=1, T=4, N=2, D=4, dtype=torch.float64)
    assert torch.autograd.gradcheck(blk, (X.requires_grad_(), STE.requires_grad_()),
                                    eps=1e-6, atol=1e-5)


def test_every_parameter_gets_a_gradient() -> None:
    blk = STMambaBlock(mamba_backend="ref")
    X, STE = _inputs()
    blk(X, STE).square().sum().backward()
    for name, p in blk.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().max() > 0, name


def test_backend_choice_is_visible_and_loud() -> None:
    auto = STMambaBlock()
    assert auto.backend == "ref" and auto.backend_reason  # no GPU / no mamba_ssm here
    assert isinstance(auto.temporal.mamba, MambaRef)
    auto.eval()(*_inputs())
    assert auto.last_path == "ref" and "backend=ref" in repr(auto)
    cls, _why, _fast = block.load_mamba_ssm()
    if cls is None:
        with pytest.raises(RuntimeError, match="mamba_ssm is unusable"):
            STMambaBlock(mamba_backend="cuda")
    with pytest.raises(ValueError):
        STMambaBlock(temporal="lstm")
    with pytest.raises(ValueError, match="D=64"):
        STMambaBlock()(torch.zeros(2, 12, 5, 32), torch.zeros(2, 12, 5, 32))


def test_state_dict_is_portable_between_variants() -> None:
    a = STMambaBlock(mamba_backend="ref", temporal_input="concat_fc")
    b = STMambaBlock(mamba_backend="ref")
    b.load_state_dict(a.state_dict(), strict=True)
    X, STE = _inputs()
    with torch.no_grad():
        assert torch.equal(a.eval()(X, STE[:1].expand_as(X)), b.eval()(X, STE[:1]))


def test_block_import_is_lazy_and_child_modules_are_python38() -> None:
    code = ("import sys, mamba_doctor.block as b; print('torch' in sys.modules); "
            "b.STMambaBlock; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["False", "True"]
    from mamba_doctor.smoke.runner import CHILD_FILES

    for name in CHILD_FILES:  # these run inside the target interpreter, possibly Python 3.8
        tree = ast.parse((PKG / name).read_text(), feature_version=(3, 8))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Match), name
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                allowed = ("__future__", "typing", "importlib", "importlib.metadata", "torch",
                           "torch.nn", "torch.nn.functional", "mamba_ssm.modules",
                           "mamba_ssm.ops")
                assert node.module in allowed, (name, node.module)

