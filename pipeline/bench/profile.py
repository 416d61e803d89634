"""Where a packed decode step's time goes, per kernel path (issue 25): ``python -m pipeline.bench.profile
[--threads 2] [--out FILE]``.

On the peer shapes (the paper's 132M model, SwiGLU width 2304, random weights: speed does not depend
on their values), for every inner-loop path the kernel has (:func:`pipeline.inference.kernels.forced_path`)
it times with ``torch.utils.benchmark``:

* ``decode``: greedy decoding with the KV cache, 32 tokens after a 16-token prefill, per token
  (what the benchmark's peer rows time), every block in one kernel call (the ``DecodeStack``);
* ``decode_block_by_block``: the same with one kernel call per block from Python (the step before
  the ``DecodeStack``), so the one-call step's gain is measured in the same run;
* ``ternary``: the 48 ternary layer calls of one step (stacked q/k/v, output, stacked gate/up, down
  per block), each the kernel's ``ternary_linear_fused`` on one token called directly, all 48 in
  one timed statement so that, as in a step, the next layer's weights are not the ones just read
  (one Python-to-C++ call each, about a microsecond, which the step's own calls from C++ do not pay);
* ``ternary_in_step``: the same 48 calls each time after the head has run on one token, less the
  head's own time: in a step the head's 47 MB (bf16) stream evicts the ternary layers' codes from a
  cache that held them all in the ``ternary`` loop, so this is their cost as a step pays it;
* ``head``: the output head on one token;
* ``rest``: ``decode`` minus ``ternary_in_step`` and ``head``, i.e. norms, attention over the cache,
  the embedding row, argmax and Python.

Beside each part, the bytes it reads per token, the read bandwidth at that size (same threads) and
the part's time over its floor. A measurement, not a test: run it on an idle machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.utils import benchmark as torch_benchmark

from pipeline.bench.floor import ReadBandwidths, bytes_read_per_token, floor_ms, unread_head_bytes
from pipeline.bench.peer import PEER_ARCH
from pipeline.errors import InputError, one_line_errors
from pipeline.inference.kernels import EPS, compiled_paths, forced_path, load_kernel
from pipeline.inference.layers import PackedTernaryLinear
from pipeline.inference.packed import PackedTransformerLM
from pipeline.io import print_json
from pipeline.model.transformer import PAPER_TERNARY, TransformerLM, greedy_decode
from pipeline.paper import PAPER_VOCAB_SIZE

PROMPT_TOKENS = 16


def _median_ms(stmt: str, env: dict, threads: int, min_run_time: float) -> float:
    """Median milliseconds of ``stmt`` (torch.utils.benchmark, adaptive repeats after a warm-up)."""
    timer = torch_benchmark.Timer(stmt, globals=env, num_threads=threads)
    timer.timeit(1)
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


DECODE_TOKENS = 32


def _layers(model: PackedTransformerLM) -> list[PackedTernaryLinear]:
    """Every ternary layer one decoding step calls, in order (stacked where the model stacks)."""
    return [layer for block in model.blocks for layer in (*block.attn.qkv, block.attn.wo, *block.mlp.gate_up,
                                                           block.mlp.w2)]


def profile_model(model: PackedTransformerLM, threads: int, min_run_time: float = 1.0) -> dict[str, dict[str, float]]:
    """Per path: decode step, ternary layers (cache-warm and as a step pays them), head and the rest
    (ms), timed as the module says."""
    kernel = load_kernel()
    if kernel is None:
        raise InputError("the C++ kernel did not build: there is no kernel path to profile")
    torch.set_num_threads(threads)
    prompt = torch.randint(0, model.vocab_size, (1, PROMPT_TOKENS), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, prefill = model.forward_cached(prompt)
    x_in = {layer.in_features: torch.randn(1, layer.in_features, generator=torch.Generator().manual_seed(1))
            for layer in _layers(model)}
    hidden = torch.randn(1, 1, model.arch.dim, generator=torch.Generator().manual_seed(2))
    calls = [(x_in[layer.in_features], layer.packed, layer.in_features,
              0.0 if layer.row_alpha is not None else layer.alpha,
              layer.row_alpha if layer.row_alpha is not None else torch.empty(0), layer.act_bits, EPS)
             for layer in _layers(model)]
    decode_env = {"greedy_decode": greedy_decode, "model": model, "logits": logits, "prefill": prefill,
                  "start": PROMPT_TOKENS, "n": DECODE_TOKENS}
    results = {}
    for path in compiled_paths():
        with forced_path(path), torch.no_grad():
            decode = _median_ms("greedy_decode(model, logits, prefill, start, n)", decode_env, threads,
                                min_run_time) / DECODE_TOKENS
            model.one_call = False  # each block's kernel call from Python
            try:
                by_block = _median_ms("greedy_decode(model, logits, prefill, start, n)", decode_env, threads,
                                      min_run_time) / DECODE_TOKENS
            finally:
                model.one_call = True
            ternary = _median_ms("for args in calls: fused(*args)", {"fused": kernel.ternary_linear_fused,
                                                                        "calls": calls}, threads, min_run_time)
            head = _median_ms("head(x)", {"head": model.head, "x": hidden}, threads, min_run_time)
            after_head = _median_ms("head(x)\nfor args in calls: fused(*args)",
                                    {"head": model.head, "x": hidden, "fused": kernel.ternary_linear_fused,
                                     "calls": calls}, threads, min_run_time)
        in_step = after_head - head
        results[path] = {"decode_ms": decode, "decode_block_by_block_ms": by_block, "ternary_ms": ternary,
                         "ternary_in_step_ms": in_step, "head_ms": head, "rest_ms": decode - in_step - head}
    return results


def part_bytes(model: PackedTransformerLM) -> dict[str, int]:
    """Bytes per token of the step's parts: the ternary layers' packed codes and row scales, the head
    (weights and bias), and the whole step (:func:`bytes_read_per_token`)."""
    def size(module: torch.nn.Module) -> int:
        return sum(t.numel() * t.element_size() for t in module.state_dict().values())
    return {"ternary": sum(size(layer) for layer in _layers(model)),
            "head": size(model.head) - unread_head_bytes(model.head), "decode": bytes_read_per_token(model)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Where a packed decode step's time goes, per kernel path, on the "
                                                 "132M shapes (an idle machine's measurement).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--head-dtype", choices=("bf16", "int8"), default="bf16")
    parser.add_argument("--min-run-time", type=float, default=1.0, help="seconds per timed statement (adaptive)")
    parser.add_argument("--out", type=Path, help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, got {args.threads}")
        torch.manual_seed(0)
        model = PackedTransformerLM.from_trained(TransformerLM(PEER_ARCH, PAPER_VOCAB_SIZE, PAPER_TERNARY).eval(),
                                                 args.head_dtype)
        timings = profile_model(model, args.threads, args.min_run_time)
    sizes = part_bytes(model)
    bandwidths = ReadBandwidths(args.threads, repeats=5)
    floors = {part: floor_ms(nbytes, bandwidths.at(nbytes)["gb_per_s"]) for part, nbytes in sizes.items()}
    result = {"threads": args.threads, "head_dtype": args.head_dtype, "eps": EPS, "bytes": sizes, "floor_ms": floors,
              "read_gb_per_s": {part: bandwidths.at(n)["gb_per_s"] for part, n in sizes.items()},
              "paths": {path: {**times, **{f"{part}_over_floor": times[f"{part}_ms"] / floors[part] for part in floors},
                               "ternary_in_step_over_floor": times["ternary_in_step_ms"] / floors["ternary"]}
                        for path, times in timings.items()}}
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
