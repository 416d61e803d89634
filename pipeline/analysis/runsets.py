"""Run sets (the main runs' roles and each arm's roles): their labels in plot tables, one spelling
used by the sparsity and summarize stages and named by dvc.yaml's top-level plots; the one
definition of "mean ± std" over a set's seeds; and the keys under which summarize writes those
aggregates into metrics/summary.json and metrics/arms.json, which the claims and the report read
back. The metric names aggregated per role are listed here once; a key built from a role or metric
outside them raises :class:`UndeclaredMetricError` where it is spelt (``metrics_contract.py`` declares
every name summarize writes from these lists, and checks the rest)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config import ROLES
from pipeline.metrics import HEADLINE_METRIC

RUN_METRICS = ("val_ppl", "val_ppl_smoothed", "val_loss", "train_ppl", "train_loss", "train_val_ratio",
               "train_val_loss_ratio")  # each run's metrics.json
TIMING_METRICS = ("tokens_per_second",)  # each run's timing.json
SEED_METRICS = ("val_loss", "val_ppl_smoothed", "train_val_ratio")  # also kept per seed (``*_per_seed``)
# the leak probe (pipeline/training/train.py): written only by a model trained without the causal mask,
# its validation loss with the mask imposed minus without (a model that copies the next token loses it)
LEAK_METRICS = ("leak_nats",)

# The arms of params.yaml's arms.defs that the regime map (profile regime-map, issue 22) reads: its cells
# beside the main runs (width 64 on 200 stories), the notebook's recipe with both quirks, and the same
# recipe with the two bugs fixed. Their definitions (what each changes) live in params.yaml.
REGIME_ARMS = ("w64_s1000", "w128_s200", "w128_s1000")
NOTEBOOK_PAIR_ARM, NOTEBOOK_FIXED_ARM = "notebook_pair", "notebook_fixed"
LEARNED_SCALE_ARM = "learned_scale"  # a trained per-layer scale (profile cpu-study)
# The arms whose ternary sparsity is judged on its own (issue 22 item 3, "sparsity where weights moved"):
# the regime map's longer runs, the notebook's recipe with its quirks and fixed, and the learned scale.
SPARSITY_ARMS = (*REGIME_ARMS, NOTEBOOK_PAIR_ARM, NOTEBOOK_FIXED_ARM, LEARNED_SCALE_ARM)
GLUE_METRICS = ("accuracy", "f1", "mcc", "trivial_accuracy", "trivial_f1", "trivial_mcc")
ZERO_METRICS = (*(f"{rule}zero_pct_{part}" for rule in ("", "twn_") for part in ("middle", "boundary", "all")),
                "zero_pct_middle_minus_boundary", "zero_pct_all_minus_gaussian")
# every metric aggregated per role: what aggregate_key accepts
ROLE_METRICS = (*RUN_METRICS, *TIMING_METRICS, *(f"{task}_{m}" for task in HEADLINE_METRIC for m in GLUE_METRICS),
                *ZERO_METRICS, *LEAK_METRICS)


class UndeclaredMetricError(KeyError):
    """A metric name outside the declared ones: a misspelling, or a metric added without a declaration."""

    def __str__(self) -> str:
        return (f"metric {self.args[0]!r} is not declared (pipeline/analysis/metrics_contract.py and "
                "runsets.py): a misspelt name, or a new metric that needs a declaration")


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) over seeds; the std is NaN for a single seed."""
    values = list(values)
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else float("nan")


def arm_prefix(arm: str | None = None, beside: bool = False) -> str:
    """The prefix of a run set's aggregates: none for the main runs, ``arm_<arm>_`` for an arm, and
    ``arm_<arm>_main_`` for the main runs on that arm's seeds (``beside``), which arms.json holds
    next to the arm so that both are compared on the same seeds."""
    if arm is None:
        return ""
    return f"arm_{arm}_main_" if beside else f"arm_{arm}_"


