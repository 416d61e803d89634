"""DVC stage `tokenize`: build the tokenizer and encode the corpus into token arrays."""

from pipeline.io import write_json
from pipeline.layout import Outputs
from pipeline.data.tokenize import tokenize_corpus
from stages.common import main


def run(cfg, args) -> None:
    outputs = Outputs()
    write_json(outputs.metrics("tokens"), tokenize_corpus(cfg.tokenizer, outputs.prepared, outputs.tokens_dir))


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "tokenize")
