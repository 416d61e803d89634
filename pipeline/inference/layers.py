"""The layers the packed inference model (:mod:`pipeline.inference.packed`) is built from: a ternary
linear layer computing from 2-bit packed codes, an RMSNorm computed by the C++ kernel, and the
embedding and head held in a narrower dtype than the float32 they return, and the head in int8 with a
scale per row.
"""

from __future__ import annotations

import torch
from torch import nn

from pipeline.inference.kernels import int8_linear, load_kernel, quantize_rows, ternary_linear
from pipeline.inference.packing import ternary_matmul_reference


class PackedTernaryLinear(nn.Module):
    """y = alpha * (int8(x) @ codes.T) * x_scale, from 2-bit packed codes (inference only).

    ``alpha`` is the layer's per-tensor scale, or (for layers stacked by :meth:`stacked`) a float32
    vector of one alpha per output row."""

    def __init__(self, packed: torch.Tensor, alpha: float | torch.Tensor, in_features: int, act_bits: int,
                 use_kernel: bool = True):
        super().__init__()
        self.register_buffer("packed", packed.contiguous())
        if isinstance(alpha, torch.Tensor):
            self.register_buffer("row_alpha", alpha.to(torch.float32).contiguous())
            self.alpha = None
        else:
            self.row_alpha, self.alpha = None, float(alpha)
        self.in_features, self.act_bits, self.use_kernel = in_features, act_bits, use_kernel
        self.out_features = packed.shape[0]

    @classmethod
    def stacked(cls, layers: list[PackedTernaryLinear]) -> PackedTernaryLinear:
        """One layer computing ``torch.cat([layer(x) for layer in layers], -1)`` in one call: exactly,
        since activations are quantized per token whatever the weight."""
        first = layers[0]
        if any((layer.in_features, layer.act_bits) != (first.in_features, first.act_bits) for layer in layers):
            raise ValueError("only layers with the same input width and activation bits can be stacked")
        rows = torch.cat([layer.row_alpha if layer.row_alpha is not None else torch.full((layer.out_features,), layer.alpha)
                          for layer in layers])
        return cls(torch.cat([layer.packed for layer in layers]), rows, first.in_features, first.act_bits,
                   first.use_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.row_alpha if self.row_alpha is not None else self.alpha
        if not self.act_bits:  # full-precision activations: no integer path, unpack and multiply
            if self.row_alpha is not None:
                return (ternary_matmul_reference(x, self.packed, self.in_features, 1.0) * self.row_alpha).to(x.dtype)
            return ternary_matmul_reference(x, self.packed, self.in_features, self.alpha).to(x.dtype)
        return ternary_linear(x, self.packed, self.in_features, scale, self.act_bits,
                              use_kernel=self.use_kernel).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, act_bits={self.act_bits}, 2-bit packed"


class KernelRMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` computed by the C++ kernel in one call (decoding dispatches ~25 norms per token)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return load_kernel().rms_norm(x, self.weight, self.eps)


class EmbeddingInDtype(nn.Module):
    """The token embedding held in a narrower dtype; looks up rows and returns them as float32."""

    def __init__(self, embed: nn.Embedding):
        super().__init__()
        self.inner = embed

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.inner(ids).float()


class HeadInDtype(nn.Module):
    """The output head held in a narrower dtype (bf16) and computed in it, returning float32 logits.

    With ``use_kernel`` on the CPU, the C++ kernel's bf16 GEMV runs (activations rounded to bf16,
    fp32 sums and logits, bias kept in fp32); otherwise torch's bf16 linear (which also rounds the
    logits to bf16)."""

    def __init__(self, head: nn.Linear, dtype: torch.dtype, use_kernel: bool = False):
        super().__init__()
        self.inner = head.to(dtype)
        self.use_kernel = use_kernel and dtype == torch.bfloat16
        if self.use_kernel:  # the kernel adds an fp32 bias (4 bytes per logit)
            self.register_buffer("bias32", head.bias.detach().float().clone() if head.bias is not None
                                 else torch.zeros(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = load_kernel() if self.use_kernel and x.device.type == "cpu" else None
        if kernel is not None:
            flat = x.reshape(-1, x.shape[-1]).to(torch.float32)
            return kernel.bf16_linear(flat, self.inner.weight, self.bias32).reshape(*x.shape[:-1], -1)
        return self.inner(x.to(self.inner.weight.dtype)).float()


class Int8Head(nn.Module):
    """The output head as int8 codes with one float32 scale per row (llama.cpp's Q8_0 keeps one per 32
    values) and a float32 bias, computed from int8 activations (:func:`pipeline.inference.kernels.int8_linear`),
    returning float32 logits: half the bytes of a bf16 head, the largest matrix read per token."""

    def __init__(self, weight: torch.Tensor, row_scale: torch.Tensor, bias: torch.Tensor | None, use_kernel: bool = True):
        super().__init__()
        self.register_buffer("weight", weight.to(torch.int8).contiguous())
        self.register_buffer("row_scale", row_scale.to(torch.float32).contiguous())
        self.register_buffer("bias", None if bias is None else bias.to(torch.float32).contiguous())
        self.use_kernel = use_kernel

    @classmethod
    def quantized(cls, head: nn.Linear, use_kernel: bool = True) -> Int8Head:
        """``head``'s weights rounded to int8 per row (:func:`pipeline.inference.kernels.quantize_rows`)."""
        codes, scale = quantize_rows(head.weight)
        return cls(codes, scale, None if head.bias is None else head.bias.detach(), use_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return int8_linear(x, self.weight, self.row_scale, self.bias, use_kernel=self.use_kernel)

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}, int8 with a scale per row"
