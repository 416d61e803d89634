"""Dropout with a cheaper random mask on the CPU, and attention that uses it.

Profiling a training step of the CPU study's model (12 layers x 64, batch 32 x 128) showed torch's
CPU ``bernoulli_`` at 26% of the step: it draws one random number per element, mostly serially (it
barely speeds up from 1 to 2 threads), and attention dropout alone masks 2.1M probabilities per
layer. Here one 64-bit draw gives four 16-bit uniforms, so a mask costs a quarter of the draws
(measured: 2.2 vs 9.3 ms for 2.1M elements). The semantics are torch's: each element is kept with
probability 1 - p and survivors are scaled by 1 / (1 - p); the keep probability is rounded to a
multiple of 1/65536 (p = 0.05 becomes 0.0499969, 3e-6 away). The stream comes from torch's default
generator, so ``torch.manual_seed`` makes it repeat.

On CUDA, and under :func:`reference`, torch's own dropout runs (on the GPU its fused SDPA kernels
apply attention dropout far faster than any explicit mask). ``python -m pipeline.training.throughput
--compare-dropout`` measures both in one run.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

KEEP_LEVELS = 1 << 16  # a 16-bit uniform decides each element
_WORDS_PER_DRAW = 4  # 16-bit uniforms per 64-bit draw
_use_reference = False


@contextlib.contextmanager
def reference() -> Iterator[None]:
    """Within the block, dropout and attention use torch's own implementations (for comparisons)."""
    global _use_reference
    previous, _use_reference = _use_reference, True
    try:
        yield
    finally:
        _use_reference = previous


def _ours(x: torch.Tensor) -> bool:
    return not _use_reference and x.device.type == "cpu"


def keep_probability(p: float) -> float:
    """The keep probability our mask realises for dropout probability p."""
    return round((1.0 - p) * KEEP_LEVELS) / KEEP_LEVELS


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Boolean mask of ``shape``, each element True with probability ``keep_probability(p)``."""
    count = math.prod(shape)
    draws = torch.empty(-(-count // _WORDS_PER_DRAW), dtype=torch.int64, device=device)
    uniforms = draws.random_(-(1 << 63), None).view(torch.int16)[:count]  # full 64-bit range: 4 fair words
    threshold = round((1.0 - p) * KEEP_LEVELS) - KEEP_LEVELS // 2  # int16 values run from -32768
    return (uniforms < threshold).view(shape)


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout of x: zero with probability p, survivors scaled by 1 / (1 - p)."""
    if not training or p == 0.0:
        return x
    if not _ours(x):
        return F.dropout(x, p, training=True)
    scale = 1.0 / keep_probability(p)
    return x * keep_mask(x.shape, p, x.device).to(x.dtype).mul_(scale)


class Dropout(nn.Module):
    """``nn.Dropout`` with :func:`dropout`'s mask."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, dropout_p: float) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) [+ causal mask]) with dropout on the probabilities, times v.

    Without dropout (evaluation, decoding) this is ``F.scaled_dot_product_attention``. With dropout
    on the CPU, torch's SDPA takes its unfused math path anyway; this is that path written out, so
    the probabilities get :func:`dropout`'s mask. ``causal`` masks key positions after the query's
    (queries and keys aligned at the start: no cache).
    """
    if dropout_p == 0.0 or not _ours(q):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=dropout_p)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        future = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    return dropout(scores.softmax(dim=-1), dropout_p, training=True) @ v
