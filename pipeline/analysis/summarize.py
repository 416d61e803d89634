"""The summarize stage: aggregate the runs the params name into ``metrics/summary.json`` (flat keys,
mean and sample std over seeds), ``metrics/arms.json`` (each arm beside the main runs) and the
claims table ``reports/claims.json``.

Only the runs named by ``train.seeds`` and ``arms`` are read, each by its exact path, so shrinking a
seed list never averages stale files left by an earlier run.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.bench.table import metric_key
from pipeline.analysis.claims import (MODEL_SCALE, PAPER_ARCH_BENCH, PAPER_DEVICE, PAPER_MODEL, PAPER_TRAINING, REAL_DATA,
                             build_claims)
from pipeline.config import ROLES, Config
from pipeline.io import read_json
from pipeline.layout import RunPaths
from pipeline.analysis.runsets import (GLUE_METRICS, RUN_METRICS, aggregate_key, arm_prefix, glue_metric, mean_std,
                                       run_set_columns, run_set_labels, std_key)
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import PAPER_ARCH, PAPER_TRAIN_STORIES, PAPER_VOCAB_SIZE
from pipeline.profiles import recipe_mismatches


def _add(summary: dict, key: str, values: list[float]) -> None:
    """Mean and sample std of ``values`` at ``key`` and its :func:`std_key`."""
    summary[key], summary[std_key(key)] = mean_std(values)


def run_context(cfg: Config, tokens: dict, benchmark: dict) -> dict[str, Any]:
    """Which of the paper's conditions this run meets (see pipeline/analysis/claims.py), and a label for the
    scale it was tested at. "Paper training" needs every key of the notebook's recipe
    (``pipeline.paper.recipe_mismatches``) and at least its 60,000 stories."""
    shape = ("dim", "n_layers", "n_heads", "mlp_ratio")
    same_shape = all(getattr(cfg.model.arch, key) == getattr(PAPER_ARCH, key) for key in shape)
    studied = cfg.model.for_role("studied")
    ternary_as_paper = studied.quant == "ternary" and studied.scale == "absmean" and studied.act_bits == 8
    mismatches = recipe_mismatches(cfg)
    context: dict[str, Any] = {
        REAL_DATA: tokens["data_source"] != "synthetic",
        PAPER_MODEL: same_shape and ternary_as_paper and tokens["vocab_size"] == PAPER_VOCAB_SIZE,
        PAPER_TRAINING: not mismatches["training"] and tokens["train_stories"] >= PAPER_TRAIN_STORIES,
        PAPER_DEVICE: False,  # the paper does not name the device its latencies were measured on
        PAPER_ARCH_BENCH: metric_key("paper_arch", "fp32", "weights_mb") in benchmark,
        "recipe": "paper-code" if not mismatches["paper-code"] else
                  "paper-code-fixed" if not mismatches["paper-code-fixed"] else "other",
        "recipe_mismatches": mismatches["training"],
    }
    arch = cfg.model.arch
    if all(context[need] for need in MODEL_SCALE):
        context["scale_label"] = "paper scale"
    elif context[REAL_DATA]:
        context["scale_label"] = (f"this CPU study (real data; {tokens['train_stories']} stories, dim {arch.dim}, "
                                  f"{arch.n_layers} layers, {cfg.train.epochs} epochs)")
    else:
        context["scale_label"] = "synthetic default"
    return context


def loss_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """Training loss per logged step, mean over the named seeds, one column per role."""
    frames = []
    for role in ROLES:
        for seed in cfg.train.seeds:
            curve = pd.read_csv(RunPaths.for_run(role, seed, root).loss_curve, sep="\t")
            frames.append(curve[["step", "loss"]].assign(role=role))
    return pd.concat(frames).groupby(["step", "role"])["loss"].mean().unstack("role").reset_index()


def epoch_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """End-of-epoch train and val loss of every run (main and arms): the overfitting curves, long format."""
    frames = []
    for arm, roles, seeds in _run_sets(cfg):
        for role in roles:
            for seed in seeds:
                paths = RunPaths.for_run(role, seed, root, arm)
                for split in ("train", "val"):
                    curve = pd.read_csv(paths.eval_curve(split), sep="\t")
                    frames.append(pd.DataFrame({"arm": arm or "main", "role": role, "seed": seed, "split": split,
                                                "epoch": range(1, len(curve) + 1), "step": curve["step"],
                                                "loss": curve[f"{split}_loss"]}))
    return pd.concat(frames, ignore_index=True)


def epoch_curves_wide(cfg: Config, epochs: pd.DataFrame) -> pd.DataFrame:
    """Validation loss per epoch, mean over seeds, one fixed column per run set (``studied``,
    ``baseline``, ``<arm> <role>`` for every defined arm, empty where it did not run), for dvc plots."""
    val = epochs[epochs["split"] == "val"].copy()
    val["run"] = run_set_labels(val)
    wide = val.groupby(["epoch", "run"])["loss"].mean().unstack("run").reset_index()
    return wide.reindex(columns=["epoch", *run_set_columns(cfg.arms.defs)])


def _run_sets(cfg: Config):
    """(arm or None, roles, seeds) of the main runs and of every arm that runs."""
    yield None, ROLES, cfg.train.seeds
    for arm in cfg.arms.run:
        yield arm, cfg.arms.defs[arm].roles, cfg.arms.seeds


def max_loss_rise(curves: list[pd.Series]) -> float:
    """Largest relative rise of the mean training loss from one tenth of a run to the next, over runs
    (0 when every run's loss decays monotonically at that resolution)."""
    worst = 0.0
    for losses in curves:
        tenths = [chunk.mean() for chunk in np.array_split(losses.to_numpy(), min(10, len(losses))) if len(chunk)]
        if not np.isfinite(tenths).all():
            return float("inf")
        worst = max([worst] + [(later - earlier) / earlier for earlier, later in zip(tenths, tenths[1:])])
    return float(worst)


def _pair_contrast(summary: dict, studied: list[dict], baseline: list[dict], arm: str | None = None) -> None:
    """FP32 minus ternary val/train ratio, paired by seed; and the share of the FP32 gap it removes."""
    prefix = arm_prefix(arm)
    diffs = [b["train_val_ratio"] - s["train_val_ratio"] for s, b in zip(studied, baseline)]
    _add(summary, f"{prefix}regularization_contrast", diffs)
    summary[f"{prefix}regularization_contrast_n"] = len(diffs)
    gap = statistics.fmean(b["train_val_ratio"] for b in baseline) - 1.0
    summary[f"{prefix}regularization_gap_fraction"] = statistics.fmean(diffs) / gap if gap > 0 else float("nan")


def _role_summary(summary: dict, runs: list[dict], role: str, arm: str | None = None, beside: bool = False) -> None:
    """Mean and std over ``runs`` (one role's metrics.json files) of every run metric."""
    for name in RUN_METRICS:
        _add(summary, aggregate_key(role, name, arm, beside), [run[name] for run in runs])


def _sparsity_summary(summary: dict, sparsity: dict, role: str, seeds: list[int], arm: str | None = None) -> None:
    """Mean and std over seeds of the sparsity stage's per-run zero percentages (both rules; middle,
    boundary, all), of the middle-minus-boundary difference and of the distance to the Gaussian level."""
    prefix = arm_prefix(arm)
    for part in ("middle", "boundary", "all"):
        for rule in ("", "twn_"):
            _add(summary, aggregate_key(role, f"{rule}zero_pct_{part}", arm),
                 [sparsity[f"{prefix}{role}_seed_{seed}_{rule}zero_pct_{part}"] for seed in seeds])
    _add(summary, aggregate_key(role, "zero_pct_middle_minus_boundary", arm),
         [sparsity[f"{prefix}{role}_seed_{s}_zero_pct_middle"] - sparsity[f"{prefix}{role}_seed_{s}_zero_pct_boundary"]
          for s in seeds])
    _add(summary, aggregate_key(role, "zero_pct_all_minus_gaussian", arm),
         [sparsity[f"{prefix}{role}_seed_{s}_zero_pct_all"] - sparsity["gaussian_reference_zero_pct"] for s in seeds])


def arms_summary(cfg: Config, root: Path, sparsity: dict) -> dict[str, Any]:
    """Each arm's metrics (mean and std over arms.seeds) beside the main runs' on the same seeds."""
    arms: dict[str, Any] = {}
    for arm in cfg.arms.run:
        roles = cfg.arms.defs[arm].roles
        runs = {role: [read_json(RunPaths.for_run(role, seed, root, arm).metrics) for seed in cfg.arms.seeds]
                for role in roles}
        for role, role_runs in runs.items():
            _role_summary(arms, role_runs, role, arm)
            main = [read_json(RunPaths.for_run(role, seed, root).metrics) for seed in cfg.arms.seeds
                    if seed in cfg.train.seeds]
            if main:
                _role_summary(arms, main, role, arm, beside=True)
            _sparsity_summary(arms, sparsity, role, cfg.arms.seeds, arm)
        if set(roles) == set(ROLES):
            _pair_contrast(arms, runs["studied"], runs["baseline"], arm)
    return arms


def summarize(cfg: Config, root: Path, tokens_path: Path, benchmark_path: Path, sparsity_path: Path
              ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(summary, arms, claims) of the runs the params name."""
    tokens, sparsity, benchmark = read_json(tokens_path), read_json(sparsity_path), read_json(benchmark_path)
    summary: dict[str, Any] = {"data_source": tokens["data_source"], "n_seeds": len(cfg.train.seeds),
                               "studied_quant": cfg.model.quant, "train_tokens": tokens["train_tokens"],
                               "val_tokens": tokens["val_tokens"],
                               "gaussian_reference_zero_pct": sparsity["gaussian_reference_zero_pct"]}
    runs = {role: [read_json(RunPaths.for_run(role, seed, root).metrics) for seed in cfg.train.seeds] for role in ROLES}
    for role in ROLES:
        _role_summary(summary, runs[role], role)
        glue = [read_json(RunPaths.for_run(role, seed, root).glue) for seed in cfg.train.seeds]
        for task in cfg.glue.tasks:
            for metric in GLUE_METRICS:
                _add(summary, aggregate_key(role, glue_metric(task, metric)), [run[task][metric] for run in glue])
        _sparsity_summary(summary, sparsity, role, cfg.train.seeds)
    _pair_contrast(summary, runs["studied"], runs["baseline"])
    summary["max_loss_rise_between_tenths"] = max_loss_rise(
        [pd.read_csv(RunPaths.for_run(role, seed, root).loss_curve, sep="\t")["loss"]
         for role in ROLES for seed in cfg.train.seeds])
    summary.update({key: value for key, value in benchmark.items() if isinstance(value, (int, float))})
    arms = arms_summary(cfg, root, sparsity)
    context = run_context(cfg, tokens, benchmark)
    summary.update({f"run_{key}": value for key, value in context.items()})
    claims = build_claims({**summary, **arms}, context, cfg.claims)
    return summary, arms, claims


def glue_table(cfg: Config, summary: dict[str, Any]) -> pd.DataFrame:
    """Headline GLUE metric per task and role (mean over seeds) and the constant predictor, for a bar plot."""
    rows = []
    for task in cfg.glue.tasks:
        metric = HEADLINE_METRIC[task]
        rows += [{"run": f"{task} {role}", "score": summary[aggregate_key(role, glue_metric(task, metric))]}
                 for role in ROLES]
        rows.append({"run": f"{task} constant predictor",
                     "score": summary[aggregate_key("baseline", glue_metric(task, f"trivial_{metric}"))]})
    return pd.DataFrame(rows)
