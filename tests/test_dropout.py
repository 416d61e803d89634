import math

import pytest
import torch
from torch.nn import functional as F

from pipeline.model import dropout as D


def test_keep_probability_is_rounded_to_a_sixteen_bit_level():
    assert D.keep_probability(0.05) == 62259 / 65536
    assert abs(D.keep_probability(0.05) - 0.95) < 1e-5
    assert D.keep_probability(0.0) == 1.0


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_every_word_of_a_draw_keeps_at_the_stated_rate(p):
    # Four 16-bit words come from each 64-bit draw; a draw that left the top bit at 0 (torch's
    # random_() default range) would keep 93.7% in every fourth word at p = 0.05.
    torch.manual_seed(0)
    mask = D.keep_mask((1 << 22,), p).view(-1, 4).double()
    keep = D.keep_probability(p)
    se = math.sqrt(keep * (1 - keep) / mask.shape[0])
    assert (mask.mean(0) - keep).abs().max() < 5 * se


def test_dropout_zeroes_or_rescales_repeats_with_the_seed_and_passes_through_in_eval():
    x = torch.randn(64, 256)
    torch.manual_seed(3)
    first = D.dropout(x, 0.05, training=True)
    torch.manual_seed(3)
    assert torch.equal(first, D.dropout(x, 0.05, training=True))
    kept = first != 0
    assert torch.allclose(first[kept], x[kept] / D.keep_probability(0.05))
    assert 0.93 < kept.double().mean() < 0.97
    assert D.dropout(x, 0.05, training=False) is x
    module = D.Dropout(0.05).eval()
    assert module(x) is x


def test_gradient_is_the_mask_times_the_scale():
    x = torch.randn(32, 64, requires_grad=True)
    torch.manual_seed(1)
    D.dropout(x, 0.25, training=True).sum().backward()
    torch.manual_seed(1)
    mask = D.keep_mask(x.shape, 0.25)
    assert torch.allclose(x.grad, mask.float() / D.keep_probability(0.25))


def test_reference_switches_to_torchs_dropout():
    x = torch.randn(1000)
    with D.reference():
        torch.manual_seed(5)
        ours_off = D.dropout(x, 0.2, training=True)
    torch.manual_seed(5)
    assert torch.equal(ours_off, F.dropout(x, 0.2, training=True))


@pytest.mark.parametrize("causal", [True, False])
def test_attention_with_every_probability_kept_is_sdpa(monkeypatch, causal):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 16, 8) for _ in range(3))
    monkeypatch.setattr(D, "keep_mask", lambda shape, p, device="cpu": torch.ones(shape, dtype=torch.bool))
    ours = D.attention(q, k, v, causal=causal, dropout_p=0.1) * D.keep_probability(0.1)
    assert torch.allclose(ours, F.scaled_dot_product_attention(q, k, v, is_causal=causal), atol=1e-6)


def test_attention_drops_probabilities_with_the_seeded_mask():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 8, 4) for _ in range(3))
    torch.manual_seed(9)
    ours = D.attention(q, k, v, causal=True, dropout_p=0.3)
    torch.manual_seed(9)
    mask = D.keep_mask((2, 2, 8, 8), 0.3)
    scores = (q @ k.transpose(-2, -1) / 2.0).masked_fill(torch.ones(8, 8, dtype=torch.bool).triu(1), float("-inf"))
    expected = (scores.softmax(-1) * mask / D.keep_probability(0.3)) @ v
    assert torch.allclose(ours, expected, atol=1e-6)
