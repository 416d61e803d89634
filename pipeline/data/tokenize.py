"""The tokenize stage: build the tokenizer (trained WordPiece, or bert-base-uncased from a vocab file
or the hub; its rules are ``pipeline/data/tokenizer.py``) and encode the token arrays the language
model trains on.

Stories are encoded without special tokens and joined into one stream, each story followed by
``[SEP]`` as its end-of-text marker, with every story's start offset beside it
(``pipeline/data/tokens.py`` writes and reads the arrays).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece
from tqdm import tqdm

from pipeline.errors import InputError, MissingInputError
from pipeline.config import TokenizerConfig
from pipeline.data.hub import require_hub
from pipeline.io import atomic_path
from pipeline.data.tokenizer import CLS, END_OF_STORY, PAD, SPECIAL_TOKENS, UNK, bert_uncased
from pipeline.data.tokens import save_tokens, token_dtype


def wordpiece_vocabulary(texts: list[str], vocab_size: int, min_frequency: int = 2) -> list[str]:
    """A deterministic WordPiece vocabulary: special tokens, every character (word-initial and
    ``##`` continuation, so any word can be spelled), then whole words by frequency, ties broken
    alphabetically, up to ``vocab_size``.

    Why not ``tokenizers``' WordPiece trainer: it breaks frequency ties in the iteration order of a
    Rust HashMap, which is randomised per process, so two runs on the same corpus give different
    vocabularies (measured: 5 distinct vocabularies in 6 runs). A pipeline whose reruns must be
    byte-identical cannot use that; normalisation and pre-tokenisation still come from
    ``tokenizers`` (BERT's uncased rules), and encoding is its WordPiece model.
    """
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({char for word in counts for char in word})
    vocab = SPECIAL_TOKENS + characters + [f"##{char}" for char in characters]
    if vocab_size < len(vocab):
        raise InputError(f"tokenizer.vocab_size {vocab_size} is below the {len(vocab)} entries this corpus needs "
                         f"({len(SPECIAL_TOKENS)} special tokens and {len(characters)} characters, each word-initial "
                         f"and ##-continued, so that any word can be spelled): raise it to at least {len(vocab)}")
    words = sorted((w for w, n in counts.items() if n >= min_frequency and len(w) > 1), key=lambda w: (-counts[w], w))
    vocab += words[:max(vocab_size - len(vocab), 0)]
    return vocab


def build_tokenizer(cfg: TokenizerConfig, train_texts: list[str], project_root: Path = Path(".")) -> Tokenizer:
    """The tokenizer ``cfg.kind`` names; the trained one is a pure function of the corpus."""
    if cfg.kind == "trained_wordpiece":
        vocab = wordpiece_vocabulary(train_texts, cfg.vocab_size)
        return bert_uncased({token: i for i, token in enumerate(vocab)})
    if cfg.kind == "bert_vocab_file":
        path = project_root / cfg.vocab_file
        if not path.is_file():
            raise MissingInputError(f"tokenizer.vocab_file {path} not found: point it at bert-base-uncased's "
                                    f"vocab.txt (../shared/data/tokenizer/bert-base-uncased/vocab.txt)")
        # Lower-casing with accent stripping and BERT's pre-tokenizer: the ids equal the hub's
        # bert-base-uncased tokenizer ("Hello world" -> 101 7592 2088 102).
        return bert_uncased(WordPiece.read_file(str(path)))
    require_hub(f"tokenizer.kind: bert_hub ({cfg.hub_name!r})")
    return Tokenizer.from_pretrained(cfg.hub_name)


def encode_stream(tokenizer: Tokenizer, texts: list[str], desc: str = "encode", batch: int = 1024,
                  wrap: str = "sep") -> tuple[np.ndarray, np.ndarray]:
    """All ``texts`` as one token stream, each followed by the end-of-story token (``wrap="cls_sep"``:
    also preceded by ``[CLS]``, as the notebook's stream was), and the offsets where each story starts
    (with the stream length appended), for per-story sequences and story-count limits."""
    eos = tokenizer.token_to_id(END_OF_STORY)
    head = [tokenizer.token_to_id(CLS)] if wrap == "cls_sep" else []
    dtype = token_dtype(tokenizer.get_vocab_size())
    pieces: list[np.ndarray] = []
    for start in tqdm(range(0, len(texts), batch), desc=desc, unit="batch", leave=False):
        for encoding in tokenizer.encode_batch(texts[start:start + batch], add_special_tokens=False):
            pieces.append(np.asarray(head + encoding.ids + [eos], dtype=dtype))
    starts = np.concatenate([[0], np.cumsum([len(piece) for piece in pieces], dtype=np.int64)]).astype(np.int64)
    return (np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)), starts


def unknown_fraction(tokenizer: Tokenizer, tokens: np.ndarray) -> float:
    unk = tokenizer.token_to_id(UNK)
    return float((np.asarray(tokens) == unk).mean()) if len(tokens) else 0.0


def tokenize_corpus(cfg: TokenizerConfig, data_dir: Path, out_dir: Path, project_root: Path = Path(".")) -> dict:
    """The tokenize stage: build the tokenizer, encode train and validation streams, write
    ``tokenizer.json``, ``train.npy``, ``val.npy`` and ``tokens.json`` (counts); return the counts."""
    from pipeline.data.prepared import read_lm_split
    from pipeline.io import read_json, write_json

    train_texts, val_texts = read_lm_split(data_dir, "train"), read_lm_split(data_dir, "val")
    tokenizer = build_tokenizer(cfg, train_texts, project_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "tokenizer.json") as tmp:
        tokenizer.save(str(tmp))
    train, train_starts = encode_stream(tokenizer, train_texts, "encode train", wrap=cfg.story_wrap)
    val, val_starts = encode_stream(tokenizer, val_texts, "encode val", wrap=cfg.story_wrap)
    for name, array in (("train", train), ("val", val), ("train_starts", train_starts), ("val_starts", val_starts)):
        save_tokens(out_dir / f"{name}.npy", array)
    manifest = read_json(data_dir / "manifest.json")
    counts = {
        "tokenizer": cfg.kind,
        "vocab_size": tokenizer.get_vocab_size(),
        "pad_id": tokenizer.token_to_id(PAD),
        "train_tokens": int(len(train)),
        "val_tokens": int(len(val)),
        "train_stories": len(train_texts),
        "val_stories": len(val_texts),
        "train_unknown_fraction": unknown_fraction(tokenizer, train),
        "val_unknown_fraction": unknown_fraction(tokenizer, val),
        "train_fingerprint": manifest["lm_train_fingerprint"],
        "data_source": manifest["source"],
    }
    write_json(out_dir / "tokens.json", counts)
    return counts
