"""pipeline/training/glue.py: GLUE inputs encode as BERT pairs, the classifier reads the last real
token, and a fine-tune is deterministic with its constant-predictor baselines beside it."""

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
from pipeline.training.glue import SequenceClassifier, encode_examples, finetune_task
from pipeline.training.train import train_language_model
from tests.conftest import tiny_raw_params

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "sat", "the", "dog", "ran"]


def test_pairs_encode_as_cls_a_sep_b_sep_truncated_and_right_padded():
    tokenizer = bert_uncased({word: i for i, word in enumerate(WORDS)})
    examples = [Example("the cat", "a dog", 1), Example("the cat sat the dog ran", None, 0)]
    ids, mask, labels = encode_examples(tokenizer, examples, max_len=6)
    # the longer sentence of a pair is cut first, and every part keeps its [SEP]
    assert ids.tolist() == [[2, 8, 3, 5, 9, 3], [2, 8, 6, 7, 8, 3]]
    assert mask.tolist() == [[1] * 6, [1] * 6] and labels.tolist() == [1, 0]
    ids, mask, _ = encode_examples(tokenizer, [Example("cat", None, 1), Example("the dog ran", None, 0)], max_len=8)
    assert ids.tolist() == [[2, 6, 3, 0, 0], [2, 8, 9, 10, 3]] and mask.tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    assert tokenizer.truncation is None and tokenizer.padding is None  # the shared tokenizer is left as found


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
    first = finetune_task(model, tokenizer, data, "sst2", tiny_config.glue, seed=0, threads=1)
    assert finetune_task(model, tokenizer, data, "sst2", tiny_config.glue, seed=0, threads=1) == first
    labels = [example.label for example in read_glue_split(data, "sst2", "dev")]
    assert first["dev_examples"] == len(labels) and first["headline"] == first["accuracy"]
    majority = max(sum(labels), len(labels) - sum(labels)) / len(labels)
    assert first["dev_majority_accuracy"] == pytest.approx(majority) == first["trivial_accuracy"]
    assert 0.0 <= first["accuracy"] <= 1.0
