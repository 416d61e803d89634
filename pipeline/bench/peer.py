"""Decode speed against the peer: our formats and llama.cpp's, interleaved in one process.

On CPUs people run ternary models in llama.cpp (TQ2_0 / TQ1_0 tensors). This measures, for the
paper's 132M shapes with random weights (speed does not depend on the values), batch-1 greedy
decoding of ``benchmark.decode_tokens`` tokens after a ``benchmark.prompt_tokens`` prompt, with the
same thread count everywhere:

* ``ours_fp32``: the FP32 twin in PyTorch eager; ``ours_packed``: our packed ternary model
  (2-bit codes, the C++ kernel, per-token int8 activations as trained);
* ``llamacpp_f32``: the FP32 twin as an F32 GGUF; ``llamacpp_tq2_0`` / ``llamacpp_tq1_0``: the
  ternary model exported by :mod:`pipeline.inference.export`;
* ``ours_packed_int8head`` and ``llamacpp_tq2_0_q8head``: the same two ternary models with the head,
  the largest matrix a token reads, in int8: ours with one fp32 scale per row, llama.cpp's Q8_0 with
  one fp16 scale per 32 values (1 against 1.06 bytes per weight), the embedding as the int8-head
  packed file keeps it on both sides.

Equal conditions: the embedding and head in ``benchmark.head_dtype`` on both sides (or int8 heads on
both), and the SwiGLU width padded to 2304 (a multiple of 256, which TQ blocks need) on both sides, so
both compute the same shapes. Each round runs every format once, in an order shuffled per round
(seeded); each format's figure is the median (and IQR) over rounds, so a slow spell hits all formats
alike instead of one. The CPU's load from other processes is sampled (/proc/stat) before and after,
and a busy machine is flagged in the results rather than published silently. Each format's decode
floor (``pipeline/bench/floor.py``) follows the rounds: our models' bytes from the modules,
llama.cpp's from the GGUF files' tensors.

``python -m pipeline.bench.peer --runs 3 [--out FILE]`` repeats the comparison (params.yaml's
``benchmark`` settings) and reports each run and the median over runs.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordPiece

from pipeline.data.tokenizer import SPECIAL_TOKENS, UNK
from pipeline.bench.floor import ReadBandwidths, add_floor, bytes_read_per_token, gguf_bytes_read_per_token
from pipeline.bench.table import PEER_FORMATS, Q8_HEAD_FORMATS, BenchTable
from pipeline.config import ArchConfig, BenchmarkConfig
from pipeline.inference.packed import EMBED_DTYPES, HEAD_DTYPES, export_packed, load_packed
from pipeline.inference.llamacpp import LlamaCppModel, available as llamacpp_available
from pipeline.inference.llamacpp import system_info as llamacpp_system_info
from pipeline.model.transformer import (FP32_TWIN, PAPER_TERNARY, DecoderLM, TransformerLM, greedy_decode,
                                        mlp_hidden_size)
from pipeline.paper import PAPER_ARCH, PAPER_VOCAB_SIZE

# int(768 * 3.0) = 2304: the paper's 2050 hidden units padded to a multiple of 256, on both sides.
PEER_ARCH = PAPER_ARCH.model_copy(update={"mlp_ratio": 3.0})
BUSY_THRESHOLD = 0.10  # share of the CPU used by other work above which timings are flagged
# The GGUF type (pipeline.inference.export.WIDE_TYPES) that holds what our packed model keeps in a
# torch dtype: equal bytes on both sides.
GGUF_WIDE_TYPES = {torch.float32: "f32", torch.bfloat16: "bf16"}


def median_iqr(values: list[float]) -> tuple[float, float]:
    """The median of timings and their interquartile range (numpy's linear percentiles): what every
    latency figure reports, robust to a slow outlier."""
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return float(q50), float(q75 - q25)


def cpu_busy_fraction(seconds: float = 1.0) -> float | None:
    """Share of all cores' time spent busy over ``seconds`` while this process sleeps (/proc/stat);
    None where /proc/stat does not exist."""
    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields) - idle, sum(fields)

    if not Path("/proc/stat").exists():
        return None
    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return (busy_after - busy_before) / max(total_after - total_before, 1)


def ours_decoder(model: DecoderLM) -> Callable[[list[int], int], tuple[list[int], float]]:
    """Our model's greedy decode with the KV cache (``inference.greedy_decode``, the benchmark's),
    timed like :meth:`LlamaCppModel.decode`: the prefill is outside the timing."""
    def decode(prompt: list[int], n_tokens: int) -> tuple[list[int], float]:
        with torch.no_grad():
            logits, cache = model.forward_cached(torch.tensor([prompt]))
            started = time.perf_counter()
            generated = greedy_decode(model, logits, cache, len(prompt), n_tokens)
            return generated[0].tolist(), time.perf_counter() - started
    return decode


def interleaved_rounds(decoders: dict[str, Callable], prompt: list[int], n_tokens: int, rounds: int,
                       seed: int = 0) -> dict[str, list[float]]:
    """ms per token of every decoder, ``rounds`` times, each round in a freshly shuffled order."""
    order = list(decoders)
    shuffle = random.Random(seed)
    for decode in decoders.values():  # warm-up: first-call allocations, lazy loading, kernel build
        decode(prompt, min(n_tokens, 4))
    times: dict[str, list[float]] = {name: [] for name in decoders}
    for _ in range(rounds):
        shuffle.shuffle(order)
        for name in order:
            _, seconds = decoders[name](prompt, n_tokens)
            times[name].append(seconds * 1e3 / n_tokens)
    return times


def placeholder_vocabulary(size: int) -> Tokenizer:
    """A WordPiece tokenizer of ``size`` entries (BERT's five specials, then ``[unused<i>]``) for files
    that are only timed: the weights are random, so no text is read or written with them."""
    vocab = SPECIAL_TOKENS + [f"[unused{i}]" for i in range(size - len(SPECIAL_TOKENS))]
    return Tokenizer(WordPiece({token: i for i, token in enumerate(vocab)}, unk_token=UNK))


def build_peer_models(workdir: Path, head_dtype: str = "bf16", arch: ArchConfig = PEER_ARCH,
                      vocab_size: int = PAPER_VOCAB_SIZE) -> tuple[TransformerLM, dict[str, Path]]:
    """Random-weight models of the peer shapes (``arch``, ``vocab_size``; a test passes small ones):
    the FP32 twin (in memory) and every other format's file (name -> path)."""
    from pipeline.inference.export import export_gguf

    torch.manual_seed(0)
    studied = TransformerLM(arch, vocab_size, PAPER_TERNARY).eval()
    twin = TransformerLM(arch, vocab_size, FP32_TWIN).eval()
    paths = {name: workdir / f"peer_{name}.{'gguf' if name.startswith('llamacpp') else 'safetensors'}"
             for name in PEER_FORMATS if name != "ours_fp32"}
    export_packed(studied, paths["ours_packed"], "2bit", head_dtype)
    export_packed(studied, paths["ours_packed_int8head"], "2bit", "int8")
    vocabulary = placeholder_vocabulary(vocab_size)
    export_gguf(twin, vocabulary, paths["llamacpp_f32"], "f32", "f32")
    for name in ("tq2_0", "tq1_0"):  # the embedding and head as ours keeps them
        export_gguf(studied, vocabulary, paths[f"llamacpp_{name}"], name, GGUF_WIDE_TYPES[HEAD_DTYPES[head_dtype]])
    export_gguf(studied, vocabulary, paths["llamacpp_tq2_0_q8head"], "tq2_0", GGUF_WIDE_TYPES[EMBED_DTYPES["int8"]],
                head_type="q8_0")
    return twin, paths


def run_peer(cfg: BenchmarkConfig, workdir: Path, rounds: int, table: BenchTable, bandwidths: ReadBandwidths,
             arch: ArchConfig = PEER_ARCH, vocab_size: int = PAPER_VOCAB_SIZE) -> dict[str, float | str]:
    """The peer comparison into ``table`` (scope ``peer``), each format's decode floor read at
    ``bandwidths``; returns what describes it. ``arch`` and ``vocab_size`` are the paper's 132M
    shapes except in tests."""
    twin, paths = build_peer_models(workdir, cfg.head_dtype, arch, vocab_size)
    ours = {"ours_fp32": twin} | {name: load_packed(paths[name])[0] for name in PEER_FORMATS
                                  if name.startswith("ours_packed")}
    n_ctx = cfg.prompt_tokens + cfg.decode_tokens + 8
    decoders = {name: ours_decoder(model) for name, model in ours.items()}
    # The Q8_0-head file loads without llama.cpp's extra buffer types: with them, prefilling the prompt
    # through a Q8_0 tensor crashes llama-cpp-python 0.3.36 on an AMX CPU at small shapes
    # (pipeline/inference/llamacpp.py); its Q8_0 products then run llama.cpp's plain Q8_0 kernel.
    decoders |= {name: LlamaCppModel(paths[name], cfg.threads, n_ctx,
                                     extra_buffers=name not in Q8_HEAD_FORMATS).decode
                 for name in PEER_FORMATS if name.startswith("llamacpp")}
    prompt = torch.randint(0, vocab_size, (cfg.prompt_tokens,), generator=torch.Generator().manual_seed(0)).tolist()
    times = interleaved_rounds(decoders, prompt, cfg.decode_tokens, rounds)
    for name, values in times.items():
        median, iqr = median_iqr(values)
        table.add("peer", name, "ms_per_token", median)
        table.add("peer", name, "ms_per_token_iqr", iqr)
        table.add("peer", name, "ms_per_token_min", min(values))
    for name in times:
        ms = table.get("peer", name, "ms_per_token")
        table.add("peer", name, "latency_over_llamacpp_tq2_0", ms / table.get("peer", "llamacpp_tq2_0", "ms_per_token"))
        fp32 = "ours_fp32" if name.startswith("ours") else "llamacpp_f32"  # the same implementation's FP32
        table.add("peer", name, "fp32_speedup", table.get("peer", fp32, "ms_per_token") / ms)
    for name in times:
        read = bytes_read_per_token(ours[name]) if name in ours else gguf_bytes_read_per_token(paths[name])
        add_floor(table, "peer", name, read, bandwidths)
    return {"peer_rounds": rounds, "peer_ffn_hidden": mlp_hidden_size(arch), "peer_head_dtype": cfg.head_dtype}


def machine_load(busy_before: float | None, busy_after: float | None) -> dict[str, float | bool | None]:
    """The load samples and whether the machine counted as idle (both below BUSY_THRESHOLD)."""
    samples = [value for value in (busy_before, busy_after) if value is not None]
    return {"cpu_busy_before": busy_before, "cpu_busy_after": busy_after,
            "machine_idle": all(value < BUSY_THRESHOLD for value in samples) if samples else None,
            "cpu_count": os.cpu_count()}


PEER_RUN_METRICS = ("ms_per_token", "latency_over_llamacpp_tq2_0", "bytes_per_token", "floor_ms", "over_floor")


def repeated_runs(cfg: BenchmarkConfig, runs: int, workdir: Path, arch: ArchConfig = PEER_ARCH,
                  vocab_size: int = PAPER_VOCAB_SIZE) -> dict[str, Any]:
    """The peer comparison ``runs`` times over (each with its own interleaved rounds and bandwidth
    measurements; the models are built once per run), each run's ms per token, ratio to llama.cpp
    TQ2_0 and time over the floor per format, and the median over runs of each: the figure the
    issue's acceptance reads (one run moves with the machine's state, as the README's history shows).
    ``arch`` and ``vocab_size`` are the 132M shapes except in tests."""
    per_run = []
    for _ in range(runs):
        table = BenchTable()
        busy_before = cpu_busy_fraction()
        run_peer(cfg, workdir, cfg.peer_rounds, table, ReadBandwidths(cfg.threads, cfg.repeats), arch, vocab_size)
        row = {name: {metric: table.get("peer", name, metric) for metric in PEER_RUN_METRICS}
               for name in PEER_FORMATS}
        per_run.append({"formats": row, **machine_load(busy_before, cpu_busy_fraction())})
    medians = {name: {metric: float(np.median([run["formats"][name][metric] for run in per_run]))
                      for metric in PEER_RUN_METRICS} for name in PEER_FORMATS}
    return {"runs": per_run, "median": medians, "threads": cfg.threads, "rounds_per_run": cfg.peer_rounds,
            "decode_tokens": cfg.decode_tokens, "prompt_tokens": cfg.prompt_tokens, "head_dtype": cfg.head_dtype}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import argparse
    import tempfile

    from pipeline.config import load_config
    from pipeline.errors import InputError, MissingInputError, one_line_errors
    from pipeline.io import print_json

    parser = argparse.ArgumentParser(description="The llama.cpp peer comparison on the 132M shapes, repeated: each "
                                                 "run's figures and the median over runs (an idle machine's "
                                                 "measurement; the benchmark stage runs it once).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, help="interleaved rounds per run (default: benchmark.peer_rounds)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="its benchmark section is used")
    parser.add_argument("--out", type=Path, help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.runs < 1:
            raise InputError(f"--runs must be at least 1, got {args.runs}")
        if not llamacpp_available():
            raise MissingInputError("llama_cpp is not installed: pip install -r requirements-llamacpp.txt")
        cfg = load_config(args.params).benchmark
        if args.rounds is not None:
            if args.rounds < 1:
                raise InputError(f"--rounds must be at least 1, got {args.rounds}")
            cfg = cfg.model_copy(update={"peer_rounds": args.rounds})
        torch.set_num_threads(cfg.threads)
        with tempfile.TemporaryDirectory(prefix="peer-") as workdir:
            result = repeated_runs(cfg, args.runs, Path(workdir))
    result["llamacpp_system_info"] = llamacpp_system_info()
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
