"""Training throughput: tokens/s, step time and model FLOPs utilisation (MFU), ternary vs FP32 twin,
measured side by side on whatever device is present, with the training loop's own step function.

``python -m pipeline.training.throughput --arch paper`` measures the paper's 132M configuration;
``--arch small`` a 4-layer dim-256 model, ``--arch tiny`` the tests' model (runs in seconds), ``--arch
cpu-study`` the CPU study profile's model (at its vocabulary cap). ``--compare-dropout`` measures each
model twice in the same run, with torch's dropout and with :mod:`pipeline.model.dropout`'s (the before and
after of the CPU study's speed-up). Inputs are random token ids: throughput does not depend on the
text. Each model gets ``--warmup`` untimed steps (compilation, allocator warm-up), then ``--steps``
timed steps, synchronised once at the end.

MFU = achieved model FLOPs / the device's peak dense bf16 FLOPs, with model FLOPs per token =
6 x (parameters except the embedding table) + 12 x layers x dim x sequence length (attention),
the usual accounting of the PaLM paper. Peaks are listed for the GPUs we know; elsewhere MFU is
not reported rather than guessed.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from pipeline.model import dropout
from pipeline.config import ArchConfig, OptimizerConfig, RoleModel
from pipeline.model.transformer import TransformerLM
from pipeline.paper import PAPER_VOCAB_SIZE
from pipeline.profiles import read_profile
from pipeline.training.distributed import device_name, resolve_device
from pipeline.training.optim import lm_loss, make_optimizer, optimizer_step, seed_everything

# Peak dense bf16 tensor-core FLOP/s by device-name fragment (vendor datasheets, without sparsity).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "T4": 65e12}
# The vocabulary each --arch preset is measured with (pipeline/config.py ARCH_PRESETS holds the
# shapes): "paper" the 132M configuration, "small" a model a CPU trains in minutes, "tiny" the tests'.
ARCH_VOCAB = {"paper": PAPER_VOCAB_SIZE, "small": 8192, "tiny": 1000}


def _arch(name: str) -> tuple[ArchConfig, int]:
    if name in ARCH_VOCAB:
        return ArchConfig.from_name(name), ARCH_VOCAB[name]
    profile = read_profile(name)  # a profile's model, at its vocabulary cap
    return ArchConfig(**profile["model"]["arch"]), profile["tokenizer"]["vocab_size"]


def flops_per_token(model: TransformerLM) -> float:
    arch = model.arch
    non_embedding = sum(p.numel() for p in model.parameters()) - model.embed.weight.numel()
    return 6.0 * non_embedding + 12.0 * arch.n_layers * arch.dim * arch.seq_len


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(arch: ArchConfig, vocab_size: int, quant: str, batch_size: int, steps: int, warmup: int, device: str,
            precision: str, compile_model: bool, act_bits: int = 8) -> dict[str, float]:
    """Training tokens/s, ms per step and (where the peak is known) MFU for one model."""
    seed_everything(0, torch.get_num_threads())
    model = TransformerLM(arch, vocab_size, RoleModel.resolve(quant, act_bits=act_bits)).to(device).train()
    optimizer = make_optimizer(model, OptimizerConfig(lr=3e-4, betas=[0.9, 0.98], weight_decay=0.01), device)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # the rate does not change the cost
    forward = torch.compile(model) if compile_model else model
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")
    batch = torch.randint(0, vocab_size, (batch_size, arch.seq_len + 1), device=device)
    inputs, targets = batch[:, :-1], batch[:, 1:]

    def step() -> torch.Tensor:
        with autocast:
            logits = forward(inputs)
        return optimizer_step(model, optimizer, scheduler, lm_loss(logits, targets, label_smoothing=0.1), grad_clip=1.0)

    for _ in range(warmup):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        loss = step()
    _sync(device)
    seconds = time.perf_counter() - started
    if not torch.isfinite(loss):
        raise RuntimeError(f"{quant}: non-finite loss during the throughput run")
    tokens_per_s = steps * batch_size * arch.seq_len / seconds
    result = {"tokens_per_s": tokens_per_s, "step_ms": seconds / steps * 1e3,
              "model_flops_per_token": flops_per_token(model)}
    peak = next((flops for name, flops in PEAK_BF16_FLOPS.items() if name in device_name(device)), None)
    if peak is not None:
        result["mfu"] = tokens_per_s * result["model_flops_per_token"] / peak
    return result


def run(arch_name: str, batch_size: int, steps: int, warmup: int, device: str, precision: str,
        compile_model: bool, compare_dropout: bool = False) -> dict:
    """Both models, one after the other, in this process; flat keys plus the ternary/FP32 ratio.

    With ``compare_dropout``, each model is measured first with torch's dropout (keys prefixed
    ``reference_dropout_``) and then with ours, and ``dropout_speedup_<label>`` is the tokens/s ratio.
    """
    arch, vocab = _arch(arch_name)
    device = resolve_device(device)
    results: dict = {"device": device_name(device), "arch": arch_name, "batch_size": batch_size,
                     "seq_len": arch.seq_len, "precision": precision, "compiled": compile_model, "steps": steps}
    for label, quant in (("ternary", "ternary"), ("fp32", "fp32")):
        if compare_dropout:
            with dropout.reference():
                for key, value in measure(arch, vocab, quant, batch_size, steps, warmup, device, precision,
                                          compile_model).items():
                    results[f"reference_dropout_{label}_{key}"] = value
        for key, value in measure(arch, vocab, quant, batch_size, steps, warmup, device, precision,
                                  compile_model).items():
            results[f"{label}_{key}"] = value
        if compare_dropout:
            results[f"dropout_speedup_{label}"] = (results[f"{label}_tokens_per_s"]
                                                   / results[f"reference_dropout_{label}_tokens_per_s"])
    results["ternary_over_fp32_step_time"] = results["ternary_step_ms"] / results["fp32_step_ms"]
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Training throughput of the ternary model and its FP32 twin.")
    parser.add_argument("--arch", default="paper", help=f"one of {sorted(ARCH_VOCAB)} or a profile's name (its model)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--compare-dropout", action="store_true",
                        help="measure each model with torch's dropout too (before/after pipeline.model.dropout)")
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = run(args.arch, args.batch_size, args.steps, args.warmup, args.device, args.precision, args.compile,
                  args.compare_dropout)
    for label in ("ternary", "fp32"):
        if args.compare_dropout:
            print(f"{label:8s} {results[f'reference_dropout_{label}_tokens_per_s']:>12,.0f} tokens/s with torch's "
                  f"dropout, {results[f'{label}_tokens_per_s']:,.0f} with ours: {results[f'dropout_speedup_{label}']:.2f}x")
        mfu = results.get(f"{label}_mfu")
        print(f"{label:8s} {results[f'{label}_tokens_per_s']:>12,.0f} tokens/s  {results[f'{label}_step_ms']:8.1f} "
              f"ms/step" + (f"  MFU {mfu:.1%}" if mfu is not None else ""))
    print(f"ternary / fp32 step time: {results['ternary_over_fp32_step_time']:.3f}  ({results['device']})")
    if args.out:
        from pipeline.io import write_json

        write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
