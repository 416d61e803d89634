"""GLUE tasks (MRPC, SST-2, CoLA) from a local ``glue_data`` folder, parquet files, or the hub.

Every source yields the same rows: ``sentence1``, ``sentence2`` (None for single-sentence tasks) and
``label`` (int). Splits are named ``train`` and ``dev`` (the hub's ``validation``); GLUE's test
labels are hidden, so results are reported on dev, as everyone does.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from pipeline.errors import InputError, MissingInputError
from pipeline.io import read_text_file
from pipeline.data.hub import is_local, require_hub
from pipeline.data.prepared import Example

TASKS = ("mrpc", "sst2", "cola")
_GLUE_DATA_DIRS = {"mrpc": "MRPC", "sst2": "SST-2", "cola": "CoLA"}
_HUB_SPLITS = {"train": "train", "dev": "validation"}


# The glue_data layout of each task: its header (None: the file has none), and the columns of the
# label and of the text(s).
_TSV_LAYOUT = {
    "mrpc": (("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"), 0, (3, 4)),
    "sst2": (("sentence", "label"), 1, (0,)),
    "cola": (None, 1, (3,)),
}
LABELS = (0, 1)  # every task here is binary


def check_glue_tsv(path: Path, task: str) -> None:
    """Every row of a glue_data TSV has the task's columns, a label in {0, 1} and non-empty text;
    otherwise an InputError names the file, the row (line number) and the column."""
    header, label_col, text_cols = _TSV_LAYOUT[task]
    width = len(header) if header else 4
    # Rows end at "\n" (a "\r" before it dropped), as the CSV reader that loads them splits them;
    # str.splitlines() would also split at form feeds and Unicode separators inside a sentence.
    lines = [line.removesuffix("\r") for line in read_text_file(path).split("\n")]
    body_start = 1 if header else 0
    if header and (not lines or tuple(lines[0].split("\t")) != header):
        found = lines[0].split("\t") if lines else "an empty file"
        raise InputError(f"{path}, row 1: expected the {task} header {list(header)}, found {found}: is this the "
                         f"{task} file of the glue_data layout?")
    rows = [(number, line) for number, line in enumerate(lines[body_start:], start=body_start + 1) if line.strip()]
    if not rows:
        raise InputError(f"{path}: no data rows{' after the header' if header else ''}: the file is empty or truncated")
    for number, line in rows:
        fields = line.split("\t")
        if len(fields) != width:
            raise InputError(f"{path}, row {number}: {len(fields)} tab-separated columns, expected {width}"
                             + (f" ({', '.join(header)})" if header else "") + ": a missing or extra tab")
        label = fields[label_col].strip()
        if not re.fullmatch(r"-?[0-9]+", label):
            raise InputError(f"{path}, row {number}, column {label_col + 1}: label {label!r} is not an integer "
                             f"(expected one of {LABELS})")
        if int(label) not in LABELS:
            raise InputError(f"{path}, row {number}, column {label_col + 1}: label {int(label)} is outside {LABELS}")
        for col in text_cols:
            if not fields[col].strip():
                raise InputError(f"{path}, row {number}, column {col + 1}: empty text")


def _rows_to_examples(rows, first: str, second: str | None, label: str, source: str) -> list[Example]:
    """Rows as examples; a row whose label is not 0 or 1 (hidden test labels are -1, a missing one is
    null) or whose text is missing or empty is an InputError naming the source and the row."""
    examples = []
    for number, row in enumerate(rows, start=1):
        value = row[label]
        if isinstance(value, bool) or not isinstance(value, int) or value not in LABELS:
            raise InputError(f"{source}, row {number}: label {value!r} is not one of {LABELS} (test splits carry "
                             f"hidden labels: use train and validation)")
        texts = [row[column] for column in (first, second) if column is not None]
        if any(not isinstance(text, str) or not text.strip() for text in texts):
            raise InputError(f"{source}, row {number}: missing or empty text in {[first, second][:len(texts)]}")
        examples.append(Example(texts[0], texts[1] if second is not None else None, value))
    return examples


def load_glue_data_tsv(glue_dir: str | Path, task: str, split: str) -> list[Example]:
    """One split from the standard ``glue_data/<TASK>/<split>.tsv`` layout.

    The files contain bare double quotes, so quoting is disabled (as GLUE's own processors do);
    MRPC starts with a UTF-8 byte-order mark; CoLA has no header and four columns.
    """
    path = Path(glue_dir) / _GLUE_DATA_DIRS[task] / f"{split}.tsv"
    if not path.is_file():
        raise MissingInputError(f"GLUE file {path} not found: fix data.local.glue_dir in params.yaml "
                                f"(a folder in the standard glue_data layout)")
    check_glue_tsv(path, task)
    from datasets import load_dataset

    options = dict(delimiter="\t", quoting=csv.QUOTE_NONE, encoding="utf-8-sig", keep_default_na=False)
    if task == "cola":
        options.update(header=None, column_names=["source", "label", "original_mark", "sentence"])
    rows = load_dataset("csv", data_files=str(path), split="train", **options)
    if task == "mrpc":
        return _rows_to_examples(rows, "#1 String", "#2 String", "Quality", str(path))
    return _rows_to_examples(rows, "sentence", None, "label", str(path))


def load_glue_hub(name: str, task: str, split: str) -> list[Example]:
    """One split from the hub (``nyu-mll/glue``) or a local copy of that repository's parquet files."""
    from datasets import load_dataset

    hub_split = _HUB_SPLITS[split]
    if is_local(name):
        files = sorted(str(p) for p in Path(name, task).glob(f"{hub_split}-*.parquet"))
        if not files:
            raise MissingInputError(f"no {task}/{hub_split}-*.parquet under {name}")
        rows = load_dataset("parquet", data_files=files, split="train")
    else:
        require_hub(f"data.source: hub (GLUE {name!r}, task {task!r})")
        rows = load_dataset(name, task, split=hub_split)
    source = f"{name} ({task}, {hub_split})"
    if task == "mrpc":
        return _rows_to_examples(rows, "sentence1", "sentence2", "label", source)
    return _rows_to_examples(rows, "sentence", None, "label", source)
