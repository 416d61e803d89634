"""DVC stage `glue_sweep`: the fine-tuning learning rate and epochs per task, chosen on a held-out
slice of the training rows by the FP32 twin of the first main seed (glue.sweep; ``lrs: []`` keeps
glue.lr and glue.epochs). Writes metrics/glue_sweep.json, which every GLUE fine-tune reads."""

from pipeline.io import write_json
from pipeline.layout import Outputs, RunPaths
from pipeline.model.checkpoint import load_model
from pipeline.training.distributed import resolve_device
from pipeline.training.glue import sweep_task, unswept
from stages.common import main

SWEEP_ROLE = "baseline"  # the FP32 twin: the sweep must not favour the model under test


def run(cfg, args) -> None:
    outputs, device = Outputs(), resolve_device(cfg.train.device)
    if not cfg.glue.sweep.lrs:
        write_json(outputs.glue_sweep, unswept(cfg.glue))
        return
    seed = cfg.train.seeds[0]
    model_path = RunPaths.for_run(SWEEP_ROLE, seed).model
    choices = {task: sweep_task(lambda: load_model(model_path, device)[0].train(), outputs.tokenizer,
                                outputs.prepared, task, cfg.glue, seed, cfg.train.threads, device)
               for task in cfg.glue.tasks}
    write_json(outputs.glue_sweep, {task: {**choice, "role": SWEEP_ROLE, "seed": seed} for task, choice in choices.items()})


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "glue_sweep")
