"""pipeline/training/bow.py: the bag-of-words GLUE reference learns a one-word rule, builds the
documented pair features, never fits on dev rows, writes the fine-tune's metric names, and on real
CoLA beats the constant predictor."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from pipeline.config import ArchConfig
from pipeline.data.glue import load_glue_data_tsv
from pipeline.data.prepared import Example, read_glue_split
from pipeline.data.tokenize import build_tokenizer
from pipeline.data.tokenizer import bert_uncased
from pipeline.io import read_json, write_jsonl
from pipeline.model.transformer import TransformerLM
from pipeline.training import bow
from pipeline.training.bow import bow_features, bow_task, fit_vocabulary, word_pieces
from pipeline.training.glue import finetune_task

FILLERS = ["the", "a", "cat", "dog", "sat", "ran", "big", "small"]
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *FILLERS, "good", "bad", "far", "##s"]
BOW_ONLY = {"chosen_C", "features"}


@pytest.fixture
def tokenizer():
    return bert_uncased({word: i for i, word in enumerate(WORDS)})


def one_word_rule(n: int, seed: int, pairs: bool = False) -> list[Example]:
    """Sentences of random filler words with "good" (label 1) or "bad" (label 0) at a random place."""
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        label = i % 2
        words = rng.choices(FILLERS, k=4)
        words.insert(rng.randrange(5), "good" if label else "bad")
        examples.append(Example(" ".join(words), " ".join(rng.choices(FILLERS, k=3)) if pairs else None, label))
    return examples


def write_task(data_dir: Path, task: str, train: list[Example], dev: list[Example]) -> None:
    """The prepared layout read_glue_split reads (pipeline/data/prepared.py)."""
    for split, examples in (("train", train), ("dev", dev)):
        write_jsonl(data_dir / "glue" / task / f"{split}.jsonl", (e._asdict() for e in examples))


def test_word_pieces_leave_out_the_special_tokens(tokenizer):
    assert word_pieces(tokenizer, ["The cats", "good dog"]) == [["the", "cat", "##s"], ["good", "dog"]]


def test_a_label_decided_by_one_word_is_learned(tokenizer, tmp_path):
    write_task(tmp_path, "sst2", one_word_rule(60, seed=0), one_word_rule(30, seed=1))
    result = bow_task(tokenizer, tmp_path, "sst2", seed=0)
    assert result["accuracy"] == result["headline"] == 1.0 and result["mcc"] == 1.0
    assert (result["train_examples"], result["dev_examples"]) == (60, 30)
    assert result["trivial_accuracy"] == 0.5 and result["chosen_C"] in bow.C_GRID


def test_pair_features_are_both_counts_their_difference_and_their_overlap(tokenizer):
    pair = Example("the the cat", "the dog", 1)
    vectorizer = fit_vocabulary(tokenizer, [pair])
    vocabulary = vectorizer.vocabulary_
    assert sorted(vocabulary) == ["cat", "dog", "the", "the cat", "the dog", "the the"]
    size = len(vocabulary)
    row = bow_features(vectorizer, tokenizer, [pair]).toarray()[0]
    assert row.shape == (4 * size,)
    blocks = {gram: [int(row[block * size + column]) for block in range(4)] for gram, column in vocabulary.items()}
    #                  c1  c2 |c1-c2| min
    assert blocks == {"the": [2, 1, 1, 1], "cat": [1, 0, 1, 0], "dog": [0, 1, 1, 0],
                      "the the": [1, 0, 1, 0], "the cat": [1, 0, 1, 0], "the dog": [0, 1, 1, 0]}
    single = bow_features(vectorizer, tokenizer, [Example("the cat far", None, 0)])
    assert single.shape == (1, size) and single.sum() == 3  # "far" was never seen in training: dropped


def test_dev_rows_never_reach_the_fit(tokenizer, tmp_path, monkeypatch):
    train = one_word_rule(40, seed=0)
    dev = [Example(f"far {e.sentence1}", None, e.label) for e in one_word_rule(20, seed=1)]  # "far": dev only
    write_task(tmp_path, "sst2", train, dev)
    seen = {}
    fit, vocabulary = bow.LogisticRegressionCV.fit, bow.fit_vocabulary

    def recording_fit(self, features, labels):
        seen["features"], seen["labels"] = features, list(labels)
        return fit(self, features, labels)

    def recording_vocabulary(tokenizer, examples):
        seen["vectorizer"], seen["vocabulary_rows"] = vocabulary(tokenizer, examples), list(examples)
        return seen["vectorizer"]

    monkeypatch.setattr(bow.LogisticRegressionCV, "fit", recording_fit)
    monkeypatch.setattr(bow, "fit_vocabulary", recording_vocabulary)
    result = bow_task(tokenizer, tmp_path, "sst2", seed=0, max_train_examples=30)
    assert seen["vocabulary_rows"] == train[:30] and "far" not in seen["vectorizer"].vocabulary_
    assert seen["labels"] == [e.label for e in train[:30]]
    expected = bow_features(seen["vectorizer"], tokenizer, train[:30])
    assert seen["features"].shape == expected.shape and (seen["features"] != expected).nnz == 0
    assert (result["train_examples"], result["dev_examples"]) == (30, 20)


def test_metric_names_match_the_neural_fine_tune(tokenizer, tmp_path, tiny_config):
    write_task(tmp_path, "sst2", one_word_rule(40, seed=0), one_word_rule(20, seed=1))
    torch.manual_seed(0)
    backbone = TransformerLM(ArchConfig.from_name("micro"), len(WORDS))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    neural = finetune_task(lambda: backbone, tmp_path / "tokenizer.json", tmp_path, "sst2", tiny_config.glue,
                           lr=1e-3, epochs=1, seed=0, threads=1)
    reference = bow_task(tokenizer, tmp_path, "sst2", seed=0)
    # every name the reference shares with the fine-tune means the same there (the fine-tune adds its
    # rate, epochs and token lengths); the reference adds only its C and vocabulary size
    assert set(reference) - BOW_ONLY <= set(neural)
    shared = {"accuracy", "f1", "mcc", "headline", "train_examples", "dev_examples", "fit_seconds",
              "trivial_accuracy", "trivial_f1", "trivial_mcc"}
    assert shared <= set(reference) & set(neural)
    assert BOW_ONLY.isdisjoint(neural)
    assert {key: reference[key] for key in neural if key.startswith(("trivial_", "dev_"))} == \
        {key: value for key, value in neural.items() if key.startswith(("trivial_", "dev_"))}


def test_the_stage_writes_every_task(tokenizer, tmp_path, tiny_config, monkeypatch):
    from stages.glue_bow import run

    prepared = tmp_path / "data" / "prepared"
    for task in tiny_config.glue.tasks:
        pairs = task == "mrpc"
        write_task(prepared, task, one_word_rule(40, seed=0, pairs=pairs), one_word_rule(20, seed=1, pairs=pairs))
    (tmp_path / "data" / "tokens").mkdir(parents=True)
    tokenizer.save(str(tmp_path / "data" / "tokens" / "tokenizer.json"))
    monkeypatch.chdir(tmp_path)
    # the fine-tunes' cap on training rows is the reference's too
    capped = tiny_config.glue.model_copy(update={"max_train_examples": {"cola": 30}})
    run(tiny_config.model_copy(update={"glue": capped}), None)
    written = read_json(tmp_path / "metrics" / "glue_bow.json")
    assert sorted(written) == sorted(tiny_config.glue.tasks)
    assert {task: written[task]["train_examples"] for task in written} == {"mrpc": 40, "sst2": 40, "cola": 30}
    assert written["mrpc"]["headline"] == written["mrpc"]["f1"] == 1.0  # the rule is in sentence 1 of each pair


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_real_cola_beats_its_constant_predictor(shared_data, tmp_path, tiny_config):
    """The first 2,000 CoLA training rows under bert-base-uncased's word pieces (the bert_vocab_file
    tokenizer); scored on the whole dev split."""
    for split in ("train", "dev"):
        examples = load_glue_data_tsv(shared_data / "glue", "cola", split)
        write_jsonl(tmp_path / "glue" / "cola" / f"{split}.jsonl", (e._asdict() for e in examples))
    vocab = shared_data / "tokenizer" / "bert-base-uncased" / "vocab.txt"
    tokenizer = build_tokenizer(tiny_config.tokenizer.model_copy(update={"kind": "bert_vocab_file",
                                                                         "vocab_file": str(vocab)}), [])
    result = bow_task(tokenizer, tmp_path, "cola", seed=0, max_train_examples=2000)
    print(f"\nCoLA bag of words, 2,000 train rows: {result}")
    assert result["train_examples"] == 2000 and result["dev_examples"] == len(read_glue_split(tmp_path, "cola", "dev"))
    assert result["trivial_mcc"] == 0.0 and result["headline"] == result["mcc"] > 0.05
