"""DVC stage `prepare`: gather the LM corpus and GLUE tasks from the configured source."""

from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.io import write_json
from pipeline.layout import Outputs
from stages.common import main


def run(cfg, args) -> None:
    outputs = Outputs()
    manifest = write_corpus(load_corpus(cfg.data, cfg.glue.tasks), outputs.prepared)
    write_json(outputs.metrics("data"), {k: v for k, v in manifest.items() if k != "glue"} | manifest["glue"])


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "prepare")
