"""MambaRef's decoding API, as mamba_ssm.Mamba's: forward(x, inference_params), step and
allocate_inference_cache; stepping through a sequence equals the full forward.

The stand-ins below follow how mamba_ssm calls a mixer (mamba_ssm/utils/generation.py's
InferenceParams: `key_value_memory_dict`, `seqlen_offset`; mamba_ssm/models/mixer_seq_simple.py's
MixerModel: layers built with `layer_idx`, `allocate_inference_cache(batch_size, max_seqlen,
dtype=...)` collected per layer, `mixer(hidden_states, inference_params=...)`), written here
from that description, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from scan_oracle import one_torch_thread  # noqa: E402, F401

from mamba_doctor.block import MambaRef  # noqa: E402


@dataclass
class InferenceParams:
    """The fields of mamba_ssm's InferenceParams that Mamba reads and writes."""

    max_seqlen: int
    max_batch_size: int
    seqlen_offset: int = 0
    key_value_memory_dict: dict[int, Any] = field(default_factory=dict)


def _trained_like(m: MambaRef, seed: int = 0) -> MambaRef:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # + 0.3·N(0,1) on every parameter: large Δ·|A| somewhere
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return m


def _rel(a: Any, b: Any) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("prompt", [1, 3, 7])  # shorter and longer than d_conv
def test_prefill_then_step_equals_the_full_forward_float64(prompt: int) -> None:
    torch.manual_seed(0)
    m = _trained_like(MambaRef(16, d_state=8, d_conv=4, layer_idx=3).double())
    x = torch.randn(2, 20, 16, dtype=torch.float64)
    with torch.no_grad():
        full = m(x)
        ip = InferenceParams(max_seqlen=20, max_batch_size=2)
        outs = [m(x[:, :prompt], inference_params=ip)]  # seqlen_offset 0: the prompt
        for t in range(prompt, 20):
            ip.seqlen_offset = t
            outs.append(m(x[:, t:t + 1], inference_params=ip))
    stepped = torch.cat(outs, dim=1)
    assert stepped.shape == full.shape
    assert _rel(stepped, full) <= 1e-12
    conv_state, ssm_state = ip.key_value_memory_dict[3]
    assert conv_state.shape == (2, 32, 4) and ssm_state.shape == (2, 32, 8)
    # The conv state holds the last d_conv inputs of the conv: after the sequence, those of
    # steps 16..19, as the full forward computes them.
    xz = x @ m.in_proj.weight.t()
    assert torch.allclose(conv_state, xz[:, 16:, :32].transpose(1, 2), rtol=0, atol=1e-13)


def test_step_from_allocated_zero_states_equals_forward() -> None:
    torch.manual_seed(1)
    m = _trained_like(MambaRef(8, d_state=4, d_conv=3).double(), seed=1)
    x = torch.randn(3, 9, 8, dtype=torch.float64)
    conv_state, ssm_state = m.allocate_inference_cache(3, 9)
    assert conv_state.dtype == m.conv1d.weight.dtype and ssm_state.dtype == m.dt_proj.weight.dtype
    with torch.no_grad():
        outs = []
        for t in range(9):
            out, c2, s2 = m.step(x[:, t:t + 1], conv_state, ssm_state)
            assert c2 is conv_state and s2 is ssm_state  # updated in place
            outs.append(out)
        full, (_, last) = m(x), _last_state(m, x)
    assert _rel(torch.cat(outs, 1), full) <= 1e-12
    assert _rel(ssm_state, last) <= 1e-12


def _last_state(m: MambaRef, x: Any) -> Any:
    ip = InferenceParams(max_seqlen=x.shape[1], max_batch_size=x.shape[0])
    m.layer_idx = 0
    m(x, inference_params=ip)
    return ip.key_value_memory_dict[0]


def test_several_tokens_after_the_prompt_are_stepped_in_turn() -> None:
    torch.manual_seed(2)
    m = MambaRef(8, layer_idx=0).double()
    x = torch.randn(1, 12, 8, dtype=torch.float64)
    ip = InferenceParams(12, 1)
    with torch.no_grad():
        a = m(x[:, :5], inference_params=ip)
        ip.seqlen_offset = 5
        b = m(x[:, 5:], inference_params=ip)
        assert _rel(torch.cat([a, b], 1), m(x)) <= 1e-12


