"""DVC stages `train_studied@seed` / `train_baseline@seed` (one model of the main runs) and
`train_arm@<arm>-<seed>` (every role of one arm of ``arms.defs``, with the arm's changes applied).

With ``train.processes: N`` > 1 the stage re-launches itself under ``torchrun`` with N processes
(DistributedDataParallel: gloo on CPU, NCCL on CUDA).
"""

import os
import sys
from pathlib import Path

from pipeline.config import ROLES
from pipeline.layout import RunPaths
from pipeline.training.train import train_language_model
from stages.common import main

TOKENS = Path("data/tokens")


def options(p) -> None:
    p.add_argument("--role", choices=ROLES, help="the main runs' studied model or baseline")
    p.add_argument("--arm", help="an arm of arms.defs instead: trains each of its roles")
    p.add_argument("--seed", type=int, required=True)


def run(cfg, args) -> None:
    if (args.role is None) == (args.arm is None):
        raise SystemExit("error: give exactly one of --role and --arm")
    seeds = cfg.arms.seeds if args.arm else cfg.train.seeds
    if args.seed not in seeds:
        raise SystemExit(f"error: seed {args.seed} is not in {'arms' if args.arm else 'train'}.seeds {seeds}")
    if cfg.train.processes > 1 and "LOCAL_RANK" not in os.environ:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={cfg.train.processes}", "-m", "stages.train", *sys.argv[1:]]
        os.execv(sys.executable, command)  # replaces this process; torchrun starts the workers
    if args.role:
        train_language_model(cfg, args.role, args.seed, TOKENS, RunPaths.for_run(args.role, args.seed))
        return
    arm_cfg = cfg.arm_config(args.arm)
    for role in cfg.arms.defs[args.arm].roles:
        train_language_model(arm_cfg, role, args.seed, TOKENS, RunPaths.for_run(role, args.seed, arm=args.arm))


if __name__ == "__main__":
    main(__doc__, run, options)
