"""Inference efficiency, measured for real: FP32 baseline vs INT8 vs packed ternary, in one run.

Definitions (quoted by the report; MB = 10^6 bytes):

* **Weight memory**: exact bytes of the weights each format keeps resident, summed over the
  model's tensors (``state_bytes``). ``fp32``: the FP32 twin. ``int8``: PyTorch dynamic
  quantization of every linear layer of the FP32 twin (int8 weights, per-tensor scale; embedding
  and norms fp32). ``ternary_packed``: every block layer as 2-bit codes (4 per byte) plus one fp32
  scale, embedding and head in ``benchmark.head_dtype``, norms fp32 (see ``pipeline/inference/packed.py``).
* **File size**: the safetensors checkpoint on disk, for fp32 and for both packings (2-bit, base-3);
  bits per ternary weight = (file bytes - full-precision tensor bytes) x 8 / ternary weights.
* **Peak inference memory** (CPU): the highest resident set size of a fresh process during a
  batch-1 forward over one ``model.arch.seq_len`` sequence, minus the process's RSS after
  ``import torch`` (``pipeline/bench/memprobe.py``). On CUDA: ``torch.cuda.max_memory_allocated`` for
  the same forward, weights included.
* **Latency**: batch-1 greedy decoding with a KV cache after a ``prompt_tokens`` prompt:
  milliseconds per generated token (median and interquartile range over ``repeats`` timed decodes
  after a warm-up, ``torch.utils.benchmark``, ``threads`` threads) and the prefill time.
* **Floor** (``pipeline/bench/floor.py``): for every CPU format timed, the weight bytes a decode step
  reads, the read bandwidth of a buffer of that size measured in the same run with the same threads
  (once per distinct size), the floor (bytes over bandwidth) and the measured ms per token over it.

Measured for the trained checkpoints (first seed) and, with ``benchmark.paper_arch``, for the
paper's 132M architecture with random weights (memory and speed do not depend on the values).
"""

from __future__ import annotations

import copy
import json
import math
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils import benchmark as torch_benchmark

from tqdm import tqdm

from pipeline.inference import llamacpp
from pipeline.bench.floor import ReadBandwidths, add_floor, bytes_read_per_token
from pipeline.bench.table import BenchTable, TERNARY_FORMATS
from pipeline.model.checkpoint import load_model, save_model
from pipeline.inference.dense import frozen_for_inference, int8_dynamic
from pipeline.inference.packed import export_packed, load_packed
from pipeline.inference.kernels import load_kernel
from pipeline.config import ArchConfig, BenchmarkConfig
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, DecoderLM, TransformerLM, greedy_decode, state_bytes
from pipeline.paper import PAPER_VOCAB_SIZE
from pipeline.bench.peer import cpu_busy_fraction, machine_load, median_iqr, run_peer

MB = 1e6
_ITEMSIZE = {"F32": 4, "BF16": 2, "F16": 2, "U8": 1, "I8": 1, "I64": 8}  # safetensors dtype names


@torch.no_grad()
def _timings(timer: torch_benchmark.Timer, repeats: int) -> list[float]:
    """Seconds of ``repeats`` separate single calls, after one warm-up call."""
    timer.timeit(1)
    return [timer.timeit(1).median for _ in range(repeats)]


def decode_latency(model: DecoderLM, prompt: torch.Tensor, n_tokens: int, repeats: int, threads: int
                   ) -> dict[str, float]:
    """ms per decoded token and prefill ms, each the median (and IQR) over ``repeats`` timed runs.

    The decode timing starts from a finished prefill, so it holds only the per-token work.
    """
    with torch.no_grad():
        logits, cache = model.forward_cached(prompt)
    scope = {"decode_from": greedy_decode, "model": model, "prompt": prompt, "logits": logits, "cache": cache,
             "start": prompt.shape[1], "n": n_tokens}
    with torch.no_grad():
        prefill = _timings(torch_benchmark.Timer("model.forward_cached(prompt)", globals=scope,
                                                 num_threads=threads), repeats)
        decode = _timings(torch_benchmark.Timer("decode_from(model, logits, cache, start, n)", globals=scope,
                                                num_threads=threads), repeats)
    per_token, per_token_iqr = median_iqr([seconds * 1e3 / n_tokens for seconds in decode])
    return {"ms_per_token": per_token, "ms_per_token_iqr": per_token_iqr,
            "prefill_ms": median_iqr([seconds * 1e3 for seconds in prefill])[0]}


