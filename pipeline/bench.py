"""Inference efficiency: weight memory per storage format and batch-1 decode latency.

Definitions (quoted by the report):

* **Weight memory** (MB = 10^6 bytes): the bytes needed to hold a model's weights in a format.
  ``fp32``: 4 bytes per parameter. ``int8``: block linear layers at 1 byte per weight plus one fp32
  scale per output row, everything else fp32. ``ternary_2bit``: block linear layers at 2 bits per
  weight (4 per byte, rows padded to whole bytes) plus one fp32 scale per tensor, everything else
  (embedding, head, norms) fp32. Counted from the parameter shapes, for the trained models and for
  the paper's 132M architecture.
* **Latency**: batch-1 greedy decoding with a KV cache, after a prompt of ``prompt_tokens``:
  milliseconds per generated token (median and interquartile range over repeats after warm-up,
  ``torch.utils.benchmark``), plus the prefill time; thread count stated. All models are timed in
  the same process, one after another, so their ratio is meaningful on this machine.
"""

from __future__ import annotations

import copy
import math
import platform
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils import benchmark as torch_benchmark

from tqdm import tqdm

from pipeline.checkpoint import load_model
from pipeline.config import ArchConfig, BenchmarkConfig
from pipeline.model import TransformerLM

MB = 1e6
FORMATS = ("fp32", "int8", "ternary_2bit")


def _layer_bytes(out_features: int, in_features: int, fmt: str) -> int:
    if fmt == "fp32":
        return 4 * out_features * in_features
    if fmt == "int8":
        return out_features * in_features + 4 * out_features
    if fmt == "ternary_2bit":
        return out_features * math.ceil(in_features / 4) + 4
    raise ValueError(f"unknown format {fmt!r}; accepted: {FORMATS}")


def weight_bytes(model: TransformerLM, fmt: str) -> int:
    """Bytes to store ``model``'s weights in ``fmt`` (see the module docstring)."""
    quantized = {f"{name}.weight" for name in model.quant_layers()}
    total = 0
    for name, param in model.named_parameters():
        if name in quantized:
            total += _layer_bytes(param.shape[0], param.shape[1], fmt)
        elif not name.endswith(".scale"):  # a learned scale is counted inside its layer's bytes
            total += 4 * param.numel()
    return total


def arch_weight_megabytes(arch: ArchConfig, vocab_size: int) -> dict[str, float]:
    """Weight memory of an architecture in every format, without allocating its weights."""
    with torch.device("meta"):
        model = TransformerLM(arch, vocab_size)
    return {f"{fmt}_mb": weight_bytes(model, fmt) / MB for fmt in FORMATS}


def frozen_for_inference(model: TransformerLM) -> TransformerLM:
    """A copy whose block weights are quantized once, so decoding does not re-quantize every step.

    The copy computes exactly what the training-time model computes (same quantized weights, same
    activation fake-quantization), only without the per-call weight quantization work.
    """
    frozen = copy.deepcopy(model).eval()
    for layer in frozen.quant_layers().values():
        if layer.quant != "fp32":
            with torch.no_grad():
                layer.weight.copy_(layer.quantized_weight())
            layer.quant, layer.scale = "fp32", None
    return frozen


def int8_dynamic(model: TransformerLM) -> torch.nn.Module:
    """PyTorch dynamic int8 quantization of every linear layer (weights int8, activations per batch)."""
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


@torch.no_grad()
def greedy_decode(model: TransformerLM, prompt: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """Batch-1 greedy decoding with a KV cache; returns the generated ids."""
    logits, cache = model.forward_cached(prompt)
    generated = []
    next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    for position in range(prompt.shape[1], prompt.shape[1] + n_tokens):
        generated.append(next_id)
        logits, cache = model.forward_cached(next_id, cache, position)
        next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    return torch.cat(generated, dim=1)


def _timings(timer: torch_benchmark.Timer, repeats: int) -> list[float]:
    """Seconds of ``repeats`` separate single calls, after one warm-up call."""
    timer.timeit(1)
    return [timer.timeit(1).median for _ in range(repeats)]


def decode_latency(model: TransformerLM, prompt: torch.Tensor, n_tokens: int, repeats: int, threads: int
                   ) -> dict[str, float]:
    """ms per decoded token (median and IQR over ``repeats`` timed decodes) and prefill ms (median)."""
    scope = {"greedy_decode": greedy_decode, "model": model, "prompt": prompt, "n": n_tokens}
    with torch.no_grad():
        prefill_ms = float(np.median(_timings(torch_benchmark.Timer(
            "model.forward_cached(prompt)", globals=scope, num_threads=threads), repeats))) * 1e3
        decode_s = _timings(torch_benchmark.Timer("greedy_decode(model, prompt, n)", globals=scope,
                                                  num_threads=threads), repeats)
    # A decode run includes one prefill; subtract it so the figure is per generated token.
    per_token = (np.asarray(decode_s) * 1e3 - prefill_ms) / n_tokens
    q25, q50, q75 = np.percentile(per_token, [25, 50, 75])
    return {"ms_per_token": float(q50), "ms_per_token_iqr": float(q75 - q25), "prefill_ms": prefill_ms}


def device_description() -> str:
    return f"{platform.processor() or platform.machine()} CPU, torch {torch.__version__}"


def run_benchmark(studied_path: Path, baseline_path: Path, cfg: BenchmarkConfig, paper_arch: ArchConfig | None,
                  paper_vocab: int = 30522) -> dict[str, float | str]:
    """The benchmark stage: memory of every format and decode latency of FP32, INT8 and the studied
    model, all measured in this one process. Returns flat keys with units in their names."""
    torch.manual_seed(0)
    studied, studied_meta = load_model(studied_path)
    baseline, _ = load_model(baseline_path)
    prompt = torch.randint(0, baseline.vocab_size, (1, cfg.prompt_tokens))
    candidates = {"fp32": baseline, "int8": int8_dynamic(baseline), "studied": frozen_for_inference(studied)}
    results: dict[str, float | str] = {"device": device_description(), "threads": cfg.threads,
                                       "decode_tokens": cfg.decode_tokens, "prompt_tokens": cfg.prompt_tokens,
                                       "repeats": cfg.repeats, "studied_quant": studied_meta["quant"]}
    for name, model in tqdm(candidates.items(), desc="benchmark", unit="model"):
        for key, value in decode_latency(model, prompt, cfg.decode_tokens, cfg.repeats, cfg.threads).items():
            results[f"latency_{name}_{key}"] = value
    results["latency_studied_over_fp32"] = results["latency_studied_ms_per_token"] / results["latency_fp32_ms_per_token"]
    results["latency_int8_over_fp32"] = results["latency_int8_ms_per_token"] / results["latency_fp32_ms_per_token"]
    for fmt in FORMATS:
        results[f"trained_weights_{fmt}_mb"] = weight_bytes(baseline, fmt) / MB
    if paper_arch is not None:
        for key, value in arch_weight_megabytes(paper_arch, paper_vocab).items():
            results[f"paper_arch_weights_{key}"] = value
        results["paper_arch_fp32_over_ternary_2bit"] = (results["paper_arch_weights_fp32_mb"]
                                                        / results["paper_arch_weights_ternary_2bit_mb"])
    return results
