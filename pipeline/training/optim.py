"""What pre-training and fine-tuning share: process setup, AdamW, schedules and the optimizer step.

``optimizer_step`` is the one place gradients are computed, clipped and applied;
``training_step`` is the language model's loss on top of it (the pre-training loop and the
throughput benchmark call it), and GLUE fine-tuning calls ``optimizer_step`` with its classifier's loss.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from pipeline.config import OptimizerConfig, TrainConfig
from pipeline.errors import InputError
from pipeline.training.evaluate import IGNORE


def seed_everything(seed: int, threads: int) -> None:
    """Seed torch, fix the thread count, ask for deterministic kernels, and flush subnormal floats.

    Subnormals (below 1.2e-38) appear in the gradients and Adam moments of the notebook-init arm
    (latent weights of std 1.0) and make every CPU op that meets them about 2x slower (measured:
    5.2k vs 9.8k training tokens/s); at fp32 precision they cannot move a weight update, which Adam
    divides by sqrt(v) + 1e-8.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_flush_denormal(True)


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
    """``onecycle`` (the notebook's), ``cosine`` with linear warm-up (the paper README's), or ``constant``
    after a linear warm-up (the regime map's: every epoch of one run is a point on the length axis)."""
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else round(cfg.warmup_fraction * total_steps)
    if cfg.schedule == "onecycle":
        if total_steps < 4:
            raise InputError(f"the run has {total_steps} optimizer steps; the onecycle schedule needs at least 4: "
                             "raise train.max_steps / train.epochs or use train.schedule: cosine")
        # 2 .. total-2 warm-up steps: torch's OneCycleLR divides by zero when a phase is 1 step long.
        warmup = min(max(warmup, 2), total_steps - 2)
        # cycle_momentum (torch's default, the notebook's) cycles beta1 between 0.85 and 0.95 against
        # the learning rate, overriding train.optimizer.betas[0]; false keeps beta1 as configured.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.optimizer.lr, total_steps=max(total_steps, 2),
            pct_start=warmup / max(total_steps, 2), anneal_strategy="cos", cycle_momentum=cfg.cycle_momentum)

    warmup = min(max(warmup, 1), max(total_steps - 1, 1))

    def cosine(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total_steps - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def constant(step: int) -> float:
        return (step + 1) / warmup if step < warmup else 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, cosine if cfg.schedule == "cosine" else constant)


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler, loss: torch.Tensor,
                   grad_clip: float) -> torch.Tensor:
    """Backward, gradient-norm clipping at ``grad_clip``, the optimizer and scheduler steps.
    Returns the loss detached, without reading it back to the host."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    return loss.detach()


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """Label-smoothed next-token cross-entropy (the notebook's training loss); IGNORE targets skipped."""
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), label_smoothing=label_smoothing,
                           ignore_index=IGNORE)


def training_step(forward, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                  inputs: torch.Tensor, targets: torch.Tensor, tc: TrainConfig, autocast) -> torch.Tensor:
    """One language-model optimizer step on one batch (``forward`` may be the compiled model)."""
    with autocast:
        logits = forward(inputs)
    return optimizer_step(model, optimizer, scheduler, lm_loss(logits, targets, tc.label_smoothing), tc.grad_clip)
