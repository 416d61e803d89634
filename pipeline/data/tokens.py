"""Token arrays on disk: ``.npy`` files read back as memory maps, so a corpus never becomes a Python
list of ints. The tokenize stage writes them (``pipeline/data/tokenize.py``); training reads them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.io import atomic_path


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)


def save_tokens(path: Path, tokens: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a handle, so numpy does not append ".npy" to the temp name
            np.save(handle, tokens)


def load_tokens(path: Path) -> np.ndarray:
    """A read-only memory map of a token array."""
    return np.load(path, mmap_mode="r")
