"""DVC stage `glue_studied@seed` / `glue_baseline@seed`: fine-tune one pre-trained checkpoint on every
task; `glue_scratch@<role>-<seed>` (``--scratch``): the same architecture from its initial weights,
fine-tuned identically (the no-pretraining control). Rates and epochs are the glue_sweep stage's."""

from pipeline.config import ROLES
from pipeline.io import read_json, write_json
from pipeline.layout import Outputs, RunPaths, scratch_glue
from pipeline.model.checkpoint import initial_model, load_model
from pipeline.training.distributed import resolve_device
from pipeline.training.glue import finetune_all
from stages.common import main


def options(p) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--scratch", action="store_true", help="from the initial weights instead of the checkpoint")


def run(cfg, args) -> None:
    device, outputs = resolve_device(cfg.train.device), Outputs()
    if args.scratch:
        meta = {"seed": args.seed, "arch": cfg.model.arch_for(args.role).model_dump(),
                "vocab_size": read_json(outputs.metrics("tokens"))["vocab_size"],
                "role": cfg.model.for_role(args.role).model_dump()}
        backbone, target = (lambda: initial_model(meta).to(device).train()), scratch_glue(args.role, args.seed)
    else:
        paths = RunPaths.for_run(args.role, args.seed)
        backbone, target = (lambda: load_model(paths.model, device)[0].train()), paths.glue
    results = finetune_all(backbone, outputs.tokenizer, outputs.prepared, cfg.glue, read_json(outputs.glue_sweep),
                           args.seed, cfg.train.threads, device)
    write_json(target, results)


if __name__ == "__main__":
    main(__doc__, run, options,
         timing_name=lambda args: f"glue_{'scratch_' if args.scratch else ''}{args.role}_seed_{args.seed}")
