"""Language-model pre-training: one run = one model (studied or FP32 baseline) and one seed.

The loop is deterministic on CPU for a given seed (data order, init and dropout all derive from it),
checkpoints itself in safetensors every ``train.checkpoint_every`` steps and, when restarted after an
interruption, resumes from the last checkpoint and ends with the same metrics as an uninterrupted
run. Loss curves go through DVCLive so ``dvc plots`` and ``dvc exp show`` see them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pipeline.checkpoint import load_resume_state, save_model, save_resume_state
from pipeline.config import Config, OptimizerConfig, TrainConfig
from pipeline.distributed import DistContext
from pipeline.evaluate import evaluate_lm, evenly_spaced, n_windows, window_batch
from pipeline.io import read_json, write_json
from pipeline.live import open_live
from pipeline.model import TransformerLM, count_parameters
from pipeline.tokenization import load_tokens

ROLES = ("studied", "baseline")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class RunPaths:
    """Where one run writes: the model and metrics are stage outputs; the resume file is scratch."""

    model: Path
    metrics: Path
    timing: Path
    live_dir: Path
    resume: Path

    @classmethod
    def for_run(cls, role: str, seed: int, root: Path = Path(".")) -> "RunPaths":
        run = f"{role}/seed_{seed}"
        return cls(model=root / "models" / run / "model.safetensors", metrics=root / "runs" / run / "metrics.json",
                   timing=root / "runs" / run / "timing.json", live_dir=root / "runs" / run / "live",
                   resume=root / "checkpoints" / run / "resume.safetensors")


def quant_for_role(cfg: Config, role: str) -> str:
    """The studied model uses ``model.quant``; the baseline is always the FP32 twin."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; accepted: {ROLES}")
    return cfg.model.quant if role == "studied" else "fp32"


