"""Peak inference memory on a CPU, measured in a fresh process so nothing else is counted.

``python -m pipeline.memprobe --kind fp32|int8|packed --path CHECKPOINT --seq-len N`` imports torch,
records the resident set size (RSS), loads the model, resets the kernel's high-water mark
(``/proc/self/clear_refs``), runs a batch-1 forward over one sequence of N tokens, and prints JSON:

* ``resident_mb``: RSS after loading, minus the runtime's RSS (the model's weights plus whatever
  the loader keeps; for int8, which is quantized from the fp32 checkpoint, freed fp32 pages the
  allocator has not returned can remain, so it is an upper bound);
* ``peak_mb``: the highest RSS during the forward pass, minus the runtime's RSS (weights,
  activations, kernel workspace). This is our "peak inference memory".

The runtime (``runtime_mb``: interpreter, torch, the pipeline's modules and the compiled ternary
kernel, all loaded before the baseline is taken) is excluded from both. MB = 10^6 bytes. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path

MB = 1e6


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # 5 = reset the peak RSS (VmHWM) to the current RSS


def probe(kind: str, path: Path, seq_len: int, threads: int) -> dict[str, float]:
    import torch

    from pipeline.bench import int8_dynamic
    from pipeline.checkpoint import load_model
    from pipeline.inference import load_packed
    from pipeline.kernels import load_kernel

    # Everything the three formats import (and the compiled kernel) is loaded before the baseline,
    # so the runtime is the same for all of them and only the model is measured.
    load_kernel()
    torch.set_num_threads(threads)
    gc.collect()
    runtime_kb = _status_kb("VmRSS")
    if kind == "packed":
        model, _ = load_packed(path)
    else:
        model, _ = load_model(path)
        if kind == "int8":  # quantized from the fp32 checkpoint: the transient fp32 copy can stay in RSS
            model = int8_dynamic(model)
    gc.collect()
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
    parser.add_argument("--kind", choices=["fp32", "int8", "packed"], required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(probe(args.kind, args.path, args.seq_len, args.threads)))


if __name__ == "__main__":
    main()
