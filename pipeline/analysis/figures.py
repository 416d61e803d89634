"""Report figures (seaborn/matplotlib), each saved as a PNG with fixed metadata so that unchanged
inputs give identical bytes. The functions only draw what the stages measured.

Every figure names models as the text does (:mod:`pipeline.analysis.report.names`: ternary, FP32
twin, the notebook's baseline), puts its legend outside the data, titles its axes with a quantity and
its unit, and scales the y axis to the data; a zero-code axis spans at least
:data:`MIN_ZERO_SPAN_POINTS` so that noise below the claims' 2-point tolerance looks small. Where a
figure shades a band, the report's caption says what the band is (seaborn's ``errorbar="sd"``: one
sample standard deviation over the seeds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the report is rendered by papermill without a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from pipeline.analysis.report.names import column_name, role_name  # noqa: E402
from pipeline.analysis.sparsity import zero_pct_per_layer  # noqa: E402
from pipeline.io import atomic_path  # noqa: E402

# Every figure draws in this style, whatever was drawn before it (no global theme).
STYLE = {"axes.grid": True, "grid.color": ".9", "axes.edgecolor": ".8"}
MIN_ZERO_SPAN_POINTS = 4.0  # twice the sparsity claims' 2-point tolerance
# The regime map's zoom panel: FP32 twin ratios up to this, where a cell that never overfits sits.
REGIME_ZOOM_RATIO = 1.2
ZERO_AXIS = "zero codes (%, round(w / mean|w|))"
LAYER_AXIS = "layer (1-based)"


def styled(draw: Callable[..., Path]) -> Callable[..., Path]:
    """Decorator: run a figure function inside the report's seaborn style (not a global theme)."""
    def wrapper(*args: Any, **kwargs: Any) -> Path:
        with sns.axes_style("whitegrid", STYLE):
            return draw(*args, **kwargs)
    wrapper.__doc__, wrapper.__name__ = draw.__doc__, draw.__name__
    return wrapper


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (atomically) and close it."""
    # No "Software" stamp: the PNG bytes then depend on the data alone, not the matplotlib version.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``model`` column naming each row's role as the text does."""
    return frame.assign(model=frame["role"].map(role_name))


def _models(frame: pd.DataFrame) -> list[str]:
    """The models in ``frame`` (a :func:`_named` one), ternary first: one colour per model in every figure."""
    return [role_name(role) for role in ("studied", "baseline") if role in set(frame["role"])]


def _legend_outside(ax: plt.Axes, title: str | None = None) -> None:
    """Move the axes' legend to the right of the data, where it hides no line."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, title=title, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def fit_zero_axis(ax: plt.Axes, values: list[float], reference: float) -> None:
    """Scale a zero-code y axis to the data and the Gaussian reference, at least
    :data:`MIN_ZERO_SPAN_POINTS` wide, centred on them."""
    low, high = min([*values, reference]), max([*values, reference])
    pad = max(0.5, (MIN_ZERO_SPAN_POINTS - (high - low)) / 2)
    ax.set_ylim(low - pad, high + pad)


@styled
def loss_curves(curves: pd.DataFrame, path: Path) -> Path:
    """One panel per model, one line per seed: training loss (label-smoothed) against step."""
    grid = sns.relplot(data=_named(curves), x="step", y="loss", hue="seed", col="model", col_order=_models(curves),
                       kind="line", palette="tab10", height=3.2, aspect=1.3)
    grid.set_axis_labels("optimizer step", "training loss (nats/token, label-smoothed)")
    grid.set_titles("{col_name}")
    return save(grid.figure, path)


def _bars_with_seeds(frame: pd.DataFrame, path: Path, width: float, axes: tuple[str, str], x: str, y: str, hue: str,
                     **order: list[str]) -> Path:
    """Bars at the mean over seeds and one black point per seed on top (``order`` / ``hue_order``),
    ``axes`` the (x, y) titles, the legend outside the data."""
    fig, ax = plt.subplots(figsize=(width, 3.4))
    sns.barplot(data=frame, x=x, y=y, hue=hue, errorbar=None, ax=ax, alpha=0.7, **order)
    sns.stripplot(data=frame, x=x, y=y, hue=hue, dodge=True, jitter=False, ax=ax, legend=False,
                  palette="dark:black", size=4, **order)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    _legend_outside(ax)
    return save(fig, path)


@styled
def generalization(ppl: pd.DataFrame, path: Path) -> Path:
    """Train vs validation perplexity per model (bars: mean over seeds, points: seeds)."""
    long = _named(ppl).melt(id_vars=["model", "seed"], value_vars=["train_ppl", "val_ppl"], var_name="split",
                            value_name="ppl")
    long["split"] = long["split"].map({"train_ppl": "train", "val_ppl": "validation"})
    return _bars_with_seeds(long, path, 5.5, ("", "perplexity (no label smoothing)"), x="model", y="ppl",
                            hue="split", order=_models(ppl))


@styled
def sparsity_heatmap(layers: pd.DataFrame, path: Path) -> Path:
    """Zero codes (%) by layer x module, mean over seeds, one panel per model."""
    roles = [role for role in ("studied", "baseline") if role in set(layers["role"])]
    fig, axes = plt.subplots(1, len(roles), figsize=(6.2 * len(roles), 3.8), squeeze=False, constrained_layout=True)
    for ax, role in zip(axes[0], roles):
        table = (layers[layers["role"] == role].groupby(["layer", "module"])["zero"].mean().mul(100)
                 .unstack("module"))
        sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", vmin=0, vmax=100, ax=ax,
                    cbar_kws={"label": "zero codes (%)"})
        ax.set_title(role_name(role) + ("" if role == "studied" else " (its weights if ternarized)"))
        ax.set_ylabel(LAYER_AXIS)
        ax.set_xlabel("module")
    return save(fig, path)


def _middle_band(ax: plt.Axes, middle: list[int]) -> None:
    """Shade the middle layers the paper's depth claim is about."""
    if middle:
        ax.axvspan(min(middle) - 0.5, max(middle) + 0.5, color="orange", alpha=0.12, label="middle layers")


