"""The packed ternary checkpoint and inference model: same logits and perplexity as the
fake-quantized training model, real storage savings, exact memory accounting."""

import numpy as np
import pytest
import torch

from pipeline.bench.benchmark import file_bits_per_ternary_weight, state_bytes
from pipeline.config import ArchConfig, RoleModel
from pipeline.training.evaluate import StreamWindows, evaluate_lm
from pipeline.inference.packed import KernelDecodeBlock, PackedTernaryLinear, export_packed, load_packed, resident_weight_bytes
from pipeline.inference.kernels import load_kernel
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, DecodeCache, TransformerLM

ARCH = ArchConfig.from_name("tiny", dim=64, dropout=0.0)


def _ternary(scale: str = "absmean") -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(ARCH, 300, RoleModel.resolve("ternary", scale, 8)).eval()


@pytest.mark.parametrize("packing", ["2bit", "base3"])
@pytest.mark.parametrize("scale", ["absmean", "learned"])
def test_packed_logits_match_fake_quantized_model(tmp_path, packing, scale):
    model = _ternary(scale)
    export_packed(model, tmp_path / "m.safetensors", packing, head_dtype="fp32")
    packed, meta = load_packed(tmp_path / "m.safetensors")
    ids = torch.randint(0, 300, (2, 24))
    with torch.no_grad():
        assert torch.allclose(packed(ids), model(ids), atol=1e-4)  # stated tolerance: fp32 rounding
    assert meta["packing"] == packing


def test_packed_perplexity_matches_with_bf16_embedding_and_head(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="bf16")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    tokens = np.random.default_rng(0).integers(0, 300, 32 * 20 + 1).astype(np.uint16)
    windows = np.arange(20)
    reference = evaluate_lm(model, StreamWindows(tokens, 32), windows, 8, 0.1)
    ours = evaluate_lm(packed, StreamWindows(tokens, 32), windows, 8, 0.1)
    assert ours["ppl"] == pytest.approx(reference["ppl"], rel=2e-3)  # stated tolerance: bf16 head


def test_packed_model_holds_two_bits_per_block_weight(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="fp32")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    padded = sum(layer.weight.shape[0] * -(-layer.weight.shape[1] // 4) for layer in model.quant_layers().values())
    full_precision = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("blocks.") or "norm" in n)
    # stacked q/k/v and gate/up layers keep one fp32 alpha per output row
    row_alphas = sum(3 * b.attn.wq.out_features + 2 * b.mlp.w1.out_features for b in model.blocks)
    assert resident_weight_bytes(packed) == padded + 4 * full_precision + 4 * row_alphas


def test_stacking_layers_that_share_an_input_changes_no_logit(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="fp32")
    stacked, _ = load_packed(tmp_path / "m.safetensors")
    assert stacked.blocks[0].inner.attn.wqkv is not None and not hasattr(stacked.blocks[0].inner.attn, "wq")
    separate, _ = load_packed(tmp_path / "m.safetensors")
    for block in (wrapper.inner for wrapper in separate.blocks):  # undo the stacking: one layer per projection
        rows = block.attn.wqkv.out_features // 3
        for i, name in enumerate(("wq", "wk", "wv")):
            setattr(block.attn, name, _slice(block.attn.wqkv, i * rows, rows))
        block.attn.wqkv = None
        hidden = block.mlp.w13.out_features // 2
        block.mlp.w1, block.mlp.w3 = _slice(block.mlp.w13, 0, hidden), _slice(block.mlp.w13, hidden, hidden)
        block.mlp.w13 = None
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(stacked(ids), separate(ids))


def _slice(layer: PackedTernaryLinear, start: int, rows: int) -> PackedTernaryLinear:
    return PackedTernaryLinear(layer.packed[start:start + rows], float(layer.row_alpha[start]), layer.in_features,
                               layer.act_bits, layer.use_kernel)


def test_packed_file_is_at_most_2_1_bits_per_ternary_weight(tmp_path):
    torch.manual_seed(0)
    arch = ARCH.model_copy(update={"dim": 256, "n_heads": 4})  # large enough that headers are noise
    model = TransformerLM(arch, 300, PAPER_TERNARY)
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    assert file_bits_per_ternary_weight(tmp_path / "m.safetensors", model) < 2.1
    export_packed(model, tmp_path / "b.safetensors", "base3")
    assert file_bits_per_ternary_weight(tmp_path / "b.safetensors", model) < 1.7


def test_base3_file_is_smaller_than_2bit(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "a.safetensors", "2bit")
    export_packed(model, tmp_path / "b.safetensors", "base3")
    assert (tmp_path / "b.safetensors").stat().st_size < (tmp_path / "a.safetensors").stat().st_size


def test_state_bytes_of_a_known_tensor_set():
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Embedding(5, 2).to(torch.bfloat16))
    assert state_bytes(module) == (12 + 3) * 4 + 10 * 2


