"""Model checkpoints in safetensors: weights plus the metadata that rebuilds the model, which later
stages read. Loading one never executes code (unlike pickle-based ``torch.load``). The training
run's resume files are ``pipeline/training/resume.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, safe_open, save_file

from pipeline.errors import MissingInputError
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
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["pipeline_meta"])


def load_model(path: Path, device: str = "cpu") -> tuple[TransformerLM, dict[str, Any]]:
    """Rebuild the model a :func:`save_model` file describes and load its weights (eval mode)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"model checkpoint {path} not found: run the train stage first (dvc repro)")
    meta = read_model_meta(path)
    model = TransformerLM(ArchConfig(**meta["arch"]), meta["vocab_size"], RoleModel(**meta["role"]))
    model.load_state_dict(load_file(str(path), device=device))
    return model.to(device).eval(), meta
