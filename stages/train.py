"""DVC stage `train_studied@seed` / `train_baseline@seed`: pre-train one model for one seed."""

from pathlib import Path

from pipeline.train import ROLES, RunPaths, train_language_model
from stages.common import main


def options(p) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--seed", type=int, required=True)


def run(cfg, args) -> None:
    if args.seed not in cfg.train.seeds:
        raise SystemExit(f"error: seed {args.seed} is not in train.seeds {cfg.train.seeds}")
    train_language_model(cfg, args.role, args.seed, Path("data/tokens"), RunPaths.for_run(args.role, args.seed))


if __name__ == "__main__":
    main(__doc__, run, options)
