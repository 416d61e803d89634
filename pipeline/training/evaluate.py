"""Training sequences and language-model evaluation: perplexity as defined in the report.

Perplexity = exp(mean negative log-likelihood per predicted token), in eval mode (no dropout) and
without label smoothing. The released notebook reported exp(label-smoothed loss) as "perplexity";
that figure is recorded too (``*_ppl_smoothed``) so the gap is visible.

Two ways to cut a token stream into sequences (``train.sequences``), each a :class:`Sequences`:
:class:`StreamWindows` cuts non-overlapping windows from the stream of stories joined by ``[SEP]``;
:class:`StorySequences` takes one sequence per story (its first ``seq_len + 1`` tokens, right-padded),
as the notebook did. Padding targets are :data:`IGNORE` and never count in a loss or a perplexity.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch
from torch.nn import functional as F

from pipeline.errors import InputError
from pipeline.model.transformer import TransformerLM

IGNORE = -100  # target id that F.cross_entropy skips (padding)


def n_windows(n_tokens: int, seq_len: int) -> int:
    """Non-overlapping windows of ``seq_len`` inputs (+1 shifted target) in a stream."""
    return max((n_tokens - 1) // seq_len, 0)


def _to_device(batch: torch.Tensor, device: str) -> torch.Tensor:
    return batch if device == "cpu" else batch.pin_memory().to(device, non_blocking=True)


class Sequences(Protocol):
    """A numbered set of training sequences: ``len()`` of them, ``batch(ids)`` gives inputs and targets."""

    def __len__(self) -> int: ...

    def batch(self, ids: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]: ...


class StreamWindows:
    """Windows of ``seq_len`` inputs cut from one token stream; targets are the inputs shifted by one."""

    def __init__(self, tokens: np.ndarray, seq_len: int) -> None:
        self.tokens, self.seq_len = tokens, seq_len

    def __len__(self) -> int:
        return n_windows(len(self.tokens), self.seq_len)

    def batch(self, ids: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        starts = np.asarray(ids, dtype=np.int64) * self.seq_len
        rows = np.stack([np.asarray(self.tokens[s:s + self.seq_len + 1], dtype=np.int64) for s in starts])
        batch = _to_device(torch.from_numpy(rows), device)
        return batch[:, :-1], batch[:, 1:]


class StorySequences:
    """One sequence per story: its first ``seq_len + 1`` tokens (the story's ``[SEP]`` included when
    it fits), right-padded with ``pad_id``; padded targets are :data:`IGNORE`.

    ``starts`` holds each story's first token offset in the stream and, last, the stream length.
    """

    def __init__(self, tokens: np.ndarray, starts: np.ndarray, seq_len: int, pad_id: int) -> None:
        self.tokens, self.starts, self.seq_len, self.pad_id = tokens, np.asarray(starts, dtype=np.int64), seq_len, pad_id

    def __len__(self) -> int:
        return len(self.starts) - 1

    def batch(self, ids: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        width = self.seq_len + 1
        rows = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        lengths = np.zeros(len(ids), dtype=np.int64)
        for row, story in enumerate(np.asarray(ids, dtype=np.int64)):
            begin = self.starts[story]
            piece = np.asarray(self.tokens[begin:min(begin + width, self.starts[story + 1])], dtype=np.int64)
            rows[row, :len(piece)], lengths[row] = piece, len(piece)
        batch = torch.from_numpy(rows)
        targets = batch[:, 1:].clone()
        targets[torch.arange(self.seq_len)[None, :] >= torch.from_numpy(lengths - 1)[:, None]] = IGNORE
        return _to_device(batch[:, :-1].contiguous(), device), _to_device(targets, device)


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """``count`` sequence ids spread evenly over ``total`` (all of them if count >= total)."""
    if count >= total:
        return np.arange(total)
    return np.linspace(0, total - 1, count).round().astype(np.int64)


@torch.no_grad()
def evaluate_lm(model: TransformerLM, sequences: Sequences, ids: np.ndarray, batch_size: int,
                label_smoothing: float, device: str = "cpu") -> dict[str, float]:
    """Mean NLL (nats per predicted token), perplexity, and the notebook's label-smoothed figure on the
    sequences ``ids``; padding targets are excluded from every sum and from the token count."""
    was_training = model.training
    model.eval()
    nll_sum = smoothed_sum = 0.0
    count = 0
    for start in range(0, len(ids), batch_size):
        inputs, targets = sequences.batch(ids[start:start + batch_size], device)
        logits = model(inputs).float().flatten(0, 1)
        flat_targets = targets.flatten()
        nll_sum += F.cross_entropy(logits, flat_targets, reduction="sum", ignore_index=IGNORE).item()
        smoothed_sum += F.cross_entropy(logits, flat_targets, reduction="sum", ignore_index=IGNORE,
                                        label_smoothing=label_smoothing).item()
        count += int((flat_targets != IGNORE).sum())
    model.train(was_training)
    if count == 0:
        raise InputError("no evaluation tokens: the token stream is shorter than one sequence "
                         "(lower model.arch.seq_len or add data)")
    nll, smoothed = nll_sum / count, smoothed_sum / count
    return {"loss": nll, "ppl": math.exp(nll), "loss_smoothed": smoothed, "ppl_smoothed": math.exp(smoothed),
            "tokens": count}
