"""Training throughput: tokens/s, step time and model FLOPs utilisation (MFU), ternary vs FP32 twin,
measured side by side on whatever device is present, with the training loop's own step function.

``python -m pipeline.throughput --arch paper`` measures the paper's 132M configuration;
``--arch small`` a 4-layer dim-256 model, ``--arch tiny`` one that runs in seconds (CI). Inputs are random token ids: throughput does not depend on the
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

from pipeline.config import ArchConfig, OptimizerConfig, RoleModel, TrainConfig
from pipeline.model import TransformerLM
from pipeline.paper import PAPER_ARCH, PAPER_VOCAB_SIZE
from pipeline.distributed import resolve_device
from pipeline.train import device_name, make_optimizer, make_scheduler, training_step

# Peak dense bf16 tensor-core FLOP/s by device-name fragment (vendor datasheets, without sparsity).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "T4": 65e12}
# name -> (architecture, vocabulary size): "paper" is the 132M configuration; "small" a model a CPU
# trains in minutes; "tiny" runs in seconds (CI).
ARCHS = {
    "paper": (PAPER_ARCH, PAPER_VOCAB_SIZE),
    "small": (ArchConfig(dim=256, n_layers=4, n_heads=4, mlp_ratio=2.67, dropout=0.05, seq_len=128), 8192),
    "tiny": (ArchConfig(dim=64, n_layers=2, n_heads=2, mlp_ratio=2.67, dropout=0.05, seq_len=64), 1000),
}


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
    torch.manual_seed(0)
    model = TransformerLM(arch, vocab_size, RoleModel.resolve(quant, act_bits=act_bits)).to(device).train()
    train_cfg = TrainConfig(seeds=[0], batch_size=batch_size, epochs=1, optimizer=OptimizerConfig(
        lr=3e-4, betas=[0.9, 0.98], weight_decay=0.01), schedule="onecycle", warmup_fraction=0.1, grad_clip=1.0,
        label_smoothing=0.1, log_every=10, checkpoint_every=1000, eval_tokens=arch.seq_len, threads=torch.get_num_threads(),
        precision=precision)
    optimizer = make_optimizer(model, train_cfg.optimizer, device)
    scheduler = make_scheduler(optimizer, train_cfg, warmup + steps + 2)
    forward = torch.compile(model) if compile_model else model
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")
    batch = torch.randint(0, vocab_size, (batch_size, arch.seq_len + 1), device=device)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    for _ in range(warmup):
        training_step(forward, model, optimizer, scheduler, inputs, targets, train_cfg, autocast)
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        loss = training_step(forward, model, optimizer, scheduler, inputs, targets, train_cfg, autocast)
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
        compile_model: bool) -> dict:
    """Both models, one after the other, in this process; flat keys plus the ternary/FP32 ratio."""
    arch, vocab = ARCHS[arch_name]
    device = resolve_device(device)
    results: dict = {"device": device_name(device), "arch": arch_name, "batch_size": batch_size,
                     "seq_len": arch.seq_len, "precision": precision, "compiled": compile_model, "steps": steps}
    for label, quant in (("ternary", "ternary"), ("fp32", "fp32")):
        for key, value in measure(arch, vocab, quant, batch_size, steps, warmup, device, precision,
                                  compile_model).items():
            results[f"{label}_{key}"] = value
    results["ternary_over_fp32_step_time"] = results["ternary_step_ms"] / results["fp32_step_ms"]
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Training throughput of the ternary model and its FP32 twin.")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="paper")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = run(args.arch, args.batch_size, args.steps, args.warmup, args.device, args.precision, args.compile)
    for label in ("ternary", "fp32"):
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
