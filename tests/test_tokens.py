"""pipeline/data/tokens.py: token arrays keep their dtype and come back as read-only memory maps."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.data.tokens import load_tokens, save_tokens, token_dtype


@pytest.mark.parametrize("vocab, dtype", [(300, np.uint16), (65536, np.uint16), (65537, np.uint32)])
def test_the_smallest_dtype_that_holds_every_id(vocab, dtype):
    assert token_dtype(vocab) == dtype


def test_tokens_round_trip_as_a_read_only_memory_map(tmp_path):
    tokens = np.array([101, 7592, 2088, 102, 65535], dtype=np.uint16)
    save_tokens(tmp_path / "train.npy", tokens)
    assert [p.name for p in tmp_path.iterdir()] == ["train.npy"]  # no ".npy.npy", no temp left
    loaded = load_tokens(tmp_path / "train.npy")
    assert isinstance(loaded, np.memmap) and loaded.dtype == np.uint16
    assert np.array_equal(loaded, tokens)
    with pytest.raises(ValueError):
        loaded[0] = 1
