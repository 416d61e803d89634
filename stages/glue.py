"""DVC stage `glue_studied@seed` / `glue_baseline@seed`: fine-tune one checkpoint on every task."""

from pipeline.training.glue import finetune_all
from pipeline.io import write_json
from pipeline.training.distributed import resolve_device
from pipeline.config import ROLES
from pipeline.layout import Outputs, RunPaths
from stages.common import main


def options(p) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--seed", type=int, required=True)


def run(cfg, args) -> None:
    paths = RunPaths.for_run(args.role, args.seed)
    results = finetune_all(paths.model, Outputs().tokenizer, Outputs().prepared, cfg.glue,
                           args.seed, cfg.train.threads, resolve_device(cfg.train.device))
    write_json(paths.glue, results)


if __name__ == "__main__":
    main(__doc__, run, options, timing_name=lambda args: f"glue_{args.role}_seed_{args.seed}")
