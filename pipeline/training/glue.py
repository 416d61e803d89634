"""GLUE fine-tuning of a language model with a classification head: from its pre-trained checkpoint,
or from the same architecture's initial weights (the no-pretraining control).

The classifier reads the final hidden state of the last real (non-padding) token, the one position
that has seen the whole input under causal attention, and applies a linear layer. Padding is on the
right, so no real token ever attends to a pad, and each batch is padded only to its longest example.
All weights are fine-tuned; the studied model's block layers stay ternary (straight-through), so the
fine-tuned model is still a ternary model.

The schedule is linear warm-up over the first tenth of an epoch, then constant: a fine-tune stopped
after k epochs is then exactly the first k epochs of a longer one, so the learning-rate sweep
(:func:`sweep_task`) scores every epoch count of each rate from one run. The sweep holds out a seeded
random slice of the *training* rows and never sees the dev set, on which we report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from pipeline.config import GlueConfig
from pipeline.data.prepared import Example, read_glue_split
from pipeline.data.tokenizer import PAD, load_tokenizer
from pipeline.metrics import HEADLINE_METRIC, dev_scores
from pipeline.model.transformer import TransformerLM
from pipeline.training.optim import optimizer_step, seed_everything

WARMUP_EPOCH_FRACTION = 0.1  # linear warm-up over the first tenth of an epoch, then constant
BackboneFactory = Callable[[], TransformerLM]  # a fresh backbone for each fine-tune


class SequenceClassifier(nn.Module):
    def __init__(self, backbone: TransformerLM, n_classes: int = 2) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = nn.Linear(backbone.arch.dim, n_classes)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.backbone.hidden_states(ids)
        last = (mask.sum(dim=1) - 1).clamp_min(0)
        return self.classifier(hidden[torch.arange(len(ids), device=ids.device), last])


@dataclass(frozen=True)
class Encoded:
    """One split of a task, tokenized (``[CLS] a [SEP] b [SEP]``) and truncated to ``max_len``, unpadded:
    each example's ids, the labels, and how long the examples were before truncation."""

    ids: list[list[int]]
    labels: torch.Tensor
    full_lengths: np.ndarray
    pad_id: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> "Encoded":
        return Encoded([self.ids[row] for row in rows], self.labels[torch.as_tensor(rows, dtype=torch.long)],
                       self.full_lengths[rows], self.pad_id)

    def batch(self, rows: torch.Tensor | np.ndarray, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Ids and mask of ``rows``, right-padded to the longest of them, and their labels."""
        rows = [int(row) for row in rows]
        longest = max(len(self.ids[row]) for row in rows)
        ids = torch.full((len(rows), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, :len(self.ids[row])] = torch.tensor(self.ids[row])
            mask[i, :len(self.ids[row])] = 1
        return ids.to(device), mask.to(device), self.labels[rows].to(device)

    def length_stats(self, max_len: int) -> dict[str, float]:
        """The token-length distribution before truncation and the share of examples cut to ``max_len``."""
        lengths = self.full_lengths
        return {"tokens_p50": float(np.percentile(lengths, 50)), "tokens_p95": float(np.percentile(lengths, 95)),
                "tokens_max": int(lengths.max()), "max_len": max_len,
                "truncated_fraction": float((lengths > max_len).mean())}


def encode_examples(tokenizer, examples: list[Example], max_len: int) -> Encoded:
    """Tokenize ``examples`` (pairs as ``[CLS] a [SEP] b [SEP]``) and cut each to ``max_len`` tokens."""
    pairs = [(e.sentence1, e.sentence2) if e.sentence2 is not None else e.sentence1 for e in examples]
    full = tokenizer.encode_batch(pairs)
    tokenizer.enable_truncation(max_len)
    cut = tokenizer.encode_batch(pairs)
    tokenizer.no_truncation()
    return Encoded([enc.ids for enc in cut], torch.tensor([e.label for e in examples], dtype=torch.long),
                   np.array([len(enc.ids) for enc in full]), pad_id=tokenizer.token_to_id(PAD))


@torch.no_grad()
def predict(model: SequenceClassifier, data: Encoded, batch_size: int, device: str) -> list[int]:
    model.eval()
    predictions: list[int] = []
    for start in range(0, len(data), batch_size):
        ids, mask, _ = data.batch(np.arange(start, min(start + batch_size, len(data))), device)
        predictions += model(ids, mask).argmax(dim=-1).tolist()
    model.train()
    return predictions


def fine_tune(backbone: TransformerLM, train: Encoded, task: str, cfg: GlueConfig, lr: float, epochs: int, seed: int,
              device: str, after_epoch: Callable[[SequenceClassifier, int], None] | None = None) -> SequenceClassifier:
    """Fine-tune ``backbone`` with a fresh head on ``train`` for ``epochs`` at ``lr`` (linear warm-up over
    the first tenth of an epoch, then constant); ``after_epoch(model, epoch)`` is called at each epoch end."""
    torch.manual_seed(seed)
    model = SequenceClassifier(backbone).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(len(train) // cfg.batch_size, 1)
    warmup = max(int(WARMUP_EPOCH_FRACTION * steps_per_epoch), 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train), generator=generator)
        for start in tqdm(range(0, steps_per_epoch * cfg.batch_size, cfg.batch_size), leave=False,
                          desc=f"glue {task} epoch {epoch}/{epochs}", unit="step"):
            ids, mask, labels = train.batch(order[start:start + cfg.batch_size], device)
            optimizer_step(model, optimizer, scheduler, F.cross_entropy(model(ids, mask), labels), cfg.grad_clip)
        if after_epoch is not None:
            after_epoch(model, epoch)
    return model


def _train_split(data_dir: Path, task: str, cfg: GlueConfig) -> list[Example]:
    """The task's training rows the fine-tunes use: the first ``glue.max_train_examples[task]`` of them."""
    return read_glue_split(data_dir, task, "train")[:cfg.max_train_examples.get(task)]


def finetune_task(backbone: BackboneFactory, tokenizer_path: Path, data_dir: Path, task: str, cfg: GlueConfig,
                  lr: float, epochs: int, seed: int, threads: int, device: str = "cpu") -> dict[str, float]:
    """Fine-tune a fresh backbone on one task; return its dev metrics, the constant predictor's, the
    sizes and the token lengths."""
    seed_everything(seed, threads)
    tokenizer, max_len = load_tokenizer(tokenizer_path), cfg.task_max_len(task)
    train = encode_examples(tokenizer, _train_split(data_dir, task, cfg), max_len)
    dev = encode_examples(tokenizer, read_glue_split(data_dir, task, "dev"), max_len)
    started = time.perf_counter()
    model = fine_tune(backbone(), train, task, cfg, lr, epochs, seed, device)
    metrics = dev_scores(task, dev.labels.tolist(), predict(model, dev, cfg.batch_size * 2, device))
    return metrics | {"train_examples": len(train), "lr": lr, "epochs": epochs,
                      "fit_seconds": time.perf_counter() - started,
                      **{f"train_{key}": value for key, value in train.length_stats(max_len).items()}}


def finetune_all(backbone: BackboneFactory, tokenizer_path: Path, data_dir: Path, cfg: GlueConfig,
                 choices: dict[str, dict], seed: int, threads: int, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Every task in ``cfg.tasks``, each from a fresh backbone, at the sweep's choice of rate and epochs
    (``choices``: the ``glue_sweep`` stage's output)."""
    return {task: finetune_task(backbone, tokenizer_path, data_dir, task, cfg, choices[task]["lr"],
                                choices[task]["epochs"], seed, threads, device)
            for task in cfg.tasks}


def holdout_rows(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows) of ``n`` training rows: a seeded random ``fraction`` held out."""
    order = np.random.default_rng(seed).permutation(n)
    held = max(int(round(fraction * n)), 1)
    return np.sort(order[held:]), np.sort(order[:held])


def sweep_task(backbone: BackboneFactory, tokenizer_path: Path, data_dir: Path, task: str, cfg: GlueConfig,
               seed: int, threads: int, device: str = "cpu") -> dict:
    """Each rate of ``cfg.sweep.lrs`` fine-tuned on the training rows less a held-out slice, scored on
    that slice (the task's headline metric) after every epoch up to the task's ``cfg.epochs``; the best
    (rate, epochs), ties to the fewer epochs and then the smaller rate."""
    seed_everything(seed, threads)
    tokenizer, max_len = load_tokenizer(tokenizer_path), cfg.task_max_len(task)
    rows = encode_examples(tokenizer, _train_split(data_dir, task, cfg), max_len)
    fit_rows, held_rows = holdout_rows(len(rows), cfg.sweep.holdout_fraction, seed)
    fit, held = rows.subset(fit_rows), rows.subset(held_rows)
    scores: dict[str, list[float]] = {}
    started = time.perf_counter()
    for lr in sorted(cfg.sweep.lrs):
        curve = scores.setdefault(repr(lr), [])
        fine_tune(backbone(), fit, task, cfg, lr, cfg.task_epochs(task), seed, device, after_epoch=lambda model, epoch: curve.append(
            dev_scores(task, held.labels.tolist(), predict(model, held, cfg.batch_size * 2, device))["headline"]))
    best = max(((score, -epoch, -lr) for lr in sorted(cfg.sweep.lrs) for epoch, score in
                enumerate(scores[repr(lr)], start=1)))
    return {"lr": -best[2], "epochs": -best[1], "holdout_headline": best[0], "swept": True, "scores": scores,
            "fit_examples": len(fit), "holdout_examples": len(held), "metric": HEADLINE_METRIC[task],
            "seconds": time.perf_counter() - started}


def unswept(cfg: GlueConfig) -> dict[str, dict]:
    """The choices where no sweep runs (``glue.sweep.lrs: []``): ``glue.lr`` and ``glue.epochs`` for every task."""
    return {task: {"lr": cfg.lr, "epochs": cfg.task_epochs(task), "swept": False} for task in cfg.tasks}
