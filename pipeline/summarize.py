"""The summarize stage: aggregate the runs the params name into ``metrics/summary.json`` (flat keys,
mean and sample std over seeds) and the claims table ``reports/claims.json``.

Only the runs named by ``train.seeds`` are read, each by its exact path, so shrinking the seed list
never averages stale files left by an earlier run.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.claims import PAPER_DEVICE, PAPER_MODEL, PAPER_TRAINING, REAL_DATA, build_claims
from pipeline.config import Config
from pipeline.io import read_json
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import PAPER_ARCH, PAPER_TRAIN_STORIES, PAPER_VOCAB_SIZE
from pipeline.layout import ROLES, RunPaths


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); the std is NaN for a single seed."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else float("nan")


def _add(summary: dict, key: str, values: list[float]) -> None:
    summary[key], summary[f"{key}_std"] = mean_std(values)


def run_context(cfg: Config, tokens: dict) -> dict[str, bool]:
    """Which of the paper's conditions this run meets (see pipeline/claims.py)."""
    # The paper's model: its width, depth, heads, MLP and vocabulary (sequence length is a recipe
    # choice: paper-text trains on 512), ternary with absmean scales and int8 activations.
    shape = ("dim", "n_layers", "n_heads", "mlp_ratio")
    same_shape = all(getattr(cfg.model.arch, key) == getattr(PAPER_ARCH, key) for key in shape)
    ternary_as_paper = cfg.model.quant == "ternary" and cfg.model.scale == "absmean" and cfg.model.act_bits == 8
    return {
        REAL_DATA: tokens["data_source"] != "synthetic",
        PAPER_MODEL: same_shape and ternary_as_paper and tokens["vocab_size"] == PAPER_VOCAB_SIZE,
        PAPER_TRAINING: tokens["train_stories"] >= PAPER_TRAIN_STORIES and cfg.train.epochs >= 15
        and cfg.train.max_steps is None,
        PAPER_DEVICE: False,  # the paper does not name the device its latencies were measured on
    }


def loss_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """Training loss per logged step, mean over the named seeds, one column per role."""
    frames = []
    for role in ROLES:
        for seed in cfg.train.seeds:
            live = RunPaths.for_run(role, seed, root).loss_curve
            frames.append(pd.read_csv(live, sep="\t")[["step", "loss"]].assign(role=role))
    return pd.concat(frames).groupby(["step", "role"])["loss"].mean().unstack("role").reset_index()


def glue_table(cfg: Config, summary: dict[str, Any]) -> pd.DataFrame:
    """Headline GLUE metric per task and role (mean over seeds), long format for a bar plot."""
    rows = [{"run": f"{task} {role}", "score": summary[f"{role}_{task}_{HEADLINE_METRIC[task]}"]}
            for task in cfg.glue.tasks for role in ROLES]
    return pd.DataFrame(rows)


def summarize(cfg: Config, root: Path, tokens_path: Path, benchmark_path: Path, sparsity_path: Path
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tokens = read_json(tokens_path)
    summary: dict[str, Any] = {"data_source": tokens["data_source"], "n_seeds": len(cfg.train.seeds),
                               "studied_quant": cfg.model.quant, "train_tokens": tokens["train_tokens"],
                               "val_tokens": tokens["val_tokens"]}
    sparsity = read_json(sparsity_path)
    for role in ROLES:
        runs = [read_json(RunPaths.for_run(role, seed, root).metrics) for seed in cfg.train.seeds]
        for name in ("val_ppl", "val_ppl_smoothed", "val_loss", "train_ppl", "train_loss", "train_val_ratio",
                     "train_val_loss_ratio"):
            _add(summary, f"{role}_{name}", [run[name] for run in runs])
        glue = [read_json(RunPaths.for_run(role, seed, root).glue) for seed in cfg.train.seeds]
        for task in cfg.glue.tasks:
            for metric in ("accuracy", "f1", "mcc"):
                _add(summary, f"{role}_{task}_{metric}", [run[task][metric] for run in glue])
        for part in ("middle", "boundary", "all"):
            _add(summary, f"{role}_zero_pct_{part}",
                 [sparsity[f"{role}_seed_{seed}_zero_pct_{part}"] for seed in cfg.train.seeds])
    summary.update({key: value for key, value in read_json(benchmark_path).items()
                    if isinstance(value, (int, float))})
    context = run_context(cfg, tokens)
    summary.update({f"run_{key}": value for key, value in context.items()})
    claims = build_claims(summary, context, cfg.claims)
    return summary, claims
