"""GLUE tasks (MRPC, SST-2, CoLA) from a local ``glue_data`` folder, parquet files, or the hub.

Every source yields the same rows: ``sentence1``, ``sentence2`` (None for single-sentence tasks) and
``label`` (int). Splits are named ``train`` and ``dev`` (the hub's ``validation``); GLUE's test
labels are hidden, so results are reported on dev, as everyone does.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

from pipeline.data.hub import is_local, require_hub

TASKS = ("mrpc", "sst2", "cola")
_GLUE_DATA_DIRS = {"mrpc": "MRPC", "sst2": "SST-2", "cola": "CoLA"}
_HUB_SPLITS = {"train": "train", "dev": "validation"}


class Example(NamedTuple):
    sentence1: str
    sentence2: str | None
    label: int


def _rows_to_examples(rows, first: str, second: str | None, label: str) -> list[Example]:
    return [Example(str(r[first]), None if second is None else str(r[second]), int(r[label])) for r in rows]


def load_glue_data_tsv(glue_dir: str | Path, task: str, split: str) -> list[Example]:
    """One split from the standard ``glue_data/<TASK>/<split>.tsv`` layout.

    The files contain bare double quotes, so quoting is disabled (as GLUE's own processors do);
    MRPC starts with a UTF-8 byte-order mark; CoLA has no header and four columns.
    """
    path = Path(glue_dir) / _GLUE_DATA_DIRS[task] / f"{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"GLUE file {path} not found: fix data.local.glue_dir in params.yaml "
                                f"(a folder in the standard glue_data layout)")
    from datasets import load_dataset

    options = dict(delimiter="\t", quoting=csv.QUOTE_NONE, encoding="utf-8-sig", keep_default_na=False)
    if task == "cola":
        options.update(header=None, column_names=["source", "label", "original_mark", "sentence"])
    rows = load_dataset("csv", data_files=str(path), split="train", **options)
    if task == "mrpc":
        return _rows_to_examples(rows, "#1 String", "#2 String", "Quality")
    return _rows_to_examples(rows, "sentence", None, "label")


def load_glue_hub(name: str, task: str, split: str) -> list[Example]:
    """One split from the hub (``nyu-mll/glue``) or a local copy of that repository's parquet files."""
    from datasets import load_dataset

    hub_split = _HUB_SPLITS[split]
    if is_local(name):
        files = sorted(str(p) for p in Path(name, task).glob(f"{hub_split}-*.parquet"))
        if not files:
            raise FileNotFoundError(f"no {task}/{hub_split}-*.parquet under {name}")
        rows = load_dataset("parquet", data_files=files, split="train")
    else:
        require_hub(f"data.source: hub (GLUE {name!r}, task {task!r})")
        rows = load_dataset(name, task, split=hub_split)
    if task == "mrpc":
        return _rows_to_examples(rows, "sentence1", "sentence2", "label")
    return _rows_to_examples(rows, "sentence", None, "label")
