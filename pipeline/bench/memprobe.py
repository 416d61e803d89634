"""Peak inference memory on a CPU, measured in a fresh process so nothing else is counted.

``python -m pipeline.bench.memprobe --kind fp32|int8|packed|packed_pytorch --path CHECKPOINT --seq-len N`` imports torch,
records the resident set size (RSS), loads the model, resets the kernel's high-water mark
(``/proc/self/clear_refs``), runs a batch-1 forward over one sequence of N tokens, and prints JSON:

* ``resident_mb``: RSS after loading, minus the runtime's RSS. Weights memory-mapped from the
  safetensors file (the packed model assigns the stored tensors directly) only become resident when
  first read, so this can be below the weight bytes. Freed heap pages (the fp32 copy int8 is
  quantized from) are returned to the OS first (``malloc_trim``);
* ``peak_mb``: the highest RSS during the forward pass, minus the runtime's RSS (weights,
  activations, kernel workspace). This is our "peak inference memory".

The runtime (``runtime_mb``: interpreter, torch, the pipeline's modules and the compiled ternary
kernel, all loaded before the baseline is taken) is excluded from both; freed heap pages are returned
to the OS before the baseline too, so that returning them after loading is not counted against the
model. MB = 10^6 bytes. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.model.transformer import DecoderLM

MB = 1e6


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _release_freed_memory() -> None:
    """Give freed heap pages back to the OS (glibc ``malloc_trim``), so the warm-up's garbage and
    the fp32 copy int8 is quantized from do not stay in the resident set; a no-op where glibc is
    absent."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # 5 = reset the peak RSS (VmHWM) to the current RSS


def _load(kind: str, path: Path) -> DecoderLM:
    from pipeline.inference.dense import int8_dynamic
    from pipeline.model.checkpoint import load_model
    from pipeline.inference.packed import load_packed

    if kind in ("packed", "packed_pytorch"):
        return load_packed(path, use_kernel=kind == "packed")[0]
    model = load_model(path)[0]
    # int8 is quantized from the fp32 checkpoint: freed fp32 pages the allocator keeps can stay in RSS
    return int8_dynamic(model) if kind == "int8" else model


def _warm_up(kind: str, directory: Path) -> None:
    """Load and run a tiny model of the same kind once, so one-time lazy imports and allocator
    set-up (e.g. building a skeleton on the meta device pulls in ~80 MB of torch modules) land in
    the runtime baseline rather than in the model's numbers."""
    import torch

    from pipeline.model.checkpoint import save_model
    from pipeline.config import ArchConfig
    from pipeline.inference.packed import export_packed
    from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, TransformerLM

    arch = ArchConfig.from_name("micro")
    packed = kind.startswith("packed")
    tiny = TransformerLM(arch, 32, PAPER_TERNARY if packed else FP32_TWIN)
    path = directory / "warm_up.safetensors"
    if packed:
        export_packed(tiny, path)
    else:
        save_model(path, tiny, {})
    with torch.no_grad():
        _load(kind, path)(torch.zeros(1, 8, dtype=torch.long))


def probe(kind: str, path: Path, seq_len: int, threads: int) -> dict[str, float]:
    """This process's runtime, resident and peak MB for the model ``kind`` loads from ``path`` (see
    the module's docstring)."""
    import tempfile

    import torch

    from pipeline.inference.kernels import load_kernel

    # The compiled kernel and everything the format's code path imports are loaded before the
    # baseline, so only the model itself is measured.
    load_kernel()
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as directory:
        _warm_up(kind, Path(directory))
    gc.collect()
    _release_freed_memory()
    runtime_kb = _status_kb("VmRSS")
    model = _load(kind, path)
    gc.collect()
    _release_freed_memory()
    resident_kb = _status_kb("VmRSS")
    _reset_peak()
    ids = torch.randint(0, model.vocab_size, (1, seq_len))
    with torch.no_grad():
        model(ids)
    peak_kb = _status_kb("VmHWM")
    return {"runtime_mb": runtime_kb * 1e3 / MB, "resident_mb": (resident_kb - runtime_kb) * 1e3 / MB,
            "peak_mb": (peak_kb - runtime_kb) * 1e3 / MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["fp32", "int8", "packed", "packed_pytorch"], required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(probe(args.kind, args.path, args.seq_len, args.threads)))


if __name__ == "__main__":
    main()
