"""Run sets (the main runs' roles and each arm's roles): their labels in plot tables, one spelling
used by the sparsity and summarize stages and named by dvc.yaml's top-level plots; the one
definition of "mean ± std" over a set's seeds; and the keys under which summarize writes those
aggregates into metrics/summary.json and metrics/arms.json, which the report reads back."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config import ROLES

RUN_METRICS = ("val_ppl", "val_ppl_smoothed", "val_loss", "train_ppl", "train_loss", "train_val_ratio",
               "train_val_loss_ratio")
GLUE_METRICS = ("accuracy", "f1", "mcc", "trivial_accuracy", "trivial_f1", "trivial_mcc")


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
    return f"{arm_prefix(arm, beside)}{role}_{metric}"


def glue_metric(task: str, metric: str) -> str:
    """The metric name of a GLUE score in the aggregates: ``mrpc_f1``."""
    return f"{task}_{metric}"


def std_key(key: str) -> str:
    """The key of the sample std beside the mean at ``key``."""
    return f"{key}_std"


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
