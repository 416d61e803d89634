"""``python -m pipeline.bench.devicecheck prepare``: the short training's real tokens, made beforehand
(on a machine that has ``../shared/data``) so the device run reads two arrays and needs no data
files, no tokenizer build and no network.

It is the pipeline's own prepare and tokenize stages (``pipeline/data/prepare.py``,
``pipeline/data/tokenize.py``) with the check's config: the local TinyStories subsets and
bert-base-uncased rebuilt from its vocab.txt, each story wrapped as ``[CLS] story [SEP]`` (the
profile's stream), no GLUE task.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.bench.devicecheck.presets import PRESETS, SHARED_DATA, CheckPaths, check_config
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.tokenize import tokenize_corpus
from pipeline.errors import MissingInputError


def prepare(paths: CheckPaths, data_dir: Path = SHARED_DATA) -> dict:
    """Write ``paths.prepared`` (the stories) and ``paths.tokens`` (tokenizer.json, train/val token
    arrays, tokens.json); return the token counts (tokens.json)."""
    if not Path(data_dir).is_dir():
        raise MissingInputError(f"{data_dir} not found: pass --data with the folder holding tinystories/ and "
                                f"tokenizer/ (../shared/data beside the project)")
    cfg = check_config(PRESETS["paper"], data_dir)  # the data and tokenizer keys are the same in every preset
    write_corpus(load_corpus(cfg.data, tasks=[]), paths.prepared)
    return tokenize_corpus(cfg.tokenizer, paths.prepared, paths.tokens)
