"""The device check's measurements, one function per section, each returning its items (see
:mod:`pipeline.bench.devicecheck.record`). Every model is built as ``pipeline/training/train.py``
builds a role's, ``TransformerLM(model.arch_for(role), vocab, model.for_role(role))``, seeded, on the
CPU, then moved to the device; every step is the training loop's ``training_step``.

* ``throughput`` / ``throughput_compiled``: training tokens/s of the ternary model and its FP32 twin
  on one random batch (throughput does not depend on the text), eager or compiled by ``torch.compile``.
  MFU = 6 x parameters x tokens/s / the device's peak dense bf16 FLOP/s; ``mfu_palm`` is the same with
  ``pipeline.training.throughput.flops_per_token`` (non-embedding parameters plus attention), the
  figure ``python -m pipeline.training.throughput`` prints.
* ``train``: the ternary model trained on the prepared TinyStories tokens for ``train_steps`` steps
  or until its time runs out (keeping a fifth for the final evaluation), with the validation loss
  before and after.
* ``decode``: batch-1 greedy decoding latency (the benchmark stage's ``decode_latency``) of the FP32
  twin, the ternary model fake-quantized in PyTorch, and the packed ternary model.
* ``memory``: the device memory of those three for one batch-1 forward over ``seq_len`` tokens.
"""

from __future__ import annotations

import math
import time
from functools import partial

import numpy as np
import torch
from torch.utils import benchmark as torch_benchmark

from pipeline.bench.benchmark import decode_latency
from pipeline.bench.devicecheck.device import MB, Skipped
from pipeline.bench.devicecheck.presets import ROLE_LABELS, CheckContext
from pipeline.bench.devicecheck.record import Budget, Item, TimeLimitExceeded
from pipeline.errors import InputError, MissingInputError
from pipeline.inference.kernels import load_kernel
from pipeline.inference.packed import PackedTransformerLM
from pipeline.io import read_json
from pipeline.model.transformer import DecoderLM, TransformerLM, count_parameters, state_bytes
from pipeline.training.evaluate import evaluate_lm
from pipeline.training.optim import make_scheduler, seed_everything, training_step
from pipeline.training.throughput import flops_per_token
from pipeline.training.train import epoch_order, load_sequences

FORMATS = ("fp32", "ternary_fakequant", "ternary_packed")  # pipeline/bench/table.py's names
EVAL_RESERVE = 0.2  # share of the training item's time kept for the final evaluation


def build(ctx: CheckContext, role: str, vocab_size: int | None = None) -> TransformerLM:
    """``role``'s model as the train stage builds it, initialised from the check's seed, on the CPU."""
    torch.manual_seed(ctx.seed)
    model = ctx.cfg.model
    return TransformerLM(model.arch_for(role), vocab_size or ctx.vocab_size, model.for_role(role))


def _peak_mb(ctx: CheckContext, before_mb: float | None) -> float | None:
    """Device memory peak since the last release, minus what was allocated before the item began."""
    _, peak = ctx.device.memory_mb()
    return None if peak is None else peak - before_mb


# --- throughput -----------------------------------------------------------------------------------

def throughput(ctx: CheckContext, compiled: bool) -> dict[str, Item]:
    # The twin first: its shorter compilation leaves the rest of the section's time to the ternary model.
    labels = ("fp32", "ternary")
    if compiled and not ctx.device.cuda:  # say so once per item, without building anything
        return {label: partial(_skip, "torch.compile runs on CUDA only in this check") for label in labels}
    return {label: partial(_throughput, ctx, ROLE_LABELS[label], compiled) for label in labels}


def _skip(reason: str, budget: Budget, out: dict) -> None:
    raise Skipped(reason)


