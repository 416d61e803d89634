"""pipeline/training/glue.py: GLUE inputs encode as BERT pairs, batches pad to their longest example,
the classifier reads the last real token, a fine-tune is deterministic with its constant-predictor
baselines and token lengths beside it, and the sweep scores held-out training rows only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.config import ArchConfig, parse_config
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.prepared import Example, read_glue_split
from pipeline.data.tokenize import tokenize_corpus
from pipeline.data.tokenizer import bert_uncased
from pipeline.layout import RunPaths
from pipeline.model.transformer import TransformerLM
from pipeline.model.checkpoint import initial_model, load_model
from pipeline.training.glue import (SequenceClassifier, encode_examples, finetune_task, holdout_rows, sweep_task,
                                    unswept)
from pipeline.training.train import train_language_model
from tests.conftest import tiny_raw_params

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "sat", "the", "dog", "ran"]


def test_pairs_encode_as_cls_a_sep_b_sep_truncated_and_batches_pad_to_their_longest():
    tokenizer = bert_uncased({word: i for i, word in enumerate(WORDS)})
    examples = [Example("the cat", "a dog", 1), Example("the cat sat the dog ran", None, 0)]
    encoded = encode_examples(tokenizer, examples, max_len=6)
    # the longer sentence of a pair is cut first, and every part keeps its [SEP]
    assert encoded.ids == [[2, 8, 3, 5, 9, 3], [2, 8, 6, 7, 8, 3]] and encoded.labels.tolist() == [1, 0]
    assert encoded.full_lengths.tolist() == [7, 8]  # before the cut
    stats = encoded.length_stats(6)
    assert stats["tokens_max"] == 8 and stats["truncated_fraction"] == 1.0 and stats["tokens_p50"] == 7.5
    short = encode_examples(tokenizer, [Example("cat", None, 1), Example("the dog ran", None, 0)], max_len=8)
    ids, mask, labels = short.batch([0, 1], "cpu")
    assert ids.tolist() == [[2, 6, 3, 0, 0], [2, 8, 9, 10, 3]] and mask.tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    ids, mask, _ = short.batch([0], "cpu")  # alone, the short example is not padded at all
    assert ids.tolist() == [[2, 6, 3]] and mask.tolist() == [[1, 1, 1]]
    assert tokenizer.truncation is None and tokenizer.padding is None  # the shared tokenizer is left as found


def test_the_held_out_slice_is_seeded_disjoint_and_whole():
    fit, held = holdout_rows(100, 0.1, seed=3)
    assert len(held) == 10 and set(fit).isdisjoint(held) and sorted([*fit, *held]) == list(range(100))
    assert holdout_rows(100, 0.1, seed=3)[1].tolist() == held.tolist() != holdout_rows(100, 0.1, seed=4)[1].tolist()


def test_the_classifier_reads_the_last_real_token_so_padding_cannot_change_it():
    torch.manual_seed(0)
    model = SequenceClassifier(TransformerLM(ArchConfig.from_name("micro"), len(WORDS))).eval()
    ids = torch.tensor([[2, 6, 3, 0, 0], [2, 6, 3, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]])
    other_padding = ids.clone()
    other_padding[1, 3:] = 7
    logits = model(other_padding, mask)
    assert torch.equal(logits[0], logits[1])
    assert not torch.equal(model(ids, torch.ones_like(mask))[0], logits[0])  # the real last token differs


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> tuple[Path, Path, Path]:
    cfg = parse_config(tiny_raw_params())
    root = tmp_path_factory.mktemp("glue")
    write_corpus(load_corpus(cfg.data, cfg.glue.tasks), root / "prepared")
    tokenize_corpus(cfg.tokenizer, root / "prepared", root / "tokens")
    paths = RunPaths.for_run("studied", 0, root)
    train_language_model(cfg, "studied", 0, root / "tokens", paths)
    return paths.model, root / "tokens" / "tokenizer.json", root / "prepared"


def test_a_fine_tune_is_deterministic_and_reports_its_constant_predictor(pretrained, tiny_config):
    model, tokenizer, data = pretrained
    backbone = lambda: load_model(model)[0]  # noqa: E731
    first = finetune_task(backbone, tokenizer, data, "sst2", tiny_config.glue, 1e-3, 2, seed=0, threads=1)
    again = finetune_task(backbone, tokenizer, data, "sst2", tiny_config.glue, 1e-3, 2, seed=0, threads=1)
    assert {k: v for k, v in again.items() if k != "fit_seconds"} == {k: v for k, v in first.items()
                                                                        if k != "fit_seconds"}
    labels = [example.label for example in read_glue_split(data, "sst2", "dev")]
    assert first["dev_examples"] == len(labels) and first["headline"] == first["accuracy"]
    majority = max(sum(labels), len(labels) - sum(labels)) / len(labels)
    assert first["dev_majority_accuracy"] == pytest.approx(majority) == first["trivial_accuracy"]
    assert 0.0 <= first["accuracy"] <= 1.0 and (first["lr"], first["epochs"]) == (1e-3, 2)
    assert 0.0 <= first["train_truncated_fraction"] <= 1.0 and first["train_max_len"] == tiny_config.glue.max_len


def test_the_training_cap_takes_the_first_rows(pretrained, tiny_config):
    model, tokenizer, data = pretrained
    capped = tiny_config.glue.model_copy(update={"max_train_examples": {"sst2": 40}})
    result = finetune_task(lambda: load_model(model)[0], tokenizer, data, "sst2", capped, 1e-3, 1, seed=0, threads=1)
    assert result["train_examples"] == 40


def test_the_scratch_control_starts_from_the_initial_weights(pretrained, tiny_config):
    model, tokenizer, data = pretrained
    trained, meta = load_model(model)
    start = initial_model(meta)
    assert not torch.equal(start.embed.weight, trained.embed.weight)  # training moved them
    result = finetune_task(lambda: initial_model(meta), tokenizer, data, "sst2", tiny_config.glue, 1e-3, 1, seed=0,
                           threads=1)
    assert result["train_examples"] > 0


def test_the_sweep_scores_every_epoch_of_every_rate_on_held_out_training_rows(pretrained, tiny_config, monkeypatch):
    import pipeline.training.glue as glue

    model, tokenizer, data = pretrained
    dev_texts = {example.sentence1 for example in read_glue_split(data, "sst2", "dev")}
    seen: list[str] = []
    real_encode = glue.encode_examples

    def recording(tok, examples, max_len):
        seen.extend(example.sentence1 for example in examples)
        return real_encode(tok, examples, max_len)

    monkeypatch.setattr(glue, "encode_examples", recording)
    cfg = tiny_config.glue.model_copy(update={"epochs": 2, "sweep": tiny_config.glue.sweep.model_copy(
        update={"lrs": [3e-3, 1e-3]})})
    result = sweep_task(lambda: load_model(model)[0], tokenizer, data, "sst2", cfg, seed=0, threads=1)
    assert set(result["scores"]) == {repr(1e-3), repr(3e-3)} and all(len(v) == 2 for v in result["scores"].values())
    best = max(score for scores in result["scores"].values() for score in scores)
    assert result["holdout_headline"] == best and result["lr"] in (1e-3, 3e-3) and result["epochs"] in (1, 2)
    assert result["holdout_examples"] + result["fit_examples"] == len(read_glue_split(data, "sst2", "train"))
    assert not dev_texts & set(seen) - {example.sentence1 for example in read_glue_split(data, "sst2", "train")}
    assert unswept(cfg)["sst2"] == {"lr": cfg.lr, "epochs": 2, "swept": False}
    per_task = cfg.model_copy(update={"epochs": {"mrpc": 1, "sst2": 3, "cola": 2}})
    assert [unswept(per_task)[task]["epochs"] for task in ("mrpc", "sst2", "cola")] == [1, 3, 2]
    short = sweep_task(lambda: load_model(model)[0], tokenizer, data, "sst2",
                       per_task.model_copy(update={"epochs": {"mrpc": 3, "sst2": 1, "cola": 3}}), seed=0, threads=1)
    assert all(len(v) == 1 for v in short["scores"].values()) and short["epochs"] == 1  # the task's own cap
