"""DVC stage `train_studied@seed` / `train_baseline@seed`: pre-train one model for one seed.

With ``train.processes: N`` > 1 the stage re-launches itself under ``torchrun`` with N processes
(DistributedDataParallel: gloo on CPU, NCCL on CUDA).
"""

import os
import sys
from pathlib import Path

from pipeline.train import ROLES, RunPaths, train_language_model
from stages.common import main


def options(p) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--seed", type=int, required=True)


def run(cfg, args) -> None:
    if args.seed not in cfg.train.seeds:
        raise SystemExit(f"error: seed {args.seed} is not in train.seeds {cfg.train.seeds}")
    if cfg.train.processes > 1 and "LOCAL_RANK" not in os.environ:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={cfg.train.processes}", "-m", "stages.train", *sys.argv[1:]]
        os.execv(sys.executable, command)  # replaces this process; torchrun starts the workers
    train_language_model(cfg, args.role, args.seed, Path("data/tokens"), RunPaths.for_run(args.role, args.seed))


if __name__ == "__main__":
    main(__doc__, run, options)
