import torch

from pipeline.model import TransformerLM, count_parameters, mlp_hidden_size
from pipeline.paper import PAPER_ARCH, PAPER_PARAMETERS, PAPER_VOCAB_SIZE


def test_paper_configuration_parameter_count_for_both_models():
    assert mlp_hidden_size(PAPER_ARCH) == 2050
    with torch.device("meta"):
        ternary = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE, quant="ternary", act_bits=8)
        fp32 = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE, quant="fp32")
    assert count_parameters(ternary) == PAPER_PARAMETERS == 131_921_466
    assert count_parameters(fp32) == PAPER_PARAMETERS


def test_studied_and_baseline_share_every_shape(tiny_config):
    studied = TransformerLM.from_config(tiny_config.model, 100)
    baseline = TransformerLM.from_config(tiny_config.model, 100, quant="fp32")
    assert {k: v.shape for k, v in studied.state_dict().items()} == {k: v.shape for k, v in baseline.state_dict().items()}
    assert set(studied.quant_layers()) == set(baseline.quant_layers())
    assert all(layer.quant == "ternary" for layer in studied.quant_layers().values())


def test_no_position_sees_the_future(tiny_config):
    torch.manual_seed(0)
    model = TransformerLM.from_config(tiny_config.model, 100).eval()
    ids = torch.randint(0, 100, (2, 16))
    changed = ids.clone()
    changed[:, 9:] = torch.randint(0, 100, (2, 7))
    with torch.no_grad():
        before, after = model(ids), model(changed)
    assert torch.allclose(before[:, :9], after[:, :9], atol=1e-5)
    assert not torch.allclose(before[:, 9:], after[:, 9:])


def test_kv_cache_decoding_matches_full_forward(tiny_config):
    torch.manual_seed(0)
    model = TransformerLM.from_config(tiny_config.model, 100, quant="fp32").eval()
    ids = torch.randint(0, 100, (1, 12))
    with torch.no_grad():
        full = model(ids)
        logits, cache = model.forward_cached(ids[:, :8])
        for position in range(8, 12):
            logits, cache = model.forward_cached(ids[:, position:position + 1], cache, position)
    assert torch.allclose(logits[:, -1], full[:, -1], atol=1e-5)
