"""DVC stage `sparsity`: ternary code statistics per layer and module, for every named run and arm."""

import pandas as pd

from pipeline.errors import MissingInputError
from pipeline.io import atomic_path, read_json, write_json
from pipeline.config import ROLES
from pipeline.layout import Outputs, RunPaths
from pipeline.analysis.runsets import run_set_columns
from pipeline.analysis.sparsity import run_sparsity, zero_pct_by_depth
from stages.common import main


def _run_statistics(paths: RunPaths) -> tuple[pd.DataFrame, float | None]:
    """A finished run's per-layer code statistics and the share of its codes that moved from
    initialisation, both measured by its train stage (``layers.csv``, ``code_change_fraction`` in
    metrics.json); the checkpoint itself is not read."""
    if not paths.layers.is_file():
        raise MissingInputError(f"{paths.layers} not found: train that run first (dvc repro), "
                                "or restore its study archive (python -m pipeline.analysis.archive --restore)")
    stats = pd.read_csv(paths.layers)
    return stats, read_json(paths.metrics).get("code_change_fraction")


def run(cfg, args) -> None:
    paths = {(None, role, seed): RunPaths.for_run(role, seed) for role in ROLES for seed in cfg.train.seeds}
    paths |= {(arm, role, seed): RunPaths.for_run(role, seed, arm=arm)
              for arm in cfg.arms.run for role in cfg.arms.defs[arm].roles for seed in cfg.arms.seeds}
    runs = ((key, *_run_statistics(run_paths)) for key, run_paths in paths.items())
    table, summary = run_sparsity(runs, tuple(cfg.sparsity.middle_band))
    outputs = Outputs()
    with atomic_path(outputs.sparsity_layers) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    # fixed columns (every defined arm, empty where it did not run), so dvc.yaml's plot can name them
    with atomic_path(outputs.plot("sparsity_by_depth")) as tmp:
        zero_pct_by_depth(table).reindex(columns=["layer", *run_set_columns(cfg.arms.defs)]).to_csv(tmp, index=False, float_format="%.4f")
    write_json(outputs.metrics("sparsity"), summary)


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "sparsity")
