"""Classification metrics, one implementation each, all from scikit-learn."""

from __future__ import annotations

import math

# The metric the paper reports for each GLUE task (MRPC F1, SST-2 accuracy, CoLA Matthews corr.).
HEADLINE_METRIC = {"mrpc": "f1", "sst2": "accuracy", "cola": "mcc"}

# Zero fractions of an untrained Gaussian weight w ~ N(0, s^2), the reference the sparsity claims are
# read against. Our rule, round(w / mean|w|) = 0 iff |w| < mean|w| / 2 with mean|w| = s sqrt(2 / pi):
# P = erf(1 / (2 sqrt(pi))) = 0.310. Ternary weight networks' threshold (Li et al. 2016),
# |w| < 0.7 mean|w|: P = erf(0.7 / sqrt(pi)) = 0.4235.
GAUSSIAN_ZERO_FRACTION = math.erf(1.0 / (2.0 * math.sqrt(math.pi)))
TWN_DELTA = 0.7  # in units of mean|w|
GAUSSIAN_TWN_ZERO_FRACTION = math.erf(TWN_DELTA / math.sqrt(math.pi))


def trivial_baselines(labels: list[int]) -> dict[str, float]:
    """The best score a constant predictor reaches on ``labels``, per metric: the bar a classifier
    must clear before its score says anything (MRPC: always "paraphrase" gives F1 0.812 on dev)."""
    constants = [classification_metrics(labels, [label] * len(labels)) for label in (0, 1)]
    return {metric: max(scores[metric] for scores in constants) for metric in constants[0]}


def classification_metrics(labels: list[int], predictions: list[int]) -> dict[str, float]:
    """Accuracy, binary F1 (positive class 1) and Matthews correlation, each in [0, 1] / [-1, 1]."""
    # scikit-learn takes ~1 s to import; every training stage imports this module for its constants
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "f1": float(f1_score(labels, predictions, zero_division=0)),
        "mcc": float(matthews_corrcoef(labels, predictions)),
    }


def dev_scores(task: str, labels: list[int], predictions: list[int]) -> dict[str, float]:
    """A GLUE dev set's scores as every classifier here reports them (the fine-tunes, the
    bag-of-words reference): accuracy, F1, MCC, the task's ``headline`` metric, the dev set's size and
    positive share, and the constant predictors' scores on it."""
    metrics = classification_metrics(labels, predictions)
    n = max(len(labels), 1)
    return metrics | {"headline": metrics[HEADLINE_METRIC[task]], "dev_examples": len(labels),
                      "dev_positive_fraction": sum(labels) / n,
                      **{f"trivial_{metric}": value for metric, value in trivial_baselines(labels).items()},
                      "dev_majority_accuracy": max(sum(labels), len(labels) - sum(labels)) / n}