def _throughput(ctx: CheckContext, role: str, compiled: bool, budget: Budget, out: dict) -> None:
    """Training tokens/s, ms per step and MFU of ``role``'s model on one random batch."""
    device, tc = ctx.device, ctx.cfg.train.for_role(role)
    seed_everything(ctx.seed, ctx.threads)
    before, _ = device.memory_mb()
    model = build(ctx, role).to(device.type).train()
    forward = device.compile(model) if compiled else model
    optimizer = device.optimizer(model, tc.optimizer)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # the rate does not change the cost
    batch = torch.randint(0, ctx.vocab_size, (tc.batch_size, model.arch.seq_len + 1)).to(device.type)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    autocast = device.autocast()

    def step() -> torch.Tensor:
        return training_step(forward, model, optimizer, scheduler, inputs, targets, tc, autocast)

    out.update(precision=device.precision, compiled=compiled, batch_size=tc.batch_size, seq_len=model.arch.seq_len,
               params=count_parameters(model))
    started = time.perf_counter()
    for _ in range(ctx.preset.warmup_steps):
        step()
    device.sync()
    out.update(warmup_steps=ctx.preset.warmup_steps, warmup_s=time.perf_counter() - started)  # compilation included
    timer = torch_benchmark.Timer("step()", globals={"step": step}, num_threads=ctx.threads)
    measured = timer.blocked_autorange(min_run_time=max(min(ctx.preset.timed_s, budget.left() / 3), 0.01))
    loss = float(step())
    if not math.isfinite(loss):
        raise FloatingPointError(f"{role}: non-finite training loss {loss} during the throughput run")
    tokens_per_s = tc.batch_size * model.arch.seq_len / measured.median
    peak = device.peak_bf16_flops()
    out.update(tokens_per_s=tokens_per_s, step_ms=measured.median * 1e3, step_ms_iqr=measured.iqr * 1e3,
               steps_timed=len(measured.times) * measured.number_per_run, last_loss=loss,
               model_flops_per_token=6.0 * out["params"], peak_bf16_flops=peak,
               mfu=6.0 * out["params"] * tokens_per_s / peak if peak else None,
               mfu_palm=flops_per_token(model) * tokens_per_s / peak if peak else None,
               peak_mb=_peak_mb(ctx, before))


# --- the short training on real tokens ------------------------------------------------------------

def train(ctx: CheckContext) -> dict[str, Item]:
    """Setup: the prepared token arrays (a missing folder fails the section, naming ``prepare``)."""
    tokens_dir, role = ctx.paths.tokens, ROLE_LABELS["ternary"]
    if not (tokens_dir / "tokens.json").is_file():
        raise MissingInputError(f"{tokens_dir / 'tokens.json'} not found: run `python -m pipeline.bench.devicecheck "
                                f"prepare --dir {ctx.paths.root}` first (it needs ../shared/data)")
    meta = read_json(tokens_dir / "tokens.json")
    if meta["vocab_size"] != ctx.vocab_size:
        raise InputError(f"{tokens_dir} holds tokens of a {meta['vocab_size']}-entry vocabulary, not "
                         f"bert-base-uncased's {ctx.vocab_size}: re-run `python -m pipeline.bench.devicecheck prepare`")
    tc, seq_len = ctx.cfg.train.for_role(role), ctx.cfg.model.arch.seq_len
    sequences = {split: load_sequences(tokens_dir, split, tc, seq_len) for split in ("train", "val")}
    if len(sequences["train"]) < tc.batch_size or len(sequences["val"]) == 0:
        raise InputError(f"{tokens_dir}: too few tokens for one batch of {tc.batch_size} x {seq_len}: re-run prepare")
    return {"ternary": partial(_train, ctx, role, sequences["train"], sequences["val"], meta)}