def device_description() -> str:
    return f"{platform.processor() or platform.machine()} CPU, torch {torch.__version__}"


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux: the first ``model name`` of /proc/cpuinfo), else what
    ``platform`` knows: the floor depends on it, so the benchmark records it."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def file_bits_per_ternary_weight(path: Path, model: TransformerLM) -> float:
    """(file bytes - bytes of the full-precision tensors) x 8 / number of ternary weights."""
    from safetensors import safe_open

    ternary = sum(layer.weight.numel() for layer in model.quant_layers().values())
    with safe_open(str(path), framework="pt") as handle:
        full_precision = sum(math.prod(handle.get_slice(k).get_shape()) * _ITEMSIZE[handle.get_slice(k).get_dtype()]
                             for k in handle.keys() if not k.endswith((".packed", ".alpha")))
    return (path.stat().st_size - full_precision) * 8 / ternary


def peak_rss(kind: str, path: Path, seq_len: int, threads: int) -> dict[str, float]:
    """Resident and peak memory of one model in a fresh process (``pipeline/bench/memprobe.py``)."""
    done = subprocess.run([sys.executable, "-m", "pipeline.bench.memprobe", "--kind", kind, "--path", str(path),
                           "--seq-len", str(seq_len), "--threads", str(threads)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cuda_rows(scope: str, baseline: TransformerLM, studied: TransformerLM, cfg: BenchmarkConfig,
              table: BenchTable) -> None:
    """FP32 and ternary (dense, fake-quantized: what the paper's code runs) on the GPU."""
    prompt = torch.randint(0, baseline.vocab_size, (1, cfg.prompt_tokens), device="cuda")
    for name, model in (("fp32", baseline), ("ternary_dense", frozen_for_inference(studied))):
        model = copy.deepcopy(model).cuda().eval()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            model(torch.randint(0, model.vocab_size, (1, model.arch.seq_len), device="cuda"))
        table.add(scope, f"cuda_{name}", "peak_mb", torch.cuda.max_memory_allocated() / MB)
        for metric, value in decode_latency(model, prompt, cfg.decode_tokens, cfg.repeats, cfg.threads).items():
            table.add(scope, f"cuda_{name}", metric, value)
        del model
        torch.cuda.empty_cache()


# These two re-derive every weight on every call (~0.25-0.4 s per token at 132M on 2 cores), so they
# are timed on fewer tokens and repeats; ms per token does not depend on how many are decoded, and at
# a quarter of a second per token four of them are far above the timer's resolution.
SLOW_FORMATS, SLOW_DECODE_TOKENS, SLOW_REPEATS = ("ternary_pytorch", "ternary_fakequant"), 4, 3


def _ternary_models(studied: TransformerLM, cfg: BenchmarkConfig, workdir: Path, scope: str) -> dict:
    """name -> (model, memprobe kind, checkpoint) for the ternary formats."""
    packed_path, fp32head_path, base3_path = (workdir / f"{scope}_{name}.safetensors"
                                              for name in ("2bit", "2bit_fp32head", "base3"))
    export_packed(studied, packed_path, "2bit", cfg.head_dtype)
    export_packed(studied, fp32head_path, "2bit", "fp32")
    export_packed(studied, base3_path, "base3", cfg.head_dtype)
    latent_path = workdir / f"{scope}_latent.safetensors"
    save_model(latent_path, studied, {})
    return {"ternary_packed": (load_packed(packed_path)[0], ("packed", packed_path)),
            "ternary_pytorch": (load_packed(fp32head_path, use_kernel=False)[0], ("packed_pytorch", fp32head_path)),
            "ternary_fakequant": (studied.eval(), ("fp32", latent_path))}


def measure_scope(scope: str, baseline: TransformerLM, studied: TransformerLM | None, cfg: BenchmarkConfig,
                  workdir: Path, table: BenchTable, bandwidths: ReadBandwidths) -> None:
    """Every measurement of one (baseline, ternary studied) pair into ``table`` under ``scope``, each
    CPU format's decode floor read at ``bandwidths``. Without a ternary model (``studied`` None) only
    the fp32 and int8 rows are measured."""
    fp32_path = workdir / f"{scope}_fp32.safetensors"
    save_model(fp32_path, baseline, {})
    models = {"fp32": (baseline.eval(), ("fp32", fp32_path)), "int8": (int8_dynamic(baseline), ("int8", fp32_path))}
    if studied is not None:
        models |= _ternary_models(studied, cfg, workdir, scope)
    prompt = torch.randint(0, baseline.vocab_size, (1, cfg.prompt_tokens))
    for name, (model, (kind, path)) in tqdm(models.items(), desc=f"benchmark {scope}", unit="format"):
        table.add(scope, name, "weights_mb", state_bytes(model) / MB)
        memory = peak_rss(kind, path, baseline.arch.seq_len, cfg.threads)
        table.add(scope, name, "resident_mb", memory["resident_mb"])
        table.add(scope, name, "peak_mb", memory["peak_mb"])
        slow = name in SLOW_FORMATS
        tokens, repeats = (min(cfg.decode_tokens, SLOW_DECODE_TOKENS), min(cfg.repeats, SLOW_REPEATS)) if slow \
            else (cfg.decode_tokens, cfg.repeats)
        for metric, value in decode_latency(model, prompt, tokens, repeats, cfg.threads).items():
            table.add(scope, name, metric, value)
        table.add(scope, name, "decode_tokens", tokens)
        add_floor(table, scope, name, bytes_read_per_token(model), bandwidths)
    table.add(scope, "fp32", "file_mb", fp32_path.stat().st_size / MB)
    if studied is not None:
        for packing in ("2bit", "base3"):
            path = workdir / f"{scope}_{packing}.safetensors"
            table.add(scope, f"ternary_{packing}", "file_mb", path.stat().st_size / MB)
            table.add(scope, f"ternary_{packing}", "file_bits_per_weight", file_bits_per_ternary_weight(path, studied))
    for name in [fmt for fmt in ("int8", *TERNARY_FORMATS) if fmt in models]:
        table.add(scope, name, "weight_reduction", table.get(scope, "fp32", "weights_mb") / table.get(scope, name, "weights_mb"))
        table.add(scope, name, "latency_over_fp32",
                  table.get(scope, name, "ms_per_token") / table.get(scope, "fp32", "ms_per_token"))
    if torch.cuda.is_available() and studied is not None:
        cuda_rows(scope, baseline, studied, cfg, table)


def run_benchmark(studied_path: Path, baseline_path: Path, cfg: BenchmarkConfig, paper_arch: ArchConfig | None,
                  paper_vocab: int = PAPER_VOCAB_SIZE) -> tuple[dict[str, float | str | bool | None], BenchTable]:
    """The benchmark stage: the trained pair and (optionally) the paper's architecture, one process.
    Returns what describes the run (device, settings, machine load) and the table of measurements."""
    torch.manual_seed(0)
    torch.set_num_threads(cfg.threads)
    studied, studied_meta = load_model(studied_path)
    baseline, _ = load_model(baseline_path)
    if baseline.role.attention != "causal":  # the notebook's maskless baseline cannot decode with a cache:
        # time its FP32 twin instead (same shapes; memory and speed do not depend on the weights)
        baseline = TransformerLM(baseline.arch, baseline.vocab_size, FP32_TWIN)
    # Only a ternary studied model can be packed; with model.quant: fp32 the trained scope has no
    # packed row (the paper-architecture scope builds its own ternary model and always has one).
    trained_ternary = studied if studied_meta["quant"] == "ternary" else None
    results: dict[str, float | str] = {"device": device_description(), "threads": cfg.threads,
                                       "studied_quant": studied_meta["quant"],
                                       "decode_tokens": cfg.decode_tokens, "prompt_tokens": cfg.prompt_tokens,
                                       "repeats": cfg.repeats, "head_dtype": cfg.head_dtype,
                                       "ternary_kernel": "C++ (pipeline/inference/kernels)" if load_kernel() else "pure PyTorch"}
    results["cpu_model"] = cpu_model()  # the floor columns depend on it
    table = BenchTable()
    bandwidths = ReadBandwidths(cfg.threads, cfg.repeats)  # one measurement per working-set size, this run
    busy_before = cpu_busy_fraction()
    with tempfile.TemporaryDirectory() as workdir:
        measure_scope("trained", baseline, trained_ternary, cfg, Path(workdir), table, bandwidths)
        if paper_arch is not None:
            paper_baseline = TransformerLM(paper_arch, paper_vocab, FP32_TWIN)
            paper_studied = TransformerLM(paper_arch, paper_vocab, PAPER_TERNARY)
            measure_scope("paper_arch", paper_baseline, paper_studied, cfg, Path(workdir), table, bandwidths)
            # llama.cpp beside our formats, when the optional binding is installed
            results["peer"] = "llama.cpp (llama-cpp-python)" if llamacpp.available() else "not installed"
            if llamacpp.available():
                results.update(run_peer(cfg, Path(workdir), cfg.peer_rounds, table, bandwidths))
    # Timings taken while other work shared the cores are flagged, not silently published.
    results.update(machine_load(busy_before, cpu_busy_fraction()))
    return results, table
