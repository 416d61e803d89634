"""DVC stage `sparsity`: ternary code statistics per layer and module, for every named run."""

from pipeline.io import atomic_path, write_json
from pipeline.sparsity import run_sparsity, zero_pct_by_depth
from pipeline.layout import ROLES, RunPaths
from stages.common import main


def run(cfg, args) -> None:
    paths = {(role, seed): RunPaths.for_run(role, seed).model for role in ROLES for seed in cfg.train.seeds}
    table, summary = run_sparsity(paths, tuple(cfg.sparsity.middle_band))
    with atomic_path("metrics/sparsity_layers.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_path("metrics/plots/sparsity_by_depth.csv") as tmp:
        zero_pct_by_depth(table).to_csv(tmp, index=False, float_format="%.4f")
    write_json("metrics/sparsity.json", summary)


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "sparsity")
