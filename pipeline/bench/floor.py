"""The physical floor of batch-1 decoding: every weight is read once per generated token, so no format
can decode a token faster than the bytes it reads per token over the bandwidth at which this CPU
streams them (issue 25). The bandwidth is measured at the working-set size, with the benchmark's
threads, because a last-level cache larger than the weights makes a DRAM figure the wrong floor.

Not yet wired into the benchmark stage: the stage re-runs, on an idle machine, once it is.
"""

from __future__ import annotations

import statistics

import torch
from torch import nn
from torch.utils import benchmark as torch_benchmark

from pipeline.model.transformer import state_bytes

READ_DTYPE = torch.int64  # summed as 8-byte integers: vectorised, exact, and one pass over the bytes


def bytes_read_per_token(model: nn.Module) -> int:
    """Bytes a batch-1 decode step reads: every resident tensor once, except the token embedding, of
    which it reads one row (the output head, a full matrix, is read whole)."""
    embed = getattr(model, "embed", None)
    weight = getattr(embed, "weight", None)
    if weight is None:  # an embedding kept in another dtype wraps the module
        weight = getattr(getattr(embed, "inner", None), "weight", None)
    if weight is None:
        return state_bytes(model)
    table = weight.numel() * weight.element_size()
    return state_bytes(model) - table + table // weight.shape[0]


def read_bandwidth(nbytes: int, threads: int, repeats: int = 5) -> dict[str, float]:
    """GB/s (10^9 bytes) of summing a ``nbytes`` buffer with ``threads`` threads: the median of
    ``repeats`` timed passes after one warm-up pass (which leaves the buffer wherever the cache holds
    it, as the decode loop leaves its weights), with the slowest and fastest beside it."""
    buffer = torch.ones(max(nbytes // READ_DTYPE.itemsize, 1), dtype=READ_DTYPE)
    timer = torch_benchmark.Timer("buffer.sum()", globals={"buffer": buffer}, num_threads=threads)
    timer.timeit(1)
    seconds = [timer.timeit(1).median for _ in range(repeats)]
    size = buffer.numel() * buffer.element_size()
    return {"gb_per_s": size / statistics.median(seconds) / 1e9, "gb_per_s_min": size / max(seconds) / 1e9,
            "gb_per_s_max": size / min(seconds) / 1e9, "bytes": size, "threads": threads}


def floor_ms(bytes_per_token: int, gb_per_s: float) -> float:
    """Milliseconds per token at the floor: the bytes read per token over the measured bandwidth."""
    return bytes_per_token / (gb_per_s * 1e9) * 1e3
