"""Every CUDA-only branch of the device check, in one class, so that what a CPU run never executes can
be listed (and stays untested until a GPU runs it):

1. ``Device.autocast``: bf16 autocast on CUDA. On the CPU autocast is off and steps run in fp32:
   CPU bf16 autocast is slow, and it is not what the GPU figures measure.
2. ``Device.optimizer``: fused AdamW on CUDA. The branch itself is ``make_optimizer``'s
   (``pipeline/training/optim.py``), chosen by the device string; the CPU gets the default loop.
3. ``Device.compile``: ``torch.compile`` on CUDA only. On the CPU a compiled item is recorded as
   skipped (an inductor build takes minutes on a 2-core machine and measures nothing the GPU needs).
4. ``Device.memory_mb``: ``torch.cuda.memory_allocated`` and ``max_memory_allocated`` after
   ``reset_peak_memory_stats``; ``None`` (JSON null) on the CPU.
5. ``Device.release``: ``torch.cuda.empty_cache`` between items, and ``torch._dynamo.reset`` after a
   compiled one.
6. ``Device.sync``: ``torch.cuda.synchronize`` before a wall clock or a memory statistic is read
   (``torch.utils.benchmark``'s Timer synchronises the accelerator by itself).
7. ``Device.packed_kernel``: the packed model runs the C++ kernel on the CPU and its pure-PyTorch path
   on CUDA (the kernel is CPU-only).
8. ``Device.peak_bf16_flops``: the peak dense bf16 FLOP/s by CUDA device name, for MFU;
   ``None`` on the CPU and for an unknown GPU.
9. ``Device.facts``: the CUDA version, device name, capability and memory.

Library branches the check reaches only on CUDA, outside this file: ``pipeline/model/dropout.py``
(torch's dropout and fused SDPA instead of the CPU mask), ``pipeline/training/evaluate.py`` (pinned,
non-blocking batch copies), ``pipeline/inference/layers.py`` and ``kernels`` (the kernel skipped for
CUDA tensors), ``pipeline/training/optim.py`` (fused AdamW).
"""

from __future__ import annotations

import gc
import platform
import sys
from dataclasses import dataclass

import torch

from pipeline.config import OptimizerConfig
from pipeline.training.distributed import device_name, resolve_device
from pipeline.training.optim import make_optimizer
from pipeline.training.throughput import PEAK_BF16_FLOPS

MB = 1e6
MEMORY_METHOD = {
    "cuda": "torch.cuda.max_memory_allocated after reset_peak_memory_stats, minus what was allocated before "
            "the model was built (weights included)",
    "cpu": "not measured on the CPU (null): the benchmark stage's fresh-process RSS probe "
           "(pipeline/bench/memprobe.py) measures CPU memory",
}


class Skipped(Exception):
    """An item that does not run on this device (the reason is recorded, not a failure)."""


@dataclass(frozen=True)
class Device:
    """``cuda`` or ``cpu``, and what differs between them."""

    type: str

    @classmethod
    def resolve(cls, requested: str) -> Device:
        """``auto`` picks CUDA when present; ``cuda`` without one is an InputError."""
        return cls(resolve_device(requested))

    @property
    def cuda(self) -> bool:
        return self.type == "cuda"

    @property
    def precision(self) -> str:
        return "bf16" if self.cuda else "fp32"

    def autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.type, dtype=torch.bfloat16, enabled=self.cuda)

    def optimizer(self, model: torch.nn.Module, cfg: OptimizerConfig) -> torch.optim.AdamW:
        return make_optimizer(model, cfg, self.type)  # fused on CUDA

    def compile(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.cuda:
            raise Skipped("torch.compile runs on CUDA only in this check")
        return torch.compile(model)

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def memory_mb(self) -> tuple[float | None, float | None]:
        """(allocated now, peak since the last :meth:`release`) in MB; (None, None) on the CPU."""
        if not self.cuda:
            return None, None
        torch.cuda.synchronize()
        return torch.cuda.memory_allocated() / MB, torch.cuda.max_memory_allocated() / MB

    @property
    def memory_method(self) -> str:
        return MEMORY_METHOD[self.type]

    def release(self, compiled: bool = False) -> None:
        """Free what the last item left and start a new memory peak from here."""
        gc.collect()
        if self.cuda:
            if compiled:
                torch._dynamo.reset()
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    @property
    def packed_kernel(self) -> bool:
        """Whether the packed model may use the C++ kernel (CPU-only)."""
        return not self.cuda

    def peak_bf16_flops(self) -> float | None:
        if not self.cuda:
            return None
        name = torch.cuda.get_device_name()
        return next((flops for fragment, flops in PEAK_BF16_FLOPS.items() if fragment in name), None)

    def facts(self) -> dict:
        facts = {"device": self.type, "device_name": device_name(self.type), "torch": torch.__version__,
                 "cuda": torch.version.cuda, "python": sys.version.split()[0], "platform": platform.platform(),
                 "threads": torch.get_num_threads(), "peak_bf16_flops": self.peak_bf16_flops(),
                 "memory_method": self.memory_method}
        if self.cuda:
            props = torch.cuda.get_device_properties(0)
            facts |= {"capability": f"{props.major}.{props.minor}", "gpu_memory_mb": props.total_memory / MB,
                      "cudnn": torch.backends.cudnn.version()}
        return facts
