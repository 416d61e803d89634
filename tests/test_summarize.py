"""summarize() on temporary copies laid out like the repository: the committed default runs (arms
stubbed from them: the real arm runs live in DVC's cache) and the archived CPU study on real data.
The summary it writes keeps to the metrics contract; the unigram baseline, the per-seed values and
the training speed are there for the claims; older benchmark names are recomputed, not mapped."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.claims import UNTESTED
from pipeline.analysis.metrics_contract import Metrics
from pipeline.analysis.rejudge import archive_config, rebuild_tokens
from pipeline.analysis.runsets import UndeclaredMetricError
from pipeline.analysis.summarize import (benchmark_metrics, max_loss_rise, min_loss_fall, summarize,
                                         unigram_val_nats)
from pipeline.config import parse_config
from pipeline.data.tokens import save_tokens
from pipeline.io import write_json
from tests.conftest import PROJECT_ROOT, deep_update, raw_params

STUDY = PROJECT_ROOT / "results" / "cpu-study-v1"


def _default_run(root: Path, params: dict) -> tuple:
    """The committed default runs under ``root`` (each arm a copy of the main run of its role and seed),
    the default corpus re-tokenized, and the committed benchmark and sparsity metrics."""
    cfg = parse_config(params)
    for role in ("studied", "baseline"):
        shutil.copytree(PROJECT_ROOT / "runs" / role, root / "runs" / role)
    for arm in cfg.arms.run:
        for role in cfg.arms.defs[arm].roles:
            for seed in cfg.arms.seeds:
                shutil.copytree(PROJECT_ROOT / "runs" / role / f"seed_{seed}", root / "runs/arms" / arm / f"seed_{seed}"
                                / role)
    tokens = rebuild_tokens(cfg, root / "data", PROJECT_ROOT)
    return cfg, tokens, PROJECT_ROOT / "metrics/benchmark.json", PROJECT_ROOT / "metrics/sparsity.json"


@pytest.fixture(scope="module")
def default_summary(tmp_path_factory):
    root = tmp_path_factory.mktemp("default")
    cfg, tokens, benchmark, sparsity = _default_run(root, raw_params())
    return (cfg, root, tokens, benchmark, sparsity), summarize(cfg, root, tokens, benchmark, sparsity)


def test_the_default_summary_keeps_to_the_contract_and_carries_what_claims_need(default_summary):
    _, (summary, arms, claims) = default_summary
    Metrics({**summary, **arms})  # every name declared (summarize also checked the required ones)
    assert summary["seeds"] == [0, 1, 2] and len(summary["studied_val_loss_per_seed"]) == 3
    assert summary["regularization_contrast_per_seed"] == pytest.approx(
        [b - s for s, b in zip(summary["studied_train_val_ratio_per_seed"], summary["baseline_train_val_ratio_per_seed"])])
    assert summary["studied_tokens_per_second"] > 0 and summary["min_loss_fall_nats"] > 1.0
    assert max(summary["studied_val_loss_per_seed"]) < summary["unigram_val_nats"] - 0.5  # the default runs learned
    assert summary["paper_arch_ternary_pytorch_weight_reduction"] == pytest.approx(
        summary["paper_arch_fp32_weights_mb"] / summary["paper_arch_ternary_pytorch_weights_mb"])


def test_every_untested_default_claim_is_priced(default_summary):
    _, (_, _, claims) = default_summary
    untested = [entry for entry in claims if entry["verdict"] in UNTESTED]
    assert untested and all(entry["command"] and entry["cost"]["hours"][0] > 0 for entry in untested)
    # model claims on synthetic data decide nothing
    assert all(entry["verdict"] not in ("reproduced", "not reproduced") for entry in claims
               if entry["kind"] in ("absolute", "direction"))


def test_doubling_train_epochs_doubles_the_writingprompts_cost(default_summary):
    (cfg, root, tokens, benchmark, sparsity), (_, _, claims) = default_summary
    longer = parse_config(deep_update(cfg.model_dump(mode="json"), {"train": {"epochs": 2 * cfg.train.epochs}}))
    doubled = {e["id"]: e for e in summarize(longer, root, tokens, benchmark, sparsity)[2]}
    before = {e["id"]: e for e in claims}["stable_training_writingprompts"]["cost"]["hours"]
    assert doubled["stable_training_writingprompts"]["cost"]["hours"] == pytest.approx([2 * h for h in before])


def test_the_code_change_is_the_mean_of_the_sparsity_stages_per_run_values(default_summary, tmp_path):
    (cfg, root, tokens, benchmark, sparsity), (summary, arms, _) = default_summary
    committed = json.loads(sparsity.read_text())
    assert summary["studied_code_change_fraction"] == pytest.approx(
        sum(committed[f"studied_seed_{s}_code_change_fraction"] for s in cfg.train.seeds) / len(cfg.train.seeds))
    measured = committed | {f"studied_seed_{s}_code_change_fraction": 0.1 * (s + 1)
                                                  for s in cfg.train.seeds}
    measured |= {f"arm_notebook_init_studied_seed_{s}_code_change_fraction": 0.01 for s in cfg.arms.seeds}
    write_json(tmp_path / "sparsity.json", measured)
    summary, arms, claims = summarize(cfg, root, tokens, benchmark, tmp_path / "sparsity.json")
    assert summary["studied_code_change_fraction"] == pytest.approx(0.2)
    assert arms["arm_notebook_init_studied_code_change_fraction"] == pytest.approx(0.01)
    reasons = {e["id"]: e["reason"] for e in claims}
    assert "was not measured" not in reasons["sparsity_middle_vs_boundary"]


def test_unigram_baseline_is_add_one_smoothed_over_the_vocabulary(tmp_path):
    save_tokens(tmp_path / "train.npy", np.array([0, 0, 0, 1], dtype=np.uint16))
    save_tokens(tmp_path / "val.npy", np.array([0, 2], dtype=np.uint16))
    # counts 3, 1, 0 over a vocabulary of 3: p = 4/7, 2/7, 1/7
    assert unigram_val_nats(tmp_path, 3) == pytest.approx(-(math.log(4 / 7) + math.log(1 / 7)) / 2)


def test_loss_curve_shape_rise_and_fall():
    falling, flat = pd.Series(np.linspace(7.0, 4.0, 50)), pd.Series(np.full(50, 5.5))
    assert max_loss_rise([falling]) == 0.0 and min_loss_fall([falling]) == pytest.approx(3.0 * 45 / 49)  # tenth means 6.878 -> 4.122
    assert max_loss_rise([flat]) == 0.0 and min_loss_fall([flat, falling]) == 0.0
    assert max_loss_rise([pd.Series([5.0, math.inf])]) == math.inf


def test_older_benchmark_names_are_recomputed_and_strays_refused():
    old = {"paper_arch_fp32_weights_mb": 527.7, "paper_arch_ternary_pytorch_weights_mb": 209.0,
           "paper_arch_fp32_ms_per_token": 20.0, "paper_arch_ternary_pytorch_ms_per_token": 100.0,
           "paper_arch_fp32_over_ternary_pytorch_weights": 2.525, "paper_arch_ternary_pytorch_over_fp32_latency": 5.0,
           "repeats": 5, "device": "x86_64 CPU"}
    flat = benchmark_metrics(old)
    assert flat["paper_arch_ternary_pytorch_weight_reduction"] == pytest.approx(527.7 / 209.0)
    assert flat["paper_arch_ternary_pytorch_latency_over_fp32"] == pytest.approx(5.0)
    assert "paper_arch_fp32_over_ternary_pytorch_weights" not in flat and "device" not in flat
    with pytest.raises(UndeclaredMetricError, match="paper_arch_fp32_weigths_mb"):
        benchmark_metrics(old | {"paper_arch_fp32_weigths_mb": 1.0})


@pytest.fixture(scope="module")
def study_summary(tmp_path_factory):
    if not (PROJECT_ROOT.parent / "shared" / "data").is_dir():
        pytest.skip("real data not found beside the checkout")
    cfg, _ = archive_config(STUDY, PROJECT_ROOT / "params.yaml")
    tokens = rebuild_tokens(cfg, tmp_path_factory.mktemp("study"), PROJECT_ROOT)
    return summarize(cfg, STUDY, tokens, STUDY / "metrics/benchmark.json", STUDY / "metrics/sparsity.json")


def test_the_cpu_study_recomputed_from_its_own_files(study_summary):
    summary, arms, claims = study_summary
    assert summary["unigram_val_nats"] == pytest.approx(math.log(255.65), abs=1e-3)  # unigram PPL 255.7
    assert arms["arm_notebook_init_studied_val_loss"] > summary["unigram_val_nats"] - 0.5  # learned nothing
    assert summary["paper_arch_ternary_pytorch_weight_reduction"] == pytest.approx(2.525, abs=1e-3)
    by_id = {entry["id"]: entry for entry in claims}
    assert by_id["regularization_contrast_medium"]["verdict"] == "uninformative"
    assert by_id["regularization_contrast_long"]["verdict"] == "uninformative"
    assert by_id["memory_reduction"]["verdict"] == "reproduced"
    assert by_id["val_ppl_seed_steadier_than_twin"]["verdict"] == "reproduced"


def test_a_summary_written_to_disk_reads_back_the_same_claims(study_summary, tmp_path):
    summary, arms, _ = study_summary
    write_json(tmp_path / "summary.json", summary)  # the JSON round trip (NaN -> null) keeps every name declared
    Metrics(pd.read_json(tmp_path / "summary.json", typ="series").to_dict() | arms)
