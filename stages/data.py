"""DVC stage `data`: gather the LM corpus and GLUE tasks from the configured source."""

from pathlib import Path

from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.io import write_json
from stages.common import main


def run(cfg, args) -> None:
    manifest = write_corpus(load_corpus(cfg.data, cfg.glue.tasks), Path("data/prepared"))
    write_json("metrics/data.json", {k: v for k, v in manifest.items() if k != "glue"} | manifest["glue"])


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "data")
