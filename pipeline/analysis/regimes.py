"""The regularization contrast measured at matched training loss, for pairs trained side by side.

At equal steps (summarize's ``regularization_contrast``) a model that fits faster looks as if it
overfits more: at the CPU study's learning rate the ternary model reaches a lower training loss
sooner, so its val/train ratio is larger at every epoch. Matched by training loss instead, the
question is how well each generalises *at the same fit*: for every end-of-epoch point of the ternary
model, its validation loss minus the FP32 twin's validation loss at the same training loss (the twin's
points ordered by training loss, interpolated linearly; only points inside the twin's range of
training loss, and at most ``claims.matched_loss_max_nats``, where both models have left the first,
unigram-like phase). Negative: at equal fit the ternary model generalises better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.analysis.rules import Measured, t_half_width, t_test
from pipeline.config import ROLES, ClaimsConfig, Config


def matched_val_gaps(epochs: pd.DataFrame, max_train_loss: float) -> pd.DataFrame:
    """One row per ternary end-of-epoch point that can be matched, for every (arm, seed) run set with
    both models: columns ``arm, seed, epoch, train_loss, gap`` (``epochs`` is summarize's long table:
    arm, role, seed, split, epoch, loss)."""
    wide = epochs.pivot_table(index=["arm", "role", "seed", "epoch"], columns="split", values="loss").reset_index()
    rows = []
    for (arm, seed), runs in wide.groupby(["arm", "seed"]):
        ternary, twin = runs[runs["role"] == "studied"], runs[runs["role"] == "baseline"].sort_values("train")
        if ternary.empty or twin.empty:
            continue
        low, high = twin["train"].min(), twin["train"].max()
        for point in ternary.itertuples():
            if point.train <= max_train_loss and low <= point.train <= high:
                twin_val = float(np.interp(point.train, twin["train"].to_numpy(), twin["val"].to_numpy()))
                rows.append({"arm": arm, "seed": seed, "epoch": point.epoch, "train_loss": point.train,
                             "gap": point.val - twin_val})
    return pd.DataFrame(rows, columns=["arm", "seed", "epoch", "train_loss", "gap"])


def matched_gap_by_run_set(gaps: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Per run set (``main`` or an arm): the mean gap of each seed (the t-test's sample), the number of
    matched points and how many of them favour the ternary model (gap < 0)."""
    summary = {}
    for arm, rows in gaps.groupby("arm"):
        summary[str(arm)] = {"per_seed": rows.groupby("seed")["gap"].mean().tolist(), "points": int(len(rows)),
                             "ternary_lower": int((rows["gap"] < 0).sum()), "mean": float(rows["gap"].mean())}
    return summary


# --- the regime map: one row per pair of run sets trained side by side -----------------------------------

@dataclass(frozen=True)
class Cell:
    """One pair of run sets (ternary model and its FP32 twin) as the map places it: width, training
    stories (None: all), schedule, and whether the baseline sees only the past."""

    run_set: str  # "main" or the arm's name
    width: int
    stories: int | None
    schedule: str
    causal_baseline: bool

    @property
    def label(self) -> str:
        """``w64_s1000: width 64, 1,000 stories``, as the figure's legend and the table print it."""
        stories = "all stories" if self.stories is None else f"{self.stories:,} stories"
        recipe = "" if self.schedule == "constant" else f", {self.schedule}"
        mask = "" if self.causal_baseline else ", maskless baseline"
        return f"{self.run_set}: width {self.width}, {stories}{recipe}{mask}"


def cells(cfg: Config) -> list[Cell]:
    """The pairs the params train: the main runs, then every arm that trains both models."""
    found = [_cell("main", cfg)]
    found += [_cell(arm, cfg.arm_config(arm)) for arm in cfg.arms.run if set(cfg.arms.defs[arm].roles) == set(ROLES)]
    return found


def _cell(run_set: str, cfg: Config) -> Cell:
    return Cell(run_set, cfg.model.arch.dim, cfg.train.max_stories, cfg.train.schedule,
                cfg.model.for_role("baseline").attention == "causal")


