"""Keep a finished run's small outputs under ``results/<name>/``, so a run made with another
profile (real data on a CPU, the paper's recipe on a GPU) stays committed and readable after
``params.yaml`` goes back to the default.

``python -m pipeline.analysis.archive NAME [--note TEXT]`` copies ``params.yaml``, ``dvc.lock``, ``metrics/``,
``reports/claims.json``, ``reports/figures/`` and the per-run JSON/TSV files of the seeds and arms the
params name; the main report pools each archive's verdicts and shows the CPU study's evidence.
Nothing is recomputed; checkpoints stay in the DVC cache. The archive is assembled beside its target
and swapped in at the end, so an interrupted archive leaves the previous one intact.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipeline.config import load_config
from pipeline.io import write_json
from pipeline.layout import ROLES, RunPaths, arm_dir

RESULTS_DIR = Path("results")


def _assemble(root: Path, staging: Path, name: str, note: str) -> None:
    cfg = load_config(root / "params.yaml")
    for relative in ("params.yaml", "dvc.lock", "reports/claims.json"):
        if (root / relative).is_file():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, staging / relative)
    for folder in ("metrics", "reports/figures"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, staging / folder)
    run_dirs = [RunPaths.for_run(role, seed, root).metrics.parent for role in ROLES for seed in cfg.train.seeds]
    run_dirs += [arm_dir("runs", arm, seed, root) for arm in cfg.arms.run for seed in cfg.arms.seeds]
    for run_dir in run_dirs:
        shutil.copytree(run_dir, staging / run_dir.relative_to(root))
    write_json(staging / "archive.json", {"name": name, "profile": cfg.profile, "note": note,
                                          "seeds": cfg.train.seeds, "data_source": cfg.data.source})


def archive_run(name: str, root: Path = Path("."), note: str = "") -> Path:
    target = root / RESULTS_DIR / name
    staging, old = target.with_name(f".{name}.partial"), target.with_name(f".{name}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    _assemble(root, staging, name, note)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--note", default="", help="what this run is (device, command, wall time)")
    args = parser.parse_args()
    print(f"archived to {archive_run(args.name, note=args.note)}")


if __name__ == "__main__":
    main()
