"""The command-line pieces the scoring tools share (``pipeline.inference.llamacpp``, ``.headcheck``):
a trained checkpoint, the validation tokens, how many windows, threads and an optional JSON output."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import MissingInputError


def add_scoring_arguments(parser: argparse.ArgumentParser, windows: int) -> None:
    """The checkpoint (a model folder or its file) and ``--tokens``, ``--windows``, ``--threads``, ``--out``."""
    parser.add_argument("checkpoint", type=Path, help="the trained model folder (models/studied/seed_0)")
    parser.add_argument("--tokens", type=Path, default=Path("data/tokens/val.npy"))
    parser.add_argument("--windows", type=int, default=windows)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")


def checkpoint_file(path: Path) -> Path:
    """The model file of a checkpoint folder (``model.safetensors``), or ``path`` itself."""
    return path / "model.safetensors" if path.is_dir() else path


def require_files(*paths: Path) -> None:
    """A one-line error naming the first of ``paths`` that is not a file."""
    for path in paths:
        if not path.is_file():
            raise MissingInputError(f"{path} not found")
