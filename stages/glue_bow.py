"""DVC stage `glue_bow`: the bag-of-words reference on every GLUE task (no pre-trained model)."""

from pipeline.io import write_json
from pipeline.layout import Outputs
from pipeline.training.bow import bow_all
from stages.common import main


def run(cfg, args) -> None:
    outputs = Outputs()
    # The data seed (it shuffles the folds): the reference depends on the data alone, not on a run's seed.
    # The training rows are the fine-tunes' (glue.max_train_examples); data.glue_max_train_examples was
    # already applied when the data stage wrote data/prepared.
    results = bow_all(outputs.tokenizer, outputs.prepared, cfg.glue.tasks, cfg.data.seed,
                      cfg.glue.max_train_examples, cfg.train.threads)
    write_json(outputs.metrics("glue_bow"), results)


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "glue_bow")