def test_only_ternary_models_can_be_packed(tmp_path):
    with pytest.raises(ValueError, match="model.quant: ternary"):
        export_packed(TransformerLM(ARCH, 300, FP32_TWIN), tmp_path / "x.safetensors")


def test_the_kernel_bf16_head_sums_bf16_products_in_fp32():
    from pipeline.inference.packed import HeadInDtype
    from pipeline.inference.kernels import load_kernel

    if load_kernel() is None:
        pytest.skip("the C++ kernel did not build")
    torch.manual_seed(0)
    head = torch.nn.Linear(200, 77)
    x = torch.randn(3, 5, 200)
    ours = HeadInDtype(head, torch.bfloat16, use_kernel=True)(x)
    torchs = HeadInDtype(head, torch.bfloat16, use_kernel=False)(x)
    w, b = head.weight.detach().bfloat16().float(), head.bias.detach().bfloat16().float()
    exact = x.bfloat16().float() @ w.T + b  # the same bf16 inputs, summed in fp32
    assert ours.shape == (3, 5, 77) and ours.dtype == torch.float32
    assert torch.allclose(ours, exact, rtol=1e-5, atol=1e-5)
    assert torch.allclose(torchs, exact, rtol=2 ** -7, atol=1e-2)  # torch rounds the logits to bf16


def test_decode_cache_writes_in_place_and_returns_the_filled_prefix():
    prefill = [(torch.ones(1, 2, 3, 4), 2 * torch.ones(1, 2, 3, 4))]
    cache = DecodeCache(prefill, max_len=5)
    keys, values = cache.extend(0, torch.full((1, 2, 1, 4), 7.0), torch.full((1, 2, 1, 4), 8.0), start=3)
    assert keys.shape == (1, 2, 4, 4) and keys[0, 0, :, 0].tolist() == [1, 1, 1, 7] and values[0, 1, 3, 0] == 8
    assert prefill[0][0].shape == (1, 2, 3, 4)  # the prefill's own tensors are left alone
    with pytest.raises(ValueError, match="layer 0 holds 4 positions; cannot decode position 3"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=3)  # a rewrite
    with pytest.raises(ValueError, match="cannot decode position 6"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=6)  # a gap
    cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=4)
    with pytest.raises(ValueError, match="past the cache's 5 positions"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=5)
    assert cache.lengths == [5]


def test_a_multi_token_step_with_a_decode_cache_is_refused_before_anything_is_written(tmp_path):
    model = _ternary()
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        _, prefill = model.forward_cached(ids[:, :8])
        cache = DecodeCache(prefill, 12)
        with pytest.raises(ValueError, match="one token at a time"):
            model.forward_cached(ids[:, 8:10], cache, 8)
    assert cache.lengths == [8] * ARCH.n_layers


@pytest.mark.skipif(load_kernel() is None, reason="the C++ kernel did not build")
def test_the_one_call_decode_step_agrees_with_the_block_by_block_path(tmp_path, monkeypatch):
    """kernel.decode_block against the same packed model decoding through the Python blocks (tuple
    cache), teacher-forced over 24 positions. Its attention sums in another order than torch's SDPA,
    and a rounding difference can move an int8 activation code by one, so the logits agree to a code
    flip, not bit for bit: bounded here at 0.2% of the largest logit, NLL to 1e-5 relative and the
    same argmax at every position."""
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    assert isinstance(packed.blocks[0], KernelDecodeBlock)
    kernel, calls = load_kernel(), []
    step_in_cpp = kernel.decode_block
    monkeypatch.setattr(kernel, "decode_block", lambda *args: calls.append(args[-3]) or step_in_cpp(*args))
    ids = torch.randint(0, 300, (1, 32), generator=torch.Generator().manual_seed(5))
    reference, fused = [], []
    with torch.inference_mode():
        _, tuple_cache = packed.forward_cached(ids[:, :8])
        decode_cache = DecodeCache(tuple_cache, 32)
        for position in range(8, 31):
            step = ids[:, position:position + 1]
            logits, tuple_cache = packed.forward_cached(step, tuple_cache, position)
            reference.append(logits[0, -1])
            logits, decode_cache = packed.forward_cached(step, decode_cache, position)
            fused.append(logits[0, -1])
    # the fused path really ran: once per block and position, and never for the tuple cache
    assert calls == [position for position in range(8, 31) for _ in range(ARCH.n_layers)]
    reference, fused, targets = torch.stack(reference), torch.stack(fused), ids[0, 9:32]
    assert (fused - reference).abs().max() <= 0.002 * reference.abs().max()
    nll = [torch.nn.functional.cross_entropy(logits, targets).item() for logits in (reference, fused)]
    assert nll[1] == pytest.approx(nll[0], rel=1e-5)
    assert torch.equal(fused.argmax(-1), reference.argmax(-1))
