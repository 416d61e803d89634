import math

import pandas as pd

from pipeline.analysis.report import mean_std_table
from pipeline.analysis.runsets import mean_std, run_set_columns, run_set_labels


def test_mean_std_is_the_sample_std_over_seeds():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # n - 1: the population std would be 0.816
    mean, std = mean_std([58.0])
    assert mean == 58.0 and math.isnan(std)


def test_the_report_table_uses_the_same_definition():
    frame = pd.DataFrame({"role": ["studied"] * 3 + ["baseline"], "val_ppl": [1.0, 2.0, 3.0, 5.0]})
    table = mean_std_table(frame, ["role"], ["val_ppl"])
    assert table.loc["studied", "val_ppl"] == "2 ± 1" and table.loc["studied", "seeds"] == 3
    assert table.loc["baseline", "val_ppl"] == "5"  # one seed: no spread to show


def test_run_set_labels_and_columns():
    frame = pd.DataFrame({"arm": ["main", "notebook_init"], "role": ["studied", "studied"]})
    assert run_set_labels(frame).tolist() == ["studied", "notebook_init studied"]

    class Arm:
        roles = ["baseline"]

    assert run_set_columns({"maskless_baseline": Arm()}) == ["studied", "baseline", "maskless_baseline baseline"]
