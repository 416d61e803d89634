"""Classification metrics, one implementation each, all from scikit-learn."""

from __future__ import annotations

from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

# The metric the paper reports for each GLUE task (MRPC F1, SST-2 accuracy, CoLA Matthews corr.).
HEADLINE_METRIC = {"mrpc": "f1", "sst2": "accuracy", "cola": "mcc"}


def trivial_baselines(labels: list[int]) -> dict[str, float]:
    """The best score a constant predictor reaches on ``labels``, per metric: the bar a classifier
    must clear before its score says anything (MRPC: always "paraphrase" gives F1 0.812 on dev)."""
    constants = [classification_metrics(labels, [label] * len(labels)) for label in (0, 1)]
    return {metric: max(scores[metric] for scores in constants) for metric in constants[0]}


def classification_metrics(labels: list[int], predictions: list[int]) -> dict[str, float]:
    """Accuracy, binary F1 (positive class 1) and Matthews correlation, each in [0, 1] / [-1, 1]."""
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "f1": float(f1_score(labels, predictions, zero_division=0)),
        "mcc": float(matthews_corrcoef(labels, predictions)),
    }
