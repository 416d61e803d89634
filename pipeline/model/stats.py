"""Ternary code statistics of one model, per block linear layer: the fractions of weights coded 0, -1
and +1, the scale alpha, and the zero fraction of the middle and boundary layers.

The train stage measures them when a run finishes (``layers.csv`` in the run folder) and at every
epoch end (the middle and boundary zero percentages in its curves), so the sparsity tables and the
study archives are made from run folders alone: checkpoints stay scratch for a study that spans
several sittings. For an FP32 model these are the codes its weights *would* get under the same rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pipeline.metrics import TWN_DELTA

if TYPE_CHECKING:
    from pipeline.model.transformer import TransformerLM

__all__ = ["LAYER_COLUMNS", "depth_summary", "layer_statistics", "middle_layers", "weighted_zero_pct"]

LAYER_COLUMNS = ["layer", "module", "zero", "zero_twn", "neg", "pos", "scale", "weights"]


def layer_statistics(model: "TransformerLM") -> pd.DataFrame:
    """One row per block linear layer (:data:`LAYER_COLUMNS`): layer (1-based), module, zero/neg/pos
    fractions of its codes (:meth:`QuantLinear.codes`), the zero fraction under the TWN threshold
    (|w| < 0.7 mean|w|), the scale alpha and the weight count."""
    rows = []
    for name, layer in model.quant_layers().items():
        weight, codes = layer.weight.detach(), layer.codes()
        _, index, group, module = name.split(".")  # blocks.<i>.<attn|mlp>.<wq|...>
        twn_zero = float((weight.abs() < TWN_DELTA * weight.abs().mean()).float().mean())
        rows.append({"layer": int(index) + 1, "module": f"{group}.{module}", "zero": float((codes == 0).float().mean()),
                     "zero_twn": twn_zero,
                     "neg": float((codes < 0).float().mean()), "pos": float((codes > 0).float().mean()),
                     "scale": float(layer.effective_scale()), "weights": weight.numel()})
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


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
