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
