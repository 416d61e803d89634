import pytest

from pipeline.data import synthetic
from pipeline.data.glue import TASKS, load_glue_data_tsv, load_glue_hub
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.tinystories import load_hub_stories, load_local_stories, normalize_story, parse_story_text


def test_synthetic_corpus_is_deterministic_per_seed():
    assert synthetic.generate_corpus(7, 50, 10) == synthetic.generate_corpus(7, 50, 10)
    assert synthetic.generate_corpus(7, 50, 10) != synthetic.generate_corpus(8, 50, 10)


def test_synthetic_validation_never_repeats_training():
    train, val = synthetic.generate_corpus(3, 2000, 300)
    assert not set(val) & set(train)
    assert len(set(train)) > 1900  # varied: almost every drawn story is distinct


@pytest.mark.parametrize("task", TASKS)
def test_synthetic_glue_tasks_are_deterministic_and_disjoint(task):
    first = synthetic.generate_glue_task(task, 5, 200, 50)
    assert first == synthetic.generate_glue_task(task, 5, 200, 50)
    train_texts = {(a, b) for a, b, _ in first["train"]}
    assert not any((a, b) in train_texts for a, b, _ in first["dev"])
    labels = [label for _, _, label in first["train"]]
    assert 0.3 < sum(labels) / len(labels) < 0.85  # both classes present


def test_sentiment_negation_flips_the_label():
    import random

    rng = random.Random(0)
    examples = [synthetic.sentiment_example(rng) for _ in range(400)]
    negated = [(text, label) for text, _, label in examples if " not " in text]
    assert any(label == 1 for _, label in negated) and any(label == 0 for _, label in negated)
    assert all(label == 0 for text, _, label in examples if "did not love" in text)
    assert all(label == 1 for text, _, label in examples if "did not hate" in text)


def test_story_parser_drops_trailing_fragment_and_joins_formats():
    txt_release = "One day, Lily smiled.\nShe said \u201chi\u201d.\n<|endoftext|>\nTom ran.\n<|endoftext|>\nA cut-off fra"
    hub_export = "One day, Lily smiled.\n\nShe said \u00e2\u20ac\u0153hi\u00e2\u20ac.\n<|endoftext|>\nTom ran.\n<|endoftext|>\n"
    assert parse_story_text(txt_release).stories == parse_story_text(hub_export).stories == [
        "One day, Lily smiled.\nShe said \u201chi\u201d.", "Tom ran."]
    assert parse_story_text(txt_release).dropped_fragment_chars == len("A cut-off fra")
    assert normalize_story("it\u00e2\u20ac\u2122s") == "it\u2019s"


def test_local_tinystories_counts(shared_data):
    train_file = load_local_stories(shared_data / "tinystories" / "TinyStories-train.head-2MiB.txt")
    val = load_local_stories(shared_data / "tinystories" / "TinyStories-validation.first1000.hf.txt").stories
    train = train_file.stories
    assert len(train) == 2316 and len(val) == 1000
    assert train_file.dropped_fragment_chars > 0  # the file is the first 2 MiB: its last story is cut off
    assert not any("\u00e2\u20ac" in story for story in val)
    assert load_local_stories(shared_data / "tinystories" / "TinyStories-train.head-2MiB.txt", limit=10).stories == train[:10]


@pytest.mark.parametrize("task, split, rows, positive", [
    ("mrpc", "train", 3668, 2474), ("mrpc", "dev", 408, 279),
    ("sst2", "train", 67349, 37569), ("sst2", "dev", 872, 444),
    ("cola", "train", 8551, 6023), ("cola", "dev", 1043, 721),
])
def test_local_glue_counts_and_balance(shared_data, task, split, rows, positive):
    examples = load_glue_data_tsv(shared_data / "glue", task, split)
    assert len(examples) == rows
    assert sum(e.label for e in examples) == positive
    assert (examples[0].sentence2 is not None) == (task == "mrpc")


def test_hub_loaders_run_through_datasets_on_local_parquet(shared_data, tmp_path):
    """The hub code path, offline: a local copy of the repositories' parquet layout."""
    import pandas as pd

    dev = load_glue_data_tsv(shared_data / "glue", "mrpc", "dev")
    (tmp_path / "glue" / "mrpc").mkdir(parents=True)
    pd.DataFrame({"sentence1": [e.sentence1 for e in dev], "sentence2": [e.sentence2 for e in dev],
                  "label": [e.label for e in dev], "idx": range(len(dev))}).to_parquet(
        tmp_path / "glue" / "mrpc" / "validation-00000-of-00001.parquet")
    assert load_glue_hub(str(tmp_path / "glue"), "mrpc", "dev") == dev

    stories = load_local_stories(shared_data / "tinystories" / "TinyStories-validation.first1000.hf.txt").stories
    (tmp_path / "ts" / "data").mkdir(parents=True)
    pd.DataFrame({"text": stories}).to_parquet(tmp_path / "ts" / "data" / "validation-00000-of-00001.parquet")
    assert load_hub_stories(str(tmp_path / "ts"), "validation", 25) == stories[:25]


def test_prepared_layout_reports_source_and_overlap(tiny_config, tmp_path):
    manifest = write_corpus(load_corpus(tiny_config.data, tiny_config.glue.tasks), tmp_path)
    assert manifest["source"] == "synthetic" and "SYNTHETIC" in manifest["source_description"]
    assert manifest["lm_val_in_train_fraction"] == 0.0
    assert (tmp_path / "glue" / "cola" / "dev.jsonl").is_file()


def test_hub_sources_fail_fast_offline_and_name_alternatives(tiny_config, monkeypatch):
    from pipeline.config import TokenizerConfig
    from pipeline.data.hub import HubUnavailableError, require_hub
    from pipeline.data.tokenize import build_tokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_data = tiny_config.data.model_copy(update={"source": "hub"})
    with pytest.raises(HubUnavailableError, match="data.source: local"):
        load_corpus(hub_data, ["mrpc"])
    with pytest.raises(HubUnavailableError, match="bert_vocab_file"):
        build_tokenizer(TokenizerConfig(kind="bert_hub", vocab_size=10, vocab_file="x", hub_name="bert-base-uncased"), [])
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(HubUnavailableError, match="unreachable"):
        require_hub("test", host="127.0.0.1", timeout_s=1.0)  # nothing listens on port 443 here
