"""The data stage: gather the LM corpus and the GLUE tasks from the configured source and write
them in the prepared layout (``pipeline/data/prepared.py``) that every later stage reads."""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import DataConfig
from pipeline.data import glue as glue_sources
from pipeline.data import synthetic, tinystories
from pipeline.data.prepared import Example
from pipeline.errors import InputError
from pipeline.io import write_json, write_jsonl

SOURCE_DESCRIPTIONS = {
    "synthetic": "SYNTHETIC: seeded embedded generator (pipeline/data/synthetic.py); not TinyStories or GLUE",
    "local": "real TinyStories and GLUE files read from local copies",
    "hub": "real TinyStories and GLUE from the Hugging Face hub",
}


@dataclass(frozen=True)
class Corpus:
    """Everything the later stages train and evaluate on."""

    source: str
    lm_train: list[str]
    lm_val: list[str]
    glue: dict[str, dict[str, list[Example]]]  # task -> split ("train"/"dev") -> examples
    dropped: dict[str, int] = field(default_factory=dict)  # what the loaders left out, and why (data.json)


def _subsample(examples: list[Example], limit: int | None, seed: int, tag: str) -> list[Example]:
    """A seeded random subset that keeps the original order (so file order does not bias it)."""
    if limit is None or limit >= len(examples):
        return examples
    keep = sorted(random.Random(f"{seed}-{tag}").sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


def _check_distinct_files(train: Path, val: Path) -> None:
    """Validation stories from the training file would make every held-out figure a training figure."""
    if train.is_file() and val.is_file() and os.path.samefile(train, val):
        raise InputError(f"data.local.tinystories_train and data.local.tinystories_val are the same file ({val}): "
                         f"point tinystories_val at held-out stories (../shared/data has a validation file)")


def load_corpus(cfg: DataConfig, tasks: list[str], project_root: Path = Path(".")) -> Corpus:
    """Read or generate the corpus that ``cfg.source`` names, capped as the params say."""
    dropped: dict[str, int] = {}
    if cfg.source == "synthetic":
        syn = cfg.synthetic
        train, val = synthetic.generate_corpus(cfg.seed, syn.train_stories, syn.val_stories)
        glue = {task: {split: [Example(*row) for row in rows] for split, rows in
                       synthetic.generate_glue_task(task, cfg.seed, syn.glue_train_examples,
                                                    syn.glue_dev_examples).items()}
                for task in tasks}
    elif cfg.source == "local":
        local = cfg.local
        _check_distinct_files(project_root / local.tinystories_train, project_root / local.tinystories_val)
        files = {"train": tinystories.load_local_stories(project_root / local.tinystories_train, cfg.max_train_stories,
                                                         "data.max_train_stories"),
                 "val": tinystories.load_local_stories(project_root / local.tinystories_val, cfg.max_val_stories,
                                                       "data.max_val_stories")}
        train, val = files["train"].stories, files["val"].stories
        for split, loaded in files.items():
            dropped[f"lm_{split}_dropped_trailing_fragment_chars"] = loaded.dropped_fragment_chars
            dropped[f"lm_{split}_dropped_empty_stories"] = loaded.dropped_empty
        glue = {task: {split: glue_sources.load_glue_data_tsv(project_root / local.glue_dir, task, split)
                       for split in ("train", "dev")} for task in tasks}
    else:
        train = tinystories.load_hub_stories(cfg.hub.tinystories, "train", cfg.max_train_stories, cfg.hub.text_field)
        val = tinystories.load_hub_stories(cfg.hub.tinystories, "validation", cfg.max_val_stories, cfg.hub.text_field)
        glue = {task: {split: glue_sources.load_glue_hub(cfg.hub.glue, task, split) for split in ("train", "dev")}
                for task in tasks}
    glue = {task: {"train": _subsample(splits["train"], cfg.glue_max_train_examples, cfg.seed, f"{task}-train"),
                   "dev": _subsample(splits["dev"], cfg.glue_max_dev_examples, cfg.seed, f"{task}-dev")}
            for task, splits in glue.items()}
    return Corpus(cfg.source, train, val, glue, dropped)


def _fingerprint(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    return digest.hexdigest()[:16]


def write_corpus(corpus: Corpus, out_dir: Path) -> dict:
    """Write the layout above and return the manifest (also written as ``manifest.json``)."""
    write_jsonl(out_dir / "lm" / "train.jsonl", ({"text": t} for t in corpus.lm_train))
    write_jsonl(out_dir / "lm" / "val.jsonl", ({"text": t} for t in corpus.lm_val))
    train_set = set(corpus.lm_train)
    manifest = {
        "source": corpus.source,
        "source_description": SOURCE_DESCRIPTIONS[corpus.source],
        "lm_train_stories": len(corpus.lm_train),
        "lm_val_stories": len(corpus.lm_val),
        # Fraction of validation stories that also occur verbatim in train: must be 0 for the
        # validation perplexity to measure generalisation rather than memory.
        "lm_val_in_train_fraction": sum(t in train_set for t in corpus.lm_val) / max(len(corpus.lm_val), 1),
        "lm_train_fingerprint": _fingerprint(corpus.lm_train),
        "lm_val_fingerprint": _fingerprint(corpus.lm_val),
        **corpus.dropped,
        "glue": {},
    }
    for task, splits in corpus.glue.items():
        for split, examples in splits.items():
            write_jsonl(out_dir / "glue" / task / f"{split}.jsonl", (e._asdict() for e in examples))
            manifest["glue"][f"{task}_{split}_examples"] = len(examples)
            manifest["glue"][f"{task}_{split}_positive_fraction"] = (
                sum(e.label for e in examples) / max(len(examples), 1))
    write_json(out_dir / "manifest.json", manifest)
    return manifest
