"""The archived CPU study's tables (pipeline/analysis/report/study.py): each training regime at its own
epochs, GLUE x 100 beside the constant predictor, zero codes under both rules, and one line per arm
named by what the arm changes (the notebook's baseline as the README names it)."""

import math

import pandas as pd

from pipeline.analysis.report.inputs import ArmResult, ArmRole, StudyInputs
from pipeline.analysis.report.study import arm_findings, glue_table, regime_labels, regime_table, sparsity_table
from pipeline.analysis.runsets import MeanStd

PARAMS = {"train": {"epochs": 20}, "glue": {"tasks": ["mrpc"]},
          "arms": {"seeds": [0, 1], "run": ["maskless_baseline", "long_training"],
                   "defs": {"maskless_baseline": {"roles": ["baseline"], "note": "the notebook's FP16 baseline",
                                                  "changes": {"model.baseline.attention": "bidirectional",
                                                              "model.baseline.positions": "learned"}},
                            "long_training": {"roles": ["studied", "baseline"], "note": "longer (overfit)",
                                              "changes": {"train.epochs": 40}}}}}


def _pair(values: dict, key: str, mean: float, std: float | None) -> None:
    values[key], values[f"{key}_std"] = mean, std


def _study() -> StudyInputs:
    summary, arms = {"n_seeds": 5}, {}
    for role, ratio, ppl in (("studied", 1.1779, 57.61), ("baseline", 1.0466, 75.44)):
        _pair(summary, f"{role}_train_val_ratio", ratio, 0.03)
        summary[f"{role}_train_ppl"], summary[f"{role}_val_ppl"] = ppl / ratio, ppl
        _pair(summary, f"{role}_mrpc_f1", 0.81245, 0.0005)
        for part in ("zero_pct_middle", "zero_pct_boundary", "twn_zero_pct_middle", "twn_zero_pct_boundary"):
            _pair(summary, f"{role}_{part}", 31.03, 0.086)
        _pair(arms, f"arm_long_training_{role}_train_val_ratio", ratio * 2.8, 0.02)
        arms[f"arm_long_training_{role}_train_ppl"], arms[f"arm_long_training_{role}_val_ppl"] = 15.6, 51.7
    summary["baseline_mrpc_trivial_f1"] = 0.812227
    _pair(summary, "regularization_contrast", -0.1313, 0.0332)
    summary["regularization_gap_fraction"] = -2.81
    _pair(arms, "arm_long_training_regularization_contrast", -0.343, 0.186)
    arms["arm_long_training_regularization_gap_fraction"] = -0.175
    maskless = ArmRole("baseline", arm={"val_ppl": MeanStd(75.6, 5.0), "train_val_ratio": MeanStd(1.107, 0.035)},
                       main={"val_ppl": MeanStd(72.7, 5.0), "train_val_ratio": MeanStd(1.043, 0.012)},
                       zero_pct=MeanStd(31.0488, 0.0095))
    results = [ArmResult("maskless_baseline", [maskless], None, math.nan),
               ArmResult("long_training", [], MeanStd(-0.343, 0.186), -0.175)]
    return StudyInputs(meta={}, claims=pd.DataFrame(), summary=summary, arms=arms, epochs=pd.DataFrame(),
                       depth=pd.DataFrame(), sparsity={}, params=PARAMS, arm_results=results)


def test_each_regime_is_labelled_with_its_own_epochs():
    assert regime_labels(PARAMS) == {"main": "main runs, 20 epochs", "long_training": "long_training arm, 40 epochs"}
    table = regime_table(_study()).set_index("regime")
    main, long = table.loc["main runs, 20 epochs"], table.loc["long_training arm, 40 epochs"]
    assert (main["seeds"], long["seeds"]) == ("5", "2")
    assert main["ternary val/train"] == "1.178 ± 0.030" and main["FP32 minus ternary (paired)"] == "-0.131 ± 0.033"
    assert (main["gap share removed"], long["gap share removed"]) == ("-281%", "-18%")
    assert long["val PPL (ternary / FP32)"] == "51.70 / 51.70"


def test_glue_is_x100_beside_the_constant_predictor():
    row = glue_table(_study()).iloc[0]
    assert (row["ternary"], row["FP32 twin"], row["constant predictor"]) == ("81.245 ± 0.050", "81.245 ± 0.050", "81.22")


def test_zero_codes_under_both_rules_with_their_spread():
    table = sparsity_table(_study())
    assert table["model"].tolist() == ["ternary", "FP32 twin"]
    assert table.loc[0, "middle"] == "31.030 ± 0.086%" and "middle (TWN 0.7 mean|w|)" in table.columns


def test_arms_are_named_by_what_they_change_once_each():
    lines = arm_findings(_study())
    assert len(lines) == 2  # one line per arm, its note not repeated per role
    assert lines[0].startswith("* **`maskless_baseline`**: the notebook's baseline (FP32, no causal mask): val PPL "
                               "75.6 ± 5.0 (main runs 72.7 ± 5.0)")
    assert "FP16" not in " ".join(lines) and "))" not in " ".join(lines)
    assert lines[1] == "* **`long_training`**: FP32 minus ternary -0.34 ± 0.19, gap share -18%."


def test_an_arm_line_shows_its_training_loss_leak_probe_and_changed_codes_where_measured():
    baseline = ArmRole("baseline", arm={"val_ppl": MeanStd(40.0, 1.0), "train_val_ratio": MeanStd(3.5, 0.2),
                                        "train_loss": MeanStd(0.054, 0.004)},
                       main={"val_ppl": MeanStd(30.0, 1.0), "train_val_ratio": MeanStd(1.2, 0.1),
                             "train_loss": MeanStd(3.1, 0.1)},
                       zero_pct=MeanStd(31.0, 0.01), leak_nats=MeanStd(4.25, 0.5))
    studied = ArmRole("studied", arm={"val_ppl": MeanStd(200.0, 9.0), "train_val_ratio": MeanStd(1.05, 0.01)},
                      main={"val_ppl": MeanStd(30.0, 1.0), "train_val_ratio": MeanStd(1.2, 0.1)},
                      zero_pct=MeanStd(31.1, 0.02), code_change=0.031)
    study = _study()
    line = arm_findings(StudyInputs(**{**study.__dict__, "arm_results": [
        ArmResult("maskless_baseline", [baseline, studied], None, math.nan)]}))[0]
    assert "final training loss 0.0540 ± 0.0040 (main runs 3.10 ± 0.10) nats" in line
    assert "leak probe (the causal mask imposed) +4.25 ± 0.50 nats" in line
    assert "codes changed since init 3.1%" in line
    # the ternary role has no training loss recorded here (an older archive): the part is left out, not "n/a"
    assert line.count("final training loss") == 1 and "n/a" not in line
