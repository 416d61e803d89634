from pipeline.config import TokenizerConfig
from pipeline.data import synthetic
from pipeline.data.tokenize import build_tokenizer, encode_stream


def _config(kind: str, vocab_file: str = "unused") -> TokenizerConfig:
    return TokenizerConfig(kind=kind, vocab_size=400, vocab_file=vocab_file, hub_name="bert-base-uncased")


def test_trained_wordpiece_round_trips_and_is_deterministic():
    train, _ = synthetic.generate_corpus(0, 300, 5)
    first = build_tokenizer(_config("trained_wordpiece"), train)
    second = build_tokenizer(_config("trained_wordpiece"), train)
    assert first.to_str() == second.to_str()
    text = "once upon a time, there was a little cat named lily."
    assert first.decode(first.encode(text, add_special_tokens=False).ids) == text


def test_stream_has_one_end_marker_per_story():
    train, _ = synthetic.generate_corpus(0, 300, 5)
    tokenizer = build_tokenizer(_config("trained_wordpiece"), train)
    stream, starts = encode_stream(tokenizer, train[:20])
    assert (stream == tokenizer.token_to_id("[SEP]")).sum() == 20
    assert len(starts) == 21 and starts[0] == 0 and starts[-1] == len(stream)
    assert (stream[starts[1:] - 1] == tokenizer.token_to_id("[SEP]")).all()  # each story ends at its marker


def test_bert_vocab_file_matches_hub_ids(shared_data):
    vocab = shared_data / "tokenizer" / "bert-base-uncased" / "vocab.txt"
    tokenizer = build_tokenizer(_config("bert_vocab_file", str(vocab)), [])
    assert tokenizer.get_vocab_size() == 30522
    assert tokenizer.encode("Hello world").ids == [101, 7592, 2088, 102]


def test_paper_code_streams_cls_story_sep_windows_as_the_notebook_did(tmp_path):
    """The notebook's FastDataset: every story tokenized as [CLS] story [SEP], all joined into one
    stream, cut into consecutive windows; checked against a stream written out by hand."""
    import numpy as np
    import yaml

    from pipeline.config import parse_config
    from pipeline.data.tokenizer import bert_uncased
    from pipeline.training.evaluate import StreamWindows
    from tests.conftest import PROJECT_ROOT, deep_update, raw_params

    profile = yaml.safe_load((PROJECT_ROOT / "profiles" / "paper-code.yaml").read_text())
    cfg = parse_config(deep_update(raw_params(), {"tokenizer": {"story_wrap": profile["tokenizer"]["story_wrap"]},
                                                 "train": {"sequences": profile["train"]["sequences"]}}))
    assert (cfg.tokenizer.story_wrap, cfg.train.sequences) == ("cls_sep", "stream")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "a", "dog", "ran", "far"]
    tokenizer = bert_uncased({word: i for i, word in enumerate(words)})
    stream, starts = encode_stream(tokenizer, ["The cat sat.", "A dog ran far"], wrap=cfg.tokenizer.story_wrap)
    #        [CLS] the cat sat .(unk) [SEP] [CLS] a  dog ran far [SEP]
    by_hand = [2, 5, 6, 7, 1, 3, 2, 8, 9, 10, 11, 3]
    assert stream.tolist() == by_hand and starts.tolist() == [0, 6, 12]
    windows = StreamWindows(stream, seq_len=4)
    inputs, targets = windows.batch(np.arange(len(windows)))
    assert inputs.tolist() == [by_hand[0:4], by_hand[4:8]]  # consecutive, not one per story
    assert targets.tolist() == [by_hand[1:5], by_hand[5:9]]