def resolve_device(requested: str) -> str:
    """``auto`` picks CUDA when present; asking for CUDA without one is an error, not a fallback."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device is cuda but no CUDA device is visible: set train.device: auto or cpu")
    return requested


def seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def make_optimizer(model: torch.nn.Module, cfg: OptimizerConfig, device: str = "cpu") -> torch.optim.AdamW:
    # Weight decay on every weight, as a plain AdamW(model.parameters()) in the notebook does, except
    # learned ternary scales (model.scale: learned), which decay would pull towards zero.
    # The fused kernel on CUDA does the whole update in one launch; CPU keeps the default loop.
    scales = [p for name, p in model.named_parameters() if name.endswith(".scale")]
    weights = [p for name, p in model.named_parameters() if not name.endswith(".scale")]
    groups = [{"params": weights}] + ([{"params": scales, "weight_decay": 0.0}] if scales else [])
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay,
                             fused=device.startswith("cuda") or None)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    """``onecycle`` (the notebook's) or ``cosine`` with linear warm-up (the paper README's)."""
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else round(cfg.warmup_fraction * total_steps)
    if cfg.schedule == "onecycle":
        if total_steps < 4:
            raise ValueError(f"the run has {total_steps} optimizer steps; the onecycle schedule needs at least 4: "
                             "raise train.max_steps / train.epochs or use train.schedule: cosine")
        # 2 .. total-2 warm-up steps: torch's OneCycleLR divides by zero when a phase is 1 step long.
        warmup = min(max(warmup, 2), total_steps - 2)
        # cycle_momentum=False keeps beta1 at the configured value; torch's default would cycle it
        # between 0.85 and 0.95 and silently override train.optimizer.betas.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.optimizer.lr, total_steps=max(total_steps, 2),
            pct_start=warmup / max(total_steps, 2), anneal_strategy="cos", cycle_momentum=False)

    warmup = min(max(warmup, 1), max(total_steps - 1, 1))

    def cosine(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total_steps - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)


def training_step(forward, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                  inputs: torch.Tensor, targets: torch.Tensor, tc: TrainConfig, autocast) -> torch.Tensor:
    """One optimizer step on one batch: label-smoothed cross-entropy (the notebook's training loss),
    gradient-norm clipping, AdamW, scheduler. Returns the loss without reading it back to the host."""
    with autocast:
        logits = forward(inputs)
    loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), label_smoothing=tc.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    optimizer.step()
    scheduler.step()
    return loss.detach()


def run_key(cfg: Config, role: str, seed: int, tokens_meta: dict) -> str:
    """Identifies what a run depends on, so a resume file from other params is never resumed."""
    payload = {"model": cfg.model.model_dump(), "train": cfg.train.model_dump(exclude={"seeds", "threads"}),
               "role": role, "seed": seed, "tokens": tokens_meta.get("train_fingerprint")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _truncate_live_logs(live_dir: Path, last_step: int) -> None:
    """Drop DVCLive rows logged after the checkpoint we resume from (they will be logged again)."""
    for tsv in (live_dir / "plots").rglob("*.tsv") if (live_dir / "plots").exists() else []:
        lines = tsv.read_text().splitlines()
        step_col = lines[0].split("\t").index("step")
        kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split("\t")[step_col]) <= last_step]
        tsv.write_text("\n".join(kept) + "\n")


def train_language_model(cfg: Config, role: str, seed: int, tokens_dir: Path, paths: RunPaths,
                         on_step: Callable[[int], None] | None = None) -> dict:
    """Train one model; write its checkpoint, metrics and loss curves; return the metrics.

    ``on_step(step)`` is called after every optimizer step (tests use it to interrupt a run).
    """
    tokens_meta = read_json(tokens_dir / "tokens.json")
    train_tokens, val_tokens = load_tokens(tokens_dir / "train.npy"), load_tokens(tokens_dir / "val.npy")
    tc, seq_len = cfg.train, cfg.model.arch.seq_len
    windows = n_windows(len(train_tokens), seq_len)
    steps_per_epoch = windows // tc.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"{windows} training windows of {seq_len} tokens cannot fill one batch of "
                         f"{tc.batch_size}: lower train.batch_size or model.arch.seq_len, or add data")
    total_steps = steps_per_epoch * tc.epochs if tc.max_steps is None else min(tc.max_steps, steps_per_epoch * tc.epochs)

    device = resolve_device(tc.device)
    ctx = DistContext.from_env(device)
    if device == "cuda":
        device = f"cuda:{ctx.local_rank}"
    seed_everything(seed, tc.threads)
    quant = quant_for_role(cfg, role)
    model = TransformerLM.from_config(cfg.model, tokens_meta["vocab_size"], quant=quant).to(device)
    optimizer = make_optimizer(model, tc.optimizer, device)
    scheduler = make_scheduler(optimizer, tc, total_steps)
    key = run_key(cfg, role, seed, tokens_meta)
    start_step = load_resume_state(paths.resume, model, optimizer, scheduler, key) or 0
    if start_step and ctx.is_main:
        _truncate_live_logs(paths.live_dir, start_step)
    live = open_live(paths.live_dir, resume=bool(start_step)) if ctx.is_main else None

    model.train()
    forward = DistributedDataParallel(model) if ctx.enabled else model
    forward = torch.compile(forward) if tc.compile else forward
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=tc.precision == "bf16")
    started = time.perf_counter()
    pending: list[torch.Tensor] = []  # losses since the last log; read back once per log interval
    last_loss = float("nan")
    progress = tqdm(range(start_step, total_steps), desc=f"train {role} seed {seed}", unit="step",
                    initial=start_step, total=total_steps, disable=not ctx.is_main)
    order, order_epoch = None, -1
    for step in progress:
        epoch, index = divmod(step, steps_per_epoch)
        if epoch != order_epoch:  # the data order is a pure function of (seed, epoch): resuming needs no state
            order = epoch_order(windows, seed, epoch)
            order_epoch = epoch
        batch_ids = ctx.shard(order[index * tc.batch_size:(index + 1) * tc.batch_size])
        inputs, targets = window_batch(train_tokens, batch_ids, seq_len, device)
        pending.append(training_step(forward, model, optimizer, scheduler, inputs, targets, tc, autocast))
        done = step + 1
        if done % tc.log_every == 0 or done == total_steps:
            losses = ctx.mean(torch.stack(pending).float()).cpu()
            finite = torch.isfinite(losses)
            if not bool(finite.all()):
                bad = done - len(pending) + int((~finite).nonzero()[0]) + 1
                raise NonFiniteLossError(
                    f"{role} seed {seed}: the training loss is {losses[~finite][0].item()} at step {bad}. "
                    f"Lower train.optimizer.lr, check model.arch.block_init_std, or train.grad_clip.")
            last_loss = float(losses.mean())
            pending.clear()
            if live is not None:
                live.step = done
                live.log_metric("train/loss", last_loss)
                live.log_metric("train/lr", scheduler.get_last_lr()[0])
                live.make_summary()
            elapsed = time.perf_counter() - started
            progress.set_postfix(loss=f"{last_loss:.3f}",
                                 tok_s=f"{(done - start_step) * tc.batch_size * seq_len / max(elapsed, 1e-9):,.0f}")
        if done % tc.checkpoint_every == 0 and done < total_steps and ctx.is_main:
            save_resume_state(paths.resume, model, optimizer, scheduler, done, key)
        if on_step is not None:
            on_step(done)
    progress.close()
    train_seconds = time.perf_counter() - started
    ctx.barrier()
    if not ctx.is_main:  # rank 0 evaluates and writes; the others are done
        ctx.close()
        return {}

    metrics = _final_metrics(model, train_tokens, val_tokens, cfg, device)
    metrics.update({"role": role, "seed": seed, "quant": quant, "steps": total_steps, "epochs": tc.epochs,
                    "tokens_seen": total_steps * tc.batch_size * seq_len, "params": count_parameters(model),
                    "last_logged_train_loss_smoothed": last_loss})
    for name in ("val_loss", "val_ppl", "train_ppl", "train_val_ratio"):
        live.summary[f"eval/{name}"] = metrics[name]
    live.make_summary()
    live.end()
    save_model(paths.model, model, {"quant": quant, "scale": cfg.model.scale if quant != "fp32" else "absmean",
                                    "act_bits": model_act_bits(cfg, quant),
                                    "role": role, "seed": seed})
    write_json(paths.metrics, metrics)
    write_json(paths.timing, {"train_seconds": train_seconds, "device": device_name(device),
                              "precision": tc.precision, "compiled": tc.compile,
                              "tokens_per_second": (total_steps - start_step) * tc.batch_size * seq_len / train_seconds
                              if train_seconds > 0 else None, "resumed_from_step": start_step})
    paths.resume.unlink(missing_ok=True)  # finished: nothing left to resume
    ctx.close()
    return metrics


def device_name(device: str) -> str:
    return torch.cuda.get_device_name(device) if device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"


def epoch_order(windows: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of training windows for one epoch, from (seed, epoch) alone."""
    return torch.randperm(windows, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).numpy()


def model_act_bits(cfg: Config, quant: str) -> int:
    return 0 if quant == "fp32" else cfg.model.act_bits


def _final_metrics(model: TransformerLM, train_tokens: np.ndarray, val_tokens: np.ndarray, cfg: Config,
                   device: str) -> dict:
    """Train and validation perplexity measured the same way on equal token counts."""
    seq_len, tc = cfg.model.arch.seq_len, cfg.train
    count = min(tc.eval_tokens // seq_len, n_windows(len(val_tokens), seq_len), n_windows(len(train_tokens), seq_len))
    if count == 0:
        raise ValueError("validation set shorter than one sequence: lower model.arch.seq_len or add data")
    val = evaluate_lm(model, val_tokens, np.arange(count), seq_len, tc.batch_size, tc.label_smoothing, device)
    train = evaluate_lm(model, train_tokens, evenly_spaced(n_windows(len(train_tokens), seq_len), count), seq_len,
                        tc.batch_size, tc.label_smoothing, device)
    return {
        "val_loss": val["loss"], "val_ppl": val["ppl"], "val_ppl_smoothed": val["ppl_smoothed"],
        "train_loss": train["loss"], "train_ppl": train["ppl"], "train_ppl_smoothed": train["ppl_smoothed"],
        # The paper's generalization figure: validation over training perplexity (1.0 = no gap).
        "train_val_ratio": val["ppl"] / train["ppl"], "train_val_loss_ratio": val["loss"] / train["loss"],
        "eval_tokens": val["tokens"],
    }
