"""Resume files in safetensors: weights, optimizer moments, scheduler and RNG state and the step, so
that an interrupted training run continues exactly where it stopped. Loading one never executes code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from pipeline.errors import InputError
from pipeline.io import atomic_path


def save_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: Any, step: int, run_key: str) -> None:
    """Everything needed to continue training at ``step`` bit-for-bit; ``run_key`` identifies the
    params and data the run was started with, so a stale file is never resumed."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    optim_state = optimizer.state_dict()
    for index, state in optim_state["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():  # dropout on the GPU draws from the CUDA generator
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {"step": str(step), "run_key": run_key,
            "param_groups": json.dumps(optim_state["param_groups"]),
            "scheduler": json.dumps(scheduler.state_dict())}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


class CorruptCheckpointError(InputError):
    """A resume file that cannot be read (truncated by a crash, emptied, or not safetensors)."""


def set_aside(path: Path) -> Path:
    """Rename an unusable file to ``<name>.corrupt`` (kept for inspection, never read again)."""
    aside = path.with_name(path.name + ".corrupt")
    path.replace(aside)
    return aside


def load_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: Any, run_key: str) -> int | None:
    """Restore a resume file into the given objects and return its step; ``None`` if there is no
    file or it belongs to a different run (other params or data). A file that cannot be read raises
    :class:`CorruptCheckpointError` before anything is restored."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        if meta.get("run_key") != run_key:
            return None
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:  # safetensors raises these for truncated files
        raise CorruptCheckpointError(f"resume file {path} is unreadable ({type(exc).__name__}: {exc})") from None
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    scheduler.load_state_dict(json.loads(meta["scheduler"]))
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return int(meta["step"])
