"""Layer-wise ternary statistics: per layer and module, the fractions of weights coded 0, -1 and +1
and the scale alpha.

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
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.metrics import GAUSSIAN_TWN_ZERO_FRACTION, GAUSSIAN_ZERO_FRACTION, TWN_DELTA
from pipeline.analysis.runsets import run_set_labels

if TYPE_CHECKING:  # the statistics take a model; the tables below (the report's) need neither torch nor it
    from pipeline.model.transformer import TransformerLM

RunKey = tuple[str | None, str, int]  # (arm, or None for the main runs; role; seed)


def layer_statistics(model: "TransformerLM") -> pd.DataFrame:
    """One row per block linear layer: layer (1-based), module, zero/neg/pos fractions of its codes
    (:meth:`QuantLinear.codes`), the zero fraction under the TWN threshold, the scale alpha and the
    weight count."""
    rows = []
    for name, layer in model.quant_layers().items():
        weight, codes = layer.weight.detach(), layer.codes()
        _, index, group, module = name.split(".")  # blocks.<i>.<attn|mlp>.<wq|...>
        twn_zero = float((weight.abs() < TWN_DELTA * weight.abs().mean()).float().mean())
        rows.append({"layer": int(index) + 1, "module": f"{group}.{module}", "zero": float((codes == 0).float().mean()),
                     "zero_twn": twn_zero,
                     "neg": float((codes < 0).float().mean()), "pos": float((codes > 0).float().mean()),
                     "scale": float(layer.effective_scale()), "weights": weight.numel()})
    return pd.DataFrame(rows)


def middle_layers(n_layers: int, band: tuple[float, float]) -> list[int]:
    """1-based layers whose relative depth l / L lies in ``band`` ([0.4, 0.75] gives L5-L9 of 12)."""
    return [layer for layer in range(1, n_layers + 1) if band[0] <= layer / n_layers <= band[1]]


def weighted_zero_pct(stats: pd.DataFrame, column: str = "zero") -> float:
    """Zero percentage over the rows of ``stats``, each layer weighted by its weight count."""
    if not len(stats):
        return float("nan")
    return float((stats[column] * stats["weights"]).sum() / stats["weights"].sum() * 100)


def depth_summary(stats: pd.DataFrame, band: tuple[float, float]) -> dict[str, float]:
    """Weight-count-weighted zero percentage of the middle band, of the other (boundary) layers and of
    all, under our rule (``zero_pct_*``) and the TWN threshold (``twn_zero_pct_*``)."""
    middle = stats["layer"].isin(middle_layers(int(stats["layer"].max()), band))
    summary = {}
    for prefix, column in (("", "zero"), ("twn_", "zero_twn")):
        for part, mask in (("middle", middle), ("boundary", ~middle), ("all", middle | ~middle)):
            summary[f"{prefix}zero_pct_{part}"] = weighted_zero_pct(stats[mask], column)
    return summary


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


def run_sparsity(models: Iterable[tuple[RunKey, "TransformerLM", float | None]], band: tuple[float, float]
                 ) -> tuple[pd.DataFrame, dict]:
    """The sparsity stage: statistics of every (arm or None, role, seed) model, taken one at a time
    (the stage loads each checkpoint as it is needed), their depth summary and the share of codes
    training changed from initialisation when the stage measured it
    (``pipeline.model.transformer.code_change_fraction``); keys ``<role>_seed_<s>_...``, for an arm
    ``arm_<arm>_<role>_seed_<s>_...``."""
    frames, summary = [], {}
    for (arm, role, seed), model, changed in models:
        stats = layer_statistics(model)
        del model  # let it go before the generator loads the next checkpoint
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
    columns = ["arm", "role", "seed", "layer", "module", "zero", "zero_twn", "neg", "pos", "scale", "weights"]
    return table[columns], summary