def _ratio_curves(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per (arm, seed, epoch): each model's end-of-epoch val/train PPL ratio exp(val - train) (from the
    epoch evaluations) and the contrast, the FP32 twin's ratio minus the ternary model's."""
    wide = epochs.pivot_table(index=["arm", "role", "seed", "epoch"], columns="split", values="loss").reset_index()
    wide["ratio"] = np.exp(wide["val"] - wide["train"])
    pairs = wide.pivot_table(index=["arm", "seed", "epoch"], columns="role", values="ratio").dropna().reset_index()
    return pairs.assign(contrast=pairs["baseline"] - pairs["studied"])


def regime_curves(epochs: pd.DataFrame, cell_list: list[Cell]) -> pd.DataFrame:
    """The figure's data: per cell and epoch, the FP32 twin's ratio and the contrast (mean over seeds,
    and how many seeds), one row each; a cell whose arm has no pair of runs is left out."""
    pairs = _ratio_curves(epochs)
    labels = {cell.run_set: cell.label for cell in cell_list}
    pairs = pairs[pairs["arm"].isin(labels)]
    curves = pairs.groupby(["arm", "epoch"]).agg(fp32_ratio=("baseline", "mean"), ternary_ratio=("studied", "mean"),
                                                 contrast=("contrast", "mean"), seeds=("seed", "nunique")).reset_index()
    order = {cell.run_set: index for index, cell in enumerate(cell_list)}  # the cells' order, main first
    curves = curves.sort_values(["arm", "epoch"], key=lambda col: col.map(order) if col.name == "arm" else col)
    return curves.assign(cell=curves["arm"].map(labels))[["cell", "arm", "epoch", "seeds", "fp32_ratio",
                                                           "ternary_ratio", "contrast"]].reset_index(drop=True)


def _t(values: list[float], tol: ClaimsConfig) -> tuple[float, float, float]:
    """(t, two-sided p, half-width of the t interval) of a mean over seeds, by the claims' own test
    (``rules.t_test``, ``rules.t_half_width``); NaN below 2 seeds or without a spread."""
    if len(values) < 2 or float(np.std(values, ddof=1)) == 0.0:
        return math.nan, math.nan, math.nan
    sample = Measured(float(np.mean(values)), float(np.std(values, ddof=1)), len(values), samples=tuple(values))
    test, half = t_test(sample), t_half_width(sample, tol)
    assert test is not None and half is not None  # both exist once there are 2 seeds with a spread
    return test.t, test.p, half


def regime_table(cell_list: list[Cell], runs: dict[str, dict[str, list[dict]]], gaps: pd.DataFrame,
                 tol: ClaimsConfig) -> pd.DataFrame:
    """One row per cell with both models: width, stories, steps, seeds, each model's final val/train
    ratio (mean, std), the paired contrast (FP32 minus ternary) with its t-test and t interval, the
    gap at matched training loss with its t-test over seeds, and what the cell shows:

    * ``regime``: the FP32 twin memorised (a 200-story or smaller corpus: ratio >=
      ``claims.memorised_ratio``) or overfit measurably (larger: >= ``claims.overfit_measurable_ratio``),
      else ``not reached``;
    * ``direction``: ``paper`` (contrast > 0 at p < ``significance_level`` over >= ``min_test_seeds``
      seeds), ``reversed`` (< 0, same test) or ``undecided``;
    * ``paper_size``: the ternary ratio at most ``notebook_ternary_ratio_max`` with the twin's at least
      ``notebook_baseline_ratio_min`` (the pattern of 1.05x vs 3.51x), in the means.

    ``runs`` maps each cell's run set to its metrics.json files per role, in seed order."""
    rows = []
    for cell in cell_list:
        pair = runs.get(cell.run_set, {})
        ternary, twin = pair.get("studied", []), pair.get("baseline", [])
        if not ternary or not twin:
            continue
        contrast = [b["train_val_ratio"] - s["train_val_ratio"] for s, b in zip(ternary, twin)]
        t, p, half = _t(contrast, tol)
        fp32 = [run["train_val_ratio"] for run in twin]
        ratio_t = [run["train_val_ratio"] for run in ternary]
        small = cell.stories is not None and cell.stories <= 200
        bar = tol.memorised_ratio if small else tol.overfit_measurable_ratio
        mean_fp32 = float(np.mean(fp32))
        regime = ("memorised" if small else "overfit measurably") if mean_fp32 >= bar else "not reached"
        decided = len(contrast) >= tol.min_test_seeds and not math.isnan(p) and p < tol.significance_level
        direction = ("paper" if np.mean(contrast) > 0 else "reversed") if decided else "undecided"
        matched = gaps[gaps["arm"] == cell.run_set]
        per_seed = matched.groupby("seed")["gap"].mean().tolist()
        mt, mp, mhalf = _t(per_seed, tol)
        rows.append({
            "cell": cell.label, "run_set": cell.run_set, "width": cell.width,
            "stories": cell.stories, "schedule": cell.schedule, "causal_baseline": cell.causal_baseline,
            "steps": int(ternary[0]["steps"]), "seeds": len(contrast),
            "fp32_ratio": mean_fp32, "fp32_ratio_std": _std(fp32),
            "ternary_ratio": float(np.mean(ratio_t)), "ternary_ratio_std": _std(ratio_t),
            "contrast": float(np.mean(contrast)), "contrast_t": t, "contrast_p": p, "contrast_half_width": half,
            "regime": regime, "regime_bar": bar, "direction": direction,
            "paper_size": bool(np.mean(ratio_t) <= tol.notebook_ternary_ratio_max
                               and mean_fp32 >= tol.notebook_baseline_ratio_min),
            "matched_points": int(len(matched)), "matched_ternary_lower": int((matched["gap"] < 0).sum()),
            "matched_gap": float(np.mean(per_seed)) if per_seed else math.nan, "matched_gap_t": mt,
            "matched_gap_p": mp, "matched_gap_half_width": mhalf,
        })
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)


REGIME_COLUMNS = ["cell", "run_set", "width", "stories", "schedule", "causal_baseline", "steps", "seeds",
                  "fp32_ratio", "fp32_ratio_std", "ternary_ratio", "ternary_ratio_std", "contrast", "contrast_t",
                  "contrast_p", "contrast_half_width", "regime", "regime_bar", "direction", "paper_size",
                  "matched_points", "matched_ternary_lower", "matched_gap", "matched_gap_t", "matched_gap_p",
                  "matched_gap_half_width"]


def _std(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
