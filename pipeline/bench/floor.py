"""The physical floor of batch-1 decoding: every weight is read once per generated token, so no format
can decode a token faster than the bytes it reads per token over the bandwidth at which this CPU
streams them (issue 25). The bandwidth is measured at the working-set size, with the benchmark's
threads, because a last-level cache larger than the weights makes a DRAM figure the wrong floor.

The benchmark stage adds, to every CPU format it times, the bytes that format reads per token, the
bandwidth measured once per distinct size in the same run (:class:`ReadBandwidths`), the floor and
the measured time over it (:func:`add_floor`). Only the weights count: the KV cache and the
activations a step also touches make the true floor a little higher, never lower.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils import benchmark as torch_benchmark

from pipeline.bench.table import BenchTable
from pipeline.model.transformer import state_bytes

READ_DTYPE = torch.int64  # summed as 8-byte integers: vectorised, exact, and one pass over the bytes


def _table_bytes(module: nn.Module | None) -> tuple[int, int]:
    """(bytes of an embedding table, bytes of one of its rows); (0, 0) without one. An embedding kept
    in another dtype wraps the module (``inner``)."""
    weight = getattr(module, "weight", None)
    if weight is None:
        weight = getattr(getattr(module, "inner", None), "weight", None)
    if weight is None:
        return 0, 0
    table = weight.numel() * weight.element_size()
    return table, table // weight.shape[0]


def bytes_read_per_token(model: nn.Module) -> int:
    """Bytes a batch-1 decode step reads: every resident tensor once, except the embedding tables
    (tokens, and learned positions where the model has them), of which it reads one row each (the
    output head, a full matrix, is read whole), and a kernel bf16 head's bf16 bias, which stays
    resident but is not read (the kernel adds its fp32 copy, ``bias32``)."""
    total = state_bytes(model)
    for name in ("embed", "pos_embed"):
        table, row = _table_bytes(getattr(model, name, None))
        total += row - table
    return total - unread_head_bytes(getattr(model, "head", None))


def unread_head_bytes(head: nn.Module | None) -> int:
    """Resident bytes of a head that decoding does not read: a kernel bf16 head's bf16 bias (the kernel
    adds its fp32 copy, ``bias32``); 0 for any other head."""
    if not getattr(head, "use_kernel", False) or getattr(head, "bias32", None) is None or not head.bias32.numel():
        return 0
    bias = head.inner.bias
    return bias.numel() * bias.element_size()


def gguf_bytes_read_per_token(path: Path) -> int:
    """The same count for a GGUF file as llama.cpp runs it: every tensor's data once, except one row
    of the token embedding (``token_embd.weight``), read whole only where the head is tied to it (no
    ``output.weight``)."""
    import gguf  # the exporter's dependency; imported here so the floor's other parts need no GGUF

    tensors = {tensor.name: tensor for tensor in gguf.GGUFReader(str(path)).tensors}
    total = sum(int(tensor.n_bytes) for tensor in tensors.values())
    embed = tensors.get("token_embd.weight")
    if embed is None or "output.weight" not in tensors:
        return total
    rows = int(embed.n_elements) // int(embed.shape[0])  # GGUF shapes list the row length first
    return total - int(embed.n_bytes) + int(embed.n_bytes) // rows


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


@dataclass
class ReadBandwidths:
    """The read bandwidth of one run, measured once per distinct working-set size (bytes) with the
    benchmark's ``threads`` and ``repeats``: formats of equal size share one measurement."""

    threads: int
    repeats: int
    by_size: dict[int, dict[str, float]] = field(default_factory=dict)

    def at(self, nbytes: int) -> dict[str, float]:
        """:func:`read_bandwidth` at ``nbytes``, measured on first asking."""
        if nbytes not in self.by_size:
            self.by_size[nbytes] = read_bandwidth(nbytes, self.threads, self.repeats)
        return self.by_size[nbytes]


def add_floor(table: BenchTable, scope: str, fmt: str, bytes_per_token: int, bandwidths: ReadBandwidths) -> None:
    """One timed format's floor into ``table``: its bytes per token, the median read bandwidth at that
    working-set size (with the slowest and fastest pass), the floor in ms per token, and its measured
    median ms per token (already in ``table``) over the floor."""
    bandwidth = bandwidths.at(bytes_per_token)
    floor = floor_ms(bytes_per_token, bandwidth["gb_per_s"])
    table.add(scope, fmt, "bytes_per_token", bytes_per_token)
    table.add(scope, fmt, "read_gb_per_s", bandwidth["gb_per_s"])
    table.add(scope, fmt, "read_gb_per_s_min", bandwidth["gb_per_s_min"])
    table.add(scope, fmt, "read_gb_per_s_max", bandwidth["gb_per_s_max"])
    table.add(scope, fmt, "floor_ms", floor)
    table.add(scope, fmt, "over_floor", table.get(scope, fmt, "ms_per_token") / floor)
