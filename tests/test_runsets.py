import math

import pandas as pd
import pytest

from pipeline.analysis.runsets import (MeanStd, aggregate_key, arm_prefix, glue_metric, mean_std, run_set_columns,
                                       run_set_labels, std_key)


def test_mean_std_is_the_sample_std_over_seeds():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # n - 1: the population std would be 0.816
    mean, std = mean_std([58.0])
    assert mean == 58.0 and math.isnan(std)


def test_aggregate_keys_are_spelled_as_summary_json_holds_them():
    assert aggregate_key("studied", "val_ppl") == "studied_val_ppl"
    assert aggregate_key("baseline", glue_metric("mrpc", "f1")) == "baseline_mrpc_f1"
    assert aggregate_key("studied", "val_ppl", "notebook_init") == "arm_notebook_init_studied_val_ppl"
    assert aggregate_key("studied", "val_ppl", "notebook_init", beside=True) == "arm_notebook_init_main_studied_val_ppl"
    assert std_key("studied_val_ppl") == "studied_val_ppl_std"
    assert arm_prefix() == "" and arm_prefix("long_training") == "arm_long_training_"


def test_mean_std_reads_an_aggregate_and_its_spread():
    aggregates = {"studied_val_ppl": 58.4, "studied_val_ppl_std": 0.17, "baseline_val_ppl": 60.0,
                  "baseline_val_ppl_std": None}
    assert MeanStd.read(aggregates, "studied_val_ppl") == MeanStd(58.4, 0.17)
    assert MeanStd.read(aggregates, "baseline_val_ppl") == MeanStd(60.0, None)  # one seed: null std
    assert MeanStd.get(aggregates, "arm_x_main_studied_val_ppl") == MeanStd(None, None)
    with pytest.raises(KeyError):
        MeanStd.read(aggregates, "arm_x_main_studied_val_ppl")


def test_run_set_labels_and_columns():
    frame = pd.DataFrame({"arm": ["main", "notebook_init"], "role": ["studied", "studied"]})
    assert run_set_labels(frame).tolist() == ["studied", "notebook_init studied"]

    class Arm:
        roles = ["baseline"]

    assert run_set_columns({"maskless_baseline": Arm()}) == ["studied", "baseline", "maskless_baseline baseline"]
