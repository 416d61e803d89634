"""Language-model pre-training: one run = one model (studied or FP32 baseline) and one seed.

The loop is deterministic on CPU for a given seed (data order, init and dropout all derive from it),
checkpoints itself in safetensors every ``train.checkpoint_every`` steps and, when restarted after an
interruption, resumes from the last checkpoint and ends with the same metrics as an uninterrupted
run. Loss curves go through DVCLive so ``dvc plots`` and ``dvc exp show`` see them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pipeline.model.checkpoint import initial_model, save_model
from pipeline.model.stats import depth_summary, layer_statistics
from pipeline.training.resume import (CorruptCheckpointError, ResumePoint, load_resume_state, save_resume_state,
                                      set_aside)
from pipeline.config import ROLES, Config, TrainConfig
from pipeline.training.distributed import DistContext, device_name, resolve_device
from pipeline.layout import RUN_SECONDS_KEY, ZERO_CURVE_METRIC, RunPaths
from pipeline.training.evaluate import Sequences, StorySequences, StreamWindows, evaluate_lm, evenly_spaced
from pipeline.errors import InputError, MissingInputError
from pipeline.io import atomic_path, read_json, write_json
from pipeline.training.live import CurveLogger, open_live, read_curves, restore_curves
from pipeline.model.transformer import TransformerLM, causal_mask_imposed, code_change_fraction, count_parameters
from pipeline.training.optim import make_optimizer, make_scheduler, seed_everything, training_step
from pipeline.data.tokens import load_tokens


class NonFiniteLossError(InputError):
    """The training loss became NaN or infinite: the params (learning rate, init, clipping) diverge."""


def run_key(cfg: Config, role: str, seed: int, tokens_meta: dict) -> str:
    """Identifies everything a run depends on (model, training recipe, role, seed, tokenizer and the
    token arrays' counts and fingerprint), so a resume file from other params or data is never
    resumed. Only what cannot change the result is left out: the seed list and the thread count."""
    payload = {"model": cfg.model.model_dump(), "train": cfg.train.model_dump(exclude={"seeds", "threads"}),
               "tokenizer": cfg.tokenizer.model_dump(), "role": role, "seed": seed, "tokens": tokens_meta}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class _Run:
    """What the loop needs, built once by :func:`_setup`."""

    role: str
    seed: int
    recipe: TrainConfig  # train, with the role's own settings applied (TrainConfig.for_role)
    model: TransformerLM
    forward: Callable[..., torch.Tensor]  # the model, wrapped for DDP and torch.compile where enabled
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    train: Sequences
    val: Sequences
    steps_per_epoch: int
    total_steps: int
    start_step: int
    key: str  # run_key: which params and data a resume file must come from
    paths: RunPaths
    device: str
    ctx: DistContext
    live: CurveLogger | None  # None on every process but the main one


def load_sequences(tokens_dir: Path, split: str, tc: TrainConfig, seq_len: int) -> Sequences:
    """The ``train`` or ``val`` split cut as ``train.sequences`` says (stream windows or per story);
    the training split limited to its first ``train.max_stories`` stories when that is set."""
    tokens = load_tokens(tokens_dir / f"{split}.npy")
    starts_path = tokens_dir / f"{split}_starts.npy"
    needs_starts = tc.sequences == "per_story" or (split == "train" and tc.max_stories is not None)
    if needs_starts and not starts_path.is_file():
        raise MissingInputError(f"{starts_path} not found: re-run the tokenize stage (dvc repro tokenize)")
    starts = load_tokens(starts_path) if needs_starts else None
    if split == "train" and tc.max_stories is not None:
        if tc.max_stories > len(starts) - 1:
            raise InputError(f"train.max_stories is {tc.max_stories} but the training split holds {len(starts) - 1} "
                             f"stories: lower it or raise data.max_train_stories")
        starts = starts[:tc.max_stories + 1]
        tokens = tokens[:int(starts[-1])]
    if tc.sequences == "stream":
        return StreamWindows(tokens, seq_len)
    return StorySequences(tokens, starts, seq_len, read_json(tokens_dir / "tokens.json").get("pad_id", 0))


def _setup(cfg: Config, role: str, seed: int, tokens_dir: Path, paths: RunPaths) -> _Run:
    tokens_meta = read_json(tokens_dir / "tokens.json")
    tc, seq_len = cfg.train.for_role(role), cfg.model.arch.seq_len
    train, val = load_sequences(tokens_dir, "train", tc, seq_len), load_sequences(tokens_dir, "val", tc, seq_len)
    if len(val) == 0:
        raise InputError(f"the validation split holds no sequence of {seq_len} tokens ({len(load_tokens(tokens_dir / 'val.npy'))} "
                         f"tokens): add validation stories (data.max_val_stories) or lower model.arch.seq_len")
    steps_per_epoch = len(train) // tc.batch_size
    if steps_per_epoch == 0:
        raise InputError(f"{len(train)} training sequences of {seq_len} tokens cannot fill one batch of "
                         f"{tc.batch_size}: lower train.batch_size or model.arch.seq_len, or add data")
    total_steps = steps_per_epoch * tc.epochs if tc.max_steps is None else min(tc.max_steps, steps_per_epoch * tc.epochs)
    device = resolve_device(tc.device)
    ctx = DistContext.from_env(device)
    if device == "cuda":
        device = f"cuda:{ctx.local_rank}"
    seed_everything(seed, tc.threads)
    model = TransformerLM(cfg.model.arch_for(role), tokens_meta["vocab_size"], cfg.model.for_role(role)).to(device)
    optimizer = make_optimizer(model, tc.optimizer, device)
    scheduler = make_scheduler(optimizer, tc, total_steps)
    key = run_key(cfg, role, seed, tokens_meta)
    resumed = _resume(paths, model, optimizer, scheduler, key, f"{role} seed {seed}")
    if resumed is not None and ctx.is_main:
        restore_curves(paths.live_dir, resumed.curves, resumed.step)
    live = open_live(paths.live_dir, resume=resumed is not None) if ctx.is_main else None
    model.train()
    forward = DistributedDataParallel(model) if ctx.enabled else model
    forward = torch.compile(forward) if tc.compile else forward
    return _Run(role=role, seed=seed, recipe=tc, model=model, forward=forward, optimizer=optimizer, scheduler=scheduler,
                train=train, val=val, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                start_step=resumed.step if resumed else 0, key=key, paths=paths, device=device, ctx=ctx, live=live)


def _resume(paths: RunPaths, model: TransformerLM, optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler, key: str, name: str) -> ResumePoint | None:
    """The run's resume point, if its resume file is this run's; a file that cannot be read or does
    not fit the model is set aside with a one-line warning and the run starts over."""
    try:
        return load_resume_state(paths.resume, model, optimizer, scheduler, key)
    except CorruptCheckpointError as exc:
        aside = set_aside(paths.resume)
        print(f"warning: {exc}; set it aside as {aside} and starting {name} from step 0", file=sys.stderr)
        return None


def _check_finite(run: _Run, losses: torch.Tensor, done: int) -> None:
    finite = torch.isfinite(losses)
    if not bool(finite.all()):
        bad = done - len(losses) + int((~finite).nonzero()[0]) + 1
        raise NonFiniteLossError(
            f"{run.role} seed {run.seed}: the training loss is {losses[~finite][0].item()} at step {bad}. "
            f"Lower train.optimizer.lr, check model.init_std / model.baseline.init_std, or train.grad_clip.")


def _log_epoch_eval(run: _Run, cfg: Config, done: int) -> None:
    """Train and validation loss (true NLL, eval mode) at the end of an epoch, the overfitting curve, and
    the zero percentage of the ternary codes, over all block layers and over the middle band
    (``sparsity.middle_band``) and the boundary layers."""
    count = max(run.recipe.epoch_eval_tokens // cfg.model.arch.seq_len, 1)
    for split, sequences in (("train", run.train), ("val", run.val)):
        ids = evenly_spaced(len(sequences), count)
        result = evaluate_lm(run.model, sequences, ids, run.recipe.batch_size, run.recipe.label_smoothing, run.device)
        run.live.log_metric(f"eval/{split}_loss", result["loss"])
    run.live.log_metric(f"eval/{ZERO_CURVE_METRIC['all']}", zero_pct(run.model))
    depth = depth_summary(layer_statistics(run.model), tuple(cfg.sparsity.middle_band))
    for part in ("middle", "boundary"):  # whether the depth profile is still moving when training stops
        run.live.log_metric(f"eval/{ZERO_CURVE_METRIC[part]}", depth[f"zero_pct_{part}"])


def zero_pct(model: TransformerLM) -> float:
    """Percentage of zero ternary codes over every block linear (the codes an FP32 model's weights would
    get): logged per epoch, so a reader sees whether sparsity is still moving when training stops."""
    layers = model.quant_layers().values()
    with torch.no_grad():
        zeros = sum(int((layer.codes() == 0).sum()) for layer in layers)
    return 100.0 * zeros / sum(layer.weight.numel() for layer in layers)


def _loop(run: _Run, cfg: Config, on_step: Callable[[int], None] | None) -> float:
    """Optimizer steps from ``run.start_step`` to the end; returns the last logged training loss."""
    tc, seq_len = run.recipe, cfg.model.arch.seq_len
    autocast = torch.autocast(device_type=run.device.split(":")[0], dtype=torch.bfloat16,
                              enabled=tc.precision == "bf16")
    started = time.perf_counter()
    pending: list[torch.Tensor] = []  # losses since the last log; read back once per log interval
    last_loss = float("nan")
    progress = tqdm(range(run.start_step, run.total_steps), desc=f"train {run.role} seed {run.seed}", unit="step",
                    initial=run.start_step, total=run.total_steps, disable=not run.ctx.is_main)
    order, order_epoch = None, -1
    for step in progress:
        epoch, index = divmod(step, run.steps_per_epoch)
        if epoch != order_epoch:  # the data order is a pure function of (seed, epoch): resuming needs no state
            order, order_epoch = epoch_order(len(run.train), run.seed, epoch), epoch
        batch_ids = run.ctx.shard(order[index * tc.batch_size:(index + 1) * tc.batch_size])
        inputs, targets = run.train.batch(batch_ids, run.device)
        pending.append(training_step(run.forward, run.model, run.optimizer, run.scheduler, inputs, targets, tc,
                                     autocast))
        done = step + 1
        if done % tc.log_every == 0 or done == run.total_steps:
            losses = run.ctx.mean(torch.stack(pending).float()).cpu()
            _check_finite(run, losses, done)
            last_loss = float(losses.mean())
            pending.clear()
            if run.live is not None:
                run.live.step = done
                run.live.log_metric("train/loss", last_loss)
                run.live.log_metric("train/lr", run.scheduler.get_last_lr()[0])
            elapsed = time.perf_counter() - started
            progress.set_postfix(loss=f"{last_loss:.3f}", tok_s=f"{(done - run.start_step) * tc.batch_size * seq_len / max(elapsed, 1e-9):,.0f}")
        if run.live is not None and (done % run.steps_per_epoch == 0 or done == run.total_steps):
            run.live.step = done
            _log_epoch_eval(run, cfg, done)
        if run.live is not None and done % tc.log_every == 0:
            run.live.make_summary()
        if done % tc.checkpoint_every == 0 and done < run.total_steps and run.ctx.is_main:
            save_resume_state(run.paths.resume, run.model, run.optimizer, run.scheduler, done, run.key,
                              read_curves(run.paths.live_dir))
        if on_step is not None:
            on_step(done)
    progress.close()
    return last_loss


def train_language_model(cfg: Config, role: str, seed: int, tokens_dir: Path, paths: RunPaths,
                         on_step: Callable[[int], None] | None = None) -> dict:
    """Train one model; write its checkpoint, metrics and loss curves; return the metrics.

    ``on_step(step)`` is called after every optimizer step (tests use it to interrupt a run).
    """
    run = _setup(cfg, role, seed, tokens_dir, paths)
    started = time.perf_counter()
    last_loss = _loop(run, cfg, on_step)
    train_seconds = time.perf_counter() - started
    run.ctx.barrier()
    if not run.ctx.is_main:  # rank 0 evaluates and writes; the others are done
        run.ctx.close()
        return {}
    return _finish(run, cfg, paths, last_loss, train_seconds)


def _finish(run: _Run, cfg: Config, paths: RunPaths, last_loss: float, train_seconds: float) -> dict:
    tc, seq_len = run.recipe, cfg.model.arch.seq_len
    metrics = _final_metrics(run.model, run.train, run.val, tc, seq_len, run.device)
    initial = initial_model({"seed": run.seed, "arch": run.model.arch.model_dump(), "vocab_size": run.model.vocab_size,
                             "role": run.model.role.model_dump()})
    metrics.update({"zero_pct": zero_pct(run.model), "code_change_fraction": code_change_fraction(run.model.cpu(), initial)})
    run.model.to(run.device)
    metrics.update({"role": run.role, "seed": run.seed, "quant": run.model.role.quant, "steps": run.total_steps,
                    "epochs": tc.epochs, "tokens_seen": run.total_steps * tc.batch_size * seq_len,
                    "params": count_parameters(run.model), "last_logged_train_loss_smoothed": last_loss})
    for name in ("val_loss", "val_ppl", "train_ppl", "train_val_ratio"):
        run.live.summary[f"eval/{name}"] = metrics[name]
    run.live.make_summary()
    run.live.end()
    save_model(paths.model, run.model, {"role_name": run.role, "seed": run.seed})
    with atomic_path(paths.layers) as tmp:  # full precision: the sparsity stage reads it back exactly
        layer_statistics(run.model).to_csv(tmp, index=False)
    write_json(paths.metrics, metrics)
    write_json(paths.timing, {RUN_SECONDS_KEY: train_seconds, "device": device_name(run.device),
                              "precision": tc.precision, "compiled": tc.compile,
                              "tokens_per_second": (run.total_steps - run.start_step) * tc.batch_size * seq_len
                              / train_seconds if train_seconds > 0 else None, "resumed_from_step": run.start_step})
    paths.resume.unlink(missing_ok=True)  # finished: nothing left to resume
    run.ctx.close()
    return metrics


def epoch_order(windows: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of training windows for one epoch, from (seed, epoch) alone."""
    return torch.randperm(windows, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).numpy()


def _final_metrics(model: TransformerLM, train: Sequences, val: Sequences, tc: TrainConfig, seq_len: int,
                   device: str) -> dict:
    """Train and validation perplexity measured the same way on equal sequence counts."""
    count = min(max(tc.eval_tokens // seq_len, 1), len(val), len(train))
    if count == 0:
        raise InputError("validation set shorter than one sequence: lower model.arch.seq_len or add data")
    val_result = evaluate_lm(model, val, np.arange(count), tc.batch_size, tc.label_smoothing, device)
    train_result = evaluate_lm(model, train, evenly_spaced(len(train), count), tc.batch_size, tc.label_smoothing,
                               device)
    metrics = {
        "val_loss": val_result["loss"], "val_ppl": val_result["ppl"], "val_ppl_smoothed": val_result["ppl_smoothed"],
        "train_loss": train_result["loss"], "train_ppl": train_result["ppl"],
        "train_ppl_smoothed": train_result["ppl_smoothed"],
        # The paper's generalization figure: validation over training perplexity (1.0 = no gap).
        "train_val_ratio": val_result["ppl"] / train_result["ppl"],
        "train_val_loss_ratio": val_result["loss"] / train_result["loss"], "eval_tokens": val_result["tokens"],
    }
    if model.role.attention != "causal":  # the leak probe: the same windows with the causal mask imposed
        with causal_mask_imposed(model):
            probe = evaluate_lm(model, val, np.arange(count), tc.batch_size, tc.label_smoothing, device)
        metrics |= {"val_loss_causal_probe": probe["loss"], "leak_nats": probe["loss"] - val_result["loss"]}
    return metrics
