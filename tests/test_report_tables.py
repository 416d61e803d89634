"""The report's tables on small hand-made inputs: seed aggregates as read from summary.json, the
benchmark's efficiency and peer tables, degenerate GLUE runs, the cell formats and the arm findings."""

import math

import pandas as pd
import pytest

from pipeline.analysis.report.inputs import ArmResult, ArmRole, SeedAggregates
from pipeline.analysis.report.tables import (arm_findings, degenerate_glue_runs, efficiency_table, glue_metrics_table,
                                             paper_text, peer_table, reported_glue, run_metrics_table, value_text)
from pipeline.analysis.runsets import MeanStd


def _aggregates(seeds=3):
    return SeedAggregates(
        seeds=seeds,
        runs={"studied": {"val_ppl": MeanStd(2.0, 1.0)}, "baseline": {"val_ppl": MeanStd(5.0, None)}},
        glue={("sst2", "studied"): {"headline": MeanStd(0.8123456, 0.0123)},
              ("mrpc", "studied"): {"headline": MeanStd(0.75, 0.0)},
              ("mrpc", "baseline"): {"headline": MeanStd(0.7, 0.05)}})


def test_run_metrics_table_shows_the_aggregates_by_role_in_sorted_order():
    table = run_metrics_table(_aggregates(), ["val_ppl"])
    assert list(table.index) == ["baseline", "studied"] and table.index.name == "role"
    assert table.loc["studied", "val_ppl"] == "2 ± 1"
    assert table.loc["baseline", "val_ppl"] == "5"  # one seed: no spread to show
    assert table["seeds"].tolist() == [3, 3]


def test_glue_metrics_table_is_indexed_by_task_then_role():
    table = glue_metrics_table(_aggregates(), ["headline"])
    assert list(table.index) == [("mrpc", "baseline"), ("mrpc", "studied"), ("sst2", "studied")]
    assert list(table.index.names) == ["task", "role"]
    assert table["headline"].tolist() == ["0.7 ± 0.05", "0.75 ± 0", "0.8123 ± 0.012"]


def test_value_and_paper_text():
    assert value_text(58.4219, 0.171, 3) == "58.42 ± 0.17 (n=3)"
    assert value_text(0.000123456) == "0.0001235" and value_text(123456.0) == "1.235e+05"
    assert value_text(float("nan"), 1.0) == "n/a" and value_text(None) == "n/a"
    assert value_text(2.0, float("nan"), None) == "2"
    assert paper_text(58.42) == "58.42" and paper_text([60, 62]) == "60-62" and paper_text((45.0, 55.0)) == "45-55"
    assert paper_text(None) == "-" and paper_text(float("nan")) == "-"


def _bench(rows):
    return pd.DataFrame(rows, columns=["scope", "format", "metric", "value"])


def _format_rows(scope, fmt, weights, peak, ms, iqr, file_mb=None):
    rows = [(scope, fmt, "weights_mb", weights), (scope, fmt, "peak_mb", peak), (scope, fmt, "ms_per_token", ms),
            (scope, fmt, "ms_per_token_iqr", iqr)]
    return rows + ([(scope, fmt, "file_mb", file_mb)] if file_mb is not None else [])


def test_efficiency_table_compares_each_format_with_its_scope_fp32():
    bench = _bench(_format_rows("paper_arch", "fp32", 528.0, 600.0, 20.0, 0.5, file_mb=528.1)
                   + _format_rows("paper_arch", "ternary_packed", 132.0, 150.0, 5.0, 0.1)
                   + _format_rows("paper_arch", "cuda_fp32", float("nan"), 700.0, 2.0, 0.05)
                   + [("paper_arch", "ternary_2bit", "file_mb", 40.0), ("paper_arch", "ternary_base3", "file_mb", 33.0)]
                   + _format_rows("trained", "fp32", 2.0, 3.0, 1.0, 0.1, file_mb=2.1))
    table = efficiency_table(bench)
    assert table["model"].tolist() == ["trained checkpoints", "paper 132M architecture", "paper 132M architecture",
                                       "paper 132M architecture"]
    assert table["format"].tolist() == ["FP32 twin", "FP32 twin", "CUDA fp32", "packed ternary, C++ kernel (ours)"]
    packed = table.iloc[3]
    assert packed["x smaller than fp32"] == pytest.approx(4.0) and packed["vs fp32"] == pytest.approx(0.25)
    assert packed["file MB"] == "40.00 (2-bit) / 33.00 (base-3)"
    assert table.iloc[1]["file MB"] == "528.10" and table.iloc[1]["x smaller than fp32"] == 1.0
    cuda = table.iloc[2]
    assert cuda["ms/token"] == 2.0 and math.isnan(cuda["weights MB"]) and math.isnan(cuda["vs fp32"])


