"""The regime map's table and verdict for the report (results/regime-map): one row per cell (a width
and corpus size, or the notebook's recipe with its quirks on or fixed), from the map that summarize
wrote (pipeline/analysis/regimes.py). The verdict names the cells where the paper's direction holds,
those where it reverses, and those the runs cannot decide, each with its reason. Beside it, the leak
table: whether the notebook's maskless baseline, or the attempts of profile leak-attempts (wider,
longer), copies the next token, by the leak probe against its committed bar."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline.analysis.report.inputs import BaselineRun

STORIES_ALL = "all"


def _mean_std(mean: float, std: float, digits: int = 2) -> str:
    return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")


def _test(mean: float, half: float, p: float) -> str:
    """``+0.41 ± 0.12 (p = 0.01)``: a mean over seeds with its t interval's half-width and p."""
    if math.isnan(p):
        return f"{mean:+.3f} (no test)"
    return f"{mean:+.3f} ± {half:.3f} (p = {p:.2g})"


def regime_view(table: pd.DataFrame) -> pd.DataFrame:
    """The map as the report prints it: per cell its size, length, the two ratios (mean ± sample std),
    the paired contrast (mean ± 95% t half-width, p), what the twin reached, and the comparison at
    matched training loss (points where ternary is lower, mean gap ± half-width, p)."""
    rows = []
    for row in table.itertuples():
        stories = STORIES_ALL if pd.isna(row.stories) else f"{int(row.stories):,}"
        matched = ("-" if not row.matched_points else
                   f"{row.matched_ternary_lower}/{row.matched_points} lower; "
                   f"{_test(row.matched_gap, row.matched_gap_half_width, row.matched_gap_p)} nats")
        rows.append({"cell": row.run_set, "width": row.width, "stories": stories, "schedule": row.schedule,
                     "baseline mask": "causal" if row.causal_baseline else "none",
                     "steps": f"{row.steps:,}", "seeds": row.seeds,
                     "FP32 val/train": _mean_std(row.fp32_ratio, row.fp32_ratio_std),
                     "ternary val/train": _mean_std(row.ternary_ratio, row.ternary_ratio_std),
                     "FP32 minus ternary": _test(row.contrast, row.contrast_half_width, row.contrast_p),
                     "twin reached": f"{row.regime} (bar {row.regime_bar:g})", "direction": row.direction,
                     "paper's size": "yes" if row.paper_size else "no",
                     "ternary minus FP32 val loss at matched train loss": matched})
    return pd.DataFrame(rows)


def curve_findings(curves: pd.DataFrame) -> list[str]:
    """Where along the length axis each cell's contrast (``curves``: per epoch, mean over seeds, not
    tested epoch by epoch) is below zero, i.e. the ternary model is the more overfit one: its epochs,
    the twin's ratios there and the lowest contrast; nothing for a cell that never goes below."""
    lines = []
    for arm, rows in curves.groupby("arm", sort=False):
        below = rows[rows["contrast"] < 0]
        if below.empty:
            continue
        lowest = below.loc[below["contrast"].idxmin()]
        lines.append(f"Along the length axis `{arm}` reverses at {len(below)} of {len(rows)} epochs (epochs "
                     f"{below['epoch'].min()}-{below['epoch'].max()}, the twin's ratio {below['fp32_ratio'].min():.2f}-"
                     f"{below['fp32_ratio'].max():.2f}; lowest contrast {lowest['contrast']:.2f} at a twin ratio of "
                     f"{lowest['fp32_ratio']:.2f}; per-epoch means over seeds, not tested epoch by epoch).")
    return lines


def regime_findings(table: pd.DataFrame, curves: pd.DataFrame | None = None) -> list[str]:
    """The map's verdict in sentences, from the rows as they fell: where the paper's direction holds,
    where it reverses, where the seeds or the regime leave it undecided (and why), and whether any cell
    reaches the paper's size; with ``curves`` (the per-epoch contrasts), where along the length axis
    each cell's sign is reversed (:func:`curve_findings`)."""
    if table.empty:
        return ["No cell trained both models: the map is empty."]
    by = {kind: table[table["direction"] == kind] for kind in ("paper", "reversed", "undecided")}
    names = lambda rows: ", ".join(f"`{name}`" for name in rows["run_set"]) or "none"  # noqa: E731
    lines = [f"The paper's direction (the FP32 twin's ratio significantly above the ternary model's) holds in: "
             f"{names(by['paper'])}.",
             f"It reverses (the ternary model overfits more) in: {names(by['reversed'])}."]
    for row in by["undecided"].itertuples():
        why = (f"{row.seeds} seeds, p = {row.contrast_p:.2g}" if not math.isnan(row.contrast_p)
               else f"{row.seeds} seed(s), no spread to test")
        lines.append(f"`{row.run_set}` is undecided: {why}.")
    for row in table[table["regime"] == "not reached"].itertuples():
        lines.append(f"In `{row.run_set}` the FP32 twin did not reach its regime (val/train {row.fp32_ratio:.2f} < "
                     f"{row.regime_bar:g} after {row.steps:,} steps): its contrast is measured before overfitting.")
    sized = table[table["paper_size"]]
    lines.append("The paper's size (ternary ratio near 1.05 with the twin's far above) is reached in: "
                 f"{names(sized)}." if len(sized) else
                 "No cell reaches the paper's size (ternary ratio near 1.05 with the twin's far above).")
    return lines + ([] if curves is None else curve_findings(curves))


