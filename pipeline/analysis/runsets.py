"""Run sets (the main runs' roles and each arm's roles): their labels in plot tables, one spelling
used by the sparsity and summarize stages and named by dvc.yaml's top-level plots; and the one
definition of "mean ± std" over a set's seeds, which the summary and the report both use."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from pipeline.config import ROLES


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) over seeds; the std is NaN for a single seed."""
    values = list(values)
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else float("nan")


def run_set_labels(frame):
    """The label of each row of a table with ``arm`` and ``role`` columns: ``studied`` / ``baseline``
    for the main runs (arm ``main``), ``<arm> <role>`` for an arm."""
    return frame["role"].where(frame["arm"] == "main", frame["arm"] + " " + frame["role"])


def run_set_columns(arms: dict) -> list[str]:
    """Every label the params can produce (main roles, then each defined arm's roles), so a plot table
    has the same columns whichever arms ran."""
    return [*ROLES, *(f"{arm} {role}" for arm, spec in arms.items() for role in spec.roles)]
