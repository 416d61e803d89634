"""Shared fixtures: the real data beside the checkout (skip cleanly when absent) and a tiny config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import ArchConfig, Config, deep_merge, parse_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

# Small enough that a full train + eval takes about a second on a CPU.
TINY_OVERRIDES = {
    "data": {"synthetic": {"train_stories": 300, "val_stories": 40, "glue_train_examples": 64,
                           "glue_dev_examples": 32}},
    "tokenizer": {"vocab_size": 300},
    "model": {"arch": ArchConfig.from_name("tiny").model_dump()},
    "train": {"seeds": [0], "max_steps": 12, "batch_size": 8, "log_every": 2, "checkpoint_every": 4,
              "eval_tokens": 1024},
    "glue": {"epochs": 1, "batch_size": 16, "max_len": 32, "seeds": [0]},
    "benchmark": {"decode_tokens": 4, "prompt_tokens": 4, "repeats": 2, "paper_arch": False},
}


deep_update = deep_merge  # the tests' name for it


def raw_params() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())


def tiny_raw_params(**extra: dict) -> dict:
    """The tiny project's params with ``extra`` sections merged in; where ``extra`` names main seeds and no
    GLUE seeds, GLUE fine-tunes those seeds (as one would set ``-S glue.seeds=...`` beside them)."""
    raw = deep_update(deep_update(raw_params(), TINY_OVERRIDES), extra)
    if "seeds" in extra.get("train", {}) and "seeds" not in extra.get("glue", {}):
        raw["glue"]["seeds"] = list(raw["train"]["seeds"])
    return raw


@pytest.fixture
def tiny_config() -> Config:
    return parse_config(tiny_raw_params())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