def sparsity_view(curves: pd.DataFrame, moved_from: float) -> pd.DataFrame:
    """Sparsity over training as the report prints it, one row per run set (``curves``: the zero
    curves, mean over seeds per epoch): its steps and seeds, the zero percentage at the end and its
    change over the last quarter of the epochs (still moving, or settled), and middle minus boundary
    at the end; ``moved_from`` is the Gaussian level the zeros start at."""
    rows = []
    for run_set, run in curves.groupby("run_set", sort=False):
        run = run.sort_values("epoch")
        last = run.iloc[-1]
        # the last quarter of the epochs, at least one epoch back; a single epoch has no change to show
        back = run.iloc[-1 - max(1, len(run) // 4)] if len(run) > 1 else None
        change = "n/a" if back is None else f"{last['zero_pct'] - back['zero_pct']:+.2f}"
        rows.append({"run set": run_set, "steps": f"{int(last['step']):,}", "seeds": int(last["seeds"]),
                     "zero codes at the end (%)": f"{last['zero_pct']:.2f}",
                     "minus the Gaussian level (points)": f"{last['zero_pct'] - moved_from:+.2f}",
                     "change over the last quarter (points)": change,
                     "middle minus boundary at the end (points)": f"{last['middle_minus_boundary']:+.2f}"})
    return pd.DataFrame(rows)


def _leak_groups(runs: list[BaselineRun]) -> list[tuple[tuple[str, str], list[BaselineRun]]]:
    groups: dict[tuple[str, str], list[BaselineRun]] = {}
    for run in runs:
        groups.setdefault((run.archive, run.arm), []).append(run)
    return list(groups.items())


def _copies(group: list[BaselineRun], bar: float) -> str:
    probes = [run.leak_nats for run in group if run.leak_nats is not None]
    if not probes:
        return "n/a (causal)"
    above = sum(probe >= bar for probe in probes)
    return "yes" if above == len(probes) else "no" if above == 0 else f"{above} of {len(probes)} seeds"


def leak_view(runs: list[BaselineRun], bar: float) -> pd.DataFrame:
    """The leak table, one row per archived arm (mean over its seeds): the notebook pair's maskless
    baseline, its causal twin and each attempt, with the training loss from the first epoch to the end,
    the validation loss, and the leak probe against ``bar`` (claims.leak_min_nats)."""
    rows = []
    for (archive, arm), group in _leak_groups(runs):
        mean = lambda field: float(np.mean([getattr(run, field) for run in group]))  # noqa: E731
        probes = [run.leak_nats for run in group if run.leak_nats is not None]
        rows.append({"run": f"`{arm}` (results/{archive})", "baseline mask": "causal" if group[0].causal else "none",
                     "width": group[0].width, "steps": f"{group[0].steps:,}", "seeds": len(group),
                     "training loss, first epoch -> end": f"{mean('first_train_loss'):.2f} -> {mean('train_loss'):.2f}",
                     "val loss": f"{mean('val_loss'):.2f}",
                     "leak probe (nats)": ", ".join(f"{probe:.2f}" for probe in probes) or "-",
                     f"leak (probe >= {bar:g})": _copies(group, bar)})
    return pd.DataFrame(rows)


def leak_findings(runs: list[BaselineRun], bar: float, notebook_loss: dict[int, float]) -> list[str]:
    """Whether any maskless baseline copies the next token, in sentences: each attempt against the bar
    and the causal twin's training loss, then the notebook's own baseline (``notebook_loss``: its
    logged training loss by step) for scale."""
    groups = _leak_groups(runs)
    causal = [group for (_, _), group in groups if group[0].causal]
    twin = (f"the causal twin's {np.mean([run.train_loss for run in causal[0]]):.2f} "
            f"(`{causal[0][0].arm}`, width {causal[0][0].width}, {causal[0][0].steps:,} steps)") if causal \
        else "no causal twin archived yet"
    lines, verdicts = [], {}
    for (archive, arm), group in groups:
        if group[0].causal:
            continue
        verdict = verdicts[arm] = _copies(group, bar)
        seeds = f"{len(group)} seed" + ("" if len(group) == 1 else "s")
        lines.append(f"`{arm}` (width {group[0].width}, {group[0].steps:,} steps, {seeds}): training "
                     f"loss {np.mean([run.train_loss for run in group]):.2f} at the end against {twin}; leak probe "
                     + ", ".join(f"{run.leak_nats:.2f}" for run in group if run.leak_nats is not None)
                     + f" nats against the bar {bar:g}: "
                     + ("a leak (it reads later tokens)." if verdict == "yes" else "no leak." if verdict == "no"
                        else f"a leak in {verdict}."))
    steps = ", ".join(f"{loss:g} at step {step}" for step, loss in sorted(notebook_loss.items()))
    acting = [f"`{arm}`" + ("" if verdict == "yes" else f" ({verdict})") for arm, verdict in verdicts.items()
              if verdict != "no"]
    if lines:
        ends = ", ".join(f"`{arm}` {np.mean([run.train_loss for run in group]):.2f}"
                         for (_, arm), group in groups if not group[0].causal)
        lines.append(("The probe clears the bar in: " + ", ".join(acting) + "." if acting else
                      "No maskless baseline here clears the bar.")
                     + f" Training loss at the end: {ends}; a model that copies the next token collapses, as the "
                       f"notebook's own baseline did (its log: {steps}).")
    return lines