@styled
def sparsity_by_depth(layers: pd.DataFrame, middle: list[int], gaussian_pct: float, path: Path) -> Path:
    """Zero codes per layer (weight-count weighted), mean over seeds with a band of one sample std,
    the middle layers shaded and the Gaussian level drawn."""
    per_layer = _named(zero_pct_per_layer(layers, ["role"]))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    _middle_band(ax, middle)
    sns.lineplot(data=per_layer, x="layer", y="zero_pct", hue="model", hue_order=_models(per_layer), marker="o",
                 errorbar="sd", ax=ax)
    ax.axhline(gaussian_pct, color="grey", linestyle="--", label=f"Gaussian weight ({gaussian_pct:.1f}%)")
    fit_zero_axis(ax, per_layer["zero_pct"].tolist(), gaussian_pct)
    ax.set_xlabel(LAYER_AXIS)
    ax.set_xticks(sorted(per_layer["layer"].unique()))
    ax.set_ylabel(ZERO_AXIS)
    _legend_outside(ax)
    return save(fig, path)


@styled
def glue_scores(glue: pd.DataFrame, path: Path) -> Path:
    """Headline dev metric x 100 per task and model (bars: mean over seeds, points: seeds)."""
    frame = _named(glue).assign(score=glue["headline"] * 100)
    return _bars_with_seeds(frame, path, 6.5, ("GLUE task", "dev score x 100 (MRPC F1, SST-2 acc., CoLA MCC)"),
                            x="task", y="score", hue="model", hue_order=_models(frame))


@styled
def epoch_curves(epochs: pd.DataFrame, path: Path, panels: Mapping[str, str]) -> Path:
    """Train and validation loss at each epoch end (true NLL, eval mode), mean over seeds with a band of
    one sample std, one panel per run set in ``panels`` (arm -> panel title) with both models: where
    the curves part, the model overfits."""
    frame = _named(epochs[epochs["arm"].isin(list(panels))]).assign(panel=lambda f: f["arm"].map(panels))
    grid = sns.relplot(data=frame, x="epoch", y="loss", hue="model", hue_order=_models(frame), style="split",
                       col="panel",
                       col_order=[panels[arm] for arm in panels if arm in set(frame["arm"])], kind="line",
                       errorbar="sd", height=3.3, aspect=1.2, facet_kws={"sharex": False})
    grid.set_axis_labels("epoch", "loss (nats/token, no smoothing)")
    grid.set_titles("{col_name}")
    return save(grid.figure, path)


