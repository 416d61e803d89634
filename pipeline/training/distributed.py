"""Data-parallel training across processes started by ``torchrun`` (DistributedDataParallel).

Each of the P processes takes every P-th window of the same global batch, gradients are averaged by
DDP, so P processes take the same optimizer steps as one process with the whole batch (up to the
order of floating-point sums) when dropout is 0; with dropout, every rank draws its own masks, so
the runs agree in distribution, not bit for bit. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from pipeline.errors import InputError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device_type: str) -> "DistContext":
        """Join the process group ``torchrun`` set up (gloo on CPU, NCCL on CUDA); single process otherwise."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)  # before NCCL starts, so each rank talks from its own GPU
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        return cls(rank=dist.get_rank(), world_size=world_size, local_rank=local_rank)

    def shard(self, batch_ids):
        """This rank's share of a global batch: every world_size-th window, starting at its rank."""
        return batch_ids[self.rank::self.world_size]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The average of ``values`` over ranks (identity for one process)."""
        if self.enabled:
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values /= self.world_size
        return values

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def resolve_device(requested: str) -> str:
    """``auto`` picks CUDA when present; asking for CUDA without one is an error, not a fallback."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise InputError("train.device is cuda but no CUDA device is visible: set train.device: auto or cpu")
    return requested


def device_name(device: str) -> str:
    """The device's name for timing records: the GPU's model, or the CPU with its thread count."""
    return torch.cuda.get_device_name(device) if device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
