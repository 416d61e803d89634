"""Layer-wise ternary statistics of every run, pooled: per layer and module, the fractions of weights
coded 0, -1 and +1 and the scale alpha (measured by each train stage, pipeline/model/stats.py).

For the studied model these are its actual ternary codes. For the FP32 baseline they are the codes
its weights *would* get if ternarized with the same rule, which shows what training alone does to
the weight distribution. The reference a Gaussian weight gives under round(w / mean|w|) is
erf(1 / (2 sqrt(pi))) ~ 31.0% zeros: a layer far from it has been shaped by training.

Beside our rule (the paper's quantizer), the zero fraction the same weights give under the other
threshold in use, ternary weight networks' |w| < 0.7 mean|w| (Li et al. 2016; 42.4% for a
Gaussian), so a reader sees which definition could produce a figure; verdicts use ours only.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pipeline.metrics import GAUSSIAN_TWN_ZERO_FRACTION, GAUSSIAN_ZERO_FRACTION
from pipeline.model.stats import LAYER_COLUMNS, depth_summary, middle_layers
from pipeline.analysis.runsets import run_set_labels

RunKey = tuple[str | None, str, int]  # (arm, or None for the main runs; role; seed)


def zero_pct_per_layer(table: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Zero percentage of each layer of each run (``groups`` + seed), its modules weighted by weight
    count: columns ``*groups, seed, layer, zeros, weights, zero_pct``."""
    per = (table.assign(zeros=table["zero"] * table["weights"])
           .groupby([*groups, "seed", "layer"])[["zeros", "weights"]].sum().reset_index())
    return per.assign(zero_pct=per["zeros"] / per["weights"] * 100)


def zero_pct_by_depth(table: pd.DataFrame) -> pd.DataFrame:
    """Zero percentage per layer (weight-count weighted), mean over seeds, one column per run set
    (``studied``, ``baseline`` for the main runs; ``<arm> <role>`` for the arms)."""
    per_run = zero_pct_per_layer(table.assign(run=run_set_labels(table)), ["run"])
    return per_run.groupby(["run", "layer"])["zero_pct"].mean().unstack("run").reset_index()


def run_sparsity(runs: Iterable[tuple[RunKey, pd.DataFrame, float | None]], band: tuple[float, float]
                 ) -> tuple[pd.DataFrame, dict]:
    """The sparsity stage: the per-layer statistics of every (arm or None, role, seed) run, which its
    train stage wrote (``layers.csv``, :func:`pipeline.model.stats.layer_statistics`), their depth
    summary and the share of codes training changed from initialisation
    (``pipeline.model.transformer.code_change_fraction``, from the run's metrics.json); keys
    ``<role>_seed_<s>_...``, for an arm ``arm_<arm>_<role>_seed_<s>_...``."""
    frames, summary = [], {}
    for (arm, role, seed), stats, changed in runs:
        prefix = f"{'' if arm is None else f'arm_{arm}_'}{role}_seed_{seed}_"
        if changed is not None:
            summary[f"{prefix}code_change_fraction"] = changed
        for key, value in depth_summary(stats, band).items():
            summary[f"{prefix}{key}"] = value
        frames.append(stats.assign(arm=arm or "main", role=role, seed=seed))
    table = pd.concat(frames, ignore_index=True)
    summary["middle_layers"] = middle_layers(int(table["layer"].max()), band)
    summary["gaussian_reference_zero_pct"] = GAUSSIAN_ZERO_FRACTION * 100
    summary["gaussian_reference_twn_zero_pct"] = GAUSSIAN_TWN_ZERO_FRACTION * 100
    return table[["arm", "role", "seed", *LAYER_COLUMNS]], summary


# --- sparsity over training: where the weights moved (issue 22 item 3) ---------------------------------

CURVE_COLUMNS = ["run_set", "epoch", "step", "seeds", "zero_pct", "zero_pct_middle", "zero_pct_boundary",
                 "middle_minus_boundary"]


def sparsity_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run set and epoch, the ternary model's zero percentages at the end of the epoch (all block
    layers, the middle band, the boundary layers) and middle minus boundary, mean over the seeds that
    logged that epoch (``runs``: one row per run set, seed and epoch with ``run_set, seed, epoch, step,
    zero_pct, zero_pct_middle, zero_pct_boundary``). Run sets keep their first-seen order, so the main
    runs come first; the step is the first seed's (seeds of one run set train the same schedule)."""
    if runs.empty:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    runs = runs.assign(middle_minus_boundary=runs["zero_pct_middle"] - runs["zero_pct_boundary"])
    order = {name: index for index, name in enumerate(dict.fromkeys(runs["run_set"]))}
    curves = (runs.groupby(["run_set", "epoch"], sort=False)
              .agg(step=("step", "first"), seeds=("seed", "nunique"), zero_pct=("zero_pct", "mean"),
                   zero_pct_middle=("zero_pct_middle", "mean"), zero_pct_boundary=("zero_pct_boundary", "mean"),
                   middle_minus_boundary=("middle_minus_boundary", "mean"))
              .reset_index())
    curves = curves.sort_values(["run_set", "epoch"], key=lambda col: col.map(order) if col.name == "run_set" else col)
    return curves[CURVE_COLUMNS].reset_index(drop=True)
