"""Report figures (seaborn/matplotlib), each saved as a PNG with fixed metadata so that unchanged
inputs give identical bytes. The functions only draw what the stages measured."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report is rendered by papermill without a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

ROLE_LABELS = {"studied": "studied model", "baseline": "FP32 baseline"}


def save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" stamp: the PNG bytes then depend on the data alone, not the matplotlib version.
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def loss_curves(curves: pd.DataFrame, path: Path) -> Path:
    """One panel per model, one line per seed: training loss (label-smoothed) against step."""
    sns.set_theme(style="whitegrid")
    grid = sns.relplot(data=curves.assign(model=curves["role"].map(ROLE_LABELS)), x="step", y="loss",
                       hue="seed", col="model", kind="line", palette="tab10", height=3.2, aspect=1.3)
    grid.set_axis_labels("optimizer step", "training loss (label-smoothed)")
    return save(grid.figure, path)


def generalization(ppl: pd.DataFrame, path: Path) -> Path:
    """Train vs validation perplexity per model (bars: mean over seeds, points: seeds)."""
    long = ppl.melt(id_vars=["role", "seed"], value_vars=["train_ppl", "val_ppl"], var_name="split", value_name="ppl")
    long["model"] = long["role"].map(ROLE_LABELS)
    long["split"] = long["split"].map({"train_ppl": "train", "val_ppl": "validation"})
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    sns.barplot(data=long, x="model", y="ppl", hue="split", errorbar=None, ax=ax, alpha=0.7)
    sns.stripplot(data=long, x="model", y="ppl", hue="split", dodge=True, jitter=False, ax=ax, legend=False,
                  palette="dark:black", size=4)
    ax.set_ylabel("perplexity (no label smoothing)")
    ax.set_xlabel("")
    return save(fig, path)


def sparsity_heatmap(layers: pd.DataFrame, path: Path) -> Path:
    """Zero fraction (%) by layer x module, mean over seeds, one panel per model."""
    roles = [role for role in ("studied", "baseline") if role in set(layers["role"])]
    fig, axes = plt.subplots(1, len(roles), figsize=(6.2 * len(roles), 3.8), squeeze=False, constrained_layout=True)
    for ax, role in zip(axes[0], roles):
        table = (layers[layers["role"] == role].groupby(["layer", "module"])["zero"].mean().mul(100)
                 .unstack("module"))
        sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", vmin=0, vmax=100, ax=ax,
                    cbar_kws={"label": "% zero codes"})
        suffix = "" if role == "studied" else " (if ternarized)"
        ax.set_title(f"{ROLE_LABELS[role]}{suffix}")
        ax.set_ylabel("layer (1-based)")
    return save(fig, path)


def sparsity_by_depth(layers: pd.DataFrame, middle: list[int], gaussian_pct: float, path: Path) -> Path:
    """Zero percentage per layer (weight-count weighted, mean over seeds), middle band shaded."""
    per_layer = (layers.assign(zeros=layers["zero"] * layers["weights"])
                 .groupby(["role", "seed", "layer"])[["zeros", "weights"]].sum().reset_index())
    per_layer["zero_pct"] = per_layer["zeros"] / per_layer["weights"] * 100
    per_layer["model"] = per_layer["role"].map(ROLE_LABELS)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    if middle:
        ax.axvspan(min(middle) - 0.5, max(middle) + 0.5, color="orange", alpha=0.15, label="middle band")
    sns.lineplot(data=per_layer, x="layer", y="zero_pct", hue="model", marker="o", errorbar="sd", ax=ax)
    ax.axhline(gaussian_pct, color="grey", linestyle="--", label=f"Gaussian reference ({gaussian_pct:.1f}%)")
    ax.set_xlabel("layer (1-based)")
    ax.set_xticks(sorted(per_layer["layer"].unique()))
    ax.set_ylabel("% zero codes")
    ax.legend(fontsize=8)
    return save(fig, path)


def glue_scores(glue: pd.DataFrame, path: Path) -> Path:
    """Headline dev metric per task and model (bars: mean, points: seeds)."""
    frame = glue.assign(model=glue["role"].map(ROLE_LABELS))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    sns.barplot(data=frame, x="task", y="headline", hue="model", errorbar=None, ax=ax, alpha=0.7)
    sns.stripplot(data=frame, x="task", y="headline", hue="model", dodge=True, jitter=False, ax=ax, legend=False,
                  palette="dark:black", size=4)
    ax.set_ylabel("dev metric (MRPC F1, SST-2 acc, CoLA MCC)")
    return save(fig, path)
