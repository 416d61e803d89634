"""The report's tables on small hand-made inputs: seed aggregates as read from summary.json, the
benchmark's efficiency and peer tables, degenerate GLUE runs and the stage times, every number printed
by its unit (MB, ms, x, GLUE x 100) and every model named as the text names it."""

import math

import pandas as pd

from pipeline.analysis.report.inputs import SeedAggregates
from pipeline.analysis.report.tables import (degenerate_glue_runs, efficiency_table, glue_metrics_table, peer_table,
                                             reported_glue, run_metrics_table, stage_table)
from pipeline.analysis.runsets import MeanStd


def _aggregates(seeds=3):
    return SeedAggregates(
        seeds=seeds,
        runs={"studied": {"val_ppl": MeanStd(2.0, 1.0), "train_val_ratio": MeanStd(1.17789, 0.0336)},
              "baseline": {"val_ppl": MeanStd(5.0, None), "train_val_ratio": MeanStd(1.0466, 0.012)}},
        glue={("sst2", "studied"): {"headline": MeanStd(0.8123456, 0.0123), "accuracy": MeanStd(0.8123456, 0.0123),
                                    "trivial_accuracy": MeanStd(0.5092, 0.0)},
              ("mrpc", "studied"): {"headline": MeanStd(0.7597, 0.0), "f1": MeanStd(0.7597, 0.0),
                                    "trivial_f1": MeanStd(0.7597, 0.0)},
              ("mrpc", "baseline"): {"headline": MeanStd(0.7, 0.05), "f1": MeanStd(0.7, 0.05)}})


def test_run_metrics_name_the_models_and_round_means_to_their_spread():
    table = run_metrics_table(_aggregates(), ["val_ppl", "train_val_ratio"]).set_index("model")
    assert list(table.index) == ["ternary", "FP32 twin"]
    assert table.loc["ternary", "val PPL"] == "2.0 ± 1.0" and table.loc["FP32 twin", "val PPL"] == "5.00"
    assert table.loc["ternary", "val/train PPL"] == "1.178 ± 0.034"
    assert table["seeds"].tolist() == ["3", "3"]
    assert run_metrics_table(_aggregates(), ["val_ppl"], quant="fp32").iloc[0]["model"] == "studied (fp32)"


def test_glue_scores_print_x100_beside_the_constant_predictor():
    table = glue_metrics_table(_aggregates())
    assert table[["task", "model"]].values.tolist() == [["mrpc", "ternary"], ["mrpc", "FP32 twin"],
                                                         ["sst2", "ternary"]]
    assert table["headline"].tolist() == ["f1 75.97 (no spread)", "f1 70.0 ± 5.0", "accuracy 81.2 ± 1.2"]
    assert table.loc[2, "constant predictor"] == "50.92" and table.loc[0, "MCC"] == "n/a"


def _bench(rows):
    return pd.DataFrame(rows, columns=["scope", "format", "metric", "value"])


def _format_rows(scope, fmt, weights, peak, ms, iqr, file_mb=None):
    rows = [(scope, fmt, "weights_mb", weights), (scope, fmt, "peak_mb", peak), (scope, fmt, "ms_per_token", ms),
            (scope, fmt, "ms_per_token_iqr", iqr)]
    return rows + ([(scope, fmt, "file_mb", file_mb)] if file_mb is not None else [])


