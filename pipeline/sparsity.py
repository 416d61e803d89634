"""Layer-wise ternary statistics: per layer and module, the fractions of weights coded 0, -1 and +1
and the scale alpha.

For the studied model these are its actual ternary codes. For the FP32 baseline they are the codes
its weights *would* get if ternarized with the same rule, which shows what training alone does to
the weight distribution. The reference a Gaussian weight gives under round(w / mean|w|) is
erf(1 / (2 sqrt(pi))) ~ 31.0% zeros: a layer far from it has been shaped by training.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from pipeline.checkpoint import load_model
from pipeline.quant import absmean_scale, ternary_codes

# P(|w| < alpha / 2) for w ~ N(0, s^2) and alpha = E|w| = s sqrt(2 / pi).
GAUSSIAN_ZERO_FRACTION = math.erf(1.0 / (2.0 * math.sqrt(math.pi)))


def layer_statistics(model_path: Path) -> pd.DataFrame:
    """One row per block linear layer: layer (1-based), module, zero/neg/pos fractions, scale."""
    model, meta = load_model(model_path)
    rows = []
    for name, layer in model.quant_layers().items():
        weight = layer.weight.detach()
        scale = layer.effective_scale() if meta["quant"] != "fp32" else absmean_scale(weight)
        codes = ternary_codes(weight, scale)
        _, index, group, module = name.split(".")  # blocks.<i>.<attn|mlp>.<wq|...>
        rows.append({"layer": int(index) + 1, "module": f"{group}.{module}", "zero": float((codes == 0).float().mean()),
                     "neg": float((codes < 0).float().mean()), "pos": float((codes > 0).float().mean()),
                     "scale": float(scale), "weights": weight.numel()})
    return pd.DataFrame(rows)


def middle_layers(n_layers: int, band: tuple[float, float]) -> list[int]:
    """1-based layers whose relative depth l / L lies in ``band`` ([0.4, 0.75] gives L5-L9 of 12)."""
    return [layer for layer in range(1, n_layers + 1) if band[0] <= layer / n_layers <= band[1]]


def depth_summary(stats: pd.DataFrame, band: tuple[float, float]) -> dict[str, float]:
    """Weight-count-weighted zero percentage of the middle band and of the other (boundary) layers."""
    n_layers = int(stats["layer"].max())
    middle = stats["layer"].isin(middle_layers(n_layers, band))

    def zero_pct(mask: pd.Series) -> float:
        part = stats[mask]
        return float((part["zero"] * part["weights"]).sum() / part["weights"].sum() * 100) if len(part) else float("nan")

    return {"zero_pct_middle": zero_pct(middle), "zero_pct_boundary": zero_pct(~middle),
            "zero_pct_all": zero_pct(middle | ~middle)}


def zero_pct_by_depth(table: pd.DataFrame) -> pd.DataFrame:
    """Zero percentage per layer (weight-count weighted), mean over seeds, one column per role."""
    per_run = (table.assign(zeros=table["zero"] * table["weights"]).groupby(["role", "seed", "layer"])[["zeros", "weights"]]
               .sum())
    pct = (per_run["zeros"] / per_run["weights"] * 100).groupby(["role", "layer"]).mean()
    return pct.unstack("role").reset_index()


def run_sparsity(model_paths: dict[tuple[str, int], Path], band: tuple[float, float]) -> tuple[pd.DataFrame, dict]:
    """The sparsity stage: statistics of every (role, seed) checkpoint, and their depth summary."""
    frames, summary = [], {}
    for (role, seed), path in model_paths.items():
        stats = layer_statistics(path)
        for key, value in depth_summary(stats, band).items():
            summary[f"{role}_seed_{seed}_{key}"] = value
        frames.append(stats.assign(role=role, seed=seed))
    table = pd.concat(frames, ignore_index=True)
    n_layers = int(table["layer"].max())
    summary["middle_layers"] = middle_layers(n_layers, band)
    summary["gaussian_reference_zero_pct"] = GAUSSIAN_ZERO_FRACTION * 100
    return table[["role", "seed", "layer", "module", "zero", "neg", "pos", "scale", "weights"]], summary
