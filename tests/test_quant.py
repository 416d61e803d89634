import pytest
import torch

from pipeline.model.quant import QUANTIZERS, QuantLinear, absmean_scale, fake_quantize_activations, quantize_ternary


def test_ternary_values_are_minus_zero_plus_scale():
    torch.manual_seed(0)
    weight = torch.randn(64, 48)
    quantized = quantize_ternary(weight, None)
    scale = weight.abs().mean()
    assert torch.allclose(absmean_scale(weight), scale)
    values = set(torch.unique(quantized / scale).round(decimals=5).tolist())
    assert values == {-1.0, 0.0, 1.0}


def test_ternary_known_tensor():
    weight = torch.tensor([[0.1, -0.2, 0.9, -1.2]])  # mean |w| = 0.6 -> w / s = 1/6, -1/3, 1.5, -2
    expected = torch.tensor([[0.0, 0.0, 0.6, -0.6]])
    assert torch.allclose(quantize_ternary(weight, None), expected)


def test_gradients_reach_latent_weights_straight_through():
    weight = torch.randn(8, 8, requires_grad=True)
    quantize_ternary(weight, None).mul(torch.arange(64.0).view(8, 8)).sum().backward()
    assert torch.allclose(weight.grad, torch.arange(64.0).view(8, 8))


def test_learned_scale_gets_gradient_and_sets_magnitude():
    layer = QuantLinear(16, 8, quant="ternary", scale="learned")
    with torch.no_grad():
        layer.scale.fill_(0.5)
    magnitudes = layer.quantized_weight().detach().abs().unique()
    assert set(magnitudes.tolist()) <= {0.0, 0.5}
    layer(torch.randn(4, 16)).sum().backward()
    assert layer.scale.grad is not None and layer.weight.grad is not None


def test_activation_fake_quantization_is_per_token_int8():
    x = torch.tensor([[1.0, -0.5, 0.25], [100.0, 3.0, -50.0]])
    q = fake_quantize_activations(x)
    for row, qrow in zip(x, q):
        step = row.abs().max() / 127
        codes = qrow / step
        assert torch.allclose(codes, codes.round(), atol=1e-4)
        assert (qrow - row).abs().max() <= step / 2 + 1e-6


def test_fp32_layer_is_plain_linear():
    torch.manual_seed(0)
    layer = QuantLinear(8, 4, quant="fp32", act_bits=8)
    x = torch.randn(3, 8)
    assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight))
    assert layer.scale is None and layer.act_bits == 0


def test_registry_rejects_unknown():
    assert {"ternary", "fp32", "binary"} <= set(QUANTIZERS)
    with pytest.raises(ValueError, match="accepted"):
        QuantLinear(2, 2, quant="ternery")


def test_a_negative_learned_scale_acts_as_its_magnitude():
    layer = QuantLinear(16, 8, quant="ternary", scale="learned")
    with torch.no_grad():
        layer.scale.fill_(-0.5)
    assert set(layer.quantized_weight().detach().abs().unique().tolist()) <= {0.0, 0.5}
    assert torch.allclose(layer.effective_scale(), torch.tensor(0.5))


@pytest.mark.parametrize("scale", ["absmean", "learned"])
def test_a_frozen_layer_computes_the_same_and_holds_codes_times_alpha(scale):
    torch.manual_seed(0)
    layer = QuantLinear(16, 8, quant="ternary", scale=scale, act_bits=8)
    x = torch.randn(4, 16)
    before = layer(x)
    alpha = layer.effective_scale()
    assert layer.freeze_() is layer and layer.quant == "fp32" and layer.scale is None and layer.act_bits == 8
    assert torch.equal(layer(x), before)
    assert set((layer.weight / alpha).round().unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_gaussian_weight_zero_fraction_under_the_absmean_rule():
    # round(w / mean|w|) = 0 iff |w| < 0.5 mean|w| = 0.5 sqrt(2/pi) sigma: P = erf(0.5 / sqrt(pi)) = 0.310
    torch.manual_seed(0)
    weight = torch.randn(1_000_000)
    zeros = (torch.round(weight / absmean_scale(weight)) == 0).double().mean().item()
    assert abs(zeros - 0.3101) < 0.002


def test_codes_are_the_layers_own_or_what_ternarizing_would_give():
    torch.manual_seed(0)
    ternary = QuantLinear(8, 4, quant="ternary", act_bits=8)
    assert torch.equal(ternary.codes() * ternary.effective_scale(), ternary.quantized_weight().detach())
    twin = QuantLinear(8, 4, quant="fp32")
    twin.weight.data.copy_(torch.tensor([[0.1, -0.5, 2.0, 0.0] * 2] * 4))  # mean|w| = 0.65: threshold 0.325
    assert twin.codes()[0].tolist() == [0.0, -1.0, 1.0, 0.0] * 2
    assert torch.equal(twin.quantized_weight(), twin.weight)  # the twin itself stays full precision