@styled
def sparsity_by_depth_runs(depth: pd.DataFrame, middle: list[int], gaussian_pct: float,
                           defs: Mapping[str, Any], path: Path) -> Path:
    """Zero codes per layer of each run set that ran (``depth``: layer + one column per run set, mean
    over seeds; empty columns left out), one colour each, named by what the arm changes (``defs``:
    the params' ``arms.defs``), the middle layers shaded and the Gaussian level drawn."""
    long = depth.melt(id_vars="layer", var_name="run", value_name="zero_pct").dropna()
    long["run"] = long["run"].map(lambda column: column_name(column, defs))
    order = list(dict.fromkeys(long["run"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    _middle_band(ax, middle)
    sns.lineplot(data=long, x="layer", y="zero_pct", hue="run", hue_order=order, marker="o", ax=ax,
                 palette=sns.color_palette("tab10", len(order)))
    ax.axhline(gaussian_pct, color="grey", linestyle="--", label=f"Gaussian weight ({gaussian_pct:.1f}%)")
    fit_zero_axis(ax, long["zero_pct"].tolist(), gaussian_pct)
    ax.set_xticks(sorted(long["layer"].unique()))
    ax.set_xlabel(LAYER_AXIS)
    ax.set_ylabel(ZERO_AXIS)
    _legend_outside(ax)
    return save(fig, path)


@styled
def regime_map(curves: pd.DataFrame, paper: tuple[float, float], path: Path) -> Path:
    """The regularization contrast (FP32 twin's val/train ratio minus the ternary model's, mean over
    seeds) against the twin's ratio, one line per cell (``curves``: pipeline/analysis/regimes.py
    ``regime_curves``), each epoch a point along it: above zero the paper's direction, below it the
    reverse; the paper's (FP32 ratio, contrast) as a star. A second panel zooms, on linear axes, into
    twin ratios up to :data:`REGIME_ZOOM_RATIO`, where a cell that never overfits (the notebook pair)
    would otherwise sit under the others at the origin."""
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(10.5, 4.0), gridspec_kw={"width_ratios": [3, 1.2]})
    order = list(dict.fromkeys(curves["cell"]))
    palette = dict(zip(order, sns.color_palette("tab10", len(order))))
    sns.lineplot(data=curves, x="fp32_ratio", y="contrast", hue="cell", hue_order=order, marker="o", markersize=3,
                 sort=False, estimator=None, ax=ax, palette=palette)
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.plot([paper[0]], [paper[1]], marker="*", markersize=12, color="black", linestyle="none",
            label=f"paper ({paper[0]:g}x FP32, contrast {paper[1]:g})")
    ax.set_xscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([tick for tick in (1, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500)
                   if tick <= max(curves["fp32_ratio"].max(), paper[0]) * 1.2])
    # symmetric log above 1 in size: a contrast of 100 and one of 0.5 (or -0.5) both stay readable
    ax.set_yscale("symlog", linthresh=1.0)
    ax.yaxis.set_major_formatter(plain)
    ax.set_xlabel("FP32 twin's val/train PPL ratio (end of epoch, log scale)")
    ax.set_ylabel("FP32 ratio minus ternary ratio (symlog)")
    near = curves[curves["fp32_ratio"] <= REGIME_ZOOM_RATIO]
    if not near.empty:
        sns.lineplot(data=near, x="fp32_ratio", y="contrast", hue="cell", hue_order=order, marker="o", markersize=3,
                     sort=False, estimator=None, ax=zoom, palette=palette, legend=False)
    zoom.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    zoom.set_title(f"zoom: twin's ratio up to {REGIME_ZOOM_RATIO:g} (linear)", fontsize=9)
    zoom.set_xlabel("FP32 twin's val/train ratio")
    zoom.set_ylabel("")
    handles, labels = ax.get_legend_handles_labels()  # one legend for both panels, beside the zoom
    ax.get_legend().remove()
    zoom.legend(handles, labels, title="cell (each point an epoch)", fontsize=8, loc="upper left",
                bbox_to_anchor=(1.03, 1.0), frameon=False)
    return save(fig, path)


@styled
def sparsity_over_training(curves: pd.DataFrame, gaussian_pct: float, contrast_bar: float, path: Path) -> Path:
    """The ternary model's zero codes at the end of every epoch against optimizer steps, one line per
    run set (``curves``: pipeline/analysis/sparsity.py ``sparsity_curves``, mean over seeds): all block
    layers beside the Gaussian level (left), and middle minus boundary layers beside zero and the
    claims' bar ``contrast_bar`` (right), so a reader sees whether sparsity was still moving when
    training stopped."""
    order = list(dict.fromkeys(curves["run_set"]))
    palette = sns.color_palette("tab10", len(order))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8), sharex=True)
    for ax, column in ((left, "zero_pct"), (right, "middle_minus_boundary")):
        sns.lineplot(data=curves, x="step", y=column, hue="run_set", hue_order=order, palette=palette, marker="o",
                     markersize=3, estimator=None, ax=ax, legend=ax is right)
        ax.set_xlabel("optimizer steps (end of each epoch)")
    left.axhline(gaussian_pct, color="grey", linestyle="--", linewidth=1)
    fit_zero_axis(left, curves["zero_pct"].tolist(), gaussian_pct)
    left.set_ylabel(ZERO_AXIS + ", all layers")
    left.set_title(f"all block layers (dashed: Gaussian weight, {gaussian_pct:.1f}%)", fontsize=9)
    for level, style in ((0.0, "--"), (contrast_bar, ":")):
        right.axhline(level, color="grey", linestyle=style, linewidth=1)
    spread = curves["middle_minus_boundary"].tolist()
    low, high = min([*spread, 0.0, contrast_bar]), max([*spread, 0.0, contrast_bar])
    right.set_ylim(low - 0.5, high + 0.5)
    right.set_ylabel("middle minus boundary (points)")
    right.set_title(f"middle minus boundary (dotted: the claims' bar, {contrast_bar:g} points)", fontsize=9)
    _legend_outside(right, "run set")
    return save(fig, path)
