"""Keep a finished run's small outputs under ``results/<name>/``, so a run made with another
profile (real data on a CPU, the paper's recipe on a GPU) stays committed and readable after
``params.yaml`` goes back to the default.

``python -m pipeline.archive NAME [--note TEXT]`` copies ``params.yaml``, ``dvc.lock``, ``metrics/``,
``reports/claims.json``, ``reports/figures/`` and the per-run JSON/TSV files of the seeds the params
name; the main report's "Archived runs" section shows each archive's claims and note. Nothing is
recomputed; checkpoints stay in the DVC cache.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipeline.config import load_config
from pipeline.io import write_json
from pipeline.layout import ROLES, RunPaths

RESULTS_DIR = Path("results")


def archive_run(name: str, root: Path = Path("."), note: str = "") -> Path:
    cfg = load_config(root / "params.yaml")
    target = root / RESULTS_DIR / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for relative in ("params.yaml", "dvc.lock", "reports/claims.json"):
        if (root / relative).is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, target / relative)
    for folder in ("metrics", "reports/figures"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, target / folder)
    for role in ROLES:
        for seed in cfg.train.seeds:
            run_dir = RunPaths.for_run(role, seed, root).metrics.parent
            shutil.copytree(run_dir, target / run_dir.relative_to(root))
    write_json(target / "archive.json", {"name": name, "profile": cfg.profile, "note": note,
                                         "seeds": cfg.train.seeds, "data_source": cfg.data.source})
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--note", default="", help="what this run is (device, command, wall time)")
    args = parser.parse_args()
    print(f"archived to {archive_run(args.name, note=args.note)}")


if __name__ == "__main__":
    main()