def test_peer_table_gives_speed_ups_over_both_fp32_implementations():
    assert peer_table(_bench(_format_rows("trained", "fp32", 2.0, 3.0, 1.0, 0.1))).empty
    rows = []
    for fmt, ms in (("llamacpp_tq2_0", 4.0), ("ours_fp32", 20.0), ("llamacpp_f32", 16.0), ("ours_packed", 3.2)):
        rows += [("peer", fmt, "ms_per_token", ms), ("peer", fmt, "ms_per_token_iqr", 0.1),
                 ("peer", fmt, "ms_per_token_min", ms - 0.1), ("peer", fmt, "latency_over_llamacpp_tq2_0", ms / 4.0)]
    table = peer_table(_bench(rows)).set_index("format")
    assert list(table.index) == ["ours: FP32 twin (PyTorch eager)", "ours: packed ternary, C++ kernel", "llama.cpp: F32",
                                 "llama.cpp: TQ2_0"]  # the fixed order; TQ1_0 absent
    packed = table.loc["ours: packed ternary, C++ kernel"]
    assert packed["x faster than our FP32"] == pytest.approx(6.25)
    assert packed["x faster than llama.cpp F32"] == pytest.approx(5.0)
    assert packed["vs llama.cpp TQ2_0"] == pytest.approx(0.8)


def test_degenerate_glue_runs_are_those_with_zero_mcc():
    glue = pd.DataFrame({"role": ["studied", "studied", "baseline"], "seed": [0, 1, 0], "task": ["cola"] * 3,
                         "accuracy": [0.69, 0.7, 0.72], "f1": [0.81, 0.8, 0.79], "mcc": [0.0, -1e-13, 0.12],
                         "headline": [0.0, 0.0, 0.12]})
    degenerate = degenerate_glue_runs(glue)
    assert degenerate["seed"].tolist() == [0, 1] and degenerate["role"].tolist() == ["studied", "studied"]
    assert list(degenerate.columns) == ["role", "seed", "task", "accuracy", "f1", "mcc"]


def test_reported_glue_quotes_the_paper_beside_bert():
    table = reported_glue().set_index("task")
    assert table.loc["mrpc", "metric"] == "f1" and table.loc["mrpc", "TernaryLM (paper)"] == "82.47"
    assert table.loc["cola", "TernaryLM (paper)"] == "47.23"


def test_arm_findings_put_each_arm_beside_the_main_runs():
    role = ArmRole(role="studied",
                   arm={"val_ppl": MeanStd(224.5, 8.3), "train_val_ratio": MeanStd(1.005, 0.0081),
                        "train_ppl": MeanStd(223.4, 10.0)},
                   main={"val_ppl": MeanStd(56.08, 0.024), "train_val_ratio": MeanStd(None, None),
                         "train_ppl": MeanStd(46.4, None)},
                   zero_pct=MeanStd(31.07, 0.067))
    paired = ArmResult(name="long_training", note="longer", roles=[], contrast=MeanStd(-0.34, 0.19), gap_fraction=-0.18)

    class Study:
        arm_results = [ArmResult(name="notebook_init", note="std 1.0", roles=[role], contrast=None,
                                 gap_fraction=float("nan")), paired]

    assert arm_findings(Study()) == [
        "* **notebook_init** (std 1.0), studied: val PPL 224.5 ± 8.3 vs main 56.08 ± 0.024; val/train ratio 1.005 ± "
        "0.0081 vs main n/a; train PPL 223.4 ± 10 vs main 46.4; zero codes 31.07 ± 0.067 (Gaussian 31.0%).",
        "* **long_training** contrast (FP32 minus ternary ratio, paired): -0.34 ± 0.19, gap share -0.18."]
