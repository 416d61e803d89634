"""Model checkpoints in safetensors: weights plus the metadata that rebuilds the model, which later
stages read. Loading one never executes code (unlike pickle-based ``torch.load``). The training
run's resume files are ``pipeline/training/resume.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from pipeline.errors import InputError, MissingInputError
from pipeline.config import ArchConfig, RoleModel
from pipeline.io import atomic_path
from pipeline.model.transformer import TransformerLM


def save_model(path: Path, model: TransformerLM, meta: dict[str, Any]) -> None:
    """Weights plus ``meta`` and what rebuilds the model (architecture, role settings, vocab size) as
    JSON in the header; ``quant`` is repeated at the top level for readers that need only that."""
    header = {"pipeline_meta": json.dumps({**meta, "arch": model.arch.model_dump(), "role": model.role.model_dump(),
                                           "quant": model.role.quant, "vocab_size": model.vocab_size},
                                          sort_keys=True)}
    tensors = {name: t.detach().contiguous().cpu() for name, t in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def read_model_meta(path: Path) -> dict[str, Any]:
    """The header :func:`save_model` wrote; a file that is not one (unreadable, truncated, empty, another
    program's safetensors or a packed checkpoint) is an :class:`InputError` naming it."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:  # safetensors' errors for truncated or foreign files
        raise InputError(f"model checkpoint {path} is unreadable ({type(exc).__name__}: {exc}): it is truncated or not "
                         f"safetensors; re-run its train stage (dvc repro -f train_<role>@<seed>)") from None
    if "pipeline_meta" not in header:
        kind = "a packed inference file" if "pipeline_packed" in header else "not a checkpoint of this pipeline"
        raise InputError(f"{path} is {kind} (no pipeline_meta header): give a trained model, "
                         f"models/<role>/seed_<n>/model.safetensors")
    return json.loads(header["pipeline_meta"])


def load_model(path: Path, device: str = "cpu") -> tuple[TransformerLM, dict[str, Any]]:
    """Rebuild the model a :func:`save_model` file describes and load its weights (eval mode). Weights
    that do not fit the architecture the header describes are an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"model checkpoint {path} not found: run the train stage first (dvc repro)")
    meta = read_model_meta(path)
    try:
        model = TransformerLM(ArchConfig(**meta["arch"]), meta["vocab_size"], RoleModel(**meta["role"]))
    except (KeyError, TypeError, ValidationError) as exc:
        raise InputError(f"{path}: its header does not describe a model of this pipeline version "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); re-run its train stage") from None
    try:
        model.load_state_dict(load_file(str(path), device=device))
    except RuntimeError as exc:  # missing, unexpected or reshaped tensors
        raise InputError(f"{path}: its weights do not fit the architecture its header describes "
                         f"({' '.join(str(exc).split())[:200]}); re-run its train stage") from None
    return model.to(device).eval(), meta


def initial_model(meta: dict[str, Any]) -> TransformerLM:
    """The model a checkpoint's run started from: the same architecture and role, initialised from its
    seed exactly as training does (``torch.manual_seed(seed)``, then the constructor draws every
    weight), so trained codes can be compared with the codes they started as."""
    torch.manual_seed(meta["seed"])
    return TransformerLM(ArchConfig(**meta["arch"]), meta["vocab_size"], RoleModel(**meta["role"])).eval()
