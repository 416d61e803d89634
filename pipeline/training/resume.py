"""Resume files in safetensors: weights, optimizer moments, scheduler and RNG state, the step and the
loss curves logged so far, so that an interrupted training run continues exactly where it stopped.

Weights and curves travel in one file written in one atomic rename: whatever the moment a run is
killed, the file on disk holds a consistent (step, weights, curves) triple or the previous one.
Loading one never executes code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from pipeline.errors import InputError
from pipeline.io import atomic_path


@dataclass(frozen=True)
class ResumePoint:
    """Where a restored run continues: its next step and the curves as of that step."""

    step: int
    curves: dict[str, str]


def save_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: Any, step: int, run_key: str, curves: dict[str, str] | None = None) -> None:
    """Everything needed to continue training at ``step`` bit-for-bit; ``run_key`` identifies the
    params and data the run was started with, so a stale file is never resumed; ``curves`` are the
    logger's files as of ``step`` (``pipeline.training.live.read_curves``)."""
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
            "scheduler": json.dumps(scheduler.state_dict()), "curves": json.dumps(curves or {})}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


class CorruptCheckpointError(InputError):
    """A resume file that cannot be read (truncated by a crash, emptied, or not safetensors), or
    whose tensors do not fit the model and optimizer they would be restored into."""


def set_aside(path: Path) -> Path:
    """Rename an unusable file to ``<name>.corrupt`` (kept for inspection, never read again)."""
    aside = path.with_name(path.name + ".corrupt")
    path.replace(aside)
    return aside


def _misfits(tensors: dict[str, torch.Tensor], model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """What in a resume file does not fit ``model`` and ``optimizer`` (checked before anything is
    restored, so a misfit never leaves a half-loaded model): missing, extra or reshaped tensors."""
    expected = {f"model.{k}": tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items() if k.startswith("model.")}
    problems = [f"{k}: {found.get(k)} in the file, {shape} in the model" for k, shape in expected.items()
                if found.get(k) != shape]
    problems += [f"{k}: not in the model" for k in found.keys() - expected.keys()]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for key, value in tensors.items():
        if key.startswith("optim."):
            index, name = key.split(".", 2)[1:]
            if int(index) >= len(params) or (value.dim() > 0 and tuple(value.shape) != tuple(params[int(index)].shape)):
                problems.append(f"{key}: {tuple(value.shape)} does not fit the optimizer's parameter {index}")
    return problems


def _read(path: Path, run_key: str) -> tuple[dict[str, str], dict[str, torch.Tensor]] | None:
    """The file's metadata and tensors, ``None`` if it belongs to another run; unreadable files raise."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        if meta.get("run_key") != run_key:
            return None
        return meta, load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:  # safetensors raises these for truncated files
        raise CorruptCheckpointError(f"resume file {path} is unreadable ({type(exc).__name__}: {exc})") from None


def load_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: Any, run_key: str) -> ResumePoint | None:
    """Restore a resume file into the given objects and return where the run continues; ``None`` if
    there is no file or it belongs to a different run (other params or data). A file that cannot be
    read, or whose tensors do not fit, raises :class:`CorruptCheckpointError` before anything is
    restored."""
    if not path.is_file():
        return None
    found = _read(path, run_key)
    if found is None:
        return None
    meta, tensors = found
    problems = _misfits(tensors, model, optimizer)
    if problems:
        raise CorruptCheckpointError(f"resume file {path} does not fit this run ({len(problems)} tensors, "
                                     f"first: {problems[0]})")
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
    return ResumePoint(step=int(meta["step"]), curves=json.loads(meta.get("curves", "{}")))
