import math

import pytest

from pipeline.metrics import classification_metrics, trivial_baselines


def test_known_confusion_matrix():
    # TP=3, FN=1, FP=2, TN=4
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    predictions = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
    metrics = classification_metrics(labels, predictions)
    assert metrics["accuracy"] == 0.7
    assert math.isclose(metrics["f1"], 2 * 3 / (2 * 3 + 2 + 1))
    assert math.isclose(metrics["mcc"], (3 * 4 - 2 * 1) / math.sqrt(5 * 4 * 6 * 5))


def test_constant_predictions_have_zero_mcc():
    assert classification_metrics([1, 0, 1, 1], [1, 1, 1, 1])["mcc"] == 0.0


def test_trivial_baselines_on_the_mrpc_dev_label_balance():
    labels = [1] * 279 + [0] * 129  # MRPC dev: 279 paraphrases of 408
    trivial = trivial_baselines(labels)
    assert trivial["f1"] == pytest.approx(2 * 279 / (2 * 279 + 129))  # always "paraphrase": F1 0.8122
    assert trivial["accuracy"] == pytest.approx(279 / 408)
    assert trivial["mcc"] == 0.0
