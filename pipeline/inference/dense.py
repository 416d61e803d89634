"""Dense inference copies of a trained model, the formats the packed one is measured against:
PyTorch's dynamic INT8 quantization of the FP32 twin, and the ternary model with its weights
quantized once instead of on every call.
"""

from __future__ import annotations

import copy
import warnings

import torch

from pipeline.model.transformer import TransformerLM


def frozen_for_inference(model: TransformerLM) -> TransformerLM:
    """A copy whose block weights are quantized once, so decoding does not re-quantize every step.

    The copy computes exactly what the training-time model computes (same quantized weights, same
    activation fake-quantization), only without the per-call weight quantization work.
    """
    frozen = copy.deepcopy(model).eval()
    for layer in frozen.quant_layers().values():
        layer.freeze_()
    return frozen


def int8_dynamic(model: TransformerLM) -> torch.nn.Module:
    """PyTorch dynamic int8 quantization of every linear layer of a copy of ``model`` (weights int8
    per tensor, activations quantized per batch); embedding and norms stay fp32."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization warns that it is being migrated to torchao
        from torch.ao.quantization import quantize_dynamic

        plain = copy.deepcopy(model).eval()
        for name, layer in list(plain.quant_layers().items()):
            linear = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
            linear.weight = layer.weight
            parent = plain.get_submodule(name.rsplit(".", 1)[0])
            setattr(parent, name.rsplit(".", 1)[1], linear)
        return quantize_dynamic(plain, {torch.nn.Linear}, dtype=torch.qint8)