def aggregate_key(role: str, metric: str, arm: str | None = None, beside: bool = False) -> str:
    """The key of one role's mean over seeds (``studied_val_ppl``, ``arm_notebook_init_studied_val_ppl``);
    its sample std is under :func:`std_key`. A GLUE metric is named by :func:`glue_metric`."""
    key = f"{arm_prefix(arm, beside)}{role}_{metric}"
    if role not in ROLES or metric not in ROLE_METRICS:
        raise UndeclaredMetricError(key)
    return key


def glue_metric(task: str, metric: str) -> str:
    """The metric name of a GLUE score in the aggregates: ``mrpc_f1``."""
    return f"{task}_{metric}"


def std_key(key: str) -> str:
    """The key of the sample std beside the mean at ``key``."""
    return f"{key}_std"


def per_seed_key(key: str) -> str:
    """The key of the per-seed values (in the order of the run set's seeds) beside the mean at ``key``."""
    return f"{key}_per_seed"


RETAINED_PARTS = ("share", "low", "high")  # the share ternary keeps of its twin's GLUE gain, and its interval


def transfer_key(role: str, task: str) -> str:
    """Pre-trained minus from-scratch GLUE headline score of one role and task, paired by seed."""
    if role not in ROLES or task not in HEADLINE_METRIC:
        raise UndeclaredMetricError(f"{role}_{task}_transfer")
    return f"{role}_{task}_transfer"


def retained_key(task: str, part: str) -> str:
    """The share of the FP32 twin's gain over the constant predictor that ternary keeps on ``task``
    (``share``), or a bound of its bootstrap interval over seeds (``low``, ``high``)."""
    if task not in HEADLINE_METRIC or part not in RETAINED_PARTS:
        raise UndeclaredMetricError(f"{task}_retained_{part}")
    return f"{task}_retained_{part}"


def contrast_key(arm: str | None = None) -> str:
    """The paired regularization contrast of the main runs or an arm (FP32 minus ternary val/train ratio)."""
    return f"{arm_prefix(arm)}regularization_contrast"


def gap_fraction_key(arm: str | None = None) -> str:
    """The share of the FP32 twin's overfitting gap that ternary removes, main runs or an arm."""
    return f"{arm_prefix(arm)}regularization_gap_fraction"


def code_change_key(arm: str | None = None) -> str:
    """The sparsity stage's share of ternary codes changed since initialisation (mean over seeds), for
    the studied model of the main runs (``studied_code_change_fraction``) or an arm."""
    return f"{arm_prefix(arm)}studied_code_change_fraction"


@dataclass(frozen=True)
class MeanStd:
    """One aggregate as summarize wrote it: the mean over seeds and its sample std (None where the
    JSON holds null: one seed, or a value that is not finite)."""

    mean: float | None
    std: float | None

    @classmethod
    def read(cls, aggregates: Mapping[str, Any], key: str) -> "MeanStd":
        """The aggregate at ``key``; a missing key is a KeyError (summarize always writes it)."""
        return cls(aggregates[key], aggregates[std_key(key)])

    @classmethod
    def get(cls, aggregates: Mapping[str, Any], key: str) -> "MeanStd":
        """The aggregate at ``key``, or an empty one where summarize did not write it (an arm whose
        seeds have no main run beside them)."""
        return cls(aggregates.get(key), aggregates.get(std_key(key)))


def run_set_labels(frame):
    """The label of each row of a table with ``arm`` and ``role`` columns: ``studied`` / ``baseline``
    for the main runs (arm ``main``), ``<arm> <role>`` for an arm."""
    return frame["role"].where(frame["arm"] == "main", frame["arm"] + " " + frame["role"])


def run_set_columns(arms: dict) -> list[str]:
    """Every label the params can produce (main roles, then each defined arm's roles), so a plot table
    has the same columns whichever arms ran."""
    return [*ROLES, *(f"{arm} {role}" for arm, spec in arms.items() for role in spec.roles)]
