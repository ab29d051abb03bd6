"""The smoke test's stress weights: a trained-like Mamba, with large Δ·|A| (see stress.py).

Runs inside the target interpreter (Python 3.8+, torch only). From a fixed seed: every Mamba
parameter + 0.3·N(0,1), then dt_proj.bias ~ U(0, 1.5) (Δ ≈ 0.7..2 before the input's share,
where mamba_ssm's initialisation gives 0.001..0.1), so Δ·|A| reaches tens to hundreds per step.
"""

from __future__ import annotations

from typing import Any


def stress_weights(torch: Any, module: Any, seed: int) -> None:
    """Make a freshly initialised Mamba (MambaRef or mamba_ssm.Mamba) trained-like, in place."""
    g = torch.Generator().manual_seed(seed + 17)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.add_((0.3 * torch.randn(p.shape, generator=g)).to(p))
        bias = module.dt_proj.bias
        bias.copy_((1.5 * torch.rand(bias.shape, generator=g)).to(bias))
