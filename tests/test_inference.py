"""The packed ternary checkpoint and inference model: same logits and perplexity as the
fake-quantized training model, real storage savings, exact memory accounting."""

import numpy as np
import pytest
import torch

from pipeline.bench import file_bits_per_ternary_weight, state_bytes
from pipeline.config import ArchConfig, RoleModel
from pipeline.evaluate import StreamWindows, evaluate_lm
from pipeline.inference import export_packed, load_packed, resident_weight_bytes
from pipeline.model import FP32_TWIN, PAPER_TERNARY, TransformerLM

ARCH = ArchConfig(dim=64, n_layers=2, n_heads=2, mlp_ratio=2.67, dropout=0.0, seq_len=32)


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
    assert resident_weight_bytes(packed) == padded + 4 * full_precision


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
