"""DVC stage `sparsity`: ternary code statistics per layer and module, for every named run and arm."""

from pipeline.model.checkpoint import initial_model, load_model
from pipeline.model.transformer import code_change_fraction
from pipeline.io import atomic_path, write_json
from pipeline.config import ROLES
from pipeline.layout import Outputs, RunPaths
from pipeline.analysis.runsets import run_set_columns
from pipeline.analysis.sparsity import run_sparsity, zero_pct_by_depth
from stages.common import main


def _with_code_change(path):
    """A trained model and the share of its codes that moved from the run's initialisation."""
    model, meta = load_model(path)
    return model, code_change_fraction(model, initial_model(meta))


def run(cfg, args) -> None:
    paths = {(None, role, seed): RunPaths.for_run(role, seed).model for role in ROLES for seed in cfg.train.seeds}
    paths |= {(arm, role, seed): RunPaths.for_run(role, seed, arm=arm).model
              for arm in cfg.arms.run for role in cfg.arms.defs[arm].roles for seed in cfg.arms.seeds}
    models = ((key, *_with_code_change(path)) for key, path in paths.items())  # one checkpoint in memory at a time
    table, summary = run_sparsity(models, tuple(cfg.sparsity.middle_band))
    outputs = Outputs()
    with atomic_path(outputs.sparsity_layers) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    # fixed columns (every defined arm, empty where it did not run), so dvc.yaml's plot can name them
    with atomic_path(outputs.plot("sparsity_by_depth")) as tmp:
        zero_pct_by_depth(table).reindex(columns=["layer", *run_set_columns(cfg.arms.defs)]).to_csv(tmp, index=False, float_format="%.4f")
    write_json(outputs.metrics("sparsity"), summary)


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "sparsity")
