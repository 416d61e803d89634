"""Report figures (seaborn/matplotlib), each saved as a PNG with fixed metadata so that unchanged
inputs give identical bytes. The functions only draw what the stages measured."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report is rendered by papermill without a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from pipeline.io import atomic_path  # noqa: E402
from pipeline.analysis.sparsity import zero_pct_per_layer  # noqa: E402

ROLE_LABELS = {"studied": "studied model", "baseline": "FP32 baseline"}
# Every figure draws in this style, whatever was drawn before it (no global theme).
STYLE = {"axes.grid": True, "grid.color": ".9", "axes.edgecolor": ".8"}


def styled(draw):
    """Decorator: run a figure function inside the report's seaborn style (not a global theme)."""
    def wrapper(*args, **kwargs):
        with sns.axes_style("whitegrid", STYLE):
            return draw(*args, **kwargs)
    wrapper.__doc__, wrapper.__name__ = draw.__doc__, draw.__name__
    return wrapper


def save(fig: plt.Figure, path: Path) -> Path:
    # No "Software" stamp: the PNG bytes then depend on the data alone, not the matplotlib version.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


@styled
def loss_curves(curves: pd.DataFrame, path: Path) -> Path:
    """One panel per model, one line per seed: training loss (label-smoothed) against step."""
    grid = sns.relplot(data=curves.assign(model=curves["role"].map(ROLE_LABELS)), x="step", y="loss",
                       hue="seed", col="model", kind="line", palette="tab10", height=3.2, aspect=1.3)
    grid.set_axis_labels("optimizer step", "training loss (label-smoothed)")
    return save(grid.figure, path)


@styled
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


@styled
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


@styled
def sparsity_by_depth(layers: pd.DataFrame, middle: list[int], gaussian_pct: float, path: Path) -> Path:
    """Zero percentage per layer (weight-count weighted, mean over seeds), middle band shaded."""
    per_layer = zero_pct_per_layer(layers, ["role"])
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


@styled
def glue_scores(glue: pd.DataFrame, path: Path) -> Path:
    """Headline dev metric per task and model (bars: mean, points: seeds)."""
    frame = glue.assign(model=glue["role"].map(ROLE_LABELS))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    sns.barplot(data=frame, x="task", y="headline", hue="model", errorbar=None, ax=ax, alpha=0.7)
    sns.stripplot(data=frame, x="task", y="headline", hue="model", dodge=True, jitter=False, ax=ax, legend=False,
                  palette="dark:black", size=4)
    ax.set_ylabel("dev metric (MRPC F1, SST-2 acc, CoLA MCC)")
    return save(fig, path)


@styled
def epoch_curves(epochs: pd.DataFrame, path: Path, arms: tuple[str, ...] = ("main", "long_training")) -> Path:
    """Train and validation loss at each epoch end (true NLL, eval mode), mean over seeds with their
    spread, one panel per run set with both models: where the curves part, the model overfits."""
    frame = epochs[epochs["arm"].isin(arms)].assign(model=lambda f: f["role"].map(ROLE_LABELS))
    grid = sns.relplot(data=frame, x="epoch", y="loss", hue="model", style="split", col="arm", kind="line",
                       errorbar="sd", height=3.3, aspect=1.25, facet_kws={"sharex": False})
    grid.set_axis_labels("epoch", "loss (nats/token, no smoothing)")
    return save(grid.figure, path)


@styled
def sparsity_by_depth_runs(depth: pd.DataFrame, middle: list[int], references: dict[str, float], path: Path) -> Path:
    """Zero percentage per layer of each run set (``depth``: layer + one column per run set, mean
    over seeds), the middle band shaded, and horizontal reference levels (e.g. the Gaussian's)."""
    long = depth.melt(id_vars="layer", var_name="run", value_name="zero_pct").dropna()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if middle:
        ax.axvspan(min(middle) - 0.5, max(middle) + 0.5, color="orange", alpha=0.15, label="middle band")
    sns.lineplot(data=long, x="layer", y="zero_pct", hue="run", marker="o", ax=ax)
    for (label, level), style in zip(references.items(), ("--", ":")):
        ax.axhline(level, color="grey", linestyle=style, label=f"{label} ({level:.1f}%)")
    ax.set_xticks(sorted(long["layer"].unique()))
    ax.set_xlabel("layer (1-based)")
    ax.set_ylabel("% zero codes (round(w / mean|w|))")
    ax.legend(fontsize=7, ncol=2)
    return save(fig, path)
