"""The tables the report notebook displays, built from the loaded inputs (:mod:`.inputs`) and printed
through :mod:`.format` (so each number reads the same everywhere: GLUE x 100, MB to 0.1, ratios with
an x, means to the precision of their spread). Means over seeds arrive already aggregated
(summarize's); what is built here is selection, ordering, ratios between formats measured in one
run, and text. Models and run sets are named by :mod:`.names`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.analysis.claims import GLUE_CLAIM_ID
from pipeline.analysis.report import format as fmt
from pipeline.analysis.report.inputs import SeedAggregates
from pipeline.analysis.report.names import role_name
from pipeline.analysis.runsets import MeanStd, glue_metric
from pipeline.bench.table import DEVICE_FORMATS, EFFICIENCY_FORMATS, FORMAT_LABELS, PEER_FORMATS
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import README_BERT_BASE_GLUE, REPORTED as R

EFFICIENCY_SCOPES = (("trained", "trained checkpoints"), ("paper_arch", "paper 132M architecture"))
RUN_METRIC_NAMES = {"val_ppl": "val PPL", "val_ppl_smoothed": "val PPL (notebook's, smoothed)", "train_ppl": "train PPL",
                    "train_val_ratio": "val/train PPL", "train_val_loss_ratio": "val/train loss"}
RATIO_METRICS = ("train_val_ratio", "train_val_loss_ratio")
GLUE_NAMES = {"mrpc": "MRPC F1", "sst2": "SST-2 accuracy", "cola": "CoLA MCC"}


def _spread(aggregate: MeanStd, unit: fmt.Unit = fmt.PLAIN, factor: float = 1.0) -> str:
    """One aggregate as ``mean ± std`` (the mean to the spread's precision), scaled by ``factor``."""
    scale = lambda value: None if value is None else value * factor  # noqa: E731
    return fmt.mean_spread(scale(aggregate.mean), scale(aggregate.std), unit)


def run_metrics_table(aggregates: SeedAggregates, metrics: list[str], quant: str = "ternary") -> pd.DataFrame:
    """Perplexities and ratios per model (ternary, FP32 twin): mean ± sample std over the seeds."""
    rows = [{"model": role_name(role, quant),
             **{RUN_METRIC_NAMES.get(metric, metric): _spread(values[metric],
                                                              fmt.RATIO if metric in RATIO_METRICS else fmt.PLAIN)
                for metric in metrics},
             "seeds": fmt.count(aggregates.seeds)} for role, values in aggregates.runs.items()]
    return pd.DataFrame(rows)


def glue_metrics_table(aggregates: SeedAggregates, quant: str = "ternary") -> pd.DataFrame:
    """GLUE dev scores x 100 per task and model (ternary first): the headline metric (mean ± std over
    seeds), accuracy, F1 and MCC, and the constant predictor of the same dev set."""
    rows = []
    for (task, role), scores in sorted(aggregates.glue.items(), key=lambda item: (item[0][0], item[0][1] != "studied")):
        metric = HEADLINE_METRIC[task]
        rows.append({"task": task, "model": role_name(role, quant),
                     "headline": f"{metric} {_spread(scores['headline'], factor=100)}",
                     "accuracy": _spread(scores.get("accuracy", MeanStd(None, None)), factor=100),
                     "F1": _spread(scores.get("f1", MeanStd(None, None)), factor=100),
                     "MCC": _spread(scores.get("mcc", MeanStd(None, None)), factor=100),
                     "constant predictor": fmt.glue_score(scores.get(f"trivial_{metric}", MeanStd(None, None)).mean)})
    return pd.DataFrame(rows)


def glue_comparison_table(summary: Mapping[str, Any], tasks: list[str], quant: str = "ternary") -> pd.DataFrame:
    """Per task, what surface features and pre-training each give (dev set, x 100, mean ± sample std
    over seeds): the constant predictor, the bag-of-words reference, both architectures fine-tuned from
    their initial weights and from pre-training; MRPC with F1 and accuracy (its constant predictor
    already scores F1 81.2). ``-`` where the run did not make that row."""
    rows = []
    for task in tasks:
        metrics = ("f1", "accuracy") if task == "mrpc" else (HEADLINE_METRIC[task],)
        for metric in metrics:
            key = lambda prefix, role: f"{prefix}{role}_{glue_metric(task, metric)}"  # noqa: E731
            cells = {"constant predictor": fmt.glue_score(summary.get(f"baseline_{glue_metric(task, 'trivial_' + metric)}")),
                     "bag of words": fmt.glue_score(summary.get(f"bow_{glue_metric(task, metric)}"))}
            for prefix, origin in (("scratch_", "from scratch"), ("", "pre-trained")):
                for role in ("studied", "baseline"):
                    cells[f"{role_name(role, quant)}, {origin}"] = _spread(MeanStd.get(summary, key(prefix, role)),
                                                                           factor=100)
            rows.append({"task": task, "metric": metric, **cells})
    return pd.DataFrame(rows)


def _file_sizes(wide: pd.DataFrame, scope: str) -> dict[str, str]:
    """The checkpoint file sizes shown beside FP32 and our packed format."""
    files = {"fp32": fmt.measured(wide.loc[(scope, "fp32"), "file_mb"], fmt.MB)}
    if (scope, "ternary_2bit") in wide.index:
        files["ternary_packed"] = (f"{fmt.measured(wide.loc[(scope, 'ternary_2bit'), 'file_mb'], fmt.MB)} (2-bit) / "
                                   f"{fmt.measured(wide.loc[(scope, 'ternary_base3'), 'file_mb'], fmt.MB)} (base-3)")
    return files


def _efficiency_row(model: str, fmt_name: str, row: pd.Series, fp32: pd.Series | None, file_mb: str) -> dict[str, str]:
    """One format's memory and latency, each beside the scope's FP32 twin where one is given."""
    versus = lambda metric: fmt.measured(row[metric] / fp32[metric], fmt.TIMES) if fp32 is not None else ""  # noqa: E731
    weights = row.get("weights_mb")
    return {"model": model, "format": FORMAT_LABELS[fmt_name], "weights": fmt.measured(weights, fmt.MB),
            "smaller than FP32": fmt.measured(fp32["weights_mb"] / weights, fmt.TIMES)
            if fp32 is not None and fmt.present(weights) else "",
            "peak inference": fmt.measured(row["peak_mb"], fmt.MB),
            "ms/token (IQR)": (f"{fmt.measured(row['ms_per_token'], fmt.MS)} "
                               f"({fmt.measured(row['ms_per_token_iqr'], fmt.MS)})"),
            "time vs FP32": versus("ms_per_token"), "file": file_mb,
            **{name: cell for name, cell in _floor_cells(row).items() if name in ("floor", "time over floor")}}


def efficiency_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """One row per (scope, format) of the benchmark's tidy table: memory, file size and latency, and
    each against the scope's FP32 twin; the CUDA rows, where measured, after FP32."""
    wide = bench_table.pivot_table(index=["scope", "format"], columns="metric", values="value", aggfunc="first")
    rows = []
    for scope, model in EFFICIENCY_SCOPES:
        for name in EFFICIENCY_FORMATS:
            if (scope, name) not in wide.index:
                continue
            fp32 = wide.loc[(scope, "fp32")]
            rows.append(_efficiency_row(model, name, wide.loc[(scope, name)], fp32, _file_sizes(wide, scope).get(name, "")))
            rows += [_efficiency_row(model, device, wide.loc[(scope, device)], None, "") for device in DEVICE_FORMATS
                     if name == "fp32" and (scope, device) in wide.index]
    return pd.DataFrame(rows)


def peer_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """Decode speed of our formats and llama.cpp's (pipeline/bench/peer.py), one run, interleaved rounds:
    medians, spread, and the speed-up over each FP32 implementation. Empty without the peer rows."""
    peer = bench_table[bench_table["scope"] == "peer"]
    if not len(peer):
        return pd.DataFrame()
    wide = peer.pivot_table(index="format", columns="metric", values="value", aggfunc="first")
    faster = lambda base, row: fmt.measured(wide.loc[base, "ms_per_token"] / row["ms_per_token"], fmt.TIMES)  # noqa: E731
    return pd.DataFrame([{"format": FORMAT_LABELS[name], "ms/token (median)": fmt.measured(row["ms_per_token"], fmt.MS),
                          "IQR": fmt.measured(row["ms_per_token_iqr"], fmt.MS),
                          "min": fmt.measured(row["ms_per_token_min"], fmt.MS),
                          "time vs llama.cpp TQ2_0": fmt.measured(row["latency_over_llamacpp_tq2_0"], fmt.TIMES),
                          "faster than our FP32": faster("ours_fp32", row),
                          "faster than llama.cpp F32": faster("llamacpp_f32", row), **_floor_cells(row)}
                         for name in PEER_FORMATS if name in wide.index for row in [wide.loc[name]]])


def _floor_cells(row: pd.Series) -> dict[str, str]:
    """The decode floor of one timed format (pipeline/bench/floor.py): the megabytes it reads per
    token, the read bandwidth at that size, the floor and its time over the floor; ``n/a`` in a
    benchmark made before the floor was measured."""
    value = lambda metric: row[metric] if metric in row.index else None  # noqa: E731
    megabytes = value("bytes_per_token")
    return {"MB read/token": fmt.measured(None if megabytes is None else megabytes / 1e6, fmt.MB),
            "read GB/s": fmt.measured(value("read_gb_per_s"), fmt.RATIO),
            "floor": fmt.measured(value("floor_ms"), fmt.MS),
            "time over floor": fmt.measured(value("over_floor"), fmt.TIMES)}


def reported_glue() -> pd.DataFrame:
    """The paper's GLUE figures (x 100) beside the README's BERT-Base row, for reference."""
    return pd.DataFrame([{"task": GLUE_NAMES.get(task, task), "TernaryLM (paper)": fmt.given(R[GLUE_CLAIM_ID[task]]),
                          "BERT-Base (paper README)": fmt.given(README_BERT_BASE_GLUE[task])}
                         for task in HEADLINE_METRIC])


def degenerate_glue_runs(glue: pd.DataFrame, quant: str = "ternary") -> pd.DataFrame:
    """Fine-tuned runs whose dev predictions are constant in effect (MCC = 0): degenerate classifiers,
    scores x 100."""
    chosen = glue[glue["mcc"].abs() < 1e-12]
    return pd.DataFrame({"model": chosen["role"].map(lambda role: role_name(role, quant)), "seed": chosen["seed"],
                         "task": chosen["task"], **{name: chosen[column].map(fmt.glue_score) for name, column in
                                                    (("accuracy", "accuracy"), ("F1", "f1"), ("MCC", "mcc"))}})


def stage_table(stage_seconds: pd.DataFrame) -> pd.DataFrame:
    """Wall-clock time per stage, ``not recorded`` where the stage writes no timing file (or its run is
    kept only in DVC's cache)."""
    return pd.DataFrame({"stage": stage_seconds["stage"],
                         "wall clock": [fmt.measured(s, fmt.SECONDS) if fmt.present(s) else "not recorded"
                                        for s in stage_seconds["seconds"]]})


def provenance_table(facts: Mapping[str, str]) -> pd.DataFrame:
    """Where the report came from, one fact per row."""
    return pd.DataFrame({"fact": list(facts), "value": list(facts.values())})


def training_table(timing: pd.DataFrame, quant: str = "ternary") -> pd.DataFrame:
    """Each main training run: device, wall clock, training tokens per second and the step it resumed from."""
    return pd.DataFrame({"model": timing["role"].map(lambda role: role_name(role, quant)), "seed": timing["seed"],
                         "device": timing["device"], "training": timing["train_seconds"].map(
                             lambda s: fmt.measured(s, fmt.SECONDS)),
                         "tokens/s": timing["tokens_per_second"].map(fmt.count),
                         "resumed from step": timing.get("resumed_from_step", pd.Series(dtype=object)).map(fmt.count)})
