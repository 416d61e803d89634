"""DVC stage `tokenize`: build the tokenizer and encode the corpus into token arrays."""

from pathlib import Path

from pipeline.io import write_json
from pipeline.tokenization import tokenize_corpus
from stages.common import main


def run(cfg, args) -> None:
    write_json("metrics/tokens.json", tokenize_corpus(cfg.tokenizer, Path("data/prepared"), Path("data/tokens")))


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "tokenize")
