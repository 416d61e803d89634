"""Weight quantizers and the quantization-aware linear layer.

The paper's ternary layer (as its released notebook implements it): per tensor, alpha = mean |w|;
w_q = clip(round(w / alpha), -1, 1) * alpha; gradients pass straight through to the latent FP32
weights (STE); activations are fake-quantized to int8 per token by absmax. Adding a quantizer is one
function plus one entry in ``QUANTIZERS``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

EPS = 1e-8

# A quantizer maps (latent weight, optional learned scale) to the weight used in the forward pass.
# Gradients reach the latent weight as if the quantizer were the identity (straight-through); a
# learned scale receives the gradient of the forward value with respect to it.
Quantizer = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def absmean_scale(weight: torch.Tensor) -> torch.Tensor:
    """The paper's per-tensor scale: mean |w| (a 0-dim tensor)."""
    return weight.abs().mean().clamp_min(EPS)


def ternary_codes(weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Codes in {-1, 0, +1}: round(w / scale) clipped to [-1, 1]."""
    return torch.clamp(torch.round(weight / scale), -1.0, 1.0)


def _alpha(weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """The magnitude in use: mean |w| (fixed), or |learned scale| (never negative or zero)."""
    return absmean_scale(weight.detach()) if scale is None else scale.abs().clamp_min(EPS)


def _straight_through(weight: torch.Tensor, codes: torch.Tensor, alpha: torch.Tensor,
                      learned: bool) -> torch.Tensor:
    if not learned:  # fixed absmean scale: the forward value is codes * alpha, the gradient identity
        return weight + (codes * alpha - weight).detach()
    # Learned scale: forward value codes * |scale|; d/dw = identity, d/dscale = codes * sign (LSQ-style).
    return codes.detach() * alpha + (weight - weight.detach())


def quantize_ternary(weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    alpha = _alpha(weight, scale)
    return _straight_through(weight, ternary_codes(weight.detach(), alpha.detach()), alpha, scale is not None)


def quantize_binary(weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """Sign binarization with the same scale rule (BinaryConnect-style), for comparison."""
    return _straight_through(weight, torch.where(weight.detach() >= 0, 1.0, -1.0), _alpha(weight, scale),
                             scale is not None)


def quantize_none(weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    return weight


QUANTIZERS: dict[str, Quantizer] = {
    "ternary": quantize_ternary,
    "binary": quantize_binary,
    "fp32": quantize_none,
}


def activation_codes(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token absmax quantization: integer-valued codes in [-2**(bits-1), 2**(bits-1) - 1] (same
    dtype as ``x``) and the per-token scale (…, 1) = absmax / (2**(bits-1) - 1), x ~= codes * scale.
    The one definition both the training model and the packed inference kernel use."""
    qmax = 2 ** (bits - 1) - 1
    scale = x.abs().amax(dim=-1, keepdim=True).clamp_min(EPS) / qmax
    return torch.clamp(torch.round(x / scale), -qmax - 1, qmax), scale


def fake_quantize_activations(x: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Per-token absmax fake quantization to signed ``bits`` integers, straight-through."""
    codes, scale = activation_codes(x.detach(), bits)
    return x + (codes * scale - x).detach()


class QuantLinear(nn.Linear):
    """``nn.Linear`` whose weight (and optionally input) is fake-quantized in the forward pass.

    ``quant="fp32"`` with ``act_bits=0`` is exactly ``nn.Linear``, which makes the FP32 twin share
    every parameter name and shape with the studied model.
    """

    def __init__(self, in_features: int, out_features: int, *, quant: str = "fp32", scale: str = "absmean",
                 act_bits: int = 0, bias: bool = False) -> None:
        super().__init__(in_features, out_features, bias=bias)
        if quant not in QUANTIZERS:
            raise ValueError(f"unknown quantizer {quant!r}; accepted: {sorted(QUANTIZERS)}")
        self.quant = quant
        self.act_bits = act_bits if quant != "fp32" else 0
        # The learned scale is created only where it is used, so the FP32 twin's parameters match.
        self.scale = nn.Parameter(absmean_scale(self.weight.detach()).clone()) \
            if scale == "learned" and quant != "fp32" else None

    def reset_scale(self) -> None:
        """Re-initialise a learned scale at mean |w| (call after re-initialising the weight)."""
        if self.scale is not None:
            with torch.no_grad():
                self.scale.copy_(absmean_scale(self.weight))

    def effective_scale(self) -> torch.Tensor:
        """The alpha in use now: the learned scale, or mean |w| of the latent weight."""
        if self.scale is not None:
            return self.scale.detach().abs()
        return absmean_scale(self.weight.detach())

    def codes(self) -> torch.Tensor:
        """The weight's codes in {-1, 0, +1} under the paper's rule at :meth:`effective_scale`: this
        layer's own codes when it is ternary; for a full-precision layer, the codes ternarizing it
        would give (what the sparsity statistics of the FP32 twin report)."""
        return ternary_codes(self.weight.detach(), self.effective_scale())

    def quantized_weight(self) -> torch.Tensor:
        return QUANTIZERS[self.quant](self.weight, self.scale)

    @torch.no_grad()
    def freeze_(self) -> "QuantLinear":
        """For inference: store the quantized weight (codes x alpha) as the weight, once, and stop
        re-quantizing it on every call. The forward value is unchanged (activation quantization
        stays); the layer no longer trains as a quantized layer. Returns the layer."""
        if self.quant != "fp32":
            self.weight.copy_(self.quantized_weight())
            self.quant, self.scale = "fp32", None
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_bits:
            x = fake_quantize_activations(x, self.act_bits)
        return nn.functional.linear(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, quant={self.quant}, act_bits={self.act_bits}, " \
               f"learned_scale={self.scale is not None}"
