"""The transformer: the paper's parameter count, studied/baseline shapes, causality (and the
notebook's maskless baseline that is not causal), KV-cache decoding, role settings in checkpoints."""

import pytest
import torch

from pipeline.model.checkpoint import load_model, save_model
from pipeline.config import RoleModel
from pipeline.model.transformer import (FP32_TWIN, PAPER_TERNARY, DecodeCache, DecodeSlot, TransformerLM, count_parameters,
                                        greedy_decode, mlp_hidden_size, state_bytes)
from pipeline.paper import PAPER_ARCH, PAPER_PARAMETERS, PAPER_VOCAB_SIZE

MASKLESS = RoleModel.resolve("fp32", attention="bidirectional", positions="learned")


def test_paper_configuration_parameter_count_for_both_models():
    assert mlp_hidden_size(PAPER_ARCH) == 2050
    with torch.device("meta"):
        ternary = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE, PAPER_TERNARY)
        fp32 = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE, FP32_TWIN)
    assert count_parameters(ternary) == PAPER_PARAMETERS == 131_921_466
    assert count_parameters(fp32) == PAPER_PARAMETERS


def test_fp32_rule_lives_in_role_resolution():
    role = RoleModel.resolve("fp32", "learned", 8)
    assert role.scale is None and role.act_bits == 0
    assert RoleModel.resolve("ternary", "learned", 8).scale == "learned"


def test_studied_and_baseline_share_every_shape(tiny_config):
    studied = TransformerLM(tiny_config.model.arch, 100, tiny_config.model.for_role("studied"))
    baseline = TransformerLM(tiny_config.model.arch, 100, tiny_config.model.for_role("baseline"))
    assert {k: v.shape for k, v in studied.state_dict().items()} == {k: v.shape for k, v in baseline.state_dict().items()}
    assert set(studied.quant_layers()) == set(baseline.quant_layers())
    assert all(layer.quant == "ternary" for layer in studied.quant_layers().values())
    assert all(layer.quant == "fp32" and layer.act_bits == 0 for layer in baseline.quant_layers().values())


def _future_changes_past(model: TransformerLM) -> bool:
    """Whether changing tokens 9.. moves the logits at positions 0..8."""
    ids = torch.randint(0, 100, (2, 16), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[:, 9:] = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before, after = model.eval()(ids), model(changed)
    assert not torch.allclose(before[:, 9:], after[:, 9:])
    return not torch.allclose(before[:, :9], after[:, :9], atol=1e-5)


def test_the_twin_never_sees_the_future_and_the_notebooks_baseline_does(tiny_config):
    torch.manual_seed(0)
    assert not _future_changes_past(TransformerLM(tiny_config.model.arch, 100, PAPER_TERNARY))
    assert not _future_changes_past(TransformerLM(tiny_config.model.arch, 100, FP32_TWIN))
    assert _future_changes_past(TransformerLM(tiny_config.model.arch, 100, MASKLESS))


def test_init_std_is_per_role(tiny_config):
    torch.manual_seed(0)
    notebook = TransformerLM(tiny_config.model.arch, 100, RoleModel.resolve("ternary", init_std=1.0))
    twin = TransformerLM(tiny_config.model.arch, 100, FP32_TWIN)
    stds = [float(layer.weight.detach().std()) for layer in notebook.quant_layers().values()]
    assert all(0.9 < s < 1.1 for s in stds)
    assert all(0.015 < float(layer.weight.detach().std()) < 0.025 for layer in twin.quant_layers().values())
    assert float(notebook.embed.weight.detach().std()) == pytest.approx(0.02, rel=0.1)  # embedding keeps 0.02


@pytest.mark.parametrize("role", [RoleModel.resolve("ternary", init_std=1.0), MASKLESS], ids=["init1", "maskless"])
def test_trained_model_reloads_with_its_role_and_identical_logits(tiny_config, tmp_path, role):
    torch.manual_seed(0)
    model = TransformerLM(tiny_config.model.arch, 100, role)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, 100, (4, 16))
    for _ in range(3):  # a few real steps, so the weights are not the init
        loss = torch.nn.functional.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    save_model(tmp_path / "m.safetensors", model, {"role_name": "x"})
    loaded, meta = load_model(tmp_path / "m.safetensors")
    assert loaded.role == role and meta["quant"] == role.quant
    with torch.no_grad():
        assert torch.equal(loaded(ids), model.eval()(ids))


def test_kv_cache_decoding_matches_full_forward(tiny_config):
    torch.manual_seed(0)
    model = TransformerLM(tiny_config.model.arch, 100, FP32_TWIN).eval()
    ids = torch.randint(0, 100, (1, 12))
    with torch.no_grad():
        full = model(ids)
        logits, cache = model.forward_cached(ids[:, :8])
        for position in range(8, 12):
            logits, cache = model.forward_cached(ids[:, position:position + 1], cache, position)
    assert torch.allclose(logits[:, -1], full[:, -1], atol=1e-5)
    with pytest.raises(ValueError, match="causal"):
        TransformerLM(tiny_config.model.arch, 100, MASKLESS).forward_cached(ids[:, :1], cache, 12)


def test_greedy_decoding_picks_the_full_forwards_argmax_and_leaves_the_prefill_alone(tiny_config):
    torch.manual_seed(0)
    model = TransformerLM(tiny_config.model.arch, 100, PAPER_TERNARY).eval()
    prompt = torch.randint(0, 100, (1, 6), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits, prefill = model.forward_cached(prompt)
        first = greedy_decode(model, logits, prefill, 6, 8)
        again = greedy_decode(model, logits, prefill, 6, 8)  # the prefill's cache serves every repeat
        full = model(torch.cat((prompt, first), dim=1))
    assert first.shape == (1, 8) and torch.equal(first, again)
    assert torch.equal(full[0, 5:-1].argmax(-1), first[0])
    assert [k.shape[2] for k, _ in prefill] == [6] * tiny_config.model.arch.n_layers


def test_a_decode_slot_claims_positions_in_order():
    cache = DecodeCache([(torch.ones(1, 2, 3, 4), torch.ones(1, 2, 3, 4))], max_len=4)
    keys, values = DecodeSlot(cache, 0, 3).claim(1)
    assert keys.shape == values.shape == (1, 2, 4, 4) and cache.lengths == [4]
    with pytest.raises(ValueError, match="past the cache's 4 positions"):
        DecodeSlot(cache, 0, 4).claim(1)


def test_state_bytes_of_a_known_tensor_set():
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Embedding(5, 2).to(torch.bfloat16))
    assert state_bytes(module) == (12 + 3) * 4 + 10 * 2