def test_float32_stepping_matches_within_rounding() -> None:
    torch.manual_seed(3)
    m = _trained_like(MambaRef(16, layer_idx=0), seed=3)
    x = torch.randn(2, 30, 16)
    ip = InferenceParams(30, 2)
    with torch.no_grad():
        outs = [m(x[:, :10], inference_params=ip)]
        for t in range(10, 30):
            ip.seqlen_offset = t
            outs.append(m(x[:, t:t + 1], inference_params=ip))
        assert _rel(torch.cat(outs, 1), m(x)) <= 1e-5


def test_cache_dtype_and_errors() -> None:
    m = MambaRef(8, d_state=4, d_conv=2)
    conv, ssm = m.allocate_inference_cache(5, 100, dtype=torch.float64, extra="ignored")
    assert conv.shape == (5, 16, 2) and ssm.shape == (5, 16, 4) and conv.dtype == torch.float64
    with pytest.raises(ValueError, match="layer_idx"):
        m(torch.zeros(1, 3, 8), inference_params=InferenceParams(3, 1))
    with pytest.raises(ValueError, match="one token at a time"):
        m.step(torch.zeros(1, 2, 8), conv, ssm)


class _Block(nn.Module):
    """Pre-norm residual block around a mixer, called as mamba_ssm's Block calls its mixer."""

    def __init__(self, d_model: int, layer_idx: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.mixer = MambaRef(d_model, d_state=8, layer_idx=layer_idx)

    def forward(self, h: Any, inference_params: Any = None) -> Any:
        return h + self.mixer(self.norm(h), inference_params=inference_params)

    def allocate_inference_cache(self, batch_size: int, max_seqlen: int, dtype: Any = None,
                                 **kwargs: Any) -> Any:
        return self.mixer.allocate_inference_cache(batch_size, max_seqlen, dtype=dtype, **kwargs)


class _LM(nn.Module):
    def __init__(self, vocab: int = 11, d_model: int = 16, layers: int = 3) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList(_Block(d_model, i) for i in range(layers))
        self.head = nn.Linear(d_model, vocab)

    def allocate_inference_cache(self, batch_size: int, max_seqlen: int,
                                 dtype: Any = None) -> dict[int, Any]:
        return {i: layer.allocate_inference_cache(batch_size, max_seqlen, dtype=dtype)
                for i, layer in enumerate(self.layers)}

    def forward(self, ids: Any, inference_params: Any = None) -> Any:
        h = self.embedding(ids)
        for layer in self.layers:
            h = layer(h, inference_params=inference_params)
        return self.head(h)


def test_greedy_decoding_in_a_mixer_model_matches_the_full_forward() -> None:
    torch.manual_seed(4)
    model = _LM().double().eval()
    for blk in model.layers:
        _trained_like(blk.mixer, seed=7)
    prompt = torch.tensor([[1, 5, 2, 9], [3, 3, 0, 4]])
    ip = InferenceParams(max_seqlen=12, max_batch_size=2)
    ip.key_value_memory_dict = model.allocate_inference_cache(2, 12, dtype=torch.float64)
    ids: list[Any] = [prompt]
    with torch.no_grad():
        logits = [model(prompt, inference_params=ip)[:, -1]]
        ip.seqlen_offset = prompt.shape[1]
        for _ in range(8):
            nxt = logits[-1].argmax(-1, keepdim=True)
            ids.append(nxt)
            logits.append(model(nxt, inference_params=ip)[:, -1])
            ip.seqlen_offset += 1
        seq = torch.cat(ids, dim=1)
        full = model(seq)  # the whole decoded sequence in one forward, no cache
    want = full[:, prompt.shape[1] - 1:]
    got = torch.stack(logits, dim=1)[:, :want.shape[1]]
    assert _rel(got, want) <= 1e-12
