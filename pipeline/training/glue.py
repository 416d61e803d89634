"""GLUE fine-tuning of a pre-trained language model with a classification head.

The classifier reads the final hidden state of the last real (non-padding) token, the one position
that has seen the whole input under causal attention, and applies a linear layer. Padding is on
the right, so no real token ever attends to a pad. All weights are fine-tuned; the studied model's block layers stay ternary (straight-through),
so the fine-tuned model is still a ternary model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from pipeline.model.checkpoint import load_model
from pipeline.config import GlueConfig
from pipeline.data.prepared import Example, read_glue_split
from pipeline.metrics import HEADLINE_METRIC, classification_metrics, trivial_baselines
from pipeline.model.transformer import TransformerLM
from pipeline.training.optim import optimizer_step, seed_everything
from pipeline.data.tokenizer import PAD, load_tokenizer


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


def encode_examples(tokenizer, examples: list[Example], max_len: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids (``[CLS] a [SEP] b [SEP]``, truncated to ``max_len``, right-padded), mask, labels."""
    tokenizer.enable_truncation(max_len)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PAD), pad_token=PAD)
    pairs = [(e.sentence1, e.sentence2) if e.sentence2 is not None else e.sentence1 for e in examples]
    encodings = tokenizer.encode_batch(pairs)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    ids = torch.tensor([enc.ids for enc in encodings], dtype=torch.long)
    mask = torch.tensor([enc.attention_mask for enc in encodings], dtype=torch.long)
    return ids, mask, torch.tensor([e.label for e in examples], dtype=torch.long)


@torch.no_grad()
def predict(model: SequenceClassifier, ids: torch.Tensor, mask: torch.Tensor, batch_size: int) -> list[int]:
    model.eval()
    predictions: list[int] = []
    for start in range(0, len(ids), batch_size):
        logits = model(ids[start:start + batch_size], mask[start:start + batch_size])
        predictions += logits.argmax(dim=-1).tolist()
    return predictions


def finetune_task(model_path: Path, tokenizer_path: Path, data_dir: Path, task: str, cfg: GlueConfig,
                  seed: int, threads: int, device: str = "cpu") -> dict[str, float]:
    """Fine-tune a fresh copy of the checkpoint on one task; return dev metrics and sizes."""
    seed_everything(seed, threads)
    backbone, _ = load_model(model_path, device)
    model = SequenceClassifier(backbone).to(device).train()
    tokenizer = load_tokenizer(tokenizer_path)
    train_ids, train_mask, train_labels = (t.to(device) for t in encode_examples(
        tokenizer, read_glue_split(data_dir, task, "train"), cfg.max_len))
    dev_examples = read_glue_split(data_dir, task, "dev")
    dev_ids, dev_mask, dev_labels = (t.to(device) for t in encode_examples(tokenizer, dev_examples, cfg.max_len))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(len(train_ids) // cfg.batch_size, 1)
    # Linear decay to zero over the fine-tuning run, the usual GLUE recipe.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, 1.0 - step / (steps_per_epoch * cfg.epochs)))
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(train_ids), generator=generator).to(device)
        for start in tqdm(range(0, steps_per_epoch * cfg.batch_size, cfg.batch_size), leave=False,
                          desc=f"glue {task} epoch {epoch + 1}/{cfg.epochs}", unit="step"):
            batch = order[start:start + cfg.batch_size]
            loss = F.cross_entropy(model(train_ids[batch], train_mask[batch]), train_labels[batch])
            optimizer_step(model, optimizer, scheduler, loss, cfg.grad_clip)
    predictions = predict(model, dev_ids, dev_mask, cfg.batch_size * 2)
    metrics = classification_metrics(dev_labels.tolist(), predictions)
    labels = dev_labels.tolist()
    metrics.update({"headline": metrics[HEADLINE_METRIC[task]], "train_examples": len(train_ids),
                    "dev_examples": len(dev_examples), "dev_positive_fraction": sum(labels) / max(len(labels), 1),
                    **{f"trivial_{metric}": value for metric, value in trivial_baselines(labels).items()},
                    "dev_majority_accuracy": max(sum(labels), len(labels) - sum(labels)) / max(len(labels), 1)})
    return metrics


def finetune_all(model_path: Path, tokenizer_path: Path, data_dir: Path, cfg: GlueConfig, seed: int,
                 threads: int, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Every task in ``cfg.tasks``, each from the same pre-trained checkpoint."""
    return {task: finetune_task(model_path, tokenizer_path, data_dir, task, cfg, seed, threads, device)
            for task in cfg.tasks}