def test_efficiency_table_compares_each_format_with_its_scope_fp32_in_units():
    bench = _bench(_format_rows("paper_arch", "fp32", 527.686, 600.0, 20.0, 0.5, file_mb=528.1)
                   + _format_rows("paper_arch", "ternary_packed", 131.92, 150.0, 5.0, 0.1)
                   + _format_rows("paper_arch", "cuda_fp32", float("nan"), 700.0, 2.0, 0.05)
                   + [("paper_arch", "ternary_2bit", "file_mb", 40.0), ("paper_arch", "ternary_base3", "file_mb", 33.0)]
                   + _format_rows("trained", "fp32", 2.0, 3.0, 1.0, 0.1, file_mb=2.1))
    table = efficiency_table(bench)
    assert table["model"].tolist() == ["trained checkpoints", "paper 132M architecture", "paper 132M architecture",
                                       "paper 132M architecture"]
    assert table["format"].tolist() == ["FP32 twin", "FP32 twin", "CUDA fp32", "packed ternary, C++ kernel (ours)"]
    fp32, cuda, packed = table.iloc[1], table.iloc[2], table.iloc[3]
    assert (fp32["weights"], fp32["file"], fp32["smaller than FP32"]) == ("527.7 MB", "528.1 MB", "1.00x")
    assert (packed["smaller than FP32"], packed["time vs FP32"]) == ("4.00x", "0.25x")
    assert packed["file"] == "40.0 MB (2-bit) / 33.0 MB (base-3)" and packed["ms/token (IQR)"] == "5.00 ms (0.10 ms)"
    assert (cuda["weights"], cuda["smaller than FP32"], cuda["time vs FP32"]) == ("n/a", "", "")


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
    assert (packed["faster than our FP32"], packed["faster than llama.cpp F32"]) == ("6.25x", "5.00x")
    assert (packed["time vs llama.cpp TQ2_0"], packed["ms/token (median)"]) == ("0.80x", "3.20 ms")
    assert packed["floor"] == packed["time over floor"] == "n/a"  # a benchmark from before the floor


def test_peer_table_shows_each_formats_floor():
    rows = []
    for fmt, ms, mb in (("llamacpp_tq2_0", 4.0, 71.0), ("ours_fp32", 20.0, 528.0), ("ours_packed", 3.2, 70.0)):
        rows += [("peer", fmt, "ms_per_token", ms), ("peer", fmt, "ms_per_token_iqr", 0.1),
                 ("peer", fmt, "ms_per_token_min", ms - 0.1), ("peer", fmt, "latency_over_llamacpp_tq2_0", ms / 4.0),
                 ("peer", fmt, "bytes_per_token", mb * 1e6), ("peer", fmt, "read_gb_per_s", 40.0),
                 ("peer", fmt, "floor_ms", mb / 40.0), ("peer", fmt, "over_floor", ms / (mb / 40.0))]
    rows += [("peer", "llamacpp_f32", "ms_per_token", 16.0)]
    packed = peer_table(_bench(rows)).set_index("format").loc["ours: packed ternary, C++ kernel"]
    assert (packed["MB read/token"], packed["floor"], packed["time over floor"]) == ("70.0 MB", "1.75 ms", "1.83x")


def test_degenerate_glue_runs_are_those_with_zero_mcc_scores_x100():
    glue = pd.DataFrame({"role": ["studied", "studied", "baseline"], "seed": [0, 1, 0], "task": ["cola"] * 3,
                         "accuracy": [0.69, 0.7, 0.72], "f1": [0.81, 0.8, 0.79], "mcc": [0.0, -1e-13, 0.12],
                         "headline": [0.0, 0.0, 0.12]})
    degenerate = degenerate_glue_runs(glue)
    assert degenerate["seed"].tolist() == [0, 1] and degenerate["model"].tolist() == ["ternary", "ternary"]
    assert list(degenerate.columns) == ["model", "seed", "task", "accuracy", "F1", "MCC"]
    assert degenerate["accuracy"].tolist() == ["69.00", "70.00"]


def test_reported_glue_quotes_the_paper_beside_bert():
    table = reported_glue().set_index("task")
    assert table.loc["MRPC F1", "TernaryLM (paper)"] == "82.47" and table.loc["CoLA MCC", "TernaryLM (paper)"] == "47.23"


def test_stage_times_name_the_untimed_stages():
    table = stage_table(pd.DataFrame({"stage": ["train_studied@0", "summarize"], "seconds": [11.26, math.nan]}))
    assert table["wall clock"].tolist() == ["11.3 s", "not recorded"]
