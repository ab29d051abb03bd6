"""GPU only: mamba_ssm.Mamba vs MambaRef with one state_dict, forward and backward, three dtypes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.gpu


def _mamba_ssm():
    from mamba_doctor.block import load_mamba_ssm

    cls, why, fast = load_mamba_ssm()
    if cls is None:
        pytest.skip(f"mamba_ssm unusable: {why}")
    return cls, fast


def test_same_seed_gives_the_same_weights_as_mamba_ssm() -> None:
    from mamba_doctor.block import MambaRef

    cls, _ = _mamba_ssm()
    torch.manual_seed(7)
    theirs = cls(64, device="cuda")
    torch.manual_seed(7)
    ours = MambaRef(64, device="cuda")
    a, b = theirs.state_dict(), ours.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize(("dtype", "rtol", "atol"), [
    (torch.float32, 6e-4, 2e-3), (torch.float16, 3e-3, 5e-3), (torch.bfloat16, 3e-2, 5e-2)])
@pytest.mark.parametrize("fast", [True, False])
def test_cuda_mamba_matches_fp64_reference(dtype, rtol, atol, fast) -> None:
    from mamba_doctor.block import MambaRef

    cls, fast_ok = _mamba_ssm()
    if fast and not fast_ok:
        pytest.skip("causal_conv1d missing: no fast path")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    sd = MambaRef(64).state_dict()
    kernel = cls(64, device="cuda", dtype=dtype, use_fast_path=fast)
    kernel.load_state_dict(sd)
    oracle = MambaRef(64).cuda().double()
    oracle.load_state_dict(sd)
    same = MambaRef(64, device="cuda", dtype=dtype)
    same.load_state_dict(sd)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 12, 64, generator=g).cuda()
    G = torch.randn(10, 12, 64, generator=g).cuda()

    def run(m, dt):
        xi = x.to(dt).requires_grad_(True)
        out = m(xi)
        (out * G.to(out.dtype)).sum().backward()
        return out.detach().double(), xi.grad.double(), m.in_proj.weight.grad.double()

    k, o, s = run(kernel, dtype), run(oracle, torch.float64), run(same, dtype)
    for i, (rt, at) in enumerate([(rtol, atol), (2 * rtol, 2 * atol),
                                  (max(rtol, 1e-3), max(atol, 1e-3))]):
        err = (k[i] - o[i]).abs()
        ok = bool((err <= at + rt * o[i].abs()).all())
        # At fp16/bf16: no worse than twice the same computation in PyTorch at that dtype.
        assert ok or err.max() <= 2 * (s[i] - o[i]).abs().max(), (i, float(err.max()))
