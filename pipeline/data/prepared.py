"""The prepared layout the data stage writes (``data/prepared``) and every later stage reads, whatever
the source: the row type and the readers. Kept apart from the sources, so that reading the layout
does not import (or depend on) the code that reads TinyStories, GLUE or the hub.

Layout::

    lm/train.jsonl, lm/val.jsonl          {"text": story}
    glue/<task>/{train,dev}.jsonl         {"sentence1", "sentence2" (or null), "label"}
    manifest.json                         source, counts, overlap, fingerprints, what was dropped
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from pipeline.io import read_jsonl


class Example(NamedTuple):
    """One GLUE example; ``sentence2`` is None for single-sentence tasks."""

    sentence1: str
    sentence2: str | None
    label: int


def read_lm_split(data_dir: Path, split: str) -> list[str]:
    return [row["text"] for row in read_jsonl(data_dir / "lm" / f"{split}.jsonl")]


def read_glue_split(data_dir: Path, task: str, split: str) -> list[Example]:
    return [Example(r["sentence1"], r["sentence2"], int(r["label"]))
            for r in read_jsonl(data_dir / "glue" / task / f"{split}.jsonl")]
