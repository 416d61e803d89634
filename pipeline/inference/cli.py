"""The command-line pieces the scoring tools share (``pipeline.inference.llamacpp``, ``.headcheck``):
a trained checkpoint, the validation tokens cut into windows, threads and an optional JSON output."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline.errors import InputError, MissingInputError


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


def scoring_windows(tokens: np.ndarray, seq_len: int, windows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``windows`` non-overlapping windows of ``seq_len`` + 1 tokens (as many as there are),
    each as (input ids, next-token targets), int64; a one-line error when not even one fits."""
    available = (len(tokens) - 1) // seq_len
    if available < 1:
        raise InputError(f"{len(tokens)} validation tokens cannot fill one window of {seq_len} + 1")
    cut = [np.asarray(tokens[w * seq_len: w * seq_len + seq_len + 1], dtype=np.int64)
           for w in range(min(windows, available))]
    return [(window[:-1], window[1:]) for window in cut]