def _train(ctx: CheckContext, role: str, train_windows, val_windows, meta: dict, budget: Budget, out: dict) -> None:
    device, tc = ctx.device, ctx.cfg.train.for_role(role)
    seed_everything(ctx.seed, ctx.threads)
    before, _ = device.memory_mb()
    model = build(ctx, role, meta["vocab_size"]).to(device.type).train()
    optimizer = device.optimizer(model, tc.optimizer)
    scheduler = make_scheduler(optimizer, tc, ctx.train_steps)
    autocast = device.autocast()
    val_ids = np.arange(min(ctx.preset.eval_windows, len(val_windows)))

    def val_loss() -> float:  # true NLL per token, eval mode, fp32 (the pipeline's validation loss)
        return evaluate_lm(model, val_windows, val_ids, tc.batch_size, tc.label_smoothing, device.type)["loss"]

    out.update(precision=device.precision, batch_size=tc.batch_size, seq_len=model.arch.seq_len,
               planned_steps=ctx.train_steps, train_windows=len(train_windows), val_windows=len(val_ids),
               uniform_loss=math.log(meta["vocab_size"]), val_loss_start=val_loss())
    steps_per_epoch = len(train_windows) // tc.batch_size
    stop_after_s = budget.left() * (1 - EVAL_RESERVE)
    losses: list[torch.Tensor] = []
    order, order_epoch = None, -1
    started = time.perf_counter()
    for step in range(ctx.train_steps):
        if time.perf_counter() - started > stop_after_s:
            break
        epoch, index = divmod(step, steps_per_epoch)
        if epoch != order_epoch:  # the train stage's data order: a function of (seed, epoch)
            order, order_epoch = epoch_order(len(train_windows), ctx.seed, epoch), epoch
        inputs, targets = train_windows.batch(order[index * tc.batch_size:(index + 1) * tc.batch_size], device.type)
        losses.append(training_step(model, model, optimizer, scheduler, inputs, targets, tc, autocast))
    device.sync()
    seconds = time.perf_counter() - started
    if not losses:
        raise TimeLimitExceeded("no training step fitted in the time limit")
    per_step = torch.stack(losses).float().cpu()
    window = max(1, min(10, len(per_step) // 4))  # steps averaged at each end (the loss is noisy per batch)
    every = max(1, len(per_step) // 30)  # about 30 points, each the mean loss of its steps
    out.update(steps=len(per_step), stopped_by_time_limit=len(per_step) < ctx.train_steps,
               epochs=len(per_step) / steps_per_epoch, train_seconds=seconds,
               tokens_per_s=len(per_step) * tc.batch_size * model.arch.seq_len / seconds,
               loss_window_steps=window, train_loss_smoothed_start=float(per_step[:window].mean()),
               train_loss_smoothed_end=float(per_step[-window:].mean()),
               curve=[[min(start + every, len(per_step)), float(per_step[start:start + every].mean())]
                      for start in range(0, len(per_step), every)])
    if not torch.isfinite(per_step).all():
        first = int((~torch.isfinite(per_step)).nonzero()[0]) + 1
        raise FloatingPointError(f"non-finite training loss at step {first}")
    out["val_loss_end"] = val_loss()
    out["val_loss_drop"] = out["val_loss_start"] - out["val_loss_end"]  # nats per token: what it learned
    out["peak_mb"] = _peak_mb(ctx, before)


# --- inference: decoding latency and memory -------------------------------------------------------

def inference_model(ctx: CheckContext, fmt: str) -> tuple[DecoderLM, dict]:
    """The model of one of :data:`FORMATS` on the device, in eval mode, and how it computes."""
    device = ctx.device.type
    if fmt == "fp32":
        return build(ctx, ROLE_LABELS["fp32"]).to(device).eval(), {"computes": "FP32 twin, PyTorch eager"}
    studied = build(ctx, ROLE_LABELS["ternary"])
    if fmt == "ternary_fakequant":
        return studied.to(device).eval(), {"computes": "latent weights quantized on every call, PyTorch eager"}
    use_kernel = ctx.device.packed_kernel
    if not use_kernel:
        path = "pure PyTorch (the C++ kernel is CPU-only)"
    elif load_kernel() is None:
        path = "pure PyTorch (the C++ kernel is disabled or did not build)"
    else:
        path = "C++ kernel"
    head_dtype = ctx.cfg.benchmark.head_dtype
    packed = PackedTransformerLM.from_trained(studied, head_dtype=head_dtype, use_kernel=use_kernel)
    return packed.to(device).eval(), {"computes": f"2-bit packed codes, {path}, embedding and head in {head_dtype}"}


def decode(ctx: CheckContext) -> dict[str, Item]:
    return {fmt: partial(_decode, ctx, fmt) for fmt in FORMATS}


def _decode(ctx: CheckContext, fmt: str, budget: Budget, out: dict) -> None:
    before, _ = ctx.device.memory_mb()
    model, how = inference_model(ctx, fmt)
    preset = ctx.preset
    prompt = torch.randint(0, ctx.vocab_size, (1, preset.prompt_tokens),
                           generator=torch.Generator().manual_seed(ctx.seed)).to(ctx.device.type)
    out.update(how, precision="fp32", batch_size=1, prompt_tokens=preset.prompt_tokens,
               decode_tokens=preset.decode_tokens, repeats=preset.repeats)
    out.update(decode_latency(model, prompt, preset.decode_tokens, preset.repeats, ctx.threads))
    out["peak_mb"] = _peak_mb(ctx, before)


def memory(ctx: CheckContext) -> dict[str, Item]:
    return {fmt: partial(_memory, ctx, fmt) for fmt in FORMATS}


def _memory(ctx: CheckContext, fmt: str, budget: Budget, out: dict) -> None:
    before, _ = ctx.device.memory_mb()
    model, how = inference_model(ctx, fmt)
    allocated, _ = ctx.device.memory_mb()
    out.update(how, method=ctx.device.memory_method, tokens=model.arch.seq_len,
               resident_mb=None if allocated is None else allocated - before)
    out["weights_mb"] = state_bytes(model) / MB
    ids = torch.randint(0, ctx.vocab_size, (1, model.arch.seq_len),
                        generator=torch.Generator().manual_seed(ctx.seed)).to(ctx.device.type)
    with torch.no_grad():
        model(ids)
    out["peak_mb"] = _peak_mb(ctx, before)


SECTIONS = {  # name -> the section's setup, which returns its items
    "throughput": partial(throughput, compiled=False),
    "throughput_compiled": partial(throughput, compiled=True),
    "train": train,
    "decode": decode,
    "memory": memory,
}
