"""The tokenizer every stage shares: BERT's uncased rules over a WordPiece vocabulary, its special
tokens, and loading the ``tokenizer.json`` the tokenize stage wrote. No data source is imported here,
so a reader of a trained model (export, the benchmark's peers, fine-tuning) does not depend on them.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = [PAD, UNK, CLS, SEP, MASK]  # BERT's order: the first ids of every vocabulary we build
END_OF_STORY = SEP


def bert_uncased(vocab: dict[str, int]) -> Tokenizer:
    """A WordPiece tokenizer over ``vocab`` with BERT's uncased rules, built from ``tokenizers``'
    public components: BERT's normaliser (clean text, lower case, accents stripped), pre-tokenizer,
    ``[CLS] ... [SEP]`` post-processor and ``##`` decoder, and the special tokens registered."""
    tokenizer = Tokenizer(WordPiece(vocab, unk_token=UNK))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                      lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing((SEP, vocab[SEP]), (CLS, vocab[CLS]))
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens([token for token in SPECIAL_TOKENS if token in vocab])
    return tokenizer


def load_tokenizer(path: str | Path) -> Tokenizer:
    """The tokenizer a ``tokenizer.json`` describes; a missing or unreadable file is an InputError."""
    from pipeline.errors import InputError, MissingInputError

    if not Path(path).is_file():
        raise MissingInputError(f"tokenizer {path} not found: run the tokenize stage (dvc repro tokenize)")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a file it cannot parse
        raise InputError(f"tokenizer {path} is unreadable ({' '.join(str(exc).split())[:160]}): give the "
                         f"tokenizer.json the tokenize stage wrote") from None
