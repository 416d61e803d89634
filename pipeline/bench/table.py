"""The benchmark's measurements as one tidy table: (scope, format, metric, value, unit).

``scope`` is what was measured (``trained``: the first seed's checkpoints; ``paper_arch``: the
paper's 132M shapes with random weights; ``peer``: those shapes beside llama.cpp), ``format`` how
(``fp32``, ``ternary_packed``, ``llamacpp_tq2_0``, ...), ``metric`` one name of :data:`UNITS`. The
benchmark stage writes the table as ``metrics/benchmark.csv``; the report selects from it by
column. ``metrics/benchmark.json`` holds the same values under :func:`metric_key` names, for ``dvc
metrics`` and the claims; every flat name is made by that one function, so grepping a metric's name
(``weights_mb``) finds its one definition here, where it is produced, and where it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

UNITS = {
    "weights_mb": "MB",  # bytes of the weights the format keeps resident / 1e6
    "resident_mb": "MB",  # fresh-process RSS after loading, minus the process after `import torch`
    "peak_mb": "MB",  # the highest RSS during a one-sequence forward, same baseline
    "file_mb": "MB",  # the checkpoint file on disk
    "file_bits_per_weight": "bits",  # (file bytes - full-precision tensors) x 8 / ternary weights
    "ms_per_token": "ms",  # median over repeats (or rounds) of batch-1 greedy decode time per token
    "ms_per_token_iqr": "ms",
    "ms_per_token_min": "ms",
    "prefill_ms": "ms",
    "decode_tokens": "tokens",  # tokens decoded per timed repeat
    "weight_reduction": "x",  # fp32 weights_mb / this format's weights_mb, same scope
    "latency_over_fp32": "x",  # this format's ms_per_token / fp32's, same scope
    "latency_over_llamacpp_tq2_0": "x",  # this format's ms_per_token / llama.cpp TQ2_0's (scope peer)
    "fp32_speedup": "x",  # the scope's FP32 of the same implementation: its ms_per_token / this format's
    # The decode floor (pipeline/bench/floor.py), for every CPU format whose bytes the benchmark knows:
    "bytes_per_token": "bytes",  # weight bytes one batch-1 decode step reads (one row of each embedding)
    "read_gb_per_s": "GB/s",  # median read bandwidth of a buffer of bytes_per_token, same threads, same run
    "read_gb_per_s_min": "GB/s",  # the slowest pass of that measurement
    "read_gb_per_s_max": "GB/s",  # the fastest pass
    "floor_ms": "ms",  # bytes_per_token / read_gb_per_s: no decode step can be faster
    "over_floor": "x",  # ms_per_token / floor_ms
}


# Every format the benchmark measures, with the label tables and figures give it: the one list.
FORMAT_LABELS = {
    "fp32": "FP32 twin",
    "int8": "INT8 (PyTorch dynamic)",
    "ternary_pytorch": "packed ternary, fp32 embedding/head, pure PyTorch (the paper's conditions)",
    "ternary_packed": "packed ternary, C++ kernel (ours)",
    "ternary_fakequant": "FP32 latent weights fake-quantized per call (the released code)",
    "ternary_2bit": "packed ternary file, 2 bits per weight",
    "ternary_base3": "packed ternary file, base-3 (1.6 bits per weight)",
    "cuda_fp32": "CUDA fp32",
    "cuda_ternary_dense": "CUDA ternary (dense)",
    "ours_fp32": "ours: FP32 twin (PyTorch eager)",
    "ours_packed": "ours: packed ternary, C++ kernel",
    "ours_packed_int8head": "ours: packed ternary, C++ kernel, int8 head (a scale per row)",
    "llamacpp_f32": "llama.cpp: F32",
    "llamacpp_tq2_0": "llama.cpp: TQ2_0",
    "llamacpp_tq2_0_q8head": "llama.cpp: TQ2_0, Q8_0 head (a scale per 32 values)",
    "llamacpp_tq1_0": "llama.cpp: TQ1_0",
}
# ternary_packed: our packed model (2-bit codes, C++ kernel, embedding/head in benchmark.head_dtype).
# ternary_pytorch: the same packed weights with a full-precision (fp32) embedding and head, on the
# pure-PyTorch path (no custom kernel): the paper's conditions, the one system its memory and latency
# claims are judged on. ternary_fakequant: what the released code runs at inference (FP32 latent
# weights, quantized on every call): no memory saved.
TERNARY_FORMATS = ("ternary_packed", "ternary_pytorch", "ternary_fakequant")
EFFICIENCY_FORMATS = ("fp32", "int8", "ternary_pytorch", "ternary_packed", "ternary_fakequant")  # table order
DEVICE_FORMATS = ("cuda_fp32", "cuda_ternary_dense")  # measured only where CUDA is present
# ours_packed_int8head / llamacpp_tq2_0_q8head: the same ternary models with an int8 head on both sides
PEER_FORMATS = ("ours_fp32", "ours_packed", "ours_packed_int8head", "llamacpp_f32", "llamacpp_tq2_0",
                "llamacpp_tq2_0_q8head", "llamacpp_tq1_0")
Q8_HEAD_FORMATS = ("llamacpp_tq2_0_q8head",)  # llama.cpp peer formats holding a Q8_0 tensor (the head)


def metric_key(scope: str, fmt: str, metric: str) -> str:
    """The flat name of one measurement: ``paper_arch_ternary_packed_weights_mb``."""
    if metric not in UNITS:
        raise KeyError(f"unknown benchmark metric {metric!r}; known: {sorted(UNITS)}")
    return f"{scope}_{fmt}_{metric}"


@dataclass
class BenchTable:
    """Rows of (scope, format, metric, value); units come from :data:`UNITS`."""

    rows: list[tuple[str, str, str, float]] = field(default_factory=list)

    def add(self, scope: str, fmt: str, metric: str, value: float) -> None:
        metric_key(scope, fmt, metric)  # validates the name
        self.rows.append((scope, fmt, metric, float(value)))

    def get(self, scope: str, fmt: str, metric: str) -> float:
        for row in self.rows:
            if row[:3] == (scope, fmt, metric):
                return row[3]
        raise KeyError(metric_key(scope, fmt, metric))

    def has(self, scope: str, fmt: str, metric: str) -> bool:
        return any(row[:3] == (scope, fmt, metric) for row in self.rows)

    def flat(self) -> dict[str, float]:
        return {metric_key(*row[:3]): row[3] for row in self.rows}

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=["scope", "format", "metric", "value"])
        return frame.assign(unit=frame["metric"].map(UNITS))


def select(table: pd.DataFrame, scope: str, metric: str) -> pd.Series:
    """One metric of one scope from the long table, indexed by format."""
    rows = table[(table["scope"] == scope) & (table["metric"] == metric)]
    return rows.set_index("format")["value"]
