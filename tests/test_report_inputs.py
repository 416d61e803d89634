"""The report's loaders on a temporary folder laid out like the repository (pipeline/layout.py):
this run's outputs, the archives under results/ (hidden folders left out) and the archived study."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.analysis.report.inputs import (archived_runs, evidence_sources, load_inputs, load_study, pooled_runs,
                                             seed_aggregates)
from pipeline.analysis.runsets import MeanStd, mean_std
from pipeline.config import parse_config
from pipeline.config import ROLES
from pipeline.layout import Outputs, RunPaths
from tests.conftest import tiny_raw_params

TASKS = ["mrpc", "sst2", "cola"]
METRICS = ("val_ppl", "val_ppl_smoothed", "val_loss", "train_ppl", "train_loss", "train_val_ratio",
           "train_val_loss_ratio")
GLUE = ("accuracy", "f1", "mcc", "trivial_accuracy", "trivial_f1", "trivial_mcc")


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def _run_metrics(role: str, seed: int) -> dict:
    return {name: 10.0 * (role == "studied") + seed + index / 10 for index, name in enumerate(METRICS)} | \
        {"eval_tokens": 1024}


def _glue_scores(role: str, seed: int) -> dict:
    return {task: {name: 0.5 + 0.1 * seed + 0.01 * index for index, name in enumerate(GLUE)}
            | {"headline": 0.0, "dev_examples": 40} for task in TASKS}


def _summary(seeds: list[int]) -> dict:
    """summary.json as summarize writes it (keys spelled out here, as they are on disk)."""
    summary = {"n_seeds": len(seeds), "run_real_data": False}
    for role in ROLES:
        for name in METRICS:
            summary[f"{role}_{name}"], std = mean_std([_run_metrics(role, s)[name] for s in seeds])
            summary[f"{role}_{name}_std"] = None if len(seeds) == 1 else std
        for task in TASKS:
            for name in GLUE:
                summary[f"{role}_{task}_{name}"], std = mean_std([_glue_scores(role, s)[task][name] for s in seeds])
                summary[f"{role}_{task}_{name}_std"] = None if len(seeds) == 1 else std
    return summary


def _claim(claim_id: str, verdict: str) -> dict:
    return {"id": claim_id, "verdict": verdict, "tested_at": "synthetic default", "ours_alt": None, "margin": None}


def make_run(root: Path, seeds: list[int]) -> None:
    """Every file load_inputs reads, for ``seeds``, where the stages put them."""
    outputs = Outputs(root)
    for role in ROLES:
        for seed in seeds:
            paths = RunPaths.for_run(role, seed, root)
            _write(paths.metrics, _run_metrics(role, seed))
            _write(paths.glue, _glue_scores(role, seed))
            _write(paths.timing, {"train_seconds": 10.0 + seed, "device": "cpu", "tokens_per_second": 1e4})
            _write(paths.loss_curve, "timestamp\tstep\tloss\n0\t1\t2.5\n0\t2\t2.0\n")
            _write(outputs.timing(f"glue_{role}_seed_{seed}"), {"seconds": 1.5})
    for stage, seconds in (("prepare", 0.1), ("tokenize", 0.5), ("benchmark", 100.0), ("sparsity", 0.2)):
        _write(outputs.timing(stage), {"seconds": seconds})
    _write(outputs.metrics("summary"), _summary(seeds))
    for name, data in (("sparsity", {"middle_layers": [2]}), ("benchmark", {"device": "cpu"}),
                       ("data", {"lm_val_stories": 40}), ("tokens", {"train_tokens": 1000})):
        _write(outputs.metrics(name), data)
    _write(outputs.claims, [_claim("val_ppl", "not comparable")])
    _write(outputs.sparsity_layers, "arm,role,seed,layer,module,zero\nmain,studied,0,1,attn.wq,0.3\n"
                                    "notebook_init,studied,0,1,attn.wq,0.31\n")
    _write(outputs.benchmark_table, "scope,format,metric,value,unit\ntrained,fp32,weights_mb,2.0,MB\n")


@pytest.fixture
def two_seeds(tmp_path):
    make_run(tmp_path, [0, 1])
    return parse_config(tiny_raw_params(train={"seeds": [0, 1]}, glue={"tasks": TASKS, "scratch_seeds": [0]})), tmp_path


def test_load_inputs_reads_every_run_the_params_name(two_seeds):
    cfg, root = two_seeds
    inputs = load_inputs(cfg, root)
    assert inputs.ppl[["role", "seed"]].values.tolist() == [["studied", 0], ["studied", 1], ["baseline", 0], ["baseline", 1]]
    assert inputs.ppl["val_ppl"].tolist() == [10.0, 11.0, 0.0, 1.0]
    assert len(inputs.glue) == 12 and set(inputs.glue["task"]) == set(TASKS)
    assert inputs.curves["seed"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1] and inputs.curves["loss"].iloc[1] == 2.0
    assert inputs.layers["arm"].tolist() == ["main"]  # the arms' rows belong to the study
    stages = inputs.stage_seconds.set_index("stage")["seconds"]
    assert list(stages.index[:6]) == ["prepare", "tokenize", "train_studied@0", "train_studied@1", "train_baseline@0",
                                      "train_baseline@1"]
    # every stage dvc repro runs, by its dvc name: the arms' (kept only in DVC's cache here) and the
    # stages that write no timing file are listed, not timed
    assert stages[["train_arm@notebook_init-0 (studied)", "train_arm@maskless_baseline-0 (baseline)"]].isna().all()
    assert list(stages.index[-7:]) == ["glue_sweep", "glue_bow", "benchmark", "sparsity", "validate", "summarize",
                                       "report"]
    # the GLUE fine-tunes and the scratch controls the params name are listed by their dvc names
    assert {f"glue_{role}@{seed}" for role in ("studied", "baseline") for seed in (0, 1)} <= set(stages.index)
    assert [name for name in stages.index if name.startswith("glue_scratch@")] == \
        [f"glue_scratch@{role}-{seed}" for role in ("studied", "baseline") for seed in cfg.glue.scratch_seeds] == \
        ["glue_scratch@studied-0", "glue_scratch@baseline-0"]
    assert stages[["validate", "summarize", "report"]].isna().all()
    assert stages.sum() == pytest.approx(42.0 + 0.8 + 6.0 + 100.0)


def test_the_aggregates_are_summary_json_values(two_seeds):
    cfg, root = two_seeds
    aggregates = load_inputs(cfg, root).aggregates
    assert aggregates.seeds == 2
    assert aggregates.runs["studied"]["val_ppl"] == MeanStd(10.5, pytest.approx(0.7071067811865476))
    summary = json.loads(Outputs(root).metrics("summary").read_text())
    assert aggregates.glue[("cola", "baseline")]["mcc"] == MeanStd(summary["baseline_cola_mcc"],
                                                                   summary["baseline_cola_mcc_std"])
    # headline: the task's headline metric (MRPC F1, SST-2 accuracy, CoLA MCC), read, not recomputed
    assert aggregates.glue[("mrpc", "studied")]["headline"] == aggregates.glue[("mrpc", "studied")]["f1"]
    assert aggregates.glue[("sst2", "studied")]["headline"] == aggregates.glue[("sst2", "studied")]["accuracy"]


def test_one_seed_has_no_spread_and_a_missing_aggregate_is_an_error():
    summary = _summary([0])
    aggregates = seed_aggregates(summary, TASKS)
    assert aggregates.runs["baseline"]["val_ppl"] == MeanStd(0.0, None)
    del summary["studied_train_val_ratio_std"]
    with pytest.raises(KeyError, match="studied_train_val_ratio_std"):
        seed_aggregates(summary, TASKS)


def _archive(results: Path, folder: str, name: str, claims: list[dict]) -> None:
    _write(results / folder / "archive.json", {"name": name, "profile": "cpu-study", "data_source": "local",
                                               "seeds": [0, 1], "note": f"{folder} note"})
    _write(results / folder / "reports" / "claims.json", claims)


def test_archived_runs_leave_out_hidden_folders(tmp_path):
    results = tmp_path / "results"
    assert archived_runs(tmp_path) == []  # no results/ at all
    _archive(results, "cpu-study", "cpu-study", [_claim("val_ppl", "not reproduced")])
    _archive(results, ".cpu-study.partial", "cpu-study", [_claim("val_ppl", "reproduced")])  # interrupted
    _archive(results, ".local-cpu.old", "local-cpu", [_claim("val_ppl", "reproduced")])  # swap in progress
    _archive(results, "local-cpu", "local-cpu", [{"id": "val_ppl", "verdict": "not reproduced"}])  # older rules
    _write(results / "notes" / "README.md", "not an archive")
    _write(results / "README.md", "archived runs")
    runs = archived_runs(tmp_path)
    assert [run.name for run in runs] == ["cpu-study", "local-cpu"]
    assert runs[0].note == "cpu-study note" and runs[0].seeds == [0, 1] and runs[0].profile == "cpu-study"
    assert runs[0].claims["verdict"].tolist() == ["not reproduced"]
    _write(results / "cpu-study" / "params.yaml", yaml.safe_dump({"train": {"epochs": 20}}))
    sources = evidence_sources(pd.DataFrame([_claim("val_ppl", "not comparable")]), tmp_path, {"train": {"epochs": 1}})
    assert [source.name for source in sources] == ["this run", "results/cpu-study"]  # local-cpu: not pooled
    assert [source.params["train"]["epochs"] for source in sources] == [1, 20]  # each with the params it ran


def test_a_superseded_archive_is_listed_but_not_pooled(tmp_path):
    results = tmp_path / "results"
    _archive(results, "cpu-study-v1", "cpu-study-v1", [_claim("cola_mcc", "not reproduced")])
    meta = json.loads((results / "cpu-study-v1" / "archive.json").read_text())
    _write(results / "cpu-study-v1" / "archive.json", meta | {"superseded_by": "cpu-study"})
    current = pd.DataFrame([_claim("cola_mcc", "not comparable")])
    # retired, its re-run not archived yet (or still partial): the first study is still the evidence
    _write(results / "cpu-study" / "archive.json", {"name": "cpu-study", "complete": False})
    assert [source.name for source in evidence_sources(current, tmp_path)] == ["this run", "results/cpu-study-v1"]
    _archive(results, "cpu-study", "cpu-study", [_claim("cola_mcc", "uninformative")])  # the re-run lands
    runs = {run.name: run for run in archived_runs(tmp_path)}
    assert runs["cpu-study-v1"].superseded_by == "cpu-study" and runs["cpu-study"].superseded_by is None
    assert [run.name for run in pooled_runs(list(runs.values()))] == ["cpu-study"]
    assert [source.name for source in evidence_sources(current, tmp_path)] == ["this run", "results/cpu-study"]


def _study(root: Path) -> None:
    base = root / "results" / "cpu-study"
    _archive(root / "results", "cpu-study", "cpu-study", [_claim("val_ppl", "not reproduced")])
    params = {"arms": {"seeds": [0, 1], "run": ["notebook_init", "long_training"],
                       "defs": {"notebook_init": {"roles": ["studied"], "note": "std 1.0"},
                                "long_training": {"roles": ["studied", "baseline"], "note": "40 epochs"}}}}
    _write(base / "params.yaml", yaml.safe_dump(params))
    arms = {"arm_notebook_init_studied_val_ppl": 224.5, "arm_notebook_init_studied_val_ppl_std": 8.3,
            "arm_notebook_init_main_studied_val_ppl": 56.1, "arm_notebook_init_main_studied_val_ppl_std": 0.02,
            "arm_notebook_init_studied_zero_pct_all": 31.07, "arm_notebook_init_studied_zero_pct_all_std": 0.07,
            "arm_long_training_regularization_contrast": -0.34, "arm_long_training_regularization_contrast_std": 0.19,
            "arm_long_training_regularization_gap_fraction": None}
    outputs = Outputs(base)
    for name, data in (("arms", arms), ("summary", {"n_seeds": 5}), ("sparsity", {"middle_layers": [5]})):
        _write(outputs.metrics(name), data)
    _write(outputs.plot("epoch_curves"), "arm,role,seed,split,epoch,step,loss\nmain,studied,0,val,1,10,3.0\n")
    _write(outputs.plot("sparsity_by_depth"), "layer,studied\n1,31.0\n")


def test_load_study_types_the_arms(tmp_path):
    assert load_study(tmp_path) is None
    _study(tmp_path)
    study = load_study(tmp_path)
    assert study.meta["seeds"] == [0, 1] and study.summary["n_seeds"] == 5 and len(study.epochs) == 1
    init, long = study.arm_results
    assert (init.name, init.contrast) == ("notebook_init", None)
    (role,) = init.roles
    assert role.arm["val_ppl"] == MeanStd(224.5, 8.3) and role.main["val_ppl"] == MeanStd(56.1, 0.02)
    assert role.arm["train_ppl"] == MeanStd(None, None) and role.zero_pct == MeanStd(31.07, 0.07)
    assert [r.role for r in long.roles] == ["studied", "baseline"]
    assert long.contrast == MeanStd(-0.34, 0.19) and math.isnan(long.gap_fraction)  # null in arms.json
