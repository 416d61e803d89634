"""Language-model evaluation: perplexity as defined in the report.

Perplexity = exp(mean negative log-likelihood per predicted token), in eval mode (no dropout) and
without label smoothing. The released notebook reported exp(label-smoothed training loss) as
"perplexity"; that figure is recorded too (``*_ppl_smoothed``) so the gap is visible.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from pipeline.model import TransformerLM


def n_windows(n_tokens: int, seq_len: int) -> int:
    """Non-overlapping windows of ``seq_len`` inputs (+1 shifted target) in a stream."""
    return max((n_tokens - 1) // seq_len, 0)


def window_batch(tokens: np.ndarray, window_ids: np.ndarray, seq_len: int, device: str = "cpu"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets, each (len(window_ids), seq_len), for the given windows."""
    starts = np.asarray(window_ids, dtype=np.int64) * seq_len
    rows = np.stack([np.asarray(tokens[s:s + seq_len + 1], dtype=np.int64) for s in starts])
    batch = torch.from_numpy(rows)
    if device != "cpu":
        batch = batch.pin_memory().to(device, non_blocking=True)
    return batch[:, :-1], batch[:, 1:]


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """``count`` window ids spread evenly over ``total`` (all of them if count >= total)."""
    if count >= total:
        return np.arange(total)
    return np.linspace(0, total - 1, count).round().astype(np.int64)


@torch.no_grad()
def evaluate_lm(model: TransformerLM, tokens: np.ndarray, window_ids: np.ndarray, seq_len: int,
                batch_size: int, label_smoothing: float, device: str = "cpu") -> dict[str, float]:
    """Mean NLL (nats/token), perplexity, and the notebook's label-smoothed figure on ``window_ids``."""
    was_training = model.training
    model.eval()
    nll_sum = smoothed_sum = 0.0
    count = 0
    for start in range(0, len(window_ids), batch_size):
        inputs, targets = window_batch(tokens, window_ids[start:start + batch_size], seq_len, device)
        logits = model(inputs).float().flatten(0, 1)
        flat_targets = targets.flatten()
        nll_sum += F.cross_entropy(logits, flat_targets, reduction="sum").item()
        smoothed_sum += F.cross_entropy(logits, flat_targets, reduction="sum",
                                        label_smoothing=label_smoothing).item()
        count += flat_targets.numel()
    model.train(was_training)
    if count == 0:
        raise ValueError("no evaluation windows: the token stream is shorter than one sequence "
                         "(lower model.arch.seq_len or add data)")
    nll, smoothed = nll_sum / count, smoothed_sum / count
    return {"loss": nll, "ppl": math.exp(nll), "loss_smoothed": smoothed, "ppl_smoothed": math.exp(smoothed),
            "tokens": count}
